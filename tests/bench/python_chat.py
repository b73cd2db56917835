#!/usr/bin/env python3
"""python_chat: the plain Python UDP chat server that issue 7's room-relay aim is measured
against ("a plain Python UDP chat server reaches about 175,000 deliveries/s on this kind of
machine; we aim for at least three times that"), so scripts/bench can measure it in the same
run instead of quoting a figure from another day. The classic shape: one socket, recvfrom, a
member list, and sendto to every other member. It speaks raw_fanout's protocol so loadgen
drives both alike: "J" joins (answered "j"), anything else from a member goes to every other
member, and the sender gets "k". Not part of the product.

  python_chat.py [--listen 127.0.0.1:0] [--max-seconds 600]

Prints "listening on HOST:PORT" once bound; exits after --max-seconds, or on SIGTERM.
"""
import argparse
import socket
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (port 0: any)")
    ap.add_argument("--max-seconds", type=float, default=600, help="then exit")
    a = ap.parse_args()
    host, port = a.listen.rsplit(":", 1)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host, int(port)))
    print(f"listening on {host}:{sock.getsockname()[1]}", flush=True)
    sock.settimeout(0.5)  # so --max-seconds is kept while idle
    members, known = [], set()
    stop_at = time.monotonic() + a.max_seconds
    while time.monotonic() < stop_at:
        try:
            data, source = sock.recvfrom(2048)
        except socket.timeout:
            continue
        if data == b"J":
            if source not in known:
                known.add(source)
                members.append(source)
            sock.sendto(b"j", source)
        elif source in known:
            for member in members:
                if member != source:
                    sock.sendto(data, member)
            sock.sendto(b"k", source)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
