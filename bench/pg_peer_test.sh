#!/bin/sh
# The best-effort PostgreSQL peer (issue #16): start a throw-away server
# (pg_setup.sh), run vix-bench --driver pg-best briefly, and check what it
# left: every registration committed once, the matches found that the
# signals call for, every audit record chained by the follower (recomputed
# here), every outbox row numbered, dense from 1 per recipient, and
# notified. Fails when PostgreSQL is not installed (./scripts/test installs
# it). Usage: pg_peer_test.sh VIX-BENCH
set -u
[ $# -eq 1 ] || { echo "usage: $0 VIX-BENCH" >&2; exit 2; }
bench=$1
here=$(cd "$(dirname "$0")" && pwd)
pgbin=${PGBIN:-/usr/lib/postgresql/15/bin}
work=$(mktemp -d "${TMPDIR:-/tmp}/vix-pgpeer.XXXXXX") || exit 1
# The server runs as another user, which must reach work/pg.
chmod 711 "$work"
trap '"$here/pg_teardown.sh" "$work/pg" >/dev/null 2>&1; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM HUP

failed=0
fail() { echo "FAIL: $*"; failed=1; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])') ||
	exit 1
conninfo=$(sh "$here/pg_setup.sh" "$work/pg" "$port") || exit 1
conninfo=$(echo "$conninfo" | sed 's/dbname=[^ ]*/dbname=vixbest/')
q() { "$pgbin/psql" -X -A -t -v ON_ERROR_STOP=1 "$conninfo" -c "$1"; }

# 30 % matches over a small pool, so that matches are created and joined.
row=$(timeout 120 "$bench" run --driver pg-best --server "$conninfo" \
    --subscribers --conns 4 --pg-conns 8 --orgs 4 --depth 4 --youths 5000 \
    --match-pct 30 --duration 3) || { echo "FAIL: vix-bench: $row"; exit 1; }
echo "$row"
field() { echo "$row" | sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
ok=$(field ok)
matches=$(field matches)
notified=$(field notify_n)
case $(field conns) in 8) ;; *) fail "--pg-conns 8 not used" ;; esac
[ "$(field errors)" = 0 ] || fail "errors in the run"
[ "${ok:-0}" -gt 100 ] || fail "only ${ok:-0} registrations committed"
[ "${matches:-0}" -gt 10 ] || fail "only ${matches:-0} matches"

[ "$(q 'SHOW commit_delay')" = 200 ] || fail "commit_delay not set on vixbest"

# Every registration committed once; the matches are the ones the driver
# counted, and every youth with signals of two organisations has one.
[ "$(q 'SELECT count(*) FROM audit')" = "$ok" ] ||
	fail "audit records $(q 'SELECT count(*) FROM audit'), registrations $ok"
[ "$(q "SELECT count(*) FROM audit WHERE action LIKE 'match-%'")" = \
    "$matches" ] || fail "match records differ from the driver's $matches"
[ "$(q 'SELECT count(*) FROM (SELECT pseudonym FROM signals GROUP BY 1
    HAVING count(*) > 1) p WHERE NOT EXISTS (SELECT 1 FROM matches m
    WHERE m.pseudonym = p.pseudonym)')" = 0 ] || fail "a youth with two signals has no match"
[ "$(q 'SELECT count(*) FROM matches m WHERE (SELECT count(*) FROM signals s
    WHERE s.pseudonym = m.pseudonym) < 2')" = 0 ] || fail "a match with fewer than two signals"
# Each match record: one outbox row for each organisation on the youth then.
[ "$(q "SELECT count(*) FROM audit a WHERE a.action LIKE 'match-%' AND
    (SELECT count(DISTINCT x.recipient) FROM outbox x
    WHERE (x.body->>'signal')::bigint = a.signal_id) < 2")" = 0 ] ||
	fail "a match record without outbox rows for both organisations"

# The follower: every record chained once, positions 1..n, the head at n,
# and the chain recomputed here from the records' text.
[ "$(q 'SELECT count(*) FROM audit WHERE pos IS NULL OR hash IS NULL')" = 0 ] ||
	fail "audit records left unchained"
[ "$(q 'SELECT count(DISTINCT pos) = count(*) AND min(pos) = 1 AND
    max(pos) = count(*) FROM audit')" = t ] || fail "chain positions not 1..n"
[ "$(q 'SELECT h.pos = (SELECT max(pos) FROM audit) AND h.hash =
    (SELECT hash FROM audit ORDER BY pos DESC LIMIT 1) FROM audit_head h')" = t ] ||
	fail "the chain head is not the last record"
q "COPY (SELECT pos, encode(hash, 'hex'), audit_record(a) FROM audit a
    ORDER BY pos) TO STDOUT" >"$work/chain" || fail "cannot read the chain"
python3 - "$work/chain" <<'EOF' || fail "the chain does not verify"
import hashlib, sys
prev, n = b"", 0
for line in open(sys.argv[1], encoding="utf-8"):
    pos, h, rec = line.rstrip("\n").split("\t", 2)
    n += 1
    prev = hashlib.sha256(prev + rec.encode("utf-8")).digest()
    if int(pos) != n or prev.hex() != h:
        print("chain breaks at position %s" % pos)
        sys.exit(1)
print("chain of %d records verifies" % n)
EOF

# The outbox: every row numbered, dense from 1 per recipient, no seq twice,
# the heads at the last seq, and one notification per row.
[ "$(q 'SELECT count(*) FROM outbox WHERE seq IS NULL')" = 0 ] ||
	fail "outbox rows left unnumbered"
[ "$(q 'SELECT count(*) FROM (SELECT recipient FROM outbox GROUP BY 1
    HAVING min(seq) <> 1 OR max(seq) <> count(*) OR
    count(DISTINCT seq) <> count(*)) r')" = 0 ] ||
	fail "a recipient's seqs are not 1..n"
[ "$(q 'SELECT count(*) FROM outbox_head h WHERE h.seq <> (SELECT max(seq)
    FROM outbox x WHERE x.recipient = h.recipient)')" = 0 ] ||
	fail "an outbox head is not its recipient's last seq"
rows=$(q 'SELECT count(*) FROM outbox')
[ "$notified" = "$rows" ] || fail "$notified notifications for $rows outbox rows"

[ $failed -eq 0 ] && echo "pg-peer: $ok registrations, $matches matches," \
    "$rows outbox rows: all chained, numbered and notified"
exit $failed
