#!/usr/bin/env python3
"""tests/attack/dead_session_test.py: forged heartbeats keep no session alive (CTest
attack_dead_session).

    dead_session_test.py PATH/TO/rendezvous PATH/TO/peer

The server runs with `--timeout 2`. The real peer carol registers from 127.0.2.1; an observer
(our client, heartbeating properly) watches the lobby. carol's process is killed, and from
then on the attacker forges heartbeats from carol's address four times a second: a bare
`#ping#`, then `#ping#` with a wrong 16-hex-digit tag, in turn. carol must be evicted at the
server's timeout (the observer gets `left{name:"carol", reason:"timeout"}` within the timeout
plus a second of slack); a server that lets an unauthenticated ping refresh a session keeps
listing the dead peer for as long as the attacker likes.
"""
import random
import time

import attacklib as a

TIMEOUT_S = 2.0
SLACK_S = 1.0
WATCH_S = TIMEOUT_S + 4.0


def main() -> int:
    rdv, peer_bin = a.binaries_from_argv("PATH/TO/rendezvous PATH/TO/peer")
    a.need_root()
    rng = random.Random(3)
    with a.Server(rdv, "--timeout", str(TIMEOUT_S)) as server:
        obs = a.Client(server.addr, "observer", "127.0.2.2")
        if not obs.register():
            return a.verdict(False, "the observer registers")
        port = a.free_port("127.0.2.1")
        carol = a.PeerProc(peer_bin, server.endpoint, "carol", f"127.0.2.1:{port}")
        if obs.wait_for(a.is_msg("joined", name="carol"), 3.0) is None:
            carol.stop()
            return a.verdict(False, "carol registers")
        carol.kill()
        killed = time.monotonic()
        forger = a.Forger()
        forger.check_reaches(server.addr)
        evicted_at = None
        next_forge = killed
        next_ping = killed
        forged = 0
        while time.monotonic() - killed < WATCH_S and evicted_at is None:
            now = time.monotonic()
            if now >= next_forge:
                payload = a.PING if forged % 2 == 0 else a.PING + a.random_hex(16, rng).encode()
                forger.send(("127.0.2.1", port), server.addr, payload)
                forged += 1
                next_forge = now + 0.25
            if now >= next_ping:
                obs.ping()
                next_ping = now + obs.hb_s / 2
            if obs.wait_for(a.is_msg("left", name="carol"), 0.05) is not None:
                evicted_at = time.monotonic() - killed
        forger.close()
    if evicted_at is None:
        a.measured(f"carol still listed {WATCH_S:.1f} s after her process was killed "
                   f"(timeout {TIMEOUT_S} s; {forged} forged pings)")
    else:
        a.measured(f"carol evicted {evicted_at:.2f} s after her process was killed "
                   f"(timeout {TIMEOUT_S} s; {forged} forged pings)")
    return a.verdict(evicted_at is not None and evicted_at <= TIMEOUT_S + SLACK_S,
                     "forged pings keep no session alive past the timeout")


if __name__ == "__main__":
    raise SystemExit(main())
