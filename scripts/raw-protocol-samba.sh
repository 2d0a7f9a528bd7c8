#!/bin/sh
# raw-protocol-samba.sh - Samba's raw DCE/RPC protocol suite
# (samba.tests.dcerpc.raw_protocol, python3-samba 4.17) against Debian's own
# samba-dcerpcd 4.17, in the setup tests/integration/test_rpcclient_samba_raw.py
# uses against witnessd: NTLMSSP and SPNEGO, no KDC, the endpoint mapper on
# 127.0.0.1:135, the same client smb.conf and environment (/usr/bin/python3,
# SERVER, DOMAIN, REALM, USERNAME, PASSWORD, SMB_CONF_PATH). The user is root
# (a passdb account needs a Unix one) with a throwaway password, domain TESTDOM.
# MAX_NUM_AUTH is left unset: the suite's default, 2049, is Samba's limit.
#
# samba-dcerpcd runs in a network namespace of its own (port 135 on the host
# is not touched), set up by scripts/samba-dcerpcd-lab.sh as for
# bench/side-by-side.sh. It writes the tests Samba passes, one a line, to
# tests/integration/data/samba417_raw_protocol.pass (or --out FILE), which
# the witnessd test compares with its own result (doc/dcerpc-conformance.md).
#
# Usage: scripts/raw-protocol-samba.sh [--out FILE] [--keep]
# Needs root, samba and python3-samba. Takes 15 s on an idle machine, up to 50 s under load.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/samba-dcerpcd-lab.sh"
out="$top/tests/integration/data/samba417_raw_protocol.pass"
keep=0
while [ $# -gt 0 ]; do
	case "$1" in
	--out) out="$2"; shift 2 ;;
	--keep) keep=1; shift ;;
	-h|--help) sed -n '2,19p' "$0"; exit 0 ;;
	*) echo "raw-protocol-samba: unknown option $1" >&2; exit 2 ;;
	esac
done

work=$(mktemp -d /tmp/wd-rawsamba-XXXXXX)
ns="wdrawsamba$$"
cleanup() {
	ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	if [ "$keep" = 1 ]; then echo "raw-protocol-samba: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT INT TERM
ip netns add "$ns" || { echo "raw-protocol-samba: cannot create a network namespace (root?)" >&2; exit 2; }
ip -n "$ns" link set lo up

password="raw-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
samba_lab_setup "$work/samba" TESTDOM SAMRAW "$password" || exit 1
samba_lab_start "$ns" "$work/samba"
samba_lab_wait_port "$ns" 135 || { tail -5 "$work/samba/dcerpcd.log" >&2; exit 1; }

# The client side, as in test_rpcclient_samba_raw.py.
cat > "$work/client.conf" <<EOF
[global]
 workgroup = TESTDOM
 netbios name = CLIENTBOX
 client use kerberos = off
 realm = TESTDOM.EXAMPLE
EOF
module=samba.tests.dcerpc.raw_protocol
start=$(date +%s)
ip netns exec "$ns" env SERVER=127.0.0.1 SMB_CONF_PATH="$work/client.conf" DOMAIN=TESTDOM \
	REALM=TESTDOM.EXAMPLE USERNAME=root PASSWORD="$password" \
	/usr/bin/python3 -m unittest -v "$module" > "$work/unittest.log" 2>&1
took=$(($(date +%s) - start))

ran=$(sed -n "s/^\(test_[A-Za-z0-9_]*\) ($module\.[A-Za-z0-9_]*\.[A-Za-z0-9_]*).*/\1/p" \
	"$work/unittest.log" | sort -u)
bad=$(sed -n 's/^\(FAIL\|ERROR\): \(test_[A-Za-z0-9_]*\) .*/\2/p' "$work/unittest.log" | sort -u)
nran=$(printf '%s\n' "$ran" | grep -c .)
[ "$nran" -ge 194 ] || {
	echo "raw-protocol-samba: only $nran tests ran" >&2
	tail -20 "$work/unittest.log" >&2
	exit 1
}
{
	echo "# Samba raw_protocol tests that Debian's samba-dcerpcd 4.17 passes, no KDC, NTLMSSP"
	echo "# and SPNEGO; written by scripts/raw-protocol-samba.sh, one a line"
	printf '%s\n' "$ran" | { if [ -n "$bad" ]; then grep -vxF "$bad"; else cat; fi; }
} > "$out.tmp" && mv "$out.tmp" "$out"
npass=$(grep -c '^test' "$out")
echo "raw-protocol-samba: samba-dcerpcd $(dpkg-query -W -f='${Version}' samba 2>/dev/null):" \
	"$npass of $nran pass in $took s; list in $out" >&2
