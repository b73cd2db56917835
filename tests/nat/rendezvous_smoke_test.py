#!/usr/bin/env python3
"""tests/nat/rendezvous_smoke_test.py: the real rendezvous behind the lab's NATs
(CTest nat_rendezvous_smoke).

    rendezvous_smoke_test.py PATH/TO/rendezvous

Cone NAT on both routers. The rendezvous runs in `rdv`; chatclient.py registers alice from
`a`, carol from `a2` (same NAT) and bob from `b`, and checks that:
  - each first hello is answered with `retry{cookie}` (32 lowercase hex digits), and the
    same hello with that cookie is welcomed: address validation through a NAT;
  - each welcome.pub is the NAT's public address, with the client's own port (cone);
  - alice's connect to bob gives both sides each other's public endpoint (and LAN candidate)
    and one shared nonce, the initiator flag set on alice's side only;
  - alice's connect to carol hands out carol's LAN candidate, and it reaches carol directly;
  - hand-made probes from alice and bob to each other's public endpoint get through both
    NATs once each side has sent one: hole punching works in this lab (the P2P tests rely on
    it), while a probe to a LAN candidate across the internet goes nowhere;
  - alice's tagged heartbeat (chatclient.py: `#ping#` + SipHash tag of her token) is answered
    with `#pong#`: the server takes it as her session's.
"""
import re
import sys
import time

import natlab
from natlab import A2_IP, A_IP, B_IP, NATA_WAN, NATB_WAN, RDV_IP

SERVER = f"{RDV_IP}:7777"


def host(endpoint: str) -> str:
    return endpoint.rpartition(":")[0]


def port(endpoint: str) -> int:
    return int(endpoint.rpartition(":")[2])


def register(lab, node, name, bind_port, wan):
    c = lab.chat_client(node, name, SERVER, bind=f"0.0.0.0:{bind_port}")
    r = c.wait_msg("retry", 5)
    lab.check(r is not None and re.fullmatch("[0-9a-f]{32}", str(r.get("cookie"))) is not None,
              f"{name}'s first hello is answered with retry{{cookie}}",
              "no retry" if r is None else str(r.get("cookie")))
    w = c.wait_msg("welcome", 5)
    lab.check(w is not None, f"{name} ({node}) is welcomed", c.local)
    if w is None:
        raise RuntimeError(f"{name} got no welcome")
    print(f"-- {name}: local {c.local}, welcome.pub {w['pub']}")
    lab.check(host(w["pub"]) == wan, f"{name}'s welcome.pub is NAT address {wan}", w["pub"])
    lab.check(port(w["pub"]) == bind_port, f"{name}'s public port is its own (cone)", w["pub"])
    c.pub = w["pub"]
    c.hb_s = w["hb"] / 1000.0
    return c


def check_exchange(lab, init, other):
    init.send({"t": "connect", "name": other.name})
    mine = init.wait_msg("peer", 5)
    theirs = other.wait_msg("peer", 5)
    lab.check(mine is not None and theirs is not None,
              f"connect {init.name} -> {other.name}: both sides get `peer`")
    if mine is None or theirs is None:
        return None, None
    lab.check(mine["name"] == other.name and mine["pub"] == other.pub,
              f"{init.name} gets {other.name}'s public endpoint", mine["pub"])
    lab.check(theirs["name"] == init.name and theirs["pub"] == init.pub,
              f"{other.name} gets {init.name}'s public endpoint", theirs["pub"])
    lab.check(mine.get("priv") == [other.local] and theirs.get("priv") == [init.local],
              "each gets the other's LAN candidate", f"{mine.get('priv')} / {theirs.get('priv')}")
    lab.check(mine["nonce"] == theirs["nonce"] and mine["init"] is True
              and theirs["init"] is False, "one shared nonce; init only at the connecting side")
    return mine, theirs


def probe(frm, to_endpoint, nonce, seq):
    frm.send({"send_to": to_endpoint,
              "msg": {"t": "probe", "from": frm.name, "nonce": nonce, "seq": seq}})


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: rendezvous_smoke_test.py PATH/TO/rendezvous")
    binary = sys.argv[1]
    with natlab.session("nat_rendezvous_smoke", deadline_s=100) as lab:
        lab.up(nat_a="cone", nat_b="cone")
        lab.spawn("rdv", binary, "--listen", SERVER, "--timeout", "10", "--log-level", "info",
                  ready="listening on")
        alice = register(lab, "a", "alice", 40001, NATA_WAN)
        bob = register(lab, "b", "bob", 40002, NATB_WAN)
        carol = register(lab, "a2", "carol", 40003, NATA_WAN)
        lab.check(alice.local == f"{A_IP}:40001" and bob.local == f"{B_IP}:40002"
                  and carol.local == f"{A2_IP}:40003", "LAN candidates are the hosts' own")

        mine, _ = check_exchange(lab, alice, bob)
        if mine is not None:
            nonce = mine["nonce"]
            # Across the internet a LAN candidate goes nowhere (no route to 192.168.77.0/24).
            probe(alice, bob.local, nonce, 1)
            # alice's first probe opens NAT A toward bob but dies at NAT B (no mapping there
            # yet); bob's answer then finds NAT A open, and opens NAT B for alice's next one.
            probe(alice, bob.pub, nonce, 2)
            time.sleep(0.3)
            probe(bob, alice.pub, nonce, 3)
            got_a = alice.wait_msg("probe", 3, sender=bob.pub)
            probe(alice, bob.pub, nonce, 4)
            got_b = bob.wait_msg("probe", 3, sender=alice.pub)
            lab.check(got_a is not None and got_a["seq"] == 3,
                      "hole punch: bob's probe reaches alice from bob's public endpoint")
            lab.check(got_b is not None and got_b["seq"] == 4,
                      "hole punch: alice's second probe reaches bob from alice's public "
                      "endpoint", "" if got_b is None else f"seq {got_b['seq']}")
            stray = bob.wait_msg("probe", 0.5)
            lab.check(stray is None, "neither the LAN-candidate probe nor the first public "
                      "probe reached bob", "" if stray is None else f"seq {stray['seq']}")

        mine, _ = check_exchange(lab, alice, carol)
        if mine is not None:
            probe(alice, carol.local, mine["nonce"], 5)
            got = carol.wait_msg("probe", 3, sender=alice.local)
            lab.check(got is not None, "behind one NAT, alice reaches carol's LAN candidate")

        pong = alice.wait(lambda e: e["ev"] == "pong", alice.hb_s + 2)
        lab.check(pong is not None and pong["from"] == SERVER,
                  "alice's tagged heartbeat is answered with #pong#")

        r = lab.lab("status")
        lab.check("conntrack entries" in r.stdout, "lab.sh status reports the NAT routers")


if __name__ == "__main__":
    main()
