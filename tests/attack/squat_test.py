#!/usr/bin/env python3
"""tests/attack/squat_test.py: a squatter cannot take or hold a name (CTest attack_squat).

    squat_test.py PATH/TO/rendezvous PATH/TO/peer

The server runs with `--timeout 2`. From a forged source (127.0.4.1:4444, where nobody
listens) the attacker sends `hello{name:"bob"}` and then, every half second, a `#ping#` from
there and every 2 s the hello again, for the whole test. Half a second after the first forged
hello the real bob starts on 127.0.2.1: he must be online within 2 s (a forged hello took
nothing) and stay online for the next 3 s (the forged hellos cannot take the name from him).
A server that registers unproven addresses answers the real bob `name_taken` for as long as
the squatter keeps pinging.
"""
import time

import attacklib as a

SQUATTER = ("127.0.4.1", 4444)
ONLINE_WITHIN_S = 2.0
HOLD_S = 3.0


def main() -> int:
    rdv, peer_bin = a.binaries_from_argv("PATH/TO/rendezvous PATH/TO/peer")
    a.need_root()
    with a.Server(rdv, "--timeout", "2") as server:
        forger = a.Forger()
        forger.check_reaches(server.addr)
        hello = a.encode_hello("bob", ["127.0.4.1:4444"])
        start = time.monotonic()
        next_ping = next_hello = start
        bob = None
        online_after = None
        lost = None
        while time.monotonic() - start < 0.5 + ONLINE_WITHIN_S + HOLD_S:
            now = time.monotonic()
            if now >= next_hello:
                forger.send(SQUATTER, server.addr, hello)
                next_hello = now + 2.0
            if now >= next_ping:
                forger.send(SQUATTER, server.addr, a.PING)
                next_ping = now + 0.5
            if bob is None and now - start >= 0.5:
                bob = a.PeerProc(peer_bin, server.endpoint, "bob", "127.0.2.1:0")
                bob_started = now
            if bob is None:
                time.sleep(0.05)
                continue
            ev = bob.wait_event(lambda e: e.get("event") in ("connection", "fatal"), 0.05)
            if ev is None:
                if online_after is None and now - bob_started > ONLINE_WITHIN_S:
                    break
                continue
            if ev["event"] == "connection" and ev.get("state") == "online" and online_after is None:
                online_after = time.monotonic() - bob_started
            elif ev["event"] == "fatal" or ev.get("state") == "reconnecting":
                lost = ev.get("text", ev.get("state"))
                break
        if bob is not None:
            bob.stop()
        forger.close()
    if online_after is None:
        a.measured(f"the real bob never got the name: {lost or 'no welcome'}")
    elif lost is not None:
        a.measured(f"the real bob was online after {online_after:.3f} s, then lost it: {lost}")
    else:
        a.measured(f"the real bob was online after {online_after:.3f} s and held the name "
                   f"{HOLD_S} s against the squatter")
    return a.verdict(online_after is not None and online_after <= ONLINE_WITHIN_S and
                     lost is None, "a squatter cannot take or hold a name")


if __name__ == "__main__":
    raise SystemExit(main())
