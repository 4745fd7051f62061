/*
 * vix-bench oprf: what blind pseudonyms cost, on one core. The key
 * holder's BlindEvaluate per second; the client's Blind and Finalize per
 * second; and the step an attacker who holds the key repeats for every
 * candidate BSN (HashToGroup of "NL:bsn:" and 9 digits, then one scalar
 * multiplication), with the time all 10^8 nine-digit numbers would take.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "oprf.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
bench_oprf(double seconds)
{
	uint8_t seed[OPRF_SEED_LEN] = { 7 }, sk[32], pk[32], blind[32];
	uint8_t blinded[32], evaluated[32], out[OPRF_OUTPUT_LEN], elem[32];
	char input[32];
	unsigned long n;
	double t0, evals, clients, tries;

	if (oprf_derive_key_pair(seed, NULL, 0, sk, pk) == -1 ||
	    oprf_blind((const uint8_t *)"NL:bsn:999990019", 16, NULL, blind,
	    blinded) == -1)
		return 1;
	for (n = 0, t0 = now_s(); now_s() - t0 < seconds; n++)
		if (oprf_blind_evaluate(sk, blinded, evaluated) == -1)
			return 1;
	evals = (double)n / (now_s() - t0);
	for (n = 0, t0 = now_s(); now_s() - t0 < seconds; n++) {
		snprintf(input, sizeof(input), "NL:bsn:%09lu", n % 1000000000);
		if (oprf_blind((const uint8_t *)input, 16, NULL, blind,
		    blinded) == -1 || oprf_finalize((const uint8_t *)input, 16,
		    blind, evaluated, out) == -1)
			return 1;
	}
	clients = (double)n / (now_s() - t0);
	for (n = 0, t0 = now_s(); now_s() - t0 < seconds; n++) {
		snprintf(input, sizeof(input), "NL:bsn:%09lu", n % 1000000000);
		if (oprf_hash_to_group((const uint8_t *)input, 16, elem) == -1 ||
		    oprf_blind_evaluate(sk, elem, evaluated) == -1)
			return 1;
	}
	tries = (double)n / (now_s() - t0);
	printf("oprf blind_evaluate_per_s=%.0f client_blind_finalize_per_s=%.0f "
	    "brute_force_tries_per_s=%.0f all_1e8_bsns_s=%.0f\n", evals,
	    clients, tries, 1e8 / tries);
	return 0;
}
