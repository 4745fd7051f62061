/* HOST:PORT addresses, parsed the same way by vixd and libvix. */
#ifndef VIX_ADDR_H
#define VIX_ADDR_H

#include <stddef.h>
#include <stdint.h>

/*
 * Split "host:port" or "[v6]:port". Returns 0 and fills host and port, or
 * -1 with a reason in why.
 */
int	addr_split(const char *s, char *host, size_t hostlen, uint16_t *port,
	    const char **why);

#endif
