#!/bin/sh
# Builds the Debian package from the tracked files of a git checkout (git
# archive, so build directories and stray files never get in), in a temporary
# directory, and puts witnessd_VERSION_ARCH.deb (and .buildinfo, .changes)
# into OUTDIR.
# Usage: scripts/build-deb.sh [OUTDIR] [REV]   (default: ./dist, HEAD)
#   env DEB_BUILD_OPTIONS=nocheck skips the unit tests during the build.
# Needs: debhelper, dpkg-dev, the Build-Depends of debian/control
# (scripts/setup.sh installs them). doc/packaging.md.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/dist}
rev=${2:-HEAD}
mkdir -p "$out"
out=$(cd "$out" && pwd)
tmp=$(mktemp -d /tmp/witnessd-deb.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
git -C "$top" archive --format=tar --prefix=witnessd/ "$rev" | tar -x -C "$tmp"
cd "$tmp/witnessd"
dpkg-checkbuilddeps
# -us -uc: unsigned; -b: binary only. Parallel as CI allows.
DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-} parallel=${WITNESSD_JOBS:-2}" \
	dpkg-buildpackage -us -uc -b >"$tmp/build.log" 2>&1 || {
	tail -60 "$tmp/build.log"
	echo "build-deb: dpkg-buildpackage failed (log above)" >&2
	exit 1
}
for f in "$tmp"/witnessd_*; do
	cp "$f" "$out/"
done
ls "$tmp"/witnessd_*.deb | sed "s|^$tmp|$out|"
