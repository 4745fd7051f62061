#!/usr/bin/env bash
# Failover drill: nothing acknowledged is lost when the primary dies.
#
#   tests/cluster/drill.sh [KILLS]      (default 5)
#   tests/cluster/drill.sh --expect-loss [KILLS]
#
# Starts a cluster (scripts/cluster) in a temporary folder and a writer that
# inserts numbered rows with autocommit through the multi-host conninfo,
# listing every row whose COMMIT returned success. Then KILLS times: wait
# until all three members run with a synchronous standby, SIGKILL the
# primary's Patroni and PostgreSQL, measure the seconds until the writer's
# next acknowledged commit (the time without a writable primary, as a client
# sees it), and start the killed member again (it rejoins as a replica).
# At the end every acknowledged row must be on the primary.
#
# --expect-loss is the drill's negative control: replication asynchronous
# (VIX_CLUSTER_ASYNC=1), and before each kill the primary's walsenders are
# stopped (SIGSTOP) for 2 s while the primary acknowledges commits alone.
# It passes only if the drill then finds acknowledged rows lost.
#
# Exits non-zero if an acknowledged row is lost or a step times out. The
# folder is removed on success (kept with VIX_DRILL_KEEP=1) and kept, with
# its logs, on failure.
#
# vixd front-ends join this drill once vixd has its PostgreSQL backend
# (scripts/cluster start --vixd N); the writer then goes through them.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cluster=$root/scripts/cluster
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

expect_loss=0
if [ "${1:-}" = --expect-loss ]; then
	expect_loss=1
	export VIX_CLUSTER_ASYNC=1
	shift
fi
kills=${1:-5}
case $kills in
'' | *[!0-9]*) echo "usage: $0 [KILLS]" >&2; exit 2 ;;
esac

# Bounds on each step (seconds).
FAILOVER_LIMIT=60	# kill to the next acknowledged commit
HEALTHY_LIMIT=120	# restart to three members with a synchronous standby
START_LIMIT=60		# writer's first commit

started=$(date +%s)
tmp=$(mktemp -d /tmp/vix-cluster-drill.XXXXXX)
chmod 755 "$tmp"
dir=$tmp/cluster
acks=$tmp/acks
errs=$tmp/errors
writer_pid=
status=1

now() { date +%s.%N; }

# SIGTERM, and SIGKILL if it is still there after 30 s (a commit that waits
# for a standby does not return to Python to see the signal).
stop_writer() {
	local t rc=0
	kill -TERM "$writer_pid" 2>/dev/null || true
	for ((t = 0; t < 150; t++)); do
		kill -0 "$writer_pid" 2>/dev/null || break
		sleep 0.2
	done
	if kill -0 "$writer_pid" 2>/dev/null; then
		echo "drill: the writer did not stop in 30 s; killing it" >&2
		kill -KILL "$writer_pid" 2>/dev/null || true
		rc=1
	fi
	wait "$writer_pid" 2>/dev/null || rc=1
	writer_pid=
	return $rc
}

cleanup() {
	[ -z "$writer_pid" ] || stop_writer || true
	[ -f "$dir/ports" ] && "$cluster" stop "$dir" >/dev/null 2>&1
	if [ "$status" -eq 0 ] && [ -z "${VIX_DRILL_KEEP:-}" ]; then
		rm -rf "$tmp"
	elif [ "$status" -eq 0 ]; then
		echo "drill: kept $tmp"
	else
		echo "drill: FAILED; logs kept in $dir/log (remove $tmp when done)" >&2
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() { echo "drill: $*" >&2; exit 1; }

# The walsender processes of the primary (children of its postmaster). Not
# the replicas' walreceivers: what a stopped walreceiver has not read yet
# still waits for it in the socket.
walsenders() {
	local name pm
	for name in pg1 pg2 pg3; do
		[ -f "$dir/$name/data/postmaster.pid" ] || continue
		pm=$(head -n 1 "$dir/$name/data/postmaster.pid")
		ps -o pid=,args= --ppid "$pm" 2>/dev/null |
			awk '/ walsender/ { print $1 }'
	done
}

# first_after FILE T SECONDS: the first time (the last field of FILE's
# lines) later than T, waiting at most SECONDS.
first_after() {
	local file=$1 after=$2 limit=$3 deadline t
	deadline=$((SECONDS + limit))
	while :; do
		t=$(awk -v a="$after" '{ v = $NF } v + 0 > a + 0 { print v; exit }' "$file")
		[ -n "$t" ] && { echo "$t"; return 0; }
		kill -0 "$writer_pid" 2>/dev/null ||
			fail "the writer exited; see $tmp/writer.log"
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.2
	done
}

echo "drill: cluster in $dir"
"$cluster" start "$dir" >"$tmp/start.log" 2>&1 ||
	{ cat "$tmp/start.log" >&2; fail "cluster did not start"; }
conninfo=$("$cluster" conninfo "$dir")
psql() { timeout 60 "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$conninfo" "$@"; }
psql -c "CREATE TABLE drill (n bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())" ||
	fail "could not create the table"

: >"$acks"
: >"$errs"
nice /usr/bin/python3 "$here/writer.py" "$conninfo" "$acks" "$errs" \
    2>"$tmp/writer.log" &
writer_pid=$!
first_after "$acks" 0 "$START_LIMIT" >/dev/null ||
	fail "no commit acknowledged within $START_LIMIT s; see $tmp/writer.log"

gaps=()
for ((round = 1; round <= kills; round++)); do
	"$cluster" wait-healthy "$dir" "$HEALTHY_LIMIT" ||
		fail "round $round: cluster not healthy before the kill"
	if [ "$expect_loss" -eq 1 ]; then
		paused=$(walsenders)
		[ -n "$paused" ] || fail "round $round: no walsender to pause"
		# shellcheck disable=SC2086
		kill -STOP $paused
	fi
	sleep 2	# commits on this primary, some waiting for the standby
	t_before=$(now)
	victim=$("$cluster" kill-primary "$dir") ||
		fail "round $round: kill-primary failed"
	if [ "$expect_loss" -eq 1 ]; then
		# shellcheck disable=SC2086
		kill -CONT $paused 2>/dev/null || true
	fi
	# The outage as the writer sees it: from its first failure after the
	# kill to its next acknowledged commit. (The time of an ack is taken
	# after COMMIT returned: one from just before the kill can be stamped
	# just after it.)
	t_fail=$(first_after "$errs" "$t_before" 10) ||
		fail "round $round: the writer saw no failure within 10 s of" \
		    "killing $victim"
	t_ok=$(first_after "$acks" "$t_fail" "$FAILOVER_LIMIT") ||
		fail "round $round: no commit acknowledged within" \
		    "$FAILOVER_LIMIT s of killing $victim"
	gap=$(awk -v a="$t_fail" -v b="$t_ok" 'BEGIN { printf "%.1f", b - a }')
	gaps+=("$gap")
	"$cluster" restart-member "$dir" "$victim" ||
		fail "round $round: could not restart $victim"
	echo "drill: round $round: killed $victim; no writable primary for $gap s"
done
"$cluster" wait-healthy "$dir" "$HEALTHY_LIMIT" ||
	fail "cluster not healthy after the last restart"

stop_writer || fail "the writer failed or hung; see $tmp/writer.log"

"$cluster" wait-primary "$dir" 60 || fail "no primary to check against"
cut -d' ' -f1 "$acks" | sort -n >"$tmp/acked"
psql -At -c "SELECT n FROM drill" >"$tmp/present" ||
	fail "could not read the rows back from the primary"
acked=$(wc -l <"$tmp/acked")
lost=$(comm -23 <(sort "$tmp/acked") <(sort "$tmp/present") | wc -l)
unacked=$(comm -13 <(sort "$tmp/acked") <(sort "$tmp/present") | wc -l)

# Every member, once caught up, must hold the same rows (a loss is expected
# in the negative control: no waiting for it there).
tries=20
[ "$expect_loss" -eq 0 ] || tries=1
for name in pg1 pg2 pg3; do
	member=$("$cluster" conninfo "$dir" "$name")
	for ((t = 0; t < tries; t++)); do
		m_lost=$(comm -23 <(sort "$tmp/acked") <(timeout 10 "$PGBIN/psql" -X -At -d "$member" \
		    -c "SELECT n FROM drill" 2>/dev/null | sort) | wc -l)
		[ "$m_lost" -eq 0 ] && break
		sleep 0.5
	done
	echo "drill: member $name: $m_lost acknowledged rows missing"
	[ "$m_lost" -eq 0 ] || lost_on_member=1
done

read -r gmax gmed < <(printf '%s\n' "${gaps[@]}" | sort -n | awk '
	{ v[NR] = $1 }
	END {
		if (NR == 0) { print "0 0"; exit }
		med = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.1f %.1f\n", v[NR], med
	}')
echo "drill: acknowledged $acked, lost $lost, present but not acknowledged" \
    "$unacked, failovers ${#gaps[@]}, unavailability max $gmax s median $gmed s," \
    "run time $(($(date +%s) - started)) s"
if [ "$expect_loss" -eq 1 ]; then
	[ "$lost" -gt 0 ] ||
		fail "negative control: asynchronous replication lost nothing;" \
		    "the drill would not notice a loss"
	echo "drill: negative control passed: $lost acknowledged rows lost" \
	    "with asynchronous replication"
	status=0
	exit 0
fi
[ "$lost" -eq 0 ] || fail "$lost acknowledged rows lost"
[ -z "${lost_on_member:-}" ] || fail "a member misses acknowledged rows"
status=0
