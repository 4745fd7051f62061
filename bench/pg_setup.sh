#!/bin/sh
# Start a throw-away PostgreSQL 15 for the bench: loopback only, TLS with
# client certificates, durable commits, the vix schema loaded: the strict
# peer (pg_schema_common.sql and pg_schema.sql) in database vixbench, the
# best-effort peer (pg_schema_common.sql and pg_schema_best.sql) in
# database vixbest, vixd's own in database vixd.
# Usage: bench/pg_setup.sh DIR PORT   (prints the conninfo on stdout)
# Stop and remove it with bench/pg_teardown.sh DIR.
set -eu

usage() { echo "usage: $0 DIR PORT" >&2; exit 2; }
[ $# -eq 2 ] || usage
dir=$1
port=$2
here=$(cd "$(dirname "$0")" && pwd)
pgbin=${PGBIN:-/usr/lib/postgresql/15/bin}
dbuser=vixbench
dbname=vixbench

if [ ! -x "$pgbin/initdb" ]; then
	echo "$0: $pgbin/initdb not found; install it with:" \
	    "apt-get install -y postgresql-15 libpq-dev" >&2
	exit 1
fi
if [ -e "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
	echo "$0: $dir exists and is not empty; remove it with" \
	    "$here/pg_teardown.sh $dir" >&2
	exit 1
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

# PostgreSQL refuses to run as root: run the server as postgres (or nobody).
if [ "$(id -u)" -eq 0 ]; then
	if id postgres >/dev/null 2>&1; then runas=postgres; else runas=nobody; fi
	as() { runuser -u "$runas" -- "$@"; }
else
	runas=$(id -un)
	as() { "$@"; }
fi

# Certificates: a small CA, a server certificate for 127.0.0.1 and a client
# certificate whose CN is the database user (pg_hba "cert" maps CN to user).
tls=$dir/tls
mkdir -p "$tls"
(
	cd "$tls"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	    -nodes -keyout ca.key -out ca.crt -days 30 \
	    -subj "/CN=vix bench CA" 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	    -keyout server.key -out server.csr -subj "/CN=127.0.0.1" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1\n' > server.ext
	openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key \
	    -CAcreateserial -out server.crt -days 30 -extfile server.ext \
	    2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	    -keyout client.key -out client.csr -subj "/CN=$dbuser" 2>/dev/null
	openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key \
	    -CAcreateserial -out client.crt -days 30 2>/dev/null
	rm -f ./*.csr server.ext ca.srl
	chmod 600 ./*.key
)

data=$dir/data
mkdir -p "$data"
chmod 700 "$data"
chmod 755 "$dir"
chown "$runas" "$data"

as "$pgbin/initdb" -D "$data" -U postgres -A peer --no-instructions \
    -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 || {
	echo "$0: initdb failed, see $dir/initdb.log" >&2; exit 1; }
cp "$tls/server.crt" "$tls/server.key" "$tls/ca.crt" "$data/"
chown "$runas" "$data/server.crt" "$data/server.key" "$data/ca.crt"
chmod 600 "$data/server.key"

# 24 GiB / 2 cores: 2 GiB of shared buffers, room for the bench's 64+1
# connections, durability left at the defaults that matter.
cat >>"$data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$data'
max_connections = 300
shared_buffers = 2GB
effective_cache_size = 12GB
work_mem = 16MB
maintenance_work_mem = 256MB
wal_buffers = 64MB
max_wal_size = 8GB
checkpoint_timeout = 15min
fsync = on
synchronous_commit = on
full_page_writes = on
ssl = on
ssl_cert_file = 'server.crt'
ssl_key_file = 'server.key'
ssl_ca_file = 'ca.crt'
logging_collector = off
EOF
cat >"$data/pg_hba.conf" <<EOF
local	all	postgres			peer
hostssl	all	all	127.0.0.1/32	cert
EOF

as "$pgbin/pg_ctl" -D "$data" -l "$data/postgres.log" -w -t 60 start \
    >/dev/null || { echo "$0: pg_ctl start failed, see $data/postgres.log" >&2
	exit 1; }

psql() { as "$pgbin/psql" -X -q -v ON_ERROR_STOP=1 -h "$data" -p "$port" \
    -U postgres "$@"; }
# vixd's PostgreSQL backend gets a database of its own beside the peer's
# (it creates its schema at first start): database vixd.
psql -d postgres -c "CREATE ROLE $dbuser LOGIN" \
    -c "CREATE DATABASE $dbname OWNER $dbuser" \
    -c "CREATE DATABASE vixd OWNER $dbuser" \
    -c "CREATE DATABASE vixbest OWNER $dbuser" >/dev/null
# Fed on stdin: the server's user may not be able to read the source tree.
for schema in "$dbname pg_schema.sql" "vixbest pg_schema_best.sql"; do
	set -- $schema
	cat "$here/pg_schema_common.sql" "$here/$2" |
	    psql -d "$1" -c "SET ROLE $dbuser" -f - >/dev/null
done
# The best-effort peer's sessions wait up to 200 us before a WAL flush when
# 5 or more other transactions are open, so that one flush covers more
# commits; commit_delay is superuser's to set, for this database only.
psql -d postgres -c "ALTER DATABASE vixbest SET commit_delay = 200" \
    -c "ALTER DATABASE vixbest SET commit_siblings = 5" >/dev/null

printf 'host=127.0.0.1 port=%s user=%s dbname=%s sslmode=verify-full sslrootcert=%s sslcert=%s sslkey=%s\n' \
    "$port" "$dbuser" "$dbname" "$tls/ca.crt" "$tls/client.crt" \
    "$tls/client.key"
