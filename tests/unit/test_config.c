/* vixd.conf: defaults, loading, "path:line: problem" errors, secrets. */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/ssl.h>

#include "addr.h"
#include "config.h"
#include "ratelimit.h"
#include "support.h"

#define SYNTAX	"syntax error: expected '[section]' or 'key = value'"

static char *dir;

static void
setup(void)
{
	dir = support_tmpdir("config");
}

static void
teardown(void)
{
	support_tmpdir_remove(dir);
	dir = NULL;
}

TestSuite(config, .init = setup, .fini = teardown);

/* Write text to dir/vixd.conf and return its path (to be freed). */
static char *
conf_file(const char *text)
{
	char *path = support_path(dir, "vixd.conf");

	support_write_file(path, text, 0644);
	return path;
}

/* "PATH:" + rest, for comparing whole diagnostics. */
static char *
at(const char *path, const char *rest)
{
	char *s;

	cr_assert_neq(asprintf(&s, "%s:%s", path, rest), -1);
	return s;
}

/* Load text over the defaults; expect it to fail with exactly want. */
static void
expect_errors(const char *text, int count, const char *want)
{
	struct vixd_config c;
	struct diag d;
	char *path = conf_file(text), *full = at(path, want);

	config_defaults(&c);
	diag_init(&d);
	cr_assert_eq(config_load(&c, path, &d), -1, "accepted:\n%s", text);
	cr_assert_str_eq(d.text, full);
	cr_assert_eq(d.count, count, "%d problems:\n%s", d.count, d.text);
	free(full);
	free(path);
	config_free(&c);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(config, defaults)
{
	struct vixd_config c;

	config_defaults(&c);
	cr_assert_null(c.path);
	cr_assert_str_eq(c.listen, "127.0.0.1:7411");
	cr_assert_str_eq(c.admin_listen, "127.0.0.1:7412");
	cr_assert_eq(c.workers, 0);
	cr_assert_eq(c.max_frame, 65536);
	cr_assert_eq(c.max_connections, 10000);
	cr_assert_eq(c.handshake_timeout, 10);
	cr_assert_eq(c.max_handshakes, 1024);
	cr_assert_eq(c.max_handshakes_per_address, 128);
	cr_assert_eq(c.admin_timeout, 10);
	cr_assert_eq(c.admin_max_connections, 32);
	cr_assert_eq(c.idle_timeout, 600);
	cr_assert_eq(c.max_inflight, 256);
	cr_assert_eq(c.rate_limit, 100);
	cr_assert_eq(c.rate_burst, 0);
	cr_assert_eq(c.max_new_signals_per_day, 2000);
	cr_assert_eq(c.shutdown_grace, 10);
	cr_assert_str_eq(c.orgs_file, "/etc/vix/orgs.conf");
	cr_assert_str_eq(c.pseudonym_key_file, "/etc/vix/pseudonym.key");
	cr_assert_str_eq(c.data_dir, "/var/lib/vix");
	cr_assert_str_eq(c.tls_certificate, "/etc/vix/tls/server.pem");
	cr_assert_str_eq(c.tls_private_key, "/etc/vix/tls/server.key");
	cr_assert_str_eq(c.tls_ca_bundle, "/etc/vix/tls/ca.pem");
	cr_assert_null(c.tls_crl_file);
	cr_assert_eq(c.tls_min_version, TLS1_3_VERSION);
	config_free(&c);
	cr_assert_null(c.listen);
	cr_assert_null(c.tls_ca_bundle);
}

Test(config, load_overrides_every_key)
{
	struct vixd_config c;
	struct diag d;
	char *path = conf_file(
	    "# vixd test configuration\n"
	    "[server]\n"
	    "listen = 0.0.0.0:8411\n"
	    "admin_listen = [::1]:8412\n"
	    "workers = 4\n"
	    "max_frame = 1048576\n"
	    "max_connections = 500\n"
	    "handshake_timeout = 5\n"
	    "idle_timeout = 0\n"
	    "max_inflight = 4\n"
	    "rate_limit = 50\n"
	    "rate_burst = 200\n"
	    "max_new_signals_per_day = 0\n"
	    "shutdown_grace = 30\n"
	    "orgs_file = orgs.conf\n"
	    "pseudonym_key_file = secret/pseudonym.key\n"
	    "data_dir = /srv/vix\n"
	    "\n"
	    "[tls]\n"
	    "certificate = tls/server.pem\n"
	    "private_key = /etc/ssl/private/vix.key   ; inline comment\n"
	    "ca_bundle = ../ca.pem\n"
	    "crl_file = crl.pem\n"
	    "min_version = 1.2\n");
	char *want;

	config_defaults(&c);
	diag_init(&d);
	cr_assert_eq(config_load(&c, path, &d), 0, "%s", d.text);
	cr_assert_eq(d.count, 0);
	cr_assert_str_eq(c.path, path);
	cr_assert_str_eq(c.listen, "0.0.0.0:8411");
	cr_assert_str_eq(c.admin_listen, "[::1]:8412");
	cr_assert_eq(c.workers, 4);
	cr_assert_eq(c.max_frame, 1048576);
	cr_assert_eq(c.max_connections, 500);
	cr_assert_eq(c.handshake_timeout, 5);
	cr_assert_eq(c.idle_timeout, 0);
	cr_assert_eq(c.max_inflight, 4);
	cr_assert_eq(c.rate_limit, 50);
	cr_assert_eq(c.rate_burst, 200);
	cr_assert_eq(c.max_new_signals_per_day, 0);
	cr_assert_eq(c.shutdown_grace, 30);
	cr_assert_str_eq(c.data_dir, "/srv/vix");
	cr_assert_str_eq(c.tls_private_key, "/etc/ssl/private/vix.key");
	cr_assert_eq(c.tls_min_version, TLS1_2_VERSION);

	/* Relative paths are taken from the directory of the file. */
	want = support_path(dir, "orgs.conf");
	cr_assert_str_eq(c.orgs_file, want);
	free(want);
	want = support_path(dir, "secret/pseudonym.key");
	cr_assert_str_eq(c.pseudonym_key_file, want);
	free(want);
	want = support_path(dir, "tls/server.pem");
	cr_assert_str_eq(c.tls_certificate, want);
	free(want);
	want = support_path(dir, "../ca.pem");
	cr_assert_str_eq(c.tls_ca_bundle, want);
	free(want);
	want = support_path(dir, "crl.pem");
	cr_assert_str_eq(c.tls_crl_file, want);
	free(want);

	config_free(&c);
	free(path);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(config, keys_not_in_the_file_keep_their_defaults)
{
	struct vixd_config c;
	struct diag d;
	char *path = conf_file("[server]\nworkers = 2\n[tls]\n");

	config_defaults(&c);
	diag_init(&d);
	cr_assert_eq(config_load(&c, path, &d), 0, "%s", d.text);
	cr_assert_eq(c.workers, 2);
	cr_assert_str_eq(c.listen, CONFIG_DEFAULT_LISTEN);
	cr_assert_eq(c.max_frame, 65536);
	cr_assert_str_eq(c.tls_ca_bundle, "/etc/vix/tls/ca.pem");
	cr_assert_eq(c.tls_min_version, TLS1_3_VERSION);
	config_free(&c);
	free(path);
}

Test(config, min_version_1_3_and_empty_crl_file)
{
	struct vixd_config c;
	struct diag d;
	char *path = conf_file("[tls]\nmin_version = 1.3\ncrl_file =\n");

	config_defaults(&c);
	config_set(&c.tls_crl_file, "/x/crl.pem");
	c.tls_min_version = TLS1_2_VERSION;
	diag_init(&d);
	cr_assert_eq(config_load(&c, path, &d), 0, "%s", d.text);
	cr_assert_eq(c.tls_min_version, TLS1_3_VERSION);
	cr_assert_null(c.tls_crl_file);
	config_free(&c);
	free(path);
}

Test(config, file_name_without_directory_keeps_relative_paths)
{
	struct vixd_config c;
	struct diag d;
	char *path = conf_file("[server]\norgs_file = orgs.conf\n");
	char *cwd = getcwd(NULL, 0);

	cr_assert_eq(chdir(dir), 0);
	config_defaults(&c);
	diag_init(&d);
	cr_assert_eq(config_load(&c, "vixd.conf", &d), 0, "%s", d.text);
	cr_assert_str_eq(c.orgs_file, "orgs.conf");
	cr_assert_eq(chdir(cwd), 0);
	config_free(&c);
	free(cwd);
	free(path);
}

Test(config, missing_file)
{
	struct vixd_config c;
	struct diag d;
	char *path = support_path(dir, "absent.conf"), *want;

	config_defaults(&c);
	diag_init(&d);
	cr_assert_eq(config_load(&c, path, &d), -1);
	want = at(path, " cannot open: No such file or directory\n");
	cr_assert_str_eq(d.text, want);
	cr_assert_eq(d.count, 1);
	free(want);
	free(path);
	config_free(&c);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(config, unknown_key)
{
	expect_errors("[server]\nworkers = 2\n\nbogus = 1\n", 1,
	    "4: unknown key 'bogus' in [server]\n");
}

Test(config, key_of_the_other_section)
{
	expect_errors("[tls]\nlisten = 127.0.0.1:1\n", 1,
	    "2: unknown key 'listen' in [tls]\n");
}

Test(config, unknown_section)
{
	expect_errors("[server]\nworkers = 2\n\n[nope]\nx = 1\n", 1,
	    "4: unknown section [nope]\n");
}

Test(config, key_outside_any_section)
{
	expect_errors("# first\nworkers = 2\n[server]\n", 1,
	    "2: key 'workers' outside any section (expected [server], "
	    "[store], [rules], [notify] or [tls])\n");
}

Test(config, bad_numbers)
{
	expect_errors("[server]\nworkers = four\n", 1,
	    "2: workers: 'four' is not a whole number from 0 to 256\n");
	expect_errors("[server]\nworkers = -1\n", 1,
	    "2: workers: '-1' is not a whole number from 0 to 256\n");
	expect_errors("[server]\nworkers = +1\n", 1,
	    "2: workers: '+1' is not a whole number from 0 to 256\n");
	expect_errors("[server]\nworkers = 4x\n", 1,
	    "2: workers: '4x' is not a whole number from 0 to 256\n");
	expect_errors("[server]\nworkers =\n", 1,
	    "2: workers: '' is not a whole number from 0 to 256\n");
	expect_errors("[server]\nmax_frame = 99999999999999999999999\n", 1,
	    "2: max_frame: '99999999999999999999999' is not a size from "
	    "1024 to 16777216 bytes (a number, or one with K, M, G or T for "
	    "powers of 1024)\n");
	expect_errors("[store]\nmap_size = 8GB\n", 1,
	    "2: map_size: '8GB' is not a size from 1048576 to 1099511627776 "
	    "bytes (a number, or one with K, M, G or T for powers of 1024)\n");
	expect_errors("[store]\nmap_size = G\n", 1,
	    "2: map_size: 'G' is not a size from 1048576 to 1099511627776 "
	    "bytes (a number, or one with K, M, G or T for powers of 1024)\n");
	expect_errors("[store]\nmap_size = 8g\n", 1,
	    "2: map_size: '8g' is not a size from 1048576 to 1099511627776 "
	    "bytes (a number, or one with K, M, G or T for powers of 1024)\n");
}

Test(config, sizes_take_binary_units)
{
	struct vixd_config c;
	struct diag d;
	char *path = conf_file("[server]\nmax_frame = 64K\n"
	    "[store]\nmap_size = 8G\n");

	config_defaults(&c);
	diag_init(&d);
	cr_assert_eq(config_load(&c, path, &d), 0, "%s", d.text);
	cr_assert_eq(c.max_frame, 65536);
	cr_assert_eq(c.map_size, 8UL << 30);
	config_free(&c);
	free(path);
	path = conf_file("[store]\nmap_size = 1T\n");
	config_defaults(&c);
	cr_assert_eq(config_load(&c, path, &d), 0, "%s", d.text);
	cr_assert_eq(c.map_size, 1UL << 40);
	config_free(&c);
	free(path);
	expect_errors("[store]\nmap_size = 2T\n", 1,
	    "2: map_size: '2T' is not a size from 1048576 to 1099511627776 "
	    "bytes (a number, or one with K, M, G or T for powers of 1024)\n");
	expect_errors("[server]\nmax_frame = 17M\n", 1,
	    "2: max_frame: '17M' is not a size from 1024 to 16777216 bytes (a "
	    "number, or one with K, M, G or T for powers of 1024)\n");
}

Test(config, numbers_out_of_range)
{
	expect_errors("[server]\nworkers = 257\n", 1,
	    "2: workers: '257' is not a whole number from 0 to 256\n");
	expect_errors("[server]\nmax_frame = 1023\n", 1,
	    "2: max_frame: '1023' is not a size from 1024 to 16777216 bytes "
	    "(a number, or one with K, M, G or T for powers of 1024)\n");
	expect_errors("[server]\nmax_frame = 16777217\n", 1,
	    "2: max_frame: '16777217' is not a size from 1024 to 16777216 "
	    "bytes (a number, or one with K, M, G or T for powers of 1024)\n");
	expect_errors("[server]\nmax_connections = 0\n", 1,
	    "2: max_connections: '0' is not a whole number from 1 to "
	    "1000000\n");
	expect_errors("[server]\nhandshake_timeout = 3601\n", 1,
	    "2: handshake_timeout: '3601' is not a whole number from 1 to "
	    "3600\n");
	expect_errors("[server]\nmax_handshakes = 0\n", 1,
	    "2: max_handshakes: '0' is not a whole number from 1 to "
	    "1000000\n");
	expect_errors("[server]\nadmin_max_connections = 10001\n", 1,
	    "2: admin_max_connections: '10001' is not a whole number from 1 "
	    "to 10000\n");
	expect_errors("[server]\nadmin_timeout = 0\n", 1,
	    "2: admin_timeout: '0' is not a whole number from 1 to 3600\n");
	expect_errors("[server]\nmax_inflight = 0\n", 1,
	    "2: max_inflight: '0' is not a whole number from 1 to 100000\n");
	expect_errors("[server]\nrate_limit = 1000001\n", 1,
	    "2: rate_limit: '1000001' is not a whole number from 0 to "
	    "1000000\n");
	expect_errors("[server]\nrate_burst = -1\n", 1,
	    "2: rate_burst: '-1' is not a whole number from 0 to 1000000\n");
	expect_errors("[server]\nmax_new_signals_per_day = lots\n", 1,
	    "2: max_new_signals_per_day: 'lots' is not a whole number from 0 "
	    "to 100000000\n");
}

Test(config, number_limits_are_inclusive)
{
	struct vixd_config c;
	struct diag d;
	char *path = conf_file("[server]\nworkers = 256\nmax_frame = 1024\n"
	    "max_connections = 1\nhandshake_timeout = 3600\n"
	    "idle_timeout = 604800\n");

	config_defaults(&c);
	diag_init(&d);
	cr_assert_eq(config_load(&c, path, &d), 0, "%s", d.text);
	cr_assert_eq(c.workers, 256);
	cr_assert_eq(c.max_frame, 1024);
	cr_assert_eq(c.max_connections, 1);
	cr_assert_eq(c.handshake_timeout, 3600);
	cr_assert_eq(c.idle_timeout, 604800);
	config_free(&c);
	free(path);

	expect_errors("[server]\nidle_timeout = 604801\n", 1,
	    "2: idle_timeout: '604801' is not a whole number from 0 to "
	    "604800\n");
}

Test(config, handshakes_per_address_above_the_total)
{
	expect_errors("[server]\nmax_handshakes = 100\n"
	    "max_handshakes_per_address = 200\n", 1,
	    " max_handshakes_per_address (200) is above max_handshakes (100): "
	    "one address could hold every handshake place; lower it or raise "
	    "max_handshakes\n");
}

/* Not set, it follows a total set below its default. */
Test(config, handshakes_per_address_follows_a_lower_total)
{
	struct vixd_config c;
	struct diag d;
	char *path = conf_file("[server]\nmax_handshakes = 100\n");

	config_defaults(&c);
	diag_init(&d);
	cr_assert_eq(config_load(&c, path, &d), 0, "%s", d.text);
	cr_assert_eq(c.max_handshakes, 100);
	cr_assert_eq(c.max_handshakes_per_address, 100);
	free(path);
	config_free(&c);
}

Test(config, bad_listen_address)
{
	expect_errors("[server]\nlisten = localhost\n", 1,
	    "2: listen: expected HOST:PORT\n");
	expect_errors("[server]\n\nadmin_listen = 127.0.0.1:70000\n", 1,
	    "3: admin_listen: port must be a number from 0 to 65535\n");
	expect_errors("[server]\nlisten = ::1:7411\n", 1,
	    "2: listen: expected HOST:PORT\n");
	expect_errors("[server]\nlisten = :7411\n", 1,
	    "2: listen: missing host\n");
}

Test(config, bad_tls_version)
{
	expect_errors("[tls]\nmin_version = 1.1\n", 1,
	    "2: min_version: '1.1' is not a TLS version vixd accepts (1.2 or "
	    "1.3)\n");
	expect_errors("[tls]\nmin_version = TLSv1.3\n", 1,
	    "2: min_version: 'TLSv1.3' is not a TLS version vixd accepts (1.2 "
	    "or 1.3)\n");
}

Test(config, empty_path)
{
	expect_errors("[server]\norgs_file =\n", 1,
	    "2: orgs_file: a path is required\n");
}

Test(config, line_without_equals_sign)
{
	expect_errors("[server]\nworkers = 2\nworkers 4\n", 1,
	    "3: " SYNTAX "\n");
}

/* inih takes ':' as well as '=', so this is an unknown key, not syntax. */
Test(config, colon_separates_key_and_value)
{
	expect_errors("[server]\nlisten 127.0.0.1:7411\n", 1,
	    "2: unknown key 'listen 127.0.0.1' in [server]\n");
}

Test(config, unclosed_section_header)
{
	struct vixd_config c;
	struct diag d;
	char *path = conf_file("[server\nworkers = 2\n"), *want;

	config_defaults(&c);
	diag_init(&d);
	cr_assert_eq(config_load(&c, path, &d), -1);
	cr_assert_neq(asprintf(&want, "%s:1: " SYNTAX "\n"
	    "%s:2: key 'workers' outside any section (expected [server], "
	    "[store], [rules], [notify] or [tls])\n", path, path), -1);
	cr_assert_str_eq(d.text, want);
	cr_assert_eq(d.count, 2);
	free(want);
	free(path);
	config_free(&c);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(config, empty_unknown_section)
{
	expect_errors("[server]\n[serevr]\n\n[tls]\n", 1,
	    "2: unknown section [serevr]\n");
}

Test(config, a_key_given_twice_names_both_lines)
{
	expect_errors("[server]\nworkers = 2\nworkers = 3\n", 1,
	    "3: workers: given twice in [server] (lines 2 and 3); keep one\n");
	/* Also when its section is opened again. */
	expect_errors("[tls]\nmin_version = 1.3\n[server]\n[tls]\n"
	    "min_version = 1.2\n", 1,
	    "5: min_version: given twice in [tls] (lines 2 and 5); keep "
	    "one\n");
}

Test(config, a_value_does_not_go_on_over_an_indented_line)
{
	expect_errors("[server]\nworkers = 2\n  300\n", 1,
	    "3: workers: the value goes on over an indented line; write it "
	    "on one line (or do not indent this one)\n");
}

Test(config, every_problem_is_reported_in_order)
{
	struct vixd_config c;
	struct diag d;
	char *path = conf_file(
	    "[server]\n"				/* 1 */
	    "workers = lots\n"				/* 2 */
	    "listen = 127.0.0.1:7411\n"			/* 3 */
	    "colour = blue\n"				/* 4 */
	    "this line has no equals sign\n"		/* 5 */
	    "[tls]\n"					/* 6 */
	    "min_version = 1.0\n"			/* 7 */
	    "certificate = server.pem\n"		/* 8 */
	    "another bad line\n");			/* 9 */
	char *want;

	config_defaults(&c);
	diag_init(&d);
	cr_assert_eq(config_load(&c, path, &d), -1);
	cr_assert_neq(asprintf(&want,
	    "%s:2: workers: 'lots' is not a whole number from 0 to 256\n"
	    "%s:4: unknown key 'colour' in [server]\n"
	    "%s:5: " SYNTAX "\n"
	    "%s:7: min_version: '1.0' is not a TLS version vixd accepts "
	    "(1.2 or 1.3)\n"
	    "%s:9: " SYNTAX "\n", path, path, path, path, path), -1);
	cr_assert_str_eq(d.text, want);
	cr_assert_eq(d.count, 5);
	free(want);
	free(path);
	config_free(&c);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(config, a_long_line_is_reported_once_on_its_own_line)
{
	struct vixd_config c;
	struct diag d;
	char text[1024], *p = text, *path, *want;

	/* 199 characters fit; the comment on line 3 is 400. */
	p += sprintf(p, "[server]\nworkers = 3%188s\n# ", "");
	memset(p, 'x', 398);
	p += 398;
	sprintf(p, " = \nbogus = 1\n");
	path = conf_file(text);
	config_defaults(&c);
	diag_init(&d);
	cr_assert_eq(config_load(&c, path, &d), -1);
	cr_assert_eq(c.workers, 3);
	cr_assert_neq(asprintf(&want,
	    "%s:3: line longer than 199 characters\n"
	    "%s:4: unknown key 'bogus' in [server]\n", path, path), -1);
	cr_assert_str_eq(d.text, want);
	cr_assert_eq(d.count, 2);
	free(want);
	free(path);
	config_free(&c);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* inih's reading of headers, comments and line ends, as the reader sees it. */
Test(config, headers_comments_and_line_ends)
{
	struct vixd_config c;
	struct diag d;
	char *path = conf_file(
	    "\xef\xbb\xbf; byte order mark, then a comment\r\n"
	    "[server] ; the main section\r\n"
	    "\r\n"
	    "# workers = 9\r\n"
	    "workers = 3 ; three\r\n"
	    "[tls]\r\n"
	    "min_version = 1.2\r\n"
	    "  \t \r\n"
	    "crl_file = crl.pem");

	config_defaults(&c);
	diag_init(&d);
	cr_assert_eq(config_load(&c, path, &d), 0, "%s", d.text);
	cr_assert_eq(c.workers, 3);
	cr_assert_eq(c.tls_min_version, TLS1_2_VERSION);
	cr_assert_not_null(c.tls_crl_file);
	config_free(&c);
	free(path);
}

Test(config, indented_header_after_a_key_continues_the_value)
{
	expect_errors("[server]\nworkers = 2\n  [tls]\n", 1,
	    "3: workers: an indented line goes on with the value above it; a "
	    "section header must start its line\n");
}

Test(config, header_closed_only_inside_a_comment)
{
	struct vixd_config c;
	struct diag d;
	char *path = conf_file("[server ; x]\nworkers = 2\n"), *want;

	config_defaults(&c);
	diag_init(&d);
	cr_assert_eq(config_load(&c, path, &d), -1);
	cr_assert_neq(asprintf(&want, "%s:1: " SYNTAX "\n"
	    "%s:2: key 'workers' outside any section (expected [server], "
	    "[store], [rules], [notify] or [tls])\n", path, path), -1);
	cr_assert_str_eq(d.text, want);
	free(want);
	free(path);
	config_free(&c);
}

Test(config, long_last_line_without_newline)
{
	char text[512], *p = text;

	p += sprintf(p, "[server]\n# ");
	memset(p, 'y', 300);
	p[300] = '\0';
	expect_errors(text, 1, "2: line longer than 199 characters\n");
}

/* ---- the rate limit a configuration sets ---- */

#define SEC	1000000000ULL
#define MS	1000000ULL

/* Load text over the defaults into c, asserting it is accepted. */
static void
load_ok(struct vixd_config *c, const char *text)
{
	char *path = conf_file(text);
	struct diag d;

	diag_init(&d);
	cr_assert_eq(config_load(c, path, &d), 0, "%s", d.text);
	free(path);
}

/* The limiter vixd builds from a configuration (main.c does the same). */
static struct ratelimit *
limiter_of(const struct vixd_config *c)
{
	struct ratelimit *rl = ratelimit_new();

	cr_assert_not_null(rl);
	ratelimit_set(rl, c->rate_limit, c->rate_burst);
	return rl;
}

/*
 * The default admits a case system's bursts and a bulk load at 100/s (an
 * import of 20,000 rows in under 4 minutes), and refuses an enumeration
 * of 11,000 requests a second all but a second's worth.
 */
Test(config, the_default_rate_limit_admits_bulk_loads_and_stops_enumeration)
{
	struct ratelimit_refusal why;
	struct vixd_config c;
	struct ratelimit *rl;
	uint64_t t = SEC;
	int ok = 0;

	config_defaults(&c);
	rl = limiter_of(&c);
	for (int i = 0; i < 100; i++)
		cr_assert_eq(ratelimit_take(rl, 1, t, &why), 0, "request %d "
		    "of a burst", i + 1);
	for (int i = 0; i < 6000; i++) {
		t += 10 * MS;
		cr_assert_eq(ratelimit_take(rl, 1, t, &why), 0, "request %d "
		    "of a minute at 100/s", i + 1);
	}
	t += 10 * SEC;
	for (int i = 0; i < 11000; i++)
		ok += ratelimit_take(rl, 2, t + (uint64_t)i * SEC / 11000,
		    &why) == 0;
	cr_assert_leq(ok, 200, "%d of 11,000 in a second", ok);
	cr_assert_eq(why.rate, 100);
	ratelimit_free(rl);
	config_free(&c);
}

Test(config, rate_limit_is_a_bucket_per_organisation)
{
	struct ratelimit_refusal why;
	struct vixd_config c;
	struct ratelimit *rl;
	uint64_t t = 100 * SEC;

	config_defaults(&c);
	load_ok(&c, "[server]\nrate_limit = 5\nrate_burst = 3\n");
	rl = limiter_of(&c);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(ratelimit_take(rl, 7, t, &why), 0,
		    "request %d of the burst", i + 1);
	cr_assert_eq(ratelimit_take(rl, 7, t, &why), -1);
	cr_assert_eq(why.rate, 5);
	cr_assert_eq(why.retry_ms, 200);
	cr_assert_eq(why.first, 1);
	/* A refusal costs nothing: the hint only shrinks as time passes. */
	cr_assert_eq(ratelimit_take(rl, 7, t + 50 * MS, &why), -1);
	cr_assert_eq(why.retry_ms, 150);
	cr_assert_eq(why.first, 0, "logged once, not per refusal");
	/* Another organisation (and one far beyond the first) is not limited. */
	cr_assert_eq(ratelimit_take(rl, 8, t, &why), 0);
	cr_assert_eq(ratelimit_take(rl, 5000, t, &why), 0);
	/* Once the hint has passed, exactly one more fits. */
	cr_assert_eq(ratelimit_take(rl, 7, t + 200 * MS, &why), 0);
	cr_assert_eq(ratelimit_take(rl, 7, t + 200 * MS, &why), -1);
	/* Idle for a while, the whole burst is back, and no more. */
	t += 10 * SEC;
	for (int i = 0; i < 3; i++)
		cr_assert_eq(ratelimit_take(rl, 7, t, &why), 0);
	cr_assert_eq(ratelimit_take(rl, 7, t, &why), -1);
	ratelimit_free(rl);
	config_free(&c);
}

Test(config, rate_burst_0_is_one_second_of_rate_limit)
{
	struct ratelimit_refusal why;
	struct vixd_config c;
	struct ratelimit *rl;
	int n = 0;

	config_defaults(&c);
	load_ok(&c, "[server]\nrate_limit = 40\n");
	rl = limiter_of(&c);
	while (ratelimit_take(rl, 1, SEC, &why) == 0 && n < 1000)
		n++;
	cr_assert_eq(n, 40);
	cr_assert_eq(why.retry_ms, 25);
	ratelimit_free(rl);
	config_free(&c);
}

Test(config, a_reload_applies_the_rate_keys_and_keeps_the_buckets)
{
	struct ratelimit_refusal why;
	struct vixd_config cur, nc;
	struct ratelimit *rl;
	char changes[1024] = "";

	config_defaults(&cur);
	load_ok(&cur, "[server]\nrate_limit = 1\nrate_burst = 1\n"
	    "max_inflight = 8\n");
	rl = limiter_of(&cur);
	cr_assert_eq(ratelimit_take(rl, 3, SEC, &why), 0);
	cr_assert_eq(ratelimit_take(rl, 3, SEC, &why), -1);

	/* The same limit again: the bucket stays empty. */
	config_defaults(&nc);
	load_ok(&nc, "[server]\nrate_limit = 1\nrate_burst = 1\n"
	    "max_inflight = 8\n");
	config_reload(&cur, &nc, changes, sizeof(changes));
	config_free(&nc);
	ratelimit_set(rl, cur.rate_limit, cur.rate_burst);
	cr_assert_str_eq(changes, "");
	cr_assert_eq(ratelimit_take(rl, 3, SEC + MS, &why), -1);

	/* A higher rate takes effect; max_inflight waits for a restart. */
	config_defaults(&nc);
	load_ok(&nc, "[server]\nrate_limit = 0\nmax_inflight = 16\n");
	config_reload(&cur, &nc, changes, sizeof(changes));
	config_free(&nc);
	ratelimit_set(rl, cur.rate_limit, cur.rate_burst);
	cr_assert_str_eq(changes, "[server] max_inflight changed (takes "
	    "effect at the next restart)\n[server] rate_limit changed\n"
	    "[server] rate_burst changed\n");
	cr_assert_eq(cur.rate_limit, 0);
	cr_assert_eq(cur.max_inflight, 8);
	for (int i = 0; i < 100; i++)
		cr_assert_eq(ratelimit_take(rl, 3, SEC + MS, &why),
		    0);
	ratelimit_free(rl);
	config_free(&cur);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* ---- host:port ---- */

struct hostport_case {
	const char	*in;
	const char	*host;		/* NULL: must fail */
	unsigned	 port;
	const char	*why;
};

static const struct hostport_case hostport_cases[] = {
	{ "127.0.0.1:7411", "127.0.0.1", 7411, NULL },
	{ "[::1]:7411", "::1", 7411, NULL },
	{ "[fe80::1%eth0]:443", "fe80::1%eth0", 443, NULL },
	{ "localhost:0", "localhost", 0, NULL },
	{ "vix.example.nl:65535", "vix.example.nl", 65535, NULL },
	{ "127.0.0.1:", NULL, 0, "port must be a number from 0 to 65535" },
	{ "127.0.0.1:70000", NULL, 0, "port must be a number from 0 to 65535" },
	{ "127.0.0.1:65536", NULL, 0, "port must be a number from 0 to 65535" },
	{ "127.0.0.1:-1", NULL, 0, "port must be a number from 0 to 65535" },
	{ "127.0.0.1:+1", NULL, 0, "port must be a number from 0 to 65535" },
	{ "127.0.0.1: 1", NULL, 0, "port must be a number from 0 to 65535" },
	{ "127.0.0.1:74x", NULL, 0, "port must be a number from 0 to 65535" },
	{ "127.0.0.1", NULL, 0, "expected HOST:PORT" },
	{ "::1:7411", NULL, 0, "expected HOST:PORT" },
	{ ":7411", NULL, 0, "missing host" },
	{ "[]:7411", NULL, 0, "missing host" },
	{ "[::1]7411", NULL, 0, "expected [IPv6]:PORT" },
	{ "[::1", NULL, 0, "expected [IPv6]:PORT" },
	{ "", NULL, 0, "expected HOST:PORT" },
};

Test(hostport, cases)
{
	for (size_t i = 0; i < sizeof(hostport_cases) /
	    sizeof(hostport_cases[0]); i++) {
		const struct hostport_case *t = &hostport_cases[i];
		char host[64] = "unchanged";
		uint16_t port = 4242;
		const char *why = NULL;
		int rc = addr_split(t->in, host, sizeof(host),
		    &port, &why);

		if (t->host == NULL) {
			cr_assert_eq(rc, -1, "'%s' accepted", t->in);
			cr_assert_not_null(why, "'%s': no reason", t->in);
			cr_assert_str_eq(why, t->why, "'%s'", t->in);
			continue;
		}
		cr_assert_eq(rc, 0, "'%s' refused: %s", t->in, why);
		cr_assert_str_eq(host, t->host);
		cr_assert_eq(port, t->port, "'%s': port %u", t->in, port);
	}
}

Test(hostport, host_must_fit_the_buffer)
{
	char host[8];
	uint16_t port;
	const char *why = NULL;

	cr_assert_eq(addr_split("abcdefg:1", host, sizeof(host),
	    &port, &why), 0);
	cr_assert_str_eq(host, "abcdefg");
	cr_assert_eq(port, 1);
	cr_assert_eq(addr_split("abcdefgh:1", host, sizeof(host),
	    &port, &why), -1);
	cr_assert_str_eq(why, "host name too long");
	cr_assert_eq(addr_split("[abcdefgh]:1", host, sizeof(host),
	    &port, &why), -1);
	cr_assert_str_eq(why, "host name too long");
}

/* ---- secrets ---- */

static void
expect_refused_mode(mode_t mode)
{
	char *path = support_path(dir, "pseudonym.key"), *want;
	struct diag d;

	support_write_file(path, "0123456789abcdef0123456789abcdef", mode);
	diag_init(&d);
	cr_assert_eq(config_check_secret(path, "pseudonym_key_file", &d), -1,
	    "mode %04o accepted", (unsigned)mode);
	cr_assert_eq(d.count, 1);
	cr_assert_neq(asprintf(&want, "pseudonym_key_file %s is accessible by "
	    "group or others (mode %04o); fix with: chmod 600 %s\n", path,
	    (unsigned)mode, path), -1);
	cr_assert_str_eq(d.text, want);
	free(want);
	free(path);
}

Test(config, secret_readable_by_group_is_refused)
{
	expect_refused_mode(0640);
}

Test(config, secret_readable_by_others_is_refused)
{
	expect_refused_mode(0604);
}

Test(config, secret_writable_by_group_is_refused)
{
	expect_refused_mode(0620);
}

Test(config, secret_with_mode_0600_or_0400_is_accepted)
{
	char *path = support_path(dir, "server.key");
	struct diag d;

	support_write_file(path, "secret", 0600);
	diag_init(&d);
	cr_assert_eq(config_check_secret(path, "tls private_key", &d), 0);
	cr_assert_eq(d.count, 0);
	cr_assert_str_eq(d.text, "");
	cr_assert_eq(chmod(path, 0400), 0);
	cr_assert_eq(config_check_secret(path, "tls private_key", &d), 0);
	cr_assert_eq(d.count, 0);
	free(path);
}

Test(config, missing_secret_is_reported)
{
	char *path = support_path(dir, "absent.key"), *want;
	struct diag d;

	diag_init(&d);
	cr_assert_eq(config_check_secret(path, "tls private_key", &d), -1);
	cr_assert_eq(d.count, 1);
	cr_assert_neq(asprintf(&want, "tls private_key %s: No such file or "
	    "directory\n", path), -1);
	cr_assert_str_eq(d.text, want);
	free(want);
	free(path);
}

Test(config, secret_that_is_a_directory_is_refused)
{
	char *path = support_path(dir, "keys"), *want;
	struct diag d;

	cr_assert_eq(mkdir(path, 0700), 0);
	diag_init(&d);
	cr_assert_eq(config_check_secret(path, "pseudonym_key_file", &d), -1);
	cr_assert_neq(asprintf(&want, "pseudonym_key_file %s: not a regular "
	    "file\n", path), -1);
	cr_assert_str_eq(d.text, want);
	free(want);
	free(path);
}

Test(config, timezone_defaults_to_amsterdam_and_names_what_is_wrong)
{
	struct vixd_config cur, nc;
	char changes[512] = "";

	config_defaults(&cur);
	cr_assert_str_eq(cur.zone, "Europe/Amsterdam");
	load_ok(&cur, "[rules]\ntimezone = Europe/Brussels\n");
	cr_assert_str_eq(cur.zone, "Europe/Brussels");
	expect_errors("[rules]\ntimezone = Europe/Amsterdan\n", 1,
	    "2: timezone: no time zone 'Europe/Amsterdan' in "
	    "/usr/share/zoneinfo (No such file or directory); install the "
	    "tzdata package, or name a zone that is there, such as "
	    "Europe/Amsterdam\n");
	expect_errors("[rules]\ntimezone = ../../etc/passwd\n", 1,
	    "2: timezone: '../../etc/passwd' is not a time zone name; name "
	    "one of the tz database, such as Europe/Amsterdam\n");

	/* The zone is set before threads start: a reload cannot change it. */
	config_defaults(&nc);
	load_ok(&nc, "[rules]\ntimezone = UTC\n");
	config_reload(&cur, &nc, changes, sizeof(changes));
	config_free(&nc);
	cr_assert_str_eq(changes, "[rules] timezone changed (takes effect at "
	    "the next restart)\n");
	cr_assert_str_eq(cur.zone, "Europe/Brussels");
	config_free(&cur);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(config, store_backend_conninfo_and_password_file)
{
	struct vixd_config cur, nc;
	char changes[512] = "";

	config_defaults(&cur);
	cr_assert_null(cur.store_backend, "lmdb is the default (NULL)");
	load_ok(&cur, "[store]\nbackend = postgresql\nconninfo = host=127.0.0.1 "
	    "dbname=vix target_session_attrs=read-write\npassword_file = "
	    "/etc/vix/db.password\n");
	cr_assert_str_eq(cur.store_backend, "postgresql");
	cr_assert_str_eq(cur.store_conninfo, "host=127.0.0.1 dbname=vix "
	    "target_session_attrs=read-write");
	cr_assert_str_eq(cur.store_password_file, "/etc/vix/db.password");
	expect_errors("[store]\nbackend = mysql\n", 1,
	    "2: backend: 'mysql' is not a storage backend (lmdb or "
	    "postgresql)\n");
	expect_errors("[store]\nbackend = postgresql\n", 1,
	    " [store] backend = postgresql needs conninfo (a libpq connection "
	    "string: host=... dbname=... target_session_attrs=read-write)\n");
	/* A long one goes on over indented lines, joined with a space. */
	config_free(&cur);
	config_defaults(&cur);
	load_ok(&cur, "[store]\nbackend = postgresql\nconninfo = "
	    "host=db1,db2,db3 port=5432,5432,5432\n  dbname=vix user=vix "
	    "target_session_attrs=read-write\n  sslmode=verify-full\n"
	    "password_file = /etc/vix/db.password\n");
	cr_assert_str_eq(cur.store_conninfo, "host=db1,db2,db3 "
	    "port=5432,5432,5432 dbname=vix user=vix "
	    "target_session_attrs=read-write sslmode=verify-full");
	expect_errors("[store]\nbackend = postgresql\nconninfo = host=db\n"
	    "  password=hunter2\n", 1, "4: conninfo: has a password; put it "
	    "in the file password_file names (mode 0600) instead\n");
	/* A secret never sits in the configuration, nor in a log of it. */
	expect_errors("[store]\nbackend = postgresql\nconninfo = host=db "
	    "password=hunter2\n", 1, "3: conninfo: has a password; put it in "
	    "the file password_file names (mode 0600) instead\n");

	/* Where the store is cannot change under a running vixd. */
	config_defaults(&nc);
	load_ok(&nc, "[store]\nbackend = lmdb\n");
	config_reload(&cur, &nc, changes, sizeof(changes));
	config_free(&nc);
	cr_assert_str_eq(changes, "[store] backend changed (takes effect at "
	    "the next restart)\n[store] conninfo changed (takes effect at the "
	    "next restart)\n[store] password_file changed (takes effect at the "
	    "next restart)\n");
	cr_assert_str_eq(cur.store_backend, "postgresql");
	config_free(&cur);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* ---- [rules]: the policy ---- */

Test(config, the_policy_defaults_to_the_law)
{
	struct vixd_config c;

	config_defaults(&c);
	cr_assert_eq(c.policy.max_signal_days, 730);
	cr_assert_eq(c.policy.max_age, 23);
	cr_assert_eq(c.policy.archive_retention, 1826 * 86400L);
	cr_assert_eq(c.policy.at_expiry, POLICY_ARCHIVE);
	cr_assert_eq(c.policy.at_age_limit, POLICY_DELETE);
	cr_assert_eq(c.policy.escalate_after, 14 * 86400L);
	cr_assert(policy_is_law(&c.policy, c.zone));
	config_free(&c);
}

Test(config, a_covenant_sets_every_rule)
{
	struct vixd_config c;

	config_defaults(&c);
	load_ok(&c, "[rules]\nmax_signal_days = 365\nmax_age = 18\n"
	    "at_expiry = delete\nat_age_limit = archive\n"
	    "archive_retention = 3650d\nescalate_after = 7d\n");
	cr_assert_eq(c.policy.max_signal_days, 365);
	cr_assert_eq(c.policy.max_age, 18);
	cr_assert_eq(c.policy.at_expiry, POLICY_DELETE);
	cr_assert_eq(c.policy.at_age_limit, POLICY_ARCHIVE);
	cr_assert_eq(c.policy.archive_retention, 3650 * 86400L);
	cr_assert_eq(c.policy.escalate_after, 7 * 86400L);
	cr_assert_not(policy_is_law(&c.policy, c.zone));
	config_free(&c);
	config_defaults(&c);
	load_ok(&c, "[rules]\nmax_age = 27\nat_expiry = archive\n"
	    "at_age_limit = delete\nmax_signal_days = 1\n");
	cr_assert_eq(c.policy.max_age, 27);
	cr_assert_eq(c.policy.max_signal_days, 1);
	config_free(&c);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(config, the_policy_keeps_within_its_bounds)
{
	expect_errors("[rules]\nmax_age = 17\n", 1,
	    "2: max_age: '17' is not a whole number from 18 to 27\n");
	expect_errors("[rules]\nmax_age = 28\n", 1,
	    "2: max_age: '28' is not a whole number from 18 to 27\n");
	expect_errors("[rules]\nmax_signal_days = 731\n", 1,
	    "2: max_signal_days: '731' is not a whole number from 1 to 730\n");
	expect_errors("[rules]\nmax_signal_days = 0\n", 1,
	    "2: max_signal_days: '0' is not a whole number from 1 to 730\n");
	expect_errors("[rules]\narchive_retention = 3661d\n", 1,
	    "2: archive_retention: '3661d' is not a duration from 1s to "
	    "316224000s (a number with s, m, h or d)\n");
	expect_errors("[rules]\nat_expiry = keep\n", 1,
	    "2: at_expiry: 'keep' is not what may become of a signal "
	    "(archive: kept for archive_retention; delete: gone at once)\n");
	expect_errors("[rules]\nat_age_limit = Delete\n", 1,
	    "2: at_age_limit: 'Delete' is not what may become of a signal "
	    "(archive: kept for archive_retention; delete: gone at once)\n");
}

Test(config, a_reload_applies_what_the_sweep_decides_only)
{
	struct vixd_config cur, nc;
	char changes[1024] = "";

	config_defaults(&cur);
	config_defaults(&nc);
	load_ok(&nc, "[rules]\nat_expiry = delete\nat_age_limit = archive\n"
	    "archive_retention = 30d\nmax_age = 21\nmax_signal_days = 100\n"
	    "escalate_after = 1d\n");
	config_reload(&cur, &nc, changes, sizeof(changes));
	config_free(&nc);
	cr_assert_str_eq(changes,
	    "[rules] max_signal_days changed (takes effect at the next "
	    "restart)\n"
	    "[rules] max_age changed (takes effect at the next restart)\n"
	    "[rules] at_expiry changed\n"
	    "[rules] at_age_limit changed\n"
	    "[rules] escalate_after changed (takes effect at the next "
	    "restart)\n"
	    "[rules] archive_retention changed\n");
	cr_assert_eq(cur.policy.at_expiry, POLICY_DELETE);
	cr_assert_eq(cur.policy.at_age_limit, POLICY_ARCHIVE);
	cr_assert_eq(cur.policy.archive_retention, 30 * 86400L);
	cr_assert_eq(cur.policy.max_age, 23);
	cr_assert_eq(cur.policy.max_signal_days, 730);
	cr_assert_eq(cur.policy.escalate_after, 14 * 86400L);
	config_free(&cur);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* ---- the policy as vixd -t and the subject report state it ---- */

Test(policy, each_rule_says_whether_it_is_the_law)
{
	struct policy p;
	struct policy_rule r[POLICY_NRULES];
	char line[160];

	policy_law(&p);
	cr_assert_eq(policy_rules(&p, "Europe/Amsterdam", r), POLICY_NRULES);
	cr_assert_str_eq(r[0].key, "max_signal_days");
	policy_rule_line(&r[0], line, sizeof(line));
	cr_assert_str_eq(line, "730 days (the law's value, Jeugdwet ch. 7.1)");
	policy_rule_line(&r[5], line, sizeof(line));
	cr_assert_str_eq(line, "14 days (default)");

	p.max_signal_days = 365;
	p.at_expiry = POLICY_DELETE;
	p.archive_retention = 36 * 3600;
	p.escalate_after = 90;
	policy_rules(&p, "Europe/Amsterdam", r);
	policy_rule_line(&r[0], line, sizeof(line));
	cr_assert_str_eq(line, "365 days (changed from the law's 730 days)");
	policy_rule_line(&r[2], line, sizeof(line));
	cr_assert_str_eq(line, "deleted (changed from the law's archived)");
	policy_rule_line(&r[3], line, sizeof(line));
	cr_assert_str_eq(line, "deleted (the law's value, Jeugdwet ch. 7.1)");
	policy_rule_line(&r[4], line, sizeof(line));
	cr_assert_str_eq(line, "36 hours (changed from the law's 1826 days)");
	policy_rule_line(&r[5], line, sizeof(line));
	cr_assert_str_eq(line, "90 seconds (changed from the default 14 days)");
}

Test(policy, the_id_follows_the_values)
{
	struct policy a, b;
	char text[512];

	policy_law(&a);
	policy_law(&b);
	cr_assert_eq(policy_id(&a, "Europe/Amsterdam"),
	    policy_id(&b, "Europe/Amsterdam"));
	cr_assert_neq(policy_id(&a, "Europe/Amsterdam"), 0);
	b.at_age_limit = POLICY_ARCHIVE;
	cr_assert_neq(policy_id(&a, "Europe/Amsterdam"),
	    policy_id(&b, "Europe/Amsterdam"));
	cr_assert_neq(policy_id(&a, "Europe/Amsterdam"),
	    policy_id(&a, "Europe/Brussels"));
	cr_assert_gt(policy_text(&a, "Europe/Amsterdam", text, sizeof(text)),
	    0);
	cr_assert_str_eq(text, "max_signal_days=730 max_age=23 "
	    "at_expiry=archive at_age_limit=delete archive_retention=157766400 "
	    "escalate_after=1209600 timezone=Europe/Amsterdam");
	cr_assert_eq(policy_text(&a, "Europe/Amsterdam", text, 20), -1);
}

Test(config, followup_keys_list_reminders_before_the_escalation)
{
	struct vixd_config c;

	config_defaults(&c);
	cr_assert_eq(c.remind_after.n, 0);
	cr_assert_eq(c.reescalate_after, 14 * 86400);
	cr_assert_eq(c.reescalate_max, 0);
	load_ok(&c, "[rules]\nremind_after = 3d, 10d\n"
	    "reescalate_after = 7d\nreescalate_max = 2\n");
	cr_assert_eq(c.remind_after.n, 2);
	cr_assert_eq(c.remind_after.v[0], 3 * 86400);
	cr_assert_eq(c.remind_after.v[1], 10 * 86400);
	cr_assert_eq(c.reescalate_after, 7 * 86400);
	cr_assert_eq(c.reescalate_max, 2);
	config_free(&c);
	config_defaults(&c);
	load_ok(&c, "[rules]\nremind_after =\n");
	cr_assert_eq(c.remind_after.n, 0);
	load_ok(&c, "[rules]\nescalate_after = 1h\nremind_after = 90s 30m\n");
	cr_assert_eq(c.remind_after.n, 2);
	cr_assert_eq(c.remind_after.v[1], 1800);
	config_free(&c);

	expect_errors("[rules]\nremind_after = 3d, 3d\n", 1,
	    "2: remind_after: '3d' is not after the duration before it; list "
	    "them in ascending order, each once\n");
	expect_errors("[rules]\nremind_after = 10d, 3d\n", 1,
	    "2: remind_after: '3d' is not after the duration before it; list "
	    "them in ascending order, each once\n");
	expect_errors("[rules]\nremind_after = 3 days\n", 1,
	    "2: remind_after: 'days' is not a duration from 1s to 31536000s "
	    "(a number with s, m, h or d)\n");
	expect_errors("[rules]\nremind_after = 1d,2d,3d,4d,5d,6d,7d,8d,9d\n", 1,
	    "2: remind_after: at most 8 durations\n");
	expect_errors("[rules]\nremind_after = 3d, 14d\n", 1,
	    " remind_after: every reminder must come before escalate_after "
	    "(1209600s); the last is at 1209600s\n");
	expect_errors("[rules]\nescalate_after = 2d\nremind_after = 3d\n", 1,
	    " remind_after: every reminder must come before escalate_after "
	    "(172800s); the last is at 259200s\n");
	expect_errors("[rules]\nreescalate_max = 101\n", 1,
	    "2: reescalate_max: '101' is not a whole number from 0 to 100\n");
	expect_errors("[rules]\nreescalate_after = 0\n", 1,
	    "2: reescalate_after: '0' is not a duration from 1s to 31536000s "
	    "(a number with s, m, h or d)\n");
}
