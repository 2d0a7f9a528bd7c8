#!/bin/sh
# Smoke-runs every libFuzzer target for a few seconds from its seed corpus
# (tests/fuzz/corpus/<target>/, if present), replays every regression input
# in tests/fuzz/regress/<target>/ (inputs that once crashed, leaked, timed out
# or ran out of memory; each must now run clean), and runs
# scripts/fuzz-campaign.sh for two seconds on two targets into a scratch
# corpus so the campaign script cannot rot. Any failure fails the suite.
# Usage: run.sh BUILD_DIR SECONDS
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build="$1"; secs="$2"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
n=0
for f in "$build"/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	mkdir -p "$tmp/$name"
	[ -d "$top/tests/fuzz/corpus/$name" ] && cp -r "$top/tests/fuzz/corpus/$name/." "$tmp/$name/"
	echo "fuzz $name for ${secs}s"
	"$f" -max_total_time="$secs" -print_final_stats=1 \
		-artifact_prefix="$tmp/" "$tmp/$name" 2>&1 | grep -E 'stat::number_of_executed_units|ERROR|SUMMARY' || true
	if ls "$tmp"/crash-* "$tmp"/leak-* "$tmp"/timeout-* "$tmp"/oom-* >/dev/null 2>&1; then
		echo "fuzz $name found a failure:"; ls "$tmp"/crash-* "$tmp"/leak-* "$tmp"/timeout-* "$tmp"/oom-* 2>/dev/null
		exit 1
	fi
	regress="$top/tests/fuzz/regress/$name"
	if [ -d "$regress" ] && [ -n "$(ls "$regress")" ]; then
		# Given files (not a directory), libFuzzer runs each once and exits
		# non-zero on a crash, a leak, a timeout or running out of memory.
		echo "fuzz $name: replaying $(find "$regress" -type f | wc -l) regression inputs"
		if ! "$f" -timeout=25 -rss_limit_mb=2048 "$regress"/* >"$tmp/replay.log" 2>&1; then
			echo "fuzz $name: a regression input fails again:"
			grep -E 'Running:|ERROR|SUMMARY|==[0-9]+==' "$tmp/replay.log" | tail -20
			exit 1
		fi
	fi
	n=$((n + 1))
done
echo "fuzz: $n targets ran clean"

# The campaign script itself: two small targets, two seconds, merging into a
# scratch copy of their corpus (the committed one is never touched here).
for name in fuzz_config fuzz_pdu; do
	[ -x "$build/$name" ] || continue
	mkdir -p "$tmp/campaign/corpus/$name"
	cp -r "$top/tests/fuzz/corpus/$name/." "$tmp/campaign/corpus/$name/"
	targets="${targets:+$targets,}$name"
done
if [ -n "${targets:-}" ]; then
	"$top/scripts/fuzz-campaign.sh" --build "$build" --no-build --time 2 --targets "$targets" \
		--corpus-root "$tmp/campaign/corpus" --regress-root "$tmp/campaign/regress" \
		--log-dir "$tmp/campaign/log" >"$tmp/campaign.out" 2>&1 ||
		{ echo "fuzz-campaign smoke failed:"; cat "$tmp/campaign.out"; exit 1; }
	for name in $(echo "$targets" | tr ',' ' '); do
		# a row with a number of executions, not "?", for every target
		grep -Eq "^$name +[0-9]+ " "$tmp/campaign.out" ||
			{ echo "fuzz-campaign smoke: no stats for $name:"; cat "$tmp/campaign.out"; exit 1; }
	done
	echo "fuzz-campaign smoke ($targets): ok"
fi
