"""Churn soak for witnessd (issue 7, scope 6); doc/soak.md explains it.

Starts its own witnessd (static backend, six IPs on three nodes), then for
--minutes: --clients raw DCERPC clients churn (connect, RegisterEx, AsyncNotify
pending for a while, re-armed after each notification or KeepAliveTimeout, then
UnRegister, close, reset, or stop arming and let the unused registration
timeout reap it), while an admin thread moves an IP every --move-every seconds
(`witnessctl ip set IP --unavailable / --available / --node N`), and the RSS
and descriptor count of witnessd are sampled every --sample-every seconds.

At the end the churn stops, every client registers once more with an
AsyncNotify pending, and the run checks that memory (`witnessctl list`), the
store (registrations.sqlite), the status counters and the clients agree; then
every client closes and it checks that registrations, rows, connections and
descriptors are back to zero / the start. RSS must be flat: after the warm-up,
the median of the last third of the samples may exceed the median of the first
third by at most max(--rss-pct % of it, --rss-kib KiB).

Exit status 0 when every check passed. Run with /usr/bin/python3 (Samba's NDR
bindings), as root or as the daemon's user, inside a network namespace of its
own (scripts/soak.sh makes one).
"""
import argparse
import json
import os
import random
import select
import socket
import sqlite3
import statistics
import struct
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from harness import SanitizedWitnessd, Witnessd, wait_for  # noqa: E402
from test_faults import RawClient, recv_pdu, WERR_INVALID_PARAMETER  # noqa: E402

from samba.dcerpc import witness  # noqa: E402
from samba.ndr import ndr_pack_in, ndr_unpack_out  # noqa: E402

NETNAME = "WITSRV"
IPS = [("127.0.0.%d" % (2 + i), i % 3) for i in range(6)]  # (ip, home node)
WERR_TIMEOUT = 0x5B4
UNUSED, REREGISTER = 5, 2


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.c = {}

    def add(self, k, n=1):
        with self.lock:
            self.c[k] = self.c.get(k, 0) + n


class Churner(threading.Thread):
    """One client address; one connection (and association group) at a time."""

    def __init__(self, i, port, stats, stop, rnd_seed):
        super().__init__(daemon=True)
        self.i, self.port, self.stats, self.stop = i, port, stats, stop
        self.src = "127.0.%d.%d" % (40 + i // 250, 1 + i % 250)
        self.rnd = random.Random(rnd_seed)
        self.final = None      # RawClient registered at the end, AsyncNotify pending
        self.final_go = threading.Event()
        self.error = None

    # -- one connection --
    def read_call(self, c, call_id, notify_id, deadline):
        """Read PDUs until call_id's answer (returned) or deadline (None);
        AsyncNotify answers on the way are counted and re-armed."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or self.stop.is_set() and call_id is None:
                return None, notify_id
            r, _, _ = select.select([c.s], [], [], min(left, 0.5))
            if not r:
                continue
            p = recv_pdu(c.s)
            cid = struct.unpack_from("<I", p, 12)[0]
            if cid == notify_id:
                notify_id = self.notify_answer(c, p)
                if notify_id is None and call_id is None:
                    return "ended", None
            elif cid == call_id:
                return p, notify_id
            else:
                raise RuntimeError("answer to unknown call %d" % cid)

    def notify_answer(self, c, p):
        """An AsyncNotify answer: re-arm (returns its call_id) or None when ended."""
        if p[2] != 2:
            self.stats.add("notify_faults")
            return None
        a = witness.AsyncNotify()
        ndr_unpack_out(a, p[24:])
        werr = a.result[0] & 0xffffffff
        if werr == 0:
            self.stats.add("notifications")
        elif werr == WERR_TIMEOUT:
            self.stats.add("notify_timeouts")
        else:
            self.stats.add("notify_ended")  # unregistered, or reregister delay after a move
            return None
        c.async_notify()
        return c.call_id

    def cycle(self):
        rnd, st = self.rnd, self.stats
        # MPX clients UnRegister on the connection of their pending AsyncNotify;
        # the others (like Samba's client) on a second connection of the group
        mpx = rnd.random() < 0.7
        c = RawClient("127.0.0.1", self.port, src=self.src, mpx=mpx)
        st.add("connections")
        try:
            ip = rnd.choice(IPS)[0]
            rc = c.register(ip, "soak-%d.example.com" % self.i, rnd.choice([60, 60, 60, 3, 7]))
            if rc != 0:
                st.add("refused")
                return
            st.add("registered")
            plan = rnd.choices(["unregister", "close", "reset", "unused"], [5, 2, 1, 1])[0]
            if plan == "unused":  # never AsyncNotify: the unused registration timeout reaps it
                self.stop.wait(UNUSED + rnd.uniform(0.5, 2))
                st.add("left_unused")
                return
            c.async_notify()
            notify_id = c.call_id
            hold = time.monotonic() + rnd.uniform(0.5, 8)
            r, notify_id = self.read_call(c, None, notify_id, hold)
            if r == "ended":
                return
            if plan == "unregister":
                u = witness.UnRegister()
                u.in_context_handle = c.handle
                if mpx:
                    c.send(2, ndr_pack_in(u))
                    p, _ = self.read_call(c, c.call_id, notify_id, time.monotonic() + 10)
                    if p is None:
                        raise RuntimeError("UnRegister unanswered")
                else:
                    c2 = RawClient("127.0.0.1", self.port, src=self.src, assoc=c.assoc)
                    st.add("connections")
                    try:
                        c2.send(2, ndr_pack_in(u))
                        p = recv_pdu(c2.s)
                    finally:
                        c2.close()
                if p[2] != 2:
                    raise RuntimeError("UnRegister: fault 0x%x" % struct.unpack_from("<I", p, 24)[0])
                ndr_unpack_out(u, p[24:])
                werr = u.result[0] & 0xffffffff
                # [MS-SWN] 3.1.4.3: a context no longer registered -> INVALID_PARAMETER
                if werr not in (0, WERR_INVALID_PARAMETER):
                    raise RuntimeError("UnRegister 0x%x" % werr)
                st.add("unregistered" if werr == 0 else "unregister_not_found")
            elif plan == "reset":
                c.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                st.add("reset")
            else:
                st.add("closed")
        finally:
            c.close()

    def run(self):
        try:
            while not self.stop.is_set():
                try:
                    self.cycle()
                except (OSError, EOFError) as e:
                    self.stats.add("client_io_errors")
                    self.stats.add("io:" + type(e).__name__)
            self.final_go.wait()
            c = RawClient("127.0.0.1", self.port, src=self.src)
            if c.register(IPS[0][0], "final-%d.example.com" % self.i) != 0:
                raise RuntimeError("final RegisterEx refused")
            self.stats.add("registered")
            self.stats.add("connections")
            c.async_notify()
            self.final = c
        except Exception as e:  # reported by the main thread
            self.error = repr(e)


def sample(d, t0):
    pid = d.proc.pid
    with open("/proc/%d/status" % pid) as f:
        rss = next(int(ln.split()[1]) for ln in f if ln.startswith("VmRSS:"))
    fds = len(os.listdir("/proc/%d/fd" % pid))
    return {"t": round(time.monotonic() - t0, 1), "rss_kib": rss, "fds": fds}


def slope_per_min(xs, ys):
    if len(xs) < 2:
        return 0.0
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return 60.0 * sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--move-every", type=float, default=3.0, help="seconds between IP changes")
    ap.add_argument("--sample-every", type=float, default=2.0)
    ap.add_argument("--warmup", type=float, default=None,
                    help="seconds of samples left out of the RSS check (default 10%% of the run, "
                         "at least 10 s)")
    ap.add_argument("--rss-pct", type=float, default=10.0)
    ap.add_argument("--rss-kib", type=int, default=2048)
    ap.add_argument("--no-rss-check", action="store_true", help="report RSS, do not judge it")
    ap.add_argument("--sanitized", action="store_true",
                    help="run the ASan+UBSan witnessd (RSS then only reported)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--samples", help="write the samples as JSON to this file")
    a = ap.parse_args()
    duration = a.minutes * 60
    warmup = a.warmup if a.warmup is not None else max(10.0, duration * 0.1)

    kw = dict(netname=NETNAME, interfaces=IPS, epm_port=0, unused_timeout=UNUSED,
              reregister_delay=REREGISTER, name="soak",
              global_opts={"max registrations per client": 16})
    d = SanitizedWitnessd(**kw) if a.sanitized else Witnessd(**kw)
    with open(d.config) as f:  # one line per registration at debug is too much for a soak
        cfg = f.read().replace("log level = debug\n", "log level = notice\n")
    with open(d.config, "w") as f:
        f.write(cfg)
    d.start()
    binary = getattr(d, "binary", harness.WITNESSD)
    print("soak: %s, %.1f min, %d clients, IP change every %.1f s, sample every %.1f s" % (
        binary, a.minutes, a.clients, a.move_every, a.sample_every))
    stats, stop = Stats(), threading.Event()
    failures = []
    samples = []
    t0 = time.monotonic()
    try:
        time.sleep(0.3)
        s0 = sample(d, t0)
        workers = [Churner(i, d.witness_port, stats, stop, a.seed * 1000 + i)
                   for i in range(a.clients)]
        for w in workers:
            w.start()
        rnd = random.Random(a.seed)
        state = {ip: [True, home] for ip, home in IPS}
        next_move = next_sample = time.monotonic()
        end = t0 + duration
        while time.monotonic() < end:
            now = time.monotonic()
            if now >= next_move:
                ip = rnd.choice(IPS)[0]
                up, node = state[ip]
                if not up:
                    args, state[ip] = ["--available"], [True, node]
                elif rnd.random() < 0.5:
                    args, state[ip] = ["--unavailable"], [False, node]
                else:
                    node = rnd.choice([n for n in range(3) if n != node])
                    args, state[ip] = ["--available", "--node", str(node)], [True, node]
                d.ctl("ip", "set", ip, *args)
                stats.add("ip_changes")
                next_move = now + a.move_every
            if now >= next_sample:
                s = sample(d, t0)
                st = d.ctl_json("status")
                s.update(registrations=st["registrations"], connections=st["connections"])
                samples.append(s)
                next_sample = now + a.sample_every
            if not d.alive():
                raise RuntimeError("witnessd died:\n" + d.log()[-3000:])
            time.sleep(0.05)

        # -- stop the churn; one registration per client; everything must agree --
        for ip, home in IPS:
            d.ctl("ip", "set", ip, "--available", "--node", str(home))
        stop.set()
        time.sleep(REREGISTER + 1)  # the restore's reregister timers run out first
        for w in workers:
            w.final_go.set()
        for w in workers:
            w.join(30)
        errs = ["client %d: %s" % (w.i, w.error) for w in workers if w.error or w.is_alive()]
        if errs:
            failures += errs[:5]
        live = {w.final.uuid for w in workers if w.final}

        def agree():
            mem = set(d.ctl_json("list")["registrations"])
            db = sqlite3.connect(os.path.join(d.state, "registrations.sqlite"), timeout=5)
            rows = {r[0] for r in db.execute("SELECT uuid FROM registrations")}
            db.close()
            return mem, rows
        try:
            wait_for(lambda: agree()[0] == agree()[1] == live, timeout=UNUSED + 10, step=0.5,
                     what="memory == store == live clients")
        except TimeoutError:
            mem, rows = agree()
            failures.append("memory %d, store %d, live clients %d (memory-live %s, store-mem %s)" % (
                len(mem), len(rows), len(live), sorted(mem - live)[:3], sorted(rows - mem)[:3]))
        st = d.ctl_json("status")
        c = stats.c
        checks = [("status registrations", st["registrations"], len(live)),
                  ("status pending_notifies", st["pending_notifies"], len(live)),
                  ("status connections", st["connections"], len(live)),
                  ("status registrations_total", st["registrations_total"], c.get("registered", 0))]
        for what, got, want in checks:
            if got != want:
                failures.append("%s = %d, clients say %d" % (what, got, want))
        if st["connections_total"] < c.get("connections", 0):
            failures.append("connections_total %d < client connections %d" % (
                st["connections_total"], c.get("connections", 0)))
        if st["notifications_sent"] < c.get("notifications", 0):
            failures.append("notifications_sent %d < received %d" % (
                st["notifications_sent"], c.get("notifications", 0)))
        final_status = st
        # -- every client goes: back to nothing --
        for w in workers:
            if w.final:
                w.final.close()
        try:
            wait_for(lambda: agree() == (set(), set()) and
                     d.ctl_json("status")["connections"] == 0 and
                     sample(d, t0)["fds"] == s0["fds"], timeout=15, step=0.5,
                     what="no registrations, rows, connections; descriptors as at the start")
        except TimeoutError:
            mem, rows = agree()
            failures.append("after close: %d registrations, %d rows, %d connections, fds %d "
                            "(start %d)" % (len(mem), len(rows), d.ctl_json("status")["connections"],
                                            sample(d, t0)["fds"], s0["fds"]))
        s_end = sample(d, t0)
    finally:
        stop.set()
        for w in locals().get("workers", []):
            w.final_go.set()
        alive = d.alive()
        rc = d.stop()
        log = d.log()
        keep = failures or not alive or rc != 0
        if keep:
            print("---- witnessd log (last 3000 bytes) ----\n" + log[-3000:])
        d.cleanup()
    if rc != 0:
        failures.append("witnessd exit status %r" % rc)
    reports = harness.sanitizer_reports(log)
    if reports:
        failures.append("sanitizer reports: %s" % reports[:5])

    # -- the samples --
    body = [s for s in samples if s["t"] >= warmup]
    rss = [s["rss_kib"] for s in samples]
    fds = [s["fds"] for s in samples]
    print("client actions: " + ", ".join("%s %d" % kv for kv in sorted(stats.c.items())))
    print("status at the end: registrations_total %d, connections_total %d, calls_total %d, "
          "notifications_sent %d, faults_total %d" % (
              final_status["registrations_total"], final_status["connections_total"],
              final_status["calls_total"], final_status["notifications_sent"],
              final_status["faults_total"]))
    print("samples: %d over %.0f s (warm-up %.0f s, %d samples judged)" % (
        len(samples), samples[-1]["t"] if samples else 0, warmup, len(body)))
    print("  RSS KiB: before clients %d, first sample %d, peak %d, end of churn %d, after close %d, "
          "slope after warm-up %+.1f KiB/min" % (
              s0["rss_kib"], rss[0], max(rss), rss[-1], s_end["rss_kib"],
              slope_per_min([s["t"] for s in body], [s["rss_kib"] for s in body])))
    print("  fds:     before clients %d, first sample %d, peak %d, end of churn %d, after close %d, "
          "slope after warm-up %+.2f /min" % (
              s0["fds"], fds[0], max(fds), fds[-1], s_end["fds"],
              slope_per_min([s["t"] for s in body], [s["fds"] for s in body])))
    print("  registrations per sample: min %d, median %d, max %d; connections max %d" % (
        min(s["registrations"] for s in samples), statistics.median(
            s["registrations"] for s in samples), max(s["registrations"] for s in samples),
        max(s["connections"] for s in samples)))
    if len(body) >= 6:
        k = len(body) // 3
        first = statistics.median(s["rss_kib"] for s in body[:k])
        last = statistics.median(s["rss_kib"] for s in body[-k:])
        bound = max(first * a.rss_pct / 100.0, a.rss_kib)
        verdict = "ok" if last - first <= bound else "GROWING"
        print("  RSS flatness: first-third median %d KiB, last-third median %d KiB, growth %+d KiB, "
              "bound %d KiB (max(%.0f%%, %d KiB)): %s" % (first, last, last - first, bound,
                                                           a.rss_pct, a.rss_kib, verdict))
        if verdict != "ok" and not (a.no_rss_check or a.sanitized):
            failures.append("RSS grew %d KiB (bound %d KiB)" % (last - first, bound))
    else:
        print("  RSS flatness: too few samples after the warm-up to judge")
        if not (a.no_rss_check or a.sanitized):
            failures.append("too few samples to judge RSS (run longer or lower --warmup)")
    if a.samples:
        with open(a.samples, "w") as f:
            json.dump({"start": s0, "end": s_end, "samples": samples, "stats": stats.c}, f)
    for f in failures:
        print("FAIL: " + f)
    print("soak: %s" % ("FAILED" if failures else "passed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
