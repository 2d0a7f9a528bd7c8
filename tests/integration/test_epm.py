"""The endpoint mapper and mgmt interfaces of witnessd on 127.0.0.1:135,
driven by real clients: impacket (hept_map, hept_lookup, mgmt), Samba python
bindings (EPM resolution of the witness port) and a raw ept_map shaped like
Microsoft's test-suite client (object nil GUID, max_towers 4).

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

from impacket.dcerpc.v5 import epm, mgmt, transport  # noqa: E402
from impacket.dcerpc.v5.rpcrt import DCERPCException  # noqa: E402
from impacket.uuid import uuidtup_to_bin  # noqa: E402

WITNESS_UUID = "ccd8c074-d0e5-4a40-92b4-d074faa6ba28"
EPM_UUID = "e1af8308-5d1f-11c9-91a4-08002b14a0fa"
MGMT_UUID = "afa8bd80-7d8a-11c9-bef4-08002b102989"
NO_MORE_ENTRIES = 0x16C9A0D6


def tcp_tower(iface_uuid, major, minor, port, ip):
    """5-floor ncacn_ip_tcp tower ([C706] appendix L)."""
    ndr = uuid.UUID("8a885d04-1ceb-11c9-9fe8-08002b104860").bytes_le
    floors = [
        (b"\x0d" + uuid.UUID(iface_uuid).bytes_le + struct.pack("<H", major), struct.pack("<H", minor)),
        (b"\x0d" + ndr + struct.pack("<H", 2), b"\0\0"),
        (b"\x0b", b"\0\0"),
        (b"\x07", struct.pack(">H", port)),
        (b"\x09", socket.inet_aton(ip)),
    ]
    t = struct.pack("<H", len(floors))
    for lhs, rhs in floors:
        t += struct.pack("<H", len(lhs)) + lhs + struct.pack("<H", len(rhs)) + rhs
    return t


class Epm(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Witnessd(name="epm").start()

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def test_impacket_hept_map(self):
        b = epm.hept_map("127.0.0.1", uuidtup_to_bin((WITNESS_UUID, "1.1")),
                         protocol="ncacn_ip_tcp")
        self.assertEqual(b, "ncacn_ip_tcp:127.0.0.1[%d]" % self.d.witness_port)
        # a lower minor version is compatible; major 1 is what is registered
        b = epm.hept_map("127.0.0.1", uuidtup_to_bin((WITNESS_UUID, "1.0")),
                         protocol="ncacn_ip_tcp")
        self.assertEqual(b, "ncacn_ip_tcp:127.0.0.1[%d]" % self.d.witness_port)

    def test_impacket_hept_map_no_entries(self):
        for iface, proto in [(("11111111-2222-3333-4444-555555555555", "1.0"), "ncacn_ip_tcp"),
                             ((WITNESS_UUID, "2.0"), "ncacn_ip_tcp"),
                             ((WITNESS_UUID, "1.1"), "ncacn_np")]:
            with self.subTest(iface=iface, proto=proto):
                with self.assertRaises(DCERPCException) as cm:
                    epm.hept_map("127.0.0.1", uuidtup_to_bin(iface), protocol=proto)
                self.assertEqual(cm.exception.get_error_code(), NO_MORE_ENTRIES)

    def test_impacket_hept_lookup(self):
        entries = epm.hept_lookup("127.0.0.1")
        found = [e for e in entries
                 if e["tower"]["Floors"][0]["InterfaceUUID"] == uuid.UUID(WITNESS_UUID).bytes_le]
        self.assertEqual(len(found), 1, entries)
        e = found[0]
        self.assertEqual(e["annotation"].rstrip(b"\0"), b"witness")
        floors = e["tower"]["Floors"]
        self.assertEqual(len(floors), 5)
        self.assertEqual(floors[3]["RelatedData"], struct.pack(">H", self.d.witness_port))
        self.assertEqual(floors[4]["RelatedData"], socket.inet_aton("127.0.0.1"))

    def test_raw_ept_map_windows_shape(self):
        """Object = non-NULL nil GUID, port floor 135, IP 0.0.0.0, max_towers 4."""
        t = transport.DCERPCTransportFactory("ncacn_ip_tcp:127.0.0.1[135]")
        dce = t.get_dce_rpc()
        dce.connect()
        dce.bind(epm.MSRPC_UUID_PORTMAP)
        tower = tcp_tower(WITNESS_UUID, 1, 1, 135, "0.0.0.0")
        stub = struct.pack("<I", 1) + b"\0" * 16                  # object ptr + nil GUID
        stub += struct.pack("<III", 2, len(tower), len(tower)) + tower
        stub += b"\0" * ((4 - len(stub) % 4) % 4)
        stub += b"\0" * 20 + struct.pack("<I", 4)                # entry_handle, max_towers
        dce.call(3, stub)
        r = dce.recv()
        dce.disconnect()
        self.assertEqual(r[:20], b"\0" * 20)                     # entry handle zeroed
        num, max_count, offset, actual = struct.unpack_from("<IIII", r, 20)
        self.assertEqual((num, max_count, offset, actual), (1, 4, 0, 1))
        off = 40                                                 # after one referent
        mc, tl = struct.unpack_from("<II", r, off)
        self.assertEqual(mc, tl)
        got = r[off + 8: off + 8 + tl]
        self.assertEqual(got, tcp_tower(WITNESS_UUID, 1, 1, self.d.witness_port, "127.0.0.1"))
        self.assertEqual(struct.unpack_from("<I", r, len(r) - 4)[0], 0)

    def test_raw_ept_map_null_tower(self):
        t = transport.DCERPCTransportFactory("ncacn_ip_tcp:127.0.0.1[135]")
        dce = t.get_dce_rpc()
        dce.connect()
        dce.bind(epm.MSRPC_UUID_PORTMAP)
        dce.call(3, struct.pack("<II", 0, 0) + b"\0" * 20 + struct.pack("<I", 1))
        r = dce.recv()
        dce.disconnect()
        self.assertEqual(struct.unpack_from("<I", r, 20)[0], 0)  # num_towers
        self.assertEqual(struct.unpack_from("<I", r, len(r) - 4)[0], NO_MORE_ENTRIES)

    def test_raw_truncated_stubs(self):
        """Truncated ept_map / ept_lookup / mgmt stubs: fault bad_stub_data, EPM still serves."""
        for uuid_, opnum, stub in [(epm.MSRPC_UUID_PORTMAP, 3, b"\x01\0\0\0\x01"),
                                   (epm.MSRPC_UUID_PORTMAP, 2, b"\0\0"),
                                   (mgmt.MSRPC_UUID_MGMT, 4, b"\0")]:
            t = transport.DCERPCTransportFactory("ncacn_ip_tcp:127.0.0.1[135]")
            dce = t.get_dce_rpc()
            dce.connect()
            dce.bind(uuid_)
            dce.call(opnum, stub)
            with self.assertRaises(DCERPCException) as cm:
                dce.recv()
            self.assertEqual(cm.exception.error_string, "rpc_x_bad_stub_data")  # 0x6f7
            dce.disconnect()
        self.test_impacket_hept_map()

    def test_samba_python_resolves_through_epm(self):
        c = samba_witness("ncacn_ip_tcp:127.0.0.1")
        self.assertGreaterEqual(c.GetInterfaceList().num_interfaces, 1)

    def test_impacket_mgmt(self):
        t = transport.DCERPCTransportFactory("ncacn_ip_tcp:127.0.0.1[135]")
        dce = t.get_dce_rpc()
        dce.connect()
        dce.bind(mgmt.MSRPC_UUID_MGMT)
        r = mgmt.hinq_if_ids(dce)
        ids = set()
        for i in range(r["if_id_vector"]["count"]):
            e = r["if_id_vector"]["if_id"][i]
            ids.add((str(uuid.UUID(bytes_le=bytes(e["Uuid"]))), e["VersMajor"], e["VersMinor"]))
        self.assertIn((WITNESS_UUID, 1, 1), ids)
        self.assertIn((EPM_UUID, 3, 0), ids)
        self.assertIn((MGMT_UUID, 1, 0), ids)
        r = mgmt.his_server_listening(dce)
        self.assertEqual(r["status"], 0)
        r = mgmt.hinq_stats(dce)
        self.assertEqual(r["count"], 4)
        self.assertGreaterEqual(r["statistics"][0], 1)   # calls in
        self.assertGreaterEqual(r["statistics"][2], 1)   # packets in
        r = mgmt.hinq_princ_name(dce, princ_name_size=256)
        self.assertEqual(r["status"], 0)
        self.assertEqual(b"".join(r["princ_name"]).rstrip(b"\0"), b"cifs/WITSRV")
        r = mgmt.hinq_princ_name(dce, princ_name_size=1)  # too small
        self.assertEqual(r["status"], 122)               # ERROR_INSUFFICIENT_BUFFER
        dce.disconnect()


if __name__ == "__main__":
    unittest.main()
