/*
 * The handshake gate: connections accepted but not yet through their TLS
 * handshake, counted in total and by source address, so that silent
 * sockets from one address cannot take every place (max_handshakes,
 * max_handshakes_per_address). Safe to use from any thread.
 */
#ifndef VIX_HSGATE_H
#define VIX_HSGATE_H

#include <sys/socket.h>

#include <stdint.h>

/* A source address: IPv4 as an IPv4-mapped IPv6 address. */
struct hsgate_addr {
	uint8_t	b[16];
};

enum hsgate_verdict {
	HSGATE_OK,
	HSGATE_TOTAL,		/* max_handshakes pending */
	HSGATE_PER_ADDRESS,	/* max_handshakes_per_address from this one */
	HSGATE_NOMEM,
};

struct hsgate;

struct hsgate	*hsgate_new(void);
void		 hsgate_free(struct hsgate *);

/* The address of sa (AF_INET or AF_INET6; anything else is all zeroes). */
void		 hsgate_addr_of(const struct sockaddr *sa, struct hsgate_addr *);

/*
 * Count one more handshake from a if that stays within both limits;
 * otherwise count nothing and say which limit refused it.
 */
enum hsgate_verdict hsgate_enter(struct hsgate *, const struct hsgate_addr *a,
		    unsigned max_total, unsigned max_per_address);

/* A handshake counted by hsgate_enter ended (done, failed or closed). */
void		 hsgate_leave(struct hsgate *, const struct hsgate_addr *a);

/* Handshakes pending now, in total and from a. */
unsigned	 hsgate_pending(struct hsgate *);
unsigned	 hsgate_pending_from(struct hsgate *, const struct hsgate_addr *a);

#endif
