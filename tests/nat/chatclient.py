#!/usr/bin/env python3
"""tests/nat/chatclient.py: a scriptable client of the udpchat wire protocol, for lab tests.

Speaks proto/PROTOCOL.md (version 1) from Python, so a lab test can register, ask for an
endpoint exchange and send hand-made peer-to-peer datagrams without the real peer binary.
It is a library (encode_hello, Session) and a program:

  chatclient.py --server 203.0.113.10:7777 --name alice [--bind 0.0.0.0:40000] [--lifetime S]

The program says hello (with its LAN address as the `priv` candidate), answers the server's
`retry{cookie}` with the same hello carrying that cookie (address validation: the server keeps
no state for an address until it has shown it receives), heartbeats every `hb` ms once
welcomed with the session's tagged `#ping#` (below), and prints one JSON line per event:
  {"ev": "ready", "local": "192.168.77.2:40000"}
  {"ev": "recv", "from": "203.0.113.10:7777", "msg": {...}}   (retry and welcome included)
  {"ev": "pong", "from": "203.0.113.10:7777"}                  (a heartbeat answered)
  {"ev": "sent", "to": "...", "t": "..."}      {"ev": "error", "text": "..."}
It reads one JSON command per stdin line:
  {"t": "connect", "name": "bob"}            a request to the server: `tok` and `id` added
  {"send_to": "IP:PORT", "msg": {...}}       any JSON datagram to any endpoint (punching)
  {"quit": true}                             send `bye` and exit (also on EOF or SIGTERM)
Bounded: it exits by itself after --lifetime seconds. Stdlib only.

The heartbeat is `#ping#` and 16 lowercase hex digits: SipHash-2-4 (libsodium's
crypto_shorthash) of "udpchat heartbeat" keyed with the 16 bytes of welcome.tok. A bare
`#ping#` from a session's address refreshes nothing, so without the tag every session here
would be evicted after `timeout`. The SipHash is tests/attack/attacklib.py's (one pure-Python
implementation, checked on import against the SipHash paper's vector and, when installed,
libsodium), imported by path so both suites use the same code.
"""
import argparse
import json
import os
import select
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "attack"))
from attacklib import heartbeat  # noqa: E402  (the path above first)

PROTOCOL_VERSION = 1
MIN_HELLO_SIZE = 256  # proto/limits.hpp kMinHelloSize: no amplification on hello
MAX_DATAGRAM = 1200  # proto/limits.hpp kMaxDatagram
PING, PONG, WHO = b"#ping#", b"#pong#", b"#who?#"


def dumps(obj) -> bytes:
    """Compact JSON, as nlohmann's dump(-1) writes it."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def encode_hello(name: str, priv: list[str] | None = None, tok: str | None = None,
                 cookie: str | None = None) -> bytes:
    """A hello padded to exactly MIN_HELLO_SIZE bytes (or more when it is longer), the way
    proto::encode pads it: a `pad` field of dots. `cookie` is the one a `retry` gave; the
    hello that carries it is padded too, so no reply is ever larger than what asked for it."""
    msg = {"v": PROTOCOL_VERSION, "t": "hello", "name": name}
    if priv:
        msg["priv"] = priv
    if tok:
        msg["tok"] = tok
    if cookie:
        msg["cookie"] = cookie
    msg["pad"] = ""
    unpadded = len(dumps(msg))
    if unpadded < MIN_HELLO_SIZE:
        msg["pad"] = "." * (MIN_HELLO_SIZE - unpadded)
    return dumps(msg)


def decode(data: bytes):
    """Bytes -> a dict, "#ping#"/"#pong#"/"#who?#", or None for anything else."""
    if data in (PING, PONG, WHO):
        return data.decode()
    try:
        msg = json.loads(data)
    except ValueError:
        return None
    return msg if isinstance(msg, dict) else None


def parse_endpoint(s: str) -> tuple[str, int]:
    host, _, port = s.rpartition(":")
    return host.strip("[]"), int(port)


def fmt(addr) -> str:
    return f"{addr[0]}:{addr[1]}"


def local_ip_toward(server: tuple[str, int]) -> str:
    """The address this host would send from to reach `server`: its LAN address behind a NAT
    (a connected UDP socket sends nothing)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(server)
        return s.getsockname()[0]
    finally:
        s.close()


class Session:
    """One registration with the rendezvous: the socket, the cookie, the token, request ids,
    heartbeats."""

    def __init__(self, server: str, name: str, bind: str = "0.0.0.0:0"):
        self.server = parse_endpoint(server)
        self.name = name
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(parse_endpoint(bind))
        ip = local_ip_toward(self.server)
        self.local = f"{ip}:{self.sock.getsockname()[1]}"
        self.tok: str | None = None
        self.cookie: str | None = None  # the last retry's: proof that we receive here
        self.ping = PING  # the session's tagged heartbeat once welcomed
        self.hb_s = 5.0
        self.next_id = 1
        self.next_ping = float("inf")

    def hello(self):
        self.sock.sendto(encode_hello(self.name, [self.local], self.tok, self.cookie),
                         self.server)

    def request(self, msg: dict) -> dict:
        """Send a request to the server, with v, tok and a fresh id filled in."""
        msg = dict(msg, v=PROTOCOL_VERSION)
        if self.tok and msg.get("t") != "hello":
            msg.setdefault("tok", self.tok)
        if msg.get("t") not in ("hello", "bye"):
            msg.setdefault("id", self.next_id)
            self.next_id += 1
        self.sock.sendto(dumps(msg), self.server)
        return msg

    def send_to(self, endpoint: str, msg: dict):
        self.sock.sendto(dumps(dict(msg, v=PROTOCOL_VERSION)), parse_endpoint(endpoint))

    def on_datagram(self, msg, now: float):
        """Keep the session state: the cookie from retry (and the same hello again, with it);
        the token, its heartbeat and the period from welcome; hello again when the server
        forgot us (#who?# answers a heartbeat from an address without a session)."""
        if isinstance(msg, dict) and msg.get("t") == "retry":
            # Only a new cookie is answered (as the peer does): a server that refuses the one
            # we sent does not start an endless hello/retry exchange with us.
            if isinstance(msg.get("cookie"), str) and msg["cookie"] != self.cookie:
                self.cookie = msg["cookie"]
                self.hello()
        elif isinstance(msg, dict) and msg.get("t") == "welcome":
            self.tok = msg.get("tok")
            self.ping = heartbeat(self.tok)
            self.hb_s = msg.get("hb", 5000) / 1000.0
            self.next_ping = now + self.hb_s
        elif msg == "#who?#" or (isinstance(msg, dict) and (
                msg.get("t") == "shutdown" or
                (msg.get("t") == "error" and msg.get("code") == "no_session"))):
            self.hello()

    def on_tick(self, now: float):
        if now >= self.next_ping:
            self.sock.sendto(self.ping, self.server)
            self.next_ping = now + self.hb_s

    def bye(self):
        if self.tok:
            self.request({"t": "bye"})


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main() -> int:
    ap = argparse.ArgumentParser(description="scriptable udpchat protocol client")
    ap.add_argument("--server", required=True, help="IP:PORT of the rendezvous")
    ap.add_argument("--name", required=True)
    ap.add_argument("--bind", default="0.0.0.0:0")
    ap.add_argument("--lifetime", type=float, default=110.0, help="seconds, then exit")
    args = ap.parse_args()

    stop = False

    def on_signal(_sig, _frame):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    s = Session(args.server, args.name, args.bind)
    emit({"ev": "ready", "local": s.local})
    s.hello()
    deadline = time.monotonic() + args.lifetime
    stdin_open = True
    pending = b""
    while not stop and time.monotonic() < deadline:
        fds = [s.sock] + ([sys.stdin] if stdin_open else [])
        try:
            ready, _, _ = select.select(fds, [], [], 0.1)
        except InterruptedError:
            continue
        now = time.monotonic()
        if s.sock in ready:
            data, src = s.sock.recvfrom(MAX_DATAGRAM + 1)
            msg = decode(data)
            s.on_datagram(msg, now)
            if msg == "#pong#":
                emit({"ev": "pong", "from": fmt(src)})
            else:
                emit({"ev": "recv", "from": fmt(src), "msg": msg})
        if stdin_open and sys.stdin in ready:
            chunk = os.read(sys.stdin.fileno(), 65536)
            if not chunk:
                stdin_open = False
                stop = True
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                if not line.strip():
                    continue
                try:
                    cmd = json.loads(line)
                    if cmd.get("quit"):
                        stop = True
                    elif "send_to" in cmd:
                        s.send_to(cmd["send_to"], cmd["msg"])
                        emit({"ev": "sent", "to": cmd["send_to"], "t": cmd["msg"].get("t")})
                    else:
                        sent = s.request(cmd)
                        emit({"ev": "sent", "to": fmt(s.server), "t": sent.get("t")})
                except (ValueError, KeyError, AttributeError, OSError) as e:
                    emit({"ev": "error", "text": f"{type(e).__name__}: {e}"})
        s.on_tick(now)
    s.bye()
    return 0


if __name__ == "__main__":
    sys.exit(main())
