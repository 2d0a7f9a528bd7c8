"""witnessd's ctdb backend on a real (not test-mode) 3-node ctdbd cluster with
real IP takeover (tests/integration/ctdblab.py CtdbNetnsLab):
every node is a network namespace whose public addresses ctdb's 10.interface
event script really adds and removes; a witnessd runs in each node namespace,
and the Samba witness client in a client namespace reaches them over a bridge.

Checks: GetInterfaceList matches `ctdb ip all` and the addresses really on the
interfaces; RESOURCE_CHANGE UNAVAILABLE/AVAILABLE after `ctdb moveip` and after
a node failure (ctdbd SIGKILLed and its link down, as a crashed machine); a
witness connection to a public IP is closed when the IP moves away.
"""
import os
import subprocess
import sys
import tempfile
import shutil
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_ctdb import Client, AVAILABLE, UNAVAILABLE, NETNAME  # noqa: E402

PORT = 49200


@unittest.skipUnless(os.path.exists("/usr/sbin/ctdbd") and os.geteuid() == 0,
                     "needs Debian's ctdbd and root")
class CtdbNetnsCluster(unittest.TestCase):
    latencies = []

    @classmethod
    def setUpClass(cls):
        from ctdblab import CtdbNetnsLab
        from harness import Witnessd, WITNESSD, wait_for

        if not os.path.exists(WITNESSD):
            raise unittest.SkipTest("witnessd not built: " + WITNESSD)
        cls.private = tempfile.mkdtemp(prefix="wdctdbns-", dir="/var/tmp")
        tempfile.tempdir = cls.private
        cls.lab = CtdbNetnsLab(3, nips=4)
        cls.wd = []
        try:
            cls.lab.start()
            for i in range(3):
                d = Witnessd(netname=NETNAME, backend="ctdb", listen=("0.0.0.0",),
                             witness_port=PORT, epm_port=0, reregister_delay=60,
                             unused_timeout=300,
                             extra_sections={"ctdb": {"socket": cls.lab.socket(i),
                                                      "reread interval": 10}},
                             interfaces=[], name="ns%d" % i)
                cls.wd.append(d)
                cls._start_in_ns(d, cls.lab.ns(i))
            cls.lab.wait_healthy(timeout=90)
        except BaseException:
            cls.tearDownClass()
            raise

    @staticmethod
    def _start_in_ns(d, ns):
        """harness.Witnessd.start, but inside node namespace ns."""
        from harness import WITNESSD, wait_for
        d._log = open(d.logfile, "ab")
        d.proc = subprocess.Popen(["ip", "netns", "exec", ns, WITNESSD, "--config", d.config,
                                   "--foreground"], stdout=d._log, stderr=subprocess.STDOUT,
                                  env=d.env)

        def ready():
            if d.proc.poll() is not None:
                raise RuntimeError("witnessd exited:\n" + d.log())
            return os.path.exists(d.socket) and d.ctl("status", check=False).returncode == 0
        wait_for(ready, timeout=10, what="witnessd in " + ns)

    @classmethod
    def tearDownClass(cls):
        failed = getattr(cls, "_failed", False)
        for d in getattr(cls, "wd", []):
            if failed:
                print("---- witnessd log %s ----\n%s" % (d.config, d.log()[-3000:]))
            d.cleanup()
        if failed:
            for i in range(cls.lab.n):
                print("---- ctdbd log node %d ----\n%s" % (i, cls.lab.log(i)[-2000:]))
        cls.lab.cleanup()
        tempfile.tempdir = None
        if not os.environ.get("WD_KEEP_TMP"):
            shutil.rmtree(cls.private, ignore_errors=True)
        if cls.latencies:
            print("\nnotification latency, real IP takeover (ctdb action -> client):")
            for what, st, secs in cls.latencies:
                print("  %-44s %-11s %7.3f s" % (what, st, secs))

    def run(self, result=None):
        r = super().run(result)
        if result is not None and (result.failures or result.errors):
            type(self)._failed = True
        return r

    # -- helpers --
    def client_prefix(self):
        return ("ip", "netns", "exec", self.lab.ns("cl"))

    def binding(self, addr):
        return "ncacn_ip_tcp:%s[%d]" % (addr, PORT)

    def client(self, node, ip):
        return Client(self.binding(self.lab.node_addrs[node]), ip, prefix=self.client_prefix())

    def status(self, i):
        return self.wd[i].ctl_json("status")

    def in_client_ns(self, code):
        r = subprocess.run(list(self.client_prefix()) + ["/usr/bin/python3", "-c", code],
                           capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, PYTHONPATH=os.path.dirname(
                               os.path.abspath(__file__))))
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def wait_views(self, timeout=20):
        from harness import wait_for

        def same():
            want = self.lab.ip_all(0)
            for i in range(3):
                got = {ip["ip"]: ip["node"] if ip["state"] == "AVAILABLE" else -1
                       for ip in self.wd[i].ctl_json("ip", "list")["interfaces"]}
                if got != want:
                    return False
            return True
        wait_for(same, timeout=timeout, step=0.2, what="witness views == ctdb ip all")

    def pick(self):
        ips = self.lab.ip_all(0)
        for ip in sorted(ips):
            h = ips[ip]
            if h >= 0:
                return ip, h, [n for n in range(3) if n != h][0]
        raise AssertionError("no assigned IP: %s" % ips)

    def expect_cycle(self, c, what, t0, t_unavail=20, t_avail=40):
        u = c.wait_change(UNAVAILABLE, t_unavail)
        self.latencies.append((what, "UNAVAILABLE", u["t"] - t0))
        a = c.wait_change(AVAILABLE, t_avail, skip=(UNAVAILABLE,))
        self.latencies.append((what, "AVAILABLE", a["t"] - t0))

    # -- tests --
    def test_1_interface_list_and_real_addresses(self):
        self.wait_views()
        want = self.lab.ip_all(0)
        self._check_interfaces(want)

    def _check_interfaces(self, want):
        for ip, h in want.items():
            self.assertIn(ip, self.lab.addrs_on(h), "%s not configured on node %d" % (ip, h))
        code = ("from harness import samba_witness\n"
                "for a in %r:\n"
                "    c = samba_witness('ncacn_ip_tcp:%%s[%d]' %% a)\n"
                "    print(a, sorted((i.ipv4, i.state, i.flags) for i in"
                " c.GetInterfaceList().interfaces))\n" % (self.lab.node_addrs, PORT))
        out = self.in_client_ns(code)
        for i, line in enumerate(out.splitlines()):
            addr, rest = line.split(" ", 1)
            got = eval(rest)  # our own repr above
            self.assertEqual(addr, self.lab.node_addrs[i])
            self.assertEqual([g[0] for g in got], sorted(want))
            for ipv4, state, flags in got:
                self.assertEqual(state, 1)
                self.assertEqual(bool(flags & 0x4), want[ipv4] != i, (i, ipv4, flags))

    def test_2_node_failure(self):
        ip, h, w = self.pick()
        c = self.client(w, ip)
        try:
            t0 = time.time()
            self.lab.kill(h)
            self.lab.link(h, False)  # a crashed machine: its addresses are gone too
            self.expect_cycle(c, "node failure (kill -9 + link down)", t0)
            holder = self.lab.holder(ip, i=w)
            self.assertNotEqual(holder, h)
            self.assertIn(ip, self.lab.addrs_on(holder))
        finally:
            c.close()
            self.lab.link(h, True)
            if h not in self.lab.pids:
                self.lab.start_node(h)
        # back before the moveip tests, so that its rejoining does not move
        # IPs under them (and no moveip disabled takeover runs before this:
        # `ctdb moveip` turns them off for a while)
        self.lab.wait_healthy(timeout=90)
        self.wait_views()

    def test_3_moveip_real(self):
        ip, h, w = self.pick()
        t = [n for n in range(3) if n != h][-1]
        c = self.client(w, ip)
        try:
            t0 = time.time()
            self.lab.ctdb(0, "moveip", ip, str(t))
            self.expect_cycle(c, "moveip (real takeover)", t0)
            self.assertIn(ip, self.lab.addrs_on(t))
            self.assertNotIn(ip, self.lab.addrs_on(h))
        finally:
            c.close()
        self.wait_views()

    def test_4_connection_to_moved_ip_closed(self):
        ip, h, w = self.pick()
        code = ("import time, sys\n"
                "from harness import samba_witness\n"
                "c = samba_witness('ncacn_ip_tcp:%s[%d]')\n"
                "c.GetInterfaceList()\n"
                "print('connected', flush=True)\n"
                "sys.stdin.readline()\n"
                "t = time.time()\n"
                "while time.time() - t < 10:\n"
                "    try:\n"
                "        c.GetInterfaceList()\n"
                "    except Exception as e:\n"
                "        print('closed', time.time(), flush=True)\n"
                "        break\n"
                "    time.sleep(0.02)\n" % (ip, PORT))
        p = subprocess.Popen(list(self.client_prefix()) + ["/usr/bin/python3", "-c", code],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             env=dict(os.environ, PYTHONPATH=os.path.dirname(
                                 os.path.abspath(__file__))))
        try:
            self.assertEqual(p.stdout.readline().strip(), "connected")
            from harness import wait_for
            wait_for(lambda: ("DST: %s:%d" % (ip, PORT)) in self.lab.ctdb(h, "gettickles", ip),
                     timeout=10, what="tickle registered")
            t = (h + 1) % 3
            t0 = time.time()
            self.lab.ctdb(0, "moveip", ip, str(t))
            p.stdin.write("go\n")
            p.stdin.flush()
            line = p.stdout.readline().split()
            self.assertEqual(line[:1], ["closed"])
            self.latencies.append(("moveip: connection to moved IP", "closed",
                                   float(line[1]) - t0))
        finally:
            p.kill()
            p.wait()
            p.stdin.close()
            p.stdout.close()
        self.wait_views()


if __name__ == "__main__":
    unittest.main()
