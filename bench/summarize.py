#!/usr/bin/python3
"""summarize.py - the side-by-side table from witnessd-loadgen's JSON lines.

Ratios are taken within a run (witnessd against the limit measured just
before or after it, on the same loaded machine) and reported as the range
min-max over the runs; absolute figures as their range too.
usage: summarize.py results.jsonl
"""
import json
import sys
from collections import defaultdict


def rng(vals, fmt="{:.0f}"):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "n/a"
    lo, hi = min(vals), max(vals)
    if fmt.format(lo) == fmt.format(hi):
        return fmt.format(lo)
    return fmt.format(lo) + "-" + fmt.format(hi)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def main():
    rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
    w = defaultdict(dict)  # (label, clients) -> run -> row
    hs = defaultdict(dict)  # label -> run -> row
    for r in rows:
        if r["mode"] == "witness":
            w[(r["label"], r["clients"])][r["run"]] = r
        else:
            hs[r["label"]][r["run"]] = r
    ns = sorted({k[1] for k in w})
    out = {"clients": {}, "handshake": {}}
    print("| clients | set-up reg/s: witnessd / limit (ratio) | last notified ms: witnessd / limit"
          " (ratio) | p50 ms: witnessd / limit | GetInterfaceList during fan-out, ms |"
          " storm reg/s: none / NTLMSSP integrity | RSS KiB per client (NTLMSSP) |"
          " CPU us per notification: witnessd / limit | CPU us per registration: witnessd / limit |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n in ns:
        wd, lim, nt = w.get(("witnessd", n), {}), w.get(("limit", n), {}), w.get(("witnessd-ntlm", n), {})
        runs = sorted(set(wd) & set(lim))
        g = lambda d, k: [d[r].get(k) for r in sorted(d)]
        setup_ratio = [ratio(wd[r]["setup_rate"], lim[r]["setup_rate"]) for r in runs]
        last_ratio = [ratio(wd[r]["fanout_max_ms"], lim[r]["fanout_max_ms"]) for r in runs]
        print("| {:,} | {} / {} ({}) | {} / {} ({}) | {} / {} | {} | {} / {} | {} | {} / {} | {} / {} |".format(
            n, rng(g(wd, "setup_rate")), rng(g(lim, "setup_rate")), rng(setup_ratio, "{:.2f}"),
            rng(g(wd, "fanout_max_ms"), "{:.1f}"), rng(g(lim, "fanout_max_ms"), "{:.1f}"),
            rng(last_ratio, "{:.2f}"),
            rng(g(wd, "fanout_p50_ms"), "{:.1f}"), rng(g(lim, "fanout_p50_ms"), "{:.1f}"),
            rng(g(wd, "probe_gil_ms"), "{:.1f}"),
            rng(g(wd, "storm_rate")), rng(g(nt, "storm_rate")),
            rng(g(nt, "rss_kib_per_client"), "{:.2f}"),
            rng(g(wd, "cpu_us_per_notification"), "{:.1f}"),
            rng(g(lim, "cpu_us_per_notification"), "{:.1f}"),
            rng(g(wd, "cpu_us_per_registration"), "{:.1f}"),
            rng(g(lim, "cpu_us_per_registration"), "{:.1f}")))
        out["clients"][n] = {"setup_ratio": setup_ratio, "last_ratio": last_ratio,
                             "probe_gil_ms": g(wd, "probe_gil_ms"),
                             "storm_rate_ntlm": g(nt, "storm_rate"),
                             "rss_kib_per_client_ntlm": g(nt, "rss_kib_per_client"),
                             "cpu_us_per_notification": g(wd, "cpu_us_per_notification"),
                             "cpu_us_per_notification_limit": g(lim, "cpu_us_per_notification"),
                             "cpu_us_per_registration": g(wd, "cpu_us_per_registration"),
                             "cpu_us_per_registration_limit": g(lim, "cpu_us_per_registration")}
    idle = [r.get("idle_wakeups_per_s") for d in w.values() for r in d.values()
            if r["label"] == "witnessd" and r.get("idle_wakeups_per_s") is not None]
    wh, sh = hs.get("witnessd-epm", {}), hs.get("samba-epm", {})
    runs = sorted(set(wh) & set(sh))
    hr = [ratio(wh[r]["rate"], sh[r]["rate"]) for r in runs]
    print()
    print("| NTLMSSP-integrity handshakes/s: witnessd / samba-dcerpcd (ratio) | idle wake-ups/s, no clients |")
    print("|---|---|")
    print("| {} / {} ({}) | {} |".format(rng([wh[r]["rate"] for r in sorted(wh)]),
                                      rng([sh[r]["rate"] for r in sorted(sh)]),
                                      rng(hr, "{:.1f}"), rng(idle, "{:.2f}")))
    # the storm with NTLMSSP against Samba's handshake rate, same run
    for n in ns:
        nt = w.get(("witnessd-ntlm", n), {})
        sr = [ratio(nt[r]["storm_rate"], sh[r]["rate"]) for r in sorted(set(nt) & set(sh))]
        print("storm with NTLMSSP at {:,} clients / samba-dcerpcd handshake rate: {}".format(
            n, rng(sr, "{:.1f}")))
        out["clients"][n]["storm_ntlm_over_samba"] = sr
    out["handshake"] = {"ratio": hr, "witnessd": [wh[r]["rate"] for r in sorted(wh)],
                        "samba": [sh[r]["rate"] for r in sorted(sh)]}
    out["idle_wakeups_per_s"] = idle
    bad = [r for r in rows if r.get("failed") or r.get("bad") or
           (r["mode"] == "witness" and r["notified"] < r["registered"])]
    out["problems"] = len(bad)
    print(json.dumps(out))
    for r in bad:
        print("problem: " + json.dumps(r), file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
