/*
 * The daemon's state: one struct vixd, created in main() and passed
 * around. No other mutable global state.
 */
#ifndef VIX_VIXD_H
#define VIX_VIXD_H

#include <sys/queue.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "acceptor.h"
#include "admin.h"
#include "hsgate.h"
#include "config.h"
#include "notify.h"
#include "orgs.h"
#include "pseudonym.h"
#include "store.h"
#include "writer.h"

struct conn;
struct session;
struct evdns_base;
struct pusher;
struct conn_linger_sock;

/* An accepted socket on its way to a worker, counted in the hsgate. */
struct accepted {
	int			 fd;
	struct hsgate_addr	 addr;
};

/* A worker thread owning one event base and the connections on it. */
struct worker {
	struct vixd		*vixd;
	unsigned		 idx;
	pthread_t		 thread;
	int			 started;
	struct event_base	*base;
	int			 wake[2];	/* pipe: acceptor -> worker */
	atomic_int		 wake_pending;	/* a byte is in wake, unread */
	struct event		*ev_wake;
	struct event		*ev_grace;

	pthread_mutex_t		 lock;		/* guards pending, done, drain */
	struct accepted		*pending;	/* accepted sockets to take over */
	size_t			 npending, cap;
	struct job_home		 home;		/* where its jobs come back */
	struct job_list		 done;		/* jobs back from the writer */
	uint32_t		*published;	/* outboxes that grew */
	size_t			 npublished, pubcap;
	uint64_t		 published_ns;	/* the first such commit */
	int			 published_all;
	int			 orgs_changed;
	int			 drain;

	struct pseudonym_ctx	*pseudonyms;	/* worker thread only */
	struct evdns_base	*dns;		/* worker thread only */
	struct store_reader	*reader;	/* worker thread only */

	TAILQ_HEAD(, conn)	 conns;		/* worker thread only */
	TAILQ_HEAD(, session)	 sessions;	/* worker thread only */
	struct subscription_list subs;		/* worker thread only */
	TAILQ_HEAD(, pusher)	 pushers;	/* worker thread only */
	TAILQ_HEAD(, conn_linger_sock)	 lingering;	/* closed sockets draining */
	unsigned		 nconns;
	int			 draining;	/* worker thread only */
};

struct orgstats;
struct ratelimit;
struct status;

struct vixd {
	struct vixd_config	 cfg;
	int			 dev;
	int			 pseudonyms_option;	/* --pseudonyms:
					   -1 none, else pseudonyms_blind */
	char			*dev_dir;
	pid_t			 dev_keyd;	/* --dev: its key holder */

	struct event_base	*base;		/* main thread: listener, signals */
	struct evconnlistener	*listener;
	struct event		*ev_signals[3];

	pthread_mutex_t		 lock;		/* guards ssl_ctx, client_ctx, orgs */
	SSL_CTX			*ssl_ctx;
	struct orgs		*orgs;
	/*
	 * Bumped (under lock) with every swap of orgs and the TLS contexts:
	 * a connection whose identity is from an older generation is
	 * checked again before it is served.
	 */
	atomic_uint_fast64_t	 generation;

	struct worker		*workers;
	unsigned		 nworkers;
	unsigned		 next_worker;

	atomic_uint_fast64_t	 conn_serial;
	atomic_uint		 nconns;
	atomic_uint		 nestablished;	/* authenticated clients
						   (max_connections) */
	struct hsgate		*hsgate;	/* pending handshakes */
	struct log_limit	 refusal_log;	/* main thread */
	struct acceptor		 acceptors[LISTENER_COUNT];

	/* PSEUDONYM_KEY_LEN bytes on a locked page kept out of core dumps. */
	unsigned char		*pseudonym_key;
	/* pseudonyms = blind: the key versions accepted (NULL: server). */
	struct blind		*blind;
	struct rotate		*rotate;	/* and their rotation */
	struct store		*store;
	struct writer		*writer;
	struct event		*ev_sweep;
	struct event		*ev_probe;	/* store unreachable: try it */
	int			 probing;	/* a probe is queued (main loop) */
	/* Jobs of the main loop (sweeps, vixctl) come back here. */
	struct job_home		 home;
	pthread_mutex_t		 done_lock;	/* guards done */
	struct job_list		 done;
	struct event		*ev_done;	/* main loop: done is not empty */
	SSL_CTX			*client_ctx;	/* for dialling push targets */
	struct evconnlistener	*admin;		/* admin_listen */
	struct vixd_stats	 stats;
	/*
	 * The buckets of rate_limit, shared by the workers, which read the
	 * limit from here so that a reload can change it while they run; a
	 * reload keeps the buckets.
	 */
	struct ratelimit	*ratelimit;
	/* cfg.max_new_signals_per_day, for the workers; a reload sets it. */
	atomic_uint		 max_new_per_day;
	/* policy_id of cfg.policy, for the workers; a reload sets it. */
	atomic_uint		 policy_id;
	struct orgstats		*orgstats;	/* churn, for /metrics */
	struct status		*status;	/* the monitoring snapshot */
	struct webhooks		*webhooks;	/* their delivering threads */
};

/* The current organisation registry, with a reference the caller drops. */
struct orgs	*vixd_orgs(struct vixd *);

/*
 * A new SSL object from the current server context, or for dialling out
 * (push mode) from the current client context; *gen is its generation.
 */
SSL		*vixd_ssl_new(struct vixd *, uint64_t *gen);
SSL		*vixd_client_ssl_new(struct vixd *, uint64_t *gen);

/*
 * The current registry and TLS context (server, or client if outbound),
 * with a reference each the caller drops, and their generation.
 */
struct orgs	*vixd_current(struct vixd *, int outbound, SSL_CTX **ctx,
		    uint64_t *gen);

/* The generation now in force (see struct vixd). */
uint64_t	 vixd_generation(struct vixd *);

#endif
