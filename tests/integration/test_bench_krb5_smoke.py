"""Smoke of witnessd-loadgen's Kerberos binds (--mech krb5, doc/bench.md)
against witnessd, with a real MIT krb5kdc (krb5lab.py) on 127.0.0.1 inside
the test's netns: 50 clients bind with auth_type 16 in DCE style (AP-REQ in
the bind, AP-REP in the bind_ack, the third leg in auth3), at integrity and
at privacy, register, are told UNAVAILABLE for their IP (the generator checks
every RESOURCE_CHANGE) and register again in the storm. witnessd verifies
and answers every request, so a wrong MIC, wrap or header-signing layout in
the generator fails the run, as does a ticket for a service witnessd has no
key for (the negative case below).

Run with /usr/bin/python3 inside its own netns (tests/integration/run.sh).
"""
import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BUILD, Witnessd  # noqa: E402
from krb5lab import Krb5Lab  # noqa: E402

HOST = "witsrv.testdom.example"
LOADGEN = os.path.join(BUILD, "witnessd-loadgen")
CLIENTS = 50


class BenchKrb5(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.kdc = Krb5Lab(host=HOST).start()
        cls.ccache = cls.kdc.kinit("alice", "Secret123")
        cls.d = Witnessd(name="benchkrb5", netname="WITSRV", min_auth="integrity",
                         env=cls.kdc.env(),
                         global_opts={"keytab": cls.kdc.keytab, "auth methods": "krb5"}).start()

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        cls.kdc.cleanup()

    def setUp(self):
        # whatever an earlier case left, each starts with the IP available
        self.d.ctl("ip", "set", "127.0.0.2", "--available")

    def loadgen(self, level, target="host/" + HOST, timeout=30):
        r = subprocess.run([LOADGEN, "--port", str(self.d.witness_port), "--clients",
                            str(CLIENTS), "--ip", "127.0.0.2", "--netname", "WITSRV",
                            "--mech", "krb5", "--auth", level, "--krb5-target", target,
                            "--admin-socket", self.d.socket, "--pid", str(self.d.proc.pid),
                            "--timeout", str(timeout), "--label", "krb5-" + level],
                           env=self.kdc.env({"KRB5CCNAME": "FILE:" + self.ccache}),
                           capture_output=True, text=True, timeout=60)
        print(r.stderr, end="")
        return r, json.loads(r.stdout)

    def check_all(self, level):
        r, j = self.loadgen(level)
        self.assertEqual(r.returncode, 0, r.stderr + self.d.log()[-3000:])
        self.assertEqual((j["auth"], j["mech"]), (level, "krb5"))
        self.assertEqual(j["registered"], CLIENTS, j)
        self.assertEqual(j["notified"], CLIENTS, j)
        self.assertEqual(j["storm_registered"], CLIENTS, j)
        self.assertEqual((j["bad"], j["failed"]), (0, 0), j)
        self.assertIsNotNone(j["probe_gil_ms"], j)
        self.assertTrue(self.d.alive())

    def test_integrity(self):
        self.check_all("integrity")
        # witnessd's own account of the sessions: Kerberos (type 16) for alice
        self.assertIn("auth.session type=16 level=5 account=alice", self.d.log())

    def test_privacy(self):
        self.check_all("privacy")
        self.assertIn("auth.session type=16 level=6 account=alice", self.d.log())

    def test_foreign_service_refused(self):
        # a ticket the KDC issues but for a principal not in witnessd's keytab
        t0 = time.monotonic()
        r, j = self.loadgen("integrity", target="host/foreign.testdom.example", timeout=20)
        # it ends once every bind (the probe's too) is refused, not at --timeout
        self.assertLess(time.monotonic() - t0, 15)
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(j["registered"], 0, j)
        self.assertEqual(j["failed"], CLIENTS, j)
        self.assertTrue(self.d.alive())


if __name__ == "__main__":
    unittest.main()
