#!/usr/bin/env python3
"""tests/nat/p2p_figures.py: time from `/connect` to a direct path, for the issue's figures.
Not a CTest entry (it takes a few minutes); run it by hand, as root:

    tests/nat/p2p_figures.py build-natp2p/peer/peer build-natp2p/rendezvous/rendezvous \\
        [--runs 7] [--delays 0,50]

For each WAN delay (no loss) one lab is built (cone <-> cone); each run starts a fresh pair of
peers (fresh names, fresh ports, so fresh NAT mappings) in `a` and `b`, types `/connect` on
alice and times, from the line written to the `path direct` event read, each side's
direct path. Prints every run, then the medians: `figure: delay N ms: median ...`.
"""
import argparse
import statistics
import time

import natlab
from p2ppeer import SERVER, P2PPeer


def one_run(lab, peer_bin, i, timeout=10.0):
    alice = P2PPeer(lab, "a", peer_bin, f"alice{i}")
    bob = P2PPeer(lab, "b", peer_bin, f"bob{i}")
    try:
        t0 = alice.cmd(f"/connect {bob.name}")
        ea = alice.wait_path(bob.name, "direct", timeout)
        eb = bob.wait_path(alice.name, "direct", max(0.1, t0 + timeout - time.monotonic()))
        ta = None if ea is None else (ea["_t"] - t0) * 1000
        tb = None if eb is None else (eb["_t"] - t0) * 1000
        rtt = None if ea is None else ea.get("rtt_ms")
        return ta, tb, rtt
    finally:
        alice.quit()
        bob.quit()
        lab.stop(alice.proc)
        lab.stop(bob.proc)
        lab.procs = [p for p in lab.procs if p not in (alice.proc, bob.proc)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("peer")
    ap.add_argument("rendezvous")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--delays", default="0,50", help="WAN delays in ms, comma-separated")
    args = ap.parse_args()
    delays = [int(d) for d in args.delays.split(",")]
    with natlab.session("nat_p2p_figures", deadline_s=60 + 40 * args.runs * len(delays)) as lab:
        summary = []
        for delay in delays:
            lab.up(nat_a="cone", nat_b="cone", delay_ms=delay)
            lab.spawn("rdv", args.rendezvous, "--listen", SERVER, ready="listening on")
            both, alice_t, bob_t, fails = [], [], [], 0
            for i in range(1, args.runs + 1):
                ta, tb, rtt = one_run(lab, args.peer, i)
                print(f"run delay={delay}ms #{i}: alice {fmt(ta)}, bob {fmt(tb)}, "
                      f"rtt {rtt} ms", flush=True)
                if ta is None or tb is None:
                    fails += 1
                    continue
                alice_t.append(ta)
                bob_t.append(tb)
                both.append(max(ta, tb))
            line = (f"figure: delay {delay} ms: median /connect -> direct path: "
                    f"alice {fmt(med(alice_t))}, bob {fmt(med(bob_t))}, both sides "
                    f"{fmt(med(both))} (min {fmt(min(both, default=None))}, max "
                    f"{fmt(max(both, default=None))}); {len(both)}/{args.runs} runs direct")
            summary.append(line)
            lab.check(fails == 0, f"delay {delay} ms: every run found a direct path",
                      f"{fails} failed")
        for line in summary:
            print(line, flush=True)


def med(xs):
    return statistics.median(xs) if xs else None


def fmt(ms):
    return "none" if ms is None else f"{ms:.0f} ms"


if __name__ == "__main__":
    main()
