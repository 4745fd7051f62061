/*
 * inih wrapper: line numbers, section headers and every syntax error.
 *
 * inih reports only the first error of a file and says nothing of section
 * headers, so the reader looks at each line before inih does, with inih's
 * rules and its default options (comments start with ';' or '#', inline
 * comments with whitespace then ';', indented lines continue a value):
 * it calls the handler with key and value NULL for each section header
 * (so that a repeated or empty section is seen too), and checks that a line
 * which is not blank, a comment or a header did reach the handler before
 * the next line is read; one that did not is a syntax error. Problems are
 * thus added in line order, all of them.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <ini.h>

#include "inifile.h"

#define SYNTAX_ERROR	"syntax error: expected '[section]' or 'key = value'"

struct inifile {
	FILE		*fp;
	const char	*path;
	struct diag	*d;
	inifile_handler	 handler;
	void		*ctx;
	int		 line;
	int		 must_dispatch;	/* the line is a key or continuation */
	int		 dispatched;	/* the handler saw the current line */
	int		 has_key;	/* inih would continue a value */
	int		 continued;	/* the line continues the last value */
	int		 first_syntax;	/* line of the first syntax error */
	int		 errors;
};

/* inih's find_chars_or_comment for ']' with inline ';' comments. */
static const char *
inifile_find_close(const char *s)
{
	int was_space = 0;

	while (*s != '\0' && *s != ']' && !(was_space && *s == ';')) {
		was_space = isspace((unsigned char)*s);
		s++;
	}
	return s;
}

static void
inifile_section(struct inifile *f, const char *start, const char *end)
{
	char name[256];

	snprintf(name, sizeof(name), "%.*s", (int)(end - start), start);
	if (f->handler(f->ctx, name, NULL, NULL, f->line, 0) != 0)
		f->errors++;
	f->has_key = 0;
}

/* What inih will make of line: blank, comment, header, or key. */
static void
inifile_classify(struct inifile *f, const char *line)
{
	const char *s = line, *end;

	if (f->line == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	while (isspace((unsigned char)*s))
		s++;
	f->must_dispatch = 0;
	f->continued = 0;
	if (*s == '\0' || *s == ';' || *s == '#')
		return;
	if (f->has_key && s > line) {
		f->must_dispatch = 1;	/* continuation of a value */
		f->continued = 1;
		return;
	}
	if (*s == '[' && *(end = inifile_find_close(s + 1)) == ']') {
		inifile_section(f, s + 1, end);
		return;
	}
	f->must_dispatch = 1;
}

static void
inifile_finish_line(struct inifile *f)
{
	if (f->must_dispatch && !f->dispatched) {
		diag_add(f->d, f->path, f->line, SYNTAX_ERROR);
		f->errors++;
		if (f->first_syntax == 0)
			f->first_syntax = f->line;
	}
	f->must_dispatch = 0;
	f->dispatched = 0;
}

/*
 * fgets that counts lines. A line longer than inih's buffer is reported and
 * handed to inih as a blank line, so that inih never parses its pieces.
 */
static char *
inifile_reader(char *str, int num, void *stream)
{
	struct inifile *f = stream;
	size_t n;
	int c;

	inifile_finish_line(f);
	if (fgets(str, num, f->fp) == NULL)
		return NULL;
	f->line++;
	n = strlen(str);
	if (n == (size_t)num - 1 && str[n - 1] != '\n' &&
	    (c = fgetc(f->fp)) != EOF && c != '\n') {
		while (c != '\n' && c != EOF)
			c = fgetc(f->fp);
		diag_add(f->d, f->path, f->line, "line longer than %d "
		    "characters", num - 1);
		f->errors++;
		snprintf(str, (size_t)num, "\n");
		return str;
	}
	inifile_classify(f, str);
	return str;
}

static int
inifile_dispatch(void *user, const char *section, const char *key,
    const char *value)
{
	struct inifile *f = user;

	f->dispatched = 1;
	f->has_key = key[0] != '\0';
	if (f->handler(f->ctx, section, key, value, f->line, f->continued) != 0)
		f->errors++;
	return 1;
}

int
inifile_parse(const char *path, inifile_handler h, void *ctx, struct diag *d)
{
	struct inifile f = { .path = path, .d = d, .handler = h, .ctx = ctx };
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
	/* A line inih refused that the reader took for good. */
	if (rc > 0 && (f.first_syntax == 0 || rc < f.first_syntax)) {
		diag_add(d, path, rc, SYNTAX_ERROR);
		f.errors++;
	}
	return f.errors == 0 ? 0 : -1;
}

const char *
inifile_indent_hint(const char *value)
{
	if (value[0] == '[')
		return "an indented line goes on with the value above it; a "
		    "section header must start its line";
	return "the value goes on over an indented line; write it on one "
	    "line (or do not indent this one)";
}
