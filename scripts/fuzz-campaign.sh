#!/bin/sh
# Fuzz campaign: builds the libFuzzer targets (clang, -DWITNESSD_FUZZ=ON, i.e.
# -fsanitize=fuzzer,address,undefined) and fuzzes every target for a given
# time and/or number of runs, starting from its committed corpus
# tests/fuzz/corpus/<target>/. New inputs are collected in a scratch dir and,
# unless --no-merge, merged back with -merge=1, which adds only the inputs that
# bring new coverage (so the committed corpus stays small). Crash, leak,
# timeout and out-of-memory inputs are written to tests/fuzz/regress/<target>/,
# which tests/fuzz/run.sh replays in the suite. Ends with one table row per
# target from libFuzzer's final stats. Exit status: 0 if no target failed.
#
# Usage: scripts/fuzz-campaign.sh [options] [-- libFuzzer flags...]
#   --build DIR         build dir (default: build-fuzz); configured if needed
#   --no-build          use the targets already in DIR, do not run cmake
#   --time SECONDS      -max_total_time per target (default 60 unless --runs)
#   --runs N            -runs per target; with --time, whichever comes first
#   --targets LIST      comma or space separated (default: every fuzz_*.c)
#   --no-merge          do not merge new inputs into the corpus
#   --corpus-root DIR   corpus root (default: tests/fuzz/corpus)
#   --regress-root DIR  artifact root (default: tests/fuzz/regress)
#   --log-dir DIR       one log per target (default: DIR/fuzz-campaign)
#   --jobs N            targets fuzzed at the same time, and build jobs (default 1)
#   --keep-going        libFuzzer fork mode: a crash, timeout or oom is saved
#                       and fuzzing goes on (cov/ft then from a corpus replay)
#   --markdown          print the table as Markdown
# Flags after -- go to every fuzzing run, e.g. -- -rss_limit_mb=4096 -max_len=8192
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build="$top/build-fuzz"
build_it=1
secs=""
runs=""
targets=""
merge=1
corpus_root="$top/tests/fuzz/corpus"
regress_root="$top/tests/fuzz/regress"
log_dir=""
jobs=1
markdown=0
keep_going=0

usage() {
	sed -n '/^# Usage:/,/^# Flags after/s/^# \{0,1\}//p' "$0"
	exit "${1:-2}"
}
abspath() { case "$1" in /*) echo "$1" ;; *) echo "$(pwd)/$1" ;; esac; }
need() { [ $# -ge 2 ] || { echo "fuzz-campaign: $1 needs a value" >&2; usage; }; }

while [ $# -gt 0 ]; do
	case "$1" in
	--build) need "$@"; build=$(abspath "$2"); shift 2 ;;
	--no-build) build_it=0; shift ;;
	--time) need "$@"; secs="$2"; shift 2 ;;
	--runs) need "$@"; runs="$2"; shift 2 ;;
	--targets) need "$@"; targets=$(echo "$2" | tr ',' ' '); shift 2 ;;
	--no-merge) merge=0; shift ;;
	--corpus-root) need "$@"; corpus_root=$(abspath "$2"); shift 2 ;;
	--regress-root) need "$@"; regress_root=$(abspath "$2"); shift 2 ;;
	--log-dir) need "$@"; log_dir=$(abspath "$2"); shift 2 ;;
	--jobs) need "$@"; jobs="$2"; shift 2 ;;
	--markdown) markdown=1; shift ;;
	--keep-going) keep_going=1; shift ;;
	-h | --help) usage 0 ;;
	--) shift; break ;;
	*) echo "fuzz-campaign: unknown option $1" >&2; usage ;;
	esac
done
# whatever is left in "$@" is passed to libFuzzer

for v in "$secs" "$runs" "$jobs"; do
	case "$v" in *[!0-9]*) echo "fuzz-campaign: not a number: $v" >&2; exit 2 ;; esac
done
[ "$jobs" -ge 1 ] || jobs=1
[ -n "$secs" ] || [ -n "$runs" ] || secs=60
[ -n "$targets" ] || targets=$(cd "$top/tests/fuzz" && find . -name 'fuzz_*.c' | sed 's|^\./||; s/\.c$//' | sort)
[ -n "$log_dir" ] || log_dir="$build/fuzz-campaign"

if [ "$build_it" = 1 ]; then
	if [ ! -f "$build/CMakeCache.txt" ]; then
		CC=clang cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DWITNESSD_FUZZ=ON >/dev/null
	fi
	# shellcheck disable=SC2086 # one target name per word
	cmake --build "$build" -j "$jobs" --target $targets
fi
for t in $targets; do
	[ -x "$build/$t" ] || { echo "fuzz-campaign: no target $build/$t" >&2; exit 2; }
done

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir -p "$log_dir"
limit=""
[ -n "$secs" ] && limit="$limit -max_total_time=$secs"
[ -n "$runs" ] && limit="$limit -runs=$runs"
# One child at a time; -runs is not honoured in fork mode, -max_total_time is.
[ "$keep_going" = 1 ] && limit="$limit -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

# Lists the failure artifacts in a regress dir, one name a line.
artifacts() { (cd "$1" && ls crash-* leak-* timeout-* oom-* 2>/dev/null) | sort || true; }

# Fuzzes one target and writes its row to $work/$1.row:
# target execs exec/s cov ft secs new_units corpus_before corpus_after new_artifacts
campaign_one() {
	t="$1"
	shift # the rest are the libFuzzer flags from the command line
	corpus="$corpus_root/$t"
	regress="$regress_root/$t"
	fresh="$work/$t.new"
	log="$log_dir/$t.log"
	mkdir -p "$corpus" "$regress" "$fresh"
	artifacts "$regress" >"$work/$t.before"
	before=$(find "$corpus" -type f | wc -l)
	start=$(date +%s)
	# New inputs go to the scratch dir (first corpus arg); the committed
	# corpus is only read here and only grown by the merge below.
	# shellcheck disable=SC2086 # $limit is a list of flags
	"$build/$t" $limit -timeout=25 -print_final_stats=1 -artifact_prefix="$regress/" \
		"$@" "$fresh" "$corpus" >"$log" 2>&1 && rc=0 || rc=$?
	elapsed=$(($(date +%s) - start))
	if [ "$keep_going" = 1 ]; then
		# Fork mode prints features as "cov:" and no final stats: take the
		# coverage of what the run kept from a replay (-runs=0 prints INITED).
		"$build/$t" -runs=0 "$@" "$fresh" "$corpus" >"$log_dir/$t.replay.log" 2>&1 || true
		grep -E 'INITED' "$log_dir/$t.replay.log" | sed 's/^#[0-9]*/#replay/' >>"$log"
		echo "stat::new_units_added: $(find "$fresh" -type f | wc -l)" >>"$log"
	fi
	after=$before
	if [ "$merge" = 1 ] && [ -n "$(ls "$fresh")" ]; then
		"$build/$t" -merge=1 -timeout=25 -artifact_prefix="$regress/" "$@" \
			"$corpus" "$fresh" >"$log_dir/$t.merge.log" 2>&1 ||
			echo "fuzz-campaign: merge for $t failed, see $log_dir/$t.merge.log" >&2
		after=$(find "$corpus" -type f | wc -l)
	fi
	artifacts "$regress" | comm -13 "$work/$t.before" - >"$work/$t.found"
	found=$(wc -l <"$work/$t.found")
	# A failure that left no artifact (e.g. the fuzzer itself died) still counts.
	[ "$rc" = 0 ] || [ "$found" -gt 0 ] || found="rc=$rc"
	awk -v t="$t" -v secs="$elapsed" -v nb="$before" -v na="$after" -v found="$found" '
		/^stat::number_of_executed_units:/ { execs = $2 }
		/^stat::average_exec_per_sec:/ { eps = $2 }
		/^stat::new_units_added:/ { nu = $2 }
		/^#[0-9]+/ { last = $1; gsub(/[^0-9]/, "", last) }
		{
			for (i = 1; i < NF; i++) {
				if ($i == "cov:") cov = $(i + 1)
				if ($i == "ft:") ft = $(i + 1)
			}
		}
		END {
			if (execs == "") execs = (last == "" ? "?" : last)
			# libFuzzer divides by whole seconds and says 0 under one
			if (eps == "" || eps == 0) eps = (secs > 0 && execs != "?" ? int(execs / secs) : "?")
			printf "%s %s %s %s %s %s %s %s %s %s\n", t, execs, eps, \
				(cov == "" ? "?" : cov), (ft == "" ? "?" : ft), secs, \
				(nu == "" ? "?" : nu), nb, na, found
		}' "$log" >"$work/$t.row"
	printf 'fuzz-campaign: %s done in %ss (%s)\n' "$t" "$elapsed" "$log" >&2
}

n=0
for t in $targets; do
	echo "fuzz-campaign: fuzzing $t (${secs:+max ${secs}s}${secs:+${runs:+, }}${runs:+max $runs runs})" >&2
	if [ "$jobs" -gt 1 ]; then
		campaign_one "$t" "$@" &
		n=$((n + 1))
		[ $((n % jobs)) -ne 0 ] || wait
	else
		campaign_one "$t" "$@"
	fi
done
wait

status=0
if [ "$markdown" = 1 ]; then
	echo "| target | executions | exec/s | cov | ft | time (s) | new units | corpus before → after | crashes |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	fmt='| %s | %s | %s | %s | %s | %s | %s | %s → %s | %s |\n'
else
	printf '%-22s %12s %9s %6s %7s %7s %6s %15s %8s\n' target execs exec/s cov ft secs new corpus crashes
	fmt='%-22s %12s %9s %6s %7s %7s %6s %7s -> %-5s %8s\n'
fi
for t in $targets; do
	# shellcheck disable=SC2046,SC2059 # one row, one word per column
	printf "$fmt" $(cat "$work/$t.row")
	[ "$(awk '{ print $10 }' "$work/$t.row")" = 0 ] || status=1
done
for t in $targets; do
	[ -s "$work/$t.found" ] || continue
	echo "fuzz-campaign: $t: new artifacts in $regress_root/$t/ (log $log_dir/$t.log):"
	sed "s|^|  |" "$work/$t.found"
done
[ "$status" = 0 ] || echo "fuzz-campaign: failures found (see above)"
exit "$status"
