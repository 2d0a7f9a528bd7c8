#!/usr/bin/python3
"""Generates tests/vectors/witness_ndr.txt: NDR32 vectors of every MS-SWN
request/response kind, produced by Samba's NDR (python3-samba, the oracle),
plus the Windows Server 2012 captures of samba source4/torture/ndr/witness.c.

Run with Debian's /usr/bin/python3 (it has samba.dcerpc):
    /usr/bin/python3 tests/vectors/gen_witness_vectors.py > tests/vectors/witness_ndr.txt

Also imported by tests/integration/test_ndr_oracle.py for fresh random cases.

File format, one vector per line (blank lines and '#' comments ignored):
    <kind> <name> <hex> [key=value ...]
kinds: register_in register_ex_in handle_in handle_out result_out
       get_interface_list_out async_notify_out
values: 0x.. integers, s:<hex of UTF-8> strings, null (NULL pointer),
        b:<hex> raw bytes. Keys per kind are listed in tests/unit/test_ndr_witness.c.
"""
import ipaddress
import random
import sys

from samba.dcerpc import misc, witness
from samba.ndr import ndr_pack
from samba.ndr import ndr_pack_in as _ndr_pack_in
from samba.ndr import ndr_pack_out as _ndr_pack_out

# Transfer syntax of the vectors: the oracle test sets this to True for NDR64
# (samba.ndr's ndr64 flag, LIBNDR_FLAG_NDR64). The committed file is NDR32.
NDR64 = False


def ndr_pack_in(r):
    return _ndr_pack_in(r, ndr64=NDR64)


def ndr_pack_out(r):
    return _ndr_pack_out(r, ndr64=NDR64)

# ------------------------------------------------------------ encoders


def sval(s):
    return "null" if s is None else "s:" + s.encode("utf-8").hex()


def bval(b):
    return "b:" + bytes(b).hex()


def ival(v):
    return "0x%x" % v


def handle(htype, guid):
    h = misc.policy_handle()
    h.handle_type = htype
    h.uuid = misc.GUID(guid)
    return h


def guid_wire(guid):
    return ndr_pack(misc.GUID(guid))


def v_register(name, version, net, ip, client, ex=False, share=None, flags=0, timeout=0):
    r = witness.RegisterEx() if ex else witness.Register()
    r.in_version = version
    r.in_net_name = net
    r.in_ip_address = ip
    r.in_client_computer_name = client
    kv = {"version": ival(version), "net": sval(net), "ip": sval(ip), "client": sval(client)}
    if ex:
        r.in_share_name = share
        r.in_flags = flags
        r.in_timeout = timeout
        kv.update({"share": sval(share), "flags": ival(flags), "timeout": ival(timeout)})
    return ("register_ex_in" if ex else "register_in", name, ndr_pack_in(r), kv)


def v_handle_in(name, htype, guid):
    # opnum 2 UnRegister, 3 AsyncNotify and 5 UnRegisterEx ([in,out] ref
    # pointer: not marshalled) all carry exactly one 20-byte context handle.
    r = witness.UnRegister()
    r.in_context_handle = handle(htype, guid)
    return ("handle_in", name, ndr_pack_in(r), {"htype": ival(htype), "uuid": bval(guid_wire(guid))})


def v_handle_out(name, htype, guid, result, ex=False):
    # opnum 1/4 [out] PPCONTEXT_HANDLE, opnum 5 [in,out]: the handle then WERROR
    r = witness.RegisterEx() if ex else witness.Register()
    r.out_context_handle = handle(htype, guid)
    r.result = result
    return ("handle_out", name, ndr_pack_out(r),
            {"htype": ival(htype), "uuid": bval(guid_wire(guid)), "result": ival(result)})


def v_result_out(name, result):
    r = witness.UnRegister()
    r.result = result
    return ("result_out", name, ndr_pack_out(r), {"result": ival(result)})


def v_interface_list(name, ifaces, result=0, null_list=False, null_array=False):
    """ifaces: list of (group_name, version, state, ipv4 bytes, ipv6 bytes, flags)."""
    g = witness.GetInterfaceList()
    kv = {}
    if null_list:
        g.out_interface_list = None
        kv["present"] = "0x0"
    else:
        lst = witness.interfaceList()
        lst.num_interfaces = len(ifaces)
        if null_array:
            lst.interfaces = None
        else:
            arr = []
            for (gn, ver, st, v4, v6, fl) in ifaces:
                ii = witness.interfaceInfo()
                ii.group_name = gn
                ii.version = ver
                ii.state = st
                ii.ipv4 = str(ipaddress.IPv4Address(bytes(v4)))
                ii.ipv6 = str(ipaddress.IPv6Address(bytes(v6)))
                ii.flags = fl
                arr.append(ii)
            lst.interfaces = arr
        g.out_interface_list = lst
        kv["present"] = "0x1"
        kv["num"] = ival(len(ifaces))
        kv["arr"] = "0x0" if null_array else "0x1"
        for i, (gn, ver, st, v4, v6, fl) in enumerate(ifaces):
            kv["if%d.name" % i] = sval(gn)
            kv["if%d.version" % i] = ival(ver)
            kv["if%d.state" % i] = ival(st)
            kv["if%d.ipv4" % i] = bval(v4)
            kv["if%d.ipv6" % i] = bval(v6)
            kv["if%d.flags" % i] = ival(fl)
    g.result = result
    kv["result"] = ival(result)
    return ("get_interface_list_out", name, ndr_pack_out(g), kv)


def v_notify_resource(name, changes, result=0):
    """changes: list of (change_type, resource name)."""
    n = witness.notifyResponse()
    n.type = witness.WITNESS_NOTIFY_RESOURCE_CHANGE
    msgs = []
    buf = b""
    for (t, nm) in changes:
        rc = witness.ResourceChange()
        rc.type = t
        rc.name = nm
        msgs.append(rc)
        u = nm.encode("utf-16-le") + b"\0\0"
        buf += (8 + len(u)).to_bytes(4, "little") + t.to_bytes(4, "little") + u
    n.messages = msgs
    n.num = len(msgs)
    a = witness.AsyncNotify()
    a.out_response = n
    a.result = result
    kv = {"present": "0x1", "type": "0x1", "length": ival(len(buf)), "num": ival(len(changes)),
          "buf": bval(buf), "result": ival(result)}
    for i, (t, nm) in enumerate(changes):
        kv["rc%d.type" % i] = ival(t)
        kv["rc%d.name" % i] = sval(nm)
    return ("async_notify_out", name, ndr_pack_out(a), kv)


def v_notify_ipaddr(name, mtype, addrs, result=0):
    """addrs: list of (flags, ipv4 bytes, ipv6 bytes); one IPADDR_INFO_LIST."""
    n = witness.notifyResponse()
    n.type = mtype
    lst = witness.IPaddrInfoList()
    infos = []
    buf = b""
    for (fl, v4, v6) in addrs:
        i = witness.IPaddrInfo()
        i.flags = fl
        i.ipv4 = str(ipaddress.IPv4Address(bytes(v4)))
        i.ipv6 = str(ipaddress.IPv6Address(bytes(v6)))
        infos.append(i)
        buf += fl.to_bytes(4, "little") + bytes(v4) + bytes(v6)
    lst.addr = infos
    lst.num = len(infos)
    lst.reserved = 0
    buf = (12 + len(buf)).to_bytes(4, "little") + b"\0\0\0\0" + len(addrs).to_bytes(4, "little") + buf
    n.messages = [lst]
    n.num = 1
    a = witness.AsyncNotify()
    a.out_response = n
    a.result = result
    kv = {"present": "0x1", "type": ival(mtype), "length": ival(len(buf)), "num": "0x1",
          "buf": bval(buf), "result": ival(result)}
    for i, (fl, v4, v6) in enumerate(addrs):
        kv["ip%d.flags" % i] = ival(fl)
        kv["ip%d.ipv4" % i] = bval(v4)
        kv["ip%d.ipv6" % i] = bval(v6)
    return ("async_notify_out", name, ndr_pack_out(a), kv)


def v_notify_raw(name, mtype, num, buf, result=0):
    """A message type Samba does not know: the buffer travels as a blob."""
    n = witness.notifyResponse()
    n.type = mtype
    n.messages = [buf] if buf else []
    n.num = num
    a = witness.AsyncNotify()
    a.out_response = n
    a.result = result
    kv = {"present": "0x1", "type": ival(mtype), "length": ival(len(buf)), "num": ival(num),
          "buf": bval(buf), "result": ival(result)}
    return ("async_notify_out", name, ndr_pack_out(a), kv)


def v_notify_null(name, result):
    a = witness.AsyncNotify()
    a.out_response = None
    a.result = result
    return ("async_notify_out", name, ndr_pack_out(a), {"present": "0x0", "result": ival(result)})


# ------------------------------------------------------ random values

ALPHABETS = [
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-",
    "abcdefghijklmnopqrstuvwxyz._$ ",
    "\u00e9\u00fc\u00df\u00c5\u0416\u03a9\u4e2d\u6587\u65e5\u0639\u05d0",  # BMP non-ASCII
    "\U0001d11e\U0001f600\U00020000",  # astral: surrogate pairs
]


def rand_name(rng, maxlen=20, allow_empty=True):
    n = rng.randint(0 if allow_empty else 1, maxlen)
    alpha = "".join(rng.sample(ALPHABETS, rng.randint(1, len(ALPHABETS))))
    return "".join(rng.choice(alpha) for _ in range(n))


def rand_opt_name(rng, maxlen=20):
    return None if rng.random() < 0.2 else rand_name(rng, maxlen)


def rand_guid(rng):
    b = bytes(rng.getrandbits(8) for _ in range(16))
    h = b.hex()
    return "%s-%s-%s-%s-%s" % (h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])


def rand_bytes(rng, n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def rand_ip_addr(rng):
    if rng.random() < 0.5:
        return (witness.WITNESS_IPADDR_V4 | rng.choice([0, 8, 16]), rand_bytes(rng, 4), bytes(16))
    return (witness.WITNESS_IPADDR_V6 | rng.choice([0, 8, 16]), bytes(4), rand_bytes(rng, 16))


def rand_iface(rng):
    gn = rand_name(rng, 40)
    while len(gn.encode("utf-16-le")) // 2 > 259:
        gn = gn[:-1]
    return (gn, rng.choice([0xFFFFFFFF, 0x00010001, 0x00020000, rng.getrandbits(32)]),
            rng.choice([0, 1, 0xff, rng.getrandbits(16)]), rand_bytes(rng, 4),
            rand_bytes(rng, 16), rng.choice([1, 2, 3, 5, 6, 7, rng.getrandbits(32)]))


def rand_result(rng):
    return rng.choice([0, 0, 0x5, 0x57, 0x103, 0x490, 0x51a, 0x5b4, 0x139f, rng.getrandbits(32)])


def random_vector(rng, kind, name):
    """One fresh random vector of the given kind (used by the oracle test)."""
    if kind == "register_in":
        return v_register(name, rng.choice([0x00010001, 0x00020000, rng.getrandbits(32)]),
                          rand_opt_name(rng), rand_opt_name(rng), rand_opt_name(rng))
    if kind == "register_ex_in":
        return v_register(name, rng.choice([0x00020000, rng.getrandbits(32)]), rand_opt_name(rng),
                          rand_opt_name(rng), rand_opt_name(rng), ex=True, share=rand_opt_name(rng),
                          flags=rng.choice([0, 1, rng.getrandbits(32)]),
                          timeout=rng.choice([0, 120, rng.getrandbits(32)]))
    if kind == "handle_in":
        return v_handle_in(name, rng.choice([0, 1, rng.getrandbits(32)]), rand_guid(rng))
    if kind == "handle_out":
        return v_handle_out(name, rng.choice([0, 1, rng.getrandbits(32)]), rand_guid(rng),
                            rand_result(rng), ex=rng.random() < 0.5)
    if kind == "result_out":
        return v_result_out(name, rand_result(rng))
    if kind == "get_interface_list_out":
        x = rng.random()
        if x < 0.1:
            return v_interface_list(name, [], rand_result(rng), null_list=True)
        if x < 0.15:
            return v_interface_list(name, [], rand_result(rng), null_array=True)
        return v_interface_list(name, [rand_iface(rng) for _ in range(rng.randint(0, 12))],
                                rand_result(rng))
    if kind == "async_notify_out":
        x = rng.random()
        if x < 0.1:
            return v_notify_null(name, rand_result(rng))
        if x < 0.5:
            return v_notify_resource(name, [(rng.choice([0, 1, 0xff, rng.getrandbits(32)]),
                                             rand_name(rng, 30))
                                            for _ in range(rng.randint(0, 8))], rand_result(rng))
        if x < 0.9:
            return v_notify_ipaddr(name, rng.choice([2, 3, 4]),
                                   [rand_ip_addr(rng) for _ in range(rng.randint(0, 6))],
                                   rand_result(rng))
        buf = rand_bytes(rng, rng.randint(1, 40))
        return v_notify_raw(name, rng.choice([5, 99, rng.getrandbits(32) | 0x100]), 1, buf,
                            rand_result(rng))
    raise ValueError(kind)


KINDS = ["register_in", "register_ex_in", "handle_in", "handle_out", "result_out",
         "get_interface_list_out", "async_notify_out"]

# ------------------------------------------------- Windows captures [NDRT]
# samba source4/torture/ndr/witness.c: real Windows Server 2012 traffic.

WS2012_GIL = bytes.fromhex(
    "00000200" "02000000" "04000200" "02000000"
    + "NODE2".encode("utf-16-le").ljust(520, b"\0").hex()
    + "ffffffff" "0100" "0000" "c0a8032c" + "00" * 16 + "05000000"
    + "NODE1".encode("utf-16-le").ljust(520, b"\0").hex()
    + "ffffffff" "0100" "0000" "c0a8032d" + "00" * 16 + "01000000"
    + "00000000")
WS2012_REGISTER_IN = bytes([
    0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x05, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x73, 0x00, 0x6f, 0x00,
    0x66, 0x00, 0x73, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x02, 0x00,
    0x0d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x00, 0x00,
    0x31, 0x00, 0x39, 0x00, 0x32, 0x00, 0x2e, 0x00, 0x31, 0x00, 0x36, 0x00,
    0x38, 0x00, 0x2e, 0x00, 0x33, 0x00, 0x2e, 0x00, 0x34, 0x00, 0x35, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x02, 0x00, 0x09, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x4d, 0x00, 0x54, 0x00,
    0x48, 0x00, 0x45, 0x00, 0x4c, 0x00, 0x45, 0x00, 0x4e, 0x00, 0x41, 0x00,
    0x00, 0x00])
WS2012_REGISTER_OUT = bytes.fromhex("000000003386b83a571e1a4c856cd1bc4b15bbb100000000")
WS2012_UNREGISTER_IN = bytes.fromhex("000000003386b83a571e1a4c856cd1bc4b15bbb1")
WS2012_UNREGISTER_OUT = bytes.fromhex("00000000")
WS2012_ASYNC_IN = bytes.fromhex("00000000eef2b91f4d2af84baf8bcb9d4529a9ab")
WS2012_ASYNC_OUT = bytes.fromhex(
    "00000200" "01000000" "12000000" "01000000" "04000200" "12000000"
    "12000000" "ff000000" "53004f0046005300" "0000" "0000" "00000000")
WS2012_ASYNC_MOVE_OUT = bytes.fromhex(
    "00000200" "02000000" "24000000" "01000000" "04000200" "24000000"
    "24000000" "00000000" "01000000" "01000000" "c0a8032d"
    "0000000038e8eb268e000000009e6026" "00000000")


def windows_vectors():
    out = []
    v = v_interface_list("ws2012_capture", [
        ("NODE2", 0xFFFFFFFF, 1, bytes([192, 168, 3, 44]), bytes(16), 5),
        ("NODE1", 0xFFFFFFFF, 1, bytes([192, 168, 3, 45]), bytes(16), 1)], 0)
    out.append(v)
    out.append(v_register("ws2012_capture", 0x00010001, "sofs", "192.168.3.45", "MTHELENA"))
    out.append(v_handle_out("ws2012_capture_register", 0,
                            "3ab88633-1e57-4c1a-856c-d1bc4b15bbb1", 0))
    out.append(v_handle_in("ws2012_capture_unregister", 0, "3ab88633-1e57-4c1a-856c-d1bc4b15bbb1"))
    out.append(v_result_out("ws2012_capture_unregister", 0))
    out.append(v_handle_in("ws2012_capture_asyncnotify", 0,
                           "1fb9f2ee-2a4d-4bf8-af8b-cb9d4529a9ab"))
    out.append(v_notify_resource("ws2012_capture", [(0xff, "SOFS")], 0))
    out.append(v_notify_ipaddr("ws2012_capture_move", 2, [
        (1, bytes([192, 168, 3, 45]), bytes.fromhex("0000000038e8eb268e000000009e6026"))], 0))
    captured = [WS2012_GIL, WS2012_REGISTER_IN, WS2012_REGISTER_OUT, WS2012_UNREGISTER_IN,
                WS2012_UNREGISTER_OUT, WS2012_ASYNC_IN, WS2012_ASYNC_OUT, WS2012_ASYNC_MOVE_OUT]
    for (kind, name, data, kv), cap in zip(out, captured):
        # the oracle must reproduce Windows' bytes exactly, else the
        # capture or our reading of it is wrong
        if data != cap:
            raise SystemExit("capture %s/%s: samba %s != windows %s" % (kind, name, data.hex(),
                                                                        cap.hex()))
    return out


# ------------------------------------------------------ fixed vectors


def spec_vectors():
    """[MS-SWN] 4.1 example exchange (values from the spec's decoded trace)."""
    g = "8fc957b7-6c9b-9790-496a-f8a0f2193318"
    return [
        v_interface_list("spec41", [
            ("NODE02", 0xFFFFFFFF, 1, bytes([192, 168, 1, 22]), bytes(16), 5),
            ("NODE01", 0xFFFFFFFF, 1, bytes([192, 168, 1, 12]), bytes(16), 1)], 0),
        v_register("spec41", 0x00010001, "generalfs", "192.168.1.200", "CLIENT01.contoso.com"),
        v_handle_out("spec41_register", 0, g, 0),
        v_handle_in("spec41_asyncnotify", 0, g),
        v_notify_resource("spec41", [(0xff, "GENERALFS")], 0),
        v_handle_in("spec41_unregister", 0, g),
        v_result_out("spec41_unregister", 0),
    ]


def fixed_vectors():
    V1, V2 = 0x00010001, 0x00020000
    g1 = "3ab88633-1e57-4c1a-856c-d1bc4b15bbb1"
    g2 = "00000000-0000-0000-0000-000000000000"
    g3 = "ffffffff-ffff-ffff-ffff-ffffffffffff"
    out = [
        v_register("all_set", V1, "FS1", "10.0.0.5", "CLIENT01"),
        v_register("all_null", V1, None, None, None),
        v_register("net_null", V1, None, "10.0.0.5", "c"),
        v_register("ip_null", V1, "FS1", None, "c"),
        v_register("client_null", V1, "FS1", "10.0.0.5", None),
        v_register("empty_strings", V1, "", "", ""),
        v_register("odd_lengths", V1, "a", "ab", "abc"),
        v_register("ipv6", V1, "cluster.example.com", "fd00:1234::0042", "WIN11-PC"),
        v_register("unicode", V1, "S\u00e9rveur-\u4e2d\u6587", "192.168.1.1",
                   "\U0001d11e\u00df\u0416"),
        v_register("wrong_version", 0xFFFFFFFF, "FS1", "10.0.0.5", "c"),
        v_register("long_name", V1, "N" * 1000, "10.0.0.5", "x" * 255),
        v_register("ex_all_set", V2, "FS1", "10.0.0.5", "CLIENT01", ex=True, share="share1",
                   flags=0, timeout=120),
        v_register("ex_ip_notify", V2, "FS1", "10.0.0.5", "CLIENT01", ex=True, share=None,
                   flags=1, timeout=10),
        v_register("ex_all_null", V2, None, None, None, ex=True, share=None, flags=0,
                   timeout=0),
        v_register("ex_unicode", V2, "\u00c5r\u00f8", "fe80::1%eth0", "\u65e5\u672c", ex=True,
                   share="\u30c7\u30fc\u30bf \U0001f600", flags=0xffffffff, timeout=0xffffffff),
        v_register("ex_empty", V2, "", "", "", ex=True, share="", flags=1, timeout=1),
        v_register("ex_v1_version", V1, "FS1", "10.0.0.5", "c", ex=True, share="s", flags=0,
                   timeout=120),
        v_handle_in("type1", 1, g1),
        v_handle_in("nil", 0, g2),
        v_handle_in("ones", 0xffffffff, g3),
        v_handle_out("register_ok_type1", 1, g1, 0),
        v_handle_out("register_error", 0, g2, 0x51a),
        v_handle_out("registerex_ok", 1, g1, 0, ex=True),
        v_handle_out("registerex_invalid_param", 0, g2, 0x57, ex=True),
        v_handle_out("unregisterex_ok_zeroed", 0, g2, 0),
        v_handle_out("unregisterex_not_found", 1, g1, 0x490),
        v_result_out("ok", 0),
        v_result_out("not_found", 0x490),
        v_result_out("access_denied", 0x5),
        v_result_out("ones", 0xffffffff),
        v_interface_list("null_no_more_items", [], 0x103, null_list=True),
        v_interface_list("null_ok", [], 0, null_list=True),
        v_interface_list("empty", [], 0),
        v_interface_list("null_array", [], 0, null_array=True),
        v_interface_list("one_ipv4", [("NODE1", 0xFFFFFFFF, 1, bytes([10, 0, 0, 1]), bytes(16),
                                       witness.WITNESS_INFO_IPv4_VALID |
                                       witness.WITNESS_INFO_WITNESS_IF)]),
        v_interface_list("one_ipv6", [("node-v6", 0x00020000, 0xff, bytes(4),
                                       ipaddress.IPv6Address("2001:db8::1:2").packed,
                                       witness.WITNESS_INFO_IPv6_VALID)]),
        v_interface_list("dual_stack", [("dual", 0x00010001, 0, bytes([192, 168, 7, 9]),
                                         ipaddress.IPv6Address("fe80::abcd:1").packed, 7)]),
        v_interface_list("unicode_names", [
            ("\u00c5r\u00f8-\u4e2d\u6587", 0xFFFFFFFF, 1, bytes([1, 2, 3, 4]), bytes(16), 5),
            ("\U0001d11e\U0001f600", 0xFFFFFFFF, 1, bytes([5, 6, 7, 8]), bytes(16), 5)]),
        v_interface_list("max_name_259", [("G" * 259, 0xFFFFFFFF, 1, bytes([9, 9, 9, 9]),
                                           bytes(16), 5)]),
        v_interface_list("empty_name", [("", 0, 0, bytes(4), bytes(16), 0)]),
        v_interface_list("many_64", [("NODE%02d" % i, 0xFFFFFFFF, 1 if i % 3 else 0xff,
                                      bytes([10, 1, i // 256, i % 256]),
                                      ipaddress.IPv6Address("fd00::%x" % (i + 1)).packed,
                                      7 if i % 2 else 5) for i in range(64)]),
        v_interface_list("with_error", [("N", 1, 1, bytes(4), bytes(16), 1)], 0x8),
        v_notify_null("timeout", 0x5b4),
        v_notify_null("not_found", 0x490),
        v_notify_null("ok_null", 0),
        v_notify_resource("one_unavailable", [(0xff, "FS1")]),
        v_notify_resource("one_available_even", [(1, "FS12")]),
        v_notify_resource("empty_name", [(0, "")]),
        v_notify_resource("three", [(1, "A"), (0xff, "bb"), (0, "\u00e9\u20ac\U0001d11e")]),
        v_notify_resource("spec_example", [(0xff, "GENERALFS")]),
        v_notify_resource("ipv6_name", [(0xff, "fd00:1234::42"), (1, "192.168.3.45")]),
        v_notify_resource("no_messages", []),
        v_notify_resource("many_20", [(0xff if i % 2 else 1, "NODE%d" % i) for i in range(20)]),
        v_notify_resource("with_error", [(0xff, "X")], 0x5b4),
        v_notify_ipaddr("client_move_v4", 2, [(1, bytes([192, 168, 3, 46]), bytes(16))]),
        v_notify_ipaddr("client_move_v6", 2, [(2, bytes(4),
                                               ipaddress.IPv6Address("2001:db8::5").packed)]),
        v_notify_ipaddr("share_move_two", 3, [(1 | 8, bytes([10, 0, 0, 2]), bytes(16)),
                                              (2 | 8, bytes(4),
                                               ipaddress.IPv6Address("fe80::2").packed)]),
        v_notify_ipaddr("ip_change_online_offline", 4, [
            (1 | 8, bytes([10, 0, 0, 3]), bytes(16)),
            (1 | 16, bytes([10, 0, 0, 4]), bytes(16)),
            (2 | 16, bytes(4), ipaddress.IPv6Address("fd00::4").packed)]),
        v_notify_ipaddr("ip_change_empty_list", 4, []),
        v_notify_ipaddr("share_move_many_16", 3, [(1 | 8, bytes([172, 16, 0, i]), bytes(16))
                                                   for i in range(16)]),
        v_notify_raw("unknown_type_blob", 99, 1, bytes([1, 2, 3])),
        v_notify_raw("unknown_type_aligned", 5, 1, bytes(range(8))),
    ]
    return out


def random_vectors(seed, per_kind):
    rng = random.Random(seed)
    out = []
    for kind in KINDS:
        for i in range(per_kind):
            out.append(random_vector(rng, kind, "rand%d" % i))
    return out


def format_vector(v):
    kind, name, data, kv = v
    fields = " ".join("%s=%s" % (k, val) for k, val in kv.items())
    return "%s %s %s%s" % (kind, name, data.hex(), (" " + fields) if fields else "")


def main():
    vs = windows_vectors() + spec_vectors() + fixed_vectors() + random_vectors(20261123, 6)
    print("# Generated by tests/vectors/gen_witness_vectors.py with python3-samba "
          "(samba.ndr); do not edit.")
    print("# <kind> <name> <hex> [key=value ...]; %d vectors" % len(vs))
    for v in vs:
        print(format_vector(v))


if __name__ == "__main__":
    main()
