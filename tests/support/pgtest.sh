#!/bin/sh
# Run test binaries against a throw-away PostgreSQL (pgserver.sh), with
# VIX_TEST_BACKEND=postgresql and VIX_TEST_PG its conninfo; the server is
# stopped and its folder removed whatever the outcome. Fails, naming the
# package, when PostgreSQL is not installed (./scripts/test installs it).
# Usage: pgtest.sh BINARY...
set -u
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/vix-pg.XXXXXX") || exit 1
trap '"$here/pgserver.sh" stop "$dir"' EXIT
trap 'exit 130' INT TERM HUP
conninfo=$("$here/pgserver.sh" start "$dir")
rc=$?
[ $rc -eq 0 ] || exit $rc
VIX_TEST_BACKEND=postgresql
VIX_TEST_PG=$conninfo
export VIX_TEST_BACKEND VIX_TEST_PG
status=0
for bin in "$@"; do
	echo "== $bin (postgresql)"
	"$bin" || status=1
done
exit $status
