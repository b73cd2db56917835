#!/usr/bin/env python3
"""tests/nat/fault_forwarder.py: WAN delay, duplication and reordering for the NAT lab, on a
kernel without netem.

lab.sh routes every packet that enters the `inet` router from a WAN link into a TUN device
(policy routing: `ip rule iif w-... lookup 100`, table 100 = `default dev fwd`). This program
reads each packet from that TUN and writes it back later, unchanged; the kernel then sees it
arrive on `fwd` and routes it by the main table to where it was going. So each packet that
crosses the internet passes here exactly once, and each fault below is applied once per
crossing:

  --delay-ms N      every packet waits N ms (a round trip over the internet: at least 2N)
  --dup-pct P       a packet is written twice with probability P/100; the two copies are
                    scheduled independently (each may also be held back, below)
  --reorder-pct P   a copy is held back by an extra uniform random 5-40 ms (--reorder-ms)
                    with probability P/100, so packets behind it overtake it

Decisions come from one random.Random(--seed), one draw sequence per packet in arrival order,
so a run's faults replay as long as the packets arrive in the same order. Loss is not done
here: an iptables `statistic` DROP does it as packets enter `inet`, before they reach the TUN,
so a duplicate is never lost on the same crossing as its original.

Counters go to --stats-file (JSON, rewritten atomically) every second, on SIGUSR1 (lab.sh
counters) and at exit, and on stderr at exit:
  received    packets read from the TUN (what the loss rule let through)
  forwarded   copies written back (received + duplicated - dropped)
  duplicated  extra copies made
  held        copies held back by the reorder delay
  overtaken   copies written after a later packet of the same flow (5-tuple): reordering
              as a receiver sees it (a held copy with no later packet close behind it is not
              overtaken)
  dropped     copies lost here: queue full (MAX_QUEUE) or a failed write
Stdlib only. With no fault asked for the forwarder is not started at all.
"""
import argparse
import heapq
import json
import os
import random
import select
import signal
import struct
import sys
import time

import fcntl

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
MAX_QUEUE = 10000  # copies held at once; beyond that new ones are dropped (a full link)
STATS_EVERY_S = 1.0  # the stats file is at most this stale (SIGUSR1 refreshes it at once)
TICK_S = 0.2  # longest sleep: SIGTERM/SIGUSR1 only set flags, seen at the next wake-up


def open_tun(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def flow_of(pkt: bytes) -> bytes:
    """The packet's flow: IPv4 protocol, addresses and (UDP/TCP) ports; the raw header bytes
    are key enough. Anything else (IPv6, fragments) is one flow per address pair."""
    if len(pkt) < 20 or pkt[0] >> 4 != 4:
        return pkt[:40]
    ihl = (pkt[0] & 0x0F) * 4
    proto = pkt[9]
    ports = pkt[ihl:ihl + 4] if proto in (6, 17) and len(pkt) >= ihl + 4 else b""
    return bytes([proto]) + pkt[12:20] + ports


def parse_range(s: str) -> tuple[float, float]:
    lo, _, hi = s.partition("-")
    lo_f, hi_f = float(lo), float(hi or lo)
    if not 0 <= lo_f <= hi_f:
        raise argparse.ArgumentTypeError(f"{s!r}: use LO-HI in ms, 0 <= LO <= HI")
    return lo_f, hi_f


def pct(s: str) -> float:
    p = float(s)
    if not 0 <= p <= 100:
        raise argparse.ArgumentTypeError(f"{s!r}: use a percentage, 0-100")
    return p


class Forwarder:
    def __init__(self, args):
        self.delay = args.delay_ms / 1000.0
        self.dup = args.dup_pct / 100.0
        self.reorder = args.reorder_pct / 100.0
        self.hold_lo, self.hold_hi = (x / 1000.0 for x in args.reorder_ms)
        self.rng = random.Random(args.seed)
        self.heap: list = []  # (due, arrival seq, copy, flow, packet)
        self.seq = 0
        self.last_written: dict[bytes, int] = {}  # flow -> highest arrival seq written
        self.n = dict(received=0, forwarded=0, duplicated=0, held=0, overtaken=0, dropped=0)
        self.settings = dict(delay_ms=args.delay_ms, dup_pct=args.dup_pct,
                             reorder_pct=args.reorder_pct, reorder_ms=list(args.reorder_ms),
                             seed=args.seed)

    def take(self, pkt: bytes, now: float):
        """A packet read from the TUN: schedule its copies."""
        self.seq += 1
        self.n["received"] += 1
        # Fixed draws per packet (dup, then per copy reorder and hold), so the sequence of
        # decisions depends only on the order packets arrive in.
        copies = 2 if self.rng.random() < self.dup else 1
        if copies == 2:
            self.n["duplicated"] += 1
        flow = flow_of(pkt)
        for c in range(copies):
            held = self.rng.random() < self.reorder
            extra = self.rng.uniform(self.hold_lo, self.hold_hi)
            if len(self.heap) >= MAX_QUEUE:
                self.n["dropped"] += 1
                continue
            if held:
                self.n["held"] += 1
            heapq.heappush(self.heap, (now + self.delay + (extra if held else 0.0), self.seq,
                                       c, flow, pkt))

    def flush_due(self, fd: int, now: float):
        while self.heap and self.heap[0][0] <= now:
            _, seq, _, flow, pkt = heapq.heappop(self.heap)
            try:
                os.write(fd, pkt)
            except OSError:
                self.n["dropped"] += 1  # e.g. the device went down: lost, as on a wire
                continue
            self.n["forwarded"] += 1
            last = self.last_written.get(flow, 0)
            if seq < last:
                self.n["overtaken"] += 1
            else:
                self.last_written[flow] = seq

    def next_due(self) -> float | None:
        return self.heap[0][0] if self.heap else None

    def stats(self, gen: int) -> dict:
        return dict(self.n, gen=gen, queued=len(self.heap), settings=self.settings)


def write_stats(path: str | None, stats: dict):
    if not path:
        return
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(stats, f)
        f.write("\n")
    os.replace(tmp, path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dev", required=True, help="an existing TUN device (ip tuntap add)")
    ap.add_argument("--delay-ms", type=float, default=0.0)
    ap.add_argument("--dup-pct", type=pct, default=0.0)
    ap.add_argument("--reorder-pct", type=pct, default=0.0)
    ap.add_argument("--reorder-ms", type=parse_range, default=(5.0, 40.0),
                    help="LO-HI: the extra delay of a held-back copy (default 5-40)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--stats-file")
    ap.add_argument("--pid-file")
    ap.add_argument("--ready-file")
    args = ap.parse_args()

    flags = {"stop": False, "dump": False}

    def on_stop(_sig, _frame):
        flags["stop"] = True

    def on_dump(_sig, _frame):
        flags["dump"] = True

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGUSR1, on_dump)

    fd = open_tun(args.dev)
    os.set_blocking(fd, False)
    fwd = Forwarder(args)
    gen = 0
    write_stats(args.stats_file, fwd.stats(gen))
    if args.pid_file:
        with open(args.pid_file, "w") as f:
            f.write(f"{os.getpid()}\n")
    if args.ready_file:
        open(args.ready_file, "w").close()

    next_stats = time.monotonic() + STATS_EVERY_S
    while not flags["stop"]:
        now = time.monotonic()
        fwd.flush_due(fd, now)
        if flags["dump"] or now >= next_stats:
            flags["dump"] = False
            gen += 1
            write_stats(args.stats_file, fwd.stats(gen))
            next_stats = now + STATS_EVERY_S
        due = fwd.next_due()
        timeout = min(TICK_S, max(0.0, due - now)) if due is not None else TICK_S
        try:
            ready, _, _ = select.select([fd], [], [], timeout)
        except InterruptedError:
            continue
        if not ready:
            continue
        arrived = time.monotonic()
        while True:
            try:
                pkt = os.read(fd, 65535)
            except BlockingIOError:
                break
            except OSError:
                flags["stop"] = True
                break
            fwd.take(pkt, arrived)
    gen += 1
    write_stats(args.stats_file, fwd.stats(gen))
    print("fault_forwarder: " + " ".join(f"{k}={v}" for k, v in fwd.n.items()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
