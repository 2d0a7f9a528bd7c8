"""CONC_MPX end to end with the real witness service: on ONE connection bound
with PFC_CONC_MPX (0x10), a WitnessrAsyncNotify stays pending while
GetInterfaceList calls on the same connection are answered; UnRegister then
completes the pending call. Without CONC_MPX a second call while one is
pending is a protocol error (Samba's rule). A raw-socket client, because
neither rpcclient, Samba python nor impacket sets CONC_MPX (4.17 and impacket
0.10 as observed on this machine).

Run with /usr/bin/python3 inside its own netns (tests/integration/run.sh).
"""
import os
import socket
import struct
import sys
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Witnessd, recv_pdu  # noqa: E402

NDR32 = uuid.UUID("8a885d04-1ceb-11c9-9fe8-08002b104860").bytes_le + struct.pack("<I", 2)
WITNESS = uuid.UUID("ccd8c074-d0e5-4a40-92b4-d074faa6ba28").bytes_le + struct.pack("<HH", 1, 1)


def pdu(ptype, body, pfc=3, call_id=1):
    return struct.pack("<BBBB4sHHI", 5, 0, ptype, pfc, b"\x10\0\0\0", 16 + len(body), 0,
                       call_id) + body


def bind(pfc):
    body = struct.pack("<HHIB3x", 5840, 5840, 0, 1)
    body += struct.pack("<HBx", 0, 1) + WITNESS + NDR32
    return pdu(11, body, pfc=pfc)


def request(call_id, opnum, stub=b""):
    return pdu(0, struct.pack("<IHH", len(stub), 0, opnum) + stub, call_id=call_id)


def wstr(s):
    s += "\0"
    b = struct.pack("<III", len(s), 0, len(s)) + s.encode("utf-16-le")
    return b + b"\0" * ((4 - len(b) % 4) % 4)


def register_stub():
    return (struct.pack("<II", 0x00010001, 0x20000) + wstr("WITSRV") + struct.pack("<I", 0x20004)
            + wstr("127.0.0.2") + struct.pack("<I", 0x20008) + wstr("CLIENTBOX"))


class ConcMpx(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Witnessd(name="mpx").start()

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def connect(self, pfc):
        s = socket.create_connection(("127.0.0.1", self.d.witness_port), timeout=10)
        s.sendall(bind(pfc))
        p = recv_pdu(s)
        self.assertEqual(p[2], 12)
        self.assertEqual(p[3] & 0x10, pfc & 0x10)  # CONC_MPX echoed iff asked
        return s

    def register(self, s, call_id):
        s.sendall(request(call_id, 1, register_stub()))
        p = recv_pdu(s)
        self.assertEqual(p[2], 2, "Register: ptype %d" % p[2])
        stub = p[24:]
        self.assertEqual(struct.unpack_from("<I", stub, 20)[0], 0, "Register WERROR")
        return stub[:20]

    def test_async_notify_pending_while_other_calls_run(self):
        s = self.connect(0x13)
        handle = self.register(s, 2)
        s.sendall(request(3, 3, handle))  # AsyncNotify: stays pending
        for call_id in (4, 5, 6):
            s.sendall(request(call_id, 0))  # GetInterfaceList
            p = recv_pdu(s)
            self.assertEqual((p[2], struct.unpack_from("<I", p, 12)[0]), (2, call_id))
        s.sendall(request(7, 2, handle))  # UnRegister completes the AsyncNotify
        got = {}
        for _ in range(2):
            p = recv_pdu(s)
            self.assertIsNotNone(p)
            got[struct.unpack_from("<I", p, 12)[0]] = p
        self.assertEqual(set(got), {3, 7})
        self.assertEqual(got[7][2], 2)
        self.assertEqual(struct.unpack_from("<I", got[7], len(got[7]) - 4)[0], 0)
        self.assertEqual(got[3][2], 2)  # a response carrying a WERROR, not a fault
        s.close()

    def test_without_conc_mpx_second_call_is_refused(self):
        s = self.connect(0x03)
        handle = self.register(s, 2)
        s.sendall(request(3, 3, handle))
        s.sendall(request(4, 0))
        p = recv_pdu(s)
        self.assertEqual(p[2], 3)
        self.assertEqual(struct.unpack_from("<I", p, 24)[0], 0x1C01000B)
        s.settimeout(5)
        while p is not None:  # then the connection is closed
            p = recv_pdu(s)
        s.close()
        # another connection is still served
        s = self.connect(0x13)
        s.sendall(request(2, 0))
        self.assertEqual(recv_pdu(s)[2], 2)
        s.close()


if __name__ == "__main__":
    unittest.main()
