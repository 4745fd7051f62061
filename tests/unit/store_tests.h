/*
 * The file-level fixture of the store tests (test_store.c, the conformance
 * suite, and test_store_lmdb.c): the test's folder, its store, reader and
 * four organisations, and starting and stopping them over storefix.h.
 * Included once by each of those files, after they define orgs_conf,
 * MAP_SIZE and FILL (their pseudonyms' fill byte).
 */
#ifndef VIX_STORE_TESTS_H
#define VIX_STORE_TESTS_H

static char *dir;		/* the test's temporary folder */
static char *dbdir;		/* the store inside it */
static struct store *st;
static struct orgs *orgs;
static struct store_reader *rd;
static const struct org *wijk, *jz, *vt, *ggd;

static struct store *
open_store(size_t map_size, unsigned quota)
{
	return storefix_open(dbdir, map_size, quota, 14 * 86400);
}

/* Open the store (map_size, quota) with the four organisations bound. */
static void
start(size_t map_size, unsigned quota)
{
	st = open_store(map_size, quota);
	orgs = storefix_orgs_load(dir, orgs_conf);
	storefix_bind(st, orgs);
	wijk = storefix_org(orgs, "wijk");
	jz = storefix_org(orgs, "jz");
	vt = storefix_org(orgs, "vt");
	ggd = storefix_org(orgs, "ggd");
	rd = store_reader_new(st);
	cr_assert_not_null(rd);
}

static void
stop(void)
{
	store_reader_free(rd);
	rd = NULL;
	store_close(st);
	st = NULL;
}

static void
setup(void)
{
	dir = storefix_tmpdir("store", &dbdir);
}

static void
setup_started(void)
{
	setup();
	start(MAP_SIZE, 90);
}

static void
teardown(void)
{
	stop();
	orgs_unref(orgs);
	orgs = NULL;
	storefix_tmpdir_remove(dir, dbdir);
	dir = NULL;
	dbdir = NULL;
}

static void
pseudonym(uint8_t *p, unsigned youth)
{
	storefix_pseudonym(p, FILL, youth);
}

#endif
