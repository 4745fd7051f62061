/*
 * vixd --dev with blind pseudonyms: a key holder of its own, as a child
 * process (vix-keyd) with its own key file in the development folder, so
 * that the key and the index stay in different processes even here.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "devkeyd.h"
#include "log.h"
#include "vixd.h"

#define DEVKEYD_WAIT_MS		10000
#define DEVKEYD_POLL_MS		20
#define DEVKEYD_STOP_MS		3000	/* from SIGTERM to SIGKILL */

static const char devkeyd_conf[] =
"# The key holder `vixd --dev` starts. Not for production.\n"
"[keyd]\n"
"listen = 127.0.0.1:0\n"
"orgs_file = keyd-orgs.conf\n"
"key_file = keyd.key\n"
"audit_file = keyd-audit.log\n";

static const char devkeyd_conf_tls[] =
"\n"
"[tls]\n"
"certificate = server.pem\n"
"private_key = server.key\n"
"ca_bundle = ca.pem\n";

static const char devkeyd_orgs[] =
"# Who may ask the development key holder. Not for production.\n"
"[org org-a]\n"
"oin = 00000009990000000001\n"
"name = Development organisation A\n"
"roles = register\n"
"\n"
"[org org-b]\n"
"oin = 00000009990000000002\n"
"name = Development organisation B\n"
"roles = register\n"
"\n"
"[org admin]\n"
"oin = 00000009990000000004\n"
"name = Development administrator\n"
"roles = admin\n"
"\n"
"[org index]\n"
"oin = 00000009990000000005\n"
"name = The development index (vixd)\n"
"roles = index\n";

static int
write_new(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *fp;
	int fd, ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0644)) == -1)
		return errno == EEXIST ? 0 : -1;
	if ((fp = fdopen(fd, "w")) == NULL) {
		close(fd);
		return -1;
	}
	ok = fputs(text, fp) >= 0;
	return fclose(fp) == 0 && ok ? 0 : -1;
}

int
devkeyd_material(const char *dir, int rate, struct diag *d)
{
	char conf[sizeof(devkeyd_conf) + sizeof(devkeyd_conf_tls) + 48],
	    line[48] = "";

	if (rate >= 0)
		snprintf(line, sizeof(line), "rate = %d\n", rate);
	snprintf(conf, sizeof(conf), "%s%s%s", devkeyd_conf, line,
	    devkeyd_conf_tls);
	if (write_new(dir, "keyd.conf", conf) == -1 ||
	    write_new(dir, "keyd-orgs.conf", devkeyd_orgs) == -1) {
		diag_add(d, NULL, 0, "%s: cannot write the key holder's "
		    "configuration: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* vix-keyd beside vixd (build tree or installed), or from PATH. */
static void
keyd_path(char *out, size_t len)
{
	char self[PATH_MAX - 32], *slash;
	const char *env = getenv("VIX_KEYD");
	ssize_t n;

	if (env != NULL && env[0] != '\0') {
		snprintf(out, len, "%s", env);
		return;
	}
	snprintf(out, len, "vix-keyd");
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
		return;
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) == NULL)
		return;
	*slash = '\0';
	snprintf(out, len, "%s/../keyd/vix-keyd", self);
	if (access(out, X_OK) == 0)
		return;
	snprintf(out, len, "%s/vix-keyd", self);
	if (access(out, X_OK) == 0)
		return;
	snprintf(out, len, "vix-keyd");
}

/* Run vix-keyd with args to the end; 0 if it exited 0. */
static int
keyd_run(const char *keyd, char *const argv[])
{
	pid_t pid;
	int status;

	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		execvp(keyd, argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static void
devpath(char **field, const char *dir, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	config_set(field, path);
}

int
devkeyd_start(struct vixd *v, struct diag *d)
{
	const char *dir = v->dev_dir;
	char keyd[PATH_MAX], conf[PATH_MAX], keyfile[PATH_MAX],
	    addrfile[PATH_MAX], addr[300];
	struct timespec pause = { 0, DEVKEYD_POLL_MS * 1000000L };
	FILE *fp;
	int status, waited;

	keyd_path(keyd, sizeof(keyd));
	snprintf(conf, sizeof(conf), "%s/keyd.conf", dir);
	snprintf(keyfile, sizeof(keyfile), "%s/keyd.key", dir);
	snprintf(addrfile, sizeof(addrfile), "%s/keyholder", dir);
	if (devkeyd_material(dir, -1, d) == -1)
		return -1;
	if (access(keyfile, F_OK) == -1 && keyd_run(keyd, (char *const[]){
	    keyd, "--key-file", keyfile, "--init", NULL }) == -1) {
		diag_add(d, NULL, 0, "cannot create the key holder's key file "
		    "%s with %s --init", keyfile, keyd);
		return -1;
	}
	unlink(addrfile);
	if ((v->dev_keyd = fork()) == -1) {
		diag_add(d, NULL, 0, "cannot start %s: %s", keyd,
		    strerror(errno));
		return -1;
	}
	if (v->dev_keyd == 0) {
		/* It goes when vixd goes, however vixd goes. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execvp(keyd, (char *const[]){ keyd, "-c", conf,
		    "--address-file", addrfile, NULL });
		fprintf(stderr, "vixd --dev: cannot run %s: %s (set VIX_KEYD "
		    "to where vix-keyd is)\n", keyd, strerror(errno));
		_exit(127);
	}
	for (waited = 0; waited < DEVKEYD_WAIT_MS; waited += DEVKEYD_POLL_MS) {
		if (waitpid(v->dev_keyd, &status, WNOHANG) == v->dev_keyd) {
			v->dev_keyd = 0;
			diag_add(d, NULL, 0, "the development key holder (%s) "
			    "stopped at start; its log is above", keyd);
			return -1;
		}
		if ((fp = fopen(addrfile, "r")) != NULL) {
			addr[0] = '\0';
			if (fgets(addr, sizeof(addr), fp) == NULL)
				addr[0] = '\0';
			fclose(fp);
			addr[strcspn(addr, "\r\n")] = '\0';
			if (addr[0] != '\0')
				break;
		}
		nanosleep(&pause, NULL);
	}
	if (waited >= DEVKEYD_WAIT_MS) {
		devkeyd_stop(v);
		diag_add(d, NULL, 0, "the development key holder (%s) did not "
		    "write %s within %d s", keyd, addrfile,
		    DEVKEYD_WAIT_MS / 1000);
		return -1;
	}
	config_set(&v->cfg.keyholder, addr);
	devpath(&v->cfg.keyholder_certificate, dir, "index.pem");
	devpath(&v->cfg.keyholder_private_key, dir, "index.key");
	devpath(&v->cfg.keyholder_ca_bundle, dir, "ca.pem");
	log_info("development key holder (pid %ld) on %s: blind pseudonyms; "
	    "vix --dev finds it in %s", (long)v->dev_keyd, addr, addrfile);
	return 0;
}

void
devkeyd_stop(struct vixd *v)
{
	int status;

	struct timespec pause = { 0, DEVKEYD_POLL_MS * 1000000L };
	pid_t got = 0;

	if (v->dev_keyd <= 0)
		return;
	kill(v->dev_keyd, SIGTERM);
	/* vixd's own stop must not wait on its child without end. */
	for (int waited = 0; waited < DEVKEYD_STOP_MS &&
	    (got = waitpid(v->dev_keyd, &status, WNOHANG)) == 0;
	    waited += DEVKEYD_POLL_MS)
		nanosleep(&pause, NULL);
	if (got == 0) {
		log_warnx("the development key holder (pid %ld) did not stop "
		    "within %d s of SIGTERM; killed", (long)v->dev_keyd,
		    DEVKEYD_STOP_MS / 1000);
		kill(v->dev_keyd, SIGKILL);
		while (waitpid(v->dev_keyd, &status, 0) == -1 &&
		    errno == EINTR)
			;
	}
	v->dev_keyd = 0;
}

void
devkeyd_forget(struct vixd *v)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/keyholder", v->dev_dir);
	unlink(path);
}
