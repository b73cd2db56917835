#!/usr/bin/env python3
"""tests/nat/delay_forwarder.py: WAN delay for the NAT lab, on a kernel without netem.

lab.sh routes every packet that enters the `inet` router from a WAN link into a TUN device
(policy routing: `ip rule iif w-... lookup 100`, table 100 = `default dev dly`). This program
reads each packet from that TUN, holds it for --delay-ms, and writes it back unchanged; the
kernel then sees it arrive on `dly` and routes it by the main table to where it was going.
So each packet crossing the internet waits the delay once: a round trip over the lab's
internet takes at least twice the delay.

Deliberately simple: one fixed delay (no jitter, no reordering: a FIFO keeps order), stdlib
only. Loss is not done here: iptables `statistic` does it as packets enter `inet`.
"""
import argparse
import collections
import fcntl
import os
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
MAX_QUEUE = 10000  # packets held at once; beyond that new ones are dropped (a full link)


def open_tun(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dev", required=True, help="an existing TUN device (ip tuntap add)")
    ap.add_argument("--delay-ms", type=float, required=True)
    ap.add_argument("--pid-file")
    ap.add_argument("--ready-file")
    args = ap.parse_args()

    stop = False

    def on_signal(_sig, _frame):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    fd = open_tun(args.dev)
    os.set_blocking(fd, False)
    if args.pid_file:
        with open(args.pid_file, "w") as f:
            f.write(f"{os.getpid()}\n")
    if args.ready_file:
        open(args.ready_file, "w").close()

    delay = args.delay_ms / 1000.0
    queue: collections.deque = collections.deque()  # (due time, packet), in arrival order
    forwarded = dropped = 0
    while not stop:
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            try:
                os.write(fd, queue.popleft()[1])
                forwarded += 1
            except OSError:
                dropped += 1  # e.g. the device went down: the packet is lost, as on a wire
        # At most 0.2 s: SIGTERM only sets `stop`, and select() resumes after a signal.
        timeout = min(0.2, max(0.0, queue[0][0] - now)) if queue else 0.2
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
                stop = True
                break
            if len(queue) >= MAX_QUEUE:
                dropped += 1
                continue
            queue.append((arrived + delay, pkt))
    print(f"delay_forwarder: forwarded={forwarded} dropped={dropped}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
