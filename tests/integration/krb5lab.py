"""A throwaway MIT Kerberos KDC for integration tests (Debian's krb5kdc).

Realm TESTDOM.EXAMPLE on 127.0.0.1:<free port> (an MIT krb5kdc),
principals:
  alice@REALM (password Secret123), bob@REALM (Bobpass1)
  cifs/<host>, host/<host>   -> exported to the service keytab (what witnessd gets)
  host/foreign.<domain>      -> NOT in the keytab: a ticket we cannot decrypt

    with Krb5Lab(host="witsrv.testdom.example") as kdc:
        env = kdc.env()                       # KRB5_CONFIG etc. for clients/daemon
        ccache = kdc.kinit("alice", "Secret123")
        kdc.keytab                            # path for witnessd's "keytab ="

The KDC is stopped by its PID on exit (also on failure); the directory is
removed unless WD_KEEP_TMP is set.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

KRB5KDC = "/usr/sbin/krb5kdc"
KDB5_UTIL = "/usr/sbin/kdb5_util"
KADMIN_LOCAL = "/usr/sbin/kadmin.local"
KINIT = "/usr/bin/kinit"


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Krb5Lab:
    def __init__(self, realm="TESTDOM.EXAMPLE", host="witsrv.testdom.example", clockskew=300,
                 enctypes=None, port=None):
        """enctypes: e.g. "aes256-cts-hmac-sha384-192" to key every principal
        with that only (kdc.conf supported_enctypes); None = MIT defaults.
        port: the KDC port (88 for impacket, which cannot use another one;
        only inside a test's own network namespace); None = a free port."""
        self.realm = realm
        self.host = host
        self.dir = tempfile.mkdtemp(prefix="krb5lab-")
        self.port = port or _free_port()
        self.krb5_conf = os.path.join(self.dir, "krb5.conf")
        self.kdc_conf = os.path.join(self.dir, "kdc.conf")
        self.keytab = os.path.join(self.dir, "witnessd.keytab")
        self.pidfile = os.path.join(self.dir, "krb5kdc.pid")
        self.proc = None
        db = os.path.join(self.dir, "principal")
        with open(self.krb5_conf, "w") as f:
            f.write("[libdefaults]\n default_realm = %s\n dns_lookup_kdc = false\n"
                    " dns_lookup_realm = false\n rdns = false\n clockskew = %d\n"
                    " udp_preference_limit = 1\n allow_weak_crypto = true\n allow_rc4 = true\n%s"
                    "[realms]\n %s = {\n  kdc = 127.0.0.1:%d\n }\n"
                    "[domain_realm]\n .%s = %s\n"
                    % (realm, clockskew,
                       " permitted_enctypes = %s\n" % enctypes if enctypes else "",
                       realm, self.port, host.split(".", 1)[-1], realm))
        with open(self.kdc_conf, "w") as f:
            f.write("[kdcdefaults]\n kdc_ports = %d\n kdc_tcp_ports = %d\n"
                    "[realms]\n %s = {\n  database_name = %s\n  key_stash_file = %s/stash\n"
                    "  acl_file = %s/kadm5.acl\n  max_life = 1h\n%s }\n"
                    "[logging]\n kdc = FILE:%s/kdc.log\n"
                    % (self.port, self.port, realm, db, self.dir, self.dir,
                       "  supported_enctypes = %s\n" % " ".join(e + ":normal" for e in enctypes.split())
                       if enctypes else "", self.dir))

    def env(self, extra=None):
        e = dict(os.environ)
        e["KRB5_CONFIG"] = self.krb5_conf
        e["KRB5_KDC_PROFILE"] = self.kdc_conf
        # keep replay caches and traces inside the lab
        e["KRB5RCACHEDIR"] = self.dir
        e.pop("KRB5CCNAME", None)
        e.pop("KRB5_KTNAME", None)
        e.update(extra or {})
        return e

    def _run(self, *cmd, input=None):
        r = subprocess.run(list(cmd), env=self.env(), capture_output=True, text=True, input=input,
                           timeout=60)
        if r.returncode != 0:
            raise RuntimeError("%s failed: %s%s" % (" ".join(cmd), r.stdout, r.stderr))
        return r

    def kadmin(self, q):
        return self._run(KADMIN_LOCAL, "-r", self.realm, "-q", q)

    def start(self):
        self._run(KDB5_UTIL, "create", "-s", "-r", self.realm, "-P", "masterpw")
        self.kadmin("addprinc -pw Secret123 alice")
        self.kadmin("addprinc -pw Bobpass1 bob")
        domain = self.host.split(".", 1)[-1]
        for p in ("cifs/%s" % self.host, "host/%s" % self.host, "host/foreign.%s" % domain):
            self.kadmin("addprinc -randkey %s" % p)
        self.kadmin("ktadd -k %s cifs/%s host/%s" % (self.keytab, self.host, self.host))
        self.proc = subprocess.Popen([KRB5KDC, "-n", "-r", self.realm, "-P", self.pidfile],
                                     env=self.env(), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("krb5kdc exited with %d" % self.proc.returncode)
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        raise TimeoutError("krb5kdc did not come up")

    def kinit(self, user, password, lifetime=None, name=None):
        """A FILE ccache for user@REALM; returns its path."""
        cc = os.path.join(self.dir, "cc_%s" % (name or user))
        cmd = [KINIT, "-c", "FILE:" + cc]
        if lifetime:
            cmd += ["-l", lifetime]
        cmd.append("%s@%s" % (user, self.realm))
        self._run(*cmd, input=password + "\n")
        return cc

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def cleanup(self):
        self.stop()
        if os.environ.get("WD_KEEP_TMP"):
            print("keeping", self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()
        return False
