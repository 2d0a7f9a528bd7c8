#!/bin/sh
# Runs every tests/integration/test_*.py (with /usr/bin/python3, which has
# Samba's bindings) and test_*.sh, each inside a network namespace of its own
# so that daemons can bind 127.0.0.1:135 without meeting each other or the
# host. Namespaces are removed afterwards, also on failure.
# Usage: run.sh [name-filter]     env: WITNESSD_BUILD (default ./build)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
export WITNESSD_BUILD="${WITNESSD_BUILD:-$top/build}"
export WD_SRCDIR="$top"
filter="${1:-}"
# A hung test fails after this many seconds instead of eating CI's budget.
limit="${WD_TEST_TIMEOUT:-600}"
pass=0; fail=0; failed=""
cleanup() { [ -n "${ns:-}" ] && ip netns del "$ns" 2>/dev/null; }
trap cleanup EXIT INT TERM
for t in "$top"/tests/integration/test_*.py "$top"/tests/integration/test_*.sh; do
	[ -e "$t" ] || continue
	name=$(basename "$t")
	case "$name" in *"$filter"*) ;; *) continue ;; esac
	ns="wdt$$-$(echo "$name" | tr -cd 'a-z0-9' | cut -c1-8)"
	ip netns add "$ns" || { echo "cannot create netns"; exit 1; }
	ip -n "$ns" link set lo up
	printf -- '---- %s\n' "$name"
	start=$(date +%s)
	case "$t" in
	*.py) timeout -k 10 "$limit" ip netns exec "$ns" /usr/bin/python3 -u "$t" -v ; rc=$? ;;
	*.sh) timeout -k 10 "$limit" ip netns exec "$ns" sh "$t" ; rc=$? ;;
	esac
	ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
	ip netns del "$ns"; ns=""
	end=$(date +%s)
	[ $rc -eq 124 ] && echo "TIMEOUT after ${limit} s"
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1)); echo "PASS $name ($((end - start)) s)"
	else
		fail=$((fail + 1)); failed="$failed $name"; echo "FAIL $name ($((end - start)) s)"
	fi
done
echo "integration: $pass passed, $fail failed${failed:+:$failed}"
[ $fail -eq 0 ]
