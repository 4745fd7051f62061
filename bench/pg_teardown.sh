#!/bin/sh
# Stop the bench's PostgreSQL started by pg_setup.sh and remove its folder.
# Usage: bench/pg_teardown.sh DIR
set -eu

[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
dir=$1
pgbin=${PGBIN:-/usr/lib/postgresql/15/bin}

[ -d "$dir" ] || exit 0
if [ -f "$dir/data/postmaster.pid" ]; then
	if [ "$(id -u)" -eq 0 ]; then
		owner=$(stat -c %U "$dir/data")
		runuser -u "$owner" -- "$pgbin/pg_ctl" -D "$dir/data" -m fast \
		    -w stop >/dev/null
	else
		"$pgbin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
	fi
fi
rm -rf "$dir"
