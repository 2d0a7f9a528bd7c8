#!/bin/sh
# Churn soak of witnessd (issue 7): clients register, wait, unregister or
# vanish while IPs move; RSS and descriptors are sampled; at the end memory,
# store, status counters and clients must agree and RSS must be flat.
# The work is done by tests/integration/soak.py; doc/soak.md explains it.
#
# Usage: scripts/soak.sh [--minutes M] [--clients N] [soak.py options...]
#        (default 10 minutes, 50 clients; --help lists every option)
# env:   WITNESSD_BUILD  build directory (default ./build)
#        WITNESSD_SANITIZED_BUILD  with --sanitized (default ./build-asan)
# Runs as root in a network namespace of its own (removed afterwards), so
# that the 127.x client addresses and the daemon meet nothing else.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
export WITNESSD_BUILD="${WITNESSD_BUILD:-$top/build}"
export WD_SRCDIR="$top"
if [ ! -x "$WITNESSD_BUILD/witnessd" ]; then
	echo "soak: no $WITNESSD_BUILD/witnessd (build first, or set WITNESSD_BUILD)" >&2
	exit 2
fi
ns="wdsoak$$"
cleanup() { ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null; ip netns del "$ns" 2>/dev/null; }
trap cleanup EXIT INT TERM
ip netns add "$ns" || { echo "soak: cannot create a network namespace (root?)" >&2; exit 2; }
ip -n "$ns" link set lo up
ip netns exec "$ns" /usr/bin/python3 -u "$top/tests/integration/soak.py" "$@"
