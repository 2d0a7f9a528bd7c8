#!/bin/sh
# CI smoke of bench/vs-samba-witness.sh (doc/bench.md) in its witnessd-only
# mode, so that the script cannot rot: Debian's ctdbd 4.17 as a 3-node
# cluster, witnessd's ctdb backend on every node, 300 clients on node 0's
# witnessd, registered for an IP of node 1 that `ctdb moveip` moves to
# node 2, one run. It asserts what the tools observe, not speed: every
# client registered, was told UNAVAILABLE for its IP (the generator checks
# the RESOURCE_CHANGE), and registered again in the storm; the releasing
# node's ctdbd logged its RELEASE_IP message after the trigger; and the
# summary table was printed. (With SAMBA_PREFIX, the same script measures
# Samba's rpcd_witness too: not here, CI has no Samba build with it.)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
[ -x /usr/sbin/ctdbd ] || { echo "SKIP: no /usr/sbin/ctdbd"; exit 0; }
tmp=$(mktemp -d /tmp/wd-vssamba-smoke-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
env -u SAMBA_PREFIX "$top/bench/vs-samba-witness.sh" --witnessd-only --clients 300 --runs 1 \
	--out "$tmp/results.jsonl" > "$tmp/table" 2> "$tmp/log" || {
	cat "$tmp/log" "$tmp/table" >&2; exit 1; }
cat "$tmp/table"
grep -q '^| 300 | ' "$tmp/table"
/usr/bin/python3 - "$tmp/results.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [r["label"] for r in rows] == ["witnessd"], rows
r = rows[0]
assert r["registered"] == 300 and r["notified"] == 300, r
assert r["bad"] == 0 and r["failed"] == 0 and r["storm_registered"] == 300, r
assert r["fanout_first_ms"] is not None and r["fanout_max_ms"] >= r["fanout_first_ms"], r
assert r["release_ms"] is not None and r["release_ms"] >= 0, r
assert r["ip"].startswith("10.77.3."), r
print("vs-samba smoke: ok")
PY
