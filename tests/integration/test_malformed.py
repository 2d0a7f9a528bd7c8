"""Malformed DCERPC input against a real witnessd: each row of the table sends
raw bytes on a fresh TCP connection and expects a fault (status, flags,
connection kept or closed), a bind_nak (reason), a bind_ack result, or a
plain close; after every row a real client (Samba python bindings,
GetInterfaceList) must still be served and the daemon must be alive.

Run with /usr/bin/python3 inside its own netns (tests/integration/run.sh).
"""
import os
import socket
import struct
import sys
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Witnessd, samba_witness  # noqa: E402

NDR32 = uuid.UUID("8a885d04-1ceb-11c9-9fe8-08002b104860").bytes_le + struct.pack("<I", 2)
NDR64 = uuid.UUID("71710533-beba-4937-8319-b5dbef9ccc36").bytes_le + struct.pack("<I", 1)
WITNESS = uuid.UUID("ccd8c074-d0e5-4a40-92b4-d074faa6ba28").bytes_le + struct.pack("<HH", 1, 1)

PROTO_ERROR = 0x1C01000B
UNK_IF = 0x1C010003
OP_RNG = 0x1C010002
ACCESS_DENIED = 0x5
BAD_STUB = 0x6F7
DNE = 0x20


def pdu(ptype, body, pfc=3, call_id=1, auth=None, vers=(5, 0), drep=b"\x10\0\0\0",
        frag_len=None, auth_len=None):
    a = b""
    if auth is not None:
        atype, level, token = auth
        a = struct.pack("<BBBBI", atype, level, 0, 0, 1) + token
    fl = 16 + len(body) + len(a) if frag_len is None else frag_len
    al = (len(a) - 8 if a else 0) if auth_len is None else auth_len
    return struct.pack("<BBBB4sHHI", vers[0], vers[1], ptype, pfc, drep, fl, al,
                       call_id) + body + a


def bind_body(ctxs, assoc=0, max_frag=4280):
    b = struct.pack("<HHIB3x", max_frag, max_frag, assoc, len(ctxs))
    for cid, abstract, transfers in ctxs:
        b += struct.pack("<HBx", cid, len(transfers)) + abstract + b"".join(transfers)
    return b


def bind(call_id=1, ctxs=None, **kw):
    return pdu(11, bind_body(ctxs or [(0, WITNESS, [NDR32])]), call_id=call_id, **kw)


def request(call_id, opnum, stub=b"", ctx=0, pfc=3, alloc_hint=None):
    ah = len(stub) if alloc_hint is None else alloc_hint
    return pdu(0, struct.pack("<IHH", ah, ctx, opnum) + stub, pfc=pfc, call_id=call_id)


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def recv_pdu(s):
    """One PDU, or None when the server closed the connection."""
    try:
        h = recv_exact(s, 16)
        if h is None:
            return None
        fl = struct.unpack_from("<H", h, 8)[0]
        body = recv_exact(s, fl - 16)
        if body is None:
            return None
        return h + body
    except ConnectionResetError:
        return None


def parse_fault(p):
    assert p[2] == 3, "expected fault, got ptype %d" % p[2]
    return struct.unpack_from("<I", p, 24)[0], p[3]


def is_closed(s):
    s.settimeout(3)
    try:
        while True:
            p = recv_pdu(s)
            if p is None:
                return True
    except socket.timeout:
        return False


class Malformed(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Witnessd(name="malformed", global_opts={"max request size": 262144}).start()
        cls.port = cls.d.witness_port

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def conn(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        return s

    def bound(self, pfc=3):
        s = self.conn()
        s.sendall(bind(pfc=pfc))
        p = recv_pdu(s)
        self.assertEqual(p[2], 12)
        return s

    def still_serving(self):
        self.assertTrue(self.d.alive(), self.d.log()[-3000:])
        c = samba_witness("ncacn_ip_tcp:127.0.0.1[%d]" % self.port)
        self.assertGreaterEqual(c.GetInterfaceList().num_interfaces, 1)

    def expect_fault(self, s, status, flags, closed):
        p = recv_pdu(s)
        self.assertIsNotNone(p, "connection closed without a fault")
        st, pfc = parse_fault(p)
        self.assertEqual(st, status, "fault 0x%x" % st)
        self.assertEqual(pfc & DNE, flags)
        if closed:
            self.assertTrue(is_closed(s), "connection should be closed")
        else:
            # the connection still works: GetInterfaceList on it
            s.sendall(request(77, 0))
            p = recv_pdu(s)
            self.assertIsNotNone(p)
            self.assertEqual(p[2], 2, "expected a response on the kept connection")

    # -- the table: (name, before, payload, expectation) --
    # before: None (fresh connection) or "bind"; expectation kinds:
    #   ("close",)  ("fault", status, dne_flag, closed)  ("nak", reason)
    #   ("ack_result", index, result, reason)
    CASES = [
        ("truncated header", None, b"\x05\x00\x0b\x03\x10\x00", ("close",)),
        ("lying frag_length", None, bind()[:40].replace(b"\x48\x00", b"\xe8\x03", 1), ("close",)),
        ("frag_length below header", None, pdu(11, b"", frag_len=10), ("close",)),
        ("auth_length beyond fragment", None, pdu(11, bind_body([(0, WITNESS, [NDR32])]),
                                                   auth_len=400), ("nak", 4)),
        ("big-endian drep", None, bind(drep=b"\x00\0\0\0"), ("close",)),
        ("bad major version", None, bind(vers=(4, 0)), ("close",)),
        ("bad minor version bind", None, bind(vers=(5, 1)), ("nak", 4)),
        ("bad minor version request", "bind", request(2, 0, pfc=3)[:1] + b"\x01" + request(2, 0)[2:],
         ("fault", PROTO_ERROR, DNE, True)),
        ("unknown ptype 7", None, pdu(7, b""), ("fault", PROTO_ERROR, DNE, True)),
        ("server-only ptype (response)", "bind", pdu(2, struct.pack("<IHBB", 0, 0, 0, 0)),
         ("fault", PROTO_ERROR, DNE, True)),
        ("request before bind", None, request(2, 0), ("fault", PROTO_ERROR, DNE, True)),
        ("alter_context before bind", None, pdu(14, bind_body([(0, WITNESS, [NDR32])])),
         ("fault", PROTO_ERROR, DNE, True)),
        ("unknown context", "bind", request(2, 0, ctx=9), ("fault", UNK_IF, DNE, False)),
        ("unknown opnum", "bind", request(2, 42), ("fault", OP_RNG, DNE, False)),
        ("garbage stub", "bind", request(2, 1, stub=b"\xff" * 13), ("fault", BAD_STUB, 0, False)),
        # framing errors on requests: no did_not_execute (Samba, checked against Windows)
        ("oversize fragment", "bind", request(2, 0, stub=b"\0" * 6000),
         ("fault", PROTO_ERROR, 0, True)),
        ("middle fragment without first", "bind", request(2, 0, pfc=2),
         ("fault", PROTO_ERROR, 0, True)),
        ("first fragment with pending_cancel", "bind", request(2, 0, pfc=7),
         ("fault", 0x6BD, DNE, True)),
        ("NDR64-only bind", None, bind(ctxs=[(0, WITNESS, [NDR64])]), ("ack_result", 0, 0, 0)),
        ("no NDR transfer syntax", None, bind(ctxs=[(0, WITNESS, [WITNESS])]),
         ("ack_result", 0, 2, 2)),
        ("unknown interface", None, bind(ctxs=[(0, NDR64, [NDR32])]), ("ack_result", 0, 2, 1)),
        ("bind with no contexts", None, pdu(11, bind_body([])), ("nak", 0)),
        ("bind with schannel auth", None, bind(pfc=7, auth=(68, 6, b"\0" * 16)), ("nak", 8)),
        ("second bind", "bind", bind(call_id=2), ("nak", 0)),
        # no context to finish: proto_error with did_not_execute (Samba's dcesrv_auth3)
        ("auth3 without auth", "bind", pdu(16, b"\0" * 4, auth=(10, 6, b"x" * 20)),
         ("fault", PROTO_ERROR, DNE, True)),
        ("not DCERPC at all", None, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", ("close",)),
    ]

    def run_case(self, name, before, payload, exp):
        s = self.bound() if before == "bind" else self.conn()
        try:
            s.sendall(payload)
            if exp[0] == "close":
                s.shutdown(socket.SHUT_WR)  # the lying frag_length needs EOF to end
                self.assertTrue(is_closed(s), name)
            elif exp[0] == "fault":
                self.expect_fault(s, exp[1], exp[2], exp[3])
            elif exp[0] == "nak":
                p = recv_pdu(s)
                self.assertIsNotNone(p, name)
                self.assertEqual(p[2], 13, "%s: ptype %d" % (name, p[2]))
                self.assertEqual(struct.unpack_from("<H", p, 16)[0], exp[1])
                self.assertTrue(is_closed(s))
            elif exp[0] == "ack_result":
                p = recv_pdu(s)
                self.assertEqual(p[2], 12)
                sec_len = struct.unpack_from("<H", p, 24)[0]
                off = (26 + sec_len + 3) & ~3
                off += 4 + 24 * exp[1]
                result, reason = struct.unpack_from("<HH", p, off)
                self.assertEqual((result, reason), (exp[2], exp[3]), name)
        finally:
            s.close()
        self.still_serving()

    def test_table(self):
        for name, before, payload, exp in self.CASES:
            with self.subTest(name):
                self.run_case(name, before, payload, exp)

    def test_oversize_reassembled_request(self):
        """More than max request size (256 KiB here) in fragments: fault access_denied + close."""
        s = self.bound()
        chunk = b"\0" * 5000
        data = b""
        for i in range(60):
            pfc = (1 if i == 0 else 0)
            data += request(2, 1, stub=chunk, pfc=pfc, alloc_hint=60 * 5000)
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.expect_fault(s, ACCESS_DENIED, 0, True)
        s.close()
        self.still_serving()

    def test_many_garbage_connections(self):
        """200 connections of random bytes behind a valid-looking header."""
        import random
        rnd = random.Random(1)
        for i in range(200):
            s = self.conn()
            n = rnd.randrange(16, 300)
            junk = bytes(rnd.randrange(256) for _ in range(n))
            hdr = struct.pack("<BBBB4sHHI", 5, 0, rnd.choice([0, 11, 14, 16, 18, 19]),
                              rnd.randrange(256), b"\x10\0\0\0", n, rnd.choice([0, 0, 16]), 1)
            try:
                s.sendall(hdr + junk[16:])
                s.shutdown(socket.SHUT_WR)
                is_closed(s)
            except OSError:
                pass
            s.close()
        self.still_serving()


if __name__ == "__main__":
    unittest.main()
