#!/bin/sh
# Smoke-runs every libFuzzer target for a few seconds from its seed corpus
# (tests/fuzz/corpus/<target>/, if present). A crash fails the suite.
# Usage: run.sh BUILD_DIR SECONDS
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build="$1"; secs="$2"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
n=0
for f in "$build"/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	mkdir -p "$tmp/$name"
	[ -d "$top/tests/fuzz/corpus/$name" ] && cp -r "$top/tests/fuzz/corpus/$name/." "$tmp/$name/"
	echo "fuzz $name for ${secs}s"
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "$f" -max_total_time="$secs" -print_final_stats=1 \
		-artifact_prefix="$tmp/" "$tmp/$name" 2>&1 | grep -E 'stat::number_of_executed_units|ERROR|SUMMARY' || true
	if ls "$tmp"/crash-* "$tmp"/leak-* "$tmp"/timeout-* >/dev/null 2>&1; then
		echo "fuzz $name found a failure:"; ls "$tmp"/crash-* "$tmp"/leak-* "$tmp"/timeout-* 2>/dev/null
		exit 1
	fi
	n=$((n + 1))
done
echo "fuzz: $n targets ran clean"
