#!/usr/bin/env python3
"""tests/attack/probe_spray_test.py: `connect` spam cannot aim a peer's probes at a victim
(CTest attack_probe_spray).

    probe_spray_test.py PATH/TO/rendezvous PATH/TO/peer

bob is the real peer on 127.0.2.8, willing to punch to anyone who asks. The attacker has 40
real sessions (127.0.6.1-40), each advertising as its LAN candidates four sockets of a
victim (127.0.3.1-4), and every session sends `connect` to bob 4 times, 160 connects in
about 2 s. The server introduces them to bob as it should; it is bob's peer that must not
become the weapon. Every datagram arriving at the victim's sockets and at the attacker's
own (public) sockets over 8 s is counted: it must stay within what PROTOCOL.md's "A peer is
not a weapon" allows overall (a burst of 50 plus 50 a second), and bob must still be
chatting afterwards. A peer that probes every candidate of every exchange sends about 100
probes per connect.
"""
import socket
import time

import attacklib as a

SESSIONS = 40
CONNECTS_EACH = 4
COUNT_S = 8.0
# PROTOCOL.md, "Probes overall": one budget for every probe and probe_ack, 50/s, bursts of 50.
PROBE_BURST, PROBES_PER_S = 50, 50


class Sinks:
    """The victim's sockets: count what arrives, answer nothing."""

    def __init__(self, ips):
        self.socks = []
        for ip in ips:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((ip, 0))
            s.setblocking(False)
            self.socks.append(s)
        self.endpoints = [a.fmt(s.getsockname()) for s in self.socks]
        self.datagrams = 0
        self.bytes = 0

    def drain(self):
        for s in self.socks:
            while True:
                try:
                    data = s.recv(2048)
                except BlockingIOError:
                    break
                self.datagrams += 1
                self.bytes += len(data)

    def close(self):
        for s in self.socks:
            s.close()


def probes_at(client: a.Client, bob_endpoint: str) -> int:
    """Datagrams from bob's own address that reached an attacker session's socket."""
    n = 0
    while True:
        try:
            data, src = client.sock.recvfrom(2048, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return n
        if a.fmt(src) == bob_endpoint:
            n += 1
        else:
            client._on_datagram(data)


def main() -> int:
    rdv, peer_bin = a.binaries_from_argv("PATH/TO/rendezvous PATH/TO/peer")
    with a.Server(rdv, "--timeout", "10") as server:
        bob = a.PeerProc(peer_bin, server.endpoint, "bob", "127.0.2.8:0")
        if bob.wait_event(a.is_event("connection", state="online"), 6.0) is None:
            return a.verdict(False, "bob comes online")
        victim = Sinks([f"127.0.3.{i}" for i in range(1, 5)])
        attackers = [a.Client(server.addr, f"spray{i}", f"127.0.6.{i}", priv=victim.endpoints)
                     for i in range(1, SESSIONS + 1)]
        if not all(c.register() for c in attackers):
            return a.verdict(False, "the attacker's sessions register")
        bob_endpoint = None
        started = time.monotonic()
        sent_bytes = sum(c.bytes_sent for c in attackers)
        for _ in range(CONNECTS_EACH):
            for c in attackers:
                c.request({"t": "connect", "name": "bob"})
            time.sleep(0.5)
            for c in attackers:
                c.pump()
        sent_bytes = sum(c.bytes_sent for c in attackers) - sent_bytes
        for c in attackers:
            peer = next((m for m in c.inbox if isinstance(m, dict) and m.get("t") == "peer"), None)
            if peer is not None:
                bob_endpoint = peer.get("pub")
                break
        at_attackers = 0
        while time.monotonic() - started < COUNT_S:
            victim.drain()
            for c in attackers:
                at_attackers += probes_at(c, bob_endpoint) if bob_endpoint else 0
            time.sleep(0.05)
        victim.drain()
        elapsed = time.monotonic() - started
        bob.command("still here")
        echoed = bob.wait_event(a.is_event("message", text="still here"), 5.0)
        bob.stop()
        victim.close()
        for c in attackers:
            c.close()
    total = victim.datagrams + at_attackers
    bound = PROBE_BURST + PROBES_PER_S * elapsed
    connects = SESSIONS * CONNECTS_EACH
    a.measured(f"probe spray: {connects} connects ({sent_bytes} bytes) made bob send "
               f"{victim.datagrams} datagrams ({victim.bytes} bytes) to the victim and "
               f"{at_attackers} to the attacker's sessions in {elapsed:.1f} s: "
               f"{total / connects:.2f} per connect (bound {bound:.0f} in all)")
    if bob_endpoint is None:
        return a.verdict(False, "the server introduces the attacker's sessions to bob")
    return a.verdict(total <= bound and echoed is not None,
                     f"bob sends at most {PROBE_BURST} + {PROBES_PER_S}/s probes in all, "
                     "and keeps chatting")


if __name__ == "__main__":
    raise SystemExit(main())
