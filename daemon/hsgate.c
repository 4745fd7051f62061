/* Pending TLS handshakes, in total and by source address. */
#include <netinet/in.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hsgate.h"

#define HSGATE_BUCKETS	256	/* chains stay short: an address per entry */

struct hsgate_entry {
	struct hsgate_entry	*next;
	struct hsgate_addr	 addr;
	unsigned		 n;
};

struct hsgate {
	pthread_mutex_t		 lock;
	unsigned		 total;
	struct hsgate_entry	*bucket[HSGATE_BUCKETS];
};

struct hsgate *
hsgate_new(void)
{
	struct hsgate *g = calloc(1, sizeof(*g));

	if (g != NULL)
		pthread_mutex_init(&g->lock, NULL);
	return g;
}

void
hsgate_free(struct hsgate *g)
{
	struct hsgate_entry *e;

	if (g == NULL)
		return;
	for (size_t i = 0; i < HSGATE_BUCKETS; i++)
		while ((e = g->bucket[i]) != NULL) {
			g->bucket[i] = e->next;
			free(e);
		}
	pthread_mutex_destroy(&g->lock);
	free(g);
}

void
hsgate_addr_of(const struct sockaddr *sa, struct hsgate_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET6) {
		memcpy(a->b, &((const struct sockaddr_in6 *)(const void *)sa)->
		    sin6_addr, 16);
	} else if (sa->sa_family == AF_INET) {
		a->b[10] = a->b[11] = 0xff;
		memcpy(a->b + 12, &((const struct sockaddr_in *)(const void *)
		    sa)->sin_addr, 4);
	}
}

/* FNV-1a over the address. */
static size_t
hsgate_hash(const struct hsgate_addr *a)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < sizeof(a->b); i++)
		h = (h ^ a->b[i]) * 16777619u;
	return h % HSGATE_BUCKETS;
}

/* The entry for a, or where to link a new one; lock held. */
static struct hsgate_entry **
hsgate_find(struct hsgate *g, const struct hsgate_addr *a)
{
	struct hsgate_entry **ep = &g->bucket[hsgate_hash(a)];

	while (*ep != NULL && memcmp(&(*ep)->addr, a, sizeof(*a)) != 0)
		ep = &(*ep)->next;
	return ep;
}

enum hsgate_verdict
hsgate_enter(struct hsgate *g, const struct hsgate_addr *a,
    unsigned max_total, unsigned max_per_address)
{
	enum hsgate_verdict r = HSGATE_OK;
	struct hsgate_entry **ep, *e;

	pthread_mutex_lock(&g->lock);
	ep = hsgate_find(g, a);
	if (g->total >= max_total)
		r = HSGATE_TOTAL;
	else if (*ep != NULL && (*ep)->n >= max_per_address)
		r = HSGATE_PER_ADDRESS;
	else if (*ep == NULL && max_per_address == 0)
		r = HSGATE_PER_ADDRESS;
	else if (*ep == NULL && (*ep = e = calloc(1, sizeof(*e))) != NULL)
		e->addr = *a;
	if (r == HSGATE_OK && *ep == NULL)
		r = HSGATE_NOMEM;
	if (r == HSGATE_OK) {
		(*ep)->n++;
		g->total++;
	}
	pthread_mutex_unlock(&g->lock);
	return r;
}

void
hsgate_leave(struct hsgate *g, const struct hsgate_addr *a)
{
	struct hsgate_entry **ep, *e;

	pthread_mutex_lock(&g->lock);
	ep = hsgate_find(g, a);
	if ((e = *ep) != NULL) {
		g->total--;
		if (--e->n == 0) {
			*ep = e->next;
			free(e);
		}
	}
	pthread_mutex_unlock(&g->lock);
}

unsigned
hsgate_pending(struct hsgate *g)
{
	unsigned n;

	pthread_mutex_lock(&g->lock);
	n = g->total;
	pthread_mutex_unlock(&g->lock);
	return n;
}

unsigned
hsgate_pending_from(struct hsgate *g, const struct hsgate_addr *a)
{
	struct hsgate_entry **ep;
	unsigned n;

	pthread_mutex_lock(&g->lock);
	ep = hsgate_find(g, a);
	n = *ep != NULL ? (*ep)->n : 0;
	pthread_mutex_unlock(&g->lock);
	return n;
}
