/*
 * The foundation end to end: a real vixd --dev over loopback TLS, the real
 * vix CLI, raw TLS clients for what the CLI would never send.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <arpa/inet.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/err.h>

#include "devcert.h"
#include "frame.h"
#include "harness.h"

#define OIN_A		"00000009990000000001"
#define OIN_UNKNOWN	"00000009991234567890"

static struct vixd_proc vixd;

static void
start(void)
{
	harness_start(&vixd, NULL);
}

static void
stop(void)
{
	harness_stop(&vixd);
}

TestSuite(foundation, .init = start, .fini = stop, .timeout = 60);

static void
assert_ping(const char *name, const char *expect_line)
{
	const char *args[] = { "ping", NULL };
	struct run_result r;

	harness_vix(&r, &vixd, name, args);
	cr_assert_eq(r.status, 0, "vix ping as %s: exit %d, stderr: %s", name,
	    r.status, r.err);
	cr_assert_not_null(strstr(r.out, expect_line),
	    "vix ping as %s printed:\n%s", name, r.out);
	cr_assert_not_null(strstr(r.out, "vixd " VIX_EXPECTED_VERSION),
	    "no server version in:\n%s", r.out);
}

Test(foundation, ping_as_each_organisation)
{
	assert_ping("org-a", "authenticated as Development organisation A "
	    "(OIN 00000009990000000001)");
	assert_ping("org-b", "authenticated as Development organisation B "
	    "(OIN 00000009990000000002)");
	assert_ping("partner", "authenticated as Development partner system "
	    "(OIN 00000009990000000003)");
}

Test(foundation, ping_json_output)
{
	const char *argv[16];
	char cert[PATH_MAX], key[PATH_MAX], ca[PATH_MAX];
	struct run_result r;
	size_t n = 0;

	argv[n++] = getenv("VIX");
	argv[n++] = "--json";
	argv[n++] = "--server";
	argv[n++] = vixd.addr;
	argv[n++] = "--cert";
	argv[n++] = harness_dev_file(&vixd, "org-b.pem", cert, sizeof(cert));
	argv[n++] = "--key";
	argv[n++] = harness_dev_file(&vixd, "org-b.key", key, sizeof(key));
	argv[n++] = "--ca";
	argv[n++] = harness_dev_file(&vixd, "ca.pem", ca, sizeof(ca));
	argv[n++] = "ping";
	argv[n] = NULL;
	harness_run(&r, argv);
	cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
	cr_assert_not_null(strstr(r.out, "\"organisation\":{\"id\":\"org-b\","
	    "\"name\":\"Development organisation B\",\"oin\":"
	    "\"00000009990000000002\"}"), "json: %s", r.out);
	cr_assert_eq(harness_count(r.out, "\n"), 1, "one line: %s", r.out);
}

Test(foundation, environment_variables_configure_the_cli)
{
	char cert[PATH_MAX], key[PATH_MAX], ca[PATH_MAX];
	const char *argv[] = { getenv("VIX"), "ping", NULL };
	struct run_result r;

	setenv("VIX_SERVER", vixd.addr, 1);
	setenv("VIX_CERT", harness_dev_file(&vixd, "partner.pem", cert,
	    sizeof(cert)), 1);
	setenv("VIX_KEY", harness_dev_file(&vixd, "partner.key", key,
	    sizeof(key)), 1);
	setenv("VIX_CA", harness_dev_file(&vixd, "ca.pem", ca, sizeof(ca)), 1);
	harness_run(&r, argv);
	cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
	cr_assert_not_null(strstr(r.out, "(OIN 00000009990000000003)"),
	    "%s", r.out);
}

Test(foundation, client_without_certificate_gets_no_service)
{
	Vix__V1__ServerMessage *m;
	char why[256] = "";
	char log[16384];
	SSL *ssl;
	int end = 1;

	/* TLS 1.3: the client finishes first; the refusal arrives as an alert. */
	ssl = harness_tls_connect(&vixd, NULL, NULL, why, sizeof(why));
	if (ssl != NULL) {
		SSL_write(ssl, "\x02\x52\x00", 3);	/* a ping */
		m = harness_recv(ssl, &end);
		cr_assert_null(m, "server answered a client without a "
		    "certificate");
		cr_assert_eq(end, -1, "expected a TLS alert, not a clean close");
		ERR_error_string_n(ERR_peek_last_error(), why, sizeof(why));
		harness_tls_close(ssl);
	}
	cr_assert_not_null(strstr(why, "certificate required"), "%s", why);
	usleep(200000);
	harness_log(&vixd, log, sizeof(log));
	cr_assert_not_null(strstr(log, "closed: TLS handshake failed: peer did "
	    "not return a certificate"), "log:\n%s", log);
}

Test(foundation, certificate_from_another_ca_is_refused)
{
	char cert[PATH_MAX], key[PATH_MAX], ca[PATH_MAX];
	const char *argv[16];
	struct run_result r;
	EVP_PKEY *other_key = devcert_key(), *leaf_key = devcert_key();
	X509 *other = devcert_ca(other_key, "someone else's CA", 30);
	X509 *leaf = devcert_leaf(leaf_key, "impostor", OIN_A, DEVCERT_CLIENT, other,
	    other_key, 30);
	size_t n = 0;

	cr_assert_not_null(leaf);
	snprintf(cert, sizeof(cert), "%s/impostor.pem", vixd.dir);
	snprintf(key, sizeof(key), "%s/impostor.key", vixd.dir);
	cr_assert_eq(devcert_write_cert(cert, leaf), 0);
	cr_assert_eq(devcert_write_key(key, leaf_key), 0);
	argv[n++] = getenv("VIX");
	argv[n++] = "--server";
	argv[n++] = vixd.addr;
	argv[n++] = "--cert";
	argv[n++] = cert;
	argv[n++] = "--key";
	argv[n++] = key;
	argv[n++] = "--ca";
	argv[n++] = harness_dev_file(&vixd, "ca.pem", ca, sizeof(ca));
	argv[n++] = "ping";
	argv[n] = NULL;
	harness_run(&r, argv);
	cr_assert_eq(r.status, 3, "exit %d, stdout %s stderr %s", r.status,
	    r.out, r.err);
	cr_assert_not_null(strstr(r.err, "TLS"), "stderr: %s", r.err);
	cr_assert_eq(r.out[0], '\0', "nothing on stdout: %s", r.out);
	X509_free(other);
	X509_free(leaf);
	EVP_PKEY_free(other_key);
	EVP_PKEY_free(leaf_key);
}

Test(foundation, unknown_oin_is_unauthenticated)
{
	const char *args[] = { "ping", NULL };
	struct run_result r;
	char log[16384];

	harness_make_client_cert(&vixd, "stranger", OIN_UNKNOWN);
	harness_vix(&r, &vixd, "stranger", args);
	cr_assert_eq(r.status, 1, "exit %d: %s", r.status, r.err);
	cr_assert_not_null(strstr(r.err, "UNAUTHENTICATED"), "%s", r.err);
	cr_assert_not_null(strstr(r.err, OIN_UNKNOWN), "%s", r.err);
	usleep(200000);
	harness_log(&vixd, log, sizeof(log));
	cr_assert_eq(harness_count(log, "closed: unknown organisation"), 1,
	    "teardown reason logged once:\n%s", log);
}

Test(foundation, certificate_without_oin_is_unauthenticated)
{
	const char *args[] = { "ping", NULL };
	struct run_result r;

	harness_make_client_cert(&vixd, "anonymous", NULL);
	harness_vix(&r, &vixd, "anonymous", args);
	cr_assert_eq(r.status, 1, "exit %d: %s", r.status, r.err);
	cr_assert_not_null(strstr(r.err, "UNAUTHENTICATED"), "%s", r.err);
	cr_assert_not_null(strstr(r.err, "serialNumber"), "%s", r.err);
}

static void
send_ping(SSL *ssl, uint64_t id)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Ping ping = VIX__V1__PING__INIT;

	req.id = id;
	req.body_case = VIX__V1__REQUEST__BODY_PING;
	req.ping = &ping;
	harness_send_request(ssl, &req);
}

static Vix__V1__Response *
expect_response(SSL *ssl, Vix__V1__ServerMessage **m)
{
	int end;

	*m = harness_recv(ssl, &end);
	cr_assert_not_null(*m, "connection ended (%d) instead of a response",
	    end);
	cr_assert_eq((*m)->msg_case, VIX__V1__SERVER_MESSAGE__MSG_RESPONSE);
	return (*m)->response;
}

Test(foundation, pipelined_requests_are_answered_by_id)
{
	uint8_t buf[64];
	size_t n = 0;
	Vix__V1__ServerMessage *m;
	Vix__V1__Response *resp;
	SSL *ssl = harness_connect_as(&vixd, "org-a");

	/* Three pings in one write: 3 bytes each (length 2, field 10 + id). */
	for (uint64_t id = 7; id <= 9; id++) {
		Vix__V1__Request req = VIX__V1__REQUEST__INIT;
		Vix__V1__Ping ping = VIX__V1__PING__INIT;

		req.id = id;
		req.body_case = VIX__V1__REQUEST__BODY_PING;
		req.ping = &ping;
		n += frame_pack(&req.base, buf + n);
	}
	harness_send_raw(ssl, buf, n);
	for (uint64_t id = 7; id <= 9; id++) {
		resp = expect_response(ssl, &m);
		cr_assert_eq(resp->id, id);
		cr_assert(resp->status == NULL || resp->status->code == 0);
		cr_assert_eq(resp->body_case, VIX__V1__RESPONSE__BODY_PING);
		cr_assert_str_eq(resp->ping->organisation->id, "org-a");
		cr_assert_str_eq(resp->ping->organisation->oin, OIN_A);
		vix__v1__server_message__free_unpacked(m, NULL);
	}
	harness_tls_close(ssl);
}

Test(foundation, request_split_across_writes_is_reassembled)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Ping ping = VIX__V1__PING__INIT;
	Vix__V1__ServerMessage *m;
	uint8_t buf[64];
	size_t n;
	SSL *ssl = harness_connect_as(&vixd, "org-b");

	req.id = 300;	/* a two-byte varint */
	req.body_case = VIX__V1__REQUEST__BODY_PING;
	req.ping = &ping;
	n = frame_pack(&req.base, buf);
	for (size_t i = 0; i < n; i++) {
		harness_send_raw(ssl, buf + i, 1);
		usleep(2000);
	}
	cr_assert_eq(expect_response(ssl, &m)->id, 300);
	vix__v1__server_message__free_unpacked(m, NULL);
	harness_tls_close(ssl);
}

Test(foundation, malformed_message_is_rejected_and_connection_survives)
{
	Vix__V1__ServerMessage *m;
	Vix__V1__Response *resp;
	SSL *ssl = harness_connect_as(&vixd, "org-a");

	/* Length 3, then field 1 as a varint that never ends. */
	harness_send_raw(ssl, "\x03\x08\xff\xff", 4);
	resp = expect_response(ssl, &m);
	cr_assert_eq(resp->status->code,
	    VIX__V1__STATUS__CODE__INVALID_ARGUMENT);
	cr_assert_not_null(strstr(resp->status->message, "malformed"), "%s",
	    resp->status->message);
	vix__v1__server_message__free_unpacked(m, NULL);
	send_ping(ssl, 11);
	cr_assert_eq(expect_response(ssl, &m)->id, 11);
	vix__v1__server_message__free_unpacked(m, NULL);
	harness_tls_close(ssl);
}

Test(foundation, empty_request_names_the_problem)
{
	Vix__V1__ServerMessage *m;
	Vix__V1__Response *resp;
	SSL *ssl = harness_connect_as(&vixd, "org-a");

	harness_send_raw(ssl, "\x02\x08\x05", 3);	/* id 5, no body */
	resp = expect_response(ssl, &m);
	cr_assert_eq(resp->id, 5);
	cr_assert_eq(resp->status->code,
	    VIX__V1__STATUS__CODE__INVALID_ARGUMENT);
	cr_assert_not_null(strstr(resp->status->message, "no body"), "%s",
	    resp->status->message);
	vix__v1__server_message__free_unpacked(m, NULL);
	harness_tls_close(ssl);
}

Test(foundation, oversized_frame_is_refused_then_closed)
{
	Vix__V1__ServerMessage *m;
	Vix__V1__Response *resp;
	SSL *ssl = harness_connect_as(&vixd, "org-a");
	int end = 1;

	/* Declares 1 MiB (varint 0x80 0x80 0x40) against max_frame 64 KiB. */
	harness_send_raw(ssl, "\x80\x80\x40", 3);
	resp = expect_response(ssl, &m);
	cr_assert_eq(resp->status->code,
	    VIX__V1__STATUS__CODE__INVALID_ARGUMENT);
	cr_assert_not_null(strstr(resp->status->message, "1048576"), "%s",
	    resp->status->message);
	cr_assert_not_null(strstr(resp->status->message, "max_frame"), "%s",
	    resp->status->message);
	vix__v1__server_message__free_unpacked(m, NULL);
	cr_assert_null(harness_recv(ssl, &end));
	cr_assert_eq(end, 0, "expected close_notify after the error");
	harness_tls_close(ssl);
}

Test(foundation, sigterm_closes_with_close_notify_and_exits_0)
{
	SSL *ssl = harness_connect_as(&vixd, "org-a");
	Vix__V1__ServerMessage *m;
	char log[16384];
	int end = 1, status;

	send_ping(ssl, 1);
	cr_assert_eq(expect_response(ssl, &m)->id, 1);
	vix__v1__server_message__free_unpacked(m, NULL);
	kill(vixd.pid, SIGTERM);
	cr_assert_null(harness_recv(ssl, &end));
	cr_assert_eq(end, 0, "expected TLS close_notify on shutdown");
	harness_tls_close(ssl);
	status = harness_signal_wait(&vixd, 0);
	harness_log(&vixd, log, sizeof(log));
	cr_assert_eq(status, 0, "vixd exit status %d; log:\n%s", status, log);
	cr_assert_not_null(strstr(log, "closed: server shutting down"), "%s",
	    log);
}

/* A port free a moment ago, for a server started next. */
static unsigned
free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, len), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

/*
 * vix ping against openssl s_server offering only TLS 1.2 with the given
 * cipher, with vixd's certificate; stderr of vix into r. -www, because
 * s_server otherwise ends the connection when its stdin does.
 */
static void
ping_tls12_server(struct run_result *r, const char *cipher)
{
	char cert[1024], key[1024], accept[64], out[PATH_MAX];
	struct vixd_proc fake = vixd;
	const char *args[] = { "--timeout", "2", "ping", NULL };
	unsigned port = free_port();
	pid_t pid;

	snprintf(accept, sizeof(accept), "127.0.0.1:%u", port);
	snprintf(out, sizeof(out), "%s/s_server.out", vixd.dir);
	pid = harness_spawn_bg((const char *const[]){ "/usr/bin/openssl",
	    "s_server", "-www", "-accept", accept, "-tls1_2", "-cipher", cipher,
	    "-cert", harness_dev_file(&vixd, "server.pem", cert, sizeof(cert)),
	    "-key", harness_dev_file(&vixd, "server.key", key, sizeof(key)),
	    NULL }, out);
	cr_assert(harness_wait_for_text(out, "ACCEPT", 10000),
	    "openssl s_server did not start");
	snprintf(fake.addr, sizeof(fake.addr), "%s", accept);
	harness_vix(r, &fake, "org-a", args);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

Test(foundation, libvix_refuses_a_server_offering_only_a_cbc_suite)
{
	struct run_result r;

	ping_tls12_server(&r, "ECDHE-ECDSA-AES128-SHA256");
	cr_assert_neq(r.status, 0, "vix accepted a CBC-only server");
	cr_assert_not_null(strstr(r.err, "TLS handshake"), "%s", r.err);

	/* The same server with an AEAD suite gets past the handshake. */
	ping_tls12_server(&r, "ECDHE-ECDSA-AES128-GCM-SHA256");
	cr_assert_neq(r.status, 0, "s_server answered a ping?");
	cr_assert_null(strstr(r.err, "TLS handshake"), "an AEAD suite was "
	    "refused: %s", r.err);
}

/*
 * The pseudonym key lives on a page of its own that is locked in memory
 * (VmFlags lo, VmLck) and left out of core dumps (VmFlags dd).
 */
Test(foundation, pseudonym_key_page_is_locked_and_not_dumped)
{
	char path[64], line[512];
	int in_page = 0, found = 0;
	long locked_kb = -1;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)vixd.pid);
	cr_assert_not_null(fp = fopen(path, "r"), "%s", path);
	while (fgets(line, sizeof(line), fp) != NULL && !found) {
		if (strncmp(line, "Size:", 5) == 0)
			in_page = strtol(line + 5, NULL, 10) == 4;
		else if (in_page && strncmp(line, "VmFlags:", 8) == 0)
			found = strstr(line, " lo") != NULL &&
			    strstr(line, " dd") != NULL;
	}
	fclose(fp);
	cr_assert(found, "no locked, not dumped page in %s", path);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)vixd.pid);
	cr_assert_not_null(fp = fopen(path, "r"), "%s", path);
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, "VmLck:", 6) == 0)
			locked_kb = strtol(line + 6, NULL, 10);
	fclose(fp);
	cr_assert_gt(locked_kb, 0, "VmLck %ld kB", locked_kb);
}

/*
 * vixd makes itself non-dumpable, so that no core dump or ptrace by its own
 * user reads the key out of its memory. The kernel shows the flag only in
 * the owner of /proc/PID: root instead of the process's user. So vixd runs
 * here as nobody (65534), which the owner tells apart from root.
 */
Test(foundation, vixd_is_not_dumpable)
{
	struct vixd_proc other;
	char path[64], line[256];
	unsigned real = 0;
	struct stat st;
	FILE *fp;

	harness_start_as(&other, 65534);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)other.pid);
	cr_assert_not_null(fp = fopen(path, "r"), "%s", path);
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "Uid: %u", &real) == 1)
			break;
	fclose(fp);
	cr_assert_eq(real, 65534, "vixd runs as uid %u, not the test's", real);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_uid, 0, "/proc/%d is owned by uid %u: vixd is "
	    "dumpable", (int)other.pid, (unsigned)st.st_uid);
	cr_assert_eq(harness_stop(&other), 0);
}
