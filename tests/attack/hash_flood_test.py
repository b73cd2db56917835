#!/usr/bin/env python3
"""tests/attack/hash_flood_test.py: sources chosen to collide cost no more than random ones
(CTest attack_hash_flood, RUN_SERIAL: it measures the server's CPU time).

    hash_flood_test.py PATH/TO/rendezvous

A source without a session is looked up in the server's per-source rate limiter, a hash
table of at most 4,096 sources. With an unkeyed hash an attacker can pick sources that all
land in one bucket, so every lookup walks all of them. The test floods one fresh server from
4,096 random sources and another from 4,096 sources that collide under an unkeyed FNV-1a over
the endpoint's bytes, the hash an obvious std::unordered_map<Endpoint> would use (collide in
the buckets libstdc++ has once it holds 4,096 entries: 5,087), at the same rate and count.
The datagrams are junk (`{x`, dropped as bad_json after the limiter), so that no reply
dilutes the figure.

The figure is the server's CPU time (utime + stime from /proc) per datagram its socket read
(its `socket received=` line at shutdown): a server that cannot keep up with the colliding
flood reads fewer (the kernel drops the rest, legitimate datagrams among them), which would
hide its cost in a plain CPU total. Passes when a colliding datagram costs at most twice a
random one. A keyed hash (SipHash with a random key) makes the chosen sources as random as any.
"""
import random
import re
import time

import attacklib as a

SOURCES = 4096
RATE = 25_000
FLOOD_S = 3.0
JUNK = b"{x"
MAX_RATIO = 2.0

# FNV-1a, unkeyed, over proto::Endpoint's bytes: 16 address bytes (IPv4 first, then zeros), the
# port's two bytes big-endian, then the family (0 for IPv4).
_M64 = (1 << 64) - 1
FNV_OFFSET, FNV_PRIME = 1469598103934665603, 1099511628211
LIBSTDCXX_BUCKETS = 5087  # unordered_map's bucket count once it holds 2,358 to 5,087 entries


def _mix(h: int, b: int) -> int:
    return ((h ^ b) * FNV_PRIME) & _M64


def fnv_endpoint(ip: str, port: int) -> int:
    h = FNV_OFFSET
    for b in bytes(map(int, ip.split("."))) + bytes(12) + bytes([port >> 8, port & 0xFF, 0]):
        h = _mix(h, b)
    return h


def colliding_sources(n: int, buckets: int = LIBSTDCXX_BUCKETS):
    """n endpoints in 127.200+.x.y whose FNV-1a hash is 0 modulo `buckets`. For one address and
    port high byte, the last two mixes make h = (S ^ lo) * P^2 mod 2^64: as lo runs over
    0-255, S ^ lo runs over base + k, so h runs over X + k*P^2 mod 2^64, and h mod buckets is
    known for every k from a table keyed by (k*P^2 mod 2^64) mod buckets, with one wrap check.
    That finds the ~1 in 5,087 that collide without hashing each (under a second in Python)."""
    p2 = (FNV_PRIME * FNV_PRIME) & _M64
    two64 = 1 << 64
    by_residue = {}
    for k in range(256):
        q = (k * p2) & _M64
        by_residue.setdefault(q % buckets, []).append((k, q))
    wrap = two64 % buckets
    out = []
    for a1 in range(200, 255):
        for a2 in range(256):
            for a3 in range(1, 255):
                h = FNV_OFFSET
                for b in (127, a1, a2, a3):
                    h = _mix(h, b)
                for _ in range(12):
                    h = _mix(h, 0)
                for hi in range(4, 256):  # ports 1024 and up
                    s = _mix(h, hi)
                    x = ((s & ~0xFF) * p2) & _M64
                    xm, room = x % buckets, two64 - x
                    for k, q in by_residue.get(-xm % buckets, ()):
                        if q < room:
                            out.append((f"127.{a1}.{a2}.{a3}", hi << 8 | (k ^ (s & 0xFF))))
                    for k, q in by_residue.get((wrap - xm) % buckets, ()):
                        if q >= room:
                            out.append((f"127.{a1}.{a2}.{a3}", hi << 8 | (k ^ (s & 0xFF))))
                    if len(out) >= n:
                        return out[:n]
    raise RuntimeError("not enough colliding sources")


def random_sources(n: int, rng: random.Random):
    seen = set()
    while len(seen) < n:
        seen.add((f"127.{rng.randrange(200, 255)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
                  rng.randrange(1024, 65536)))
    return sorted(seen)


def flood_cost(rdv: str, sources) -> tuple[float, int, int]:
    """A fresh server flooded for FLOOD_S with RATE junk datagrams a second, round-robin from
    `sources`: its CPU seconds over its whole life, the datagrams its socket read in that time
    (from its `socket received=` line at shutdown), and the datagrams sent. A server that
    cannot keep up reads fewer than were sent (the kernel drops the rest, legitimate ones
    among them), so the cost is compared per datagram read, not per datagram sent."""
    server = a.Server(rdv)
    try:
        rng = random.Random(1)
        order = list(sources)
        rng.shuffle(order)
        packets = [(a.forged_packet(src, server.addr, JUNK), len(JUNK)) for src in order]
        forger = a.Forger()
        forger.check_reaches(server.addr)
        # Fill the limiter with every source first, so both floods measure full tables.
        for packet, size in packets:
            forger.send_packet(packet, server.addr, size)
        flood = a.Flood(forger, packets, server.addr, RATE, FLOOD_S)
        flood.run()
        time.sleep(0.3)  # what is queued is handled and counted
        cost = server.cpu_seconds()
        forger.close()
    finally:
        server.stop()
    got = re.search(r"socket received=(\d+)", server.log_text())
    if got is None:
        print(f"FAIL: no `socket received=` line in the server's log {server.log_path}")
        raise SystemExit(1)
    return cost, int(got.group(1)), forger.datagrams_sent


def main() -> int:
    rdv, _ = a.binaries_from_argv("PATH/TO/rendezvous")
    a.need_root()
    colliding = colliding_sources(SOURCES)
    assert all(fnv_endpoint(ip, port) % LIBSTDCXX_BUCKETS == 0 for ip, port in colliding[:64])
    rand = random_sources(SOURCES, random.Random(2))
    cpu_random, read_random, sent_random = flood_cost(rdv, rand)
    cpu_colliding, read_colliding, sent_colliding = flood_cost(rdv, colliding)
    per_random = cpu_random / max(read_random, 1)
    per_colliding = cpu_colliding / max(read_colliding, 1)
    ratio = per_colliding / per_random
    a.measured(f"colliding sources cost {ratio:.2f}x random ones: {per_colliding * 1e6:.1f} vs "
               f"{per_random * 1e6:.1f} us of server CPU per datagram read (colliding: "
               f"{cpu_colliding:.2f} s, read {read_colliding} of {sent_colliding} sent; random: "
               f"{cpu_random:.2f} s, read {read_random} of {sent_random})")
    return a.verdict(ratio <= MAX_RATIO, f"colliding sources cost at most {MAX_RATIO}x random")


if __name__ == "__main__":
    raise SystemExit(main())
