#!/bin/sh
# Installs every Debian 12 package that witnessd's build, tests and demo need.
# Idempotent: apt-get skips what is already installed. Run as root.
set -eu
PKGS="build-essential cmake pkg-config git
libuv1-dev libsqlite3-dev sqlite3 libcjson-dev check libsubunit-dev
libgnutls28-dev libkrb5-dev libsystemd-dev
krb5-kdc krb5-admin-server krb5-user
python3 python3-samba samba-common-bin smbclient samba-testsuite python3-impacket
tshark ctdb samba iproute2 procps psmisc
prometheus debhelper devscripts fakeroot lintian debootstrap systemd-container bash-completion
clang clang-format libclang-rt-14-dev llvm"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	export DEBIAN_FRONTEND=noninteractive
	echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections || true
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
fi
# Distribution units from these packages must not interfere with the tests.
for u in ctdb smbd nmbd winbind samba-ad-dc krb5-kdc krb5-admin-server prometheus; do
	systemctl disable --now "$u" >/dev/null 2>&1 || true
done
echo "setup: all packages present"
