/*
 * vix-keyd, the key holder of blind pseudonyms: the state of the one
 * process. One thread, one libevent loop; every request is answered
 * within its read callback (a batch of 256 BlindEvaluates takes about
 * 13 ms on one core).
 */
#ifndef VIX_KEYD_H
#define VIX_KEYD_H

#include <sys/queue.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "kaudit.h"
#include "kconf.h"
#include "log.h"
#include "keys.h"
#include "orgs.h"
#include "ratelimit.h"

struct kconn;

struct keyd {
	struct kconf		 conf;
	struct event_base	*base;
	SSL_CTX			*ctx;		/* swapped on reload */
	struct orgs		*orgs;		/* swapped on reload */
	struct keys		*keys;		/* locked page, swapped on reload */
	int			 keys_locked;
	struct ratelimit	*rl;		/* per organisation, by audit slot */
	struct kaudit		 audit;
	struct evconnlistener	*listener;
	TAILQ_HEAD(, kconn)	 conns;
	unsigned		 nconns;
	uint64_t		 serial;	/* connections accepted */
	struct log_limit	 refusal_log;	/* failed handshakes, refused
						   connections: a line a second */
};

/* Start accepting on conf.listen; logs the address. 0, or -1 (logged). */
int	kserve_listen(struct keyd *);
/* The address it listens on, "host:port", in buf. */
const char *kserve_bound(struct keyd *, char *buf, size_t len);

/* Close every connection and the listener (at exit). */
void	kserve_stop(struct keyd *);

/*
 * The answer to one request (a packed KeyRequest of len bytes) from the
 * certificate with this OIN, as a framed KeyResponse in *out (malloc'd,
 * *outlen bytes). Audits it. Apart from the connections so that a test
 * or a fuzz target can call it. 0, or -1 when out of memory.
 */
int	kserve_answer(struct keyd *, const char *oin, const uint8_t *req,
	    size_t len, uint8_t **out, size_t *outlen);

#endif
