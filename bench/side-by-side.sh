#!/bin/sh
# side-by-side.sh - witnessd against the loopback limit and against Samba, in
# one run (doc/bench.md).
#
#  1. witnessd-loadgen against witnessd and against witnessd-fixed-server
#     (fixed answers: the limit of this machine's loopback and of the
#     generator), unauthenticated, at each --clients N; then against
#     witnessd with NTLMSSP at integrity (the storm with authentication).
#  2. NTLMSSP-at-integrity handshakes (bind, auth3, one signed ept_lookup)
#     against witnessd's endpoint mapper and against Debian's
#     samba-dcerpcd's, started here on loopback with a throwaway smb.conf
#     and a passdb user.
# Every measurement runs --runs times, interleaved (witnessd, limit,
# witnessd with auth, then the handshakes, per run), and the ratios are
# printed with their range over the runs, as a table and as JSON lines.
#
# Usage: bench/side-by-side.sh [--clients "1000 10000 19000"] [--runs 3]
#          [--handshakes 3000] [--concurrency 32] [--idle-seconds 10]
#          [--out FILE] [--keep]
# env:   WITNESSD_BUILD (default ./build)
# Needs root (two network namespaces of its own: witnessd, the limit and the
# generator in one, samba-dcerpcd in the other, so that port 135 on the
# host is not touched), samba (samba-dcerpcd, smbpasswd, pdbedit) and
# /usr/bin/python3.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build="${WITNESSD_BUILD:-$top/build}"
clients="1000 10000 19000"
runs=3
handshakes=3000
concurrency=32
idle=10
out=""
keep=0
while [ $# -gt 0 ]; do
	case "$1" in
	--clients) clients="$2"; shift 2 ;;
	--runs) runs="$2"; shift 2 ;;
	--handshakes) handshakes="$2"; shift 2 ;;
	--concurrency) concurrency="$2"; shift 2 ;;
	--idle-seconds) idle="$2"; shift 2 ;;
	--out) out="$2"; shift 2 ;;
	--keep) keep=1; shift ;;
	-h|--help) sed -n '2,26p' "$0"; exit 0 ;;
	*) echo "side-by-side: unknown option $1" >&2; exit 2 ;;
	esac
done
for b in witnessd witnessctl witnessd-loadgen witnessd-fixed-server; do
	[ -x "$build/$b" ] || { echo "side-by-side: no $build/$b (build first or set WITNESSD_BUILD)" >&2; exit 2; }
done
. "$top/scripts/samba-dcerpcd-lab.sh"
[ -x "$SAMBA_LAB_DCERPCD" ] || { echo "side-by-side: $SAMBA_LAB_DCERPCD missing (apt-get install samba)" >&2; exit 2; }

work=$(mktemp -d /tmp/wd-bench-XXXXXX)
nsw="wdbench$$w"
nss="wdbench$$s"
results="$work/results.jsonl"
: > "$results"
cleanup() {
	for ns in "$nsw" "$nss"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	[ "$keep" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT INT TERM
for ns in "$nsw" "$nss"; do
	ip netns add "$ns" || { echo "side-by-side: cannot create a network namespace (root?)" >&2; exit 2; }
	ip -n "$ns" link set lo up
done
inw() { ip netns exec "$nsw" "$@"; }
ins() { ip netns exec "$nss" "$@"; }

# A throwaway password for the NTLM account of both servers; never on argv.
WITNESS_BENCH_PASSWORD="bench-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
export WITNESS_BENCH_PASSWORD

# ---- witnessd ----
mkdir -p "$work/state"
cat > "$work/witnessd.conf" <<EOF
[global]
netname = witsrv
listen addresses = 127.0.0.1
witness port = 5006
epmapper port = 135
cluster backend = static
state directory = $work/state
admin socket = $work/witnessd.sock
min auth level = none
ntlm password file = $work/ntlm.passwd
workgroup = BENCH
max connections = 30000
log level = notice
[static]
local node = 0
interfaces = 127.0.0.2@0, 127.0.0.3@1
EOF
printf '%s\n' "$WITNESS_BENCH_PASSWORD" |
	"$build/witnessctl" user add bench --domain BENCH --file "$work/ntlm.passwd" >/dev/null || exit 1
inw "$build/witnessd-fixed-server" --port 5007 --admin-socket "$work/fixed.sock" 2> "$work/fixed.log" &

# ---- samba-dcerpcd (scripts/samba-dcerpcd-lab.sh: smb.conf, passdb user root) ----
samba_lab_setup "$work/samba" BENCH SAMBENCH "$WITNESS_BENCH_PASSWORD" || exit 1
samba_lab_start "$nss" "$work/samba"

samba_lab_wait_port "$nsw" 5007 && samba_lab_wait_port "$nss" 135 || {
	tail -5 "$work/fixed.log" "$work/samba/dcerpcd.log" >&2; exit 1; }
fpid=$(inw sh -c "ss -Hltnp 'sport = :5007'" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1)

# A fresh witnessd for every measurement, so that RSS per client is what
# that measurement's clients cost (freed memory that malloc keeps would
# hide the next one's) and no state carries over.
wpid=""
fresh_witnessd() {
	if [ -n "$wpid" ]; then
		kill "$wpid" 2>/dev/null
		while kill -0 "$wpid" 2>/dev/null; do sleep 0.1; done
	fi
	rm -rf "$work/state"; mkdir -p "$work/state"
	inw "$build/witnessd" --config "$work/witnessd.conf" --foreground 2>> "$work/witnessd.log" &
	samba_lab_wait_port "$nsw" 5006 && samba_lab_wait_port "$nsw" 135 || { tail -5 "$work/witnessd.log" >&2; exit 1; }
	wpid=$(inw sh -c "ss -Hltnp 'sport = :5006'" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1)
}

lg() { inw "$build/witnessd-loadgen" --timeout 120 "$@" 2>>"$work/loadgen.log" >>"$results"; }
echo "side-by-side: load $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores; clients: $clients; runs: $runs" >&2
r=1
while [ "$r" -le "$runs" ]; do
	first=1
	for n in $clients; do
		idle_opt="--idle-seconds 0"
		[ "$first" = 1 ] && idle_opt="--idle-seconds $idle"
		first=0
		echo "side-by-side: run $r, $n clients" >&2
		fresh_witnessd
		lg --label witnessd --run "$r" --port 5006 --clients "$n" \
			--admin-socket "$work/witnessd.sock" --pid "$wpid" $idle_opt || echo "side-by-side: witnessd run failed (see $work/loadgen.log)" >&2
		lg --label limit --run "$r" --port 5007 --clients "$n" \
			--admin-socket "$work/fixed.sock" --pid "$fpid" || echo "side-by-side: limit run failed" >&2
		fresh_witnessd
		lg --label witnessd-ntlm --run "$r" --port 5006 --clients "$n" --auth integrity \
			--user bench --domain BENCH --admin-socket "$work/witnessd.sock" --pid "$wpid" ||
			echo "side-by-side: witnessd NTLMSSP run failed" >&2
	done
	fresh_witnessd
	lg --label witnessd-epm --run "$r" --port 135 --handshakes "$handshakes" --epm \
		--concurrency "$concurrency" --auth integrity --user bench --domain BENCH ||
		echo "side-by-side: witnessd handshakes failed" >&2
	ins "$build/witnessd-loadgen" --timeout 120 --label samba-epm --run "$r" --port 135 \
		--handshakes "$handshakes" --epm --concurrency "$concurrency" --auth integrity \
		--user root --domain BENCH 2>>"$work/loadgen.log" >>"$results" ||
		echo "side-by-side: samba-dcerpcd handshakes failed" >&2
	r=$((r + 1))
done
[ -n "$out" ] && cp "$results" "$out"
/usr/bin/python3 "$top/bench/summarize.py" "$results"
