"""The endpoint mapper and mgmt interfaces of witnessd on 127.0.0.1:135,
driven by real clients: impacket (hept_map, hept_lookup, mgmt), Samba python
bindings (EPM resolution of the witness port) and a raw ept_map shaped like
Microsoft's test-suite client (object nil GUID, max_towers 4).

Run with /usr/bin/python3 inside its own netns (tests/integration/run.sh).
"""
import os
import socket
import struct
import subprocess
import sys
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Witnessd, samba_creds, samba_lp, samba_witness  # noqa: E402

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


    # ---- iteration: entry handles, max_ents, the end ([C706] ept_lookup) ----

    def _epm_dce(self):
        t = transport.DCERPCTransportFactory("ncacn_ip_tcp:127.0.0.1[135]")
        dce = t.get_dce_rpc()
        dce.connect()
        dce.bind(epm.MSRPC_UUID_PORTMAP)
        return dce

    @staticmethod
    def _lookup(dce, handle, max_ents):
        req = epm.ept_lookup()
        req["inquiry_type"] = epm.RPC_C_EP_ALL_ELTS
        req["object"] = epm.NULL
        req["Ifid"] = epm.NULL
        req["vers_option"] = epm.RPC_C_VERS_ALL
        req["entry_handle"] = handle
        req["max_ents"] = max_ents
        return dce.request(req, checkError=False)

    @staticmethod
    def _key(tower):
        """An endpoint: interface UUID, port and IP floors of an EPMTower."""
        f = tower["Floors"]
        return (bytes(f[0]["InterfaceUUID"]), bytes(f[3]["RelatedData"]),
                bytes(f[4]["RelatedData"]))

    @classmethod
    def _raw_key(cls, entry):
        return cls._key(epm.EPMTower(b"".join(entry["tower"]["tower_octet_string"])))

    def test_rpcclient_epmlookup_ends(self):
        """rpcclient asks for one entry at a time until EPT_S_NOT_REGISTERED."""
        r = subprocess.run(["rpcclient", "ncacn_ip_tcp:127.0.0.1", "-U%", "-c", "epmlookup"],
                           capture_output=True, text=True, timeout=20)
        lines = [ln for ln in r.stdout.splitlines() if WITNESS_UUID in ln.lower()]
        self.assertEqual(len(lines), 1, r.stdout + r.stderr)
        self.assertIn("ncacn_ip_tcp:127.0.0.1[%d," % self.d.witness_port, lines[0])
        self.assertIn("witness", lines[0])
        self.assertIn("no more entries", r.stderr)

    def test_impacket_hept_lookup_once(self):
        entries = epm.hept_lookup("127.0.0.1")
        towers = [self._key(e["tower"]) for e in entries]
        self.assertEqual(len(towers), len(set(towers)), entries)
        self.assertGreaterEqual(len(towers), 1)

    def test_lookup_max_ents_one_iterates(self):
        every = [self._key(e["tower"]) for e in epm.hept_lookup("127.0.0.1")]
        dce = self._epm_dce()
        handle = epm.ept_lookup_handle_t()
        got = []
        for _ in range(len(every) + 1):
            r = self._lookup(dce, handle, 1)
            handle = r["entry_handle"]
            if r["status"] != 0:
                break
            self.assertEqual(r["num_ents"], 1)
            self.assertFalse(handle.isNull())                # a full batch: continue
            got.append(self._raw_key(r["entries"][0]))
        self.assertEqual(r["status"], NO_MORE_ENTRIES)
        self.assertEqual(r["num_ents"], 0)
        self.assertTrue(handle.isNull())
        self.assertEqual(sorted(got), sorted(every))
        # the nil handle starts a new lookup, from the first entry
        r = self._lookup(dce, handle, 1)
        self.assertEqual(r["status"], 0)
        self.assertEqual(self._raw_key(r["entries"][0]), got[0])
        dce.disconnect()

    def test_lookup_handle_free(self):
        dce = self._epm_dce()
        r = self._lookup(dce, epm.ept_lookup_handle_t(), 1)
        self.assertEqual(r["status"], 0)
        handle = r["entry_handle"]
        self.assertFalse(handle.isNull())
        dce.call(4, handle.getData())                        # ept_lookup_handle_free
        fr = dce.recv()
        self.assertEqual(fr, b"\0" * 20 + struct.pack("<I", 0))  # nil handle, status OK
        r = self._lookup(dce, handle, 1)                     # freed: nothing to continue
        self.assertEqual(r["status"], NO_MORE_ENTRIES)
        self.assertEqual(r["num_ents"], 0)
        self.assertTrue(r["entry_handle"].isNull())
        dce.disconnect()

    def test_lookup_max_ents_zero_and_handle_cap(self):
        dce = self._epm_dce()
        r = self._lookup(dce, epm.ept_lookup_handle_t(), 0)
        self.assertEqual(r["num_ents"], 0)
        self.assertNotEqual(r["status"], 0)
        self.assertTrue(r["entry_handle"].isNull())
        held = []
        for _ in range(16):                                  # EPM_MAX_HANDLES
            r = self._lookup(dce, epm.ept_lookup_handle_t(), 1)
            self.assertEqual(r["status"], 0)
            held.append(r["entry_handle"])
        r = self._lookup(dce, epm.ept_lookup_handle_t(), 1)  # refused, the others live
        self.assertEqual(r["status"], 0x6D8)                 # EPT_S_CANT_PERFORM_OP
        self.assertEqual(r["num_ents"], 0)
        self.assertEqual(self._lookup(dce, held[0], 1)["status"] in (0, NO_MORE_ENTRIES), True)
        dce.disconnect()
        dce = self._epm_dce()                                # a new association: none held
        self.assertEqual(self._lookup(dce, epm.ept_lookup_handle_t(), 1)["status"], 0)
        dce.disconnect()

    def test_samba_lookup_iterates_ndr32_and_ndr64(self):
        """samba.dcerpc.epmapper Lookup with max_ents 1 over both transfer syntaxes."""
        from samba.dcerpc import epmapper, misc
        lp = samba_lp()
        for opts in ("", "ndr64"):
            with self.subTest(opts=opts):
                binding = "ncacn_ip_tcp:127.0.0.1[135%s]" % ("," + opts if opts else "")
                c = epmapper.epmapper(binding, lp, samba_creds(lp))
                self.assertEqual(c.transfer_syntax[1], 1 if opts else 2)  # NDR64 v1, NDR v2
                handle = misc.policy_handle()
                names = []
                for _ in range(64):
                    handle, entries, status = c.epm_Lookup(0, None, None, 0, handle, 1)
                    if status != 0:
                        break
                    self.assertEqual(len(entries), 1)
                    names.append(entries[0].annotation)
                self.assertEqual(status, NO_MORE_ENTRIES)
                self.assertEqual(handle.uuid, misc.GUID())
                self.assertEqual(names.count("witness"), 1, names)


if __name__ == "__main__":
    unittest.main()
