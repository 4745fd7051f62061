/* Sessions: random ids and CSRF tokens, idle timeout, in memory. */
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "session.h"

int64_t
session_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* PORTAL_TOKEN_LEN hex digits of fresh random bytes; -1 if none. */
static int
session_token(char *out)
{
	unsigned char raw[PORTAL_TOKEN_LEN / 2];
	static const char hex[] = "0123456789abcdef";
	size_t i;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -1;
	for (i = 0; i < sizeof(raw); i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 0xf];
	}
	out[PORTAL_TOKEN_LEN] = '\0';
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}

/* Whether a and b are equal tokens, in time independent of where they differ. */
static int
session_token_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL || strlen(a) != PORTAL_TOKEN_LEN ||
	    strlen(b) != PORTAL_TOKEN_LEN)
		return 0;
	return CRYPTO_memcmp(a, b, PORTAL_TOKEN_LEN) == 0;
}

struct session *
session_find(struct sessions *ss, const char *id, int64_t now, int *expired)
{
	size_t i;

	if (expired != NULL)
		*expired = 0;
	for (i = 0; i < PORTAL_SESSIONS_MAX; i++) {
		struct session *s = &ss->s[i];

		if (!s->in_use || !session_token_eq(s->id, id))
			continue;
		if (now - s->last >= (int64_t)ss->idle) {
			session_end(s);
			if (expired != NULL)
				*expired = 1;
			return NULL;
		}
		s->last = now;
		return s;
	}
	return NULL;
}

struct session *
session_new(struct sessions *ss, int64_t now)
{
	struct session *s = NULL;
	size_t i;

	for (i = 0; i < PORTAL_SESSIONS_MAX; i++) {
		struct session *t = &ss->s[i];

		if (t->in_use && now - t->last >= (int64_t)ss->idle)
			session_end(t);
		if (s == NULL || !t->in_use || (s->in_use && t->last < s->last))
			s = t;
	}
	session_end(s);
	if (session_token(s->id) == -1 || session_token(s->csrf) == -1) {
		session_end(s);
		return NULL;
	}
	s->in_use = 1;
	s->last = now;
	return s;
}

void
session_end(struct session *s)
{
	OPENSSL_cleanse(s, sizeof(*s));
}

int
session_csrf_ok(const struct session *s, const char *token)
{
	return s != NULL && s->in_use && session_token_eq(s->csrf, token);
}
