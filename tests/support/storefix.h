/*
 * The store under test, for the store conformance suite (test_store,
 * test_outbox, test_writer, run once per backend) and the LMDB-only tests:
 * which backend, a store in a temporary folder with organisations bound
 * to it, and the requests those tests make over and over.
 *
 * Unlike support.h these helpers assert with Criterion: a helper that
 * fails fails the test that called it, with the reason.
 *
 * Youths are known only by fixed pseudonym byte patterns; no BSN.
 */
#ifndef VIX_TEST_STOREFIX_H
#define VIX_TEST_STOREFIX_H

#include <stddef.h>
#include <stdint.h>

#include "figures.h"
#include "orgs.h"
#include "store.h"

/* The map size of an ordinary test store, and the day it starts on. */
#define STOREFIX_MAP_SIZE	(16u << 20)
#define STOREFIX_T0		1700000000

/* The backend under test: $VIX_TEST_BACKEND, or "lmdb" unset or empty. */
const char	*storefix_backend(void);

/*
 * Options for a store in dbdir on the backend under test. A backend name
 * the suite does not know fails the test, naming it.
 */
void		 storefix_options(struct store_options *, const char *dbdir,
		    size_t map_size, unsigned quota_percent,
		    int64_t escalate_after);

/* store_open with those options; fails the test with the diagnostics. */
struct store	*storefix_open(const char *dbdir, size_t map_size,
		    unsigned quota_percent, int64_t escalate_after);

/*
 * A new temporary folder named for tag (support_tmpdir), and in *dbdir
 * the store's place inside it, not yet created. Free both with
 * storefix_tmpdir_remove.
 */
char		*storefix_tmpdir(const char *tag, char **dbdir);
void		 storefix_tmpdir_remove(char *dir, char *dbdir);

/* OINs of the store tests' organisations. */
#define STOREFIX_OIN_WIJK	"00000009876543210001"
#define STOREFIX_OIN_JZ		"00000009876543210002"
#define STOREFIX_OIN_VT		"00000009876543210003"
#define STOREFIX_OIN_GGD	"00000009876543210004"

/*
 * The registries of the store tests, literals so that their size is known.
 * Ranks: vt 5 < jz 10 < wijk 20 = ggd 20; all register and subscribe. The
 * writer tests have the first two, wijk and jz.
 */
#define STOREFIX_ORGS_CONF_WIJK_JZ					\
    "[org wijk]\n"							\
    "oin = " STOREFIX_OIN_WIJK "\n"					\
    "name = Wijkteam Noord\n"						\
    "roles = register, subscribe\n"					\
    "rank = 20\n"							\
    "\n"								\
    "[org jz]\n"							\
    "oin = " STOREFIX_OIN_JZ "\n"					\
    "name = Jeugdzorg Test\n"						\
    "roles = register, subscribe\n"					\
    "rank = 10\n"

#define STOREFIX_ORGS_CONF						\
    STOREFIX_ORGS_CONF_WIJK_JZ						\
    "\n"								\
    "[org vt]\n"							\
    "oin = " STOREFIX_OIN_VT "\n"					\
    "name = Veilig Thuis Test\n"					\
    "roles = register, subscribe\n"					\
    "rank = 5\n"							\
    "\n"								\
    "[org ggd]\n"							\
    "oin = " STOREFIX_OIN_GGD "\n"					\
    "name = GGD Test\n"						\
    "roles = register, subscribe\n"					\
    "rank = 20\n"

/* The registry in text, written to dir/orgs.conf and loaded. */
struct orgs	*storefix_orgs_load(const char *dir, const char *text);
/* store_bind_orgs, which must succeed. */
void		 storefix_bind(struct store *, struct orgs *);
/* The organisation with section name id, which must exist. */
const struct org *storefix_org(const struct orgs *, const char *id);

/* The pseudonym of youth number youth: fill bytes, the number in front. */
void		 storefix_pseudonym(uint8_t *p, uint8_t fill, unsigned youth);

/*
 * A registration of youth by o at now for a year (bound DURATION), with a
 * contact, client reference "ref-<id>-<youth>" and municipality 0344
 * made from o.
 */
void		 storefix_reg_in(struct store_register_in *,
		    const struct orgs *, const struct org *o, uint8_t fill,
		    unsigned youth, int64_t now);

/* The contact called name, its phone and e-mail made from the name. */
void		 storefix_contact(struct store_contact *, const char *name);

/* A write batch, begun without error; its commit, which must succeed. */
/* The regional figures of muni ("": none) in the month of when. */
struct figures_month storefix_month(struct store_reader *, const char *muni,
		    int64_t when);
struct store_txn *storefix_begin(struct store *);
void		 storefix_commit(struct store_txn *);

/*
 * One registration, one withdrawal, each a job in a batch of its own as
 * the writer runs it; the store's answer. The batch must commit.
 */
int		 storefix_register(struct store *,
		    const struct store_register_in *,
		    struct store_register_out *);
int		 storefix_withdraw(struct store *,
		    const struct store_withdraw_in *,
		    struct store_withdraw_out *);

/*
 * A registration as a job in the open batch t, ended with end_err if the
 * store accepted it (a refusal the writer would add). Returns the store's
 * answer; the view of an accepted one is freed.
 */
int		 storefix_job_register(struct store_txn *t,
		    const struct store_register_in *, int end_err,
		    struct store_register_out *);

/* Every active signal of sid, through store_list in pages of 64. */
size_t		 storefix_list_all(struct store_reader *, uint32_t sid,
		    struct store_summary *, size_t max);

struct storefix_counts {
	size_t	signals, matches, archived;
};

struct storefix_counts storefix_counts(struct store_reader *);

/*
 * The match on youth p as o sees it through an involved lookup (o must have
 * a signal on it, and there must be a match).
 */
struct store_match storefix_match_seen_by(struct store *, const struct org *o,
		    const uint8_t *p, int64_t now);

/*
 * A coordinate action as a job of its own; with keep 0 the job is rolled
 * back after the store accepted it (as the writer does for a later
 * refusal). Returns the store's answer, or VIX_E_INVALID when rolled back.
 */
int		 storefix_coordinate(struct store *,
		    const struct store_coordinate_in *, int keep);

/* Erase youth p as vixctl erase does; what was removed and withdrawn. */
void		 storefix_erase(struct store *, const struct orgs *,
		    const uint8_t *p, int64_t now, size_t *removed,
		    size_t *withdrawn);

/*
 * Youth p (number youth, for the references) with a record of each kind:
 * signals of wijk and jz (a match, outbox rows about it), vt's signal
 * archived, audit records linked to it (a lookup by jz too). now and the
 * next few seconds.
 */
void		 storefix_youth_everywhere(struct store *, const struct orgs *,
		    const uint8_t *p, unsigned youth, int64_t now);

/* store_youth_move as a job of its own batch: its answer, and *moved. */
int		 storefix_move(struct store *, const uint8_t *from,
		    const uint8_t *to, size_t *moved);

/* The monitoring counts of matches and uncoordinated matches. */
void		 storefix_stats(struct store_reader *, const struct orgs *,
		    int64_t now, size_t *matches, size_t *uncoordinated);

/* The number of audit records, all of which must verify. */
uint64_t	 storefix_audit_good(struct store_reader *);

/* n audit records (wijk's registrations at t0 + 1 ...) in one batch. */
void		 storefix_audit_many(struct store *, unsigned n, int64_t t0);

#endif
