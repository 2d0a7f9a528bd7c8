#!/bin/sh
# CI smoke of the benchmark (bench/side-by-side.sh, doc/bench.md) at a small N,
# so that the load generator, the fixed-answer server and the script cannot
# rot: 200 clients and 200 handshakes, one run. It asserts what the tools
# observe, not speed: every client registered, was told UNAVAILABLE for its
# IP (the generator checks the RESOURCE_CHANGE), and registered again in the
# storm, unauthenticated and with NTLMSSP at integrity (signatures checked
# both ways); every handshake with witnessd's and with Samba's
# samba-dcerpcd's endpoint mapper (a real peer verifying our NTLMSSP client)
# completed; and the summary table was printed.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/wd-bench-smoke-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$top/bench/side-by-side.sh" --clients 200 --runs 1 --handshakes 200 --concurrency 16 \
	--idle-seconds 1 --out "$tmp/results.jsonl" > "$tmp/table" 2> "$tmp/log" || {
	cat "$tmp/log" "$tmp/table" >&2; exit 1; }
cat "$tmp/table"
grep -q '^| 200 | ' "$tmp/table"
/usr/bin/python3 - "$tmp/results.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
w = {r["label"]: r for r in rows if r["mode"] == "witness"}
h = {r["label"]: r for r in rows if r["mode"] == "handshake"}
assert set(w) == {"witnessd", "limit", "witnessd-ntlm"}, w.keys()
assert set(h) == {"witnessd-epm", "samba-epm"}, h.keys()
for k, r in w.items():
    assert r["registered"] == 200 and r["notified"] == 200, r
    assert r["bad"] == 0 and r["failed"] == 0 and r["storm_registered"] == 200, r
    assert r["fanout_max_ms"] is not None and r["probe_gil_ms"] is not None, r
assert w["witnessd-ntlm"]["auth"] == "integrity"
assert w["witnessd"]["idle_wakeups_per_s"] is not None
assert w["witnessd"]["rss_kib_per_client"] is not None
for k, r in h.items():
    assert r["handshakes"] == 200 and r["failed"] == 0, r
print("bench smoke: ok")
PY
