"""Association group ids as a real client sees them: impacket binds to the
mgmt interface on 127.0.0.1:135 and reads assoc_group_id from each bind_ack
(decoded by impacket's MSRPCBindAck, not by our code). Ids must not be
predictable from one bind to the next ([MS-RPCE] 3.3.1.5.7 leaves the value
to the server): nonzero, distinct, not sequential and not close together.

Run with /usr/bin/python3 inside its own netns (tests/integration/run.sh).
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Witnessd  # noqa: E402

from impacket.dcerpc.v5 import mgmt, transport  # noqa: E402
from impacket.dcerpc.v5.rpcrt import MSRPCBindAck  # noqa: E402


class AssocGroups(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Witnessd(name="assoc").start()

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def bind_group_id(self):
        t = transport.DCERPCTransportFactory("ncacn_ip_tcp:127.0.0.1[135]")
        dce = t.get_dce_rpc()
        dce.connect()
        try:
            resp = dce.bind(mgmt.MSRPC_UUID_MGMT)
            return MSRPCBindAck(resp.getData())["assoc_group"], dce
        except Exception:
            dce.disconnect()
            raise

    def test_group_ids_unpredictable(self):
        ids, conns = [], []
        try:
            for _ in range(8):
                gid, dce = self.bind_group_id()
                ids.append(gid)
                conns.append(dce)  # kept open: the ids are all in use together
        finally:
            for dce in conns:
                dce.disconnect()
        for gid in ids:
            self.assertNotEqual(gid, 0)
        self.assertEqual(len(set(ids)), len(ids), ids)
        steps = [b - a for a, b in zip(ids, ids[1:])]
        self.assertNotEqual(set(steps), {1}, ids)
        # eight random 32-bit ids all within 2^20 of each other: p ~ 2^-84
        self.assertGreater(max(ids) - min(ids), 1 << 20, ["%08x" % i for i in ids])


if __name__ == "__main__":
    unittest.main()
