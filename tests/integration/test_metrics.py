"""Prometheus metrics (issue 8 part 3): `witnessctl metrics` and GET /metrics
on the optional HTTP listener.

Real peers: promtool (Debian's prometheus package) checks the exposition text
of both (any problem it reports fails the test); Samba's Python bindings make
the calls, refusals and a notification; Python's http.client and raw sockets
send good and bad HTTP. Static backend, min auth level integrity with an NTLM
account (so that a bind at connect level and a wrong password are refused),
in the network namespace run.sh gives this file.
"""
import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (WITNESSCTL, Witnessd, free_port, samba_creds, samba_lp,  # noqa: E402
                     samba_witness, wait_for, werror_of)

from samba.dcerpc import witness  # noqa: E402

NETNAME = "WITSRV"
USER, PASSWORD, DOMAIN = "alice", "Secret123", "TESTDOM"
V2 = 0x00020000
WERR_INVALID_PARAMETER = 0x57
WERR_INVALID_STATE = 0x139F


def promtool_check(text):
    """promtool check metrics on text; returns its (rc, output)."""
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    return r.returncode, (r.stdout + r.stderr).strip()


def parse(text):
    """{(name, frozenset(labels.items())): float} of an exposition text."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$', line)
        assert m, line
        labels = frozenset(re.findall(r'([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def val(series, name, **labels):
    return series.get((name, frozenset(labels.items())), 0.0)


def http_raw(port, data, timeout=10):
    """Send data, read until the server closes; returns the bytes."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(data)
    got = b""
    while True:
        try:
            c = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not c:
            break
        got += c
    s.close()
    return got


class Metrics(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="test-metrics-")
        cls.pwfile = os.path.join(cls.tmp, "ntlm.pw")
        subprocess.run([WITNESSCTL, "user", "add", USER, "--domain", DOMAIN, "--file", cls.pwfile],
                       input=PASSWORD + "\n", text=True, check=True, capture_output=True)
        cls.http_port = free_port()
        cls.d = Witnessd(name="metrics", netname=NETNAME, min_auth="integrity",
                         reregister_delay=30,
                         global_opts={"ntlm password file": cls.pwfile, "workgroup": DOMAIN,
                                      "metrics listen": "127.0.0.1:%d" % cls.http_port}).start()
        cls.lp = samba_lp()
        cls.binding = "ncacn_ip_tcp:127.0.0.1[sign]"

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def tearDown(self):
        self.assertTrue(self.d.alive(), self.d.log()[-3000:])

    def conn(self, password=PASSWORD, binding=None):
        creds = samba_creds(self.lp, USER, password, DOMAIN)
        return samba_witness(binding or self.binding, self.lp, creds)

    def ctl_metrics(self):
        r = self.d.ctl("metrics")
        rc, out = promtool_check(r.stdout)
        self.assertEqual((rc, out), (0, ""), r.stdout)
        return r.stdout

    def http_metrics(self):
        c = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=10)
        c.request("GET", "/metrics")
        r = c.getresponse()
        body = r.read().decode()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Content-Type"), "text/plain; version=0.0.4; charset=utf-8")
        c.close()
        rc, out = promtool_check(body)
        self.assertEqual((rc, out), (0, ""), body)
        return body

    def test_promtool_accepts_both(self):
        # a registration and a pending-free state first, so that labelled series exist
        ctl = parse(self.ctl_metrics())
        web = parse(self.http_metrics())
        self.assertEqual(val(ctl, "witnessd_build_info", version="0.1.0", backend="static"), 1)
        self.assertEqual(set(k[0] for k in ctl), set(k[0] for k in web))
        self.assertEqual(val(web, "witnessd_interfaces", state="available"), 3)

    def test_counters_move(self):
        before = parse(self.ctl_metrics())
        c = self.conn()
        c.GetInterfaceList()
        c.GetInterfaceList()
        # refusals: a NetName that is not ours, an IP not in the list
        for net, ip, werr in (("NOSUCH", "127.0.0.3", WERR_INVALID_PARAMETER),
                              (NETNAME, "10.9.9.9", WERR_INVALID_STATE)):
            with self.assertRaises(Exception) as cm:
                c.RegisterEx(V2, net, None, ip, "METRICBOX", 0, 30)
            self.assertEqual(werror_of(cm.exception), werr)
        h = c.RegisterEx(V2, NETNAME, None, "127.0.0.3", "METRICBOX", 0, 30)
        mid = parse(self.ctl_metrics())
        self.assertEqual(val(mid, "witnessd_registrations", version="2")
                         - val(before, "witnessd_registrations", version="2"), 1)
        self.assertEqual(val(mid, "witnessd_registrations_by_node", node="1")
                         - val(before, "witnessd_registrations_by_node", node="1"), 1)
        for reason in ("netname", "ip"):
            self.assertEqual(val(mid, "witnessd_refusals_total", reason=reason)
                             - val(before, "witnessd_refusals_total", reason=reason), 1, reason)
        # a notification: the address fails while AsyncNotify waits
        delayed = subprocess.Popen(["sh", "-c", "sleep 0.7; exec %s --socket %s ip set 127.0.0.3 "
                                    "--unavailable" % (WITNESSCTL, self.d.socket)],
                                   stdout=subprocess.DEVNULL)
        resp = c.AsyncNotify(h)
        delayed.wait(10)
        self.assertEqual(resp.type, witness.WITNESS_NOTIFY_RESOURCE_CHANGE)
        self.d.ctl("ip", "set", "127.0.0.3", "--available")
        after = parse(self.http_metrics())
        self.assertEqual(val(after, "witnessd_notifications_sent_total", type="resource_change")
                         - val(before, "witnessd_notifications_sent_total",
                               type="resource_change"), 1)
        self.assertEqual(val(after, "witnessd_async_notify_pending"), 0)
        c.UnRegister(h)
        end = parse(self.ctl_metrics())
        self.assertEqual(val(end, "witnessd_registrations", version="2"),
                         val(before, "witnessd_registrations", version="2"))
        self.assertGreater(val(end, "witnessd_cluster_last_refresh_timestamp_seconds"),
                           val(before, "witnessd_cluster_last_refresh_timestamp_seconds"))

    def test_rpc_counters_move(self):
        before = parse(self.ctl_metrics())
        c = self.conn()
        for _ in range(3):
            c.GetInterfaceList()
        # a wrong password: the bind's authentication fails
        with self.assertRaises(Exception):
            self.conn(password="wrong").GetInterfaceList()
        # no authentication at all: the call is below min auth level (fault 5)
        anon = samba_witness("ncacn_ip_tcp:127.0.0.1", self.lp)
        with self.assertRaises(Exception):
            anon.GetInterfaceList()
        after = parse(self.ctl_metrics())

        def d(name, **labels):
            return val(after, name, **labels) - val(before, name, **labels)
        self.assertEqual(d("witnessd_calls_total", interface="witness", opnum="0"), 3)
        # each binding without a port asks the endpoint mapper (ept_map, opnum 3)
        self.assertGreaterEqual(d("witnessd_calls_total", interface="epmapper", opnum="3"), 1)
        self.assertEqual(d("witnessd_call_duration_seconds_count", interface="witness"), 3)
        self.assertGreater(d("witnessd_call_duration_seconds_sum", interface="witness"), 0)
        self.assertGreaterEqual(d("witnessd_refusals_total", reason="auth"), 1)
        self.assertEqual(d("witnessd_refusals_total", reason="level"), 1)
        # access denied: the call below the level, and the failed bind's first request
        self.assertGreaterEqual(d("witnessd_faults_total", status="0x00000005"), 1)
        self.assertGreaterEqual(d("witnessd_connections_total"), 3)
        # only c (and anon, if Samba keeps it) are open; the histogram is cumulative
        self.assertGreaterEqual(val(after, "witnessd_connections"), 1)
        self.assertEqual(val(after, "witnessd_call_duration_seconds_bucket",
                             interface="witness", le="+Inf"),
                         val(after, "witnessd_call_duration_seconds_count", interface="witness"))
        del c, anon

    def test_pending_gauge_and_forced_unregister(self):
        c = self.conn()
        h = c.RegisterEx(V2, NETNAME, None, "127.0.0.4", "PENDBOX", 0, 30)
        child = subprocess.Popen(
            [sys.executable, "-c", PENDING_CHILD, self.d.socket, WITNESSCTL],
            stdout=subprocess.PIPE, text=True)
        with self.assertRaises(Exception):
            c.AsyncNotify(h)  # NOT_FOUND once the child force-unregisters it
        out, _ = child.communicate(timeout=20)
        self.assertIn("pending=1", out)
        m = parse(self.ctl_metrics())
        self.assertGreaterEqual(val(m, "witnessd_forced_unregistrations_total", reason="admin"), 1)
        self.assertEqual(val(m, "witnessd_async_notify_pending"), 0)

    # -- HTTP listener: bad input --
    def test_http_answers(self):
        p = self.http_port
        cases = [
            (b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", b"HTTP/1.1 404 "),
            (b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", b"HTTP/1.1 405 "),
            (b"GET /metrics HTTP/3.0\r\n\r\n", b"HTTP/1.1 505 "),
            (b"GET /metrics\r\n\r\n", b"HTTP/1.1 400 "),
            (b"GET /metrics HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd", b"HTTP/1.1 400 "),
            (b"GET /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
             b"HTTP/1.1 400 "),
            (b"GET /metrics HTTP/1.1\r\n folded: x\r\n\r\n", b"HTTP/1.1 400 "),
            (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", b"HTTP/1.1 400 "),
            (b"GET /metrics HTTP/1.1\r\nX-Big: " + b"a" * 5000 + b"\r\n\r\n", b"HTTP/1.1 431 "),
            (b"GET /" + b"m" * 8000, b"HTTP/1.1 431 "),
            (b"HEAD /metrics HTTP/1.0\r\n\r\n", b"HTTP/1.1 200 "),
        ]
        for data, want in cases:
            with self.subTest(data=data[:40]):
                got = http_raw(p, data)
                self.assertTrue(got.startswith(want), got[:200])
                if data.startswith(b"HEAD"):
                    self.assertNotIn(b"# HELP", got)
        self.http_metrics()

    def test_http_slow_and_many(self):
        p = self.http_port
        # a slow client (half a request line) is answered 408 and cut at 5 s
        t0 = time.monotonic()
        got = http_raw(p, b"GET /met", timeout=15)
        took = time.monotonic() - t0
        self.assertTrue(got.startswith(b"HTTP/1.1 408 "), got[:100])
        self.assertGreater(took, 4.0)
        self.assertLess(took, 12.0)
        # 16 idle connections fill the cap; the 17th is closed at once (after the
        # slow one's lingering close has ended on the daemon's side too)
        time.sleep(0.5)
        idle = [socket.create_connection(("127.0.0.1", p), timeout=5) for _ in range(16)]
        time.sleep(0.3)
        extra = socket.create_connection(("127.0.0.1", p), timeout=5)
        self.assertEqual(extra.recv(100), b"")
        extra.close()
        # the daemon keeps serving RPC meanwhile, and HTTP once they are gone
        self.conn().GetInterfaceList()
        for s in idle:
            s.close()
        wait_for(lambda: self.http_metrics() is not None, timeout=5, what="GET after idle")


# A second witnessctl process while the test's AsyncNotify waits: read the
# pending gauge, then force-unregister the registration.
PENDING_CHILD = r"""
import subprocess, sys, time, re
sock, ctl = sys.argv[1], sys.argv[2]
for _ in range(100):
    t = subprocess.run([ctl, "--socket", sock, "metrics"], capture_output=True, text=True).stdout
    m = re.search(r"^witnessd_async_notify_pending (\d+)$", t, re.M)
    if m and m.group(1) == "1":
        break
    time.sleep(0.05)
print("pending=%s" % (m.group(1) if m else "?"), flush=True)
subprocess.run([ctl, "--socket", sock, "force-unregister", "--client-computer-name", "^PENDBOX$"],
               check=True, capture_output=True)
"""

if __name__ == "__main__":
    unittest.main()
