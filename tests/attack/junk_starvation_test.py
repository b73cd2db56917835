#!/usr/bin/env python3
"""tests/attack/junk_starvation_test.py: forged junk does not starve a session (CTest
attack_junk_starvation).

    junk_starvation_test.py PATH/TO/rendezvous

The server runs with `--timeout 2` (heartbeat 1 s). fay is our client on 127.0.2.7 and pings
every half second. For 5 s the attacker forges 1,000 requests a second from fay's address,
evenly spread, each a well-formed `rooms` request with a wrong token: far more than the 20
datagrams a second a session may send, so every token of her budget goes to junk. fay's pings
must keep being answered (at least 90% of them) and her session must survive (a `users`
request afterwards is answered, listing her). A server that charges wrong-token datagrams to
the session's own budget drops her pings as over budget and evicts her.
"""
import random
import time

import attacklib as a

JUNK_RATE = 1000  # evenly spread: each token of fay's bucket is taken within 1 ms
FLOOD_S = 5.0
PING_EVERY_S = 0.5


def main() -> int:
    rdv, _ = a.binaries_from_argv("PATH/TO/rendezvous")
    a.need_root()
    rng = random.Random(5)
    with a.Server(rdv, "--timeout", "2") as server:
        fay = a.Client(server.addr, "fay", "127.0.2.7")
        if not fay.register():
            return a.verdict(False, "fay registers")
        src = a.parse_endpoint(fay.local)
        packets = []
        for i in range(int(JUNK_RATE * FLOOD_S)):
            payload = a.dumps({"v": 1, "t": "rooms", "tok": a.random_hex(32, rng), "id": i + 1})
            packets.append((a.forged_packet(src, server.addr, payload), len(payload)))
        forger = a.Forger()
        forger.check_reaches(server.addr)
        flood = a.Flood(forger, packets, server.addr, JUNK_RATE, FLOOD_S, slice_s=0.001)
        flood.start()
        start = time.monotonic()
        next_ping = start
        while time.monotonic() - start < FLOOD_S:
            if time.monotonic() >= next_ping:
                fay.ping()
                next_ping += PING_EVERY_S
            fay.pump(0.02)
        flood.stop()
        fay.pump(0.3)
        pings, pongs = fay.pings, fay.pongs
        users = fay.call({"t": "users"}, timeout=1.5)
        forger.close()
    alive = users is not None and users.get("t") == "user_list" and "fay" in users.get("users", [])
    answered = pongs / pings if pings else 0.0
    a.measured(f"{pongs}/{pings} pings answered ({answered:.0%}) under {flood.rate():.0f}/s of "
               f"wrong-token junk from fay's address; session alive afterwards: "
               f"{'yes' if alive else 'no (' + str(users) + ')'}")
    return a.verdict(answered >= 0.9 and alive, "forged junk does not starve a session")


if __name__ == "__main__":
    raise SystemExit(main())
