#!/usr/bin/python3
"""summarize_vs_samba.py - the table of bench/vs-samba-witness.sh from
witnessd-loadgen's JSON lines (labels "witnessd" and "samba").

Each figure is shown as its range (min-max) over the runs; the ratios
witnessd / Samba are taken within a run (the two measured one after the
other on the same cluster and the same loaded machine) and shown as their
range too. Times are from the trigger (`ctdb moveip`); "from RELEASE_IP"
subtracts the time at which the releasing node's ctdbd sent its RELEASE_IP
message (release_ms). With no "samba" rows (--witnessd-only) only
witnessd's columns are filled.
usage: summarize_vs_samba.py results.jsonl
"""
import json
import os
import sys
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import summarize  # noqa: E402  (one rng and ratio for both tables)
from summarize import ratio  # noqa: E402


def rng(vals, fmt="{:.1f}"):
    return summarize.rng(vals, fmt)


def since_release(r, key):
    if r.get(key) is None or r.get("release_ms") is None:
        return None
    return r[key] - r["release_ms"]


def main():
    rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
    m = defaultdict(dict)  # (label, clients) -> run -> row
    for r in rows:
        if r.get("mode") == "witness":
            m[(r["label"], r["clients"])][r["run"]] = r
    ns = sorted({k[1] for k in m})
    out = {}
    cols = [("fanout_first_ms", "first notified ms", "{:.1f}"),
            ("fanout_p50_ms", "p50 ms", "{:.1f}"),
            ("fanout_max_ms", "last notified ms", "{:.1f}"),
            ("setup_rate", "set-up reg/s", "{:.0f}"),
            ("rss_kib_per_client", "RSS KiB per client", "{:.1f}")]
    print("| clients | " + " | ".join("%s: witnessd / Samba (ratio)" % c[1] for c in cols) +
          " | first / last notified ms from RELEASE_IP: witnessd / Samba |"
          " RELEASE_IP ms after trigger |")
    print("|---|" + "---|" * (len(cols) + 2))
    for n in ns:
        wd, sb = m.get(("witnessd", n), {}), m.get(("samba", n), {})
        runs = sorted(set(wd) & set(sb))
        cells = []
        out[n] = {}
        for key, _, fmt in cols:
            w = [wd[r].get(key) for r in sorted(wd)]
            s = [sb[r].get(key) for r in sorted(sb)]
            q = [ratio(wd[r].get(key), sb[r].get(key)) for r in runs]
            cells.append("%s / %s (%s)" % (rng(w, fmt), rng(s, fmt), rng(q, "{:.2f}")))
            out[n][key] = {"witnessd": w, "samba": s, "ratio": q}
        wr = [since_release(wd[r], "fanout_first_ms") for r in sorted(wd)]
        sr = [since_release(sb[r], "fanout_first_ms") for r in sorted(sb)]
        wl = [since_release(wd[r], "fanout_max_ms") for r in sorted(wd)]
        sl = [since_release(sb[r], "fanout_max_ms") for r in sorted(sb)]
        rel = [x.get("release_ms") for d in (wd, sb) for x in d.values()]
        cells.append("%s / %s; %s / %s" % (rng(wr), rng(sr), rng(wl), rng(sl)))
        cells.append(rng(rel))
        out[n]["first_from_release_ms"] = {"witnessd": wr, "samba": sr}
        out[n]["last_from_release_ms"] = {"witnessd": wl, "samba": sl}
        out[n]["release_ms"] = rel
        out[n]["runs"] = {"witnessd": len(wd), "samba": len(sb)}
        print("| {:,} | {} |".format(n, " | ".join(cells)))
    bad = [r for r in rows if r.get("failed") or r.get("bad") or
           (r.get("mode") == "witness" and r["notified"] < r["registered"])]
    out["problems"] = len(bad)
    print(json.dumps(out))
    for r in bad:
        print("problem: " + json.dumps(r), file=sys.stderr)
    return 1 if bad or not rows else 0


if __name__ == "__main__":
    sys.exit(main())
