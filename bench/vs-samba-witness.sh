#!/bin/sh
# vs-samba-witness.sh - witnessd's ctdb backend against Samba's rpcd_witness on
# one 3-node ctdbd cluster, in one run (doc/bench.md, "Against Samba's
# rpcd_witness").
#
# A 3-node ctdbd cluster in CTDB_TEST_MODE (node addresses 127.0.0.1-3,
# logical public addresses 10.77.3.1-6) in a network namespace of its own;
# witnessd (cluster backend = ctdb) on every node, and on node 0 also Samba's
# samba-dcerpcd with rpcd_witness (clustering = yes). witnessd-loadgen
# registers every client, on node 0's witness, for a public IP that node 1
# hosts, and triggers `ctdb moveip IP 2` (restored with `ctdb moveip IP 1`):
# node 0 is not involved in the move, as a client's witness normally is not.
# For each --clients N and each of --runs runs, interleaved: a fresh witnessd
# on node 0, then a fresh samba-dcerpcd; first-notified, p50 and
# last-notified times from the trigger, set-up rate and RSS per client (for
# Samba the sum over samba-dcerpcd and all its rpcd_* workers, started by a
# serial warm-up first so that every worker is counted), then a table with the
# ratios (bench/summarize_vs_samba.py) and the JSON lines.
# The time from the trigger to node 1's ctdbd logging "Sending RELEASE_IP
# message" is reported as well (release_ms), so first-notified can be read
# from the cluster's own message. Both are measured from the same instant,
# the loadgen's trigger_epoch (its wall clock just before it spawns the
# trigger command): a stamp written by the command itself comes 16-22 ms
# later on a loaded machine (the fork and exec of sh and date), which made
# first-notified-from-RELEASE_IP look that much longer.
#
# Usage: bench/vs-samba-witness.sh [--clients "1000 5000 10000"] [--runs 2]
#          [--witnessd-only] [--out FILE] [--keep]
# env:   WITNESSD_BUILD  witnessd's build directory (default ./build)
#        SAMBA_PREFIX    a Samba install with ctdb and rpcd_witness (built as
#                        doc/bench.md says, e.g. /tmp/samba-inst): its ctdbd,
#                        ctdb and samba-dcerpcd are used. Unset, or with
#                        --witnessd-only: Debian's ctdbd (/usr/sbin/ctdbd),
#                        witnessd alone (the suite's smoke of this script).
# Needs root (a network namespace); everything it starts runs in that
# namespace and is killed, and the namespace deleted, on exit.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build="${WITNESSD_BUILD:-$top/build}"
samba="${SAMBA_PREFIX:-}"
clients="1000 5000 10000"
runs=2
out=""
keep=0
only=0
while [ $# -gt 0 ]; do
	case "$1" in
	--clients) clients="$2"; shift 2 ;;
	--runs) runs="$2"; shift 2 ;;
	--witnessd-only) only=1; shift ;;
	--out) out="$2"; shift 2 ;;
	--keep) keep=1; shift ;;
	-h|--help) sed -n '2,33p' "$0"; exit 0 ;;
	*) echo "vs-samba-witness: unknown option $1" >&2; exit 2 ;;
	esac
done
[ -n "$samba" ] || only=1
for b in witnessd witnessd-loadgen; do
	[ -x "$build/$b" ] || { echo "vs-samba-witness: no $build/$b (build first or set WITNESSD_BUILD)" >&2; exit 2; }
done
if [ "$only" = 1 ] && [ -z "$samba" ]; then
	CTDBD=/usr/sbin/ctdbd
	CTDB=/usr/bin/ctdb
else
	CTDBD="$samba/sbin/ctdbd"
	CTDB="$samba/bin/ctdb"
fi
DCERPCD="$samba/libexec/samba/samba-dcerpcd"
# Samba's ctdbd (4.18 and later) wants its helpers' directory in test mode
CTDB_TEST_HELPER_BINDIR="${CTDB_TEST_HELPER_BINDIR:-$(dirname "$CTDBD")/../libexec/ctdb}"
export CTDB_TEST_HELPER_BINDIR
for b in "$CTDBD" "$CTDB"; do
	[ -x "$b" ] || { echo "vs-samba-witness: $b missing" >&2; exit 2; }
done
if [ "$only" = 0 ]; then
	for b in "$DCERPCD" "$samba/libexec/samba/rpcd_witness" "$samba/libexec/samba/rpcd_epmapper"; do
		[ -x "$b" ] || { echo "vs-samba-witness: $b missing (a Samba built --with-cluster-support?)" >&2; exit 2; }
	done
fi

work=$(mktemp -d /tmp/wd-vssamba-XXXXXX)
ns="wdvs$$"
results="$work/results.jsonl"
: > "$results"
cleanup() {
	ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	[ "$keep" = 1 ] && echo "vs-samba-witness: kept $work" >&2
	[ "$keep" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ip netns add "$ns" || { echo "vs-samba-witness: cannot create a network namespace (root?)" >&2; exit 2; }
ip -n "$ns" link set lo up
inns() { ip netns exec "$ns" "$@"; }
# every server inherits it: 10,000 clients need more than 1024 fds
ulimit -n "$(ulimit -Hn)" 2>/dev/null

# ---- the ctdbd cluster (test mode, as ctdb/tests/local_daemons.sh) ----
pubs="10.77.3.1 10.77.3.2 10.77.3.3 10.77.3.4 10.77.3.5 10.77.3.6"
for i in 0 1 2; do
	d="$work/node.$i"
	mkdir -p "$d/run" "$d/var" "$d/events/legacy" "$d/events/notification" \
		"$d/db/volatile" "$d/db/persistent" "$d/db/state"
	printf '127.0.0.1\n127.0.0.2\n127.0.0.3\n' > "$d/nodes"
	for ip in $pubs; do echo "$ip/24 lo"; done > "$d/public_addresses"
	cat > "$d/ctdb.conf" <<EOF
[logging]
	location = file:$d/log.ctdb
	log level = INFO
[cluster]
	node address = 127.0.0.$((i + 1))
[database]
	volatile database directory = $d/db/volatile
	persistent database directory = $d/db/persistent
	state database directory = $d/db/state
[failover]
	disabled = false
EOF
	printf 'KeepaliveInterval=1\nKeepaliveLimit=3\nMonitorInterval=2\nRecoverInterval=1\nElectionTimeout=2\nTakeoverTimeout=3\n' \
		> "$d/ctdb.tunables"
done
ctdbc() { # node args...: the ctdb tool against that node
	_n=$1; shift
	inns env CTDB_TEST_MODE=yes CTDB_BASE="$work/node.$_n" "$CTDB" "$@"
}
for i in 0 1 2; do
	inns env CTDB_TEST_MODE=yes CTDB_BASE="$work/node.$i" "$CTDBD" ||
		{ echo "vs-samba-witness: ctdbd $i did not start" >&2; exit 1; }
done
wait_healthy() { # all three nodes OK and every public IP hosted
	_i=0
	while [ $_i -lt 600 ]; do
		ok=$(ctdbc 0 -X status 2>/dev/null | awk -F'|' '$2 ~ /^[0-9]+$/ && $4$5$6$7$8$9$10 == "0000000" { n++ } END { print n + 0 }')
		un=$(ctdbc 0 -X ip all 2>/dev/null | awk -F'|' '$2 ~ /^10\./ && $3 == "-1" { n++ } END { print n + 0 }')
		hosted=$(ctdbc 0 -X ip all 2>/dev/null | awk -F'|' '$2 ~ /^10\./ { n++ } END { print n + 0 }')
		[ "$ok" = 3 ] && [ "$un" = 0 ] && [ "$hosted" = 6 ] && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	echo "vs-samba-witness: the cluster did not become healthy" >&2
	ctdbc 0 status >&2
	tail -5 "$work/node.0/log.ctdb" >&2
	return 1
}
holder() { # ip -> pnn
	ctdbc 0 -X ip all | awk -F'|' -v ip="$1" '$2 == ip { print $3 }'
}
wait_holder() { # ip pnn
	_i=0
	while [ $_i -lt 300 ]; do
		[ "$(holder "$1")" = "$2" ] && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	echo "vs-samba-witness: $1 not on node $2" >&2
	return 1
}
wait_healthy || exit 1

wait_port() { # addr port
	_i=0
	while [ $_i -lt 200 ]; do
		inns sh -c "ss -Hltn 'sport = :$2'" | grep -q "$1:$2" && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	echo "vs-samba-witness: nothing listens on $1:$2" >&2
	return 1
}

# ---- witnessd on every node (the peers relay moves their node sees) ----
wconf() { # node
	mkdir -p "$work/wd.$1/state"
	cat > "$work/wd.$1/witnessd.conf" <<EOF
[global]
netname = WITSRV
listen addresses = 127.0.0.$(($1 + 1))
witness port = 5006
epmapper port = 0
cluster backend = ctdb
state directory = $work/wd.$1/state
admin socket = $work/wd.$1/witnessd.sock
min auth level = none
max connections = 30000
log level = notice
[ctdb]
socket = $work/node.$1/run/ctdbd.socket
EOF
}
wstart() { # node -> $wpid
	rm -rf "$work/wd.$1/state"
	wconf "$1"
	# not through inns: $! must be the server's pid (ip netns exec execs it)
	ip netns exec "$ns" "$build/witnessd" --config "$work/wd.$1/witnessd.conf" --foreground \
		2>> "$work/wd.$1/witnessd.log" &
	wpid=$!
	wait_port "127.0.0.$(($1 + 1))" 5006 || { tail -5 "$work/wd.$1/witnessd.log" >&2; exit 1; }
}
wstart 1
wstart 2
w0=""
fresh_witnessd() {
	if [ -n "$w0" ]; then
		kill "$w0" 2>/dev/null
		while kill -0 "$w0" 2>/dev/null; do sleep 0.1; done
	fi
	wstart 0
	w0=$wpid
}

# ---- Samba's samba-dcerpcd with rpcd_witness on node 0 ----
s="$work/samba"
if [ "$only" = 0 ]; then
	for d in private lock state cache pid ncalrpc log binddns; do mkdir -p "$s/$d"; done
	cat > "$s/smb.conf" <<EOF
[global]
workgroup = BENCH
netbios name = WITSRV
server role = standalone server
clustering = yes
ctdbd socket = $work/node.0/run/ctdbd.socket
rpc start on demand helpers = no
rpc server dynamic port range = 5016-5031
passdb backend = tdbsam
private dir = $s/private
lock directory = $s/lock
state directory = $s/state
cache directory = $s/cache
pid directory = $s/pid
ncalrpc dir = $s/ncalrpc
binddns dir = $s/binddns
log file = $s/log/%m.log
log level = 0
EOF
fi
spid=""
sport=""
# The witness endpoint's port: samba-dcerpcd's first listener other than 135
# (the first free one of the dynamic range; one left in TIME_WAIT by the
# previous instance is skipped).
samba_port() {
	inns ss -Hltnp | awk -v pid="pid=$spid," '$0 ~ pid { n = split($4, a, ":"); if (a[n] != "135") { print a[n]; exit } }'
}
samba_start() {
	ip netns exec "$ns" "$DCERPCD" -s "$s/smb.conf" -F --debug-stdout \
		"$samba/libexec/samba/rpcd_epmapper" "$samba/libexec/samba/rpcd_witness" \
		>> "$s/dcerpcd.log" 2>&1 &
	spid=$!
	_i=0
	while [ $_i -lt 200 ] && kill -0 "$spid" 2>/dev/null; do
		sport=$(samba_port)
		[ -n "$sport" ] && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	return 1
}
fresh_samba() {
	if [ -n "$spid" ]; then
		kill "$spid" 2>/dev/null
		_i=0
		while kill -0 "$spid" 2>/dev/null && [ $_i -lt 100 ]; do sleep 0.1; _i=$((_i + 1)); done
	fi
	# once more if it exited at start (seen: "cluster fatal event" while
	# ctdbd was still settling after the previous move)
	samba_start || { wait_healthy; samba_start; } || {
		echo "vs-samba-witness: samba-dcerpcd did not start:" >&2
		tail -20 "$s/dcerpcd.log" >&2
		exit 1
	}
}
samba_pids() { # samba-dcerpcd and its workers, comma-separated
	printf '%s' "$spid"
	for p in $(ps -o pid= --ppid "$spid"); do printf ',%s' "$p"; done
}

WARM_OPTS=""
lg() { inns "$build/witnessd-loadgen" --timeout 120 "$@" 2>> "$work/loadgen.log"; }
# The IP the clients register for: one that node 1 hosts.
pick_ip() {
	ctdbc 0 -X ip all | awk -F'|' '$2 ~ /^10\./ && $3 == "1" { print $2; exit }'
}
# ms from the trigger (the loadgen's trigger_epoch, in stampfile) to
# node 1's ctdbd sending its RELEASE_IP message
release_ms() { # ip stampfile
	/usr/bin/python3 - "$work/node.1/log.ctdb" "$1" "$2" <<'PY'
import datetime, sys
log, ip, stamp = sys.argv[1:]
try:
    t0 = float(open(stamp).read().split()[0])
except (OSError, ValueError, IndexError):
    print("null"); sys.exit()
best = None
for line in open(log, errors="replace"):
    # ctdb_takeover.c (INFO), sent to the releasing node's clients:
    # "Sending RELEASE_IP message for IP" (4.17), "... message [IP]" (master)
    if ("Sending RELEASE_IP message for %s\n" % ip not in line and
            "Sending RELEASE_IP message [%s]" % ip not in line):
        continue
    try:
        t = datetime.datetime.fromisoformat(line.split(" ", 1)[0]).timestamp()
    except ValueError:
        continue
    if t >= t0 - 0.001 and (best is None or t < best):
        best = t
print("null" if best is None else "%.2f" % ((best - t0) * 1000))
PY
}
measure() { # label run n pids port
	ip=$(pick_ip)
	[ -n "$ip" ] || { echo "vs-samba-witness: node 1 hosts no public IP" >&2; return 1; }
	stamp="$work/trigger.$1.$2.$3"
	trig="CTDB_TEST_MODE=yes CTDB_BASE=$work/node.0 $CTDB moveip $ip 2"
	rest="CTDB_TEST_MODE=yes CTDB_BASE=$work/node.0 $CTDB moveip $ip 1"
	# shellcheck disable=SC2086 # WARM_OPTS: options, one per word
	line=$(lg $WARM_OPTS --label "$1" --run "$2" --clients "$3" --server 127.0.0.1 --port "$5" \
		--ip "$ip" --netname WITSRV --trigger-cmd "$trig" --restore-cmd "$rest" \
		--pid "$4" --idle-seconds 0) || echo "vs-samba-witness: $1 run at $3 clients failed (see $work/loadgen.log)" >&2
	# the origin: the loadgen's own trigger instant (its fanout_*_ms start there)
	printf '%s\n' "$line" | sed -n 's/.*"trigger_epoch":\([0-9.]*\).*/\1/p' > "$stamp"
	rel=$(release_ms "$ip" "$stamp")
	[ "$1" = warm-up ] ||
		[ -z "$line" ] || printf '%s\n' "$line" | sed "s/}\$/, \"release_ms\": $rel, \"ip\": \"$ip\"}/" >> "$results"
	wait_holder "$ip" 1 && wait_healthy
}

echo "vs-samba-witness: load $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores; ctdb $("$CTDB" version 2>/dev/null | head -1); clients: $clients; runs: $runs" >&2
r=1
while [ "$r" -le "$runs" ]; do
	for n in $clients; do
		echo "vs-samba-witness: run $r, $n clients" >&2
		fresh_witnessd
		measure witnessd "$r" "$n" "$w0" 5006
		if [ "$only" = 0 ]; then
			fresh_samba
			# warm-up: rpcd_witness forks its workers (5) as clients come;
			# 20 clients start them all, so that --pid counts every one.
			# One at a time: of 50 clients at once on a fresh
			# samba-dcerpcd, 4 were served and the others hung (> 120 s).
			WARM_OPTS="--window 1"
			measure warm-up "$r" 20 "$spid" "$sport" > /dev/null
			WARM_OPTS=""
			measure samba "$r" "$n" "$(samba_pids)" "$sport"
		fi
	done
	r=$((r + 1))
done
[ -n "$out" ] && cp "$results" "$out"
/usr/bin/python3 "$top/bench/summarize_vs_samba.py" "$results"
