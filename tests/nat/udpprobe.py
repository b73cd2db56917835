#!/usr/bin/env python3
"""tests/nat/udpprobe.py: a tiny UDP probe and reflector that shows what a NAT does.

  reflect --bind IP --ports P1,P2,...   answer each probe with the source address it came from
  probe --to IP:PORT [--to ...]         send numbered probes from ONE local socket; print JSON
  listen --bind IP:PORT --ms N          print (as JSON) whatever arrives within N ms
  send --to IP:PORT [--tag T]           send a few tagged, numbered (seq) datagrams and exit

The reflector tells the prober the address it saw (`seen`), which is the NAT's public mapping;
probing two reflector ports from one socket shows whether the NAT keeps one public port for
every destination (cone) or gives each its own (symmetric). `probe --poke P` asks the
reflector to send from its port P to that mapping, which shows the NAT's filtering: only the
destination the host itself talked to may answer (port-restricted). `probe --count-query`
asks the reflector how many probes arrived: one-way loss.

Messages are one JSON object per datagram. Everything is bounded: every mode stops by itself
(the reflector after --lifetime seconds). Stdlib only, so it runs in any lab namespace.
"""
import argparse
import json
import os
import select
import socket
import statistics
import sys
import time


def parse_endpoint(s: str) -> tuple:
    host, _, port = s.rpartition(":")
    return host, int(port)


def fmt(addr) -> str:
    return f"{addr[0]}:{addr[1]}"


def send_json(sock, obj, addr):
    sock.sendto(json.dumps(obj).encode(), addr)


def recv_json(sock):
    data, addr = sock.recvfrom(2048)
    try:
        return json.loads(data), addr
    except ValueError:
        return {"op": "junk", "raw": data[:64].decode(errors="replace")}, addr


# ---- reflect ----

def cmd_reflect(args) -> int:
    socks = {}
    for port in (int(p) for p in args.ports.split(",")):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((args.bind, port))
        socks[port] = s
    counts = {}  # (probe run id, our port) -> probes received
    print(f"ready {args.bind} {','.join(str(p) for p in socks)}", flush=True)
    deadline = time.monotonic() + args.lifetime
    while time.monotonic() < deadline:
        ready, _, _ = select.select(list(socks.values()), [], [], 0.5)
        for s in ready:
            msg, src = recv_json(s)
            port = s.getsockname()[1]
            op = msg.get("op")
            if op == "probe":
                key = (msg.get("run"), port)
                counts[key] = counts.get(key, 0) + 1
                send_json(s, {"op": "echo", "seq": msg.get("seq"), "seen": fmt(src),
                              "port": port, "t": msg.get("t")}, src)
            elif op == "count":
                send_json(s, {"op": "count", "run": msg.get("run"),
                              "n": counts.get((msg.get("run"), port), 0)}, src)
            elif op == "poke":
                # Answer the mapping `src` from each asked port: port == this one is a reply
                # the NAT must pass; any other port is unsolicited for a filtering NAT.
                for p in msg.get("from", []):
                    if p in socks:
                        for _ in range(3):
                            send_json(socks[p], {"op": "poke", "port": p}, src)
    return 0


# ---- probe ----

def cmd_probe(args) -> int:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    host, port = parse_endpoint(args.bind)
    sock.bind((host, port))
    run = os.urandom(6).hex()
    targets = [parse_endpoint(t) for t in args.to]
    results = {fmt(t): {"to": fmt(t), "sent": 0, "received": 0, "seen": [], "rtt_ms": []}
               for t in targets}
    strays = []  # datagrams that are not answers to our probes

    def handle(msg, src, now):
        key = fmt(src)
        if msg.get("op") == "echo" and key in results and msg.get("t") is not None:
            r = results[key]
            r["received"] += 1
            if msg["seen"] not in r["seen"]:
                r["seen"].append(msg["seen"])
            r["rtt_ms"].append((now - msg["t"]) * 1000.0)
        elif msg.get("op") == "count" and key in results:
            results[key]["remote_count"] = msg.get("n")
        else:
            strays.append({"from": key, "op": msg.get("op"), "tag": msg.get("tag"),
                           "port": msg.get("port")})

    def drain(until):
        while True:
            timeout = until - time.monotonic()
            if timeout <= 0:
                return
            ready, _, _ = select.select([sock], [], [], timeout)
            if ready:
                msg, src = recv_json(sock)
                handle(msg, src, time.monotonic())

    interval = args.interval_ms / 1000.0
    for t in targets:
        for seq in range(args.count):
            send_json(sock, {"op": "probe", "run": run, "seq": seq, "t": time.monotonic()}, t)
            results[fmt(t)]["sent"] += 1
            drain(time.monotonic() + interval)
    drain(time.monotonic() + args.wait_ms / 1000.0)

    if args.count_query:
        # The answer crosses the same lossy path: ask until one comes back.
        for t in targets:
            for _ in range(20):
                if "remote_count" in results[fmt(t)]:
                    break
                send_json(sock, {"op": "count", "run": run}, t)
                drain(time.monotonic() + 0.3 + args.wait_ms / 1000.0 / 4)
    if args.poke:
        send_json(sock, {"op": "poke", "from": args.poke}, targets[0])
    drain(time.monotonic() + args.listen_ms / 1000.0)

    out = {"local": fmt(sock.getsockname()), "results": [], "strays": strays}
    for t in targets:
        r = results[fmt(t)]
        rtts = r.pop("rtt_ms")
        if rtts:
            r["rtt_ms"] = {"min": round(min(rtts), 2), "median": round(statistics.median(rtts), 2),
                           "max": round(max(rtts), 2)}
        out["results"].append(r)
    print(json.dumps(out), flush=True)
    return 0


# ---- listen / send ----

def cmd_listen(args) -> int:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(parse_endpoint(args.bind))
    print(f"ready {fmt(sock.getsockname())}", flush=True)
    got = []
    deadline = time.monotonic() + args.ms / 1000.0
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([sock], [], [], left)
        if ready:
            msg, src = recv_json(sock)
            got.append({"from": fmt(src), "op": msg.get("op"), "tag": msg.get("tag"),
                        "seq": msg.get("seq")})
    print(json.dumps({"local": fmt(sock.getsockname()), "received": got}), flush=True)
    return 0


def cmd_send(args) -> int:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(parse_endpoint(args.bind))
    errors = []
    for seq in range(args.count):
        for t in args.to:
            try:
                send_json(sock, {"op": "hello", "tag": args.tag, "seq": seq}, parse_endpoint(t))
            except OSError as e:  # e.g. no route: the datagram went nowhere
                errors.append(f"{t}: {e.strerror}")
        time.sleep(args.interval_ms / 1000.0)
    print(json.dumps({"local": fmt(sock.getsockname()), "errors": errors}), flush=True)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description="UDP probe and reflector for the NAT lab")
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("reflect")
    r.add_argument("--bind", default="0.0.0.0")
    r.add_argument("--ports", required=True, help="comma-separated")
    r.add_argument("--lifetime", type=float, default=110.0, help="seconds, then exit")
    p = sub.add_parser("probe")
    p.add_argument("--to", action="append", required=True)
    p.add_argument("--bind", default="0.0.0.0:0")
    p.add_argument("--count", type=int, default=3)
    p.add_argument("--interval-ms", type=float, default=20.0)
    p.add_argument("--wait-ms", type=float, default=500.0, help="for late answers")
    p.add_argument("--count-query", action="store_true")
    p.add_argument("--poke", type=lambda s: [int(x) for x in s.split(",")], default=[])
    p.add_argument("--listen-ms", type=float, default=0.0, help="keep listening at the end")
    li = sub.add_parser("listen")
    li.add_argument("--bind", required=True)
    li.add_argument("--ms", type=float, required=True)
    s = sub.add_parser("send")
    s.add_argument("--to", action="append", required=True)
    s.add_argument("--bind", default="0.0.0.0:0")
    s.add_argument("--tag", default="")
    s.add_argument("--count", type=int, default=3)
    s.add_argument("--interval-ms", type=float, default=50.0)
    args = ap.parse_args()
    return {"reflect": cmd_reflect, "probe": cmd_probe, "listen": cmd_listen,
            "send": cmd_send}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
