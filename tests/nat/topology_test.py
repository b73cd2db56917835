#!/usr/bin/env python3
"""tests/nat/topology_test.py: the lab behaves like the NATs it claims (CTest nat_lab_topology).

Two labs, so each NAT kind is seen on each router:
  1. NAT A cone, NAT B symmetric, clean links: public addresses, port behaviour per kind,
     filtering of unsolicited datagrams, a <-> a2 over the LAN, no hairpin on NAT A.
  2. NAT A symmetric, NAT B cone, 50 ms delay and 10% loss: the kinds swap with the routers,
     and loss and delay take effect (one-way loss counted by the reflector over 500 probes).
  3. Both cone, 20% duplication and 20% reordering: 400 numbered datagrams a -> rdv arrive
     with about that many duplicates and overtaken ones, as fault_forwarder.py counts them.
Measured figures are printed on `--` lines for the record.
"""
import json
import time

import natlab
from natlab import A2_IP, A_IP, NATA_WAN, NATB_WAN, RDV_IP

REFLECT_PORTS = "7001,7002,7003"
DELAY_MS = 50
LOSS_PCT = 10
LOSS_PROBES = 500
FAULT_PCT = 20  # lab three: duplication and reordering
FAULT_DATAGRAMS = 400


def host(endpoint: str) -> str:
    return endpoint.rpartition(":")[0]


def port(endpoint: str) -> int:
    return int(endpoint.rpartition(":")[2])


def probe_rdv(lab, node, bind_port, count=3, poke="", listen_ms=0, wait_ms=500):
    args = ["probe", "--to", f"{RDV_IP}:7001", "--to", f"{RDV_IP}:7002", "--count", str(count),
            "--bind", f"0.0.0.0:{bind_port}", "--wait-ms", str(wait_ms)]
    if poke:
        args += ["--poke", poke, "--listen-ms", str(listen_ms)]
    return lab.run_json(node, *lab.probe_cmd(*args))


def seen_ports(out) -> list[int]:
    return sorted({port(s) for r in out["results"] for s in r["seen"]})


def check_mapping(lab, node, out, wan, kind, sent):
    """The reflector saw NODE at its NAT's public address; one port (cone) or one per
    destination (symmetric)."""
    r1, r2 = out["results"]
    lab.check(r1["received"] >= 1 and r2["received"] >= 1, f"{node} reaches rdv:7001 and :7002",
              f"{r1['received']}/{r1['sent']}, {r2['received']}/{r2['sent']}")
    hosts = {host(s) for r in out["results"] for s in r["seen"]}
    lab.check(hosts == {wan}, f"{node} is seen at its NAT's public address {wan}", str(hosts))
    p1, p2 = r1["seen"], r2["seen"]
    print(f"-- {kind} NAT: {node} local {out['local']} seen as {p1} (to :7001) and {p2} (to :7002)")
    lab.check(len(p1) == 1 and len(p2) == 1, f"{node} keeps one mapping per destination")
    if kind == "cone":
        lab.check(p1 == p2, f"cone: {node} gets the same public port for both destinations")
        lab.check(port(p1[0]) == sent, f"cone: the public port is {node}'s own port {sent}",
                  p1[0])
    else:
        lab.check(p1 != p2, f"symmetric: {node} gets a public port per destination")


def lab_one(lab):
    lab.up(nat_a="cone", nat_b="symmetric")
    lab.spawn("rdv", *lab.probe_cmd("reflect", "--bind", RDV_IP, "--ports", REFLECT_PORTS,
                                    "--lifetime", "60"), ready="ready")
    lab.spawn("a2", *lab.probe_cmd("reflect", "--bind", A2_IP, "--ports", "7001",
                                   "--lifetime", "60"), ready="ready")

    # Mappings and filtering. The poke asks rdv to send to the mapping from 7001 (a reply to
    # what the host sent: must pass) and from 7003 (never contacted: must not).
    for node, wan, kind in (("a", NATA_WAN, "cone"), ("b", NATB_WAN, "symmetric")):
        out = probe_rdv(lab, node, 40000, poke="7001,7003", listen_ms=1000)
        check_mapping(lab, node, out, wan, kind, 40000)
        pokes = {s["port"] for s in out["strays"] if s["op"] == "poke"}
        lab.check(7001 in pokes, f"{kind}: a reply from the contacted rdv:7001 reaches {node}")
        lab.check(7003 not in pokes, f"{kind}: unsolicited rdv:7003 does not reach {node} "
                  "(port-restricted filtering)", f"pokes from {sorted(pokes)}")

    # Nothing reaches a from outside before a has sent anything.
    listener = lab.spawn("a", *lab.probe_cmd("listen", "--bind", "0.0.0.0:40001", "--ms", "1500"),
                         ready="ready")
    sent = lab.run_json("rdv", *lab.probe_cmd("send", "--to", f"{NATA_WAN}:40001", "--to",
                                              f"{A_IP}:40001", "--tag", "unsolicited"))
    got = natlab.read_line_until(listener, lambda s: s.startswith("{"), 5)
    received = [] if got is None else json.loads(got)["received"]
    lab.check(got is not None and received == [],
              "a cannot be reached unsolicited from rdv (to NAT A's address or a's own)",
              f"received {received}; send errors {sent['errors']}")

    # a <-> a2 directly over the LAN: no NAT between them.
    out = lab.run_json("a", *lab.probe_cmd("probe", "--to", f"{A2_IP}:7001", "--count", "5"))
    r = out["results"][0]
    lab.check(r["received"] == 5 and len(r["seen"]) == 1 and host(r["seen"][0]) == A_IP,
              "a <-> a2 directly over the LAN, a seen at its own address", str(r["seen"]))

    # No hairpin: a2 opens a mapping (cone: public port = its own 41000), then a sends to that
    # public endpoint (must not arrive) and to a2's LAN address (must).
    a2 = lab.spawn("a2", *lab.probe_cmd("probe", "--to", f"{RDV_IP}:7001", "--count", "2",
                                        "--bind", "0.0.0.0:41000", "--listen-ms", "2500"))
    time.sleep(0.8)
    lab.run_json("a", *lab.probe_cmd("send", "--to", f"{NATA_WAN}:41000", "--tag", "hairpin"))
    lab.run_json("a", *lab.probe_cmd("send", "--to", f"{A2_IP}:41000", "--tag", "lan"))
    line = natlab.read_line_until(a2, lambda s: s.startswith("{"), 10)
    out = json.loads(line) if line else {"results": [{"seen": []}], "strays": []}
    tags = {s["tag"] for s in out["strays"]}
    lab.check(out["results"][0]["seen"] == [f"{NATA_WAN}:41000"],
              "a2's public endpoint is NAT A's 41000", str(out["results"][0]["seen"]))
    lab.check("lan" in tags and "hairpin" not in tags,
              "no hairpin on NAT A: a reaches a2 on the LAN, not via 203.0.113.1", str(tags))


def lab_two(lab):
    lab.up(nat_a="symmetric", nat_b="cone", delay_ms=DELAY_MS, loss_pct=LOSS_PCT)
    lab.spawn("rdv", *lab.probe_cmd("reflect", "--bind", RDV_IP, "--ports", REFLECT_PORTS,
                                    "--lifetime", "60"), ready="ready")
    # Eight probes per port: with ~19% round-trip loss, all eight lost happens once in 10^6.
    for node, wan, kind in (("a", NATA_WAN, "symmetric"), ("b", NATB_WAN, "cone")):
        out = probe_rdv(lab, node, 40000, count=8, wait_ms=1000)
        check_mapping(lab, node, out, wan, kind, 40000)

    out = lab.run_json("a", *lab.probe_cmd(
        "probe", "--to", f"{RDV_IP}:7003", "--count", str(LOSS_PROBES), "--interval-ms", "4",
        "--wait-ms", "1000", "--count-query"), timeout=60)
    r = out["results"][0]
    arrived = r.get("remote_count")
    lab.check(arrived is not None, "the reflector answered how many probes arrived")
    if arrived is not None:
        one_way = 100.0 * (LOSS_PROBES - arrived) / LOSS_PROBES
        round_trip = 100.0 * (LOSS_PROBES - r["received"]) / LOSS_PROBES
        print(f"-- loss {LOSS_PCT}%: one-way {one_way:.1f}% ({arrived}/{LOSS_PROBES} arrived), "
              f"round trip {round_trip:.1f}% ({r['received']} echoes)")
        lab.check(3.0 <= one_way <= 20.0, f"{LOSS_PCT}% loss: one-way loss within 3-20%",
                  f"{one_way:.1f}%")
    rtt = r.get("rtt_ms", {})
    print(f"-- delay {DELAY_MS} ms per internet crossing: a<->rdv RTT {rtt}")
    # Every datagram crosses the internet once each way: RTT >= 2 x the delay.
    lab.check(rtt.get("min", 0) >= 2 * DELAY_MS, f"{DELAY_MS} ms delay: a<->rdv RTT >= "
              f"{2 * DELAY_MS} ms", f"min {rtt.get('min')} ms, median {rtt.get('median')} ms")


def lab_three(lab):
    lab.up(dup_pct=FAULT_PCT, reorder_pct=FAULT_PCT, seed=3)
    # 400 datagrams 4 ms apart: a copy held back 5-40 ms is overtaken by the next one.
    listen = lab.spawn("rdv", *lab.probe_cmd("listen", "--bind", f"{RDV_IP}:7004", "--ms",
                                             "4500"), ready="ready")
    lab.run_json("a", *lab.probe_cmd("send", "--to", f"{RDV_IP}:7004", "--tag", "fault",
                                     "--count", str(FAULT_DATAGRAMS), "--interval-ms", "4"))
    line = natlab.read_line_until(listen, lambda s: s.startswith("{"), 10)
    got = [r["seq"] for r in json.loads(line)["received"]] if line else []
    seen, dups, overtaken, top = set(), 0, 0, -1
    for k in got:
        if k in seen:
            dups += 1
            continue
        seen.add(k)
        overtaken += k < top
        top = max(top, k)
    fwd = lab.counters()["forwarder"] or {}
    print(f"-- {FAULT_PCT}% duplication, {FAULT_PCT}% reordering: {len(got)} datagrams arrived "
          f"for {FAULT_DATAGRAMS} sent ({len(seen)} distinct), {dups} duplicates, {overtaken} "
          f"overtaken by a later one; forwarder: {json.dumps(fwd)}")
    lab.check(len(seen) == FAULT_DATAGRAMS, "no loss asked: every datagram arrived",
              f"{len(seen)}/{FAULT_DATAGRAMS}")
    lab.check(0.10 <= dups / FAULT_DATAGRAMS <= 0.30,
              f"{FAULT_PCT}% duplication: duplicates within 10-30%", f"{dups}")
    lab.check(0.05 <= overtaken / FAULT_DATAGRAMS <= 0.30,
              f"{FAULT_PCT}% reordering: 5-30% of the datagrams overtaken", f"{overtaken}")
    lab.check(fwd.get("duplicated", -1) >= dups and fwd.get("dropped") == 0,
              "the forwarder's counts cover what arrived and it dropped nothing",
              f"duplicated {fwd.get('duplicated')} held {fwd.get('held')} "
              f"dropped {fwd.get('dropped')}")


def main():
    with natlab.session("nat_lab_topology", deadline_s=100) as lab:
        lab_one(lab)
        lab_two(lab)
        lab_three(lab)


if __name__ == "__main__":
    main()
