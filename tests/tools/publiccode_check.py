#!/usr/bin/env python3
"""Check publiccode.yml against the rules of the publiccode.yml standard 0.4.

The rules are written out as data below (SCHEMA and the vocabularies), from
the standard's text (docs/standard/schema.core.rst, categories-list.rst and
scope-list.rst at tag v0.4.0 of github.com/publiccodeyml/publiccode.yml).
Every problem is printed with its key path; the exit status is 1 if there
is any, 0 if none.

Usage:
  publiccode_check.py [--project ROOT] [FILE]
      FILE defaults to $VIX_SOURCE_ROOT/publiccode.yml, and is then also
      checked against the project, as --project ROOT does: softwareVersion
      and the licence as meson.build says, releaseDate as CHANGELOG.md dates
      that version.
  publiccode_check.py --self-test [FILE]
      Write broken copies of FILE to a temporary folder and check that this
      script rejects each one (and accepts an unbroken copy).

Where this checker is stricter than the standard, it says so at the rule.
"""

import datetime
import os
import re
import subprocess
import sys
import tempfile
import urllib.parse

try:
    import yaml
except ImportError:
    sys.exit("publiccode_check: Python's yaml module is missing "
             "(Debian: apt-get install python3-yaml)")

VERSIONS = {"0.4", "0.4.0"}

PLATFORMS = {"web", "windows", "mac", "linux", "ios", "android"}

DEVELOPMENT_STATUS = {"concept", "development", "beta", "stable", "obsolete"}

SOFTWARE_TYPES = {
    "standalone/mobile", "standalone/iot", "standalone/desktop",
    "standalone/web", "standalone/backend", "standalone/other",
    "addon", "library", "configurationFiles",
}

MAINTENANCE_TYPES = {"internal", "contract", "community", "none"}

CATEGORIES = set("""
accounting agile-project-management applicant-tracking
application-development appointment-scheduling backup billing-and-invoicing
blog budgeting business-intelligence business-process-management cad
call-center-management cloud-management collaboration communications
compliance-management contact-management content-management crm
customer-service-and-support data-analytics data-collection
data-visualization design design-system digital-asset-management
digital-citizenship document-management donor-management e-commerce
e-signature educational-content email-management email-marketing
employee-management enterprise-project-management
enterprise-social-networking erp event-management facility-management
feedback-and-reviews-management financial-reporting fleet-management
fundraising gamification geographic-information-systems grant-management
graphic-design help-desk hr ide identity-management instant-messaging
integrated-library-system inventory-management it-asset-management
it-development it-management it-security it-service-management
knowledge-management learning-management-system marketing mind-mapping
mobile-marketing mobile-payment network-management office online-booking
online-community payment-gateway payroll predictive-analysis procurement
productivity-suite project-collaboration project-management
property-management real-estate-management regulations-and-directives
remote-support resource-management sales-management seo service-desk
social-media-management survey talent-management task-management
taxes-management test-management time-management time-tracking translation
video-conferencing video-editing visitor-management voip
warehouse-management web-collaboration web-conferencing website-builder
whistleblowing workflow-management
""".split())

SCOPES = set("""
agriculture culture defence education emergency-services employment energy
environment finance-and-economic-development foreign-affairs government
healthcare infrastructures justice local-authorities manufacturing research
science-and-technology security society sport tourism transportation welfare
""".split())

# ISO 639-1: a two-letter primary language subtag must be one of these.
ISO639_1 = set("""
aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch
co cr cs cu cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga
gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja
jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv
mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or
os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr
ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi
vo wa wo xh yi yo za zh zu
""".split())

# SPDX licence identifiers this checker knows: the common open-source ones.
# Stricter than the standard, which takes any identifier on
# https://spdx.org/licenses/; add one here when it is on that list.
SPDX_LICENSES = {s.lower(): s for s in """
0BSD AFL-3.0 AGPL-3.0-only AGPL-3.0-or-later Apache-1.1 Apache-2.0
Artistic-2.0 BSD-1-Clause BSD-2-Clause BSD-3-Clause BSL-1.0 CC-BY-4.0
CC-BY-SA-4.0 CC0-1.0 CDDL-1.0 CECILL-2.1 EPL-1.0 EPL-2.0 EUPL-1.1 EUPL-1.2
GPL-2.0-only GPL-2.0-or-later GPL-3.0-only GPL-3.0-or-later ISC
LGPL-2.1-only LGPL-2.1-or-later LGPL-3.0-only LGPL-3.0-or-later MIT MIT-0
MPL-1.1 MPL-2.0 MS-PL MulanPSL-2.0 OFL-1.1 OSL-3.0 PostgreSQL Unlicense
UPL-1.0 Zlib
""".split()}
SPDX_EXCEPTIONS = {s.lower(): s for s in """
Classpath-exception-2.0 GCC-exception-3.1 LLVM-exception OpenSSL-exception
Autoconf-exception-3.0 Bison-exception-2.2
""".split()}

BCP47 = re.compile(r"""
    ^(?P<lang>[a-z]{2,3}(?:-[a-z]{3}){0,3})  # language (+ extlang)
    (?:-[a-z]{4})?                          # script
    (?:-(?:[a-z]{2}|[0-9]{3}))?             # region
    (?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*   # variants
    (?:-[0-9a-wyz](?:-[a-z0-9]{2,8})+)*     # extensions
    (?:-x(?:-[a-z0-9]{1,8})+)?$             # private use
    """, re.VERBOSE | re.IGNORECASE)
DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
COUNTRY = re.compile(r"^[a-z]{2}$")


# Value checks: each returns a problem (a string) or None.

def one_of(allowed, what):
    def check(v):
        if v not in allowed:
            listed = ": " + ", ".join(sorted(allowed)) \
                if len(allowed) <= 10 else ""
            return "%r is not one of the %s%s" % (v, what, listed)
    return check


def date(v):
    if not DATE.match(v):
        return "%r is not a date as YYYY-MM-DD" % v
    try:
        datetime.date.fromisoformat(v)
    except ValueError:
        return "%r is not a date in the calendar" % v


def url(schemes):
    def check(v):
        u = urllib.parse.urlsplit(v)
        if u.scheme not in schemes or not u.netloc:
            return "%r is not an %s URL" % (v, " or ".join(sorted(schemes)))
    return check


def bcp47(v):
    m = BCP47.match(v)
    if not m:
        return "%r is not a BCP 47 language tag" % v
    primary = m.group("lang").split("-")[0].lower()
    if len(primary) == 2 and primary not in ISO639_1:
        return "%r: %r is not an ISO 639-1 language code" % (v, primary)


def email(v):
    if not EMAIL.match(v):
        return "%r is not an e-mail address" % v


def country(v):
    if not COUNTRY.match(v):
        return "%r is not a lowercase ISO 3166-1 alpha-2 country code" % v


def spdx_expression(v):
    tokens = re.findall(r"\(|\)|[^\s()]+", v)
    pos = 0

    def peek():
        return tokens[pos] if pos < len(tokens) else None

    def take():
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def licence():
        t = take() if peek() else None
        if t is None or t in ("(", ")") or t.upper() in ("AND", "OR", "WITH"):
            raise ValueError("a licence identifier expected, found %r" % t)
        if t.startswith("LicenseRef-") or t.startswith("DocumentRef-"):
            return
        ident = t[:-1] if t.endswith("+") else t
        if ident.lower() not in SPDX_LICENSES:
            raise ValueError("%r is not an SPDX licence identifier this "
                             "checker knows" % t)

    def atom():
        if peek() == "(":
            take()
            expr()
            if peek() != ")":
                raise ValueError("')' missing")
            take()
            return
        licence()
        if peek() and peek().upper() == "WITH":
            take()
            e = take() if peek() else None
            if e is None or e.lower() not in SPDX_EXCEPTIONS:
                raise ValueError("%r is not an SPDX licence exception" % e)

    def expr():
        atom()
        while peek() and peek().upper() in ("AND", "OR"):
            take()
            atom()

    try:
        expr()
        if peek() is not None:
            raise ValueError("%r unexpected" % peek())
    except ValueError as e:
        return "%r is not an SPDX expression: %s" % (v, e)


# The shape of the file. A spec is a dict: "type" (str, bool, list, map,
# langs, str_or_list), and for str: "check", "min", "max" (characters);
# for list: "item", "nonempty"; for map: "fields" {key: (presence, spec)}
# where presence is True (mandatory), False (optional), or ("if", key,
# values): mandatory when that sibling key has one of the values; for
# langs: "item" (the spec under each BCP 47 tag). Keys marked deprecated
# are accepted with a warning.

def S(check=None, min=None, max=None):
    return {"type": "str", "check": check, "min": min, "max": max}


def L(item, nonempty=False):
    return {"type": "list", "item": item, "nonempty": nonempty}


def M(fields):
    return {"type": "map", "fields": fields}


BOOL = {"type": "bool"}
HTTP = S(url({"http", "https"}))

CONTACT = M({
    "name": (True, S(min=1)),
    "email": (False, S(email)),
    "phone": (False, S(min=1)),
    "affiliation": (False, S()),
})
CONTRACTOR = M({
    "name": (True, S(min=1)),
    "until": (True, S(date)),
    "email": (False, S(email)),
    "website": (False, HTTP),
})
DEPENDENCY = M({
    "name": (True, S(min=1)),
    "versionMin": (False, S()),
    "versionMax": (False, S()),
    "version": (False, S()),
    "optional": (False, BOOL),
})
# The standard makes longDescription and features mandatory "for at least
# one language"; the reference parser (publiccode-parser-go) wants them in
# every language, and so does this checker.
DESCRIPTION = M({
    "localisedName": (False, S(min=1)),
    "genericName": (False, S(max=35)),
    "shortDescription": (True, S(min=1, max=150)),
    "longDescription": (True, S(min=150, max=10000)),
    "documentation": (False, HTTP),
    "apiDocumentation": (False, HTTP),
    "features": (True, L(S(min=1), nonempty=True)),
    "screenshots": (False, L(S(min=1))),
    "videos": (False, L(HTTP)),
    "awards": (False, L(S(min=1))),
})

SCHEMA = M({
    "publiccodeYmlVersion": (True, S(one_of(VERSIONS, "versions this "
                                             "checker knows"))),
    "name": (True, S(min=1)),
    "applicationSuite": (False, S(min=1)),
    # The standard asks for a URL; vix's catalogue entry wants https.
    "url": (True, S(url({"https"}))),
    "landingURL": (False, HTTP),
    "isBasedOn": (False, {"type": "str_or_list", "item": HTTP}),
    "softwareVersion": (False, S(min=1)),
    "releaseDate": (False, S(date)),
    "logo": (False, S(min=1)),
    "monochromeLogo": ("deprecated", S(min=1)),
    "inputTypes": ("deprecated", L(S(min=1))),
    "outputTypes": ("deprecated", L(S(min=1))),
    # The standard also allows human-readable platforms outside its list;
    # this checker takes only the listed ones.
    "platforms": (True, {"type": "str_or_list", "nonempty": True,
                         "item": S(one_of(PLATFORMS, "listed platforms"))}),
    "categories": (True, L(S(one_of(CATEGORIES, "standard's categories")),
                           nonempty=True)),
    "usedBy": (False, L(S(min=1))),
    "roadmap": (False, HTTP),
    "developmentStatus": (True, S(one_of(DEVELOPMENT_STATUS,
                                         "development statuses"))),
    "softwareType": (True, S(one_of(SOFTWARE_TYPES, "software types"))),
    "intendedAudience": (False, M({
        "countries": (False, L(S(country))),
        "unsupportedCountries": (False, L(S(country))),
        "scope": (False, L(S(one_of(SCOPES, "standard's scopes")))),
    })),
    "description": (True, {"type": "langs", "item": DESCRIPTION}),
    "legal": (True, M({
        "license": (True, S(spdx_expression)),
        "mainCopyrightOwner": (False, S(min=1)),
        "repoOwner": (False, S(min=1)),
        "authorsFile": ("deprecated", S(min=1)),
    })),
    "maintenance": (True, M({
        "type": (True, S(one_of(MAINTENANCE_TYPES, "maintenance types"))),
        "contractors": (("if", "type", {"contract"}),
                        L(CONTRACTOR, nonempty=True)),
        "contacts": (("if", "type", {"internal", "community"}),
                     L(CONTACT, nonempty=True)),
    })),
    "localisation": (True, M({
        "localisationReady": (True, BOOL),
        "availableLanguages": (True, L(S(bcp47), nonempty=True)),
    })),
    "dependsOn": (False, M({
        "open": (False, L(DEPENDENCY)),
        "proprietary": (False, L(DEPENDENCY)),
        "hardware": (False, L(DEPENDENCY)),
    })),
})

# Country sections (a top-level key named after an ISO 3166-1 code) are
# not part of the core standard; the one 0.4 defines is Italy's.
COUNTRY_SECTIONS = {"it": "an Italy-only section (country extension `it`); "
                          "vix's file keeps to the core standard"}

TYPE_NAMES = {"str": "a string", "bool": "true or false", "list": "a list",
              "map": "a mapping", "langs": "a mapping of language tags",
              "str_or_list": "a string or a list of strings"}


class Checker:
    def __init__(self):
        self.problems = []
        self.warnings = []

    def problem(self, path, msg):
        self.problems.append("%s: %s" % (path or "(top)", msg))

    def check(self, v, spec, path):
        kind = spec["type"]
        if kind == "str":
            self.check_str(v, spec, path)
        elif kind == "bool":
            if not isinstance(v, bool):
                self.problem(path, "must be true or false, not %r" % (v,))
        elif kind == "list":
            self.check_list(v, spec, path)
        elif kind == "str_or_list":
            if isinstance(v, str):
                self.check(v, spec["item"], path)
            else:
                self.check_list(v, spec, path)
        elif kind == "map":
            self.check_map(v, spec, path)
        elif kind == "langs":
            self.check_langs(v, spec, path)

    def check_str(self, v, spec, path):
        if not isinstance(v, str):
            hint = ""
            if isinstance(v, (datetime.date, int, float)):
                hint = " (quote it: unquoted, YAML reads it as a %s)" % \
                    type(v).__name__
            self.problem(path, "must be a string, not %r%s" % (v, hint))
            return
        if spec["min"] is not None and len(v) < spec["min"]:
            self.problem(path, "%d characters, at least %d" %
                         (len(v), spec["min"]))
        if spec["max"] is not None and len(v) > spec["max"]:
            self.problem(path, "%d characters, at most %d" %
                         (len(v), spec["max"]))
        if spec["check"]:
            msg = spec["check"](v)
            if msg:
                self.problem(path, msg)

    def check_list(self, v, spec, path):
        if not isinstance(v, list):
            self.problem(path, "must be %s" % TYPE_NAMES[spec["type"]])
            return
        if spec.get("nonempty") and not v:
            self.problem(path, "must not be empty")
        for i, item in enumerate(v):
            self.check(item, spec["item"], "%s[%d]" % (path, i))

    def check_map(self, v, spec, path):
        if not isinstance(v, dict):
            self.problem(path, "must be a mapping")
            return
        fields = spec["fields"]
        for key, (presence, sub) in fields.items():
            p = "%s.%s" % (path, key) if path else key
            if isinstance(presence, tuple):
                _, other, values = presence
                presence = v.get(other) in values
            if key not in v:
                if presence is True:
                    self.problem(p, "mandatory key missing")
                continue
            if presence == "deprecated":
                self.warnings.append("%s: deprecated in the standard" % p)
            self.check(v[key], sub, p)
        for key in v:
            if key in fields:
                continue
            p = "%s.%s" % (path, key) if path else str(key)
            if not path and str(key).lower() in COUNTRY_SECTIONS:
                self.problem(p, COUNTRY_SECTIONS[str(key).lower()])
            else:
                self.problem(p, "not a key of the standard")

    def check_langs(self, v, spec, path):
        if not isinstance(v, dict) or not v:
            self.problem(path, "must be a mapping with at least one "
                         "language (e.g. en:)")
            return
        for tag, sub in v.items():
            p = "%s.%s" % (path, tag)
            msg = bcp47(tag) if isinstance(tag, str) else \
                "%r is not a language tag" % (tag,)
            if msg:
                self.problem(p, msg)
            self.check(sub, spec["item"], p)
            desc = sub.get("shortDescription") if isinstance(sub, dict) \
                else None
            if isinstance(desc, str) and "\n" in desc.rstrip("\n"):
                self.problem(p + ".shortDescription",
                             "must be a single line")


class Loader(yaml.SafeLoader):
    """YAML 1.2's booleans (true/false only: `yes`, `no`, `on` and `off`
    are strings), and a key given twice is an error."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, "key %r given twice" % (key,),
                    key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


BOOL_TAG = "tag:yaml.org,2002:bool"
Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Loader.add_implicit_resolver(
    BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"))


def load(path):
    """The document at path, or raises ValueError saying why not."""
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.load(f, Loader=Loader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise ValueError(str(e))
    if not isinstance(data, dict):
        raise ValueError("not a YAML mapping")
    return data


def check_project(data, root, c):
    """softwareVersion and the licence as meson.build says, releaseDate as
    CHANGELOG.md dates that version."""
    with open(os.path.join(root, "meson.build"), encoding="utf-8") as f:
        meson = f.read()
    project = meson[meson.find("project("):]
    m = re.search(r"(?<!\w)version\s*:\s*'([^']+)'", project)
    version = m.group(1) if m else None
    m = re.search(r"(?<!\w)license\s*:\s*'([^']+)'", project)
    licence = m.group(1) if m else None
    if data.get("softwareVersion") != version:
        c.problem("softwareVersion", "%r, but meson.build says %r" %
                  (data.get("softwareVersion"), version))
    if (data.get("legal") or {}).get("license") != licence:
        c.problem("legal.license", "%r, but meson.build says %r" %
                  ((data.get("legal") or {}).get("license"), licence))
    with open(os.path.join(root, "CHANGELOG.md"), encoding="utf-8") as f:
        changelog = f.read()
    m = re.search(r"^## \[%s\] - (\S+)" % re.escape(str(version)),
                  changelog, re.M)
    if not m:
        c.problem("releaseDate", "CHANGELOG.md has no section for "
                  "version %r" % version)
    elif data.get("releaseDate") != m.group(1):
        c.problem("releaseDate", "%r, but CHANGELOG.md dates %s %s" %
                  (data.get("releaseDate"), version, m.group(1)))


def run(path, project=None):
    """Check one file, print what is wrong, return the exit status."""
    name = os.path.basename(path)
    try:
        data = load(path)
    except ValueError as e:
        print("%s: (file): cannot be read as YAML: %s" %
              (os.path.basename(path), e))
        return 1
    c = Checker()
    c.check(data, SCHEMA, "")
    if project:
        check_project(data, project, c)
    for w in c.warnings:
        print("%s: warning: %s" % (name, w))
    host = urllib.parse.urlsplit(str(data.get("url", ""))).hostname or ""
    if host == "example" or host.endswith(".example"):
        print("%s: note: url %s is a placeholder (.example)" %
              (name, data["url"]))
    for p in c.problems:
        print("%s: %s" % (name, p))
    if c.problems:
        print("%s: %d problem(s)" %
              (name, len(c.problems)))
        return 1
    print("%s: valid against publiccode.yml 0.4" % name)
    return 0


# The self-test's broken copies: (name, change to the parsed document or
# to the text, key path that the checker must name).

def _del(key):
    def f(d):
        del d[key]
    return f


def _set(*path_and_value):
    *path, value = path_and_value

    def f(d):
        for k in path[:-1]:
            d = d[k]
        d[path[-1]] = value
    return f


def _text(pattern, repl):
    def f(text):
        new = re.sub(pattern, repl, text, count=1, flags=re.M)
        assert new != text, pattern
        return new
    f.on_text = True
    return f


BROKEN = [
    ("missing-name", _del("name"), "name"),
    ("missing-legal", _del("legal"), "legal"),
    ("bad-development-status", _set("developmentStatus", "finished"),
     "developmentStatus"),
    ("italy-section", _set("it", {"countryExtensionVersion": "0.2",
                                  "riuso": {"codiceIPA": "c_h501"}}), "it"),
    ("short-description-151",
     _set("description", "en", "shortDescription", "x" * 151),
     "description.en.shortDescription"),
    ("long-description-short",
     _set("description", "en", "longDescription", "Too short."),
     "description.en.longDescription"),
    ("features-empty", _set("description", "nl", "features", []),
     "description.nl.features"),
    ("bad-language-tag", lambda d: d["description"].update(
        {"xx_YY": d["description"]["en"]}), "description.xx_YY"),
    ("language-name", _set("localisation", "availableLanguages",
                           ["en", "english"]),
     "localisation.availableLanguages[1]"),
    ("bad-category", _set("categories", ["youth-care"]), "categories[0]"),
    ("bad-software-type", _set("softwareType", "backend"), "softwareType"),
    ("bad-maintenance-type", _set("maintenance", "type", "volunteers"),
     "maintenance.type"),
    ("contacts-missing", _set("maintenance", {"type": "internal"}),
     "maintenance.contacts"),
    ("bad-platform", _set("platforms", ["plan9"]), "platforms[0]"),
    ("bad-licence", _set("legal", "license", "EUPL"), "legal.license"),
    ("bad-licence-syntax", _set("legal", "license", "MIT AND (EUPL-1.2"),
     "legal.license"),
    ("http-url", _set("url", "http://git.vix.example/vix.git"), "url"),
    ("bad-date", _set("releaseDate", "06-12-2026"), "releaseDate"),
    ("impossible-date", _set("releaseDate", "2026-02-30"), "releaseDate"),
    ("unquoted-date", _text(r'^releaseDate: "(.*)"$', r"releaseDate: \1"),
     "releaseDate"),
    ("old-version", _set("publiccodeYmlVersion", "0.2"),
     "publiccodeYmlVersion"),
    ("unquoted-version", _text(r'^publiccodeYmlVersion: "(.*)"$',
                               r"publiccodeYmlVersion: \1"),
     "publiccodeYmlVersion"),
    ("unknown-top-level-key", _set("homepage", "https://vix.example"),
     "homepage"),
    ("unknown-nested-key", _set("legal", "licence", "EUPL-1.2"),
     "legal.licence"),
    ("localisation-ready-no", _text(r"^(\s+localisationReady:) false$",
                                    r"\1 no"),
     "localisation.localisationReady"),
    ("key-twice", _text(r"^name: vix$", "name: vix\nname: vix2"),
     "(file)"),
]


def self_test(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    original = load(path)
    failed = 0
    with tempfile.TemporaryDirectory(prefix="publiccode-") as tmp:
        cases = [("unchanged", None, None)] + BROKEN
        for name, change, key in cases:
            if change is None or getattr(change, "on_text", False):
                out = change(text) if change else text
            else:
                data = load(path)
                change(data)
                out = yaml.safe_dump(data, allow_unicode=True,
                                     sort_keys=False)
            copy = os.path.join(tmp, name + ".yml")
            with open(copy, "w", encoding="utf-8") as f:
                f.write(out)
            r = subprocess.run([sys.executable, __file__, copy],
                               capture_output=True, text=True)
            lines = r.stdout.splitlines()
            if change is None:
                ok = r.returncode == 0
                why = "an unchanged copy is rejected"
            else:
                named = any(l.startswith("%s.yml: %s:" % (name, key))
                            for l in lines)
                ok = r.returncode == 1 and named
                why = "not rejected, or %s not named" % key
            print("%s %s" % ("ok  " if ok else "FAIL", name))
            if not ok:
                failed += 1
                print("     %s; the checker said:" % why)
                for l in lines:
                    print("     | " + l)
    if original.get("it") is not None:
        print("FAIL the file itself has an `it` section")
        failed += 1
    print("self-test: %d of %d cases failed" % (failed, len(cases))
          if failed else "self-test: all %d cases as expected" % len(cases))
    return 1 if failed else 0


def main(argv):
    args = argv[1:]
    selftest = project = None
    if args and args[0] == "--self-test":
        selftest = True
        args = args[1:]
    elif args and args[0] == "--project" and len(args) > 1:
        project = args[1]
        args = args[2:]
    if len(args) > 1 or (args and args[0].startswith("-")):
        print(__doc__.split("\n\n")[2], file=sys.stderr)
        return 2
    if args:
        path = args[0]
    elif os.environ.get("VIX_SOURCE_ROOT"):
        project = project or os.environ["VIX_SOURCE_ROOT"]
        path = os.path.join(project, "publiccode.yml")
    else:
        print("publiccode_check: give the file, or set VIX_SOURCE_ROOT",
              file=sys.stderr)
        return 2
    return self_test(path) if selftest else run(path, project)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
