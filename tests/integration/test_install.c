/*
 * What `meson install` delivers, as an administrator or a developer uses it:
 * the installed vixd serving, a program built against the installed libvix
 * with pkg-config, the manual pages rendering, the systemd unit passing
 * systemd-analyze verify, and vixd speaking sd_notify to a service manager.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"
#include "install_paths.h"

static char *destdir;

/* A new empty folder under $TMPDIR or /tmp (to free). */
static char *
tmpdir(const char *tag)
{
	char *dir;

	cr_assert_neq(asprintf(&dir, "%s/vix-%s-XXXXXX", getenv("TMPDIR") ?
	    getenv("TMPDIR") : "/tmp", tag), -1);
	cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	return dir;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
tmpdir_remove(char *dir)
{
	if (dir != NULL && getenv("VIX_KEEP_TEST_DIRS") == NULL)
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

static char *
read_file(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *text = NULL;
	size_t len = 0;

	cr_assert_not_null(fp, "%s: %s", path, strerror(errno));
	cr_assert_neq(getdelim(&text, &len, '\0', fp), -1, "%s: empty", path);
	fclose(fp);
	return text;
}

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	cr_assert_not_null(fp, "%s: %s", path, strerror(errno));
	fputs(text, fp);
	cr_assert_eq(fclose(fp), 0);
}

/* DESTDIR + an installed absolute path (to free). */
static char *
dest(const char *path)
{
	char *out;

	cr_assert_neq(asprintf(&out, "%s%s", destdir, path), -1);
	return out;
}

/* Run a shell script made from fmt to completion, capturing its output. */
static void __attribute__((format(printf, 2, 3)))
sh(struct run_result *r, const char *fmt, ...)
{
	const char *argv[] = { "/bin/sh", "-c", NULL, NULL };
	char *script;
	va_list ap;

	va_start(ap, fmt);
	cr_assert_neq(vasprintf(&script, fmt, ap), -1);
	va_end(ap);
	argv[2] = script;
	harness_run(r, argv);
	free(script);
}

static void
install(void)
{
	static struct run_result r;

	destdir = tmpdir("install");
	sh(&r, "'%s' install -C '%s' --no-rebuild --quiet --destdir '%s'",
	    VIX_TEST_MESON, getenv("VIX_BUILD_ROOT"), destdir);
	cr_assert_eq(r.status, 0, "meson install failed (%d):\n%s\n%s",
	    r.status, r.out, r.err);
}

static void
uninstall(void)
{
	tmpdir_remove(destdir);
	destdir = NULL;
}

TestSuite(install, .init = install, .fini = uninstall, .timeout = 120);

Test(install, everything_in_its_place)
{
	const char *files[] = {
		VIX_INSTALL_SBINDIR "/vixd",
		VIX_INSTALL_SBINDIR "/vixctl",
		VIX_INSTALL_BINDIR "/vix",
		VIX_INSTALL_INCLUDEDIR "/vix/client.h",
		VIX_INSTALL_LIBDIR "/pkgconfig/libvix.pc",
		VIX_INSTALL_LIBDIR "/libvix.so",
		VIX_INSTALL_MANDIR "/man1/vix.1",
		VIX_INSTALL_MANDIR "/man5/vixd.conf.5",
		VIX_INSTALL_MANDIR "/man8/vixd.8",
		VIX_INSTALL_MANDIR "/man8/vixctl.8",
		VIX_INSTALL_UNITDIR "/vixd.service",
		VIX_INSTALL_DOCDIR "/examples/vixd.conf.example",
		VIX_INSTALL_DOCDIR "/examples/orgs.conf.example",
		VIX_INSTALL_DOCDIR "/examples/prometheus/vix-alerts.yml",
		VIX_INSTALL_DOCDIR "/examples/grafana/vix-dashboard.json",
		VIX_INSTALL_DOCDIR "/operations.md",
	};
	struct stat st;
	char *path;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		path = dest(files[i]);
		cr_assert_eq(stat(path, &st), 0, "%s was not installed",
		    files[i]);
		cr_assert(S_ISREG(st.st_mode), "%s is not a file", files[i]);
		free(path);
	}
	path = dest(VIX_INSTALL_SBINDIR "/vixd");
	cr_assert_eq(access(path, X_OK), 0, "installed vixd is not executable");
	free(path);
}

/* The installed unit runs the installed vixd; the rest is conf/vixd.service. */
Test(install, unit_names_the_installed_vixd)
{
	char *path, *unit, *src;

	path = dest(VIX_INSTALL_UNITDIR "/vixd.service");
	unit = read_file(path);
	free(path);
	cr_assert_not_null(strstr(unit, "\nExecStart=" VIX_INSTALL_SBINDIR
	    "/vixd -c /etc/vix/vixd.conf\n"), "installed unit:\n%s", unit);
	cr_assert_neq(asprintf(&path, "%s/conf/vixd.service",
	    getenv("VIX_SOURCE_ROOT")), -1);
	src = read_file(path);
	free(path);
	cr_assert_not_null(strstr(src, "\nExecStart=/usr/sbin/vixd -c "
	    "/etc/vix/vixd.conf\n"));
	cr_assert_eq(strlen(src) - strlen("/usr/sbin/vixd"),
	    strlen(unit) - strlen(VIX_INSTALL_SBINDIR "/vixd"),
	    "the installed unit differs from conf/vixd.service in more than "
	    "the path of vixd");
	free(unit);
	free(src);
}

/*
 * systemd-analyze verify checks every key, that ExecStart's program is
 * executable and that the Documentation= pages exist (through man); it
 * exits 0 even when it warns, so any output is a failure. The unit checked
 * is conf/vixd.service with ExecStart pointing at the vixd in DESTDIR.
 */
Test(install, unit_passes_systemd_analyze_verify)
{
	struct run_result *r = malloc(sizeof(*r));
	char *sbin = dest(VIX_INSTALL_SBINDIR), *man = dest(VIX_INSTALL_MANDIR);

	sh(r, "command -v systemd-analyze >/dev/null || "
	    "{ echo 'systemd-analyze not found (Debian package systemd)'; "
	    "exit 99; }\n"
	    "unit='%s/vixd.service'\n"
	    "sed 's|^ExecStart=/usr/sbin/vixd |ExecStart=%s/vixd |' "
	    "'%s/conf/vixd.service' > \"$unit\" || exit 98\n"
	    "grep -q '^ExecStart=%s/vixd ' \"$unit\" || exit 97\n"
	    "MANPATH='%s' SYSTEMD_LOG_COLOR=0 systemd-analyze verify \"$unit\" "
	    "2>&1", destdir, sbin, getenv("VIX_SOURCE_ROOT"), sbin, man);
	cr_assert_eq(r->status, 0, "systemd-analyze verify: exit %d\n%s",
	    r->status, r->out);
	cr_assert_str_empty(r->out, "systemd-analyze verify:\n%s", r->out);
	free(sbin);
	free(man);
	free(r);
}

/*
 * The unit keeps core dumps off (LimitCORE=0: a dump would hold the
 * pseudonym key) and its exposure as systemd-analyze security rates it
 * offline stays at most UNIT_EXPOSURE_MAX (it was 1.6 before the settings
 * that cost vixd nothing were added).
 */
#define UNIT_EXPOSURE_MAX	1.1
Test(install, unit_keeps_dumps_off_and_exposure_low)
{
	struct run_result *r = malloc(sizeof(*r));
	const char *at;
	double level;

	sh(r, "unit='%s/conf/vixd.service'\n"
	    "grep -qx 'LimitCORE=0' \"$unit\" || { echo 'no LimitCORE=0'; "
	    "exit 96; }\n"
	    "SYSTEMD_LOG_COLOR=0 systemd-analyze security --offline=yes "
	    "--no-pager \"$unit\" 2>&1", getenv("VIX_SOURCE_ROOT"));
	cr_assert_eq(r->status, 0, "exit %d\n%s", r->status, r->out);
	at = strstr(r->out, "Overall exposure level for vixd.service: ");
	cr_assert_not_null(at, "%s", r->out);
	level = strtod(at + strlen("Overall exposure level for vixd.service: "),
	    NULL);
	cr_assert_leq(level, UNIT_EXPOSURE_MAX, "exposure %.1f:\n%s", level,
	    r->out);
	free(r);
}

/* man -l renders each page, and groff reports no warning. */
Test(install, man_pages_render_without_warnings)
{
	const char *pages[] = { "/man1/vix.1", "/man5/vixd.conf.5",
	    "/man8/vixd.8", "/man8/vixctl.8", "/man8/vix-keyd.8" };
	struct run_result *r = malloc(sizeof(*r));
	char *man = dest(VIX_INSTALL_MANDIR);

	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		sh(r, "command -v man >/dev/null || "
		    "{ echo 'man not found (Debian package man-db)' >&2; "
		    "exit 99; }\n"
		    "MANWIDTH=80 man --warnings=w -l '%s%s'", man, pages[i]);
		cr_assert_eq(r->status, 0, "man -l %s: exit %d\n%s", pages[i],
		    r->status, r->err);
		cr_assert_str_empty(r->err, "man -l %s warns:\n%s", pages[i],
		    r->err);
		cr_assert_not_null(strstr(r->out, "NAME"), "%s", r->out);
		cr_assert_not_null(strstr(r->out, "SEE ALSO"), "%s", r->out);
	}
	free(man);
	free(r);
}

static const char client_program[] =
    "#include <stdio.h>\n"
    "#include <vix/client.h>\n"
    "\n"
    "int\n"
    "main(int argc, char **argv)\n"
    "{\n"
    "	struct vix_options o = { argv[1], argv[2], argv[3], argv[4], 0 };\n"
    "	struct vix_ping_result r;\n"
    "	struct vix_error e;\n"
    "	vix_client *c;\n"
    "\n"
    "	if (argc != 5 || vix_connect(&o, &c, &e) != VIX_OK) {\n"
    "		fprintf(stderr, \"connect: %s\\n\", argc == 5 ? e.message : \"\");\n"
    "		return 1;\n"
    "	}\n"
    "	if (vix_ping(c, &r, &e) != VIX_OK) {\n"
    "		fprintf(stderr, \"ping: %s\\n\", e.message);\n"
    "		vix_close(c);\n"
    "		return 1;\n"
    "	}\n"
    "	printf(\"%s (OIN %s) on vixd %s\\n\", r.org.name, r.org.oin,\n"
    "	    r.server_version);\n"
    "	vix_close(c);\n"
    "	return 0;\n"
    "}\n";

/*
 * A program built against the installed libvix alone (pkg-config over
 * DESTDIR, no build-tree paths) pings the installed vixd.
 */
Test(install, pkg_config_program_pings_installed_vixd)
{
	char cert[PATH_MAX], key[PATH_MAX], ca[PATH_MAX], *src, *exe;
	char *libdir = dest(VIX_INSTALL_LIBDIR), *vixd_path;
	struct run_result *r = malloc(sizeof(*r));
	struct vixd_proc vixd;

	cr_assert_neq(asprintf(&src, "%s/ping.c", destdir), -1);
	cr_assert_neq(asprintf(&exe, "%s/ping", destdir), -1);
	write_file(src, client_program);
	sh(r, "export PKG_CONFIG_PATH='%s/pkgconfig' "
	    "PKG_CONFIG_SYSROOT_DIR='%s'\n"
	    "flags=$(pkg-config --cflags --libs libvix) || exit 98\n"
	    "case \"$flags\" in *'%s'*) echo \"build tree in: $flags\"; "
	    "exit 97;; esac\n"
	    "'%s' %s -Wall -Werror -o '%s' '%s' $flags 2>&1",
	    libdir, destdir, getenv("VIX_BUILD_ROOT"), VIX_TEST_CC,
	    VIX_TEST_SANITIZE, exe, src);
	cr_assert_eq(r->status, 0, "building against the installed libvix "
	    "failed (%d):\n%s\n%s", r->status, r->out, r->err);

	vixd_path = dest(VIX_INSTALL_SBINDIR "/vixd");
	setenv("VIXD", vixd_path, 1);
	harness_start(&vixd, NULL);
	sh(r, "LD_LIBRARY_PATH='%s' '%s' '%s' '%s' '%s' '%s'", libdir, exe,
	    vixd.addr, harness_dev_file(&vixd, "org-a.pem", cert, sizeof(cert)),
	    harness_dev_file(&vixd, "org-a.key", key, sizeof(key)),
	    harness_dev_file(&vixd, "ca.pem", ca, sizeof(ca)));
	cr_assert_eq(harness_stop(&vixd), 0);
	cr_assert_eq(r->status, 0, "ping program: exit %d\n%s", r->status,
	    r->err);
	cr_assert_str_eq(r->out, "Development organisation A (OIN "
	    "00000009990000000001) on vixd " VIX_EXPECTED_VERSION "\n");

	/* It really used the installed library. */
	sh(r, "LD_LIBRARY_PATH='%s' ldd '%s' | grep libvix", libdir, exe);
	cr_assert_not_null(strstr(r->out, libdir), "ldd: %s", r->out);
	free(vixd_path);
	free(libdir);
	free(src);
	free(exe);
	free(r);
}

/* A datagram socket standing in for systemd's notify socket. */
static int
notify_socket(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { 10, 0 };
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

	cr_assert_geq(fd, 0);
	cr_assert_lt(strlen(path), sizeof(sun.sun_path));
	strcpy(sun.sun_path, path);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void
expect_state(int fd, const char *prefix)
{
	char buf[512];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);

	cr_assert_gt(n, 0, "no %s from vixd", prefix);
	buf[n] = '\0';
	cr_assert_eq(strncmp(buf, prefix, strlen(prefix)), 0,
	    "expected %s, vixd sent: %s", prefix, buf);
}

/*
 * The installed vixd tells a service manager: READY=1 once serving,
 * RELOADING=1 and READY=1 around SIGHUP, STOPPING=1 on SIGTERM.
 */
Test(install, vixd_notifies_the_service_manager)
{
	char *path, *vixd_path = dest(VIX_INSTALL_SBINDIR "/vixd");
	struct vixd_proc vixd;
	struct run_result r;
	const char *ping[] = { "ping", NULL };
	int fd;

	cr_assert_neq(asprintf(&path, "%s/notify.sock", destdir), -1);
	fd = notify_socket(path);
	setenv("NOTIFY_SOCKET", path, 1);
	setenv("VIXD", vixd_path, 1);
	harness_start(&vixd, NULL);
	expect_state(fd, "READY=1");
	harness_vix(&r, &vixd, "org-a", ping);
	cr_assert_eq(r.status, 0, "ping after READY=1: %s", r.err);

	kill(vixd.pid, SIGHUP);
	expect_state(fd, "RELOADING=1\nMONOTONIC_USEC=");
	expect_state(fd, "READY=1");

	kill(vixd.pid, SIGTERM);
	expect_state(fd, "STOPPING=1");
	cr_assert_eq(harness_stop(&vixd), 0);
	close(fd);
	free(vixd_path);
	free(path);
}
