#!/bin/sh
# Fails if any tracked C file differs from .clang-format (STYLE.md pattern 8).
set -eu
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "clang-format missing"; exit 1; }
bad=$(git ls-files '*.c' '*.h' | xargs clang-format --dry-run 2>&1 | grep -c 'warning:' || true)
if [ "$bad" -gt 0 ]; then
	git ls-files '*.c' '*.h' | xargs clang-format --dry-run 2>&1 | grep 'warning:' | head -20
	echo "clang-format: $bad lines to reformat (clang-format -i FILE)"
	exit 1
fi
echo "clang-format: clean"
