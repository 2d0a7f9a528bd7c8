#!/bin/sh
# The Debian package, as CI can check it without booting systemd (the booted
# check is scripts/systemd-container-test.sh, doc/packaging.md):
#   - scripts/build-deb.sh builds witnessd_*.deb from the tracked files;
#   - lintian reports no error (warnings are printed);
#   - dpkg-deb -c / -I: the files, the conffile list, the unit's paths, the
#     unit's systemd-analyze security exposure (offline) no worse than 2.0;
#   - dpkg -i into a chroot of the cached Debian 12 tree of the container
#     test (an overlay, so the cache stays clean; skipped when the cache is
#     absent): the user, the password file, --check-config of the installed
#     example, and dpkg -P removing it all.
# Takes about 3 minutes, nearly all of it the package build.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/wdt-pkg.XXXXXX)
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
cleanup() {
	mountpoint -q "$work/root" && umount -l "$work/root"
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

# nocheck: the unit tests run elsewhere in CI; this builds only the binaries.
if ! DEB_BUILD_OPTIONS=nocheck "$top/scripts/build-deb.sh" "$work/dist" >"$work/build.log" 2>&1; then
	cat "$work/build.log"
	echo "FAIL: build-deb.sh"
	exit 1
fi
deb=$(ls "$work"/dist/witnessd_*_amd64.deb 2>/dev/null | head -1)
[ -n "$deb" ] || { cat "$work/build.log"; echo "FAIL: no witnessd_*_amd64.deb"; exit 1; }
ok "built $(basename "$deb")"

# lintian: errors fail, warnings are listed.
lintian --no-tag-display-limit "$deb" >"$work/lintian.log" 2>&1
grep '^[WI]: ' "$work/lintian.log" | sed 's/^/lintian: /'
if grep -q '^E: ' "$work/lintian.log"; then
	grep '^E: ' "$work/lintian.log"
	bad "lintian errors"
else
	ok "lintian: no errors ($(grep -c '^W: ' "$work/lintian.log") warnings)"
fi

# Contents.
dpkg-deb -c "$deb" | awk '{ print $6 }' >"$work/files"
for f in ./usr/sbin/witnessd ./usr/bin/witnessctl ./lib/systemd/system/witnessd.service \
	./usr/lib/sysusers.d/witnessd.conf ./usr/lib/systemd/catalog/witnessd.catalog \
	./etc/witnessd/witnessd.conf ./usr/share/man/man8/witnessd.8.gz \
	./usr/share/man/man8/witnessctl.8.gz ./usr/share/man/man5/witnessd.conf.5.gz \
	./usr/share/doc/witnessd/README.Debian ./usr/share/doc/witnessd/copyright \
	./usr/share/doc/witnessd/examples/ctdb.conf \
	./usr/share/doc/witnessd/examples/47.witnessd.script; do
	grep -qx "$f" "$work/files" || bad "missing $f"
done
if [ -e "$top/completion/witnessctl" ]; then
	grep -qx ./usr/share/bash-completion/completions/witnessctl "$work/files" &&
		ok "bash completion: /usr/share/bash-completion/completions/witnessctl" ||
		bad "no bash completion in the package"
fi
ok "$(wc -l <"$work/files") paths"
dpkg-deb -e "$deb" "$work/control"
conf=$(cat "$work/control/conffiles")
[ "$conf" = "/etc/witnessd/witnessd.conf" ] && ok "conffiles: $conf" || bad "conffiles: $conf"
grep -q 'deb-systemd-helper' "$work/control/postinst" || bad "postinst has no dh_installsystemd part"
grep -q 'systemd-sysusers' "$work/control/postinst" || bad "postinst does not create the user"
grep -q 'deb-systemd-invoke stop' "$work/control/prerm" || bad "prerm does not stop the unit"
mkdir -p "$work/x"
dpkg-deb -x "$deb" "$work/x"
unit=$work/x/lib/systemd/system/witnessd.service
grep -qx 'ExecStart=/usr/sbin/witnessd --config /etc/witnessd/witnessd.conf' "$unit" &&
	ok "ExecStart=/usr/sbin/witnessd --config /etc/witnessd/witnessd.conf" ||
	bad "unit: $(grep '^ExecStart=' "$unit")"
grep -q '/usr/local' "$unit" && bad "unit names /usr/local"
score=$(systemd-analyze security --offline=true "$unit" 2>/dev/null | tail -1 |
	sed -n 's/.*exposure level for [^:]*: \([0-9.]*\).*/\1/p')
if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
	ok "systemd-analyze security (offline): exposure $score"
else
	bad "exposure: '$score' (more than 2.0)"
fi

# Install, check, purge in a chroot of the cached tree.
tree=${WITNESSD_TEST_CACHE:-/var/cache/witnessd-test}/bookworm
if [ -x "$tree/lib/systemd/systemd" ]; then
	mkdir -p "$work/upper" "$work/ovl" "$work/root"
	mount -t overlay overlay -o "lowerdir=$tree,upperdir=$work/upper,workdir=$work/ovl" "$work/root"
	cp "$deb" "$work/root/root/witnessd.deb"
	ch() { chroot "$work/root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
	if ch dpkg -i /root/witnessd.deb >"$work/dpkg.log" 2>&1; then ok "dpkg -i in a chroot"; else
		cat "$work/dpkg.log"
		bad "dpkg -i in a chroot"
	fi
	ch id witnessd >/dev/null 2>&1 && ok "user: $(ch id witnessd)" || bad "no witnessd user"
	m=$(ch stat -c '%U:%G %a %s' /etc/witnessd/ntlm.passwd 2>&1)
	[ "$m" = "root:witnessd 640 0" ] && ok "empty password file root:witnessd 0640" || bad "password file: $m"
	out=$(ch setpriv --reuid=witnessd --regid=witnessd --clear-groups \
		/usr/sbin/witnessd --check-config --config /etc/witnessd/witnessd.conf 2>&1)
	[ $? -eq 0 ] && ok "installed config, as witnessd: $out" || bad "--check-config as witnessd: $out"
	ch dpkg -P witnessd >/dev/null 2>&1 || bad "dpkg -P"
	if [ -e "$work/root/etc/witnessd" ] || [ -e "$work/root/usr/sbin/witnessd" ]; then
		bad "purge left files"
	else
		ok "dpkg -P removed it"
	fi
else
	echo "skip: no cached tree at $tree (scripts/systemd-container-test.sh makes it)"
fi

[ "$fails" -eq 0 ] && echo "package: ok" && exit 0
echo "package: $fails failed"
exit 1
