#!/usr/bin/env python3
"""tests/attack/reflection_test.py: the rendezvous must not be a reflector (CTest
attack_reflection).

    reflection_test.py PATH/TO/rendezvous

The victim is 200 real UDP sockets on 127.0.3.1 that count every byte they receive. The
attacker forges 200 padded hellos from the victim's addresses (names v0..v199), keeps those
sessions alive with forged `#ping#`s, and has one session of its own (a real socket on
127.0.1.1) say 50 lines in the lobby, so that each line is fanned out, and resent, to every
forged member. Passes when the victim received no more bytes than the attacker sent, all
message kinds counted (welcomes, joined notices, messages and their resends, pongs, retries):
a server that keeps state and fans out only for proven addresses reflects at most 1.0x.
"""
import socket
import time

import attacklib as a

VICTIMS = 200
LINES = 50
WINDOW_S = 6.0  # attack plus the server's resends to the forged members, all counted


def main() -> int:
    rdv, _ = a.binaries_from_argv("PATH/TO/rendezvous")
    a.need_root()
    victims = []
    for _ in range(VICTIMS):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.bind(("127.0.3.1", 0))
        s.setblocking(False)
        victims.append(s)
    received = 0

    def drain():
        nonlocal received
        for s in victims:
            while True:
                try:
                    received += len(s.recv(4096))
                except BlockingIOError:
                    break

    with a.Server(rdv, "--timeout", "10") as server:
        forger = a.Forger()
        forger.check_reaches(server.addr)
        addrs = [s.getsockname() for s in victims]
        start = time.monotonic()
        for i, addr in enumerate(addrs):
            forger.send(addr, server.addr, a.encode_hello(f"v{i}"))
            drain()
        speaker = a.Client(server.addr, "speaker", "127.0.1.1")
        speaker.register()
        next_ping = time.monotonic() + 1.0
        said = 0
        while time.monotonic() - start < WINDOW_S:
            now = time.monotonic()
            if now >= next_ping:  # the forged sessions' heartbeats
                for addr in addrs:
                    forger.send(addr, server.addr, a.PING)
                speaker.ping()
                next_ping = now + 1.0
            if said < LINES and speaker.tok:
                speaker.request({"t": "say", "room": "lobby", "text": f"line {said} " + "x" * 80,
                                 "inst": "0badf00d", "n": said + 1, "lo": said + 1})
                said += 1
            speaker.pump(0)
            drain()
            time.sleep(0.04)
        drain()
        forger.close()
        sent = forger.bytes_sent + speaker.bytes_sent
    ratio = received / sent
    a.measured(f"reflection {ratio:.3f}x: victim received {received} bytes for {sent} sent "
               f"({forger.datagrams_sent} forged datagrams, {said} lines said)")
    return a.verdict(ratio <= 1.0, "the victim receives no more than the attacker sends")


if __name__ == "__main__":
    raise SystemExit(main())
