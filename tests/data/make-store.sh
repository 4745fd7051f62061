#!/usr/bin/env bash
# Write tests/data/store-schemaN/: a store in the layout of schema N, made
# by the vixd of a build of that code, for the migration tests
# (tests/integration/test_migrate.c, tests/unit/test_store_lmdb.c).
#   tests/data/make-store.sh N [BUILD_DIR]    (default build)
# BUILD_DIR is a build of the schema-N code (e.g. git archive 6110175 |
# tar -x -C /tmp/s5; meson setup /tmp/s5/build; ninja -C /tmp/s5/build);
# the store is written here. It uses vixd --dev with server pseudonyms
# under a fixed pseudonym key, the same for every N (the tests write the
# same 32 bytes), the dev
# organisations org-a, org-b and partner (their OINs are fixed) and three
# bench organisations (vix-bench orgs: bench-001..003), and BSNs of
# tests/data/bsn-valid.txt by line:
#   1-200    org-a registers
#   1-60     org-b registers: 60 matches; match of line 1 claimed and done
#   41-100   bench-001 registers (41-60: three organisations)
#   150-230  bench-002 registers, 190-230 bench-003 too
#   N 6 on: org-a registers 231-700, then refreshes 1-700 twice, so that
#   the audit chain passes two checkpoints (every 1024th record of schema
#   7) with few rows more in the other databases
#   org-a withdraws line 5 (unjustified: deleted), line 6 (risk-resolved:
#   archived); bench-002 withdraws line 150 by signal id
#   org-a and partner acknowledge what they were sent; org-b, bench-* not
# It writes data.mdb (mdb_copy -c) and expected.txt (vixctl status --json
# and the pending notifications per organisation).
set -euo pipefail
schema=${1:?usage: make-store.sh SCHEMA [BUILD_DIR]}
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${2:-$src/build}" && pwd)
out=$src/tests/data/store-schema$schema
key='vix-test-store-schema5-key-32byt'	# 32 bytes, test material only

work=$(mktemp -d "${TMPDIR:-/tmp}/vix-schema$schema-XXXXXX")
dev=$work/vix-dev
vixd_pid=
cleanup() {
	[ -z "$vixd_pid" ] || kill "$vixd_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

"$build/bench/vix-bench" orgs "$dev" 3 >/dev/null
printf '%s' "$key" >"$dev/pseudonym.key"
chmod 600 "$dev/pseudonym.key"
printf '[server]\nrate_limit = 0\nmax_new_signals_per_day = 0\n' \
	>"$work/vixd.conf"
"$build/daemon/vixd" --dev --data "$dev" -c "$work/vixd.conf" \
	--listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --pseudonyms server \
	--control-socket "$work/ctl.sock" >"$work/vixd.log" 2>&1 &
vixd_pid=$!
addr=
for _ in $(seq 1 300); do
	addr=$(sed -n 's/.* listening on \([0-9.]*:[0-9]*\).*/\1/p' \
		"$work/vixd.log" | head -n 1)
	[ -n "$addr" ] && break
	sleep 0.1
done
[ -n "$addr" ] || { cat "$work/vixd.log" >&2; exit 1; }

vix() { "$build/client/vix" --dev-dir "$dev" --dev "$1" --server "$addr" \
	"${@:2}"; }
vixctl() { "$build/client/vixctl" -s "$work/ctl.sock" "$@"; }
bsns() { sed -n '/^[0-9]/p' "$src/tests/data/bsn-valid.txt" | sed -n "$1"; }
# register ORG FIRST LAST: one import of those lines.
register() {
	{
		echo bsn,birth_date,days,contact_name,contact_phone,contact_email,client_ref,municipality
		bsns "$2,$3p" | awk -v o="$1" '{ printf "%s,2012-03-04,,Contact %s,0201234567,,ref-%s-%d,\n", $1, o, o, NR }'
	} >"$work/$1.csv"
	vix "$1" import "$work/$1.csv" >/dev/null
}
register org-a 1 200
register org-b 1 60
register bench-001 41 100
register bench-002 150 230
register bench-003 190 230
if [ "$schema" -ge 6 ]; then
	register org-a 231 700
	register org-a 1 700
	register org-a 1 700
fi

match=$(vix org-a --json involved --bsn "$(bsns 1p)" |
	sed -n 's/.*"match_id": *"\{0,1\}\([0-9]*\).*/\1/p' | head -n 1)
vix org-a coordinate --match "$match" --claim >/dev/null
vix org-a coordinate --match "$match" --done >/dev/null
bsns 5p | vix org-a withdraw --bsn - --reason unjustified >/dev/null
bsns 6p | vix org-a withdraw --bsn - --reason risk-resolved >/dev/null
sid=$(vix bench-002 --json list --all |
	sed -n 's/.*"signal_id": *"\{0,1\}\([0-9]*\).*/\1/p' | head -n 1)
vix bench-002 withdraw --signal "$sid" --reason unjustified >/dev/null

# Acknowledge what org-a and partner were sent (subscribe acks each one).
for org in org-a partner; do
	timeout -s INT 6 "$build/client/vix" --dev-dir "$dev" --dev "$org" \
		--server "$addr" subscribe --json >"$work/sub-$org.json" || true
done

vixctl audit verify >/dev/null
vixctl status >/dev/null; sleep 2
vixctl --json status >"$work/status.json"
kill -TERM "$vixd_pid"
wait "$vixd_pid" || true
vixd_pid=

mkdir -p "$out"
rm -f "$out/data.mdb"
mdb_copy -c "$dev/data" "$out"
{
	echo "# vixctl --json status of the store, before it was stopped"
	cat "$work/status.json"
	echo
} >"$out/expected.txt"
echo "wrote $out/data.mdb ($(stat -c %s "$out/data.mdb") bytes)"
