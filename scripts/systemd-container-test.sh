#!/bin/bash
# Boots a Debian 12 tree under real systemd (systemd-nspawn, systemd as PID 1
# of the container), installs the witnessd .deb and checks the service's life
# cycle with a real client (Samba's Python bindings on the host side):
#   1. dpkg -i: the user, the empty password file, the unit installed disabled;
#   2. systemctl start reaches active (Type=notify: after READY=1);
#   3. systemctl reload keeps a registration and its pending AsyncNotify
#      (answered afterwards by witnessctl ip set);
#   4. systemctl stop answers a pending AsyncNotify;
#   5. journalctl -u witnessd -o json carries MESSAGE_ID and CODE_FILE;
#   6. systemd-analyze security witnessd (the score is printed);
#   7. dpkg -i again restarts it (upgrade), dpkg -r stops it, dpkg -P purges
#      /var/lib/witnessd and /etc/witnessd.
# Usage: scripts/systemd-container-test.sh [DEB]   (default: build one with
# scripts/build-deb.sh). Run as root. Takes 1 to 4 minutes (the first run
# also runs debootstrap, about 3 minutes). doc/packaging.md.
#
# How it runs here (no systemd as PID 1 on the host, no system bus):
# * the tree comes from debootstrap --variant=minbase with systemd, dbus and
#   the package's libraries, cached in /var/cache/witnessd-test/bookworm; each
#   run boots an overlayfs copy, so the cache stays clean;
# * the container shares a network namespace this script creates (no
#   --private-network), so that the host-side client reaches its loopback and
#   the host's own port 135 is never touched. nspawn is started through
#   nsenter --net, not "ip netns exec", which remounts /sys and hides the
#   cgroup hierarchy that nspawn needs;
# * commands run inside with nsenter into the container's PID 1 namespaces
#   (systemctl talks to PID 1 over /run/systemd/private, no D-Bus needed).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${WITNESSD_TEST_CACHE:-/var/cache/witnessd-test}
tree=$cache/bookworm
deb=${1:-}
ns=wdct$$
work=$(mktemp -d /tmp/witnessd-ct.XXXXXX)
nspawn_pid=""
pid1=""
fails=0

log() { printf '%s\n' "$*"; }
ok() { log "PASS: $*"; }
bad() { log "FAIL: $*"; fails=$((fails + 1)); }

cleanup() {
	if [ -n "$pid1" ] && kill -0 "$pid1" 2>/dev/null; then
		ct systemctl poweroff >/dev/null 2>&1
		for _ in $(seq 1 100); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.1; done
	fi
	[ -n "$nspawn_pid" ] && kill "$nspawn_pid" 2>/dev/null && sleep 1
	[ -n "$nspawn_pid" ] && kill -9 "$nspawn_pid" 2>/dev/null
	[ -n "${client_pid:-}" ] && kill "$client_pid" 2>/dev/null
	mountpoint -q "$work/root" && umount -l "$work/root"
	ip netns del "$ns" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

# Runs a command inside the container as root.
ct() {
	nsenter -t "$pid1" -m -u -i -p -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"
}

# ---- the cached tree --------------------------------------------------------
if [ ! -x "$tree/lib/systemd/systemd" ]; then
	# The mirror of apt's configured source (deb822 or one-line format).
	mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\)\/*$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
	[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
	mirror=${mirror:-http://deb.debian.org/debian}
	log "debootstrap bookworm from $mirror into $tree (once)"
	mkdir -p "$cache"
	rm -rf "$tree.tmp"
	debootstrap --variant=minbase \
		--include=systemd,systemd-sysv,dbus,libuv1,libcjson1,libsqlite3-0,libgssapi-krb5-2,libkrb5-3,libgnutls30,libsystemd0 \
		bookworm "$tree.tmp" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
		{ tail -20 "$cache/debootstrap.log"; log "FAIL: debootstrap"; exit 1; }
	mv "$tree.tmp" "$tree"
fi

# ---- the package -------------------------------------------------------------
if [ -z "$deb" ]; then
	"$top/scripts/build-deb.sh" "$work/dist" >"$work/build.log" 2>&1 ||
		{ cat "$work/build.log"; log "FAIL: build-deb.sh"; exit 1; }
	deb=$(ls "$work"/dist/witnessd_*.deb)
fi
log "package: $(basename "$deb")"

# ---- boot ----------------------------------------------------------------------
t0=$(date +%s)
mkdir -p "$work/upper" "$work/ovl" "$work/root"
mount -t overlay overlay -o "lowerdir=$tree,upperdir=$work/upper,workdir=$work/ovl" "$work/root" ||
	{ log "FAIL: overlay mount"; exit 1; }
ip netns add "$ns" && ip -n "$ns" link set lo up
cp "$deb" "$work/root/root/witnessd.deb"
nsenter --net=/run/netns/"$ns" systemd-nspawn -D "$work/root" --boot --register=no --keep-unit \
	--console=pipe -M "wdct$$" </dev/null >"$work/console.log" 2>&1 &
nspawn_pid=$!
# nspawn's first child is short-lived; the container's PID 1 is the child
# that runs systemd.
for _ in $(seq 1 200); do
	for c in $(pgrep -P "$nspawn_pid"); do
		case "$(readlink "/proc/$c/exe" 2>/dev/null)" in */systemd) pid1=$c ;; esac
	done
	[ -n "$pid1" ] && break
	sleep 0.1
done
[ -n "$pid1" ] || { cat "$work/console.log"; log "FAIL: nspawn did not start a PID 1"; exit 1; }
state=""
for _ in $(seq 1 600); do
	state=$(ct systemctl is-system-running 2>/dev/null)
	case "$state" in running | degraded) break ;; esac
	sleep 0.1
done
log "container booted: $(ct readlink /proc/1/exe) as PID 1, system $state, in $(($(date +%s) - t0)) s"
[ "$state" = running ] || ct systemctl --failed --no-pager

# ---- 1. install ----------------------------------------------------------------
if ct dpkg -i /root/witnessd.deb >"$work/dpkg.log" 2>&1; then ok "dpkg -i"; else cat "$work/dpkg.log"; bad "dpkg -i"; exit 1; fi
[ "$(ct systemctl is-enabled witnessd)" = disabled ] && ok "unit installed disabled" || bad "unit not disabled"
[ "$(ct systemctl is-active witnessd)" = inactive ] && ok "not started by the install" || bad "started by the install"
ct id witnessd >/dev/null && ok "system user: $(ct id witnessd)" || bad "no witnessd user"
pw=$(ct stat -c '%U:%G %a' /etc/witnessd/ntlm.passwd)
[ "$pw" = "root:witnessd 640" ] && ok "empty password file root:witnessd 0640" || bad "password file: $pw"
log "unit: $(ct systemctl show witnessd -p FragmentPath --value): $(ct grep '^ExecStart=' /lib/systemd/system/witnessd.service)"

# A loopback test configuration (the admin's edit of the conffile).
cat >"$work/root/etc/witnessd/witnessd.conf" <<'EOF'
[global]
	netname = WITSRV
	listen addresses = 127.0.0.1
	witness port = 5006
	epmapper port = 135
	min auth level = integrity
	ntlm password file = /etc/witnessd/ntlm.passwd
	workgroup = TESTDOM
	reregister delay = 5
	log level = debug
[static]
	local node = 0
	interfaces = 127.0.0.2@0, 127.0.0.3@1, 127.0.0.4@2
EOF
printf 'Secret123\n' | nsenter -t "$pid1" -m -u -i -p -- /usr/bin/witnessctl user add alice --domain TESTDOM >/dev/null 2>&1
pw=$(ct stat -c '%U:%G %a' /etc/witnessd/ntlm.passwd)
[ "$pw" = "root:witnessd 640" ] && ok "witnessctl user add keeps root:witnessd 0640" || bad "after user add: $pw"

# ---- 2. start -------------------------------------------------------------------
ct systemctl enable witnessd >/dev/null 2>&1
if ct systemctl start witnessd; then
	ok "systemctl start witnessd: $(ct systemctl show witnessd -p ActiveState -p SubState -p User --value | tr '\n' ' ')"
else
	bad "systemctl start witnessd"
	ct journalctl -u witnessd --no-pager | tail -20
fi
log "status text: $(ct systemctl show witnessd -p StatusText --value)"
ct journalctl -u witnessd --no-pager -o cat | grep -m1 'daemon.ready' | sed 's/^/journal: /'
pid_before=$(ct systemctl show witnessd -p MainPID --value)

# ---- 3. reload with a registration and a pending AsyncNotify ---------------
cat >"$work/client.py" <<'EOF'
# Host-side witness client (Samba's Python bindings), in the container's netns.
import sys, time
from samba import param, credentials
from samba import WERRORError
from samba.dcerpc import witness
lp = param.LoadParm()
lp.load(sys.argv[1])
c = credentials.Credentials()
c.guess(lp)
c.set_username("alice"); c.set_password("Secret123"); c.set_domain("TESTDOM")
c.set_kerberos_state(credentials.DONT_USE_KERBEROS)
def say(*a):
    print(*a, flush=True)
w = witness.witness("ncacn_ip_tcp:127.0.0.1[sign]", lp, c)
say("interfaces", " ".join(i.ipv4 for i in w.GetInterfaceList().interfaces))
h1 = w.RegisterEx(witness.WITNESS_V2, "WITSRV", "share1", "127.0.0.3", "CT-CLIENT", 0, 120)
h2 = w.RegisterEx(witness.WITNESS_V2, "WITSRV", "share2", "127.0.0.2", "CT-CLIENT", 0, 120)
say("registered")
for n, h in (("1", h1), ("2", h2)):
    say("pending" + n)
    t = time.monotonic()
    try:
        r = w.AsyncNotify(h)
        # r.type: the message type ([MS-SWN] 2.2.2.4); for RESOURCE_CHANGE
        # each message's type is the resource's new state (2.2.2.1).
        names = {1: "RESOURCE_CHANGE", 2: "CLIENT_MOVE", 3: "SHARE_MOVE", 4: "IP_CHANGE"}
        states = {0: "UNKNOWN", 1: "AVAILABLE", 0xff: "UNAVAILABLE"}
        msgs = []
        for m in r.messages:
            if r.type == 1:
                msgs.append("RESOURCE_CHANGE %s %s" % (m.name, states.get(m.type, m.type)))
            else:
                msgs.append(names.get(r.type, str(r.type)))
        say("answer%s after %.1f s: %s" % (n, time.monotonic() - t, ", ".join(msgs)))
    except WERRORError as e:
        # A WERROR is an answer to the call ([MS-SWN] 3.1.4.4 lets AsyncNotify
        # fail with ERROR_NOT_FOUND when the registration ends).
        say("answer%s after %.1f s: %s (0x%x)" % (n, time.monotonic() - t, e.args[1], e.args[0]))
    except Exception as e:
        say("answer%s after %.1f s: error (no answer) %r" % (n, time.monotonic() - t, e.args))
say("done")
EOF
printf '[global]\n workgroup = TESTDOM\n netbios name = CTCLIENT\n client use kerberos = off\n interfaces = 127.0.0.1/8\n' >"$work/smb.conf"
ip netns exec "$ns" /usr/bin/python3 -u "$work/client.py" "$work/smb.conf" 2>&1 |
	grep --line-buffered -v 'no network interfaces found' >"$work/client.log" &
client_pid=$!
wait_line() { # PATTERN SECONDS
	for _ in $(seq 1 $(($2 * 10))); do grep -q "$1" "$work/client.log" && return 0; sleep 0.1; done
	return 1
}
if wait_line pending1 20; then ok "client: $(grep interfaces "$work/client.log"), two RegisterEx"; else cat "$work/client.log"; bad "client did not register"; fi
sleep 1
ct witnessctl list | sed 's/^/before reload: /'
t=$(date +%s.%N)
if ct systemctl reload witnessd; then
	ok "systemctl reload witnessd ($(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }') s)"
else
	bad "systemctl reload witnessd"
	ct systemctl status witnessd --no-pager -n 0 | sed 's/^/status: /'
	ct journalctl --no-pager -n 15 | sed 's/^/journal: /'
fi
[ "$(ct systemctl show witnessd -p MainPID --value)" = "$pid_before" ] && ok "same MainPID after reload" || bad "MainPID changed on reload"
ct journalctl -u witnessd --no-pager -o cat | grep -E 'reload' | tail -3 | sed 's/^/journal: /'
n=$(ct witnessctl list | grep -c CT-CLIENT)
[ "$n" = 2 ] && ok "both registrations kept across the reload" || bad "registrations after reload: $n"
grep -q answer1 "$work/client.log" && bad "AsyncNotify answered by the reload: $(grep answer1 "$work/client.log")"
ct witnessctl ip set 127.0.0.3 --unavailable >/dev/null
if wait_line answer1 10 && grep -q 'answer1 .*RESOURCE_CHANGE 127.0.0.3 UNAVAILABLE' "$work/client.log"; then
	ok "the AsyncNotify pending across the reload answered: $(grep answer1 "$work/client.log")"
else
	bad "AsyncNotify after reload: $(grep answer1 "$work/client.log")"
fi

# ---- 4. stop answers a pending AsyncNotify ------------------------------------
wait_line pending2 10
sleep 1
t=$(date +%s.%N)
ct systemctl stop witnessd
log "systemctl stop took $(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }') s; $(ct systemctl show witnessd -p ActiveState -p Result -p ExecMainStatus --value | tr '\n' ' ')"
wait_line answer2 10
a2=$(grep answer2 "$work/client.log")
case "$a2" in
*error*) bad "stop: the pending AsyncNotify got no answer: $a2" ;;
"") bad "stop: the client got nothing" ;;
*) ok "stop answered the pending AsyncNotify: $a2" ;;
esac
wait "$client_pid" 2>/dev/null
client_pid=""
ct journalctl -u witnessd --no-pager -o cat | grep -E 'daemon.stop|shutdown|stopping' | tail -3 | sed 's/^/journal: /'

# ---- 5. journal fields ------------------------------------------------------------
ct journalctl -u witnessd -o json --no-pager >"$work/journal.json"
python3 - "$work/journal.json" <<'EOF' || fails=$((fails + 1))
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
mine = [r for r in recs if r.get("SYSLOG_IDENTIFIER") == "witnessd" or r.get("_COMM") == "witnessd"]
with_id = [r for r in mine if "MESSAGE_ID" in r]
code = [r for r in mine if "CODE_FILE" in r]
logger = [r for r in code if r["CODE_FILE"].endswith("log.c")]
print("journal: %d records from witnessd, %d with MESSAGE_ID, %d with CODE_FILE (%d in log.c)"
      % (len(mine), len(with_id), len(code), len(logger)))
seen, samples = set(), []
for r in with_id:  # one record per MESSAGE_ID
    if r["MESSAGE_ID"] not in seen:
        seen.add(r["MESSAGE_ID"])
        samples.append(r)
print("journal: %d distinct MESSAGE_IDs" % len(seen))
for r in (samples or mine)[:4]:
    keep = {k: r[k] for k in sorted(r) if k in ("MESSAGE", "MESSAGE_ID", "PRIORITY", "CODE_FILE", "CODE_LINE", "CODE_FUNC")
            or k.startswith("WITNESSD_")}
    print("journal sample: " + json.dumps(keep)[:400])
ok = bool(mine) and bool(with_id) and bool(code) and not logger
print(("PASS" if ok else "FAIL") + ": structured journal fields (MESSAGE_ID, CODE_FILE of the caller)")
sys.exit(0 if ok else 1)
EOF

# The catalog: systemd's dpkg trigger runs journalctl --update-catalog.
want=$(grep -c '^-- [0-9a-f]\{32\}' "$work/root/usr/lib/systemd/catalog/witnessd.catalog" 2>/dev/null)
have=$(ct journalctl --list-catalog 2>/dev/null | grep -c 'Witness\|witnessd')
[ -n "$want" ] && [ "$have" -ge "$want" ] && ok "journal catalog: $have of $want witnessd entries ($(ct journalctl -x -u witnessd --no-pager | grep 'Subject:' | grep -v -m1 'unit witnessd.service' | sed 's/^[^S]*//'))" ||
	bad "journal catalog: $have entries, $want in the file"

# ---- 6. exposure ---------------------------------------------------------------------
score=$(ct systemd-analyze security witnessd --no-pager 2>&1 | tail -1)
log "systemd-analyze security witnessd: $score"
case "$score" in *"exposure level"*) ok "systemd-analyze security ran" ;; *) bad "systemd-analyze security: $score" ;; esac

# ---- 7. upgrade, remove, purge ---------------------------------------------------------
ct systemctl start witnessd
p1=$(ct systemctl show witnessd -p MainPID --value)
ct dpkg -i /root/witnessd.deb >"$work/dpkg2.log" 2>&1 || { cat "$work/dpkg2.log"; bad "dpkg -i (upgrade)"; }
p2=$(ct systemctl show witnessd -p MainPID --value)
[ "$(ct systemctl is-active witnessd)" = active ] && [ "$p1" != "$p2" ] && [ "$p2" != 0 ] &&
	ok "upgrade restarted it (MainPID $p1 -> $p2)" || bad "upgrade: MainPID $p1 -> $p2"
grep -q 'ntlm.passwd\|conffile' "$work/dpkg2.log" && log "$(cat "$work/dpkg2.log")"
# The ctdb drop-in: root (for ctdbd's socket), group witnessd (for the files).
ct mkdir -p /etc/systemd/system/witnessd.service.d
ct cp /usr/share/doc/witnessd/examples/ctdb.conf /etc/systemd/system/witnessd.service.d/
ct systemctl daemon-reload
ct systemctl restart witnessd
ids=$(ct sh -c 'grep -E "^(Uid|Gid|CapEff)" /proc/$(systemctl show witnessd -p MainPID --value)/status' | awk '{ print $1 $2 }' | tr '\n' ' ')
case "$ids" in "Uid:0 Gid:$(ct id -g witnessd) CapEff:0000000000000400 ") ok "ctdb drop-in: active as root, group witnessd, CAP_NET_BIND_SERVICE only ($ids)" ;;
*) bad "ctdb drop-in: $(ct systemctl is-active witnessd) $ids" ;; esac
ct rm -r /etc/systemd/system/witnessd.service.d
ct systemctl daemon-reload
ct dpkg -r witnessd >/dev/null 2>&1
[ "$(ct systemctl is-active witnessd)" != active ] && ok "dpkg -r stopped it" || bad "still active after dpkg -r"
ct test -d /var/lib/witnessd && ok "state kept after remove" || bad "state gone after remove"
ct dpkg -P witnessd >/dev/null 2>&1
if ct test -e /var/lib/witnessd || ct test -e /etc/witnessd; then bad "purge left $(ct ls -d /var/lib/witnessd /etc/witnessd 2>/dev/null)"; else ok "dpkg -P removed /var/lib/witnessd and /etc/witnessd"; fi

log "---- client output"
cat "$work/client.log"
log "---- $(($(date +%s) - t0)) s from the boot on; $fails failed"
[ "$fails" -eq 0 ]
