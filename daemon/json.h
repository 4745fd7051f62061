/* JSON output for the admin HTTP and control interfaces. */
#ifndef VIX_JSON_H
#define VIX_JSON_H

struct evbuffer;

/* s (NULL: empty) as a JSON string, quotes included; controls escaped. */
void	json_string(struct evbuffer *, const char *s);

#endif
