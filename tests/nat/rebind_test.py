#!/usr/bin/env python3
"""tests/nat/rebind_test.py: a session survives its NAT giving it a new public port
(CTest nat_rebind).

    rebind_test.py PATH/TO/peer PATH/TO/rendezvous [--at-cap]

A symmetric NAT A gives a fresh random public port once its mapping is forgotten
(`lab.sh flush-nat a`), the way a home router does after a reboot or an idle timeout. The
rendezvous then sees the session's next heartbeat from an address it has never validated:
it answers `#who?#`, the client says hello again with its token, gets `retry{cookie}` for the
new address, and the hello with that cookie moves the session there. Two clients go through
it at once, both in `a`: alice (chatclient.py) and ann (the real `peer --json`). bob
(chatclient.py, behind the cone NAT B) watches from the lobby. Checks:
  - alice's heartbeat from the new port is answered `#who?#`, then her hello with a `retry`,
    then the hello with that cookie with a `welcome`: the same token, a new `pub` on NAT A;
  - ann goes `reconnecting` and back `online` within a heartbeat of the flush;
  - bob sees neither leave the lobby (the sessions moved, they did not end), and his
    `connect` to each gets the new public endpoint: the server's table follows the move.

`--at-cap` runs the rendezvous with `--max-sessions-per-host 2`: NAT A's public address then
holds exactly its share, alice and ann. A session moving within its own host adds nobody, so
the same checks must hold; they show whether the server counts the moving session against
its own host's share (answering `network_limit` to the move, and evicting it at `timeout`).
"""
import re
import sys

import natlab
from natlab import NATA_WAN, RDV_IP
from p2ppeer import P2PPeer

SERVER = f"{RDV_IP}:7777"
PUBLIC = re.compile(r"public address (\S+)\)")


def welcomed(lab, c, what):
    """The retry and then the welcome that registering at a new address takes, both taken from
    c's events, so a later wait finds only what came after."""
    r = c.wait_msg("retry", 5)
    lab.check(r is not None, f"{c.name}'s hello is answered with retry{{cookie}} {what}")
    w = c.wait_msg("welcome", 5)
    refused = None if w is not None else c.wait_msg("error", 0)
    lab.check(w is not None, f"{c.name} is welcomed {what}",
              "" if refused is None else f"refused: {refused.get('code')} {refused.get('text')!r}")
    if w is None:
        raise RuntimeError(f"{c.name} got no welcome {what}")
    return w


def exchange(lab, frm, to_name):
    """`connect` from `frm` to `to_name`: the `pub` the server hands out for it."""
    frm.send({"t": "connect", "name": to_name})
    p = frm.wait_msg("peer", 5)
    lab.check(p is not None and p.get("name") == to_name, f"{frm.name}'s connect to "
              f"{to_name} is answered with `peer`")
    return None if p is None else p.get("pub")


def main():
    args = sys.argv[1:]
    at_cap = "--at-cap" in args
    args = [a for a in args if a != "--at-cap"]
    if len(args) != 2:
        sys.exit("usage: rebind_test.py PATH/TO/peer PATH/TO/rendezvous [--at-cap]")
    peer_bin, rdv_bin = args
    cap = ["--max-sessions-per-host", "2"] if at_cap else []
    with natlab.session("nat_rebind" + ("_at_cap" if at_cap else ""), deadline_s=80) as lab:
        lab.up(nat_a="symmetric", nat_b="cone")
        lab.spawn("rdv", rdv_bin, "--listen", SERVER, "--log-level", "debug", *cap,
                  ready="listening on")
        bob = lab.chat_client("b", "bob", SERVER)
        welcomed(lab, bob, "(cone NAT B)")
        alice = lab.chat_client("a", "alice", SERVER)
        w1 = welcomed(lab, alice, "(symmetric NAT A)")
        ann = P2PPeer(lab, "a", peer_bin, "ann")
        m = PUBLIC.search(ann.online.get("text", ""))
        ann_pub1 = m.group(1) if m else None
        hb_s = w1["hb"] / 1000.0
        print(f"-- alice pub {w1['pub']}, ann pub {ann_pub1}, hb {hb_s} s", flush=True)

        lab.lab("flush-nat", "a")
        who = alice.wait(lambda e: e["ev"] == "recv" and e["msg"] == "#who?#", hb_s + 3)
        lab.check(who is not None, "alice's heartbeat from her new port is answered #who?#")
        w2 = welcomed(lab, alice, "at her new port")
        lab.check(w2["tok"] == w1["tok"], "the same session (token) moved, no new one")
        lab.check(w2["pub"].rpartition(":")[0] == NATA_WAN and w2["pub"] != w1["pub"],
                  "her welcome.pub is NAT A's new port", f"{w1['pub']} -> {w2['pub']}")

        back = ann.wait(lambda e: e["event"] == "connection" and e.get("state") == "online",
                        hb_s + 3)
        lab.check(back is not None, "ann (the real peer) is back online within a heartbeat",
                  "" if back is None else back.get("text", ""))

        lab.check(exchange(lab, bob, "alice") == w2["pub"],
                  "bob's connect to alice gets her new public endpoint", w2["pub"])
        ann_pub2 = exchange(lab, bob, "ann")
        lab.check(ann_pub2 is not None and ann_pub2 != ann_pub1 and
                  ann_pub2.rpartition(":")[0] == NATA_WAN,
                  "bob's connect to ann gets her new public endpoint", f"{ann_pub1} -> {ann_pub2}")
        left = bob.wait(lambda e: e["ev"] == "recv" and isinstance(e["msg"], dict) and
                        e["msg"].get("t") == "left", 0.5)
        lab.check(left is None, "bob saw nobody leave the lobby", "" if left is None else
                  str(left["msg"]))
        ann.quit()


if __name__ == "__main__":
    main()
