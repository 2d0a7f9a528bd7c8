"""witnessd's ctdb backend against a real 3-node ctdbd cluster (Debian ctdbd
4.17, CTDB_TEST_MODE on loopback: tests/integration/ctdblab.py), one witnessd
per node, and real Samba witness clients (python3-samba).

A client registered for a public IP, on the witness of a node that does not
host it, must get RESOURCE_CHANGE UNAVAILABLE and then AVAILABLE after
`ctdb moveip`, `ctdb disable` of the hosting node, and a SIGKILL of that
node's ctdbd; GetInterfaceList on every node must match `ctdb ip all`; and
a witnessd whose own ctdbd is killed and restarted keeps its registrations,
reconnects and still reports the next move. The time from the ctdb action
to the client receiving each notification is printed ("latency").

Run by tests/integration/run.sh inside a fresh network namespace.
"""
import ipaddress
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

NETNAME = "CTDBCLU"
AVAILABLE = 1
UNAVAILABLE = 0xff


def client_main(binding, ip, name):
    """Child process: a Samba witness client. Registers for ip, loops on
    AsyncNotify, prints one JSON line per event, re-registers after a forced
    unregistration (NOT_FOUND) as Windows clients do."""
    from harness import samba_witness, werror_of
    from samba.dcerpc import witness

    def out(**kw):
        kw["t"] = time.time()
        sys.stdout.write(json.dumps(kw) + "\n")
        sys.stdout.flush()

    conn = samba_witness(binding)
    while True:
        h = conn.RegisterEx(witness.WITNESS_V2, NETNAME, "share", ip, name, 0, 300)
        out(ev="registered", uuid=str(h.uuid))
        while True:
            try:
                r = conn.AsyncNotify(h)
            except Exception as e:  # WERR_TIMEOUT / NOT_FOUND
                w = werror_of(e)
                if w == 0x5b4:  # WERR_TIMEOUT: keep waiting
                    continue
                out(ev="error", werror=w, msg=str(e))
                break
            if r.type == witness.WITNESS_NOTIFY_RESOURCE_CHANGE:
                for m in r.messages:
                    out(ev="change", state=m.type, name=m.name)
            else:
                out(ev="notify", type=r.type)


class Client:
    """A client_main subprocess; events arrive on a queue."""

    def __init__(self, binding, ip, name="CTDBCLIENT", prefix=()):
        """prefix: a command prefix, e.g. ("ip", "netns", "exec", ns)."""
        self.ip = ip
        self.q = queue.Queue()
        self.proc = subprocess.Popen(
            list(prefix) + ["/usr/bin/python3", os.path.abspath(__file__), "--client", binding,
                            ip, name],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._reader, daemon=True).start()
        ev = self.next(timeout=15)
        if ev is None or ev["ev"] != "registered":
            self.close()
            raise RuntimeError("client did not register: %s %s" % (ev, self.proc.stderr.read()))
        self.uuid = ev["uuid"]

    def _reader(self):
        for line in self.proc.stdout:
            try:
                self.q.put(json.loads(line))
            except ValueError:
                pass

    def next(self, timeout):
        try:
            return self.q.get(timeout=timeout)
        except queue.Empty:
            return None

    def wait_change(self, state, timeout, skip=()):
        """The next RESOURCE_CHANGE for our IP with this state; other events
        (re-registrations) and changes to a state in skip are passed over,
        any other change fails."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            ev = self.next(max(left, 0.01)) if left > 0 else None
            if ev is None:
                raise AssertionError("no RESOURCE_CHANGE %#x for %s within %.0f s"
                                     % (state, self.ip, timeout))
            if ev["ev"] == "change" and ev["name"] == self.ip:
                if ev["state"] in skip:
                    continue
                if ev["state"] != state:
                    raise AssertionError("got state %#x, expected %#x" % (ev["state"], state))
                return ev

    def drain(self):
        evs = []
        while True:
            ev = self.next(0.01)
            if ev is None:
                return evs
            evs.append(ev)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()


@unittest.skipUnless(os.path.exists("/usr/sbin/ctdbd") and os.geteuid() == 0,
                     "needs Debian's ctdbd and root")
class CtdbCluster(unittest.TestCase):
    latencies = []

    @classmethod
    def setUpClass(cls):
        from ctdblab import CtdbLab
        from harness import Witnessd, WITNESSD

        if not os.path.exists(WITNESSD):
            raise unittest.SkipTest("witnessd not built: " + WITNESSD)
        # A private directory for every daemon's files: other test runs on
        # the same machine clean up /tmp/witnessd-* by name.
        cls.private = tempfile.mkdtemp(prefix="wdctdb-", dir="/var/tmp")
        tempfile.tempdir = cls.private
        # six IPv4 public addresses and one IPv6
        cls.lab = CtdbLab(3, public_ips=["10.77.1.%d" % i for i in range(1, 7)] + ["fd77::1"])
        cls.wd = []
        try:
            cls.lab.start()
            for i in range(3):
                # 0.0.0.0: test_6 also reaches each witnessd on a public IP
                d = Witnessd(netname=NETNAME, backend="ctdb", listen=("0.0.0.0",),
                             epm_port=0, reregister_delay=60, unused_timeout=300,
                             extra_sections={"ctdb": {"socket": cls.lab.socket(i),
                                                      "reread interval": 10}},
                             interfaces=[], name="ctdb%d" % i)
                cls.wd.append(d)
                d.start()
            cls.lab.wait_healthy()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        failed = getattr(cls, "_failed", False)
        for d in getattr(cls, "wd", []):
            if failed:
                print("---- witnessd log %s ----\n%s" % (d.config, d.log()[-4000:]))
            d.cleanup()
        if failed:
            for i in range(cls.lab.n):
                print("---- ctdbd log node %d ----\n%s" % (i, cls.lab.log(i)[-2500:]))
        cls.lab.cleanup()
        tempfile.tempdir = None
        if not os.environ.get("WD_KEEP_TMP"):
            shutil.rmtree(cls.private, ignore_errors=True)
        if cls.latencies:
            print("\nnotification latency (ctdb action -> client got RESOURCE_CHANGE;"
                  " A-TAKE_IP: from ctdbd's 'sending TAKE_IP' log line):")
            for what, st, secs in cls.latencies:
                print("  %-44s %-11s %7.3f s" % (what, st, secs))

    def run(self, result=None):
        r = super().run(result)
        if result is not None and (result.failures or result.errors):
            type(self)._failed = True
        return r

    # -- helpers --
    def binding(self, i):
        return "ncacn_ip_tcp:%s[%d]" % (self.lab.node_addrs[i], self.wd[i].witness_port)

    def status(self, i):
        return self.wd[i].ctl_json("status")

    def wait_witness_matches_ctdb(self, timeout=15):
        """Every witnessd's view equals `ctdb ip all` (holder per IP)."""
        from harness import wait_for

        def same():
            want = self.lab.ip_all(0)
            for i in range(3):
                got = {}
                for ip in self.wd[i].ctl_json("ip", "list")["interfaces"]:
                    got[ip["ip"]] = ip["node"] if ip["state"] == "AVAILABLE" else -1
                if got != want:
                    self._last = (i, got, want)
                    return False
            return True
        wait_for(same, timeout=timeout, step=0.2, what="witness views == ctdb ip all")

    def pick(self, avoid_nodes=()):
        """(ip, holder, witness node): a witness node that neither hosts the
        IP nor is in avoid_nodes."""
        ips = self.lab.ip_all(0)
        for ip in sorted(ips):
            h = ips[ip]
            if h < 0:
                continue
            for w in range(3):
                if w != h and w not in avoid_nodes:
                    return ip, h, w
        raise AssertionError("no suitable IP in %s" % ips)

    def expect_cycle(self, client, what, t0, t_unavail=20, t_avail=30):
        u = client.wait_change(UNAVAILABLE, t_unavail)
        self.latencies.append((what, "UNAVAILABLE", u["t"] - t0))
        # A node that is disabled first, then loses the IP, is reported
        # UNAVAILABLE twice: UNAVAILABLE is sticky until delivered and a move
        # is UNAVAILABLE+AVAILABLE (Samba's srv_witness_nt.c).
        a = client.wait_change(AVAILABLE, t_avail, skip=(UNAVAILABLE,))
        self.latencies.append((what, "AVAILABLE", a["t"] - t0))
        # our own share: from ctdbd logging the takeover to the client
        tk = self.lab.take_ip_time(client.ip, since=t0)
        if tk is not None:
            self.latencies.append((what, "A-TAKE_IP", a["t"] - tk))
        return u, a

    # -- tests, in order --
    def test_1_interface_list_matches_ctdb(self):
        from harness import samba_witness
        from samba.dcerpc import witness

        self.wait_witness_matches_ctdb()
        want = self.lab.ip_all(0)
        for i in range(3):
            conn = samba_witness(self.binding(i))
            got = {}
            for itf in conn.GetInterfaceList().interfaces:
                if itf.flags & witness.WITNESS_INFO_IPv4_VALID:
                    got[itf.ipv4] = itf
                else:
                    self.assertTrue(itf.flags & witness.WITNESS_INFO_IPv6_VALID)
                    got[ipaddress.ip_address(itf.ipv6).compressed] = itf
            self.assertEqual(set(got), set(want), "node %d" % i)
            for ip, holder in want.items():
                itf = got[ip]
                self.assertEqual(itf.state, witness.WITNESS_STATE_AVAILABLE, ip)
                # InterfaceGroupName names the hosting node ([MS-SWN] 3.1.1.2)
                self.assertEqual(itf.group_name, "%s-%d" % (NETNAME, holder))
                # [MS-SWN] 3.1.4.1: WITNESS_IF on IPs not hosted by this node
                flags = itf.flags & ~(witness.WITNESS_INFO_IPv4_VALID |
                                      witness.WITNESS_INFO_IPv6_VALID)
                self.assertEqual(flags, witness.WITNESS_INFO_WITNESS_IF if holder != i else 0)
                self.assertEqual(bool(itf.flags & witness.WITNESS_INFO_WITNESS_IF), holder != i,
                                 "node %d ip %s holder %d flags %#x" % (i, ip, holder, itf.flags))
            st = self.status(i)
            self.assertEqual(st["backend"], "ctdb")
            self.assertEqual(st["cluster"]["state"], "ok")
            self.assertEqual(st["cluster"]["pnn"], i)
            self.assertTrue(st["cluster"]["connected"])

    def test_2_disable_hosting_node(self):
        ip, h, w = self.pick()
        c = Client(self.binding(w), ip)
        try:
            t0 = time.time()
            self.lab.ctdb(0, "disable", "-n", str(h))
            self.expect_cycle(c, "ctdb disable -n <host>", t0)
            self.assertNotEqual(self.lab.holder(ip), h)
            # the disabled node's witnessd keeps serving and reports it
            from harness import wait_for
            wait_for(lambda: self.status(h)["cluster"]["state"] == "disabled", timeout=5,
                     what="disabled state")
        finally:
            c.close()
            self.lab.ctdb(0, "enable", "-n", str(h), check=False)
        self.lab.wait_healthy()
        self.wait_witness_matches_ctdb()

    def test_2b_ban_hosting_node(self):
        ip, h, w = self.pick()
        c = Client(self.binding(w), ip)
        try:
            t0 = time.time()
            self.lab.ctdb(0, "ban", "60", "-n", str(h))
            self.expect_cycle(c, "ctdb ban -n <host>", t0)
            self.assertNotEqual(self.lab.holder(ip), h)
            # the banned node's witnessd keeps serving and reports it
            from harness import wait_for
            wait_for(lambda: self.status(h)["cluster"]["state"] == "banned", timeout=5,
                     what="banned state")
            self.assertTrue(self.status(h)["cluster"]["connected"])
        finally:
            c.close()
            self.lab.ctdb(0, "unban", "-n", str(h), check=False)
        self.lab.wait_healthy()
        self.wait_witness_matches_ctdb()

    def test_3_kill_hosting_ctdbd(self):
        ip, h, w = self.pick()
        c = Client(self.binding(w), ip)
        try:
            t0 = time.time()
            self.lab.kill(h)
            self.expect_cycle(c, "kill -9 ctdbd of <host>", t0)
            # the witnessd of the dead node keeps serving and says so
            st = self.status(h)["cluster"]
            self.assertFalse(st["connected"])
            self.assertEqual(st["state"], "ctdbd-down")
            self.assertTrue(self.wd[h].alive())
        finally:
            c.close()
            if h not in self.lab.pids:
                self.lab.start_node(h)
        self.lab.wait_healthy()
        self.wait_witness_matches_ctdb(timeout=20)

    def test_4_moveip(self):
        ip, h, w = self.pick()
        # move to the node that is neither host nor witness when possible, so
        # that the witness sees no local ctdb message at all (4.17 relays)
        t = [n for n in range(3) if n not in (h, w)][0]
        c = Client(self.binding(w), ip)
        try:
            t0 = time.time()
            self.lab.ctdb(0, "moveip", ip, str(t))
            self.expect_cycle(c, "ctdb moveip (witness on third node)", t0)
            self.assertEqual(self.lab.holder(ip), t)
        finally:
            c.close()
        self.wait_witness_matches_ctdb()

    def test_5_local_ctdbd_restart_keeps_registrations(self):
        ip, h, w = self.pick()
        c = Client(self.binding(w), ip)
        try:
            uuid = c.uuid
            connects = self.status(w)["cluster"]["connects"]
            self.lab.kill(w)
            time.sleep(1)
            st = self.status(w)
            self.assertEqual(st["cluster"]["state"], "ctdbd-down")
            self.assertGreaterEqual(st["registrations"], 1)
            self.lab.start_node(w)
            self.lab.wait_healthy()
            self.wait_witness_matches_ctdb(timeout=20)
            st = self.status(w)
            self.assertEqual(st["cluster"]["connects"], connects + 1)
            self.assertEqual(st["cluster"]["state"], "ok")
            moved = [e for e in c.drain() if e["ev"] == "change"]
            regs = self.wd[w].ctl_json("list")["registrations"]
            if not moved:
                # the IP stayed where it was: the registration is untouched
                self.assertIn(uuid, regs)
            # whatever happened meanwhile, the next move is reported
            ips = self.lab.ip_all(0)
            h = ips[ip]
            t = [n for n in range(3) if n != h][0]
            t0 = time.time()
            self.lab.ctdb(0, "moveip", ip, str(t))
            self.expect_cycle(c, "moveip after local ctdbd restart", t0)
        finally:
            c.close()

    def test_6_tcp_client_tickles_and_release(self):
        """A witness connection to a public IP is registered with ctdbd for
        tickle ACKs (TCP_CLIENT) and is closed when the IP is released."""
        from harness import samba_witness, wait_for

        ips = self.lab.ip_all(0)
        ip = sorted(ips)[0]
        w = ips[ip]
        port = self.wd[w].witness_port
        # ctdbd's test mode adds no public IP to lo (observed): put the address
        # on lo ourselves so a client can connect to it
        subprocess.run(["ip", "addr", "add", ip + "/32", "dev", "lo"], check=True)
        try:
            conn = samba_witness("ncacn_ip_tcp:%s[%d]" % (ip, port))
            conn.GetInterfaceList()

            def tickled():
                out = self.lab.ctdb(w, "gettickles", ip, str(port))
                return ("DST: %s:%d" % (ip, port)) in out
            wait_for(tickled, timeout=10, step=0.2, what="ctdb gettickles lists the connection")
            st = self.status(w)["cluster"]
            self.assertGreaterEqual(st["tracked_connections"], 1)
            self.assertGreaterEqual(st["tcp_client_sent"], 1)
            self.assertEqual(st["tcp_client_refused"], 0)

            t = (w + 1) % 3
            t0 = time.time()
            self.lab.ctdb(0, "moveip", ip, str(t))

            def closed():
                try:
                    conn.GetInterfaceList()
                    return False
                except Exception:
                    return True
            wait_for(closed, timeout=10, step=0.02, what="connection to released IP closed")
            self.latencies.append(("moveip: connection to released IP", "closed",
                                   time.time() - t0))
            self.assertIn("daemon.ip_released", self.wd[w].log())
            wait_for(lambda: self.status(w)["cluster"]["tracked_connections"] == 0,
                     timeout=5, what="connection untracked")
        finally:
            subprocess.run(["ip", "addr", "del", ip + "/32", "dev", "lo"], check=False)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        client_main(*sys.argv[2:5])
        sys.exit(0)
    unittest.main()
