"""Integration-test harness: runs a real witnessd with a generated config and
drives it with witnessctl and real Samba clients (run with /usr/bin/python3).

Each test file runs inside its own network namespace (tests/integration/run.sh),
so the daemon may bind 127.0.0.1:135 and any 127.x address.

    from harness import Witnessd, samba_witness
    with Witnessd(interfaces=[("127.0.0.2", 0), ("127.0.0.3", 1)]) as d:
        conn = samba_witness("ncacn_ip_tcp:127.0.0.1")
        d.ctl("ip", "set", "127.0.0.3", "--unavailable")
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

SRCDIR = os.environ.get("WD_SRCDIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BUILD = os.environ.get("WITNESSD_BUILD", os.path.join(SRCDIR, "build"))
WITNESSD = os.path.join(BUILD, "witnessd")
WITNESSCTL = os.path.join(BUILD, "witnessctl")


def free_port(addr="127.0.0.1"):
    """A TCP port that is free on addr (IPv4 or IPv6 literal) right now."""
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
    s.bind((addr, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred, timeout=10.0, step=0.05, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if pred():
                return
        except Exception:
            pass
        time.sleep(step)
    raise TimeoutError("timed out waiting for " + what)


def proc_status_kib(pid, field="VmRSS"):
    """A KiB field of /proc/PID/status (VmRSS, VmHWM...); 0 if absent."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def rss_kib(pid):
    return proc_status_kib(pid, "VmRSS")


def recv_pdu(s):
    """One whole DCERPC PDU from socket s (by its frag_length), or None at EOF."""
    hdr = b""
    while len(hdr) < 16:
        chunk = s.recv(16 - len(hdr))
        if not chunk:
            return None
        hdr += chunk
    flen = struct.unpack_from("<H", hdr, 8)[0]
    body = b""
    while 16 + len(body) < flen:
        chunk = s.recv(flen - 16 - len(body))
        if not chunk:
            return None
        body += chunk
    return hdr + body


def port_open(addr, port):
    try:
        with socket.create_connection((addr, port), timeout=0.5):
            return True
    except OSError:
        return False


class Witnessd:
    """A witnessd process with its own state dir, admin socket and config.

    interfaces: list of (ip, node) for the static backend.
    global_opts / static_opts / extra_sections: more "key = value" lines.
    """

    def __init__(self, netname="WITSRV", interfaces=None, local_node=0,
                 min_auth="none", listen=("127.0.0.1",), witness_port=None,
                 epm_port=135, unused_timeout=30, reregister_delay=5,
                 backend="static", global_opts=None, static_opts=None,
                 extra_sections=None, env=None, name="wd"):
        self.tmp = tempfile.mkdtemp(prefix="witnessd-%s-" % name)
        self.netname = netname
        self.interfaces = interfaces if interfaces is not None else [
            ("127.0.0.2", 0), ("127.0.0.3", 1), ("127.0.0.4", 2)]
        self.local_node = local_node
        self.listen = list(listen)
        self.witness_port = witness_port or free_port(self.listen[0])
        self.epm_port = epm_port
        self.socket = os.path.join(self.tmp, "admin.sock")
        self.state = os.path.join(self.tmp, "state")
        self.config = os.path.join(self.tmp, "witnessd.conf")
        self.logfile = os.path.join(self.tmp, "witnessd.log")
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.proc = None
        lines = ["[global]",
                 "netname = %s" % netname,
                 "listen addresses = %s" % ", ".join(self.listen),
                 "witness port = %d" % self.witness_port,
                 "epmapper port = %d" % epm_port,
                 "cluster backend = %s" % backend,
                 "state directory = %s" % self.state,
                 "admin socket = %s" % self.socket,
                 "min auth level = %s" % min_auth,
                 "unused registration timeout = %d" % unused_timeout,
                 "reregister delay = %d" % reregister_delay,
                 "log level = debug"]
        for k, v in (global_opts or {}).items():
            lines.append("%s = %s" % (k, v))
        if backend == "static":
            lines += ["", "[static]", "local node = %d" % local_node,
                      "interfaces = %s" % ", ".join("%s@%d" % (ip, n) for ip, n in self.interfaces)]
            for k, v in (static_opts or {}).items():
                lines.append("%s = %s" % (k, v))
        for sec, opts in (extra_sections or {}).items():
            lines += ["", "[%s]" % sec] + ["%s = %s" % (k, v) for k, v in opts.items()]
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")

    # -- life cycle --
    def start(self, timeout=10.0):
        self._log = open(self.logfile, "ab")
        self.proc = subprocess.Popen([WITNESSD, "--config", self.config, "--foreground"],
                                     stdout=self._log, stderr=subprocess.STDOUT, env=self.env)
        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError("witnessd exited with %d:\n%s" % (self.proc.returncode, self.log()))
            if not port_open(self.listen[0], self.witness_port):
                return False
            if self.epm_port and not port_open("127.0.0.1", self.epm_port):
                return False
            return os.path.exists(self.socket)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if ready():
                return self
            time.sleep(0.05)
        raise TimeoutError("witnessd did not come up:\n" + self.log())

    def stop(self, timeout=10.0):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode if self.proc else None
        if getattr(self, "_log", None):
            self._log.close()
        return rc

    def cleanup(self):
        self.stop()
        if os.environ.get("WD_KEEP_TMP"):
            print("keeping", self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if exc[0] is not None:
            print("---- witnessd log (%s) ----\n%s" % (self.config, self.log()[-6000:]))
        self.cleanup()
        return False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        try:
            with open(self.logfile, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    # -- admin --
    def ctl(self, *args, check=True, input=None, user=None):
        """Run witnessctl --socket <ours> args...; returns CompletedProcess (text)."""
        cmd = [WITNESSCTL, "--socket", self.socket] + list(args)
        if user:
            import pwd
            pw = pwd.getpwnam(user)  # e.g. nobody's group is nogroup on Debian
            cmd = ["setpriv", "--reuid=%d" % pw.pw_uid, "--regid=%d" % pw.pw_gid,
                   "--clear-groups"] + cmd
        r = subprocess.run(cmd, capture_output=True, text=True, input=input, timeout=30)
        if check and r.returncode != 0:
            raise RuntimeError("witnessctl %s failed (%d): %s%s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def ctl_json(self, *args):
        return json.loads(self.ctl(*args, "--json").stdout)


# -- real Samba clients (python3-samba) --

def samba_lp(tmpdir=None, extra=None):
    from samba import param
    d = tmpdir or tempfile.mkdtemp(prefix="smbconf-")
    path = os.path.join(d, "smb.conf")
    with open(path, "w") as f:
        f.write("[global]\n workgroup = TESTDOM\n netbios name = CLIENTBOX\n"
                " client use kerberos = off\n interfaces = 127.0.0.1/8\n")
        for k, v in (extra or {}).items():
            f.write(" %s = %s\n" % (k, v))
    lp = param.LoadParm()
    lp.load(path)
    return lp


def samba_creds(lp, user=None, password=None, domain="TESTDOM"):
    from samba import credentials
    c = credentials.Credentials()
    c.guess(lp)
    if user is None:
        c.set_anonymous()
    else:
        c.set_username(user)
        c.set_password(password)
        c.set_domain(domain)
        c.set_kerberos_state(credentials.DONT_USE_KERBEROS)
    return c


def samba_witness(binding, lp=None, creds=None, basis=None):
    """A samba.dcerpc.witness connection. basis: share the association group
    of an existing connection (samba's 'basis_connection')."""
    from samba.dcerpc import witness
    lp = lp or samba_lp()
    creds = creds or samba_creds(lp)
    if basis is not None:
        return witness.witness(binding, lp, creds, basis_connection=basis)
    return witness.witness(binding, lp, creds)


def register_ex_io(net_name, ip, computer, timeout):
    """A WITNESS_V2 RegisterEx request (no share, no flags) for a raw
    RawDCERPCTest.do_single_request."""
    from samba.dcerpc import witness
    io = witness.RegisterEx()
    io.in_version = witness.WITNESS_V2
    io.in_net_name = net_name
    io.in_share_name = None
    io.in_ip_address = ip
    io.in_client_computer_name = computer
    io.in_flags = 0
    io.in_timeout = timeout
    return io


def raw_ntlm_witnessd(name, min_auth, users=(("alice", "Secret123"), ("bob", "Bobpass1")),
                      global_opts=None, **kw):
    """A started witnessd whose NTLM password file holds users (domain TESTDOM),
    and the environment Samba's RawDCERPCTest reads (SERVER, SMB_CONF_PATH,
    USERNAME and PASSWORD of the first user). Returns (tmpdir, daemon); give
    both to stop_raw_witnessd."""
    tmp = tempfile.mkdtemp(prefix=name + "-")
    pw = os.path.join(tmp, "ntlm.pw")
    for user, password in users:
        subprocess.run([WITNESSCTL, "user", "add", user, "--domain", "TESTDOM", "--file", pw],
                       input=password + "\n", text=True, check=True, capture_output=True)
    samba_lp(tmp)
    g = {"ntlm password file": pw, "auth methods": "ntlmssp spnego"}
    g.update(global_opts or {})
    d = Witnessd(min_auth=min_auth, global_opts=g, name=name, **kw)
    d.start()
    os.environ.update(SERVER="127.0.0.1", SMB_CONF_PATH=os.path.join(tmp, "smb.conf"),
                      DOMAIN="TESTDOM", REALM="TESTDOM.EXAMPLE", USERNAME=users[0][0],
                      PASSWORD=users[0][1])
    return tmp, d


def stop_raw_witnessd(tmp, d):
    """Stops what raw_ntlm_witnessd started; True if the daemon was still alive
    (its log is printed when it was not, or with WD_SHOW_LOG set)."""
    alive = d.alive()
    if not alive or os.environ.get("WD_SHOW_LOG"):
        print("---- witnessd log ----\n" + d.log()[-5000:])
    d.cleanup()
    shutil.rmtree(tmp, ignore_errors=True)
    return alive


def werror_of(exc):
    """The WERROR number of a samba WERRORError / RuntimeError, else None."""
    try:
        return exc.args[0] & 0xffffffff
    except Exception:
        return None


# -- fault tests under the sanitizers (issue 7) --
# scripts/test.sh builds build-asan (ASan + UBSan) before the integration
# tests; the fault tests run that witnessd where a memory error could hide.
# WITNESSD_SANITIZED_BUILD picks another directory; WD_FAULT_PLAIN=1 (or no
# sanitized build) falls back to WITNESSD.
SANITIZED_BUILD = os.environ.get("WITNESSD_SANITIZED_BUILD", os.path.join(SRCDIR, "build-asan"))
SANITIZER_ENV = {
    # exitcode: a report at exit (LeakSanitizer) makes stop() return it
    "ASAN_OPTIONS": "detect_leaks=1:exitcode=66:abort_on_error=0:print_summary=1",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:exitcode=67",
}
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "SUMMARY: UndefinedBehaviorSanitizer")


def is_sanitized(binary):
    with open(binary, "rb") as f:
        return b"__asan_init" in f.read()


def sanitized_witnessd():
    """(path, sanitized) of the witnessd the fault tests should run."""
    cand = os.path.join(SANITIZED_BUILD, "witnessd")
    if not os.environ.get("WD_FAULT_PLAIN") and os.path.exists(cand) and is_sanitized(cand):
        return cand, True
    return WITNESSD, is_sanitized(WITNESSD)


def sanitizer_reports(text):
    """Lines of a log that are sanitizer reports (empty: none)."""
    return [ln for ln in text.splitlines() if any(m in ln for m in SANITIZER_MARKS)]


class SanitizedWitnessd(Witnessd):
    """A Witnessd that runs sanitized_witnessd() (or binary=) with SANITIZER_ENV;
    check_clean() asserts the log holds no sanitizer report."""

    def __init__(self, *args, binary=None, **kw):
        super().__init__(*args, **kw)
        self.binary, self.sanitized = (binary, is_sanitized(binary)) if binary else sanitized_witnessd()
        if self.sanitized:
            for k, v in SANITIZER_ENV.items():
                self.env.setdefault(k, v)

    def start(self, timeout=None):
        global WITNESSD
        saved, WITNESSD = WITNESSD, self.binary
        try:  # Witnessd.start looks WITNESSD up when it runs
            return Witnessd.start(self, timeout or (30.0 if self.sanitized else 10.0))
        finally:
            WITNESSD = saved

    def fd_count(self):
        return len(os.listdir("/proc/%d/fd" % self.proc.pid))

    def rss_kib(self):
        return rss_kib(self.proc.pid)

    def check_clean(self):
        reports = sanitizer_reports(self.log())
        if reports:
            raise AssertionError("sanitizer reports:\n" + "\n".join(reports[:20]))
