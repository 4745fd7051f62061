/*
 * The file-level fixture of the writer tests (test_writer.c, in the
 * conformance suite, and test_writer_lmdb.c): the test's folder, its store
 * and the two organisations, over storefix.h and writerfix.h. Included once
 * by each of those files, after they define orgs_conf.
 */
#ifndef VIX_WRITER_TESTS_H
#define VIX_WRITER_TESTS_H

static char *dir;		/* the test's temporary folder */
static char *dbdir;		/* the store inside it */
static struct store *st;
static struct orgs *orgs;
static const struct org *wijk, *jz;

/* Where the jobs go and how they come back: see writerfix.h. */
#define WORKER		WRITERFIX_WORKER
static const struct writer_hooks *const hooks = &writerfix_hooks;

/* Open the store (map_size, quota) with wijk and jz bound. */
static void
open_store(size_t map_size, unsigned quota)
{
	st = storefix_open(dbdir, map_size, quota, 14 * 86400);
	orgs = storefix_orgs_load(dir, orgs_conf);
	storefix_bind(st, orgs);
	wijk = storefix_org(orgs, "wijk");
	jz = storefix_org(orgs, "jz");
}

static void
setup_common(void)
{
	dir = storefix_tmpdir("writer", &dbdir);
	writerfix_reset();
}

#endif
