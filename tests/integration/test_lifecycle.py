"""witnessd's life cycle (issue 9 items 4-8) with Samba's Python bindings as
clients: graceful stop, live reload, journal fields, state across a restart,
start-up diagnostics.

Samba's client holds the GIL during a call, so a pending AsyncNotify runs in
a child process (NOTIFY_CHILD) that prints what the call returned.
"""
import os
import re
import signal
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import WITNESSCTL, WITNESSD, Witnessd, samba_creds, samba_lp, samba_witness, werror_of, wait_for  # noqa: E402

from samba.dcerpc import witness  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
NETNAME = "WITSRV"
IP1 = "127.0.0.3"
USER, PASSWORD, DOMAIN = "alice", "Secret123", "TESTDOM"
WERR_NOT_FOUND = 0x490

# argv: binding user password ip timeout. Registers (RegisterEx v2), prints
# "registered", then waits in AsyncNotify and prints its outcome.
NOTIFY_CHILD = r"""
import sys, time
sys.path.insert(0, %r)
from harness import samba_creds, samba_lp, samba_witness, werror_of
from samba.dcerpc import witness
binding, user, pw, ip, timeout = sys.argv[1:6]
lp = samba_lp()
c = samba_witness(binding, lp, samba_creds(lp, user or None, pw or None))
h = c.RegisterEx(witness.WITNESS_V2, "WITSRV", None, ip, "CLIENTBOX",
                 witness.WITNESS_REGISTER_NONE, int(timeout))
print("registered", h.uuid, flush=True)
t0 = time.monotonic()
try:
    r = c.AsyncNotify(h)
    print("notify type=%%d num=%%d" %% (r.type, r.num),
          " ".join("%%s=%%d" %% (m.name, m.type) for m in r.messages), flush=True)
except Exception as e:
    print("error werr=0x%%x after=%%.2f" %% (werror_of(e) or 0, time.monotonic() - t0), flush=True)
""" % HERE


# Runs under "unshare -m" with a tmpfs over /run/systemd: binds the journal's
# native socket, starts witnessd with its stderr named by JOURNAL_STREAM (as
# systemd does for a service), makes it log a registration and a refused
# NTLM bind, stops it and prints every datagram's fields as JSON lines.
JOURNAL_CHILD = r"""
import json, os, socket, subprocess, sys, time
sys.path.insert(0, %r)
from harness import samba_creds, samba_lp, samba_witness, wait_for, port_open
from samba.dcerpc import witness
witnessd, config, logpath, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/run/systemd"], check=True)
os.makedirs("/run/systemd/journal")
j = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
j.bind("/run/systemd/journal/socket")
j.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
# read as journald does, at once: a full datagram queue would block the sender
import threading
datagrams = []
def reader():
    while True:
        try:
            datagrams.append(j.recv(1 << 20))
        except OSError:
            return
threading.Thread(target=reader, daemon=True).start()
log = open(logpath, "wb")
st = os.fstat(log.fileno())
env = dict(os.environ, JOURNAL_STREAM="%%d:%%d" %% (st.st_dev, st.st_ino))
p = subprocess.Popen([witnessd, "--config", config], stdout=log, stderr=log, env=env)
wait_for(lambda: port_open("127.0.0.1", port), what="witnessd up")
lp = samba_lp()
c = samba_witness("ncacn_ip_tcp:127.0.0.1[%%d]" %% port, lp)
c.RegisterEx(witness.WITNESS_V2, "WITSRV", None, "127.0.0.3", "CLIENTBOX",
             witness.WITNESS_REGISTER_NONE, 10)
try:
    samba_witness("ncacn_ip_tcp:127.0.0.1[%%d,sign]" %% port, lp,
                  samba_creds(lp, "alice", "wrong-password", "TESTDOM"))
except Exception:
    pass
time.sleep(0.3)
p.terminate()
p.wait(10)
time.sleep(0.3)
for data in list(datagrams):
    fields, i = {}, 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            i = nl + 1
        else:  # binary form: KEY\n, little-endian 64-bit length, value, \n
            k = line
            n = int.from_bytes(data[nl + 1:nl + 9], "little")
            v = data[nl + 9:nl + 9 + n]
            i = nl + 9 + n + 1
        fields[k.decode()] = v.decode("utf-8", "replace")
    print(json.dumps(fields))
print("exit", p.returncode)
""" % HERE


def add_user(path, user, password, domain=DOMAIN):
    subprocess.run([WITNESSCTL, "user", "add", user, "--domain", domain, "--file", path],
                   input=password + "\n", text=True, check=True, capture_output=True)


class NotifyChild:
    def __init__(self, binding, user="", password="", ip=IP1, timeout=120):
        self.p = subprocess.Popen([sys.executable, "-c", NOTIFY_CHILD, binding, user, password,
                                   ip, str(timeout)],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.p.stdout.readline()
        if not line.startswith("registered"):
            self.p.kill()
            raise RuntimeError("child did not register: %s%s" % (line, self.p.stdout.read()))
        self.uuid = line.split()[1]

    def result(self, timeout=15):
        out, _ = self.p.communicate(timeout=timeout)
        return out.strip()

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def wait_pending(d, uuid):
    """Until the daemon holds the registration's AsyncNotify."""
    wait_for(lambda: uuid in d.ctl_json("list")["registrations"],
             what="registration %s listed" % uuid)
    time.sleep(0.3)  # the AsyncNotify request follows the RegisterEx reply


class GracefulStop(unittest.TestCase):
    def test_pending_async_notify_answered_on_sigterm(self):
        d = Witnessd(name="stop")
        try:
            d.start()
            binding = "ncacn_ip_tcp:127.0.0.1[%d]" % d.witness_port
            child = NotifyChild(binding)
            try:
                wait_pending(d, child.uuid)
                t0 = time.monotonic()
                d.proc.send_signal(signal.SIGTERM)
                rc = d.proc.wait(10)
                took = time.monotonic() - t0
                out = child.result()
            finally:
                child.kill()
            self.assertEqual(rc, 0, d.log()[-2000:])
            # bound: 2 s of flushing plus a loop turn
            self.assertLess(took, 3.0)
            self.assertRegex(out, r"error werr=0x%x" % WERR_NOT_FOUND)
            self.assertRegex(d.log(), r"daemon\.stopping exit=0 notifies_answered=1")
            # the store is consistent: no registration row is left
            import sqlite3
            db = sqlite3.connect(os.path.join(d.state, "registrations.sqlite"))
            self.assertEqual(db.execute("select count(*) from registrations").fetchone()[0], 0)
            db.close()
        finally:
            d.cleanup()


IFLIST_CHILD = r"""
import sys, time
sys.path.insert(0, %r)
from harness import samba_witness
c = samba_witness(sys.argv[1])
print("calling", flush=True)
t0 = time.monotonic()
r = c.GetInterfaceList()
print("interfaces=%%d after=%%.2f" %% (r.num_interfaces, time.monotonic() - t0), flush=True)
""" % HERE


class GracefulStopInterfaceWait(unittest.TestCase):
    def test_waiting_get_interface_list_answered_on_sigterm(self):
        d = Witnessd(name="stopif")
        try:
            d.start()
            for ip in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
                d.ctl("ip", "set", ip, "--unavailable")
            p = subprocess.Popen([sys.executable, "-c", IFLIST_CHILD,
                                  "ncacn_ip_tcp:127.0.0.1[%d]" % d.witness_port],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            try:
                self.assertEqual(p.stdout.readline().strip(), "calling")
                time.sleep(1.0)  # [MS-SWN] 3.1.4.1: no AVAILABLE interface, the call waits
                self.assertIsNone(p.poll())
                d.proc.send_signal(signal.SIGTERM)
                self.assertEqual(d.proc.wait(10), 0)
                out, _ = p.communicate(timeout=10)
            finally:
                if p.poll() is None:
                    p.kill()
            self.assertRegex(out, r"interfaces=3 after=")
        finally:
            d.cleanup()


class Reload(unittest.TestCase):
    def setUp(self):
        self.d = Witnessd(name="reload", min_auth="integrity", reregister_delay=30,
                          global_opts={"ntlm password file": "@PW@"})
        self.pw = os.path.join(self.d.tmp, "ntlm.passwd")
        add_user(self.pw, USER, PASSWORD)
        with open(self.d.config) as f:
            text = f.read().replace("@PW@", self.pw)
        with open(self.d.config, "w") as f:
            f.write(text)
        self.d.start()
        self.binding = "ncacn_ip_tcp:127.0.0.1[%d,sign]" % self.d.witness_port

    def tearDown(self):
        self.d.cleanup()

    def edit_config(self, old, new):
        with open(self.d.config) as f:
            text = f.read()
        self.assertIn(old, text)
        with open(self.d.config, "w") as f:
            f.write(text.replace(old, new))

    def hup(self):
        n = self.d.log().count("daemon.reload")
        self.d.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: self.d.log().count("daemon.reload") > n, what="reload logged")

    def bind_as(self, user, password):
        lp = samba_lp()
        return samba_witness(self.binding, lp, samba_creds(lp, user, password, DOMAIN))

    def test_log_level_and_password_file_with_registration_kept(self):
        with self.assertRaises(Exception):
            self.bind_as("bob", "Bobpass12")  # not in the file yet
        child = NotifyChild(self.binding, USER, PASSWORD)
        try:
            wait_pending(self.d, child.uuid)
            add_user(self.pw, "bob", "Bobpass12")
            self.edit_config("log level = debug", "log level = notice\nmax pending calls = 8")
            self.hup()
            st = self.d.ctl_json("status")
            self.assertEqual(st["log_level"], "notice")
            self.assertEqual(st["last_reload"]["result"], "ok")
            log = self.d.log()
            self.assertRegex(log, r"daemon\.reload config=\S+ result=ok changed=log_level,limits")
            mark = len(log)
            # bob binds now, with the connection and registration of alice kept
            c = self.bind_as("bob", "Bobpass12")
            self.assertGreaterEqual(c.GetInterfaceList().num_interfaces, 1)
            self.d.ctl("list")  # a ctl.request line at debug: not logged at notice
            self.assertNotIn("ctl.request", self.d.log()[mark:])
            self.assertIn(child.uuid, self.d.ctl_json("list")["registrations"])
            # the pending AsyncNotify survived: it gets the next change
            self.d.ctl("ip", "set", IP1, "--unavailable")
            out = child.result()
            self.assertRegex(out, r"notify type=1 num=1 %s=255" % re.escape(IP1))
        finally:
            child.kill()

    def test_broken_config_keeps_the_old_one(self):
        self.edit_config("log level = debug", "log level = debug\nno such key = 1")
        self.hup()
        log = self.d.log()
        self.assertIn("daemon.reload_failed", log)
        self.assertIn("kept=old_config", log)
        st = self.d.ctl_json("status")
        self.assertEqual(st["last_reload"]["result"], "failed")
        self.assertRegex(st["last_reload"]["error"], r"witnessd\.conf:\d+: .*no such key")
        self.assertEqual(st["log_level"], "debug")
        # still serving with the old configuration
        self.assertGreaterEqual(self.bind_as(USER, PASSWORD).GetInterfaceList().num_interfaces, 1)
        # a key that needs a restart is named, the rest applies
        self.edit_config("no such key = 1\n", "")
        self.edit_config("witness port = %d" % self.d.witness_port,
                         "witness port = %d" % (self.d.witness_port + 1))
        self.hup()
        st = self.d.ctl_json("status")
        self.assertEqual(st["last_reload"]["result"], "ok")
        self.assertEqual(st["last_reload"]["restart_needed"], "witness_port")
        self.assertRegex(self.d.log(), r"daemon\.restart_needed key=witness_port")
        self.assertEqual(st["witness_port"], self.d.witness_port)


class StaticStateAcrossRestart(unittest.TestCase):
    def interfaces(self, d):
        c = samba_witness("ncacn_ip_tcp:127.0.0.1[%d]" % d.witness_port)
        r = c.GetInterfaceList()
        return {i.ipv4: (i.state, bool(i.flags & witness.WITNESS_INFO_WITNESS_IF))
                for i in r.interfaces}

    def test_ip_set_survives_restart_and_ip_reset(self):
        d = Witnessd(name="static")
        try:
            d.start()
            d.ctl("ip", "set", "127.0.0.3", "--unavailable")
            d.ctl("ip", "set", "127.0.0.4", "--node", "0")  # now hosted here: no WITNESS_IF
            child = NotifyChild("ncacn_ip_tcp:127.0.0.1[%d]" % d.witness_port, ip="127.0.0.2")
            wait_pending(d, child.uuid)
            self.assertEqual(d.stop(), 0)
            child.kill()
            d.start()
            # registrations are cleared at start, the interface states are not
            self.assertEqual(d.ctl_json("list")["registrations"], {})
            ifs = self.interfaces(d)
            self.assertEqual(ifs["127.0.0.3"][0], witness.WITNESS_STATE_UNAVAILABLE)
            self.assertEqual(ifs["127.0.0.4"], (witness.WITNESS_STATE_AVAILABLE, False))
            self.assertEqual(ifs["127.0.0.2"], (witness.WITNESS_STATE_AVAILABLE, False))
            self.assertRegex(d.log(), r"cluster\.static\.restored ips=2 ignored=0")
            ips = {i["ip"]: i for i in d.ctl_json("ip", "list")["interfaces"]}
            self.assertFalse(ips["127.0.0.3"]["available"])
            self.assertEqual(ips["127.0.0.4"]["node"], 0)
            # ip reset: back to the config, now and after the next restart
            out = d.ctl("ip", "reset").stdout
            self.assertRegex(out, r"127\.0\.0\.4\s+2\s+AVAILABLE")
            ifs = self.interfaces(d)
            self.assertEqual(ifs["127.0.0.3"], (witness.WITNESS_STATE_AVAILABLE, True))
            self.assertEqual(ifs["127.0.0.4"], (witness.WITNESS_STATE_AVAILABLE, True))
            self.assertEqual(d.stop(), 0)
            d.start()
            ifs = self.interfaces(d)
            self.assertEqual(ifs["127.0.0.3"], (witness.WITNESS_STATE_AVAILABLE, True))
            self.assertEqual(d.log().count("cluster.static.restored"), 1)
        finally:
            d.cleanup()


class FloatingAddress(unittest.TestCase):
    FLOAT = "10.99.0.1"

    def setUp(self):
        subprocess.run(["ip", "addr", "del", self.FLOAT + "/32", "dev", "lo"],
                       capture_output=True)

    tearDown = setUp

    def test_bound_before_it_exists(self):
        d = Witnessd(name="float", listen=("127.0.0.1", self.FLOAT))
        try:
            d.start()
            self.assertRegex(d.log(), r"daemon\.listen_absent ip=%s freebind=1" %
                             re.escape(self.FLOAT))
            subprocess.run(["ip", "addr", "add", self.FLOAT + "/32", "dev", "lo"], check=True)
            c = samba_witness("ncacn_ip_tcp:%s[%d]" % (self.FLOAT, d.witness_port))
            self.assertEqual(c.GetInterfaceList().num_interfaces, 3)
        finally:
            d.cleanup()

    def test_without_freebind_the_error_names_key_address_and_errno(self):
        d = Witnessd(name="nofree", listen=("127.0.0.1", self.FLOAT), epm_port=0,
                     global_opts={"listen freebind": "no"})
        try:
            r = subprocess.run([WITNESSD, "--config", d.config, "--foreground"],
                               capture_output=True, text=True, timeout=20)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("listen addresses = %s, witness port = %d: cannot listen: "
                          "Cannot assign requested address" % (self.FLOAT, d.witness_port),
                          r.stderr)
        finally:
            d.cleanup()


class JournalFields(unittest.TestCase):
    def test_message_ids_and_callers_code_file(self):
        import json
        d = Witnessd(name="journal", epm_port=0, global_opts={"ntlm password file": "@PW@"})
        try:
            pw = os.path.join(d.tmp, "ntlm.passwd")
            add_user(pw, USER, PASSWORD)
            with open(d.config) as f:
                text = f.read().replace("@PW@", pw)
            with open(d.config, "w") as f:
                f.write(text)
            r = subprocess.run(["unshare", "-m", sys.executable, "-c", JOURNAL_CHILD, WITNESSD,
                                d.config, d.logfile, str(d.witness_port)],
                               capture_output=True, text=True, timeout=60)
            self.assertIn("exit 0", r.stdout, r.stdout + r.stderr)
            recs = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
            by_event = {}
            for rec in recs:
                by_event.setdefault(rec.get("WITNESSD_EVENT"), []).append(rec)
            # nothing went to stderr: every line went to the journal socket
            self.assertNotIn("registration.add", d.log())
            add = by_event["registration.add"][0]
            self.assertEqual(add["MESSAGE_ID"], "b55e7d1eb8814c7b8cc8927691cbf118")
            self.assertTrue(add["CODE_FILE"].endswith("src/witness/witness.c"), add)
            self.assertGreater(int(add["CODE_LINE"]), 0)
            self.assertNotIn("log", add["CODE_FUNC"])
            self.assertEqual(add["WITNESSD_IP"], "127.0.0.3")
            self.assertEqual(add["PRIORITY"], "6")
            ready = by_event["daemon.ready"][0]
            self.assertEqual(ready["MESSAGE_ID"], "9c49ba05cd954ea8ae6b69cf50fbcac2")
            self.assertTrue(ready["CODE_FILE"].endswith("src/daemon/main_witnessd.c"))
            self.assertEqual(ready["CODE_FUNC"], "run")
            # the refusal names the client's address and the reason
            refused = by_event["auth.ntlmssp.refused"][0]
            self.assertEqual(refused["MESSAGE_ID"], "31d243aab5134aadbabd19536061ee4f")
            self.assertEqual(refused["WITNESSD_REASON"], "wrong_password")
            self.assertRegex(refused["WITNESSD_CLIENT"], r"^(ipv4:)?127\.0\.0\.1")
            self.assertTrue(refused["CODE_FILE"].endswith("src/auth/ntlmssp.c"))
            self.assertEqual(by_event["daemon.stopping"][0]["MESSAGE_ID"],
                             "cccd6e54ec8141dcba291da08b862af0")
            # every id logged has a catalog entry
            with open(os.path.join(HERE, "..", "..", "systemd", "witnessd.catalog")) as f:
                catalog = set(re.findall(r"^-- ([0-9a-f]{32})$", f.read(), re.M))
            for rec in recs:
                if "MESSAGE_ID" in rec:
                    self.assertIn(rec["MESSAGE_ID"], catalog, rec)
        finally:
            d.cleanup()


class CtdbState(unittest.TestCase):
    """ctdbd (Debian's, started by ctdblab.py) absent, started, stopped and
    started again: each is a log line at warning/notice and a state in
    witnessctl status."""

    def test_ctdbd_stopped_and_started_again(self):
        from ctdblab import CtdbLab
        lab = CtdbLab(1, public_ips=["10.77.9.1", "10.77.9.2"])
        d = Witnessd(netname=NETNAME, backend="ctdb", listen=("127.0.0.1",), epm_port=0,
                     extra_sections={"ctdb": {"socket": lab.socket(0), "reread interval": 2}},
                     interfaces=[], name="ctdbstate")
        try:
            d.start()
            wait_for(lambda: "ctdb.unreachable" in d.log(), what="ctdb.unreachable logged")
            self.assertRegex(d.log(), r" warning ctdb\.unreachable socket=%s" %
                             re.escape(lab.socket(0)))
            st = d.ctl_json("status")["cluster"]
            self.assertEqual((st["state"], st["connected"]), ("ctdbd-down", False))
            self.assertIn("local node: unknown", d.ctl("ip", "list").stdout)

            lab.start()
            lab.wait_healthy()
            wait_for(lambda: d.ctl_json("status")["cluster"]["state"] == "ok", timeout=30,
                     what="backend ok")
            self.assertRegex(d.log(), r" notice ctdb\.connected ")
            self.assertRegex(d.ctl("ip", "list").stdout, r"local node: 0\b")

            lab.kill(0)
            wait_for(lambda: d.ctl_json("status")["cluster"]["state"] == "ctdbd-down",
                     timeout=20, what="backend down")
            self.assertRegex(d.log(), r" warning ctdb\.down pnn=0 ")

            lab.start_node(0)
            lab.wait_healthy()
            wait_for(lambda: d.ctl_json("status")["cluster"]["state"] == "ok", timeout=30,
                     what="backend ok again")
            self.assertRegex(d.log(), r" notice ctdb\.reconnected pnn=0 down_for_ms=\d+")
        finally:
            d.cleanup()
            lab.cleanup()


class CheckConfig(unittest.TestCase):
    def test_missing_or_unsafe_password_file(self):
        d = Witnessd(name="check", min_auth="integrity",
                     global_opts={"ntlm password file": "/nonexistent/ntlm.passwd"})
        try:
            r = subprocess.run([WITNESSD,
                                "--config", d.config, "--check-config"],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
            self.assertIn("ntlm password file = /nonexistent/ntlm.passwd: No such file", r.stderr)
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
