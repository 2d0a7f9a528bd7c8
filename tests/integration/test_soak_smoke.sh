#!/bin/sh
# CI smoke of the churn soak (scripts/soak.sh, doc/soak.md): 25 s, 20 clients,
# an IP change every second; run by tests/integration/run.sh inside its own
# network namespace. The full soak is run by hand (10 minutes or more).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exec /usr/bin/python3 -u "$here/soak.py" --minutes 0.42 --clients 20 --move-every 1 \
	--sample-every 1 --warmup 5
