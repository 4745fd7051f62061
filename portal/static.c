/*
 * Static files: a fixed allowlist, so that no path from a request ever
 * reaches the file system. The NL Design System's CSS comes from
 * static_dir (web/node_modules in a checkout, installed from the npm
 * registry); the portal's own small style sheet is built in. A missing
 * file is a 404 and the pages still work, unstyled.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "log.h"
#include "pages.h"

static const struct {
	const char	*url;
	const char	*file;		/* under static_dir */
} static_files[] = {
	{ "/static/utrecht.css",
	    "@utrecht/component-library-css/dist/index.css" },
	{ "/static/theme.css",
	    "@nl-design-system-unstable/voorbeeld-design-tokens/dist/theme.css" },
};

/*
 * The portal's layout on top of the components: page margins, skip link,
 * header, nav. The theme gives the basis tokens but not the document's
 * and the form controls' font, which would leave text and inputs in the
 * browser's default fonts: they take the theme's text font here.
 */
static const char portal_css[] =
	".voorbeeld-theme{"
	"--utrecht-document-font-family:var(--basis-text-font-family-default,"
	"sans-serif);"
	"--utrecht-form-control-font-family:var(--basis-text-font-family-"
	"default,sans-serif);"
	"font-family:var(--utrecht-document-font-family);}\n"
	".utrecht-page{box-sizing:border-box;max-inline-size:80rem;"
	"margin-inline:auto;padding:0.5em 1.5rem 2em;}\n"
	".utrecht-heading-2{margin-block-start:1em;}\n"
	".portal-skip{position:absolute;left:-10000px;top:auto;}\n"
	".portal-skip:focus{position:static;display:inline-block;"
	"padding:0.5em;background:#fff;color:#000;outline:3px solid #000;}\n"
	".portal-header{display:flex;flex-wrap:wrap;gap:1em;"
	"align-items:center;justify-content:space-between;"
	"border-bottom:2px solid currentColor;padding-bottom:0.5em;}\n"
	".portal-brand{font-weight:bold;margin:0;}\n"
	".portal-user{display:flex;gap:1em;align-items:center;}\n"
	".portal-nav{flex-basis:100%;}\n"
	".portal-nav__list{list-style:none;display:flex;flex-wrap:wrap;"
	"gap:1.5em;margin:0;padding:0;}\n"
	".portal-nav a[aria-current=page]{font-weight:bold;}\n"
	".portal-inline{display:inline;}\n"
	".portal-others{margin:0;padding-left:1em;}\n"
	"a:focus,button:focus,input:focus,select:focus{"
	"outline:3px solid #000;outline-offset:2px;}\n"
	".utrecht-form-field-description--invalid{color:#a4000f;"
	"font-weight:bold;}\n"
	".utrecht-table{border-collapse:collapse;}\n"
	".utrecht-table__cell,.utrecht-table__header-cell{"
	"border-bottom:1px solid #767676;padding:0.4em;text-align:left;"
	"vertical-align:top;}\n";

static void
static_reply(struct evhttp_request *r, struct evbuffer *b)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r);

	evhttp_remove_header(h, "Cache-Control");
	evhttp_add_header(h, "Cache-Control", "max-age=3600");
	evhttp_add_header(h, "Content-Type", "text/css; charset=utf-8");
	evhttp_send_reply(r, 200, "OK", b);
}

/* The file into b; -1 if it is not there (or not a regular file). */
static int
static_file(struct portal *p, const char *file, struct evbuffer *b)
{
	char path[PATH_MAX * 2];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", p->conf->static_dir, file);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    evbuffer_add_file(b, fd, 0, st.st_size) == -1) {
		close(fd);
		return -1;
	}
	return 0;
}

void
static_serve(struct portal *p, struct evhttp_request *r, const char *path)
{
	struct evbuffer *b = evbuffer_new();
	size_t i;

	if (b == NULL) {
		evhttp_send_error(r, 500, NULL);
		return;
	}
	if (strcmp(path, "/static/portal.css") == 0) {
		evbuffer_add(b, portal_css, sizeof(portal_css) - 1);
		static_reply(r, b);
		evbuffer_free(b);
		return;
	}
	for (i = 0; i < sizeof(static_files) / sizeof(static_files[0]); i++)
		if (strcmp(path, static_files[i].url) == 0)
			break;
	if (i < sizeof(static_files) / sizeof(static_files[0]) &&
	    static_file(p, static_files[i].file, b) == 0)
		static_reply(r, b);
	else
		evhttp_send_error(r, 404, "Not Found");
	evbuffer_free(b);
}
