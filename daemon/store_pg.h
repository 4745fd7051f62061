/*
 * The PostgreSQL backend (store_pg.c), built when libpq is found
 * (VIX_HAVE_PG): store_options.backend "postgresql", its conninfo and
 * password_file.
 */
#ifndef VIX_STORE_PG_H
#define VIX_STORE_PG_H

#include "store_backend.h"

#define STORE_BACKEND_PG	"postgresql"

extern const struct store_backend store_backend_postgresql;

#endif
