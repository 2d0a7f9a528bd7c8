"""MS-SWN semantics against a real witnessd, with Samba's Python bindings
(/usr/bin/python3, samba.dcerpc.witness) as the client (issue 2, first
"Done when" item).

Every test starts its own witnessd (static backend, min auth level = none,
short timers: unused registration timeout 3 s, reregister delay 2 s) and
finds the witness port through the endpoint mapper on 127.0.0.1:135: the
binding has no port. Interfaces: 127.0.0.2 on node 0 (this node), 127.0.0.3
on node 1, 127.0.0.4 on node 2.

Samba's client holds the GIL during a call, so "something happens while an
AsyncNotify is pending" is arranged with a delayed witnessctl process, and
"UnRegister while AsyncNotify is pending" with a forked child that uses a
second connection of the same association group (basis_connection).
"""
import os
import socket
import sqlite3
import struct
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import WITNESSCTL, Witnessd, samba_witness, werror_of, wait_for  # noqa: E402

from samba.dcerpc import witness  # noqa: E402
from samba.ndr import ndr_pack_in, ndr_unpack_out  # noqa: E402

WITNESS_UUID = "ccd8c074-d0e5-4a40-92b4-d074faa6ba28"
BINDING = "ncacn_ip_tcp:127.0.0.1"  # no port: resolved through the EPM on 135
NETNAME = "WITSRV"
LOCAL_IP, IP1, IP2 = "127.0.0.2", "127.0.0.3", "127.0.0.4"
UNUSED_TIMEOUT = 3
REREGISTER_DELAY = 2

WERR_OK = 0
WERR_TIMEOUT = 0x5B4
WERR_NOT_FOUND = 0x490
WERR_INVALID_PARAMETER = 0x57
WERR_INVALID_STATE = 0x139F
WERR_REVISION_MISMATCH = 0x51A


# The second client of test_unregister_while_async_notify_pending.
UNREGISTER_CHILD = """
import sys, time
sys.path.insert(0, %r)
from harness import samba_witness
from samba.dcerpc import misc
time.sleep(0.7)
h = misc.policy_handle()
h.handle_type = int(sys.argv[2])
h.uuid = misc.GUID(sys.argv[3])
samba_witness(sys.argv[1]).UnRegister(h)
print("UnRegister OK")
""" % os.path.dirname(os.path.abspath(__file__))


def new_assoc_group(port):
    """A raw, unauthenticated bind to the witness interface ([C706] 12.6.4.3)
    that creates a new association group; returns (socket, assoc_group_id).
    Keep the socket open: the group lives while one of its connections does."""
    from samba.dcerpc import misc
    from samba.ndr import ndr_pack
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    ctx = (struct.pack("<HBB", 0, 1, 0) + ndr_pack(misc.GUID(WITNESS_UUID))
           + struct.pack("<HH", 1, 1)
           + ndr_pack(misc.GUID("8a885d04-1ceb-11c9-9fe8-08002b104860")) + struct.pack("<I", 2))
    body = struct.pack("<HHIB3x", 4280, 4280, 0, 1) + ctx
    s.sendall(struct.pack("<BBBB4sHHI", 5, 0, 11, 3, b"\x10\0\0\0", 16 + len(body), 0, 1) + body)
    r = s.recv(4096)
    if len(r) < 24 or r[2] != 12:
        raise RuntimeError("bind failed: %r" % r)
    return s, struct.unpack_from("<I", r, 20)[0]


def raw_request(sock, call_id, opnum, stub):
    """Send one request PDU ([C706] 12.6.4.9), single fragment, context 0."""
    body = struct.pack("<IHH", len(stub), 0, opnum) + stub
    sock.sendall(struct.pack("<BBBB4sHHI", 5, 0, 0, 3, b"\x10\0\0\0", 16 + len(body), 0, call_id) + body)


def raw_response_stub(sock):
    """Read one response PDU; return its stub (after the 24-byte header)."""
    def read(n):
        b = b""
        while len(b) < n:
            chunk = sock.recv(n - len(b))
            if not chunk:
                raise EOFError("connection closed")
            b += chunk
        return b
    hdr = read(16)
    pdu = hdr + read(struct.unpack_from("<H", hdr, 8)[0] - 16)
    if pdu[2] != 2:
        raise RuntimeError("ptype %d" % pdu[2])
    return pdu[24:]


def utf16z(s):
    return (s + "\0").encode("utf-16-le")


class WitnessTest(unittest.TestCase):
    def setUp(self):
        self.d = Witnessd(netname=NETNAME,
                          interfaces=[(LOCAL_IP, 0), (IP1, 1), (IP2, 2)],
                          local_node=0, min_auth="none",
                          unused_timeout=UNUSED_TIMEOUT, reregister_delay=REREGISTER_DELAY,
                          name="witness")
        self.d.start()
        self.conns = []

    def tearDown(self):
        self.conns = []
        alive = self.d.alive()
        if not alive or os.environ.get("WD_SHOW_LOG"):
            print("---- witnessd log ----\n" + self.d.log()[-5000:])
        self.d.cleanup()
        self.assertTrue(alive, "witnessd died")

    # -- helpers --
    def conn(self, basis=None):
        c = samba_witness(BINDING, basis=basis)
        self.conns.append(c)
        return c

    def assertWerr(self, code, fn, *args):
        with self.assertRaises(Exception) as cm:
            fn(*args)
        self.assertEqual(werror_of(cm.exception), code, "got %r" % (cm.exception.args,))

    def conn_binding(self, binding):
        c = samba_witness(binding)
        self.conns.append(c)
        return c

    def register_ex(self, c, ip=IP1, share=None, timeout=10, client="CLIENTBOX"):
        return c.RegisterEx(witness.WITNESS_V2, NETNAME, share, ip, client,
                            witness.WITNESS_REGISTER_NONE, timeout)

    def delayed_ctl(self, delay, *args):
        """witnessctl args... after delay seconds, in the background."""
        cmd = "sleep %s; exec %s --socket %s %s" % (delay, WITNESSCTL, self.d.socket, " ".join(args))
        return subprocess.Popen(["sh", "-c", cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def finish(self, proc):
        """Wait for a delayed_ctl process; assert it succeeded."""
        _, err = proc.communicate(timeout=10)
        self.assertEqual(proc.returncode, 0, err)

    def raw_async_notify(self, c, h):
        """AsyncNotify through the raw request path: the response stub bytes."""
        a = witness.AsyncNotify()
        a.in_context_handle = h
        return c.request(3, ndr_pack_in(a))

    def list_json(self, *filters):
        return self.d.ctl_json("list", *filters)["registrations"]

    # -- tests --
    def test_epm_and_interface_list(self):
        c = self.conn()  # the port came from ept_map
        r = c.GetInterfaceList()
        self.assertEqual(r.num_interfaces, 3)
        by_ip = {i.ipv4: i for i in r.interfaces}
        self.assertEqual(sorted(by_ip), [LOCAL_IP, IP1, IP2])
        # InterfaceGroupName names the hosting node ([MS-SWN] 3.1.1.2; witnessd.conf(5))
        self.assertEqual({ip: i.group_name for ip, i in by_ip.items()},
                         {LOCAL_IP: NETNAME + "-0", IP1: NETNAME + "-1", IP2: NETNAME + "-2"})
        for i in r.interfaces:
            self.assertEqual(i.version, 0x00020000)  # like Samba
            self.assertEqual(i.state, witness.WITNESS_STATE_AVAILABLE)
            self.assertEqual(i.ipv6, "0000:0000:0000:0000:0000:0000:0000:0000")
        # WITNESS_IF only on IPs not hosted by this node ([MS-SWN] 3.1.4.1)
        self.assertEqual(by_ip[LOCAL_IP].flags, witness.WITNESS_INFO_IPv4_VALID)
        self.assertEqual(by_ip[IP1].flags, witness.WITNESS_INFO_IPv4_VALID | witness.WITNESS_INFO_WITNESS_IF)
        self.assertEqual(by_ip[IP2].flags, witness.WITNESS_INFO_IPv4_VALID | witness.WITNESS_INFO_WITNESS_IF)
        # state follows witnessctl; a move onto this node clears WITNESS_IF
        self.d.ctl("ip", "set", IP2, "--unavailable")
        self.d.ctl("ip", "set", IP1, "--node", "0")
        by_ip = {i.ipv4: i for i in c.GetInterfaceList().interfaces}
        self.assertEqual(by_ip[IP2].state, witness.WITNESS_STATE_UNAVAILABLE)
        self.assertEqual(by_ip[IP1].flags, witness.WITNESS_INFO_IPv4_VALID)
        self.assertEqual(by_ip[IP1].group_name, NETNAME + "-0")

    def test_register_v1(self):
        c = self.conn()
        h = c.Register(witness.WITNESS_V1, NETNAME, IP1, "CLIENTBOX")
        self.assertEqual(h.handle_type, 1)
        regs = self.list_json()
        self.assertEqual(len(regs), 1)
        reg = regs[str(h.uuid)]
        self.assertEqual(reg["version"], "0x00010001")
        self.assertIsNone(reg["share_name"])
        self.assertEqual(reg["timeout"], 0)
        c.UnRegister(h)
        self.assertWerr(WERR_INVALID_PARAMETER, c.UnRegister, h)  # [MS-SWN] 3.1.4.3
        self.assertEqual(self.list_json(), {})

    def test_register_ex_with_and_without_share(self):
        c = self.conn()
        h1 = self.register_ex(c, share=None, timeout=15)
        h2 = self.register_ex(c, ip=IP2, share="SHARE1", timeout=20, client="CLIENTBOX2")
        # FQDN and short forms of the NetName are accepted (Windows clients)
        h3 = c.RegisterEx(witness.WITNESS_V2, "witsrv.testdom.example", None, IP1, "C3", 0, 0)
        regs = self.list_json()
        self.assertEqual(set(regs), {str(h1.uuid), str(h2.uuid), str(h3.uuid)})
        self.assertIsNone(regs[str(h1.uuid)]["share_name"])
        self.assertEqual(regs[str(h2.uuid)]["share_name"], "SHARE1")
        self.assertEqual(regs[str(h2.uuid)]["ip_address"], IP2)
        self.assertEqual(regs[str(h2.uuid)]["timeout"], 20)
        self.assertEqual(regs[str(h2.uuid)]["version"], "0x00020000")
        # the share filter of net witness: "^$" selects share-less ones
        self.assertEqual(set(self.list_json("--witness-share-name", "^$")), {str(h1.uuid), str(h3.uuid)})
        for h in (h1, h2, h3):
            c.UnRegister(h)

    def test_async_notify_timeout(self):
        c = self.conn()
        h = self.register_ex(c, timeout=2)
        t0 = time.monotonic()
        self.assertWerr(WERR_TIMEOUT, c.AsyncNotify, h)
        elapsed = time.monotonic() - t0
        self.assertGreaterEqual(elapsed, 1.8)
        self.assertLess(elapsed, 4.0)
        # the raw response: NULL pResp + WERR_TIMEOUT (like Samba)
        out = self.raw_async_notify(c, h)
        self.assertEqual(out, struct.pack("<II", 0, WERR_TIMEOUT))
        c.UnRegister(h)  # the registration survived the timeouts

    def test_unregister_while_async_notify_pending(self):
        # Two real Samba clients, two connections, one association group: a
        # raw bind creates the group, both clients join it with the binding
        # option assoc_group_id; the second is a separate process because
        # Samba's client holds the GIL while a call is pending.
        sock, group = new_assoc_group(self.d.witness_port)
        binding = "%s[assoc_group_id=0x%x]" % (BINDING, group)
        c = self.conn_binding(binding)
        h = self.register_ex(c, timeout=30)
        child = subprocess.Popen([sys.executable, "-c", UNREGISTER_CHILD, binding,
                                  str(h.handle_type), str(h.uuid)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        t0 = time.monotonic()
        try:
            # Samba: "Unregister() will cancel pending AsyncNotify requests and let them return NOT_FOUND"
            self.assertWerr(WERR_NOT_FOUND, c.AsyncNotify, h)
        finally:
            out, err = child.communicate(timeout=20)
        self.assertGreaterEqual(time.monotonic() - t0, 0.5)  # it really was pending
        self.assertEqual((child.returncode, out.strip()), (0, "UnRegister OK"), err)
        self.assertWerr(WERR_INVALID_PARAMETER, c.UnRegister, h)  # [MS-SWN] 3.1.4.3
        sock.close()

    def test_bad_version(self):
        c = self.conn()
        self.assertWerr(WERR_REVISION_MISMATCH, c.Register, witness.WITNESS_V2, NETNAME, IP1, "C")
        self.assertWerr(WERR_REVISION_MISMATCH, c.Register, 0x12345, NETNAME, IP1, "C")
        self.assertWerr(WERR_REVISION_MISMATCH, c.RegisterEx, witness.WITNESS_V1, NETNAME, None, IP1, "C", 0, 0)
        # version is checked first (Samba's order): bad version + bad name -> REVISION_MISMATCH
        self.assertWerr(WERR_REVISION_MISMATCH, c.Register, witness.WITNESS_V2, "NOSUCH", "10.9.9.9", "C")

    def test_bad_netname(self):
        c = self.conn()
        self.assertWerr(WERR_INVALID_PARAMETER, c.Register, witness.WITNESS_V1, None, IP1, "C")
        self.assertWerr(WERR_INVALID_PARAMETER, c.Register, witness.WITNESS_V1, "NOSUCHNAME", IP1, "C")
        self.assertWerr(WERR_INVALID_PARAMETER, c.RegisterEx, witness.WITNESS_V2, "NOSUCH", None, IP1, "C", 0, 0)
        self.assertWerr(WERR_INVALID_PARAMETER, c.Register, witness.WITNESS_V1, NETNAME, None, "C")
        self.assertWerr(WERR_INVALID_PARAMETER, c.Register, witness.WITNESS_V1, NETNAME, IP1, None)
        # the NetName check comes before the IP check
        self.assertWerr(WERR_INVALID_PARAMETER, c.Register, witness.WITNESS_V1, "NOSUCH", "10.9.9.9", "C")
        self.assertEqual(self.list_json(), {})

    def test_unknown_ip(self):
        c = self.conn()
        for ip in ("10.99.99.99", "garbage", "127.0.0.1"):
            self.assertWerr(WERR_INVALID_STATE, c.Register, witness.WITNESS_V1, NETNAME, ip, "C")
        self.assertWerr(WERR_INVALID_STATE, c.RegisterEx, witness.WITNESS_V2, NETNAME, None, "10.1.1.1", "C", 0, 0)
        # any state and the local IP are fine
        self.d.ctl("ip", "set", IP2, "--unavailable")
        c.UnRegister(c.Register(witness.WITNESS_V1, NETNAME, IP2, "C"))
        c.UnRegister(c.Register(witness.WITNESS_V1, NETNAME, LOCAL_IP, "C"))

    def test_unavailable_resource_change_bytes_then_not_found(self):
        c = self.conn()
        h = self.register_ex(c, timeout=20)
        ctl = self.delayed_ctl(0.5, "ip", "set", IP1, "--unavailable")
        t0 = time.monotonic()
        out = self.raw_async_notify(c, h)  # pending until witnessctl acts
        t_delivered = time.monotonic()
        self.finish(ctl)
        self.assertGreaterEqual(t_delivered - t0, 0.4)
        # [MS-SWN] RESP_ASYNC_NOTIFY as NDR: ptr | type 1 | Length | num 1 | ptr | conformance |
        # RESOURCE_CHANGE {Length = 8 + 2*(chars+1), ChangeType 0xFF, UTF-16LE name+NUL} | pad | WERR_OK
        entry = struct.pack("<II", 8 + 2 * (len(IP1) + 1), 0xFF) + utf16z(IP1)
        body = struct.pack("<IIIIII", 0x00020000, 1, len(entry), 1, 0x00020004, len(entry)) + entry
        body += b"\0" * (-len(body) % 4) + struct.pack("<I", WERR_OK)
        self.assertEqual(out.hex(), body.hex())
        # the same bytes through Samba's NDR
        a = witness.AsyncNotify()
        ndr_unpack_out(a, out)
        self.assertEqual(a.out_response.type, witness.WITNESS_NOTIFY_RESOURCE_CHANGE)
        self.assertEqual(a.out_response.num, 1)
        self.assertEqual(a.out_response.messages[0].type, witness.WITNESS_RESOURCE_STATE_UNAVAILABLE)
        self.assertEqual(a.out_response.messages[0].name, IP1)
        # forced unregistration after the reregister delay (Windows Server 2022 clients)
        self.assertWerr(WERR_NOT_FOUND, c.AsyncNotify, h)
        waited = time.monotonic() - t_delivered
        self.assertGreaterEqual(waited, REREGISTER_DELAY - 0.3)
        self.assertLess(waited, REREGISTER_DELAY + 2)
        self.assertWerr(WERR_INVALID_PARAMETER, c.UnRegister, h)  # [MS-SWN] 3.1.4.3
        self.assertEqual(self.list_json(), {})

    def test_move_unavailable_then_available(self):
        c = self.conn()
        h = self.register_ex(c, timeout=20)
        ctl = self.delayed_ctl(0.5, "ip", "set", IP1, "--node", "2")
        r = c.AsyncNotify(h)
        self.finish(ctl)
        self.assertEqual((r.type, r.num), (witness.WITNESS_NOTIFY_RESOURCE_CHANGE, 1))
        self.assertEqual((r.messages[0].type, r.messages[0].name), (witness.WITNESS_RESOURCE_STATE_UNAVAILABLE, IP1))
        t0 = time.monotonic()
        r = c.AsyncNotify(h)
        self.assertLess(time.monotonic() - t0, 1.0)  # at once
        self.assertEqual((r.messages[0].type, r.messages[0].name), (witness.WITNESS_RESOURCE_STATE_AVAILABLE, IP1))
        self.assertWerr(WERR_NOT_FOUND, c.AsyncNotify, h)  # reregister delay
        ifs = {i.ipv4: i for i in c.GetInterfaceList().interfaces}
        self.assertEqual(ifs[IP1].state, witness.WITNESS_STATE_AVAILABLE)

    def test_queued_change_delivered_later(self):
        c = self.conn()
        h = self.register_ex(c, timeout=20)
        # changes while no AsyncNotify is pending: nothing is lost
        self.d.ctl("ip", "set", IP1, "--unavailable")
        self.d.ctl("ip", "set", IP1, "--available")
        time.sleep(0.5)
        t0 = time.monotonic()
        r = c.AsyncNotify(h)
        self.assertLess(time.monotonic() - t0, 1.0)
        self.assertEqual((r.messages[0].type, r.messages[0].name), (witness.WITNESS_RESOURCE_STATE_UNAVAILABLE, IP1))
        r = c.AsyncNotify(h)
        self.assertEqual((r.messages[0].type, r.messages[0].name), (witness.WITNESS_RESOURCE_STATE_AVAILABLE, IP1))
        # a change of another IP does not reach this registration
        self.d.ctl("ip", "set", IP2, "--unavailable")
        h2 = self.register_ex(c, ip=IP2, timeout=1)
        self.assertWerr(WERR_TIMEOUT, c.AsyncNotify, h2)

    def test_unused_expiry(self):
        c = self.conn()
        h1 = c.Register(witness.WITNESS_V1, NETNAME, IP1, "C1")
        h2 = self.register_ex(c, timeout=1)
        # h2 stays in use: AsyncNotify keeps restarting its unused timer
        t_end = time.monotonic() + UNUSED_TIMEOUT + 1
        while time.monotonic() < t_end:
            self.assertWerr(WERR_TIMEOUT, c.AsyncNotify, h2)
        self.assertEqual(set(self.list_json()), {str(h2.uuid)})
        self.assertWerr(WERR_INVALID_PARAMETER, c.UnRegister, h1)  # [MS-SWN] 3.1.4.3
        c.UnRegister(h2)

    def test_list_json_and_store(self):
        c = self.conn()
        h = self.register_ex(c, share="SHARE1", timeout=15, client="CLIENTBOX")
        regs = self.list_json()
        reg = regs[str(h.uuid)]
        # the 12 keys of `net witness list --json` (rpcd_witness_samba_only.py), and the holding node
        self.assertEqual(set(reg), {"version", "net_name", "share_name", "ip_address",
                                    "client_computer_name", "flags", "timeout", "context_handle",
                                    "server_id", "auth", "connection", "registration_time",
                                    "node"})
        self.assertEqual(reg["net_name"], NETNAME)
        self.assertEqual(reg["client_computer_name"], "CLIENTBOX")
        self.assertEqual(reg["flags"], {"WITNESS_REGISTER_IP_NOTIFICATION": False, "int": 0, "hex": "0x00000000"})
        self.assertEqual(reg["context_handle"], {"handle_type": 1, "uuid": str(h.uuid)})
        self.assertEqual(reg["server_id"]["pid"], self.d.proc.pid)
        self.assertEqual(reg["server_id"]["vnn"], 0)
        self.assertEqual(reg["auth"]["account_sid"], "S-1-5-7")  # anonymous (min auth level = none)
        self.assertRegex(reg["connection"]["local_address"], r"^ipv4:127\.0\.0\.1:\d+$")
        self.assertRegex(reg["connection"]["remote_address"], r"^ipv4:127\.0\.0\.1:\d+$")
        self.assertRegex(reg["registration_time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d{4}$")
        self.assertEqual(self.d.ctl_json("list")["filters"], {})
        self.assertEqual(self.list_json("--witness-ip-address", "^127\\.0\\.0\\.4$"), {})
        # the sqlite store has the row
        db = sqlite3.connect(os.path.join(self.d.state, "registrations.sqlite"))
        rows = db.execute("SELECT uuid, version, net_name, share_name, ip_address, client_computer_name,"
                          " timeout, handle_type, pid, account_sid, local_address, remote_address"
                          " FROM registrations").fetchall()
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0][:9], (str(h.uuid), 0x00020000, NETNAME, "SHARE1", IP1, "CLIENTBOX", 15, 1,
                                       self.d.proc.pid))
        self.assertEqual(rows[0][9:], ("S-1-5-7", reg["connection"]["local_address"],
                                       reg["connection"]["remote_address"]))
        self.assertEqual(db.execute("PRAGMA journal_mode").fetchone()[0], "wal")
        c.UnRegister(h)
        self.assertEqual(db.execute("SELECT count(*) FROM registrations").fetchone()[0], 0)
        db.close()

    def test_store_failure(self):
        # The store is written before memory: with the database locked by
        # another writer a Register fails (WERR_NO_SYSTEM_RESOURCES like
        # Samba's TDB failure) and nothing is registered; a failed delete is
        # queued and retried.
        c = self.conn()
        h = self.register_ex(c)
        db = sqlite3.connect(os.path.join(self.d.state, "registrations.sqlite"), isolation_level=None)
        db.execute("BEGIN IMMEDIATE")
        self.assertWerr(0x5AA, c.Register, witness.WITNESS_V1, NETNAME, IP1, "C")
        self.assertEqual(list(self.list_json()), [str(h.uuid)])
        c.UnRegister(h)  # memory goes; the row stays until the lock is gone
        self.assertEqual(self.list_json(), {})
        db.execute("ROLLBACK")
        wait_for(lambda: db.execute("SELECT count(*) FROM registrations").fetchone()[0] == 0,
                 timeout=5, what="queued delete retried")
        h2 = c.Register(witness.WITNESS_V1, NETNAME, IP1, "C")
        self.assertEqual(db.execute("SELECT uuid FROM registrations").fetchall(), [(str(h2.uuid),)])
        db.close()

    def test_connection_close_drops_registration(self):
        c = self.conn()
        c.Register(witness.WITNESS_V1, NETNAME, IP1, "C")
        self.assertEqual(len(self.list_json()), 1)
        self.conns.remove(c)
        del c  # closes the only connection of the association group ([MS-SWN] 3.1.6.5)
        wait_for(lambda: self.list_json() == {}, timeout=5, what="registration dropped")

    def test_connection_close_with_pending_async_notify(self):
        # A client that goes away with an AsyncNotify pending: the call is
        # cancelled, the registration and its store row go with the group.
        sock, _ = new_assoc_group(self.d.witness_port)
        r = witness.RegisterEx()
        r.in_version, r.in_net_name, r.in_share_name = witness.WITNESS_V2, NETNAME, None
        r.in_ip_address, r.in_client_computer_name = IP1, "RAWBOX"
        r.in_flags, r.in_timeout = 0, 60
        raw_request(sock, 2, 4, ndr_pack_in(r))
        ndr_unpack_out(r, raw_response_stub(sock))
        self.assertEqual(r.result[0], WERR_OK)
        a = witness.AsyncNotify()
        a.in_context_handle = r.out_context_handle
        raw_request(sock, 3, 3, ndr_pack_in(a))
        self.assertEqual(len(self.list_json()), 1)
        sock.close()
        wait_for(lambda: self.list_json() == {}, timeout=5, what="registration dropped")
        db = sqlite3.connect(os.path.join(self.d.state, "registrations.sqlite"))
        self.assertEqual(db.execute("SELECT count(*) FROM registrations").fetchone()[0], 0)
        db.close()
        # the daemon still serves others
        c = self.conn()
        self.assertEqual(c.GetInterfaceList().num_interfaces, 3)

    def test_unregister_ex_opnum5(self):
        # Windows Server 2025 clients call WitnessrUnRegisterEx first ([MS-SWN] 3.1.4.6)
        c = self.conn()
        h = self.register_ex(c)
        u = witness.UnRegister()
        u.in_context_handle = h
        stub = ndr_pack_in(u)  # opnum 5 takes the same [in] handle
        out = c.request(5, stub)
        self.assertEqual(out, b"\0" * 20 + struct.pack("<I", WERR_OK))  # *ppContext = NULL
        out = c.request(5, stub)
        self.assertEqual(out, stub + struct.pack("<I", WERR_INVALID_PARAMETER))
        self.assertEqual(self.list_json(), {})

    def test_admin_client_move_and_force_unregister(self):
        c = self.conn()
        h = self.register_ex(c, client="MOVEBOX", timeout=20)
        ctl = self.delayed_ctl(0.5, "client-move", "--witness-client-computer-name", "^movebox$",
                               "--witness-new-ip", IP2)
        r = c.AsyncNotify(h)
        self.finish(ctl)
        self.assertEqual((r.type, r.num), (witness.WITNESS_NOTIFY_CLIENT_MOVE, 1))
        self.assertEqual(r.messages[0].num, 1)
        self.assertEqual((r.messages[0].addr[0].flags, r.messages[0].addr[0].ipv4), (0x9, IP2))
        h2 = self.register_ex(c, client="OTHER", timeout=20)
        ctl = self.delayed_ctl(0.5, "force-unregister", "--witness-registration", str(h2.uuid))
        self.assertWerr(WERR_NOT_FOUND, c.AsyncNotify, h2)
        self.finish(ctl)
        self.assertWerr(WERR_INVALID_PARAMETER, c.UnRegister, h2)  # [MS-SWN] 3.1.4.3

    def test_admin_share_move_and_force_response(self):
        c = self.conn()
        h_share = self.register_ex(c, share="SHARE1", client="SHAREBOX", timeout=20)
        h_plain = self.register_ex(c, client="PLAINBOX", timeout=2)
        # share-move to node 2 reaches only registrations with a share (Samba)
        out = self.d.ctl_json("share-move", "--witness-apply-to-all", "--witness-new-node", "2")
        self.assertEqual(out["message"], {"type": "SHARE_MOVE_TO_NODE", "new_node": 2})
        self.assertEqual(set(out["registrations"]), {str(h_share.uuid), str(h_plain.uuid)})
        r = c.AsyncNotify(h_share)
        self.assertEqual((r.type, r.num), (witness.WITNESS_NOTIFY_SHARE_MOVE, 1))
        self.assertEqual([(a.flags, a.ipv4) for a in r.messages[0].addr], [(0x9, IP2)])
        self.assertWerr(WERR_TIMEOUT, c.AsyncNotify, h_plain)
        # force-response: exactly the given body and result (net witness --help example)
        forced = '{ "result": 0, "response": { "type": 2, "messages": [[{ "flags": 9, "ipv4": "10.0.10.1" }]]}}'
        out = self.d.ctl_json("force-response", "--witness-client-computer-name", "^plainbox$",
                              "--witness-forced-response", forced)
        self.assertEqual(out["message"]["type"], "FORCE_RESPONSE")
        self.assertEqual(list(out["registrations"]), [str(h_plain.uuid)])
        r = c.AsyncNotify(h_plain)
        self.assertEqual((r.type, r.num), (witness.WITNESS_NOTIFY_CLIENT_MOVE, 1))
        self.assertEqual([(a.flags, a.ipv4) for a in r.messages[0].addr], [(9, "10.0.10.1")])
        self.d.ctl("force-response", "--witness-registration", str(h_plain.uuid),
                   "--witness-forced-response", '{"result": 1460}')
        self.assertWerr(WERR_TIMEOUT, c.AsyncNotify, h_plain)
        # updates without a selector are refused
        r = self.d.ctl("force-unregister", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(str(h_plain.uuid), self.list_json())
        # the share move to another IP dropped h_share after the reregister delay
        wait_for(lambda: str(h_share.uuid) not in self.list_json(), timeout=REREGISTER_DELAY + 2)
        self.assertWerr(WERR_INVALID_PARAMETER, c.UnRegister, h_share)  # [MS-SWN] 3.1.4.3
        c.UnRegister(h_plain)

    def test_samba_disabled_before_enabled_after(self):
        # Samba's test_ResourceChangeCTDB_v2_disabled_before_enable_after:
        # register while the IP is down, enable -> AVAILABLE, then only the
        # KeepAliveTimeout (no forced unregistration after AVAILABLE).
        c = self.conn()
        self.d.ctl("ip", "set", IP1, "--unavailable")
        h = self.register_ex(c, timeout=2)
        self.d.ctl("ip", "set", IP1, "--available")
        r = c.AsyncNotify(h)
        self.assertEqual((r.messages[0].type, r.messages[0].name), (witness.WITNESS_RESOURCE_STATE_AVAILABLE, IP1))
        self.assertWerr(WERR_TIMEOUT, c.AsyncNotify, h)
        self.assertWerr(WERR_TIMEOUT, c.AsyncNotify, h)
        c.UnRegister(h)


class WitnessAuthTest(unittest.TestCase):
    """The registration row carries the authenticated identity (NTLMSSP, sign)."""

    def setUp(self):
        import tempfile
        self.tmp = tempfile.mkdtemp(prefix="witness-auth-")
        self.pwfile = os.path.join(self.tmp, "ntlm.pw")
        subprocess.run([WITNESSCTL, "user", "add", "alice", "--domain", "TESTDOM", "--file", self.pwfile],
                       input="Secret123\n", text=True, check=True, capture_output=True)
        self.d = Witnessd(netname=NETNAME, interfaces=[(LOCAL_IP, 0), (IP1, 1)], min_auth="integrity",
                          global_opts={"ntlm password file": self.pwfile}, name="witness-auth").start()

    def tearDown(self):
        import shutil
        alive = self.d.alive()
        self.d.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.assertTrue(alive)

    def test_auth_identity_in_list_and_store(self):
        from harness import samba_creds, samba_lp
        lp = samba_lp()
        c = samba_witness(BINDING + "[sign]", lp=lp, creds=samba_creds(lp, "alice", "Secret123", "TESTDOM"))
        h = c.RegisterEx(witness.WITNESS_V2, NETNAME, None, IP1, "CLIENTBOX", 0, 5)
        auth = self.d.ctl_json("list")["registrations"][str(h.uuid)]["auth"]
        self.assertEqual(auth["account_name"].lower(), "alice")
        self.assertEqual(auth["domain_name"].upper(), "TESTDOM")
        self.assertNotEqual(auth["account_sid"], "S-1-5-7")
        db = sqlite3.connect(os.path.join(self.d.state, "registrations.sqlite"))
        row = db.execute("SELECT account_name, domain_name, account_sid FROM registrations").fetchone()
        db.close()
        self.assertEqual(row, (auth["account_name"], auth["domain_name"], auth["account_sid"]))
        print("auth identity:", auth)
        c.UnRegister(h)


if __name__ == "__main__":
    unittest.main()
