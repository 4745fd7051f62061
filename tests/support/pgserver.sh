#!/bin/sh
# A throw-away PostgreSQL 15 for the store conformance suite: initdb in
# DIR (as postgres when run as root: the server refuses root), loopback
# only, its unix socket in DIR, a free port, durable commits (fsync and
# synchronous_commit on), trust for the local user only inside DIR.
# Usage: pgserver.sh start DIR   prints the conninfo of database vix
#        pgserver.sh stop DIR    stops the server and removes DIR
#        pgserver.sh kill DIR    stops it at once (as a crash), keeps DIR
#        pgserver.sh restart DIR starts it again on the same port
set -eu

usage() { echo "usage: $0 start|stop|kill|restart DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
dir=$2
pgbin=${PGBIN:-/usr/lib/postgresql/15/bin}
# Absolute, and out of the caller's folder, which the server's user may
# not be allowed to enter (a clone in a private folder).
case $dir in /*) ;; *) dir=$(pwd)/$dir ;; esac
cd /

if [ "$(id -u)" -eq 0 ]; then
	if id postgres >/dev/null 2>&1; then runas=postgres; else runas=nobody; fi
	as() { runuser -u "$runas" -- "$@"; }
else
	runas=$(id -un)
	as() { "$@"; }
fi

stop() {
	if [ -f "$dir/data/postmaster.pid" ]; then
		as "$pgbin/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop \
		    >/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
}

start() {
	if [ ! -x "$pgbin/initdb" ]; then
		echo "$0: $pgbin/initdb not found; install it with:" \
		    "apt-get install -y postgresql-15 libpq-dev" \
		    "(./scripts/test installs it)" >&2
		exit 1
	fi
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	chmod 755 "$dir"
	mkdir -p "$dir/data" "$dir/sock"
	chmod 700 "$dir/data"
	chown "$runas" "$dir/data" "$dir/sock"
	as "$pgbin/initdb" -D "$dir/data" -U postgres -A trust \
	    --no-instructions -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 || {
		echo "$0: initdb failed, see $dir/initdb.log" >&2; exit 1; }
	cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir/sock'
unix_socket_permissions = 0700
max_connections = 200
shared_buffers = 128MB
fsync = on
synchronous_commit = on
full_page_writes = on
logging_collector = off
CONF
	# Trust only over the private socket (mode 0700) and loopback.
	cat >"$dir/data/pg_hba.conf" <<CONF
local	all	all			trust
host	all	all	127.0.0.1/32	trust
CONF
	# A free port: the first of a few that the server can listen on.
	base=$((20000 + $$ % 20000))
	for i in 0 1 2 3 4 5 6 7 8 9; do
		port=$((base + i * 7))
		if as "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/data/postgres.log" \
		    -o "-p $port" -w -t 30 start >/dev/null 2>&1; then
			as "$pgbin/psql" -X -q -h "$dir/sock" -p "$port" \
			    -U postgres -d postgres \
			    -c "CREATE DATABASE vix" >/dev/null
			echo "$port" >"$dir/port"
			printf 'host=%s port=%s user=postgres dbname=vix\n' \
			    "$dir/sock" "$port"
			return 0
		fi
	done
	echo "$0: the server did not start, see $dir/data/postgres.log" >&2
	exit 1
}

# A crash: every backend killed, nothing flushed that was not committed.
crash() {
	[ -f "$dir/data/postmaster.pid" ] || {
		echo "$0: no server running in $dir" >&2; exit 1; }
	as "$pgbin/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop \
	    >/dev/null 2>&1
}

restart() {
	[ -f "$dir/port" ] || { echo "$0: no server in $dir" >&2; exit 1; }
	as "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/data/postgres.log" \
	    -o "-p $(cat "$dir/port")" -w -t 30 start >/dev/null 2>&1 || {
		echo "$0: the server did not start again, see" \
		    "$dir/data/postgres.log" >&2; exit 1; }
}

case $cmd in
start) start ;;
stop) stop ;;
kill) crash ;;
restart) restart ;;
*) usage ;;
esac
