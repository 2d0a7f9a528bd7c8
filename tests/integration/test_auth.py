"""Authentication and message protection against witnessd with real clients
(issue 3 "done when"):

* a real MIT KDC (krb5lab.py) on 127.0.0.1 with a throwaway realm and a keytab
  holding cifs/ and host/ of the test netname;
* rpcclient 4.17 with [sign] [seal] [spnego,sign] [spnego,seal] (NTLMSSP),
  [krb5,sign] [krb5,seal] [spnego,krb5,sign] [spnego,krb5,seal] (Kerberos):
  GetInterfaceList and a Register / AsyncNotify / UnRegister round in one
  session (driven through a pty), the notification triggered by witnessctl;
* Samba python bindings with [sign] [seal] [ntlm,seal] [spnego,seal]: the
  same round (the port found through the EPM);
* impacket WINNT at levels 2 (refused: below the minimum), 5 and 6;
* refusals, each followed by a good client being served: wrong password,
  unknown user, level below the minimum, an expired Kerberos ticket, a
  ticket for a key we do not hold, a replayed AP-REQ, a tampered signature
  and a replayed (signed) request PDU;
* the authenticated identity lands in the registration (witnessctl list).

Run with /usr/bin/python3 inside its own netns (tests/integration/run.sh).
"""
import ctypes
import json
import os
import pty
import re
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import WITNESSCTL, Witnessd, samba_creds, samba_lp, samba_witness  # noqa: E402
from krb5lab import Krb5Lab  # noqa: E402

from impacket.dcerpc.v5 import rpcrt, transport  # noqa: E402
from impacket.uuid import uuidtup_to_bin  # noqa: E402

HOST = "witsrv.testdom.example"
NETNAME = HOST
WITNESS = ("ccd8c074-d0e5-4a40-92b4-d074faa6ba28", "1.1")
NDR32 = "8a885d04-1ceb-11c9-9fe8-08002b104860"
USER, PASSWORD, DOMAIN = "alice", "Secret123", "TESTDOM"
IP = "127.0.0.2"


def ndr_wstr(s):
    s += "\0"
    b = struct.pack("<III", len(s), 0, len(s)) + s.encode("utf-16-le")
    return b + b"\0" * ((4 - len(b) % 4) % 4)


def register_stub(net, ip, client, version=0x00010001):
    return (struct.pack("<II", version, 0x20000) + ndr_wstr(net) + struct.pack("<I", 0x20004)
            + ndr_wstr(ip) + struct.pack("<I", 0x20008) + ndr_wstr(client))


class Pty:
    """An interactive rpcclient session (its witness commands need the handle
    printed by Register, and a registration lives only as long as its
    connection)."""

    PROMPT = rb"rpcclient \$> "

    def __init__(self, argv, env):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execvpe(argv[0], argv, env)
        self.buf = b""

    def expect(self, pat, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            m = re.search(pat, self.buf)
            if m:
                out, self.buf = self.buf[:m.end()], self.buf[m.end():]
                return out.decode("utf-8", "replace"), m
            r, _, _ = select.select([self.fd], [], [], 0.2)
            if r:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:
                    chunk = b""
                if not chunk:
                    break
                self.buf += chunk
        raise AssertionError("rpcclient: no %r in %r" % (pat, self.buf[-2000:]))

    def cmd(self, line, timeout=30):
        os.write(self.fd, line.encode() + b"\n")
        out, _ = self.expect(self.PROMPT, timeout)
        return out

    def close(self):
        try:
            os.write(self.fd, b"quit\n")
        except OSError:
            pass
        end = time.monotonic() + 10
        while time.monotonic() < end:
            pid, _ = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.05)
        else:
            os.kill(self.pid, 9)
            os.waitpid(self.pid, 0)
        os.close(self.fd)


# -- a minimal MIT GSSAPI initiator (ctypes), to make AP-REQs we then send
#    ourselves: expired, for a key the server lacks, replayed --

class _Buf(ctypes.Structure):
    _fields_ = [("length", ctypes.c_size_t), ("value", ctypes.c_void_p)]


class _Iov(ctypes.Structure):
    _fields_ = [("type", ctypes.c_uint32), ("buffer", _Buf)]


class GssClient:
    """MIT GSSAPI initiator through ctypes: an independent Kerberos peer for
    the paths no packaged client takes (stale / foreign / replayed AP-REQs,
    DCE/RPC protection without header signing)."""

    IOV_DATA, IOV_HEADER, IOV_ALLOCATE = 1, 2, 0x10000

    def __init__(self, ccache, service_host, env, service="host", mech_name="gss_mech_krb5",
                 dce=True):
        for k in ("KRB5_CONFIG", "KRB5RCACHEDIR"):
            os.environ[k] = env[k]
        os.environ["KRB5CCNAME"] = "FILE:" + ccache
        self.g = g = ctypes.CDLL("libgssapi_krb5.so.2")
        self.minor = ctypes.c_uint32()
        self.name = ctypes.c_void_p()
        sname = ("%s@%s" % (service, service_host)).encode()
        nb = _Buf(len(sname), ctypes.cast(ctypes.c_char_p(sname), ctypes.c_void_p))
        nt = ctypes.c_void_p.in_dll(g, "GSS_C_NT_HOSTBASED_SERVICE")
        self.mech = ctypes.c_void_p.in_dll(g, mech_name)
        maj = g.gss_import_name(ctypes.byref(self.minor), ctypes.byref(nb), nt,
                                ctypes.byref(self.name))
        assert maj == 0, hex(maj)
        g.gss_krb5_ccache_name(ctypes.byref(self.minor), ("FILE:" + ccache).encode(), None)
        self.ctx = ctypes.c_void_p()
        # MUTUAL REPLAY SEQUENCE CONF INTEG (+ DCE_STYLE: raw AP-REQ, 3 legs)
        self.flags = 0x2 | 0x4 | 0x8 | 0x10 | 0x20 | (0x1000 if dce else 0)

    def step(self, token=None):
        """Next initiator token; returns (bytes, complete)."""
        g, out, ret = self.g, _Buf(), ctypes.c_uint32()
        inb = None
        if token is not None:
            keep = ctypes.create_string_buffer(token, len(token))
            inb = ctypes.byref(_Buf(len(token), ctypes.cast(keep, ctypes.c_void_p)))
        maj = g.gss_init_sec_context(ctypes.byref(self.minor), None, ctypes.byref(self.ctx),
                                     self.name, self.mech, ctypes.c_uint32(self.flags),
                                     ctypes.c_uint32(0), None, inb, None, ctypes.byref(out),
                                     ctypes.byref(ret), None)
        assert maj in (0, 1), "gss_init_sec_context 0x%x/%d" % (maj, self.minor.value)
        tok = ctypes.string_at(out.value, out.length) if out.length else b""
        g.gss_release_buffer(ctypes.byref(self.minor), ctypes.byref(out))
        return tok, maj == 0

    def get_mic(self, data):
        g, out = self.g, _Buf()
        keep = ctypes.create_string_buffer(data, len(data))
        m = _Buf(len(data), ctypes.cast(keep, ctypes.c_void_p))
        assert g.gss_get_mic(ctypes.byref(self.minor), self.ctx, 0, ctypes.byref(m),
                             ctypes.byref(out)) == 0
        tok = ctypes.string_at(out.value, out.length)
        g.gss_release_buffer(ctypes.byref(self.minor), ctypes.byref(out))
        return tok

    def verify_mic(self, data, mic):
        k1 = ctypes.create_string_buffer(data, len(data))
        k2 = ctypes.create_string_buffer(mic, len(mic))
        m = _Buf(len(data), ctypes.cast(k1, ctypes.c_void_p))
        t = _Buf(len(mic), ctypes.cast(k2, ctypes.c_void_p))
        return self.g.gss_verify_mic(ctypes.byref(self.minor), self.ctx, ctypes.byref(m),
                                     ctypes.byref(t), None) == 0

    def wrap(self, data):
        """[HEADER][DATA] (no header signing): returns (ciphertext, token)."""
        keep = ctypes.create_string_buffer(data, len(data))
        iov = (_Iov * 2)()
        iov[0].type = self.IOV_HEADER | self.IOV_ALLOCATE
        iov[1].type = self.IOV_DATA
        iov[1].buffer = _Buf(len(data), ctypes.cast(keep, ctypes.c_void_p))
        conf = ctypes.c_int()
        maj = self.g.gss_wrap_iov(ctypes.byref(self.minor), self.ctx, 1, 0, ctypes.byref(conf),
                                  iov, 2)
        assert maj == 0 and conf.value, hex(maj)
        tok = ctypes.string_at(iov[0].buffer.value, iov[0].buffer.length)
        self.g.gss_release_iov_buffer(ctypes.byref(self.minor), iov, 2)
        return keep.raw[:len(data)], tok

    def unwrap(self, data, token):
        keep = ctypes.create_string_buffer(data, len(data))
        ktok = ctypes.create_string_buffer(token, len(token))
        iov = (_Iov * 2)()
        iov[0].type = self.IOV_HEADER
        iov[0].buffer = _Buf(len(token), ctypes.cast(ktok, ctypes.c_void_p))
        iov[1].type = self.IOV_DATA
        iov[1].buffer = _Buf(len(data), ctypes.cast(keep, ctypes.c_void_p))
        conf = ctypes.c_int()
        maj = self.g.gss_unwrap_iov(ctypes.byref(self.minor), self.ctx, ctypes.byref(conf), None,
                                    iov, 2)
        return (keep.raw[:len(data)] if maj == 0 and conf.value else None)

    def close(self):
        self.g.gss_delete_sec_context(ctypes.byref(self.minor), ctypes.byref(self.ctx), None)
        self.g.gss_release_name(ctypes.byref(self.minor), ctypes.byref(self.name))


def gss_ap_req(ccache, service_host, env, service="host", mech_name="gss_mech_krb5", dce=True):
    """A first-leg AP-REQ for service@service_host from ccache (bytes)."""
    c = GssClient(ccache, service_host, env, service, mech_name, dce)
    try:
        return c.step()[0]
    finally:
        c.close()


def der(tag, b):
    n = len(b)
    if n < 0x80:
        return bytes([tag, n]) + b
    if n < 0x100:
        return bytes([tag, 0x81, n]) + b
    return bytes([tag, 0x82, n >> 8, n & 0xff]) + b


OID_MSKRB5 = bytes.fromhex("2a864882f712010202")
OID_KRB5 = bytes.fromhex("2a864886f712010202")
OID_NEGOEX = bytes.fromhex("2b0601040182370202 1e".replace(" ", ""))
OID_NTLM = bytes.fromhex("2b06010401823702020a")


def neg_token_init(mechs, token):
    """InitialContextToken(SPNEGO, NegTokenInit) as Windows builds it."""
    ml = der(0x30, b"".join(der(0x06, m) for m in mechs))
    seq = der(0x30, der(0xa0, ml) + der(0xa2, der(0x04, token)))
    return der(0x60, der(0x06, bytes.fromhex("2b0601050502")) + der(0xa0, seq))


def trailer(auth_type, level, pad, ctx_id=1):
    return struct.pack("<BBBBI", auth_type, level, pad, 0, ctx_id)


def pdu(ptype, call_id, body, sec_trailer=b"", token=b"", pfc=3):
    flen = 16 + len(body) + len(sec_trailer) + len(token)
    return struct.pack("<BBBB4sHHI", 5, 0, ptype, pfc, b"\x10\0\0\0", flen, len(token),
                       call_id) + body + sec_trailer + token


def bind_pdu(auth_type, level, token, call_id=1, pfc=3):
    ctx = struct.pack("<HBB", 0, 1, 0) + uuid.UUID(WITNESS[0]).bytes_le + struct.pack("<HH", 1, 1)
    ctx += uuid.UUID(NDR32).bytes_le + struct.pack("<I", 2)
    body = struct.pack("<HHIB3x", 4280, 4280, 0, 1) + ctx
    return pdu(11, call_id, body, trailer(auth_type, level, 0), token, pfc)


def read_pdu(s):
    """(ptype, everything after the 16-byte header, auth token)."""
    hdr = b""
    while len(hdr) < 16:
        c = s.recv(16 - len(hdr))
        if not c:
            return None, b"", b""
        hdr += c
    flen, alen = struct.unpack_from("<HH", hdr, 8)
    rest = b""
    while len(rest) < flen - 16:
        c = s.recv(flen - 16 - len(rest))
        if not c:
            break
        rest += c
    return hdr[2], rest, rest[len(rest) - alen:] if alen else b""


def raw_bind(port, auth_type, level, token, call_id=1, want_token=False):
    """One bind with a sec_trailer; returns (ptype, body bytes[, auth token])."""
    ctx = struct.pack("<HBB", 0, 1, 0) + uuid.UUID(WITNESS[0]).bytes_le + struct.pack("<HH", 1, 1)
    ctx += uuid.UUID(NDR32).bytes_le + struct.pack("<I", 2)
    body = struct.pack("<HHIB3x", 4280, 4280, 0, 1) + ctx
    trailer = struct.pack("<BBBBI", auth_type, level, 0, 0, 1)
    flen = 16 + len(body) + 8 + len(token)
    pdu = struct.pack("<BBBB4sHHI", 5, 0, 11, 3, b"\x10\0\0\0", flen, len(token), call_id)
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.sendall(pdu + body + trailer + token)
        hdr = b""
        while len(hdr) < 16:
            c = s.recv(16 - len(hdr))
            if not c:
                return None, b""
            hdr += c
        flen = struct.unpack_from("<H", hdr, 8)[0]
        rest = b""
        while len(rest) < flen - 16:
            c = s.recv(flen - 16 - len(rest))
            if not c:
                break
            rest += c
        if want_token:
            alen = struct.unpack_from("<H", hdr, 10)[0]
            return hdr[2], rest, rest[len(rest) - alen:] if alen else b""
        return hdr[2], rest
    finally:
        s.close()


class Auth(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="test-auth-")
        # clockskew 1 s so that a ticket of 2 s is soon really expired
        cls.kdc = Krb5Lab(host=HOST, clockskew=1).start()
        cls.pwfile = os.path.join(cls.tmp, "ntlm.pw")
        for user, pw, dom in ((USER, PASSWORD, DOMAIN), ("bob", "Bobpass1", None)):
            args = [WITNESSCTL, "user", "add", user, "--file", cls.pwfile]
            if dom:
                args += ["--domain", dom]
            subprocess.run(args, input=pw + "\n", text=True, check=True, capture_output=True)
        cls.ccache = cls.kdc.kinit(USER, PASSWORD)
        cls.smbconf = os.path.join(cls.tmp, "smb.conf")
        with open(cls.smbconf, "w") as f:
            f.write("[global]\n workgroup = TESTDOM\n realm = TESTDOM.EXAMPLE\n"
                    " netbios name = CLIENTBOX\n client use kerberos = off\n")
        cls.d = Witnessd(name="auth", netname=NETNAME, min_auth="integrity",
                         env=cls.kdc.env(), reregister_delay=30,
                         global_opts={"ntlm password file": cls.pwfile,
                                      "keytab": cls.kdc.keytab,
                                      "auth methods": "ntlmssp krb5 spnego"}).start()

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        cls.kdc.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def tearDown(self):
        self.assertTrue(self.d.alive(), self.d.log()[-3000:])

    # -- helpers --
    def rpcclient_argv(self, opts, user=USER, password=PASSWORD):
        if "krb5" in opts:
            return ["rpcclient", "-s", self.smbconf,
                    "ncacn_ip_tcp:127.0.0.1[%s,target_hostname=%s]" % (opts, HOST),
                    "-U", "%s@%s%%%s" % (user, self.kdc.realm, password),
                    "--use-kerberos=required"]
        return ["rpcclient", "-s", self.smbconf, "ncacn_ip_tcp:127.0.0.1[%s]" % opts,
                "-U", "%s/%s%%%s" % (DOMAIN, user, password)]

    def rpcclient_env(self, ccache=None):
        return self.kdc.env({"KRB5CCNAME": "FILE:" + (ccache or self.ccache)})

    def rpcclient(self, opts, cmd, **kw):
        r = subprocess.run(self.rpcclient_argv(opts, **kw) + ["-c", cmd], capture_output=True,
                           text=True, timeout=60, env=self.rpcclient_env())
        return r.returncode, r.stdout + r.stderr

    def assert_good_client_served(self):
        rc, out = self.rpcclient("seal", "GetInterfaceList")
        self.assertEqual(rc, 0, out)
        self.assertIn(IP, out)

    def registrations(self):
        return json.loads(self.d.ctl("list", "--json").stdout)

    def notify_later(self, ip, delay=0.5):
        cmd = "sleep %s; exec %s --socket %s ip set %s --unavailable" % (
            delay, WITNESSCTL, self.d.socket, ip)
        return subprocess.Popen(["sh", "-c", cmd], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)

    def restore(self, ip):
        self.d.ctl("ip", "set", ip, "--available")
        self.d.ctl("ip", "set", ip, "--node", "0")

    # -- the matrix --
    def test_rpcclient_matrix(self):
        """rpcclient x {NTLMSSP, SPNEGO(NTLMSSP), krb5, SPNEGO(krb5)} x {sign, seal}."""
        matrix = [("sign", 10, 5, USER), ("seal", 10, 6, USER),
                  ("spnego,sign", 9, 5, USER), ("spnego,seal", 9, 6, USER),
                  ("krb5,sign", 16, 5, USER), ("krb5,seal", 16, 6, USER),
                  ("spnego,krb5,sign", 9, 5, USER), ("spnego,krb5,seal", 9, 6, USER)]
        for opts, auth_type, level, user in matrix:
            with self.subTest(opts=opts):
                p = Pty(self.rpcclient_argv(opts), self.rpcclient_env())
                try:
                    p.expect(Pty.PROMPT)
                    out = p.cmd("GetInterfaceList")
                    self.assertIn(IP, out)
                    out = p.cmd("Register --net=%s --ip=%s --client=CLIENTBOX" % (NETNAME, IP))
                    m = re.search(r"\d+:[0-9a-f-]{36}", out)
                    self.assertIsNotNone(m, out)
                    h = m.group(0)
                    # identity in the registration row
                    regs = json.dumps(self.registrations())
                    self.assertIn(h.split(":")[1], regs)
                    self.assertIn(user, regs)
                    ctl = self.notify_later(IP)
                    out = p.cmd("AsyncNotify %s" % h)
                    ctl.communicate(timeout=10)
                    self.assertIn("%s -> Unavailable" % IP, out)
                    out = p.cmd("UnRegister %s" % h)
                    self.assertNotIn("failed", out.lower())
                    self.assertNotIn(h.split(":")[1], json.dumps(self.registrations()))
                finally:
                    p.close()
                    self.restore(IP)
        log = self.d.log()
        for opts, auth_type, level, user in matrix:
            self.assertIn("auth.session type=%d level=%d account=%s" % (auth_type, level, user),
                          log)
        self.assertIn("domain=TESTDOM.EXAMPLE", log)

    def test_samba_python_round(self):
        from samba.dcerpc import witness
        lp = samba_lp(self.tmp)
        creds = samba_creds(lp, USER, PASSWORD, DOMAIN)
        for b in ["sign", "seal", "ntlm,seal", "spnego,seal"]:
            with self.subTest(binding=b):
                c = samba_witness("ncacn_ip_tcp:127.0.0.1[%s]" % b, lp, creds)
                ifs = c.GetInterfaceList()
                self.assertIn(IP, [i.ipv4 for i in ifs.interfaces])
                h = c.Register(witness.WITNESS_V1, NETNAME, IP, "CLIENTBOX")
                ctl = self.notify_later(IP)
                try:
                    r = c.AsyncNotify(h)
                finally:
                    ctl.communicate(timeout=10)
                self.assertEqual((r.type, r.num), (witness.WITNESS_NOTIFY_RESOURCE_CHANGE, 1))
                self.assertEqual(r.messages[0].name, IP)
                c.UnRegister(h)
                self.restore(IP)

    def test_samba_python_kerberos(self):
        """Samba python bindings with a Kerberos ccache: raw krb5 and SPNEGO(krb5)."""
        from samba import credentials
        from samba.dcerpc import witness
        os.environ["KRB5_CONFIG"] = self.kdc.krb5_conf
        lp = samba_lp(tempfile.mkdtemp(dir=self.tmp),
                      {"realm": self.kdc.realm, "client use kerberos": "required"})
        for b in ["krb5,sign", "krb5,seal", "spnego,seal"]:
            with self.subTest(binding=b):
                creds = credentials.Credentials()
                creds.guess(lp)
                creds.set_kerberos_state(credentials.MUST_USE_KERBEROS)
                creds.set_named_ccache("FILE:" + self.ccache, credentials.SPECIFIED, lp)
                c = samba_witness("ncacn_ip_tcp:127.0.0.1[%s,target_hostname=%s]" % (b, HOST),
                                  lp, creds)
                self.assertIn(IP, [i.ipv4 for i in c.GetInterfaceList().interfaces])
                h = c.Register(witness.WITNESS_V1, NETNAME, IP, "KRBBOX")
                self.assertIn("KRBBOX", json.dumps(self.registrations()))
                c.UnRegister(h)
        log = self.d.log()
        self.assertIn("auth.session type=16 level=5 account=alice domain=TESTDOM.EXAMPLE", log)
        self.assertIn("auth.session type=9 level=6 account=alice domain=TESTDOM.EXAMPLE", log)

    def impacket(self, level, user=USER, password=PASSWORD, domain=DOMAIN):
        t = transport.DCERPCTransportFactory("ncacn_ip_tcp:127.0.0.1[%d]" % self.d.witness_port)
        t.set_credentials(user, password, domain)
        dce = t.get_dce_rpc()
        dce.set_auth_type(rpcrt.RPC_C_AUTHN_WINNT)
        dce.set_auth_level(level)
        dce.connect()
        dce.bind(uuidtup_to_bin(WITNESS))
        return dce

    def test_impacket_levels(self):
        for level in (rpcrt.RPC_C_AUTHN_LEVEL_PKT_INTEGRITY, rpcrt.RPC_C_AUTHN_LEVEL_PKT_PRIVACY):
            with self.subTest(level=level):
                dce = self.impacket(level)
                dce.call(0, b"")
                r = dce.recv()
                self.assertEqual(struct.unpack_from("<I", r, len(r) - 4)[0], 0)
                dce.call(1, register_stub(NETNAME, IP, "IMPACKET"))
                r = dce.recv()
                self.assertEqual(len(r), 24)
                self.assertEqual(struct.unpack_from("<I", r, 20)[0], 0)
                dce.call(2, r[:20])  # UnRegister(handle)
                r = dce.recv()
                self.assertEqual(struct.unpack_from("<I", r, 0)[0], 0)
                dce.disconnect()
        # level 2 (connect): below the minimum -> fault access_denied
        dce = self.impacket(rpcrt.RPC_C_AUTHN_LEVEL_CONNECT)
        dce.call(0, b"")
        with self.assertRaises(rpcrt.DCERPCException) as cm:
            dce.recv()
        self.assertEqual(cm.exception.error_string, "rpc_s_access_denied")
        dce.disconnect()

    # -- refusals --
    def test_refused_credentials(self):
        cases = [("seal", dict(password="wrong")), ("seal", dict(user="mallory")),
                 ("spnego,seal", dict(password="wrong")), ("spnego,sign", dict(user="mallory"))]
        for opts, kw in cases:
            with self.subTest(opts=opts, **kw):
                rc, out = self.rpcclient(opts, "GetInterfaceList", **kw)
                self.assertNotEqual(rc, 0, out)
                self.assertNotIn(IP, out)
                self.assert_good_client_served()
        # impacket: the AUTHENTICATE goes in auth3 (no reply); the first
        # request is refused
        for kw in (dict(password="wrong"), dict(user="mallory")):
            with self.subTest(impacket=kw):
                try:
                    dce = self.impacket(rpcrt.RPC_C_AUTHN_LEVEL_PKT_PRIVACY, **kw)
                    dce.call(0, b"")
                    with self.assertRaises(Exception):
                        dce.recv()
                    dce.disconnect()
                except rpcrt.DCERPCException:
                    pass
                self.assert_good_client_served()
        log = self.d.log()
        self.assertIn("reason=wrong_password user=alice", log)
        self.assertIn("reason=unknown_user user=mallory", log)

    def test_refused_level(self):
        for opts in ("connect", "krb5,connect"):
            with self.subTest(opts=opts):
                rc, out = self.rpcclient(opts, "GetInterfaceList")
                self.assertNotEqual(rc, 0, out)
                self.assertIn("ACCESS_DENIED", out)
        self.assert_good_client_served()

    def test_refused_kerberos_tickets(self):
        port = self.d.witness_port
        env = self.kdc.env()
        # a good AP-REQ is accepted (bind_ack) ...
        tok = gss_ap_req(self.ccache, HOST, env)
        ptype, _ = raw_bind(port, 16, 5, tok)
        self.assertEqual(ptype, 12)
        # ... and refused when replayed (MIT replay cache)
        ptype, body = raw_bind(port, 16, 5, tok)
        self.assertEqual(ptype, 13, body.hex())
        # a ticket for host/foreign.testdom.example: a key we do not hold
        tok = gss_ap_req(self.ccache, "foreign.testdom.example", env)
        ptype, body = raw_bind(port, 16, 5, tok)
        self.assertEqual(ptype, 13, body.hex())
        # a ticket that has expired by the time it arrives (2 s life, 1 s clock skew)
        cc = self.kdc.kinit(USER, PASSWORD, lifetime="2s", name="short")
        tok = gss_ap_req(cc, HOST, env)
        time.sleep(3.5)
        ptype, body = raw_bind(port, 16, 5, tok)
        self.assertEqual(ptype, 13, body.hex())
        # and a non-Kerberos blob
        ptype, body = raw_bind(port, 16, 5, b"\x6e\x03\x02\x01\x05")
        self.assertIn(ptype, (13, None))
        log = self.d.log()
        self.assertRegex(log, r"auth\.krb5\.refused .*[Rr]eplay")
        # MIT checks the authenticator's age before the ticket's end time, so
        # a stale AP-REQ carrying an expired ticket reports clock skew (37)
        self.assertRegex(log, r"auth\.krb5\.refused krb_error=(32|37) reason=(ticket_expired|clock_skew)")
        self.assertIn("krb_error=35 reason=not_us", log)
        self.assert_good_client_served()
        rc, out = self.rpcclient("krb5,seal", "GetInterfaceList")
        self.assertEqual(rc, 0, out)

    def test_windows_shaped_spnego_krb5(self):
        """SPNEGO negTokenInit as Windows sends it (MS krb5 OID first, then
        krb5, NEGOEX, NTLMSSP; optimistic AP-REQ for cifs/<name>, DCE style):
        bind_ack carries negTokenResp(accept-incomplete, supportedMech = the
        MS OID the client preferred, AP-REP)."""
        tok = gss_ap_req(self.ccache, HOST, self.kdc.env(), service="cifs",
                         mech_name="gss_mech_krb5_wrong")
        spnego = neg_token_init([OID_MSKRB5, OID_KRB5, OID_NEGOEX, OID_NTLM], tok)
        ptype, body, auth = raw_bind(self.d.witness_port, 9, 5, spnego, want_token=True)
        self.assertEqual(ptype, 12, body.hex())
        self.assertEqual(auth[:2], b"\xa1" + bytes([auth[1]]))
        self.assertIn(bytes.fromhex("a0030a0101"), auth)  # accept-incomplete
        self.assertIn(der(0xa1, der(0x06, OID_MSKRB5)), auth)
        self.assertIn(b"\xa2", auth)  # responseToken (AP-REP)
        # not DCE style: the token is GSS-framed with the MS OID ([RFC 2743] 3.1);
        # one leg, accept-completed
        tok = gss_ap_req(self.ccache, HOST, self.kdc.env(), service="cifs",
                         mech_name="gss_mech_krb5_wrong", dce=False)
        self.assertEqual(tok[0], 0x60)
        self.assertIn(der(0x06, OID_MSKRB5), tok[:20])
        spnego = neg_token_init([OID_MSKRB5, OID_KRB5, OID_NTLM], tok)
        ptype, body, auth = raw_bind(self.d.witness_port, 9, 5, spnego, want_token=True)
        self.assertEqual(ptype, 12, body.hex())
        self.assertIn(bytes.fromhex("a0030a0100"), auth)  # accept-completed
        # NTLMSSP listed but not first, no token: choose it, ask for NEGOTIATE
        spnego = neg_token_init([OID_NEGOEX, OID_NTLM], b"\x00")
        ptype, body, auth = raw_bind(self.d.witness_port, 9, 5, spnego, want_token=True)
        self.assertEqual(ptype, 12, body.hex())
        self.assertIn(der(0xa1, der(0x06, OID_NTLM)), auth)

    def test_kerberos_without_header_signing(self):
        """An MIT initiator that does not ask for header signing (pfc 0x03,
        like pre-2008 Windows): DCE-style 3 legs with auth3, then requests
        whose MIC covers only stub + pad (level 5) or that are wrapped as
        [HEADER][DATA] (level 6); the responses verify the same way, over
        several calls (sequence numbers)."""
        for level in (5, 6):
            with self.subTest(level=level):
                c = GssClient(self.ccache, HOST, self.kdc.env(), service="cifs")
                s = socket.create_connection(("127.0.0.1", self.d.witness_port), timeout=10)
                try:
                    tok, _ = c.step()
                    s.sendall(bind_pdu(16, level, tok))
                    ptype, body, auth = read_pdu(s)
                    self.assertEqual(ptype, 12, body.hex())
                    tok3, done = c.step(auth)
                    self.assertTrue(done)
                    s.sendall(pdu(16, 2, b"\0" * 4, trailer(16, level, 0), tok3))
                    calls = [(1, register_stub(NETNAME, IP, "NOHDRSIGN")), (0, b"")]
                    handle = None
                    for call_id, (opnum, stub) in enumerate(calls, start=3):
                        pad = (16 - len(stub) % 16) % 16
                        data = stub + b"\0" * pad
                        if level == 5:
                            v = c.get_mic(data)
                        else:
                            data, v = c.wrap(data)
                        req = struct.pack("<IHH", len(stub), 0, opnum) + data
                        s.sendall(pdu(0, call_id, req, trailer(16, level, pad), v))
                        ptype, body, auth = read_pdu(s)
                        self.assertEqual(ptype, 2, body.hex())
                        rpad = body[len(body) - len(auth) - 8 + 2]
                        rdata = body[8:len(body) - len(auth) - 8]
                        if level == 5:
                            self.assertTrue(c.verify_mic(rdata, auth))
                        else:
                            rdata = c.unwrap(rdata, auth)
                            self.assertIsNotNone(rdata)
                        rstub = rdata[:len(rdata) - rpad]
                        self.assertEqual(struct.unpack_from("<I", rstub, len(rstub) - 4)[0], 0)
                        if opnum == 1:
                            handle = rstub[:20]
                    self.assertIsNotNone(handle)
                finally:
                    s.close()
                    c.close()
        log = self.d.log()
        self.assertIn("auth.session type=16 level=5 account=alice", log)
        self.assertIn("auth.session type=16 level=6 account=alice", log)

    def _tamper(self, level, mode):
        """impacket request whose signed bytes are changed (mode 'sig', 'stub')
        or replayed (mode 'replay'); returns what recv() did."""
        dce = self.impacket(level)
        t = dce.get_rpc_transport()
        real_send = t.send
        sent = []

        def send(data, *a, **kw):
            data = bytes(data)
            if mode == "sig" and sent:
                data = data[:-10] + bytes([data[-10] ^ 0x01]) + data[-9:]
            if mode == "stub" and sent:
                data = data[:24] + bytes([data[24] ^ 0x01]) + data[25:]
            sent.append(data)
            return real_send(data, *a, **kw)

        t.send = send
        dce.call(0, b"")  # first request: untouched (sent[0])
        dce.recv()
        if mode == "replay":
            real_send(sent[0])  # the same PDU, sequence number 0 again
        else:
            dce.call(1, register_stub(NETNAME, IP, "TAMPERED"))  # byte 24 = first stub byte
        try:
            dce.recv()
            result = "answered"
        except rpcrt.DCERPCException as e:
            result = e.error_string or "fault"
        except Exception as e:  # connection closed
            result = "closed:" + type(e).__name__
        try:
            dce.disconnect()
        except Exception:
            pass
        return result

    def test_refused_tampered_and_replayed(self):
        for level in (rpcrt.RPC_C_AUTHN_LEVEL_PKT_INTEGRITY, rpcrt.RPC_C_AUTHN_LEVEL_PKT_PRIVACY):
            for mode in ("sig", "stub", "replay"):
                with self.subTest(level=level, mode=mode):
                    result = self._tamper(level, mode)
                    self.assertNotEqual(result, "answered")
                    # Samba's dcesrv_auth.c: bad signature -> fault 0x721 (nca_s_sec_pkg_error) and close
                    self.assertTrue(result.startswith("closed:") or "00000721" in result
                                    or "sec_pkg" in result, result)
                    self.assert_good_client_served()



class KerberosEnctypes(unittest.TestCase):
    """Signature sizes depend on the session subkey's enctype (gssapi_helper.c):
    RFC 4121 MIC = 16 + checksum (28 aes-sha1, 32 aes128-sha256, 40
    aes256-sha384), RFC 4757 rc4-hmac MIC = 37 framed bytes. Samba 4.17's
    client hard-codes 28 for every non-RC4 enctype (gssapi_get_sig_size), so
    it cannot check our (correct) RFC 8009 MICs at [sign]; its seal path asks
    gss_wrap_iov_length and works."""

    CASES = [("arcfour-hmac", 23, 37, ("krb5,sign", "spnego,krb5,seal")),
             ("aes128-cts-hmac-sha256-128", 19, 32, ("krb5,seal", "spnego,krb5,seal")),
             ("aes256-cts-hmac-sha384-192", 20, 40, ("krb5,seal",))]

    def test_enctypes(self):
        for enc, num, mic, optss in self.CASES:
            with self.subTest(enctype=enc), Krb5Lab(host=HOST, enctypes=enc) as kdc:
                cc = kdc.kinit(USER, PASSWORD)
                smb = os.path.join(kdc.dir, "smb.conf")
                with open(smb, "w") as f:
                    f.write("[global]\n workgroup = TESTDOM\n realm = TESTDOM.EXAMPLE\n"
                            " netbios name = CLIENTBOX\n client use kerberos = off\n")
                with Witnessd(name="enc", netname=NETNAME, min_auth="integrity", env=kdc.env(),
                              global_opts={"keytab": kdc.keytab,
                                           "auth methods": "krb5 spnego"}) as d:
                    for opts in optss:
                        r = subprocess.run(
                            ["rpcclient", "-s", smb,
                             "ncacn_ip_tcp:127.0.0.1[%s,target_hostname=%s]" % (opts, HOST),
                             "-U", "%s@%s" % (USER, kdc.realm), "--use-kerberos=required",
                             "-c", "GetInterfaceList"],
                            env=kdc.env({"KRB5CCNAME": "FILE:" + cc}), capture_output=True,
                            text=True, timeout=60)
                        self.assertEqual(r.returncode, 0, opts + ": " + r.stdout + r.stderr)
                        self.assertIn(IP, r.stdout)
                    self.assertIn("auth.krb5.sizes enctype=%d mic=%d" % (num, mic), d.log())


class ConnectLevelAllowed(unittest.TestCase):
    """With "min auth level = connect" a CONNECT-level context is served
    (authenticated, no per-PDU protection: auth_length 0 on requests), and
    the identity still reaches the registration."""

    def test_connect_level(self):
        tmp = tempfile.mkdtemp(prefix="test-auth-connect-")
        try:
            pw = os.path.join(tmp, "ntlm.pw")
            subprocess.run([WITNESSCTL, "user", "add", USER, "--domain", DOMAIN, "--file", pw],
                           input=PASSWORD + "\n", text=True, check=True, capture_output=True)
            with Witnessd(name="connect", min_auth="connect",
                          global_opts={"ntlm password file": pw}) as d:
                t = transport.DCERPCTransportFactory("ncacn_ip_tcp:127.0.0.1[%d]" % d.witness_port)
                t.set_credentials(USER, PASSWORD, DOMAIN)
                dce = t.get_dce_rpc()
                dce.set_auth_type(rpcrt.RPC_C_AUTHN_WINNT)
                dce.set_auth_level(rpcrt.RPC_C_AUTHN_LEVEL_CONNECT)
                dce.connect()
                dce.bind(uuidtup_to_bin(WITNESS))
                dce.call(0, b"")
                r = dce.recv()
                self.assertEqual(struct.unpack_from("<I", r, len(r) - 4)[0], 0)
                dce.call(1, register_stub("WITSRV", IP, "CONNECTBOX"))
                r = dce.recv()
                self.assertEqual(struct.unpack_from("<I", r, 20)[0], 0)
                regs = json.dumps(json.loads(d.ctl("list", "--json").stdout))
                self.assertIn("CONNECTBOX", regs)
                self.assertIn(USER, regs)
                dce.disconnect()
                self.assertIn("auth.session type=10 level=2 account=alice", d.log())
                # rpcclient [connect] (no SIGN flag) and [packet] (level 4, signed)
                smb = os.path.join(tmp, "smb.conf")
                with open(smb, "w") as f:
                    f.write("[global]\n workgroup = TESTDOM\n netbios name = CLIENTBOX\n"
                            " client use kerberos = off\n")
                for opts, level in (("connect", 2), ("packet", 4), ("spnego,packet", 4)):
                    r = subprocess.run(["rpcclient", "-s", smb, "ncacn_ip_tcp:127.0.0.1[%s]" % opts,
                                        "-U", "%s/%s%%%s" % (DOMAIN, USER, PASSWORD),
                                        "-c", "GetInterfaceList"],
                                       capture_output=True, text=True, timeout=60)
                    self.assertEqual(r.returncode, 0, opts + ": " + r.stdout + r.stderr)
                    self.assertIn(IP, r.stdout)
                    self.assertIn("level=%d account=alice" % level, d.log())
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
