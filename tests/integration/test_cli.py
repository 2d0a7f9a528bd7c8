"""witnessd and witnessctl command lines, config errors and the admin socket.

Runs in its own network namespace (run.sh). Uses the real daemon, the real
witnessctl, Samba's Python bindings (a RegisterEx so `list` has something to
show) and rpcclient (to prove the daemon still serves RPC after admin abuse).
"""
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import WITNESSCTL, WITNESSD, Witnessd, free_port, samba_witness, wait_for  # noqa: E402

V2 = 0x00020000


def run(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=30, **kw)


def raw_admin(path, lines, read_replies=True):
    """Send raw lines on the admin socket; returns the reply lines."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(path)
    f = s.makefile("rwb")
    out = []
    for line in lines:
        f.write(line)
        f.flush()
        if read_replies:
            out.append(f.readline())
    s.close()
    return out


class ConfigErrors(unittest.TestCase):
    """witnessd --check-config / start with bad files: exit 2 and file:line."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="wd-cfg-")

    def write(self, text, name="w.conf"):
        p = os.path.join(self.tmp, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    BAD = [
        # (text, line, substring)
        ("[global]\nnetname = W\nno such key = 1\n", 3, 'unknown key "no such key"'),
        ("[global]\nnetname = W\nwitness port = 1\nwitness port = 2\n", 4, "duplicate key"),
        ("[global]\nnetname = W\nwitness port = 70000\n", 3, "witness port"),
        ("[global]\nnetname = W\nmin auth level = strong\n", 3, "min auth level"),
        ("[global]\nnetname = W\ncluster backend = corosync\n", 3, "static, ctdb"),
        ("[global]\nnetname = W\nmin auth level = none\n[static]\ninterfaces = 127.0.0.2@x\n",
         5, "interfaces"),
        ("[global]\nnetname = W\nmin auth level = none\n[static]\ninterfaces = 127.0.0.2\n",
         5, "IP@node"),
        ("[global]\nnetname = W\n[nosuch]\n", 3, "unknown section"),
        ("[global]\nnetname W\n", 2, 'expected "key = value"'),
        ("[global]\nnetname = W\n[ctdb]\ninclude node ips = perhaps\n", 4, "boolean"),
        ("[global]\nnetname = W\nauth methods = ntlmssp basic\n", 3, "basic"),
        ("[global]\nnetname = W\nlisten addresses = 127.0.0.1, nohost\n", 3, "nohost"),
    ]

    def test_bad_lines_exit_2_with_file_line(self):
        for text, line, sub in self.BAD:
            p = self.write(text)
            for extra in (["--check-config"], ["--foreground"]):
                r = run(WITNESSD, "--config", p, *extra)
                self.assertEqual(r.returncode, 2, (text, extra, r.stderr))
                self.assertTrue(r.stderr.startswith("%s:%d: " % (p, line)),
                                "%r -> %r" % (text, r.stderr))
                self.assertIn(sub, r.stderr)

    def test_missing_file(self):
        r = run(WITNESSD, "--config", os.path.join(self.tmp, "nope.conf"), "--check-config")
        self.assertEqual(r.returncode, 2)
        self.assertIn("nope.conf:0: cannot open", r.stderr)

    def test_auth_level_needs_a_mechanism(self):
        p = self.write("[global]\nnetname = W\nmin auth level = integrity\n")
        r = run(WITNESSD, "--config", p, "--check-config")
        self.assertEqual(r.returncode, 2)
        self.assertIn("neither \"keytab\" nor \"ntlm password file\"", r.stderr)

    def test_check_config_ok_and_verbose(self):
        p = self.write("[global]\nnetname = W\nmin auth level = none\nwitness port = 5006\n"
                       "[static]\nlocal node = 1\ninterfaces = 127.0.0.2@0 127.0.0.3@1\n")
        r = run(WITNESSD, "--config", p, "--check-config")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("configuration OK", r.stdout)
        r = run(WITNESSD, "--config", p, "--check-config", "--verbose")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("witness port = 5006", r.stdout)
        self.assertIn("interfaces = 127.0.0.2@0, 127.0.0.3@1", r.stdout)
        # the dump is itself a valid config
        dump = "\n".join(l for l in r.stdout.splitlines() if "configuration OK" not in l)
        p2 = self.write(dump + "\n", "dump.conf")
        r2 = run(WITNESSD, "--config", p2, "--check-config")
        self.assertEqual(r2.returncode, 0, r2.stderr)

    def test_example_config(self):
        src = os.environ.get("WD_SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
        example = os.path.join(src, "etc", "witnessd.conf")
        with open(example) as f:
            text = f.read()
        m = re.search(r"^\s*ntlm password file = (\S+)", text, re.M)
        if m and not os.path.exists(m.group(1)):
            # the file it names is not there: --check-config says so (exit 2)
            r = run(WITNESSD, "--config", example, "--check-config")
            self.assertEqual(r.returncode, 2, r.stdout)
            self.assertIn("ntlm password file = %s: No such file" % m.group(1), r.stderr)
        if m:
            pw = os.path.join(self.tmp, "ntlm.passwd")
            with open(pw, "w"):
                pass
            os.chmod(pw, 0o644)
            p = self.write(text.replace(m.group(1), pw), "example.conf")
            r = run(WITNESSD, "--config", p, "--check-config")
            self.assertEqual(r.returncode, 2, r.stdout)
            self.assertIn("mode 0644 lets others read password hashes", r.stderr)
            os.chmod(pw, 0o600)
            example = p
        r = run(WITNESSD, "--config", example, "--check-config")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_version_and_usage(self):
        r = run(WITNESSD, "--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^witnessd \d+\.\d+")
        r = run(WITNESSD, "--bogus")
        self.assertEqual(r.returncode, 2)
        r = run(WITNESSCTL, "--version")
        self.assertEqual(r.returncode, 0)
        r = run(WITNESSCTL)
        self.assertEqual(r.returncode, 2)
        r = run(WITNESSCTL, "frobnicate")
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown command", r.stderr)

    def test_ctl_without_daemon(self):
        r = run(WITNESSCTL, "--socket", os.path.join(self.tmp, "none.sock"), "status")
        self.assertEqual(r.returncode, 3)
        self.assertIn("cannot connect", r.stderr)


class RunningDaemon(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Witnessd(interfaces=[("127.0.0.2", 0), ("127.0.0.3", 1), ("127.0.0.4", 2)],
                         reregister_delay=1, name="cli")
        cls.d.start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        sock_left = os.path.exists(cls.d.socket)
        cls.d.cleanup()
        assert rc == 0, "witnessd exit status %r" % rc
        assert not sock_left, "admin socket left behind"

    def setUp(self):
        # every test starts from the configured placement
        for ip, node in self.d.interfaces:
            self.d.ctl("ip", "set", ip, "--available", "--node", str(node))

    def test_status(self):
        st = self.d.ctl_json("status")
        self.assertEqual(st["netname"], "WITSRV")
        self.assertEqual(st["witness_port"], self.d.witness_port)
        self.assertEqual(st["epmapper_port"], 135)
        self.assertEqual(st["backend"], "static")
        self.assertEqual(st["interfaces"], 3)
        self.assertEqual(st["min_auth_level"], "none")
        self.assertIn("registrations", st)
        txt = self.d.ctl("status").stdout
        self.assertRegex(txt, r"(?m)^netname\s+WITSRV$")
        # --config finds the socket too
        r = run(WITNESSCTL, "--config", self.d.config, "--json", "status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["netname"], "WITSRV")

    def test_socket_mode(self):
        st = os.stat(self.d.socket)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)

    def test_ip_list_and_set(self):
        ips = self.d.ctl_json("ip", "list")
        self.assertEqual(ips["backend"], "static")
        self.assertEqual(ips["local_node"], 0)
        by = {i["ip"]: i for i in ips["interfaces"]}
        self.assertEqual(set(by), {"127.0.0.2", "127.0.0.3", "127.0.0.4"})
        self.assertEqual(by["127.0.0.2"]["local"], True)
        self.assertEqual(by["127.0.0.3"]["node"], 1)
        self.assertEqual(by["127.0.0.3"]["state"], "AVAILABLE")

        self.d.ctl("ip", "set", "127.0.0.3", "--unavailable")
        by = {i["ip"]: i for i in self.d.ctl_json("ip", "list")["interfaces"]}
        self.assertEqual(by["127.0.0.3"]["state"], "UNAVAILABLE")
        self.assertFalse(by["127.0.0.3"]["available"])

        self.d.ctl("ip", "set", "127.0.0.3", "--available", "--node", "0")
        by = {i["ip"]: i for i in self.d.ctl_json("ip", "list")["interfaces"]}
        self.assertEqual(by["127.0.0.3"]["state"], "AVAILABLE")
        self.assertEqual(by["127.0.0.3"]["node"], 0)
        self.assertTrue(by["127.0.0.3"]["local"])

        txt = self.d.ctl("ip", "list").stdout
        self.assertRegex(txt, r"(?m)^127\.0\.0\.4\s+2\s+AVAILABLE\s+no$")

        # the change is what real clients see
        conn = samba_witness("ncacn_ip_tcp:127.0.0.1")
        self.d.ctl("ip", "set", "127.0.0.4", "--unavailable")
        ifs = {i.ipv4: i for i in conn.GetInterfaceList().interfaces}
        self.assertEqual(ifs["127.0.0.4"].state, 0xff)  # UNAVAILABLE
        self.assertEqual(ifs["127.0.0.2"].state, 1)

    def test_ip_set_errors(self):
        r = self.d.ctl("ip", "set", "127.0.0.99", "--unavailable", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("not one of the cluster's interfaces", r.stderr)
        r = self.d.ctl("ip", "set", "127.0.0.3", check=False)
        self.assertEqual(r.returncode, 2)
        r = self.d.ctl("ip", "set", "127.0.0.3", "--available", "--unavailable", check=False)
        self.assertEqual(r.returncode, 2)
        r = self.d.ctl("ip", "set", "127.0.0.3", "--node", "x", check=False)
        self.assertEqual(r.returncode, 2)

    def test_list_shape_and_updates(self):
        conn = samba_witness("ncacn_ip_tcp:127.0.0.1")
        h = conn.RegisterEx(V2, "WITSRV", "share1", "127.0.0.3", "CLIENT-CLI", 0, 30)
        try:
            res = self.d.ctl_json("list")
            self.assertEqual(set(res) - {"message"}, {"filters", "registrations"})
            regs = res["registrations"]
            self.assertEqual(len(regs), 1)
            uuid, rg = next(iter(regs.items()))
            self.assertEqual(uuid, str(h.uuid))
            # net witness's 12 keys per registration, plus the holding node
            self.assertEqual(set(rg), {"version", "net_name", "share_name", "ip_address",
                                       "client_computer_name", "flags", "timeout",
                                       "context_handle", "server_id", "auth", "connection",
                                       "registration_time", "node"})
            self.assertEqual(rg["node"], 0)
            self.assertEqual(rg["net_name"], "WITSRV")
            self.assertEqual(rg["share_name"], "share1")
            self.assertEqual(rg["ip_address"], "127.0.0.3")

            # filters: regex, ANDed, --witness-* spelling
            self.assertEqual(len(self.d.ctl_json("list", "--ip-address", r"^127\.0\.0\.3$")
                                 ["registrations"]), 1)
            self.assertEqual(len(self.d.ctl_json("list", "--witness-client-computer-name",
                                                 "client-cli", "--net-name", "nomatch")
                                 ["registrations"]), 0)
            self.assertEqual(self.d.ctl_json("list", "--registration", uuid)
                             ["filters"].get("--witness-registration",
                                             uuid), uuid)

            # text output in net witness's format
            txt = self.d.ctl("list").stdout.splitlines()
            self.assertEqual(txt[0], "%-36s %-4s %-20s %-15s %-20s %s" % (
                "Registration-UUID:", "Node", "NetName", "ShareName", "IpAddress",
                "ClientComputerName"))
            self.assertTrue(txt[1].startswith("-" * 36 + "-"))
            self.assertEqual(txt[2].split(), [uuid, "0", "WITSRV", "share1", "127.0.0.3",
                                              "CLIENT-CLI"])

            # updates need a selector or --apply-to-all, and not both
            r = self.d.ctl("client-move", "--new-node", "1", check=False)
            self.assertEqual(r.returncode, 2)
            r = self.d.ctl("client-move", "--apply-to-all", "--net-name", "x", "--new-node",
                           "1", check=False)
            self.assertEqual(r.returncode, 2)
            r = self.d.ctl("client-move", "--apply-to-all", check=False)
            self.assertEqual(r.returncode, 2)  # no target

            r = self.d.ctl("client-move", "--registration", uuid, "--new-node", "1")
            self.assertEqual(r.stdout.splitlines()[0], "CLIENT_MOVE_TO_NODE: 1")
            res = self.d.ctl_json("share-move", "--apply-to-all", "--new-ip", "127.0.0.2")
            self.assertEqual(res["message"]["type"], "SHARE_MOVE_TO_IPV4")
            r = self.d.ctl("client-move", "--apply-to-all", "--new-node", "-1")
            self.assertEqual(r.stdout.splitlines()[0], "CLIENT_MOVE_TO_NODE: ALL")
            res = self.d.ctl_json("force-response", "--registration", uuid,
                                  "--forced-response",
                                  '{"result": 0, "response": {"type": 1, "messages": '
                                  '[{"type": 255, "name": "x"}]}}')
            self.assertEqual(res["message"]["type"], "FORCE_RESPONSE")
            r = self.d.ctl("force-response", "--registration", uuid, "--forced-response",
                           "{not json", check=False)
            self.assertEqual(r.returncode, 2)

            # drain on the static backend: this node's registrations on node 1's IPs
            res = self.d.ctl_json("drain", "1")
            self.assertEqual(res["message"]["ips"], ["127.0.0.3"])
            self.assertEqual(res["message"]["targets"], [{"node": 0}, {"node": 2}])
            self.assertEqual({u: r["moved_to"] for u, r in res["registrations"].items()},
                             {uuid: {"node": 0}})
            r = self.d.ctl("drain", "1", "--to", "127.0.0.4")
            self.assertRegex(r.stdout, r"(?m)^DRAIN: node 1 \(127\.0\.0\.3\) -> 127\.0\.0\.4$")
            self.assertRegex(r.stdout, r"(?m)^%s +0 +127\.0\.0\.3 +CLIENT-CLI +127\.0\.0\.4$"
                             % uuid)
            self.assertEqual(self.d.ctl_json("peers")["nodes"][0]["node"], 0)

            r = self.d.ctl("force-unregister", "--registration", uuid)
            self.assertEqual(r.stdout.splitlines()[0], "FORCE_UNREGISTER:")
            wait_for(lambda: len(self.d.ctl_json("list")["registrations"]) == 0, 5,
                     what="registration gone after force-unregister")
        finally:
            try:
                conn.UnRegister(h)
            except Exception:
                pass

    def test_bad_regex_is_an_error(self):
        # a usage error (exit 2) that names the regex's own error (regerror)
        r = self.d.ctl("list", "--net-name", "(", check=False)
        self.assertEqual(r.returncode, 2)
        self.assertTrue(r.stderr.startswith("witnessctl: "))
        self.assertIn("--witness-net-name", r.stderr)
        self.assertIn("Unmatched ( or", r.stderr)
        r = self.d.ctl("--json", "client-move", "--ip-address", "[", "--new-node", "0",
                       check=False)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr, "")
        err = json.loads(r.stdout)
        self.assertEqual(set(err), {"error", "code", "exit"})
        self.assertEqual((err["code"], err["exit"]), ("WD_EINVAL", 2))
        self.assertIn("regcomp([) failed for --witness-ip-address", err["error"])

    def test_exit_codes_and_json_errors(self):
        # 1: an update that matched nothing; list of nothing is still 0
        r = self.d.ctl("force-unregister", "--net-name", "^nothing-here$", check=False)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("no registration matched", r.stderr)
        r = self.d.ctl("--json", "force-unregister", "--net-name", "^nothing-here$",
                       check=False)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(json.loads(r.stdout)["registrations"], {})
        self.assertEqual(self.d.ctl("list", "--net-name", "^nothing-here$").returncode, 0)
        r = self.d.ctl("drain", "1", check=False)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        # 2: usage, in JSON on stdout with --json wherever it stands
        for args in (("list", "--bogus"), ("list", "--new-node", "1"), ("drain",),
                     ("drain", "x"), ("frob",), ("ip", "set", "127.0.0.2")):
            r = self.d.ctl(*args, check=False)
            self.assertEqual(r.returncode, 2, args)
            self.assertTrue(r.stderr.startswith("witnessctl: "), args)
            r = self.d.ctl(*(args + ("--json",)), check=False)
            self.assertEqual(r.returncode, 2, args)
            e = json.loads(r.stdout)
            self.assertEqual((e["code"], e["exit"]), ("WD_EINVAL", 2), args)
        # 3: no daemon
        r = run(WITNESSCTL, "--socket", "/nonexistent/w.sock", "--json", "status")
        self.assertEqual(r.returncode, 3)
        e = json.loads(r.stdout)
        self.assertEqual(e["exit"], 3)
        self.assertIn("cannot connect to /nonexistent/w.sock", e["error"])
        # the daemon's refusal of a request: its code, and the matching exit status
        r = self.d.ctl("--json", "ip", "set", "127.0.0.99", "--unavailable", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(json.loads(r.stdout)["code"], "WD_ENOTFOUND")

    def test_every_command_has_help(self):
        top = run(WITNESSCTL, "--help")
        self.assertEqual(top.returncode, 0)
        cmds = re.findall(r"(?m)^  ([a-z-]+(?: [a-z]+)?)\s{2,}", top.stdout.split("Options:")[0])
        self.assertIn("drain", cmds)
        self.assertGreaterEqual(len(cmds), 13)
        for c in cmds:
            r = run(WITNESSCTL, *c.split(), "--help")
            self.assertEqual(r.returncode, 0, c)
            self.assertTrue(r.stdout.startswith("Usage: witnessctl [GLOBAL OPTIONS] %s" % c),
                            (c, r.stdout))
            self.assertIn("Exit status", r.stdout)

    def as_nobody(self, *args):
        # Debian's nobody has the group nogroup (harness.ctl(user=) assumes a same-named group)
        return run("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                   WITNESSCTL, "--socket", self.d.socket, *args)

    def test_non_root_refused(self):
        tmp_mode = stat.S_IMODE(os.stat(self.d.tmp).st_mode)
        os.chmod(self.d.tmp, 0o711)  # let nobody reach the socket file itself
        try:
            # the socket is 0600: nobody cannot even connect
            r = self.as_nobody("status")
            self.assertEqual(r.returncode, 3, r.stderr)
            self.assertIn("permission denied on %s" % self.d.socket, r.stderr)
            # and if an admin loosens the mode, SO_PEERCRED still refuses
            os.chmod(self.d.socket, 0o666)
            r = self.as_nobody("ip", "set", "127.0.0.2", "--unavailable")
            self.assertEqual(r.returncode, 3, r.stderr)
            self.assertIn("permission denied: uid 65534 may not use the witnessd admin socket",
                          r.stderr)
        finally:
            os.chmod(self.d.socket, 0o600)
            os.chmod(self.d.tmp, tmp_mode)
        # nothing changed, and root still gets in
        by = {i["ip"]: i for i in self.d.ctl_json("ip", "list")["interfaces"]}
        self.assertEqual(by["127.0.0.2"]["state"], "AVAILABLE")
        self.assertIn("ctl.refused uid=65534", self.d.log())

    def test_malformed_requests(self):
        replies = raw_admin(self.d.socket, [
            b"{bad json\n",
            b"[1, 2]\n",
            b'{"cmd": 7}\n',
            b'{"cmd": "frobnicate"}\n',
            b'{"cmd": "ip-set", "ip": "127.0.0.3", "available": "yes"}\n',
            b'{"cmd": "list", "filters": {"bogus": "x"}}\n',
            b'{"cmd": "status"} trailing\n',
            b"\xff\xfe\n",
            b"\n",
            b'{"cmd": "status"}\n',  # the same connection still works
        ])
        for rep in replies[:-1]:
            obj = json.loads(rep)
            self.assertIs(obj["ok"], False, rep)
            self.assertTrue(obj["error"])
            self.assertTrue(obj["code"].startswith("WD_E"))
        last = json.loads(replies[-1])
        self.assertIs(last["ok"], True)
        self.assertEqual(last["result"]["netname"], "WITSRV")

        # an endless line: one error, then the daemon hangs up on that connection
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        s.connect(self.d.socket)
        try:
            s.sendall(b"x" * 70000)
        except OSError:
            pass
        data = b""
        try:
            while not data.endswith(b"\n"):
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass
        s.close()
        self.assertIn(b"too long", data)

        # many connections opened and dropped mid-request
        for _ in range(20):
            s = socket.socket(socket.AF_UNIX)
            s.connect(self.d.socket)
            s.send(b'{"cmd": "sta')
            s.close()

        self.assertTrue(self.d.alive())
        self.assertEqual(self.d.ctl_json("status")["netname"], "WITSRV")
        conn = samba_witness("ncacn_ip_tcp:127.0.0.1")
        self.assertEqual(len(conn.GetInterfaceList().interfaces), 3)

    def test_sighup_keeps_serving(self):
        self.d.proc.send_signal(signal.SIGHUP)
        time.sleep(0.2)
        self.assertTrue(self.d.alive())
        self.assertEqual(self.d.ctl("status").returncode, 0)

    def test_rpcclient_sees_interfaces(self):
        r = run("rpcclient", "-U%", "ncacn_ip_tcp:127.0.0.1", "-c", "GetInterfaceList")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for ip in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
            self.assertIn(ip, r.stdout)


class Lifecycle(unittest.TestCase):
    def test_admin_dir_created_and_second_daemon_refused(self):
        d = Witnessd(epm_port=0, name="life")
        d.socket = os.path.join(d.tmp, "run", "sub", "admin.sock")
        with open(d.config) as f:
            text = f.read()
        text = re.sub(r"(?m)^admin socket = .*$", "admin socket = %s" % d.socket, text)
        with open(d.config, "w") as f:
            f.write(text)
        with d:
            st = os.stat(os.path.dirname(d.socket))
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o755)
            # a second daemon on the same admin socket must not steal it
            text2 = re.sub(r"(?m)^witness port = .*$", "witness port = %d" % free_port(), text)
            text2 = re.sub(r"(?m)^state directory = .*$",
                           "state directory = %s" % os.path.join(d.tmp, "state2"), text2)
            p2 = os.path.join(d.tmp, "second.conf")
            with open(p2, "w") as f:
                f.write(text2)
            r = run(WITNESSD, "--config", p2, "--foreground")
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("another witnessd is running", r.stderr)
            self.assertEqual(d.ctl_json("status")["netname"], "WITSRV")
        self.assertFalse(os.path.exists(d.socket))

    def test_port_in_use_exit_1(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        d = Witnessd(witness_port=port, epm_port=0, name="busy")
        try:
            r = run(WITNESSD, "--config", d.config, "--foreground")
            self.assertEqual(r.returncode, 1)
            # the key, the address and the system's words ("already exists" before)
            self.assertIn("listen addresses = 127.0.0.1, witness port = %d: cannot listen: "
                          "Address already in use" % port, r.stderr)
        finally:
            s.close()
            d.cleanup()

    def test_wildcard_listen_epm(self):
        # listen on 0.0.0.0 / :: (dual-stack) / ::1 plus 127.0.0.1: the EPM maps the
        # witness for whatever local IPv4 address was asked
        for listen in (("0.0.0.0",), ("::",), ("::1", "127.0.0.1")):
            # (harness.free_port is IPv4-only)
            d = Witnessd(listen=listen, witness_port=free_port(), name="any")
            d.start()
            try:
                for addr in ("127.0.0.1", "127.0.0.2") if listen[0] != "::1" else ("127.0.0.1",):
                    r = run("rpcclient", "-U%", "ncacn_ip_tcp:%s" % addr, "-c",
                            "GetInterfaceList")
                    self.assertEqual(r.returncode, 0, (listen, r.stdout + r.stderr))
                    self.assertIn("127.0.0.3", r.stdout)
                st = d.ctl_json("status")
                self.assertEqual(st["listen_addresses"], list(listen))
                self.assertEqual(st["witness_port"], d.witness_port)
            finally:
                d.cleanup()

    CLIENT = """
import sys
sys.path.insert(0, sys.argv[1])
from harness import samba_witness
conn = samba_witness("ncacn_ip_tcp:127.0.0.1")
h = conn.RegisterEx(0x00020000, "WITSRV", None, "127.0.0.3", "PENDING", 0, 120)
print("registered", flush=True)
try:
    conn.AsyncNotify(h)
    print("reply", flush=True)
except Exception as e:
    print("error", e, flush=True)
"""

    def test_sigterm_with_pending_asyncnotify(self):
        # a client parked in AsyncNotify must not hold up a clean shutdown
        # (a subprocess: Samba's bindings keep the GIL during a call)
        d = Witnessd(name="pend")
        d.start()
        cl = None
        try:
            cl = subprocess.Popen(["/usr/bin/python3", "-c", self.CLIENT,
                                   os.path.dirname(os.path.abspath(__file__))],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            self.assertEqual(cl.stdout.readline().strip(), "registered")
            wait_for(lambda: d.ctl_json("status")["pending_notifies"] == 1, 5,
                     what="AsyncNotify pending")
            t0 = time.monotonic()
            d.proc.send_signal(signal.SIGTERM)
            self.assertEqual(d.proc.wait(10), 0)
            self.assertLess(time.monotonic() - t0, 5)
            out, _ = cl.communicate(timeout=10)
            self.assertTrue(out.strip(), "the pending AsyncNotify never returned")
            self.assertIn("daemon.stopped exit=0", d.log())
        finally:
            if cl is not None and cl.poll() is None:
                cl.kill()
                cl.wait()
            d.cleanup()

    def test_sigint_clean_exit(self):
        d = Witnessd(epm_port=0, name="int")
        d.start()
        try:
            d.proc.send_signal(signal.SIGINT)
            self.assertEqual(d.proc.wait(10), 0)
            self.assertFalse(os.path.exists(d.socket))
        finally:
            d.cleanup()


class SdNotify(unittest.TestCase):
    """READY=1 / STATUS= / WATCHDOG=1 / STOPPING=1 on $NOTIFY_SOCKET (systemd Type=notify)."""

    def test_notify_sequence(self):
        tmp = tempfile.mkdtemp(prefix="wd-notify-")
        path = os.path.join(tmp, "notify.sock")
        ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        ns.bind(path)
        ns.settimeout(10)
        d = Witnessd(epm_port=0, name="notify",
                     env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000"})
        msgs = []

        def read_until(pred):
            end = time.monotonic() + 10
            while time.monotonic() < end:
                m = ns.recv(4096).decode()
                msgs.append(m)
                if pred(m):
                    return m
            raise TimeoutError(msgs)

        try:
            d.start()
            m = read_until(lambda m: "READY=1" in m)
            self.assertTrue(d.alive())
            read_until(lambda m: m.startswith("STATUS="))
            # WatchdogSec=0.2s: pings at half the interval
            read_until(lambda m: "WATCHDOG=1" in m)
            read_until(lambda m: "WATCHDOG=1" in m)
            d.proc.send_signal(signal.SIGHUP)
            read_until(lambda m: "RELOADING=1" in m)
            read_until(lambda m: "READY=1" in m)
            d.proc.send_signal(signal.SIGTERM)
            read_until(lambda m: "STOPPING=1" in m)
            self.assertEqual(d.proc.wait(10), 0)
        finally:
            ns.close()
            d.cleanup()
            shutil.rmtree(tmp, ignore_errors=True)


class Users(unittest.TestCase):
    """witnessctl user add/del/list on the NTLM password file, then a real NTLM bind."""

    def test_user_file_and_ntlm_bind(self):
        d = Witnessd(min_auth="integrity", epm_port=135, name="users",
                     global_opts={"ntlm password file": "PLACEHOLDER", "workgroup": "TESTDOM"})
        pwfile = os.path.join(d.tmp, "ntlm.passwd")
        with open(d.config) as f:
            text = f.read().replace("PLACEHOLDER", pwfile)
        with open(d.config, "w") as f:
            f.write(text)
        try:
            # password from stdin; the file comes from --config
            r = run(WITNESSCTL, "--config", d.config, "user", "add", "alice",
                    input="Alice-Pw-1\n")
            self.assertEqual(r.returncode, 0, r.stderr)
            r = run(WITNESSCTL, "--config", d.config, "user", "add", "bob", "--domain",
                    "TESTDOM", input="Bob-Pw-2\n")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(stat.S_IMODE(os.stat(pwfile).st_mode), 0o600)
            with open(pwfile) as f:
                content = f.read()
            self.assertNotIn("Alice-Pw-1", content)
            users = json.loads(run(WITNESSCTL, "--config", d.config, "--json", "user",
                                   "list").stdout)
            self.assertEqual(sorted((u["domain"], u["name"]) for u in users),
                             [("", "alice"), ("TESTDOM", "bob")])
            txt = run(WITNESSCTL, "--config", d.config, "user", "list").stdout
            self.assertRegex(txt, r"(?m)^TESTDOM\\bob\s+\d+\s+enabled$")
            # a password on the command line is not accepted
            r = run(WITNESSCTL, "--config", d.config, "user", "add", "carol", "secret")
            self.assertEqual(r.returncode, 2)
            r = run(WITNESSCTL, "--file", pwfile, "user", "add", "bad:name", input="x\n")
            self.assertEqual(r.returncode, 2)
            r = run(WITNESSCTL, "--file", pwfile, "user", "del", "nobody-here")
            self.assertEqual(r.returncode, 1)
            self.assertIn("no such user", r.stderr)

            d.start()
            ok = run("rpcclient", "-U", "TESTDOM\\alice%Alice-Pw-1",
                     "ncacn_ip_tcp:127.0.0.1[sign]", "-c", "GetInterfaceList")
            self.assertEqual(ok.returncode, 0, ok.stdout + ok.stderr)
            self.assertIn("127.0.0.3", ok.stdout)
            # delete alice, SIGHUP: her bind is refused, bob still works
            r = run(WITNESSCTL, "--config", d.config, "user", "del", "alice")
            self.assertEqual(r.returncode, 0, r.stderr)
            d.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: "daemon.reload" in d.log(), 5, what="reload")
            bad = run("rpcclient", "-U", "TESTDOM\\alice%Alice-Pw-1",
                      "ncacn_ip_tcp:127.0.0.1[sign]", "-c", "GetInterfaceList")
            self.assertNotIn("127.0.0.3", bad.stdout)
            ok = run("rpcclient", "-U", "TESTDOM\\bob%Bob-Pw-2",
                     "ncacn_ip_tcp:127.0.0.1[sign]", "-c", "GetInterfaceList")
            self.assertIn("127.0.0.3", ok.stdout, ok.stdout + ok.stderr)
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
