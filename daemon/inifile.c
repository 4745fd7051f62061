/* inih wrapper that tracks line numbers through a counting reader. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <ini.h>

#include "inifile.h"

struct inifile {
	FILE		*fp;
	const char	*path;
	int		 line;
	int		 at_line_start;
	int		 first_refused;	/* first line a handler refused */
	inifile_handler	 handler;
	void		*ctx;
};

/* fgets that counts lines; a line longer than inih's buffer counts once. */
static char *
inifile_reader(char *str, int num, void *stream)
{
	struct inifile *f = stream;
	char *s;
	size_t n;

	if ((s = fgets(str, num, f->fp)) == NULL)
		return NULL;
	if (f->at_line_start)
		f->line++;
	n = strlen(s);
	f->at_line_start = n > 0 && s[n - 1] == '\n';
	return s;
}

static int
inifile_dispatch(void *user, const char *section, const char *key,
    const char *value)
{
	struct inifile *f = user;

	if (f->handler(f->ctx, section, key, value, f->line) == 0)
		return 1;
	if (f->first_refused == 0)
		f->first_refused = f->line;
	return 0;
}

int
inifile_parse(const char *path, inifile_handler h, void *ctx, struct diag *d)
{
	struct inifile f = { .path = path, .at_line_start = 1, .handler = h,
	    .ctx = ctx };
	int rc;

	if ((f.fp = fopen(path, "r")) == NULL) {
		diag_add(d, path, 0, "cannot open: %s", strerror(errno));
		return -1;
	}
	rc = ini_parse_stream(inifile_reader, &f, inifile_dispatch, &f);
	fclose(f.fp);
	if (rc < 0) {
		diag_add(d, path, 0, "out of memory while reading");
		return -1;
	}
	if (rc > 0 && rc != f.first_refused)
		diag_add(d, path, rc, "syntax error: expected '[section]' or "
		    "'key = value'");
	return rc == 0 ? 0 : -1;
}
