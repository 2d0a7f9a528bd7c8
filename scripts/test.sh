#!/bin/sh
# Builds witnessd twice (plain, and ASan+UBSan) and runs the whole suite:
# unit tests under both builds, libFuzzer smoke runs of every parser target,
# and the integration tests with real Debian peers (each in its own network
# namespace). Run as root after scripts/setup.sh. Exit status 0 = all passed.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc 2>/dev/null || echo 2)
step() { printf '\n==== %s ====\n' "$*"; }

step "format (clang-format)"
"$top/scripts/check-format.sh"

step "build (release)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWITNESSD_WERROR=ON >/dev/null
cmake --build build -j "$jobs"

step "unit tests"
(cd build && ctest --output-on-failure -j "$jobs")

step "build (ASan + UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DWITNESSD_SANITIZE=ON >/dev/null
cmake --build build-asan -j "$jobs"

step "unit tests under ASan + UBSan"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	ctest --output-on-failure -j "$jobs")

step "fuzz targets (libFuzzer smoke run)"
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DWITNESSD_FUZZ=ON >/dev/null
cmake --build build-fuzz -j "$jobs"
"$top/tests/fuzz/run.sh" build-fuzz "${WD_FUZZ_SECONDS:-15}"

step "integration tests (real peers)"
WITNESSD_BUILD="$top/build" "$top/tests/integration/run.sh"

step "all tests passed"
