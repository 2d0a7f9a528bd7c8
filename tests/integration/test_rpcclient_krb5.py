"""Kerberos DCERPC against witnessd with a real MIT KDC on 127.0.0.1 (inside
the test's netns): rpcclient 4.17 [krb5,...] (auth_type 16, DCE-style, third
leg by auth3) and [spnego,krb5,...] (auth_type 9, last leg by alter_context),
at sign and seal (header signing negotiated: pfc 0x04), with the witness port
found through the EPM on 127.0.0.1:135.

Run with /usr/bin/python3 inside its own netns (tests/integration/run.sh).
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Witnessd, free_port  # noqa: E402

REALM = "TESTDOM.EXAMPLE"
HOST = "witsrv.testdom.example"
PASSWORD = "Secret123"


class Krb5(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="krb5lab-")
        t = cls.tmp
        kport = free_port()
        cls.env = dict(os.environ)
        cls.env.update({
            "KRB5_CONFIG": os.path.join(t, "krb5.conf"),
            "KRB5_KDC_PROFILE": os.path.join(t, "kdc.conf"),
            "KRB5CCNAME": "FILE:" + os.path.join(t, "ccache"),
        })
        with open(os.path.join(t, "krb5.conf"), "w") as f:
            f.write("[libdefaults]\n default_realm = %s\n dns_lookup_kdc = false\n"
                    " dns_lookup_realm = false\n rdns = false\n udp_preference_limit = 1\n"
                    "[realms]\n %s = {\n  kdc = 127.0.0.1:%d\n }\n"
                    "[domain_realm]\n .testdom.example = %s\n" % (REALM, REALM, kport, REALM))
        with open(os.path.join(t, "kdc.conf"), "w") as f:
            f.write("[kdcdefaults]\n kdc_ports = %d\n kdc_tcp_ports = %d\n"
                    "[realms]\n %s = {\n  database_name = %s/principal\n"
                    "  key_stash_file = %s/stash\n  acl_file = %s/kadm5.acl\n }\n"
                    "[logging]\n kdc = FILE:%s/kdc.log\n" % (kport, kport, REALM, t, t, t, t))
        run = lambda *a, **kw: subprocess.run(list(a), env=cls.env, check=True,  # noqa: E731
                                              capture_output=True, text=True, timeout=60, **kw)
        run("kdb5_util", "create", "-s", "-r", REALM, "-P", "masterpw")
        run("kadmin.local", "-q", "addprinc -pw %s alice" % PASSWORD)
        for svc in ("cifs", "host"):
            run("kadmin.local", "-q", "addprinc -randkey %s/%s" % (svc, HOST))
        cls.keytab = os.path.join(t, "witsrv.keytab")
        run("kadmin.local", "-q", "ktadd -k %s cifs/%s host/%s" % (cls.keytab, HOST, HOST))
        cls.kdc = subprocess.Popen(["krb5kdc", "-n", "-P", os.path.join(t, "kdc.pid")],
                                   env=cls.env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        for _ in range(100):
            r = subprocess.run(["kinit", "alice"], input=PASSWORD + "\n", env=cls.env,
                               capture_output=True, text=True, timeout=10)
            if r.returncode == 0:
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("kinit failed: " + r.stderr)
        cls.smbconf = os.path.join(t, "smb.conf")
        with open(cls.smbconf, "w") as f:
            f.write("[global]\n workgroup = TESTDOM\n realm = %s\n netbios name = CLIENTBOX\n"
                    % REALM)
        cls.d = Witnessd(name="krb5", netname="WITSRV", min_auth="integrity",
                         global_opts={"keytab": cls.keytab, "auth methods": "krb5 spnego"},
                         env={"KRB5_CONFIG": cls.env["KRB5_CONFIG"]}).start()

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        cls.kdc.send_signal(signal.SIGTERM)
        cls.kdc.wait(10)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def rpcclient(self, opts, cmd):
        r = subprocess.run(
            ["rpcclient", "-s", self.smbconf,
             "ncacn_ip_tcp:127.0.0.1[%s,target_hostname=%s]" % (opts, HOST),
             "-U", "alice@" + REALM, "--use-kerberos=required",
             "--use-krb5-ccache=" + self.env["KRB5CCNAME"], "-c", cmd],
            env=self.env, capture_output=True, text=True, timeout=60)
        return r.returncode, r.stdout + r.stderr

    def test_rpcclient_krb5(self):
        for opts in ["krb5,sign", "krb5,seal", "spnego,krb5,sign", "spnego,krb5,seal"]:
            with self.subTest(opts=opts):
                rc, out = self.rpcclient(opts, "GetInterfaceList")
                self.assertEqual(rc, 0, out + self.d.log()[-2000:])
                self.assertIn("127.0.0.2", out)
                rc, out = self.rpcclient(
                    opts, "Register --net=WITSRV --ip=127.0.0.2 --client=CLIENTBOX")
                self.assertEqual(rc, 0, out)
                self.assertRegex(out, r"\d+:[0-9a-f-]{36}")
        # the daemon saw Kerberos sessions: auth_type 16 and SPNEGO (9), levels 5 and 6
        sessions = [l for l in self.d.log().splitlines() if " auth.session " in l]
        for t, lvl in [(16, 5), (16, 6), (9, 5), (9, 6)]:
            self.assertTrue(any("type=%d level=%d" % (t, lvl) in l and "alice" in l
                                for l in sessions), sessions)


if __name__ == "__main__":
    unittest.main()
