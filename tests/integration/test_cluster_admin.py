"""witnessctl for the whole cluster: a real 3-node ctdbd cluster (Debian
ctdbd 4.17 in CTDB_TEST_MODE, tests/integration/ctdblab.py), one witnessd per
node with the ctdb backend, and real Samba witness clients (python3-samba)
registered with the witnessd of nodes 0, 1 and 2.

The admin commands given on one node reach every node's witnessd through
ctdbd's messaging: list shows every registration with its holding node;
client-move and force-unregister act on the node that holds the
registration; drain moves every client of a node's IPs, spread over the
other nodes, and --wait sees them register again (the clients here do, as
Windows does after a CLIENT_MOVE); a stopped witnessd is named as not
answering (exit status 4). A malformed or oversized peer message, sent
through ctdbd by a tiny client of its socket (fault injection: no real peer
sends one), is logged and dropped, and the daemon keeps serving.

One cluster start for the whole file. Run by tests/integration/run.sh inside
a fresh network namespace.
"""
import json
import os
import queue
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

NETNAME = "CLUADM"
SRVID_WITNESSD = 0x5744000000000001
CTDB_BROADCAST_CONNECTED = 0xF0000004
WERR_NOT_FOUND = 0x490
WERR_TIMEOUT = 0x5b4


def client_main(binding, ip, name):
    """Child process: a Samba witness client registered for ip. On a
    CLIENT_MOVE it registers again for the first address it was given and
    unregisters the old registration, as a Windows client does; it prints one
    JSON line per event."""
    from harness import samba_witness, werror_of
    from samba.dcerpc import witness

    def out(**kw):
        sys.stdout.write(json.dumps(kw) + "\n")
        sys.stdout.flush()

    conn = samba_witness(binding)
    h = conn.RegisterEx(witness.WITNESS_V2, NETNAME, "share", ip, name, 0, 300)
    out(ev="registered", uuid=str(h.uuid), ip=ip)
    while True:
        try:
            r = conn.AsyncNotify(h)
        except Exception as e:
            w = werror_of(e)
            if w == WERR_TIMEOUT:
                continue
            out(ev="error", werror=w)
            return
        if r.type == witness.WITNESS_NOTIFY_CLIENT_MOVE:
            addrs = [a.ipv4 for m in r.messages for a in m.addr if a.flags & 1]
            out(ev="move", addrs=addrs)
            old = h
            h = conn.RegisterEx(witness.WITNESS_V2, NETNAME, "share", addrs[0], name, 0, 300)
            out(ev="registered", uuid=str(h.uuid), ip=addrs[0])
            conn.UnRegister(old)
        else:
            out(ev="notify", type=r.type)


class Client:
    def __init__(self, binding, ip, name):
        self.name = name
        self.q = queue.Queue()
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", os.path.abspath(__file__), "--client", binding, ip, name],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._reader, daemon=True).start()
        ev = self.next(15)
        if ev is None or ev["ev"] != "registered":
            self.close()
            raise RuntimeError("client %s did not register: %s %s"
                               % (name, ev, self.proc.stderr.read()))
        self.uuid = ev["uuid"]
        self.ip = ip

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

    def expect(self, kind, timeout=10):
        ev = self.next(timeout)
        if ev is None or ev["ev"] != kind:
            raise AssertionError("client %s: expected %s, got %s" % (self.name, kind, ev))
        if kind == "registered":
            self.uuid, self.ip = ev["uuid"], ev["ip"]
        return ev

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()


def ctdb_message(destnode, srvid, data):
    """A CTDB_REQ_MESSAGE as ctdbd's clients send it (ctdb_req_message_old,
    ctdb/include/ctdb_protocol.h): 32-byte header, srvid, datalen, data."""
    body = struct.pack("=QI", srvid, len(data)) + data
    hdr = struct.pack("=IIIIIIII", 32 + len(body), 0x43544442, 1, 1, 5, destnode, 0, 0)
    return hdr + body


def admin_envelope(pnn, payload, length=None):
    """The CTDB_WDPEER_ADMIN envelope (include/witness/ctdb.h)."""
    return struct.pack("=IIIII", 0x52504457, 1, 4, pnn,
                       len(payload) if length is None else length) + payload


def peer_request(to, rid, text, kind=1, part=0, nparts=1):
    """The admin peer message inside it (include/witness/ctl.h)."""
    return struct.pack("=IIQII", kind, to, rid, part, nparts) + text


@unittest.skipUnless(os.path.exists("/usr/sbin/ctdbd") and os.geteuid() == 0,
                     "needs Debian's ctdbd and root")
class ClusterAdmin(unittest.TestCase):
    samples = {}

    @classmethod
    def setUpClass(cls):
        from ctdblab import CtdbLab
        from harness import Witnessd, WITNESSD

        if not os.path.exists(WITNESSD):
            raise unittest.SkipTest("witnessd not built: " + WITNESSD)
        cls.t0 = time.monotonic()
        cls.private = tempfile.mkdtemp(prefix="wdcluadm-", dir="/var/tmp")
        tempfile.tempdir = cls.private
        cls.lab = CtdbLab(3, public_ips=["10.77.2.%d" % i for i in range(1, 7)])
        cls.wd, cls.clients = [], []
        try:
            cls.lab.start()
            for i in range(3):
                d = Witnessd(netname=NETNAME, backend="ctdb",
                             listen=(cls.lab.node_addrs[i],), epm_port=0,
                             reregister_delay=0, unused_timeout=300,
                             extra_sections={"ctdb": {"socket": cls.lab.socket(i),
                                                      "reread interval": 5,
                                                      "peer timeout": 2}},
                             interfaces=[], name="cluadm%d" % i)
                cls.wd.append(d)
                d.start()
            cls.lab.wait_healthy()
            cls.wait_views()
        except BaseException:
            cls.tearDownClass()
            raise
        print("\ncluster and 3 witnessd up in %.1f s" % (time.monotonic() - cls.t0))

    @classmethod
    def wait_views(cls):
        from harness import wait_for

        def same():
            want = cls.lab.ip_all(0)
            for d in cls.wd:
                got = {ip["ip"]: ip["node"] for ip in d.ctl_json("ip", "list")["interfaces"]
                       if ip["state"] == "AVAILABLE"}
                if got != want:
                    return False
            return True
        wait_for(same, timeout=30, step=0.2, what="witness views == ctdb ip all")

    @classmethod
    def tearDownClass(cls):
        failed = getattr(cls, "_failed", False)
        for c in getattr(cls, "clients", []):
            c.close()
        for d in getattr(cls, "wd", []):
            if failed:
                print("---- witnessd log %s ----\n%s" % (d.config, d.log()[-4000:]))
            d.cleanup()
        if hasattr(cls, "lab"):
            cls.lab.cleanup()
        tempfile.tempdir = None
        if not os.environ.get("WD_KEEP_TMP"):
            shutil.rmtree(cls.private, ignore_errors=True)
        for k, v in sorted(cls.samples.items()):
            print("\n---- sample: %s ----\n%s" % (k, v))
        if hasattr(cls, "t0"):
            print("test_cluster_admin: %.1f s" % (time.monotonic() - cls.t0))

    def run(self, result=None):
        r = super().run(result)
        if result is not None and (result.failures or result.errors):
            type(self)._failed = True
        return r

    # -- helpers --
    def binding(self, i):
        return "ncacn_ip_tcp:%s[%d]" % (self.lab.node_addrs[i], self.wd[i].witness_port)

    def ips_of(self, node):
        return sorted(ip for ip, n in self.lab.ip_all(0).items() if n == node)

    def client(self, on, ip, name):
        c = Client(self.binding(on), ip, name)
        type(self).clients.append(c)
        return c

    def ctl(self, i, *args, check=True):
        return self.wd[i].ctl(*args, check=check)

    def regs(self, i, *args):
        return self.wd[i].ctl_json("list", *args)["registrations"]

    # -- tests, in order, on one cluster --
    def test_1_list_everywhere_with_holding_node(self):
        cls = type(self)
        n1, n2 = self.ips_of(1), self.ips_of(2)
        cls.a = self.client(0, n1[0], "CLA")  # on node 0, IP of node 1
        cls.b = self.client(1, n2[0], "CLB")  # on node 1, IP of node 2
        cls.c = self.client(2, n1[-1], "CLC")  # on node 2, IP of node 1
        t = time.monotonic()
        r = self.ctl(2, "list")
        took = time.monotonic() - t
        regs = self.regs(2)
        self.assertEqual({u: r["node"] for u, r in regs.items()},
                         {cls.a.uuid: 0, cls.b.uuid: 1, cls.c.uuid: 2})
        self.assertEqual({r["client_computer_name"] for r in regs.values()},
                         {"CLA", "CLB", "CLC"})
        self.assertNotIn("nodes_not_answering", self.wd[2].ctl_json("list"))
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["Registration-UUID:", "Node", "NetName", "ShareName",
                                            "IpAddress", "ClientComputerName"])
        rows = {l.split()[0]: l.split() for l in lines[2:]}
        self.assertEqual(rows[cls.b.uuid][1:], ["1", NETNAME, "share", cls.b.ip, "CLB"])
        # every node answered: no waiting for the timeout
        self.assertLess(took, 1.5)
        # the same from node 0
        self.assertEqual(set(self.regs(0)), set(regs))
        cls.samples["list (table, on node 2)"] = r.stdout
        cls.samples["list --json (on node 2)"] = self.ctl(2, "list", "--json").stdout

    def test_2_client_move_reaches_the_holding_node(self):
        cls = type(self)
        out = self.wd[2].ctl_json("client-move", "--client-computer-name", "^CLB$",
                                  "--new-node", "0")
        self.assertEqual(out["message"], {"type": "CLIENT_MOVE_TO_NODE", "new_node": 0})
        self.assertEqual({u: r["node"] for u, r in out["registrations"].items()},
                         {cls.b.uuid: 1})
        ev = cls.b.expect("move")
        self.assertEqual(sorted(ev["addrs"]), self.ips_of(0))
        cls.b.expect("registered")
        # the others got nothing
        self.assertIsNone(cls.a.next(0.3))
        self.assertIsNone(cls.c.next(0.1))
        # nothing matched anywhere: exit 1
        r = self.ctl(2, "client-move", "--client-computer-name", "^nobody$", "--new-node", "0",
                     check=False)
        self.assertEqual(r.returncode, 1, r.stderr)

    def test_3_drain_spreads_and_waits(self):
        cls = type(self)
        n1 = self.ips_of(1)
        cls.d = self.client(1, n1[0], "CLD")  # on node 1, IP of node 1
        on_n1 = [c for c in (cls.a, cls.b, cls.c, cls.d) if c.ip in n1]
        self.assertEqual({c.name for c in on_n1}, {"CLA", "CLC", "CLD"})
        t = time.monotonic()
        r = self.ctl(0, "drain", "1", "--wait", "20", "--json")
        took = time.monotonic() - t
        res = json.loads(r.stdout)
        self.assertEqual(res["message"]["type"], "DRAIN")
        self.assertEqual(sorted(res["message"]["ips"]), n1)
        self.assertEqual(res["message"]["targets"], [{"node": 0}, {"node": 2}])
        moved = res["registrations"]
        self.assertEqual({r["client_computer_name"] for r in moved.values()},
                         {"CLA", "CLC", "CLD"})
        self.assertEqual({r["client_computer_name"]: r["node"] for r in moved.values()},
                         {"CLA": 0, "CLC": 2, "CLD": 1})
        to = [r["moved_to"]["node"] for r in moved.values()]
        self.assertEqual(sorted(set(to)), [0, 2])
        self.assertLessEqual(abs(to.count(0) - to.count(2)), 1)
        # each client got its target node's addresses and registered again there
        for c in on_n1:
            want = next(r["moved_to"]["node"] for r in moved.values()
                        if r["client_computer_name"] == c.name)
            ev = c.expect("move")
            self.assertEqual(sorted(ev["addrs"]), self.ips_of(want))
            c.expect("registered")
            self.assertNotIn(c.ip, n1)
        w = res["wait"]["nodes"]
        self.assertEqual(set(w), {"0", "1", "2"})
        for node, st in w.items():
            self.assertEqual(st["moved"], st["registered_again"], (node, st))
            self.assertEqual(st["not_registered_again"], [])
        self.assertLess(took, 15)
        # the text report of the same (nothing left to move now: exit 1)
        cls.samples["drain --wait (json, on node 0)"] = r.stdout
        r = self.ctl(0, "drain", "1", check=False)
        self.assertEqual(r.returncode, 1)
        for c in (cls.a, cls.b, cls.c, cls.d):
            self.assertNotIn(c.ip, n1)

    def test_4_drain_text_report(self):
        cls = type(self)
        # move CLB back to node 1's IP through the witness, then drain with --to
        n1 = self.ips_of(1)
        self.wd[0].ctl_json("client-move", "--client-computer-name", "^CLB$", "--new-ip", n1[0])
        cls.b.expect("move")
        cls.b.expect("registered")
        self.assertEqual(cls.b.ip, n1[0])
        r = self.ctl(0, "drain", "1", "--to", "2", "--wait", "10")
        cls.samples["drain --to 2 --wait 10 (text, on node 0)"] = r.stdout
        self.assertRegex(r.stdout, r"(?m)^DRAIN: node 1 \(.*\) -> node 2$")
        self.assertRegex(r.stdout, r"(?m)^%s +1 +%s +CLB +node 2$"
                         % (cls.b.uuid, n1[0].replace(".", r"\.")))
        self.assertRegex(r.stdout, r"(?m)^1 +1 +1 +-$")
        cls.b.expect("move")
        cls.b.expect("registered")

    def test_5_force_unregister_from_another_node(self):
        cls = type(self)
        e = self.client(2, self.ips_of(0)[0], "CLE")
        out = self.wd[0].ctl_json("force-unregister", "--registration", e.uuid)
        self.assertEqual({u: r["node"] for u, r in out["registrations"].items()}, {e.uuid: 2})
        ev = e.expect("error")
        self.assertEqual(ev["werror"], WERR_NOT_FOUND)
        self.assertNotIn(e.uuid, self.regs(1))

    def test_6_bad_input_and_json_errors(self):
        r = self.ctl(1, "list", "--net-name", "(", check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("Unmatched ( or", r.stderr)
        r = self.ctl(1, "--json", "list", "--client-computer-name", "a{2,1}", check=False)
        self.assertEqual(r.returncode, 2)
        e = json.loads(r.stdout)
        self.assertEqual(e["code"], "WD_EINVAL")
        self.assertIn("--witness-client-computer-name", e["error"])
        r = self.ctl(1, "--json", "drain", "7", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("node 7 hosts no IP address", json.loads(r.stdout)["error"])
        r = self.ctl(1, "--json", "drain", "1", "--to", "1", check=False)
        self.assertEqual(r.returncode, 2)
        r = self.ctl(1, "--json", "ip", "set", self.ips_of(0)[0], "--unavailable", check=False)
        self.assertEqual(r.returncode, 3)
        self.assertEqual(json.loads(r.stdout)["code"], "WD_ENOTSUP")

    def test_7_malformed_peer_messages_are_dropped(self):
        """Fault injection: a tiny client of node 1's ctdbd socket broadcasts
        malformed and oversized messages on witnessd's srvid."""
        before = self.wd[0].log().count("bad_peer_message")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.lab.socket(1))
        bad = [
            b"WDPR",                                              # short
            admin_envelope(1, b"x" * 10, length=11),              # length beyond the data
            admin_envelope(1, b"x" * 40000),                      # over the 32 KiB bound
            admin_envelope(1, peer_request(0xFFFFFFFF, 1, b"{not json")),
            admin_envelope(1, peer_request(0xFFFFFFFF, 2, b'{"cmd":"ip-set"}')),
            admin_envelope(1, peer_request(0xFFFFFFFF, 3, b'{"cmd":"list"}', nparts=9)),
            admin_envelope(1, peer_request(0xFFFFFFFF, 4, b'{"cmd":"list"}', kind=7)),
            admin_envelope(1, peer_request(0, 5, b'{"ok":true,"result":1}', kind=2)),
        ]
        for m in bad * 5:
            s.sendall(ctdb_message(CTDB_BROADCAST_CONNECTED, SRVID_WITNESSD, m))
        time.sleep(1.0)
        s.close()
        log = self.wd[0].log()
        self.assertGreater(log.count("bad_peer_message"), before)
        self.assertIn("ctdb.bad_peer_message len=4 ", log)
        self.assertIn("error=", log)
        # rate limited: 40 bad messages, at most 5 lines a second per layer
        self.assertLessEqual(log.count("bad_peer_message") - before, 4 * 5)
        # nothing was acted on, and every daemon still serves
        for d in self.wd:
            self.assertTrue(d.alive())
        peers = self.wd[0].ctl_json("peers")
        self.assertEqual(sorted(n["node"] for n in peers["nodes"]), [0, 1, 2])
        self.assertEqual(len(self.regs(0)), 4)
        st = self.wd[0].ctl_json("status")["cluster"]["messages"]
        self.assertGreater(st["peer_malformed"], 0)

    def test_8_stopped_witnessd_is_named(self):
        cls = type(self)
        expected = {u for u, r in self.regs(0).items() if r["node"] != 1}
        self.wd[1].stop()
        t = time.monotonic()
        r = self.ctl(0, "list", check=False)
        took = time.monotonic() - t
        self.assertEqual(r.returncode, 4, r.stderr)
        self.assertIn("node 1 did not answer", r.stderr)
        self.assertGreaterEqual(took, 1.8)  # the 2 s peer timeout
        self.assertLess(took, 5)
        rows = {l.split()[0] for l in r.stdout.splitlines()[2:]}
        self.assertEqual(rows, expected)
        cls.samples["list on node 0 with node 1's witnessd stopped (exit 4)"] = (
            r.stdout + r.stderr)
        r = self.ctl(0, "--json", "list", check=False)
        self.assertEqual(r.returncode, 4)
        res = json.loads(r.stdout)
        self.assertEqual(res["nodes_not_answering"], [1])
        self.assertEqual(set(res["registrations"]), expected)
        r = self.ctl(0, "--json", "peers", check=False)
        self.assertEqual(r.returncode, 4)
        self.assertEqual(json.loads(r.stdout)["nodes_not_answering"], [1])
        cls.samples["peers on node 0 with node 1's witnessd stopped (exit 4)"] = r.stdout


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        client_main(*sys.argv[2:5])
        sys.exit(0)
    unittest.main(verbosity=2)
