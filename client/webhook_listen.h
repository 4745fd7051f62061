/*
 * vix listen --webhook: a small HTTPS receiver for trying an organisation's
 * webhook locally. It serves one request at a time, accepts only vixd (a
 * client certificate from the CA bundle, issued for peer or with the
 * fingerprint peer_sha256), verifies each event's signature with the
 * organisation's secret, prints it and answers 204; an event whose
 * signature does not verify is answered 401 and printed on stderr.
 */
#ifndef VIX_WEBHOOK_LISTEN_H
#define VIX_WEBHOOK_LISTEN_H

#include <signal.h>
#include <stdint.h>

struct webhook_listen {
	const char	*host;		/* address to bind */
	uint16_t	 port;
	const char	*cert, *key;	/* the receiver's server certificate */
	const char	*ca;		/* for vixd's client certificate */
	const char	*peer;		/* vixd's name in its certificate */
	const char	*peer_sha256;	/* or its certificate's SHA-256 */
	const char	*secret_file;	/* "whsec_..." */
	int		 json;		/* print each event as it came */
	volatile sig_atomic_t *stopping;
};

/* Serve until *stopping; 0, or 2 (usage) / 3 (cannot serve) after saying why. */
int	webhook_listen_run(const struct webhook_listen *);

#endif
