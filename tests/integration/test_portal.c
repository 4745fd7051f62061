/*
 * vix-portal over HTTP: a real vixd --dev, real portals for org-a and
 * org-b on its development material, and libcurl as the browser (its
 * cookie engine keeps each user's session). What a professional and a
 * coordinator do through the pages reaches the index, and the other
 * organisation sees it; no BSN is ever in a page after submission, in a
 * URL or in the portal's log.
 */
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <curl/curl.h>

#include "harness.h"

#define BSN_X		"999990019"	/* synthetic test numbers */
#define BSN_BAD_CHECK	"999990018"	/* 9 digits, fails the 11-test */
#define BIRTH		"2015-03-01"
#define START_WAIT_MS	15000

struct portal_proc {
	pid_t	pid;
	char	url[128];		/* http://127.0.0.1:PORT (no slash) */
	char	out[PATH_MAX];		/* its standard output */
	char	log[PATH_MAX];		/* its standard error */
};

struct browser {
	CURL	*h;
	char	 base[128];
	char	 body[1 << 18];
	size_t	 len;
	char	 headers[8192];
	size_t	 hlen;
	long	 code;
	char	 csrf[80];		/* from the last page with a form */
	char	 from[32];		/* source address; "": any */
};

#define PORTALS_MAX	4

static struct vixd_proc vixd;
/* Portals still running, for a test that fails before it stops them. */
static pid_t running[PORTALS_MAX];

static void
start(void)
{
	harness_start(&vixd, NULL);
}

static void
stop(void)
{
	for (size_t i = 0; i < PORTALS_MAX; i++)
		if (running[i] > 0) {
			kill(running[i], SIGKILL);
			waitpid(running[i], NULL, 0);
			running[i] = 0;
		}
	harness_stop(&vixd);
}

static void
portal_running(pid_t pid, pid_t now)
{
	for (size_t i = 0; i < PORTALS_MAX; i++)
		if (running[i] == pid) {
			running[i] = now;
			return;
		}
	cr_assert_fail("more than %d portals", PORTALS_MAX);
}

TestSuite(portal, .init = start, .fini = stop, .timeout = 180);

/* ---- the portal process ---- */

static void
portal_spawn(struct portal_proc *pp, const char *const *argv)
{
	pp->pid = fork();
	cr_assert_geq(pp->pid, 0, "fork: %s", strerror(errno));
	if (pp->pid == 0) {
		int out = open(pp->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int err = open(pp->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(out, STDOUT_FILENO);
		dup2(err, STDERR_FILENO);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	portal_running(0, pp->pid);
}

/* Wait for the portal's address on its standard output. */
static void
portal_wait(struct portal_proc *pp)
{
	char buf[512];
	FILE *fp;
	char *at;

	cr_assert(harness_wait_for_text(pp->out, "vix-portal: http://",
	    START_WAIT_MS), "the portal did not start: %s", harness_redact(
	    (char *)harness_log(&vixd, buf, sizeof(buf))));
	cr_assert_not_null(fp = fopen(pp->out, "r"));
	cr_assert_not_null(fgets(buf, sizeof(buf), fp));
	fclose(fp);
	cr_assert_not_null(at = strstr(buf, "http://"));
	snprintf(pp->url, sizeof(pp->url), "%.*s", (int)strcspn(at + 7, "/\n")
	    + 7, at);
}

/* A portal in development mode for org, with the configuration conf. */
static void
portal_start_dev(struct portal_proc *pp, const char *org, const char *conf)
{
	const char *argv[] = { getenv("VIX_PORTAL"), "--dev", "--org", org,
	    "--dev-dir", vixd.dev_dir, "--server", vixd.addr, "--listen",
	    "127.0.0.1:0", conf ? "-c" : NULL, conf, NULL };

	cr_assert_not_null(argv[0], "VIX_PORTAL is not set");
	snprintf(pp->out, sizeof(pp->out), "%s/portal-%s.out", vixd.dir, org);
	snprintf(pp->log, sizeof(pp->log), "%s/portal-%s.log", vixd.dir, org);
	portal_spawn(pp, argv);
	portal_wait(pp);
}

/* A portal in production mode with the configuration file conf. */
static void
portal_start_conf(struct portal_proc *pp, const char *conf)
{
	const char *argv[] = { getenv("VIX_PORTAL"), "-c", conf, NULL };

	cr_assert_not_null(argv[0], "VIX_PORTAL is not set");
	snprintf(pp->out, sizeof(pp->out), "%s/portal-prod.out", vixd.dir);
	snprintf(pp->log, sizeof(pp->log), "%s/portal-prod.log", vixd.dir);
	portal_spawn(pp, argv);
	portal_wait(pp);
}

static int
portal_stop(struct portal_proc *pp)
{
	int status, done = 0;

	kill(pp->pid, SIGTERM);
	for (int i = 0; i < 150 && !done; i++) {
		done = waitpid(pp->pid, &status, WNOHANG) == pp->pid;
		if (!done)
			harness_sleep_ms(100);
	}
	if (!done) {
		kill(pp->pid, SIGKILL);
		waitpid(pp->pid, &status, 0);
	}
	portal_running(pp->pid, 0);
	cr_assert(done, "the portal did not stop on SIGTERM");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---- the browser ---- */

static size_t
b_body(char *data, size_t size, size_t n, void *arg)
{
	struct browser *b = arg;
	size_t len = size * n;

	cr_assert_lt(b->len + len, sizeof(b->body), "page too big");
	memcpy(b->body + b->len, data, len);
	b->len += len;
	b->body[b->len] = '\0';
	return len;
}

static size_t
b_header(char *data, size_t size, size_t n, void *arg)
{
	struct browser *b = arg;
	size_t len = size * n;

	if (b->hlen + len < sizeof(b->headers)) {
		memcpy(b->headers + b->hlen, data, len);
		b->hlen += len;
		b->headers[b->hlen] = '\0';
	}
	return len;
}

static void
b_open(struct browser *b, const struct portal_proc *pp)
{
	memset(b, 0, sizeof(*b));
	cr_assert_not_null(b->h = curl_easy_init());
	snprintf(b->base, sizeof(b->base), "%s", pp->url);
	curl_easy_setopt(b->h, CURLOPT_COOKIEFILE, "");
	curl_easy_setopt(b->h, CURLOPT_WRITEFUNCTION, b_body);
	curl_easy_setopt(b->h, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(b->h, CURLOPT_HEADERFUNCTION, b_header);
	curl_easy_setopt(b->h, CURLOPT_HEADERDATA, b);
	curl_easy_setopt(b->h, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(b->h, CURLOPT_PATH_AS_IS, 1L);
}

static void
b_close(struct browser *b)
{
	curl_easy_cleanup(b->h);
}

/* The CSRF token of the page just loaded, if it has a form. */
static void
b_take_csrf(struct browser *b)
{
	const char *at = strstr(b->body, "name=\"csrf\" value=\"");

	if (at != NULL)
		snprintf(b->csrf, sizeof(b->csrf), "%.*s",
		    (int)strcspn(at + 19, "\""), at + 19);
}

static long
b_do(struct browser *b, const char *path, const char *form,
    const char *header)
{
	struct curl_slist *hl = header ? curl_slist_append(NULL, header) : NULL;
	char url[512];
	CURLcode rc;

	snprintf(url, sizeof(url), "%s%s", b->base, path);
	b->len = b->hlen = 0;
	b->body[0] = b->headers[0] = '\0';
	curl_easy_setopt(b->h, CURLOPT_URL, url);
	curl_easy_setopt(b->h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(b->h, CURLOPT_INTERFACE, b->from[0] ? b->from : NULL);
	if (form != NULL)
		curl_easy_setopt(b->h, CURLOPT_POSTFIELDS, form);
	else
		curl_easy_setopt(b->h, CURLOPT_HTTPGET, 1L);
	rc = curl_easy_perform(b->h);
	curl_slist_free_all(hl);
	cr_assert_eq(rc, CURLE_OK, "%s: %s", path, curl_easy_strerror(rc));
	curl_easy_getinfo(b->h, CURLINFO_RESPONSE_CODE, &b->code);
	b_take_csrf(b);
	return b->code;
}

static long
b_get(struct browser *b, const char *path)
{
	return b_do(b, path, NULL, NULL);
}

/* POST form with the CSRF token of the last page. */
static long
b_post(struct browser *b, const char *path, const char *form)
{
	char body[4096];

	snprintf(body, sizeof(body), "csrf=%s&%s", b->csrf, form);
	return b_do(b, path, body, NULL);
}

/* Whether the last page says text; the page is never printed (BSNs). */
static int
b_has(const struct browser *b, const char *text)
{
	return strstr(b->body, text) != NULL;
}

static void
b_login(struct browser *b, const char *user)
{
	char form[128];

	cr_assert_eq(b_get(b, "/login"), 200);
	cr_assert(b_has(b, "id=\"login-form\""));
	snprintf(form, sizeof(form), "user=%s", user);
	cr_assert_eq(b_post(b, "/login", form), 303, "login as %s", user);
	cr_assert(strstr(b->headers, "Location: /matches") != NULL);
	cr_assert(strstr(b->headers, "HttpOnly") != NULL);
	cr_assert(strstr(b->headers, "SameSite=Strict") != NULL);
	cr_assert_eq(b_get(b, "/matches"), 200);
	cr_assert(b_has(b, user), "the page names the user");
}

static long
b_register(struct browser *b, const char *bsn, const char *name,
    const char *phone, const char *ref)
{
	char form[512];

	cr_assert_eq(b_get(b, "/register"), 200);
	cr_assert(b_has(b, "id=\"register-form\""));
	snprintf(form, sizeof(form), "bsn=%s&birth_date=" BIRTH "&duration="
	    "&contact_name=%s&contact_phone=%s&contact_email=&reference=%s",
	    bsn, name, phone, ref);
	return b_post(b, "/register", form);
}

/* The id of the first match row on the page. */
static unsigned long long
b_match_id(const struct browser *b)
{
	const char *at = strstr(b->body, "data-match=\"");

	cr_assert_not_null(at, "no match on the page");
	return strtoull(at + 12, NULL, 10);
}

static void
assert_no_bsn_in_file(const char *path, const char *bsn)
{
	char where[PATH_MAX];
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", path);
	cr_assert_not(harness_dir_contains(dir, bsn, where, sizeof(where)),
	    "a BSN in %s", where);
}

/* ---- the tests ---- */

Test(portal, two_organisations_match_and_coordinate_through_their_pages)
{
	struct portal_proc pa, pb;
	struct browser a, b, coord;
	char form[128];
	unsigned long long id;

	portal_start_dev(&pa, "org-a", NULL);
	portal_start_dev(&pb, "org-b", NULL);
	b_open(&a, &pa);
	b_open(&b, &pb);
	b_open(&coord, &pa);
	b_login(&a, "a.jansen");
	b_login(&b, "b.devries");

	cr_assert_eq(b_register(&a, BSN_X, "A.+Jansen", "0501234567",
	    "dossier-a1"), 200);
	cr_assert(b_has(&a, "id=\"registered\""));
	cr_assert_not(b_has(&a, BSN_X), "the BSN is on the page after "
	    "submission");
	cr_assert_eq(b_register(&b, BSN_X, "B.+de+Vries", "0201234567",
	    "dossier-b1"), 200);
	cr_assert(b_has(&b, "id=\"registered\""));
	cr_assert(b_has(&b, "A. Jansen"), "org-b is told of org-a's contact");
	cr_assert_not(b_has(&b, BSN_X));

	/* Both matches pages show the other organisation's contact. */
	cr_assert_eq(b_get(&a, "/matches"), 200);
	cr_assert(b_has(&a, "id=\"matches\""));
	cr_assert(b_has(&a, "B. de Vries") && b_has(&a, "0201234567"));
	cr_assert(b_has(&a, "dossier-a1"));
	cr_assert_not(b_has(&a, "value=\"claim\""),
	    "a professional is offered coordination");
	cr_assert_eq(b_get(&b, "/matches"), 200);
	cr_assert(b_has(&b, "A. Jansen") && b_has(&b, "0501234567"));
	id = b_match_id(&b);

	/* A professional cannot coordinate, even by a hand-made form. */
	snprintf(form, sizeof(form), "match=%llu&action=claim", id);
	cr_assert_eq(b_post(&a, "/matches", form), 200);
	cr_assert(b_has(&a, "Alleen voor co") &&
	    !b_has(&a, "id=\"coordinated\""));

	/* org-a's coordinator claims and marks it coordinated. */
	b_login(&coord, "a.smit");
	cr_assert_eq(b_get(&coord, "/worklist"), 200);
	cr_assert(b_has(&coord, "id=\"worklist\""));
	cr_assert_eq(b_match_id(&coord), id);
	cr_assert_eq(b_post(&coord, "/matches", form), 200);
	cr_assert(b_has(&coord, "id=\"coordinated\""), "claim not done");
	snprintf(form, sizeof(form), "match=%llu&action=coordinated", id);
	cr_assert_eq(b_post(&coord, "/matches", form), 200);
	cr_assert(b_has(&coord, "id=\"coordinated\""));
	cr_assert(b_has(&coord, "data-state=\"coordinated\""));

	/* The other organisation sees it. */
	cr_assert_eq(b_get(&b, "/matches"), 200);
	cr_assert(b_has(&b, "data-coordinator=\"org-a\""));
	cr_assert(b_has(&b, "data-state=\"coordinated\""));
	cr_assert_eq(b_get(&coord, "/worklist"), 200);
	cr_assert_not(b_has(&coord, "data-match=\""),
	    "a coordinated match is still on the worklist");

	/* ... and heard of it as a notification, in time. */
	for (int i = 0; i < 100; i++) {
		cr_assert_eq(b_get(&b, "/notifications"), 200);
		if (b_has(&b, "data-type=\"COORDINATOR_ASSIGNED\""))
			break;
		harness_sleep_ms(100);
	}
	cr_assert(b_has(&b, "data-type=\"MATCH_CREATED\""));
	cr_assert(b_has(&b, "data-type=\"COORDINATOR_ASSIGNED\""));

	/* My signals, and withdrawing one. */
	cr_assert_eq(b_get(&b, "/signals"), 200);
	cr_assert(b_has(&b, "dossier-b1") && b_has(&b, "value=\"withdraw\""));
	cr_assert_not_null(strstr(b.body, "data-signal=\""));
	snprintf(form, sizeof(form), "signal=%llu&reason=risk-resolved&"
	    "action=withdraw", strtoull(strstr(b.body, "data-signal=\"") + 13,
	    NULL, 10));
	cr_assert_eq(b_post(&b, "/signals", form), 200);
	cr_assert(b_has(&b, "id=\"withdrawn\""), "withdraw failed");
	cr_assert_not(b_has(&b, "dossier-b1"));

	b_close(&a);
	b_close(&b);
	b_close(&coord);
	cr_assert_eq(portal_stop(&pa), 0);
	cr_assert_eq(portal_stop(&pb), 0);
	assert_no_bsn_in_file(vixd.dir, BSN_X);
}

Test(portal, the_user_is_the_actor_in_the_audit_trail)
{
	struct portal_proc pa;
	struct browser a;
	struct run_result r;
	const char *export[] = { "audit", "export", NULL };

	portal_start_dev(&pa, "org-a", NULL);
	b_open(&a, &pa);
	b_login(&a, "a.jansen");
	cr_assert_eq(b_register(&a, BSN_X, "A.+Jansen", "0501234567", ""),
	    200);
	harness_vixctl(&r, &vixd, export);
	cr_assert_eq(r.status, 0);
	cr_assert(strstr(r.out, "\"a.jansen\"") != NULL,
	    "the audit export does not name the portal's user");
	b_close(&a);
	cr_assert_eq(portal_stop(&pa), 0);
}

Test(portal, a_bad_bsn_is_shown_next_to_its_field_and_never_echoed)
{
	struct portal_proc pa;
	struct browser a;

	portal_start_dev(&pa, "org-a", NULL);
	b_open(&a, &pa);
	b_login(&a, "a.jansen");

	cr_assert_eq(b_register(&a, BSN_BAD_CHECK, "A.+Jansen", "0501234567",
	    ""), 422);
	cr_assert(b_has(&a, "id=\"bsn-error\""));
	cr_assert(b_has(&a, "elfproef"));
	cr_assert(b_has(&a, "aria-describedby=\"bsn-hint bsn-error\""));
	cr_assert(b_has(&a, "aria-invalid=\"true\""));
	cr_assert_not(b_has(&a, BSN_BAD_CHECK), "the bad BSN is echoed");
	cr_assert(b_has(&a, "value=\"A. Jansen\""), "other fields are kept");

	cr_assert_eq(b_register(&a, "12345", "A.+Jansen", "0501234567", ""),
	    422);
	cr_assert(b_has(&a, "id=\"bsn-error\"") && b_has(&a, "9 cijfers"));
	cr_assert_not(b_has(&a, "12345\""));

	/* A refusal of the index goes next to the field it names. */
	cr_assert_eq(b_register(&a, BSN_X, "A.+Jansen", "not-a-phone", ""),
	    422);
	cr_assert(b_has(&a, "id=\"contact_phone-error\""));
	cr_assert(b_has(&a, "aria-describedby=\"contact_phone-error\""));
	cr_assert_not(b_has(&a, BSN_X), "a valid BSN is echoed");

	/* Free text holding a BSN is refused and not written back. */
	cr_assert_eq(b_register(&a, BSN_X, "A.+Jansen", "0501234567",
	    "ref-" BSN_X), 422);
	cr_assert(b_has(&a, "id=\"reference-error\""));
	cr_assert_not(b_has(&a, BSN_X));

	/* In English on request, and the choice is kept. */
	cr_assert_eq(b_get(&a, "/register?lang=en"), 200);
	cr_assert(b_has(&a, "<html lang=\"en\"") && b_has(&a, "Register"));
	cr_assert_eq(b_register(&a, BSN_BAD_CHECK, "A.+Jansen", "0501234567",
	    ""), 422);
	cr_assert(b_has(&a, "11-test"));

	b_close(&a);
	cr_assert_eq(portal_stop(&pa), 0);
	assert_no_bsn_in_file(vixd.dir, BSN_X);
	assert_no_bsn_in_file(vixd.dir, BSN_BAD_CHECK);
}

Test(portal, a_post_without_its_csrf_token_is_refused)
{
	struct portal_proc pa;
	struct browser a;

	portal_start_dev(&pa, "org-a", NULL);
	b_open(&a, &pa);
	cr_assert_eq(b_get(&a, "/login"), 200);
	cr_assert_eq(b_do(&a, "/login", "user=a.smit", NULL), 403,
	    "a login without a token");
	b_login(&a, "a.smit");
	cr_assert_eq(b_do(&a, "/register", "bsn=" BSN_X "&birth_date=" BIRTH
	    "&contact_name=X&contact_phone=0501234567", NULL), 403);
	cr_assert(b_has(&a, "CSRF"));
	cr_assert_not(b_has(&a, BSN_X));
	cr_assert_eq(b_do(&a, "/matches", "csrf=00&match=1&action=claim",
	    NULL), 403);
	cr_assert_eq(b_do(&a, "/signals", "csrf=" "0000000000000000000000000000"
	    "000000000000000000000000000000000000&signal=1&reason=unjustified",
	    NULL), 403);
	/* The security headers are on every page. */
	cr_assert(strstr(a.headers, "Content-Security-Policy: default-src "
	    "'self'; img-src 'self' data:; frame-ancestors 'none'") != NULL);
	cr_assert(strstr(a.headers, "X-Content-Type-Options: nosniff") != NULL);
	cr_assert(strstr(a.headers, "Referrer-Policy: no-referrer") != NULL);
	/* With the token it goes through. */
	cr_assert_eq(b_get(&a, "/matches"), 200);
	cr_assert_eq(b_post(&a, "/logout", ""), 303);
	cr_assert_eq(b_get(&a, "/matches"), 303, "still logged in");
	b_close(&a);
	cr_assert_eq(portal_stop(&pa), 0);
}

Test(portal, an_idle_session_times_out)
{
	struct portal_proc pa;
	struct browser a;
	const char *conf = harness_write_file(&vixd, "portal-idle.conf",
	    "[portal]\nsession_idle = 2\n");

	portal_start_dev(&pa, "org-a", conf);
	b_open(&a, &pa);
	b_login(&a, "a.jansen");
	cr_assert_eq(b_get(&a, "/register"), 200);
	harness_sleep_ms(3000);
	cr_assert_eq(b_post(&a, "/register", "bsn=" BSN_X), 303);
	cr_assert(strstr(a.headers, "Location: /login?expired=1") != NULL);
	cr_assert_eq(b_get(&a, "/login?expired=1"), 200);
	cr_assert(b_has(&a, "id=\"expired\""));
	cr_assert_eq(b_get(&a, "/matches"), 303);
	b_close(&a);
	cr_assert_eq(portal_stop(&pa), 0);
}

/* Production mode: the user header only from the proxy's address. */
Test(portal, the_proxy_header_is_trusted_only_from_the_proxy)
{
	struct portal_proc pp;
	struct browser b;
	char text[4096], f[3][PATH_MAX];
	const char *conf;

	snprintf(text, sizeof(text), "[portal]\nlisten = 127.0.0.1:0\n"
	    "[index]\nserver = %s\ncertificate = %s\nprivate_key = %s\n"
	    "ca_bundle = %s\n[login]\nuser_header = X-Remote-User\n"
	    "trusted_proxy = 127.0.0.2\n[user a.smit]\nrole = coordinator\n"
	    "contact_name = A. Smit\ncontact_phone = 0501234568\n", vixd.addr,
	    harness_dev_file(&vixd, "org-a.pem", f[0], sizeof(f[0])),
	    harness_dev_file(&vixd, "org-a.key", f[1], sizeof(f[1])),
	    harness_dev_file(&vixd, "ca.pem", f[2], sizeof(f[2])));
	conf = harness_write_file(&vixd, "portal-prod.conf", text);
	portal_start_conf(&pp, conf);
	b_open(&b, &pp);

	/* From 127.0.0.1, not the proxy: refused, whatever it says. */
	cr_assert_eq(b_do(&b, "/matches", NULL, "X-Remote-User: a.smit"), 403);
	cr_assert(b_has(&b, "proxy"));
	cr_assert_not(b_has(&b, "a.smit"));

	/* From the proxy's address. */
	snprintf(b.from, sizeof(b.from), "127.0.0.2");
	cr_assert_eq(b_do(&b, "/matches", NULL, "X-Remote-User: a.smit"), 200);
	cr_assert(b_has(&b, "a.smit") && b_has(&b, "/worklist"));
	cr_assert(strstr(b.headers, "; Secure") != NULL);
	cr_assert_eq(b_do(&b, "/register", NULL, "X-Remote-User: a.smit"), 200);
	cr_assert(b_has(&b, "value=\"A. Smit\""), "the profile's contact");
	cr_assert_eq(b_do(&b, "/matches", NULL, NULL), 403, "no user header");
	cr_assert_eq(b_do(&b, "/matches", NULL, "X-Remote-User: " BSN_X), 403,
	    "a BSN as the user");
	b_close(&b);
	cr_assert_eq(portal_stop(&pp), 0);
	assert_no_bsn_in_file(vixd.dir, BSN_X);
}

Test(portal, static_files_come_only_from_the_allowlist)
{
	struct portal_proc pa;
	struct browser a;
	char dir[PATH_MAX], conf[PATH_MAX + 64];
	const char *path;

	snprintf(dir, sizeof(dir), "%s/static/@utrecht/component-library-css/"
	    "dist", vixd.dir);
	snprintf(conf, sizeof(conf), "mkdir -p '%s'", dir);
	cr_assert_eq(system(conf), 0);
	snprintf(conf, sizeof(conf), "[portal]\nstatic_dir = %s/static\n",
	    vixd.dir);
	path = harness_write_file(&vixd, "static/@utrecht/component-library-"
	    "css/dist/index.css", ".utrecht-page{color:#000}\n");
	cr_assert_not_null(path);
	portal_start_dev(&pa, "org-a", harness_write_file(&vixd,
	    "portal-static.conf", conf));
	b_open(&a, &pa);
	cr_assert_eq(b_get(&a, "/static/utrecht.css"), 200);
	cr_assert(b_has(&a, ".utrecht-page{color:#000}"));
	cr_assert(strstr(a.headers, "Content-Type: text/css") != NULL);
	cr_assert_eq(b_get(&a, "/static/portal.css"), 200);
	cr_assert(b_has(&a, ".portal-skip"));
	cr_assert_eq(b_get(&a, "/static/theme.css"), 404, "absent: 404");
	cr_assert_eq(b_get(&a, "/static/../portal-static.conf"), 404);
	cr_assert_eq(b_get(&a, "/static/%2e%2e/portal-static.conf"), 404);
	cr_assert_eq(b_get(&a, "/static/@utrecht/component-library-css/dist/"
	    "index.css"), 404, "only the allowlist's names");
	/* The pages work without the theme. */
	b_login(&a, "a.jansen");
	b_close(&a);
	cr_assert_eq(portal_stop(&pa), 0);
}
