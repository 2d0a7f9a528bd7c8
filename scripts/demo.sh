#!/bin/sh
# witnessd demo on one Debian 12 machine, as root:
#   ./scripts/demo.sh          set up, build, start witnessd, show real clients using it
#   ./scripts/demo.sh stop     stop the demo daemon and remove its namespace
#
# The daemon runs in a network namespace of its own ("witnessd-demo") with only
# a loopback device, so it can take 127.0.0.1:135 (the endpoint mapper)
# without touching the host's network or anything already listening there.
# The cluster is the static backend with three IPs, 127.0.0.2 on node 0 (this
# node), 127.0.0.3 on node 1 and 127.0.0.4 on node 2; clients authenticate
# with NTLMSSP at packet integrity as the demo user "demo".
# The daemon is LEFT RUNNING at the end, so you can try witnessctl and the
# clients yourself (the commands are printed); "./scripts/demo.sh stop" ends it.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
NS=${WD_DEMO_NETNS:-witnessd-demo}
DIR=${WD_DEMO_DIR:-/run/witnessd-demo}
BUILD=${WITNESSD_BUILD:-$top/build}
PASS='Demo-Passw0rd'
nsx() { ip netns exec "$NS" "$@"; }
say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

stop() {
	if [ -f "$DIR/witnessd.pid" ]; then
		pid=$(cat "$DIR/witnessd.pid")
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid"
			i=0
			while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		fi
		rm -f "$DIR/witnessd.pid"
	fi
	ip netns del "$NS" 2>/dev/null || true
}

case "${1:-start}" in
stop)
	stop
	rm -rf "$DIR"
	echo "demo stopped"
	exit 0
	;;
start) ;;
*)
	echo "usage: $0 [start|stop]" >&2
	exit 2
	;;
esac

[ "$(id -u)" = 0 ] || { echo "run as root (network namespace, port 135)" >&2; exit 1; }

say "1. Debian packages (scripts/setup.sh)"
./scripts/setup.sh

say "2. build witnessd and witnessctl ($BUILD)"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" --target witnessd witnessctl -j "$(nproc 2>/dev/null || echo 2)"
WD="$BUILD/witnessd"
CTL="$BUILD/witnessctl"

say "3. demo config, NTLM account, network namespace $NS"
stop # an earlier demo
rm -rf "$DIR"
mkdir -p "$DIR"
chmod 0755 "$DIR"
cat >"$DIR/witnessd.conf" <<EOF
# witnessd demo configuration (see witnessd.conf(5))
[global]
	netname = WITSRV
	listen addresses = 127.0.0.1
	witness port = 5006
	epmapper port = 135
	state directory = $DIR/state
	admin socket = $DIR/witnessd.sock
	min auth level = integrity
	ntlm password file = $DIR/ntlm.passwd
	workgroup = DEMO
	reregister delay = 2
[static]
	local node = 0
	interfaces = 127.0.0.2@0, 127.0.0.3@1, 127.0.0.4@2
EOF
# the password comes from stdin, never from argv
printf '%s\n' "$PASS" | "$CTL" --config "$DIR/witnessd.conf" user add demo
"$WD" --config "$DIR/witnessd.conf" --check-config
ip netns add "$NS"
ip -n "$NS" link set lo up

say "4. start witnessd (in $NS; log: $DIR/witnessd.log)"
# (not through nsx: a shell function with a redirection keeps a copy of our stdout open)
ip netns exec "$NS" setsid "$WD" --config "$DIR/witnessd.conf" --foreground >"$DIR/witnessd.log" 2>&1 </dev/null &
echo $! >"$DIR/witnessd.pid"
i=0
until [ -S "$DIR/witnessd.sock" ]; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$(cat "$DIR/witnessd.pid")" 2>/dev/null; then
		echo "witnessd did not start:" >&2
		cat "$DIR/witnessd.log" >&2
		exit 1
	fi
	sleep 0.1
done
grep daemon.ready "$DIR/witnessd.log" || true
CTLC="$CTL --config $DIR/witnessd.conf"
show $CTLC status
show $CTLC ip list

say "5. rpcclient (Samba) asks for the interface list: ncacn_ip_tcp:127.0.0.1, port found via the endpoint mapper, NTLMSSP + signing"
show nsx rpcclient -U "DEMO\\demo%$PASS" 'ncacn_ip_tcp:127.0.0.1[sign]' -c GetInterfaceList
echo "(* marks an interface offered as witness: not hosted on this node)"

say "6. Samba's Python bindings register like an SMB client, wait in AsyncNotify, and we fail 127.0.0.3"
cat >"$DIR/client.py" <<'EOF'
import sys, threading
from samba import credentials, param
from samba.dcerpc import witness
lp = param.LoadParm()
lp.load_default()
cr = credentials.Credentials()
cr.guess(lp)
cr.set_username("demo"); cr.set_password(sys.argv[1]); cr.set_domain("DEMO")
cr.set_kerberos_state(credentials.DONT_USE_KERBEROS)
w = witness.witness("ncacn_ip_tcp:127.0.0.1[sign]", lp, cr)
for i in w.GetInterfaceList().interfaces:
    print("  interface %-10s %s state=%s flags=0x%x" % (i.group_name, i.ipv4, i.state, i.flags))
h = w.RegisterEx(0x00020000, "WITSRV", "share1", "127.0.0.3", "DEMO-CLIENT", 0, 60)
print("  RegisterEx(127.0.0.3, share1) ->", h.uuid)
sys.stdout.flush()
open(sys.argv[2], "w").close()          # tell the script we are registered
r = w.AsyncNotify(h)                    # blocks until something happens
names = {1: "RESOURCE_CHANGE", 2: "CLIENT_MOVE", 3: "SHARE_MOVE", 4: "IP_CHANGE"}
states = {0: "UNKNOWN", 1: "AVAILABLE", 0xff: "UNAVAILABLE"}
for m in r.messages:
    if r.type == 1:
        print("  AsyncNotify -> RESOURCE_CHANGE %s %s" % (m.name, states.get(m.type, m.type)))
    else:
        print("  AsyncNotify -> %s" % names.get(r.type, r.type))
EOF
rm -f "$DIR/registered"
# (Samba warns that the namespace has no network interface besides lo: filtered)
nsx /usr/bin/python3 "$DIR/client.py" "$PASS" "$DIR/registered" 2>"$DIR/client.err" &
client=$!
i=0
until [ -e "$DIR/registered" ] || [ $i -gt 100 ]; do sleep 0.1; i=$((i + 1)); done
show $CTLC list
show $CTLC ip set 127.0.0.3 --unavailable
rc=0
wait $client || rc=$?
grep -v 'no network interfaces found' "$DIR/client.err" >&2 || true
[ $rc -eq 0 ] || { echo "the Python client failed" >&2; exit 1; }
$CTLC ip set 127.0.0.3 --available >/dev/null

say "witnessd is still running (pid $(cat "$DIR/witnessd.pid"), namespace $NS). Try:"
cat <<EOF
  $CTLC status
  $CTLC ip set 127.0.0.4 --node 0
  $CTLC list --json
  ip netns exec $NS rpcclient -U 'DEMO\\demo%$PASS' 'ncacn_ip_tcp:127.0.0.1[sign]' -c GetInterfaceList
  less $DIR/witnessd.log
Stop it with: ./scripts/demo.sh stop
EOF
