"""witnessctl doctor (issue 8 part 4) against real peers.

Real peers: witnessd (static backend) with its endpoint mapper; an MIT KDC
(krb5lab.py) for the keytab check; Debian's smbd 4.17, started here on
127.0.0.1:445 with a throwaway smb.conf (standalone, tdbsam with one user)
in the network namespace run.sh gives this file; tshark, capturing on lo,
decodes the same SMB2 exchange independently and its fields
(smb2.dialect, smb2.capabilities.persistent_handles, smb2.share_caps.*) are
compared with what doctor reports.

What smbd 4.17 announces: dialect 3.1.1; SMB2_GLOBAL_CAP_PERSISTENT_HANDLES
never (persistent handles are not implemented before 4.25); share caps 0 on
a standalone server, and also with "clustering = yes" over ctdblab's ctdbd
(test_clustered_smbd_share_caps): 4.17 sets no SMB2_SHARE_CAP_CLUSTER,
SCALEOUT or CONTINUOUS_AVAILABILITY in any configuration; the parametric
"smb3 share cap:CLUSTER" / ":CONTINUOUS AVAILABILITY" options came with 4.20
and 4.17 ignores them. So the tree-connect checks are negative, and the
tests assert the negative.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import WITNESSCTL, Witnessd, wait_for  # noqa: E402
from krb5lab import Krb5Lab  # noqa: E402

USER, PASSWORD, DOMAIN = "alice", "Secret123", "TESTDOM"
HOST = "witsrv.testdom.example"


def doctor(d, *args, config=None, password=None):
    r = subprocess.run([WITNESSCTL, "--config", config or d.config, "--json", "doctor"]
                       + list(args), input=(password + "\n") if password else None,
                       capture_output=True, text=True, timeout=60)
    out = json.loads(r.stdout)
    return r.returncode, out


def checks(out, name, status=None):
    return [c for c in out["checks"] if c["check"] == name
            and (status is None or c["status"] == status)]


class Smbd:
    """Debian's smbd on 127.0.0.1:445 with a throwaway config and one tdbsam user."""

    def __init__(self, tmp, extra_shares="", extra_global=""):
        self.dir = os.path.join(tmp, "smbd")
        for sub in ("share", "priv", "lock", "state", "cache", "pid", "log", "ncalrpc"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        self.conf = os.path.join(self.dir, "smb.conf")
        with open(self.conf, "w") as f:
            f.write("""[global]
 workgroup = %(dom)s
 netbios name = WITSRV
 interfaces = 127.0.0.1
 bind interfaces only = yes
 smb ports = 445
 private dir = %(d)s/priv
 lock directory = %(d)s/lock
 state directory = %(d)s/state
 cache directory = %(d)s/cache
 pid directory = %(d)s/pid
 ncalrpc dir = %(d)s/ncalrpc
 log file = %(d)s/log/smbd.log
 passdb backend = tdbsam
 server role = standalone server
 load printers = no
 disable spoolss = yes
%(global)s
[data]
 path = %(d)s/share
 read only = no
%(extra)s
""" % {"d": self.dir, "dom": DOMAIN, "extra": extra_shares,
               "global": extra_global})
        subprocess.run(["smbpasswd", "-c", self.conf, "-a", "-s", "root"],
                       input="%s\n%s\n" % (PASSWORD, PASSWORD), text=True, check=True,
                       capture_output=True)
        self.proc = subprocess.Popen(["smbd", "--configfile=" + self.conf, "--foreground",
                                      "--no-process-group", "--debug-stdout", "-d0"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)  # smbd signals its group on exit
        import socket

        def up():
            with socket.create_connection(("127.0.0.1", 445), timeout=0.5):
                return True
        wait_for(up, timeout=20, what="smbd on 445")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Capture:
    """tshark on lo for TCP 445; fields() decodes the responses afterwards."""

    def __init__(self, tmp):
        self.pcap = os.path.join(tmp, "smb.pcap")
        self.proc = subprocess.Popen(["tshark", "-q", "-i", "lo", "-f", "tcp port 445", "-w",
                                      self.pcap], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        # tshark says "Capturing on 'Loopback: lo'" once the capture runs
        line = ""
        end = time.monotonic() + 20
        while "Capturing on" not in line and time.monotonic() < end:
            line = self.proc.stderr.readline()
        time.sleep(0.3)

    def stop(self):
        time.sleep(0.5)
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(20)
        self.proc.stderr.close()

    def responses(self):
        fields = ["smb2.cmd", "smb2.dialect", "smb2.capabilities.persistent_handles",
                  "smb2.share_caps", "smb2.share_caps.cluster",
                  "smb2.share_caps.continuous_availability", "smb2.nt_status"]
        r = subprocess.run(["tshark", "-r", self.pcap, "-Y", "smb2.flags.response == 1",
                            "-T", "fields", "-E", "separator=|"]
                           + sum([["-e", f] for f in fields], []),
                           capture_output=True, text=True, timeout=60, check=True)
        return [dict(zip(fields, line.split("|"))) for line in r.stdout.splitlines() if line]


def truthy(v):
    return v.strip().lower() in ("1", "true", "yes")


class Doctor(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="test-doctor-")
        cls.pwfile = os.path.join(cls.tmp, "ntlm.pw")
        subprocess.run([WITNESSCTL, "user", "add", USER, "--domain", DOMAIN, "--file", cls.pwfile],
                       input=PASSWORD + "\n", text=True, check=True, capture_output=True)
        # the demo's setup: static backend, NTLM at integrity, three interfaces
        cls.d = Witnessd(name="doctor", min_auth="integrity",
                         global_opts={"ntlm password file": cls.pwfile,
                                      "workgroup": DOMAIN}).start()

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_demo_passes_without_smb_server(self):
        rc, out = doctor(self.d)
        self.assertEqual(rc, 0, out)
        self.assertEqual(out["failed"], 0, out)
        self.assertTrue(checks(out, "epmapper", "OK"), out)
        self.assertIn("port %d" % self.d.witness_port, checks(out, "epmapper", "OK")[0]["message"])
        self.assertTrue(checks(out, "listen", "OK"), out)
        self.assertTrue(checks(out, "ntlm", "OK"), out)
        # nothing on 445 here: a warning, not a failure
        smb = checks(out, "smb")
        self.assertEqual([c["status"] for c in smb], ["WARN"], out)
        self.assertIn("remedy", smb[0])

    def test_epmapper_fails_when_daemon_is_down(self):
        d2 = Witnessd(name="down", epm_port=0)
        try:
            rc, out = doctor(d2)  # never started
            self.assertEqual(rc, 1)
            fail = checks(out, "listen", "FAIL")
            self.assertTrue(fail and "start witnessd" in fail[0]["remedy"], out)
        finally:
            d2.cleanup()

    def test_password_file_mode_0644_fails(self):
        os.chmod(self.pwfile, 0o644)
        try:
            rc, out = doctor(self.d)
        finally:
            os.chmod(self.pwfile, 0o600)
        self.assertEqual(rc, 1, out)
        fail = checks(out, "ntlm", "FAIL")
        self.assertEqual(len(fail), 1, out)
        self.assertIn("mode 0644", fail[0]["message"])
        self.assertEqual(fail[0]["remedy"], "chmod 0600 %s (it holds NT hashes)" % self.pwfile)

    def test_keytab(self):
        with Krb5Lab(host=HOST) as kdc:
            # netname = the KDC's host: cifs/ and host/ are in the keytab
            good = Witnessd(name="krb", netname=HOST, min_auth="integrity", env=kdc.env(),
                            global_opts={"keytab": kdc.keytab, "realm": kdc.realm})
            # an alias whose principals the keytab lacks
            bad = Witnessd(name="krbbad", netname=HOST, min_auth="integrity", env=kdc.env(),
                           global_opts={"keytab": kdc.keytab, "realm": kdc.realm,
                                        "netname aliases": "WITSRV2"})
            try:
                rc, out = doctor(good)  # config checks need no running daemon for the keytab
                ok = checks(out, "keytab", "OK")
                self.assertEqual(len(ok), 2, out)
                self.assertTrue(all("decrypts a ticket" in c["message"] for c in ok), ok)
                self.assertFalse(checks(out, "keytab", "FAIL"), out)
                rc, out = doctor(bad)
                self.assertEqual(rc, 1)
                fail = checks(out, "keytab", "FAIL")
                self.assertEqual(sorted(c["message"].split(" has no key for ")[1] for c in fail),
                                 ["cifs/WITSRV2@%s" % kdc.realm, "host/WITSRV2@%s" % kdc.realm],
                                 out)
                self.assertIn('kadmin -q "ktadd -k %s cifs/WITSRV2"' % kdc.keytab,
                              fail[0]["remedy"] + fail[1]["remedy"])
            finally:
                good.cleanup()
                bad.cleanup()

    def test_smb_checks_match_tshark(self):
        smbd = Smbd(self.tmp)
        try:
            cap = Capture(self.tmp)
            rc, out = doctor(self.d, "--user", "%s\\root" % DOMAIN, "--share", "data",
                             "--share", "nosuch", password=PASSWORD)
            cap.stop()
        finally:
            smbd.stop()
        smb = checks(out, "smb")
        share = checks(out, "share")
        self.assertEqual(rc, 1, out)  # the missing share fails
        m = re.search(r"SMB2 dialect (\S+), capabilities 0x([0-9a-f]+)", smb[0]["message"])
        self.assertTrue(m, smb)
        resp = cap.responses()
        neg = [r for r in resp if r["smb2.cmd"] == "0"]
        tcon = [r for r in resp if r["smb2.cmd"] == "3"]
        self.assertEqual(len(neg), 2, resp)  # doctor's probe (to 3.1.1) and its session
        names = {"0x0311": "3.1.1", "0x0302": "3.0.2", "0x0300": "3.0", "0x0210": "2.1",
                 "0x0202": "2.0.2"}
        self.assertEqual(names.get(neg[0]["smb2.dialect"]), m.group(1), neg)
        self.assertEqual(m.group(1), "3.1.1")
        ph_doctor = "not offered" not in smb[1]["message"]
        self.assertEqual(truthy(neg[0]["smb2.capabilities.persistent_handles"]), ph_doctor, neg)
        self.assertFalse(ph_doctor)  # smbd 4.17 has no persistent handles
        self.assertEqual(smb[1]["status"], "WARN")
        # the tree connects: data answered, nosuch refused
        self.assertEqual(len(tcon), 2, resp)
        md = re.search(r"^data: capabilities 0x([0-9a-f]+): SMB2_SHARE_CAP_CLUSTER (yes|no), "
                       r"SMB2_SHARE_CAP_CONTINUOUS_AVAILABILITY (yes|no)", share[0]["message"])
        self.assertTrue(md, share)
        self.assertEqual(int(tcon[0]["smb2.share_caps"], 16), int(md.group(1), 16), tcon)
        self.assertEqual(truthy(tcon[0]["smb2.share_caps.cluster"]), md.group(2) == "yes")
        self.assertEqual(truthy(tcon[0]["smb2.share_caps.continuous_availability"]),
                         md.group(3) == "yes")
        self.assertEqual((md.group(2), md.group(3)), ("no", "no"))  # standalone smbd 4.17
        self.assertEqual(share[0]["status"], "WARN")
        self.assertEqual(share[1]["status"], "FAIL")
        self.assertIn("0xc00000cc", share[1]["message"])  # STATUS_BAD_NETWORK_NAME


@unittest.skipUnless(os.path.exists("/usr/sbin/ctdbd"), "needs Debian's ctdbd")
class DoctorCluster(unittest.TestCase):
    """The ctdb checks on ctdblab's 3-node cluster, one witnessd per node."""

    @classmethod
    def setUpClass(cls):
        from ctdblab import CtdbLab
        cls.private = tempfile.mkdtemp(prefix="wddoc-", dir="/var/tmp")
        cls.lab = CtdbLab(3, public_ips=["10.77.3.%d" % i for i in range(1, 4)])
        cls.wd = []
        try:
            cls.lab.start()
            for i in range(3):
                d = Witnessd(netname="WITSRV", backend="ctdb", listen=(cls.lab.node_addrs[i],),
                             epm_port=0, interfaces=[], name="doc%d" % i,
                             extra_sections={"ctdb": {"socket": cls.lab.socket(i),
                                                      "peer timeout": 2}})
                cls.wd.append(d)
                d.start()
            cls.lab.wait_healthy()
            wait_for(lambda: all(ip["node"] is not None for ip in
                                 cls.wd[0].ctl_json("ip", "list")["interfaces"])
                     and len(cls.wd[0].ctl_json("ip", "list")["interfaces"]) == 3,
                     timeout=30, step=0.2, what="node 0's view of the public IPs")
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for d in getattr(cls, "wd", []):
            d.cleanup()
        if hasattr(cls, "lab"):
            cls.lab.cleanup()
        shutil.rmtree(cls.private, ignore_errors=True)

    def nodes_check(self, i=0):
        rc, out = doctor(self.wd[i], "--smb-port", "1")
        c = checks(out, "ctdb nodes")
        self.assertEqual(len(c), 1, out)
        return rc, c[0]

    def test_ctdb_nodes_states(self):
        rc, c = self.nodes_check()
        self.assertEqual((c["status"], c["message"]), ("OK", "3 nodes, all healthy"), c)
        try:
            self.lab.ctdb(0, "disable", "-n", "1")
            # the backend polls the nodemap every second
            wait_for(lambda: self.nodes_check()[1]["status"] != "OK", timeout=15, step=0.3,
                     what="doctor to see node 1 disabled")
            rc, c = self.nodes_check()
            self.assertEqual(c["status"], "WARN", c)  # another node: this one still serves
            self.assertEqual(c["message"], "1 of 3 not OK: node 1 DISABLED", c)
            self.assertEqual(c["remedy"], "ctdb status; ctdb enable -n 1", c)
            # node 1's own doctor: this node is not ready for witness clients
            rc, c = self.nodes_check(1)
            self.assertEqual(rc, 1, c)
            self.assertEqual(c["status"], "FAIL", c)
            self.assertIn("node 1 (this node) DISABLED", c["message"])
        finally:
            self.lab.ctdb(0, "enable", "-n", "1")
            self.lab.wait_healthy()
        wait_for(lambda: self.nodes_check()[1]["status"] == "OK", timeout=15, step=0.3,
                 what="doctor to see node 1 enabled")
        wait_for(lambda: checks(doctor(self.wd[0], "--smb-port", "1")[1], "interfaces", "OK"),
                 timeout=30, step=0.3, what="every public IP hosted again")

    def test_peers_then_stopped_peer(self):
        rc, out = doctor(self.wd[0], "--smb-port", "1")
        self.assertTrue(checks(out, "ctdb", "OK"), out)
        self.assertTrue(checks(out, "interfaces", "OK"), out)
        self.assertTrue(checks(out, "peers", "OK"), out)
        self.assertEqual(out["failed"], 0, out)
        self.wd[1].stop()
        rc, out = doctor(self.wd[0], "--smb-port", "1")
        self.assertEqual(rc, 1, out)
        fail = checks(out, "peers", "FAIL")
        self.assertEqual(len(fail), 1, out)
        self.assertIn("node 1: witnessd does not answer", fail[0]["message"])
        self.assertIn("start witnessd on those nodes", fail[0]["remedy"])

    def test_clustered_smbd_share_caps(self):
        """smbd 4.17 with clustering = yes over node 0's ctdbd: still no share caps."""
        tmp = tempfile.mkdtemp(dir=self.private)
        smbd = Smbd(tmp, extra_global=" clustering = yes\n ctdbd socket = %s\n"
                    " rpc start on demand helpers = no\n" % self.lab.socket(0),
                    extra_shares="[ca]\n path = %s\n"
                    " smb3 share cap:CONTINUOUS AVAILABILITY = yes\n"
                    " smb3 share cap:CLUSTER = yes\n" % tmp)
        try:
            rc, out = doctor(self.wd[0], "--smb-host", "127.0.0.1", "--user",
                             "%s\\root" % DOMAIN, "--share", "data", "--share", "ca",
                             password=PASSWORD)
        finally:
            smbd.stop()
        # clustered: its locking database lives in ctdb, not in its lock directory
        self.assertFalse(os.path.exists(os.path.join(smbd.dir, "lock", "locking.tdb")))
        share = checks(out, "share")
        self.assertEqual(len(share), 2, out)
        for c in share:
            self.assertEqual(c["status"], "WARN", c)
            self.assertIn("capabilities 0x00000000: SMB2_SHARE_CAP_CLUSTER no, "
                          "SMB2_SHARE_CAP_CONTINUOUS_AVAILABILITY no", c["message"])


if __name__ == "__main__":
    unittest.main()
