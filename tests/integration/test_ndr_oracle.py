"""Oracle test: our MS-SWN NDR32 and NDR64 against Samba's NDR (python3-samba,
samba.ndr with ndr64=True for NDR64, LIBNDR_FLAG_NDR64), with FRESH random
structures every run (the committed vectors are fixed).

Both directions:
  * Samba -> us: random structures packed by samba.ndr are pulled and pushed
    again by our C code (tests/bench/bench_ndr repush); the bytes must be
    identical, and every byte must be consumed.
  * us -> Samba: random structures pushed by our C code (bench_ndr gen) are
    unpacked by samba.ndr; the values Samba sees must be the values we
    encoded, and Samba's re-pack must give our bytes.

Run with /usr/bin/python3 (it has samba.dcerpc). Set WD_ORACLE_SEED to replay.
"""
import ipaddress
import os
import random
import subprocess
import sys
import time
import unittest

from samba.dcerpc import witness
from samba.ndr import ndr_pack_in, ndr_pack_out, ndr_unpack_in, ndr_unpack_out

from harness import BUILD, SRCDIR

sys.path.insert(0, os.path.join(SRCDIR, "tests", "vectors"))
import gen_witness_vectors as gen  # noqa: E402

BENCH = os.path.join(BUILD, "bench_ndr")
PER_KIND = int(os.environ.get("WD_ORACLE_PER_KIND", "1000"))
SEED = int(os.environ.get("WD_ORACLE_SEED", str(int(time.time() * 1000) & 0x7FFFFFFF)))


def repush(lines, ndr64=False):
    """Runs bench_ndr repush over "<kind> <hex>" lines, returns its output lines."""
    out = subprocess.run([BENCH, "repush"] + (["ndr64"] if ndr64 else []),
                         input="\n".join(lines) + "\n", capture_output=True,
                         text=True, timeout=120, check=True).stdout
    return out.splitlines()


def samba_notify_ndr64(data):
    """What Samba's NDR64 push makes of our AsyncNotify response `data`.

    [MS-SWN] 2.2.2.4 defines Length as the size of MessageBuffer, and that is
    what we send. Samba's hand-written ndr_push_witness_notifyResponse
    (librpc/ndr/ndr_witness.c) pushes ndr_size_witness_notifyResponse() - 20,
    which under NDR64 also counts the wider header (pad, 8-byte pointer,
    8-byte max_count) and its trailing alignment, and zero-fills the buffer
    up to that Length. Layout: pointer 0..8, type 8, Length 12, num 16, pad
    20, buffer pointer 24..32, max_count 32..40, buffer 40.., result."""
    if data[0:8] == bytes(8) or data[24:32] == bytes(8):
        return data  # NULL response or NULL buffer: no Length rewrite
    n = int.from_bytes(data[12:16], "little")
    size = 12 + 4 + 8 + 8 + n  # the structure as Samba sizes it
    size = (size + 3) & ~3
    n2 = size - 20
    body = data[40:40 + n] + bytes(n2 - n)
    out = data[0:12] + n2.to_bytes(4, "little") + data[16:32] + n2.to_bytes(8, "little") + body
    out += bytes((4 - len(out) % 4) % 4)
    return out + data[-4:]


def parse_line(line):
    parts = line.split(" ")
    kv = {}
    for t in parts[3:]:
        k, v = t.split("=", 1)
        kv[k] = v
    return parts[0], parts[1], bytes.fromhex(parts[2]), kv


def sv(kv, k):
    v = kv[k]
    return None if v == "null" else bytes.fromhex(v[2:]).decode("utf-8")


def bv(kv, k):
    return bytes.fromhex(kv[k][2:])


def iv(kv, k):
    return int(kv[k], 16)


def guid_bytes(g):
    from samba.ndr import ndr_pack
    return ndr_pack(g)


# kind -> (samba class, direction)
SAMBA = {
    "register_in": (witness.Register, "in"),
    "register_ex_in": (witness.RegisterEx, "in"),
    "handle_in": (witness.UnRegister, "in"),
    "handle_out": (witness.Register, "out"),
    "result_out": (witness.UnRegister, "out"),
    "get_interface_list_out": (witness.GetInterfaceList, "out"),
    "async_notify_out": (witness.AsyncNotify, "out"),
}


class NdrOracleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(BENCH, os.X_OK):
            raise unittest.SkipTest("%s not built" % BENCH)
        print("oracle seed %d (WD_ORACLE_SEED to replay), %d per kind" % (SEED, PER_KIND),
              file=sys.stderr)

    def test_committed_vectors(self):
        """The committed vectors (incl. the WS2012 captures) re-push exactly."""
        vs = []
        with open(os.path.join(SRCDIR, "tests", "vectors", "witness_ndr.txt")) as f:
            for line in f:
                if line.strip() and not line.startswith("#"):
                    k, n, data, _ = parse_line(line.strip())
                    vs.append((k, n, data))
        out = repush(["%s %s" % (k, d.hex()) for (k, _, d) in vs])
        self.assertEqual(len(out), len(vs))
        for (k, n, d), o in zip(vs, out):
            self.assertEqual(o, d.hex(), "%s %s" % (k, n))
        self.assertGreaterEqual(len(vs), 100)

    def samba_to_us(self, ndr64):
        rng = random.Random(SEED)
        gen.NDR64 = ndr64
        try:
            vs = []
            for kind in gen.KINDS:
                for i in range(PER_KIND):
                    vs.append(gen.random_vector(rng, kind, "r%d" % i))
        finally:
            gen.NDR64 = False
        out = repush(["%s %s" % (k, d.hex()) for (k, _, d, _) in vs], ndr64)
        self.assertEqual(len(out), len(vs))
        bad = [(k, d.hex(), o) for (k, _, d, _), o in zip(vs, out) if o != d.hex()]
        self.assertEqual(bad[:3], [], "%d of %d differ (seed %d)" % (len(bad), len(vs), SEED))
        print("samba->us%s: %d random structures byte-identical"
              % (" (NDR64)" if ndr64 else "", len(vs)), file=sys.stderr)

    def test_samba_to_us(self):
        """Fresh Samba-packed random structures: our pull + push is byte-identical."""
        self.samba_to_us(False)

    def test_samba_to_us_ndr64(self):
        """The same in NDR64: every witness structure, Samba's NDR64 bytes."""
        self.samba_to_us(True)

    def us_to_samba(self, ndr64):
        n = PER_KIND * len(gen.KINDS)
        out = subprocess.run([BENCH, "gen", str(n), str(SEED)] + (["ndr64"] if ndr64 else []),
                             capture_output=True, text=True, timeout=120,
                             check=True).stdout.splitlines()
        self.assertEqual(len(out), n)
        rewritten = 0
        for line in out:
            kind, name, data, kv = parse_line(line)
            cls, direction = SAMBA[kind]
            obj = cls()
            msg = "%s %s %s (seed %d)" % (kind, name, data.hex(), SEED)
            want = data
            if ndr64 and kind == "async_notify_out":
                want = samba_notify_ndr64(data)
                rewritten += want != data
            if direction == "in":
                ndr_unpack_in(obj, data, ndr64=ndr64)
                self.assertEqual(ndr_pack_in(obj, ndr64=ndr64), want, msg)
            else:
                ndr_unpack_out(obj, data, ndr64=ndr64)
                self.assertEqual(ndr_pack_out(obj, ndr64=ndr64), want, msg)
            self.check_values(kind, obj, kv, msg)
        print("us->samba%s: %d random structures decoded and re-packed identically%s"
              % (" (NDR64)" if ndr64 else "", n,
                 " (%d AsyncNotify responses with Samba's NDR64 Length)" % rewritten
                 if ndr64 else ""), file=sys.stderr)

    def test_us_to_samba(self):
        """Fresh structures pushed by us: Samba decodes our values and re-packs our bytes."""
        self.us_to_samba(False)

    def test_us_to_samba_ndr64(self):
        """The same in NDR64 (Samba's AsyncNotify Length differs, see samba_notify_ndr64)."""
        self.us_to_samba(True)

    def check_values(self, kind, obj, kv, msg):
        if kind in ("register_in", "register_ex_in"):
            self.assertEqual(obj.in_version, iv(kv, "version"), msg)
            self.assertEqual(obj.in_net_name, sv(kv, "net"), msg)
            self.assertEqual(obj.in_ip_address, sv(kv, "ip"), msg)
            self.assertEqual(obj.in_client_computer_name, sv(kv, "client"), msg)
            if kind == "register_ex_in":
                self.assertEqual(obj.in_share_name, sv(kv, "share"), msg)
                self.assertEqual(obj.in_flags, iv(kv, "flags"), msg)
                self.assertEqual(obj.in_timeout, iv(kv, "timeout"), msg)
        elif kind in ("handle_in", "handle_out"):
            h = obj.in_context_handle if kind == "handle_in" else obj.out_context_handle
            self.assertEqual(h.handle_type, iv(kv, "htype"), msg)
            self.assertEqual(guid_bytes(h.uuid), bv(kv, "uuid"), msg)
            if kind == "handle_out":
                self.assertEqual(obj.result[0] & 0xFFFFFFFF, iv(kv, "result"), msg)
        elif kind == "result_out":
            self.assertEqual(obj.result[0] & 0xFFFFFFFF, iv(kv, "result"), msg)
        elif kind == "get_interface_list_out":
            self.assertEqual(obj.result[0] & 0xFFFFFFFF, iv(kv, "result"), msg)
            lst = obj.out_interface_list
            if iv(kv, "present") == 0:
                self.assertIsNone(lst, msg)
                return
            self.assertEqual(lst.num_interfaces, iv(kv, "num"), msg)
            for i in range(lst.num_interfaces):
                ii = lst.interfaces[i]
                self.assertEqual(ii.group_name, sv(kv, "if%d.name" % i), msg)
                self.assertEqual(ii.version, iv(kv, "if%d.version" % i), msg)
                self.assertEqual(ii.state, iv(kv, "if%d.state" % i), msg)
                self.assertEqual(ipaddress.IPv4Address(ii.ipv4).packed, bv(kv, "if%d.ipv4" % i),
                                 msg)
                self.assertEqual(ipaddress.IPv6Address(ii.ipv6).packed, bv(kv, "if%d.ipv6" % i),
                                 msg)
                self.assertEqual(ii.flags, iv(kv, "if%d.flags" % i), msg)
        elif kind == "async_notify_out":
            self.assertEqual(obj.result[0] & 0xFFFFFFFF, iv(kv, "result"), msg)
            r = obj.out_response
            if iv(kv, "present") == 0:
                self.assertIsNone(r, msg)
                return
            self.assertEqual(r.type, iv(kv, "type"), msg)
            self.assertEqual(r.length, iv(kv, "length"), msg)
            self.assertEqual(r.num, iv(kv, "num"), msg)
            if r.type == witness.WITNESS_NOTIFY_RESOURCE_CHANGE:
                for i in range(r.num):
                    m = r.messages[i]
                    self.assertEqual(m.type, iv(kv, "rc%d.type" % i), msg)
                    self.assertEqual(m.name, sv(kv, "rc%d.name" % i), msg)
                    u = len(m.name.encode("utf-16-le"))
                    self.assertEqual(m.length, 8 + u + 2, msg)
            else:
                m = r.messages[0]
                self.assertEqual(m.length, r.length, msg)
                self.assertEqual(m.reserved, 0, msg)
                for i in range(m.num):
                    a = m.addr[i]
                    self.assertEqual(a.flags, iv(kv, "ip%d.flags" % i), msg)
                    self.assertEqual(ipaddress.IPv4Address(a.ipv4).packed,
                                     bv(kv, "ip%d.ipv4" % i), msg)
                    self.assertEqual(ipaddress.IPv6Address(a.ipv6).packed,
                                     bv(kv, "ip%d.ipv6" % i), msg)
        else:
            self.fail("unknown kind " + kind)


if __name__ == "__main__":
    unittest.main()
