"""A real ctdbd cluster for integration tests (Debian's /usr/sbin/ctdbd).

N nodes in CTDB_TEST_MODE (as ctdb/tests/local_daemons.sh)
inside the current network namespace: node addresses 127.0.0.<i+1>, public
addresses purely logical (test mode runs no event scripts and configures
nothing), so IP moves are real ctdb takeovers with real RELEASE_IP / TAKE_IP /
RECONFIGURE messages, without touching any interface.

    with CtdbLab(3, public_ips=["10.77.1.1", ...]) as lab:
        lab.wait_healthy()
        lab.ctdb(0, "moveip", "10.77.1.1", "2")
        lab.kill(1); lab.start_node(1)

Every ctdbd started is stopped by its PID (from its pid file) on exit, also
on failure; the base directory is removed unless WD_KEEP_TMP is set.
"""
import os
import shutil
import signal
import subprocess
import tempfile
import time

CTDBD = "/usr/sbin/ctdbd"
CTDB = "/usr/bin/ctdb"


class CtdbLab:
    def __init__(self, n=3, public_ips=None, iface="lo", base=None):
        self.n = n
        self.base = base or tempfile.mkdtemp(prefix="ctdblab-")
        self.public_ips = public_ips or ["10.77.1.%d" % (i + 1) for i in range(2 * n)]
        self.iface = iface
        self.node_addrs = ["127.0.0.%d" % (i + 1) for i in range(n)]
        self.pids = {}
        for i in range(n):
            self._setup_node(i)

    # -- layout --
    def node_dir(self, i):
        return os.path.join(self.base, "node.%d" % i)

    def socket(self, i):
        return os.path.join(self.node_dir(i), "run", "ctdbd.socket")

    def env(self, i):
        e = dict(os.environ)
        e["CTDB_TEST_MODE"] = "yes"
        e["CTDB_BASE"] = self.node_dir(i)
        e.pop("CTDB_SOCKET", None)
        return e

    def _setup_node(self, i):
        d = self.node_dir(i)
        for sub in ("run", "var", "events/legacy", "events/notification",
                    "db/volatile", "db/persistent", "db/state"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        for f in ("functions", "notify.sh"):
            if os.path.exists("/etc/ctdb/" + f):
                shutil.copy("/etc/ctdb/" + f, os.path.join(d, f))
        with open(os.path.join(d, "nodes"), "w") as f:
            f.write("".join(a + "\n" for a in self.node_addrs))
        with open(os.path.join(d, "public_addresses"), "w") as f:
            for ip in self.public_ips:
                bits = 64 if ":" in ip else 24
                f.write("%s/%d %s\n" % (ip, bits, self.iface))
        with open(os.path.join(d, "ctdb.conf"), "w") as f:
            f.write("[logging]\n\tlocation = file:%s/log.ctdb\n\tlog level = INFO\n"
                    "[cluster]\n\tnode address = %s\n"
                    "[database]\n\tvolatile database directory = %s/db/volatile\n"
                    "\tpersistent database directory = %s/db/persistent\n"
                    "\tstate database directory = %s/db/state\n"
                    "[failover]\n\tdisabled = false\n"
                    % (d, self.node_addrs[i], d, d, d))
        # Fast failure detection keeps the test short (defaults: 25 s).
        with open(os.path.join(d, "ctdb.tunables"), "w") as f:
            f.write("KeepaliveInterval=1\nKeepaliveLimit=3\nMonitorInterval=2\n"
                    "RecoverInterval=1\nElectionTimeout=2\nTakeoverTimeout=3\n")

    # -- life cycle --
    def start_node(self, i):
        subprocess.run([CTDBD], env=self.env(i), check=True, timeout=30)
        pidfile = os.path.join(self.node_dir(i), "run", "ctdbd.pid")
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                with open(pidfile) as f:
                    self.pids[i] = int(f.read().strip())
                return self.pids[i]
            except (OSError, ValueError):
                time.sleep(0.05)
        raise RuntimeError("ctdbd %d wrote no pid file" % i)

    def start(self):
        for i in range(self.n):
            self.start_node(i)
        return self

    def kill(self, i, sig=signal.SIGKILL):
        pid = self.pids.pop(i, None)
        if pid is None:
            return
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            # reap if it is our child (it daemonizes, so normally not)
            time.sleep(0.02)
        # ctdbd's helpers (eventd, recoverd) go with it; kill leftovers of
        # this node only, by their pids in our own base directory.
        self._kill_strays(i)

    def _kill_strays(self, i):
        d = self.node_dir(i)
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            try:
                with open("/proc/%s/environ" % p, "rb") as f:
                    env = f.read().split(b"\0")
            except OSError:
                continue
            if ("CTDB_BASE=" + d).encode() in env:
                try:
                    os.kill(int(p), signal.SIGKILL)
                except OSError:
                    pass

    def stop(self):
        for i in list(self.pids):
            try:
                subprocess.run([CTDB, "shutdown"], env=self.env(i), timeout=10,
                               capture_output=True)
            except subprocess.TimeoutExpired:
                pass
            self.kill(i, signal.SIGTERM)
        for i in range(self.n):
            self._kill_strays(i)

    def cleanup(self):
        self.stop()
        if os.environ.get("WD_KEEP_TMP"):
            print("keeping", self.base)
        else:
            shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.cleanup()
            raise

    def __exit__(self, *exc):
        if exc[0] is not None:
            for i in range(self.n):
                print("---- ctdbd log node %d ----\n%s" % (i, self.log(i)[-3000:]))
        self.cleanup()
        return False

    def log(self, i):
        try:
            with open(os.path.join(self.node_dir(i), "log.ctdb"), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def take_ip_time(self, ip, since=0.0):
        """Epoch time of the last "sending TAKE_IP for '<ip>'" logged by any
        node at or after since, or None."""
        import datetime
        best = None
        needle = "sending TAKE_IP for '%s'" % ip
        for i in range(self.n):
            for line in self.log(i).splitlines():
                if needle not in line:
                    continue
                try:
                    t = datetime.datetime.fromisoformat(line.split(" ", 1)[0]).timestamp()
                except ValueError:
                    continue
                if t >= since and (best is None or t > best):
                    best = t
        return best

    # -- the ctdb tool --
    def ctdb(self, i, *args, check=True, timeout=30):
        r = subprocess.run([CTDB] + list(args), env=self.env(i), capture_output=True,
                           text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError("ctdb %s on node %d failed (%d): %s%s"
                               % (" ".join(args), i, r.returncode, r.stdout, r.stderr))
        return r.stdout

    def status(self, i=0):
        """{pnn: flags_text} from `ctdb -X status`."""
        out = self.ctdb(i, "-X", "status")
        nodes = {}
        for line in out.splitlines():
            f = line.split("|")
            if len(f) > 3 and f[1].isdigit():
                # |Node|IP|Disconnected|Unknown|Banned|Disabled|Unhealthy|Stopped|Inactive|PartiallyOnline|ThisNode|
                nodes[int(f[1])] = f
        return nodes

    def ip_all(self, i=0):
        """{ip: pnn or -1} from `ctdb -X ip all`."""
        out = self.ctdb(i, "-X", "ip", "all")
        ips = {}
        for line in out.splitlines():
            f = line.split("|")
            if len(f) > 2 and f[1] and f[1] != "Public IP":
                ips[f[1]] = int(f[2])
        return ips

    def holder(self, ip, i=0):
        return self.ip_all(i).get(ip)

    def wait_healthy(self, nodes=None, timeout=90):
        """All given nodes OK (connected, healthy, not banned/disabled) and
        every public IP assigned."""
        nodes = list(range(self.n)) if nodes is None else nodes
        end = time.monotonic() + timeout
        last = ""
        while time.monotonic() < end:
            try:
                ok = True
                for i in nodes:
                    out = self.ctdb(i, "runstate", check=False)
                    if "RUNNING" not in out:
                        ok = False
                        last = "node %d runstate %s" % (i, out.strip())
                        break
                if ok:
                    st = self.status(nodes[0])
                    for i in nodes:
                        f = st.get(i)
                        # Disconnected..Inactive columns are 3..10
                        if f is None or any(x == "1" for x in f[3:10]):
                            ok = False
                            last = "status %s" % (f,)
                            break
                if ok:
                    ips = self.ip_all(nodes[0])
                    # every IP assigned, and every node serving some (a
                    # node that just became healthy gets IPs moved to it
                    # by a later takeover run: wait for that, too)
                    if (len(ips) == len(self.public_ips) and all(p >= 0 for p in ips.values())
                            and (len(ips) < len(nodes)
                                 or set(nodes) <= set(ips.values()))):
                        return
                    last = "ips %s" % ips
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                last = str(e)
            time.sleep(0.3)
        raise TimeoutError("ctdb cluster not healthy: " + last)


class CtdbNetnsLab(CtdbLab):
    """N real (not test-mode) ctdbd nodes with real IP takeover, as in notes
    ctdb.md 8.2: a switch namespace with a bridge, node namespaces with a
    veth eth0 (10.77.0.<i+1>/24), a client namespace (10.77.0.100) and
    public addresses 10.77.0.201.. on eth0, configured by ctdb's own
    10.interface event script. Each ctdbd runs with private /etc/ctdb,
    /var/lib/ctdb (bind mounts) and a tmpfs /run inside the mount namespace
    that `ip netns exec` gives it; its socket is $CTDB_SOCKET in our base
    directory, so the host reaches every node by path.

    All namespaces are named <prefix><role> and deleted on cleanup.
    The ctdb tool, log and parsers are CtdbLab's; node setup, start, kill
    and cleanup are its own.
    """

    def __init__(self, n=3, nips=4, prefix=None, base=None):
        self.n = n
        self.prefix = prefix or "cw%d" % (os.getpid() % 100000)
        self.base = base or tempfile.mkdtemp(prefix="ctdbnslab-")
        self.node_addrs = ["10.77.0.%d" % (i + 1) for i in range(n)]
        self.client_addr = "10.77.0.100"
        self.public_ips = ["10.77.0.%d" % (201 + i) for i in range(nips)]
        self.pids = {}
        self.namespaces = []
        for i in range(n):
            self._setup_node(i)
        # 10.interface checks links with ethtool, which Debian's ctdb does
        # not depend on: answer from the kernel's carrier flag instead.
        self.bindir = os.path.join(self.base, "bin")
        os.makedirs(self.bindir, exist_ok=True)
        with open(os.path.join(self.bindir, "ethtool"), "w") as f:
            f.write("#!/bin/sh\n[ \"$(cat /sys/class/net/$1/carrier 2>/dev/null)\" = 1 ] && "
                    "echo '\tLink detected: yes' || echo '\tLink detected: no'\n")
        os.chmod(os.path.join(self.bindir, "ethtool"), 0o755)

    def ns(self, role):
        return self.prefix + str(role)

    def socket(self, i):
        return os.path.join(self.node_dir(i), "ctdbd.socket")

    def _setup_node(self, i):
        d = self.node_dir(i)
        etc = os.path.join(d, "etc")
        for sub in ("etc/events/legacy", "etc/events/notification", "var/volatile",
                    "var/persistent", "var/state", "run"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        for f in ("functions", "notify.sh", "script.options"):
            if os.path.exists("/etc/ctdb/" + f):
                shutil.copy("/etc/ctdb/" + f, os.path.join(etc, f))
        for s in ("00.ctdb.script", "10.interface.script"):
            os.symlink("/usr/share/ctdb/events/legacy/" + s,
                       os.path.join(etc, "events", "legacy", s))
        with open(os.path.join(etc, "nodes"), "w") as f:
            f.write("".join(a + "\n" for a in self.node_addrs))
        with open(os.path.join(etc, "public_addresses"), "w") as f:
            f.write("".join("%s/24 eth0\n" % ip for ip in self.public_ips))
        with open(os.path.join(etc, "ctdb.conf"), "w") as f:
            f.write("[logging]\n\tlocation = file:%s/log.ctdb\n\tlog level = INFO\n"
                    "[cluster]\n\tnode address = %s\n" % (d, self.node_addrs[i]))
        with open(os.path.join(etc, "ctdb.tunables"), "w") as f:
            f.write("KeepaliveInterval=1\nKeepaliveLimit=3\nMonitorInterval=2\n"
                    "RecoverInterval=1\nElectionTimeout=2\nTakeoverTimeout=3\n")

    def _ip(self, *args, check=True):
        return subprocess.run(["ip"] + list(args), check=check, capture_output=True, text=True)

    def _addns(self, role):
        name = self.ns(role)
        self._ip("netns", "add", name)
        self.namespaces.append(name)
        self._ip("-n", name, "link", "set", "lo", "up")
        return name

    def setup_network(self):
        sw = self._addns("sw")
        self._ip("-n", sw, "link", "add", "br0", "type", "bridge")
        self._ip("-n", sw, "link", "set", "br0", "up")
        roles = [str(i) for i in range(self.n)] + ["cl"]
        addrs = self.node_addrs + [self.client_addr]
        for role, addr in zip(roles, addrs):
            name = self._addns(role)
            # veth created inside the namespaces: nothing in ours
            self._ip("-n", name, "link", "add", "eth0", "type", "veth", "peer", "name",
                     "sw" + role, "netns", sw)
            self._ip("-n", sw, "link", "set", "sw" + role, "master", "br0")
            self._ip("-n", sw, "link", "set", "sw" + role, "up")
            self._ip("-n", name, "addr", "add", addr + "/24", "dev", "eth0")
            self._ip("-n", name, "link", "set", "eth0", "up")

    def env(self, i):
        e = dict(os.environ)
        e.pop("CTDB_TEST_MODE", None)
        e.pop("CTDB_BASE", None)
        e["CTDB_SOCKET"] = self.socket(i)
        if not shutil.which("ethtool"):
            e["PATH"] = self.bindir + ":" + e.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        return e

    def node_cmd(self, i, argv):
        """argv run in node i's namespace with its private ctdb paths."""
        d = self.node_dir(i)
        script = ("mount --bind %s/etc /etc/ctdb && mount --bind %s/var /var/lib/ctdb && "
                  "mount -t tmpfs wdctdb /run && mkdir -p /run/ctdb && exec \"$@\"" % (d, d))
        return ["ip", "netns", "exec", self.ns(i), "sh", "-c", script, "sh"] + list(argv)

    def start_node(self, i):
        subprocess.run(self.node_cmd(i, [CTDBD]), env=self.env(i), check=True, timeout=30)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            pid = self._find_pid(i)
            if pid:
                self.pids[i] = pid
                return pid
            time.sleep(0.05)
        raise RuntimeError("ctdbd %d did not start" % i)

    def _find_pid(self, i):
        """The main ctdbd of node i: its CTDB_SOCKET is ours, its parent is not ctdbd."""
        want = ("CTDB_SOCKET=" + self.socket(i)).encode()
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % p, "rb") as f:
                    cmd = f.read().split(b"\0")[0]
                with open("/proc/%s/environ" % p, "rb") as f:
                    env = f.read().split(b"\0")
                with open("/proc/%s/stat" % p) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                with open("/proc/%d/cmdline" % ppid, "rb") as f:
                    pcmd = f.read().split(b"\0")[0]
            except (OSError, ValueError, IndexError):
                continue
            if cmd.endswith(b"ctdbd") and want in env and not pcmd.endswith(b"ctdbd"):
                return int(p)
        return None

    def start(self):
        self.setup_network()
        for i in range(self.n):
            self.start_node(i)
        return self

    def _kill_strays(self, i):
        want = ("CTDB_SOCKET=" + self.socket(i)).encode()
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            try:
                with open("/proc/%s/environ" % p, "rb") as f:
                    if want in f.read().split(b"\0"):
                        os.kill(int(p), signal.SIGKILL)
            except OSError:
                pass

    def kill(self, i, sig=signal.SIGKILL):
        pid = self.pids.pop(i, None)
        if pid is not None:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        time.sleep(0.2)
        self._kill_strays(i)

    def link(self, i, up):
        self._ip("-n", self.ns(i), "link", "set", "eth0", "up" if up else "down")

    def stop(self):
        for i in list(self.pids):
            try:
                subprocess.run([CTDB, "shutdown"], env=self.env(i), timeout=10,
                               capture_output=True)
            except subprocess.TimeoutExpired:
                pass
        time.sleep(0.3)
        for i in range(self.n):
            self._kill_strays(i)
        self.pids.clear()

    def cleanup(self):
        self.stop()
        for name in reversed(self.namespaces):
            self._ip("netns", "pids", name, check=False)
            pids = self._ip("netns", "pids", name, check=False).stdout.split()
            for p in pids:
                try:
                    os.kill(int(p), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
            self._ip("netns", "del", name, check=False)
        self.namespaces = []
        if os.environ.get("WD_KEEP_TMP"):
            print("keeping", self.base)
        else:
            shutil.rmtree(self.base, ignore_errors=True)

    def __exit__(self, *exc):
        self.cleanup()
        return False


    def addrs_on(self, i):
        out = self._ip("-n", self.ns(i), "-4", "-o", "addr", "show", "dev", "eth0").stdout
        return {line.split()[3].split("/")[0] for line in out.splitlines()}
