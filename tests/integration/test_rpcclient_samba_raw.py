"""Samba's raw DCERPC protocol tests (python3-samba 4.17,
samba.tests.dcerpc.raw_protocol, written against Windows and Samba): the
WHOLE suite (194 tests) against witnessd's endpoint mapper port, where they
bind to the mgmt and epm interfaces, with NTLMSSP and SPNEGO (user alice
from a witnessctl password file, no KDC).

The tests recorded in data/samba_raw_protocol.pass must pass: any of them
failing fails this test (a regression). A test that passes but is not
recorded is printed ("newly passing"), so the list can be extended. The
ones that cannot apply are named below and counted: they need the netlogon
or lsarpc interface (witnessd serves witness, epm and mgmt only). The 9
Kerberos tests (and test_spnego_multiple_auth_hdr_signing, which needs
Kerberos under SPNEGO) run a second time against a witnessd with the suite's MIT
KDC (krb5lab.py: host/ and cifs/witsrv.testdom.example in witnessd's
keytab, TARGET_HOSTNAME names it, alice has a ticket); those that pass
there are recorded in the same file.

data/samba417_raw_protocol.pass is what Debian's samba-dcerpcd 4.17 passes
in the same setup without a KDC (written by scripts/raw-protocol-samba.sh).
The test prints both counts, the tests Samba passes and witnessd fails
(the goal is none) and the tests both fail.

MAX_NUM_AUTH tells test_multiple_auth_limit our limit of security contexts
per connection (Samba and Windows: 2049).

Run with /usr/bin/python3 inside its own netns (tests/integration/run.sh).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SRCDIR, WITNESSCTL, Witnessd  # noqa: E402
from krb5lab import Krb5Lab  # noqa: E402

MODULE = "samba.tests.dcerpc.raw_protocol"
PASS_FILE = os.path.join(SRCDIR, "tests", "integration", "data", "samba_raw_protocol.pass")
SAMBA_PASS_FILE = os.path.join(SRCDIR, "tests", "integration", "data",
                               "samba417_raw_protocol.pass")
MAX_SEC_CTX = 16  # DCERPC_MAX_SEC_CTX in src/dcerpc/server_int.h

# Cannot apply: the interface is not served by witnessd.
NEEDS_NETLOGON = [
    "test_2nd_cancel_requests", "test_first_08_requests", "test_first_cancel_requests",
    "test_first_cmpx_requests", "test_first_didnot_requests", "test_first_maybe_requests",
    "test_first_only_requests", "test_fragmented_requests01", "test_fragmented_requests02",
    "test_fragmented_requests03", "test_fragmented_requests04", "test_fragmented_requests05",
    "test_last_cancel_requests", "test_last_only_requests", "test_mix_requests",
    "test_none_only_requests",
]
NEEDS_LSARPC = [
    "test_assoc_group_fail3", "test_assoc_group_ok2",
    "test_lsa_multi_auth_connect1a", "test_lsa_multi_auth_connect1u",
    "test_lsa_multi_auth_connect2a", "test_lsa_multi_auth_connect2u",
    "test_lsa_multi_auth_connect3a", "test_lsa_multi_auth_connect3u",
    "test_lsa_multi_auth_connect4a", "test_lsa_multi_auth_connect4u",
    "test_lsa_multi_auth_sign_connect1a", "test_lsa_multi_auth_sign_connect1u",
]
# Need Kerberos: they fail without a KDC and run again in test_krb5 with one.
# test_spnego_multiple_auth_hdr_signing wants a request of a second context
# refused once header signing is on; NTLMSSP under SPNEGO signs the header
# either way (Samba's auth/ntlmssp/ntlmssp_sign.c signs the whole PDU), so only
# Kerberos can fail it.
NEEDS_KDC = [
    "test_krb5_hdr_sign_delayed1_fail1", "test_krb5_hdr_sign_delayed1_ok1",
    "test_krb5_hdr_sign_delayed2_fail1", "test_krb5_hdr_sign_delayed2_ok1",
    "test_krb5_hdr_sign_delayed3_fail1", "test_krb5_hdr_signing_integrity",
    "test_krb5_hdr_signing_packet", "test_krb5_signing_integrity", "test_krb5_signing_packet",
    "test_spnego_multiple_auth_hdr_signing",
]


def read_list(path):
    with open(path) as f:
        return {ln.strip() for ln in f if ln.strip() and not ln.startswith("#")}


def expected_passes():
    return read_list(PASS_FILE)


class SambaRawProtocol(unittest.TestCase):
    def test_samba_raw_protocol(self):
        tmp = tempfile.mkdtemp(prefix="rawproto-")
        try:
            pw = os.path.join(tmp, "ntlm.pw")
            subprocess.run([WITNESSCTL, "user", "add", "alice", "--domain", "TESTDOM", "--file", pw],
                           input="Secret123\n", text=True, check=True, capture_output=True)
            smbconf = os.path.join(tmp, "smb.conf")
            with open(smbconf, "w") as f:
                f.write("[global]\n workgroup = TESTDOM\n netbios name = CLIENTBOX\n"
                        " client use kerberos = off\n realm = TESTDOM.EXAMPLE\n")
            with Witnessd(name="rawproto", min_auth="none",
                          global_opts={"ntlm password file": pw,
                                       "auth methods": "ntlmssp spnego"}) as d:
                env = dict(os.environ, SERVER="127.0.0.1", SMB_CONF_PATH=smbconf,
                           DOMAIN="TESTDOM", REALM="TESTDOM.EXAMPLE", USERNAME="alice",
                           PASSWORD="Secret123", MAX_NUM_AUTH=str(MAX_SEC_CTX))
                t0 = time.monotonic()
                r = subprocess.run(["/usr/bin/python3", "-m", "unittest", "-v", MODULE],
                                   env=env, capture_output=True, text=True, timeout=600)
                took = time.monotonic() - t0
                out = r.stdout + r.stderr
                self.assertTrue(d.alive(), "witnessd died\n" + d.log()[-4000:])
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        ran = re.findall(r"^(test_\w+) \(%s\.\w+\.\w+\)" % re.escape(MODULE), out, re.M)
        bad = set(re.findall(r"^(?:FAIL|ERROR): (test_\w+)", out, re.M))
        self.assertGreaterEqual(len(ran), 194, out[-4000:])
        passed = {n for n in ran if n not in bad}
        want = expected_passes() - set(NEEDS_KDC)
        regressions = sorted(want - passed)
        new = sorted(passed - want)
        na = set(NEEDS_NETLOGON) | set(NEEDS_LSARPC) | set(NEEDS_KDC)
        failing = sorted(set(ran) - passed - na)
        samba = read_list(SAMBA_PASS_FILE)
        print("raw_protocol without a KDC: witnessd %d of %d, Samba 4.17's samba-dcerpcd %d of"
              " %d (%s), in %.1f s" % (len(passed), len(ran), len(samba), len(ran),
                                       os.path.basename(SAMBA_PASS_FILE), took), file=sys.stderr)
        samba_only = sorted(samba - passed)
        both_fail = sorted(set(ran) - passed - samba)
        print("Samba passes, witnessd fails (%d): %s" % (len(samba_only), " ".join(samba_only)),
              file=sys.stderr)
        print("witnessd passes, Samba fails (%d): %s"
              % (len(passed - samba), " ".join(sorted(passed - samba))), file=sys.stderr)
        print("both fail (%d): %s" % (len(both_fail), " ".join(both_fail)), file=sys.stderr)
        print("cannot apply: %d need netlogon, %d need lsarpc, %d need a KDC"
              % (len(NEEDS_NETLOGON), len(NEEDS_LSARPC), len(NEEDS_KDC)), file=sys.stderr)
        print("applicable and failing (%d): %s" % (len(failing), " ".join(failing)),
              file=sys.stderr)
        if new:
            print("newly passing (add to %s): %s" % (PASS_FILE, " ".join(new)), file=sys.stderr)
        self.assertFalse(passed & na, "a test said to need netlogon, lsarpc or a KDC passes")
        if regressions:
            blocks = [b for b in re.split(r"^={70}$", out, flags=re.M)
                      if any(("FAIL: %s " % n) in b or ("ERROR: %s " % n) in b
                             for n in regressions)]
            self.fail("regressions: %s\n%s" % (" ".join(regressions), "".join(blocks)[-6000:]))


    def test_krb5(self):
        """The Kerberos tests with the suite's MIT KDC."""
        host = "witsrv.testdom.example"
        tmp = tempfile.mkdtemp(prefix="rawproto-krb5-")
        try:
            with Krb5Lab(host=host) as kdc:
                smbconf = os.path.join(tmp, "smb.conf")
                with open(smbconf, "w") as f:
                    f.write("[global]\n workgroup = TESTDOM\n netbios name = CLIENTBOX\n"
                            " realm = TESTDOM.EXAMPLE\n client use kerberos = required\n")
                kenv = kdc.env()
                ccache = kdc.kinit("alice", "Secret123")
                with Witnessd(name="rawproto-krb5", min_auth="none", env=kenv,
                              global_opts={"keytab": kdc.keytab,
                                           "auth methods": "krb5 spnego"}) as d:
                    env = dict(os.environ, **kenv)
                    env.update(SERVER="127.0.0.1", TARGET_HOSTNAME=host, SMB_CONF_PATH=smbconf,
                               DOMAIN="TESTDOM", REALM="TESTDOM.EXAMPLE", USERNAME="alice",
                               PASSWORD="Secret123", KRB5CCNAME=ccache)
                    names = ["%s.TestDCERPC_BIND.%s" % (MODULE, n) for n in NEEDS_KDC]
                    r = subprocess.run(["/usr/bin/python3", "-m", "unittest", "-v"] + names,
                                       env=env, capture_output=True, text=True, timeout=300)
                    out = r.stdout + r.stderr
                    self.assertTrue(d.alive(), "witnessd died\n" + d.log()[-4000:])
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        ran = re.findall(r"^(test_\w+) \(%s\.\w+\.\w+\)" % re.escape(MODULE), out, re.M)
        self.assertEqual(sorted(ran), sorted(NEEDS_KDC), out[-4000:])
        bad = set(re.findall(r"^(?:FAIL|ERROR): (test_\w+)", out, re.M))
        passed = {n for n in ran if n not in bad}
        want = expected_passes() & set(NEEDS_KDC)
        print("raw_protocol with a KDC: %d of %d Kerberos tests pass; failing: %s"
              % (len(passed), len(ran), " ".join(sorted(set(ran) - passed))), file=sys.stderr)
        new = sorted(passed - want)
        if new:
            print("newly passing (add to %s): %s" % (PASS_FILE, " ".join(new)), file=sys.stderr)
        self.assertEqual(sorted(want - passed), [], out[-6000:])


if __name__ == "__main__":
    unittest.main()
