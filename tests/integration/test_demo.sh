#!/bin/sh
# The README's first command: scripts/demo.sh builds, starts witnessd, and
# real Samba clients (rpcclient, the Python bindings) use it; then
# "demo.sh stop" ends it. Runs with its own namespace name and directory so
# that it does not disturb a demo a developer left running.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
export WD_DEMO_NETNS="wdt-demo-$$" WD_DEMO_DIR="/tmp/wdt-demo-$$"
out=$(mktemp)
fail() { echo "FAIL: $*"; cat "$out"; "$top/scripts/demo.sh" stop >/dev/null 2>&1; rm -f "$out"; exit 1; }

"$top/scripts/demo.sh" >"$out" 2>&1 || fail "demo.sh exited with $?"
grep -q 'daemon.ready .*backend=static' "$out" || fail "no daemon.ready line"
grep -Eq '^ \+ WITSRV-0 127\.0\.0\.2 V2$' "$out" || fail "rpcclient did not list 127.0.0.2"
grep -Eq '^\*\+ WITSRV-1 127\.0\.0\.3 V2$' "$out" || fail "rpcclient did not list 127.0.0.3 as a witness interface"
grep -q 'AsyncNotify -> RESOURCE_CHANGE 127.0.0.3 UNAVAILABLE' "$out" || fail "no RESOURCE_CHANGE"
grep -Eq '^[0-9a-f-]{36} +0 +WITSRV +share1 +127\.0\.0\.3 +DEMO-CLIENT$' "$out" || fail "witnessctl list"
pid=$(cat "$WD_DEMO_DIR/witnessd.pid")
kill -0 "$pid" || fail "witnessd not left running"
"$top/scripts/demo.sh" stop >/dev/null 2>&1 || fail "demo.sh stop"
if kill -0 "$pid" 2>/dev/null; then fail "witnessd still running after stop"; fi
ip netns list | grep -q "$WD_DEMO_NETNS" && fail "namespace left behind"
rm -f "$out"
echo "demo: ok"
