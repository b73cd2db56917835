#!/usr/bin/env python3
"""tests/attack/candidate_hijack_test.py: a forged tokenless hello changes nothing (CTest
attack_candidate_hijack).

    candidate_hijack_test.py PATH/TO/rendezvous

dave (127.0.2.5) and erin (127.0.2.6) are our clients with real sessions; dave advertises his
own socket as his LAN candidate. The attacker forges `hello{name:"dave",
priv:["127.0.9.9:6666"]}`, without a token, from dave's own address (three times). Then erin
asks to `connect` to dave: the `peer` she gets must still carry dave's real public address
and his real candidates. A server that takes a tokenless hello from the session's address as
its owner's lets a blind attacker redirect every hole punch toward dave to an address of its
choosing.
"""
import time

import attacklib as a

HIJACK = "127.0.9.9:6666"


def main() -> int:
    rdv, _ = a.binaries_from_argv("PATH/TO/rendezvous")
    a.need_root()
    with a.Server(rdv, "--timeout", "10") as server:
        dave = a.Client(server.addr, "dave", "127.0.2.5")
        erin = a.Client(server.addr, "erin", "127.0.2.6")
        if not (dave.register() and erin.register()):
            return a.verdict(False, "dave and erin register")
        real_priv = list(dave.priv)
        forger = a.Forger()
        forger.check_reaches(server.addr)
        src = a.parse_endpoint(dave.local)
        for _ in range(3):
            forger.send(src, server.addr, a.encode_hello("dave", [HIJACK]))
            time.sleep(0.05)
        forger.close()
        dave.pump(0.1)
        peer = None
        for _ in range(4):  # resent every 0.5 s until the peer arrives, as a real client does
            erin.request({"t": "connect", "name": "dave"})
            peer = erin.wait_for(a.is_msg("peer", name="dave"), 0.5)
            if peer is not None:
                break
        dave.pump(0.2)
    if peer is None or peer.get("t") != "peer":
        a.measured(f"erin's connect to dave got {peer}")
        return a.verdict(False, "erin's connect to dave is answered")
    a.measured(f"dave's candidates as erin sees them: pub {peer.get('pub')} priv "
               f"{peer.get('priv')} (real: pub {dave.local} priv {real_priv})")
    return a.verdict(peer.get("priv") == real_priv and peer.get("pub") == dave.local,
                     "a forged tokenless hello leaves dave's candidates as they were")


if __name__ == "__main__":
    raise SystemExit(main())
