# samba-dcerpcd-lab.sh - sourced, not run: Debian's samba-dcerpcd (4.17) on
# loopback in a network namespace of the caller's, with a throwaway smb.conf
# and one passdb user. bench/side-by-side.sh (handshake bench) and
# scripts/raw-protocol-samba.sh (Samba's raw_protocol suite against Samba)
# use it, so both measure the same Samba.
#
#   samba_lab_setup DIR WORKGROUP NETBIOS PASSWORD
#       writes DIR/smb.conf (standalone server, tdbsam, every directory
#       under DIR, interfaces 127.0.0.1 only, helpers started at once) and
#       adds the passdb user root with PASSWORD (smbpasswd -a needs a Unix
#       account: root is the one every machine has; PASSWORD goes on stdin,
#       never on argv). Returns non-zero on failure.
#   samba_lab_start NS DIR
#       starts samba-dcerpcd --libexec-rpcds in the foreground of a
#       background job in namespace NS (log: DIR/dcerpcd.log).
#   samba_lab_wait_port NS PORT
#       waits up to 10 s for a listener on PORT in NS.
# Needs root and samba (samba-dcerpcd, smbpasswd, pdbedit).

SAMBA_LAB_DCERPCD=/usr/libexec/samba/samba-dcerpcd

samba_lab_setup() { # dir workgroup netbios password
	[ -x "$SAMBA_LAB_DCERPCD" ] || {
		echo "samba-dcerpcd-lab: $SAMBA_LAB_DCERPCD missing (apt-get install samba)" >&2
		return 2
	}
	for d in private lock state cache pid ncalrpc log; do
		mkdir -p "$1/$d" || return 1
	done
	cat > "$1/smb.conf" <<EOF
[global]
workgroup = $2
netbios name = $3
server role = standalone server
interfaces = 127.0.0.1
bind interfaces only = yes
passdb backend = tdbsam
private dir = $1/private
lock directory = $1/lock
state directory = $1/state
cache directory = $1/cache
pid directory = $1/pid
ncalrpc dir = $1/ncalrpc
log file = $1/log/%m.log
log level = 0
rpc start on demand helpers = no
EOF
	printf '%s\n%s\n' "$4" "$4" | smbpasswd -c "$1/smb.conf" -a -s root >/dev/null || return 1
	pdbedit -s "$1/smb.conf" -L 2>/dev/null | grep -q '^root:' || {
		echo "samba-dcerpcd-lab: pdbedit does not list the passdb user" >&2
		return 1
	}
}

samba_lab_start() { # ns dir
	ip netns exec "$1" "$SAMBA_LAB_DCERPCD" -s "$2/smb.conf" --libexec-rpcds -F \
		> "$2/dcerpcd.log" 2>&1 &
}

samba_lab_wait_port() { # ns port
	_i=0
	while [ $_i -lt 100 ]; do
		ip netns exec "$1" sh -c "ss -Hltn 'sport = :$2'" | grep -q LISTEN && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	echo "nothing listens on port $2 in netns $1" >&2
	return 1
}
