"""tests/attack/attacklib.py: what every attack test shares (label attack, README.md).

  - Forger: datagrams with any 127.x.y.z source address, through a raw IPv4 socket
    (IP_HDRINCL; we write the IPv4 and UDP headers, UDP checksum 0 as IPv4 allows). The
    attacker never receives what the server answers: that is the point of forging.
  - Server: the real rendezvous on 127.0.0.1, port 0; stopped by PID; its CPU time from /proc.
  - Client: a minimal legitimate client of proto/PROTOCOL.md on a real socket. It takes the
    address-validation step (`retry` with a `cookie`, the same hello again with it) when the
    server asks for it, and then heartbeats with a tagged `#ping#` (SipHash-2-4 keyed with the
    session token); a server that welcomes at once, without a retry, gets the bare `#ping#`.
  - PeerProc: the real `peer --json` as the legitimate client where one or two are enough.
  - siphash24: libsodium's crypto_shorthash in pure Python (checked against libsodium through
    ctypes when that library is present), so the suite needs nothing beyond the stdlib.

Every address used here is in 127.0.0.0/8: the server on 127.0.0.1, legitimate clients in
127.0.2.0/24, victims in 127.0.3.0/24, attackers' real sockets in 127.0.1.0/24, forged sources
elsewhere in 127/8. Without root there is no raw socket: need_root() prints SKIPPED and exits
with SKIP_CODE, which CMake registers as SKIP_RETURN_CODE.
"""
import ctypes
import json
import os
import random
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

SKIP_CODE = 77
PROTOCOL_VERSION = 1
MIN_HELLO_SIZE = 256  # proto/limits.hpp kMinHelloSize
SERVER_IP = "127.0.0.1"
PING, PONG, WHO = b"#ping#", b"#pong#", b"#who?#"
HEARTBEAT_MESSAGE = b"udpchat heartbeat"  # what the heartbeat tag is computed over


# ---------------------------------------------------------------- reporting

def need_root():
    """Skip (exit SKIP_CODE) unless a raw socket can be opened: not root, or root in a
    container without CAP_NET_RAW."""
    try:
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW).close()
    except PermissionError:
        print("SKIPPED: needs root for raw sockets", flush=True)
        sys.exit(SKIP_CODE)


def measured(text: str):
    """The test's figure, one greppable line."""
    print(f"measured: {text}", flush=True)


def verdict(ok: bool, what: str) -> int:
    print(("PASS: " if ok else "FAIL: ") + what, flush=True)
    return 0 if ok else 1


def binaries_from_argv(usage: str) -> tuple[str, str]:
    """argv: PATH/TO/rendezvous [PATH/TO/peer], passed by CMake as $<TARGET_FILE:...>."""
    if len(sys.argv) < 2:
        sys.exit(f"usage: {sys.argv[0]} {usage}")
    return sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "")


# ---------------------------------------------------------------- wire helpers

def dumps(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def encode_hello(name: str, priv=None, tok=None, cookie=None) -> bytes:
    """A hello padded with dots to 256 bytes (or more when it is longer), as proto::encode
    pads it."""
    msg = {"v": PROTOCOL_VERSION, "t": "hello", "name": name}
    if priv:
        msg["priv"] = priv
    if tok:
        msg["tok"] = tok
    if cookie:
        msg["cookie"] = cookie
    msg["pad"] = ""
    unpadded = len(dumps(msg))
    msg["pad"] = "." * max(0, MIN_HELLO_SIZE - unpadded)
    return dumps(msg)


def decode(data: bytes):
    if data[:6] in (PING, PONG, WHO) and not data.startswith(b"{"):
        return data.decode(errors="replace")
    try:
        msg = json.loads(data)
    except ValueError:
        return None
    return msg if isinstance(msg, dict) else None


def fmt(addr) -> str:
    return f"{addr[0]}:{addr[1]}"


def parse_endpoint(s: str) -> tuple[str, int]:
    host, _, port = s.rpartition(":")
    return host.strip("[]"), int(port)


def random_hex(n: int, rng=random) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


# ---------------------------------------------------------------- SipHash-2-4

_M64 = (1 << 64) - 1


def _rotl(x: int, b: int) -> int:
    return ((x << b) | (x >> (64 - b))) & _M64


def siphash24(key: bytes, msg: bytes) -> bytes:
    """SipHash-2-4 with 64-bit output, as libsodium's crypto_shorthash: 8 bytes, little-endian."""
    assert len(key) == 16
    k0, k1 = struct.unpack("<QQ", key)
    v0 = k0 ^ 0x736F6D6570736575
    v1 = k1 ^ 0x646F72616E646F6D
    v2 = k0 ^ 0x6C7967656E657261
    v3 = k1 ^ 0x7465646279746573

    def rounds(n):
        nonlocal v0, v1, v2, v3
        for _ in range(n):
            v0 = (v0 + v1) & _M64
            v1 = _rotl(v1, 13) ^ v0
            v0 = _rotl(v0, 32)
            v2 = (v2 + v3) & _M64
            v3 = _rotl(v3, 16) ^ v2
            v0 = (v0 + v3) & _M64
            v3 = _rotl(v3, 21) ^ v0
            v2 = (v2 + v1) & _M64
            v1 = _rotl(v1, 17) ^ v2
            v2 = _rotl(v2, 32)

    tail_len = len(msg) % 8
    for i in range(0, len(msg) - tail_len, 8):
        m = struct.unpack_from("<Q", msg, i)[0]
        v3 ^= m
        rounds(2)
        v0 ^= m
    last = (len(msg) & 0xFF) << 56
    for i, b in enumerate(msg[len(msg) - tail_len:]):
        last |= b << (8 * i)
    v3 ^= last
    rounds(2)
    v0 ^= last
    v2 ^= 0xFF
    rounds(4)
    return struct.pack("<Q", v0 ^ v1 ^ v2 ^ v3)


def _libsodium_shorthash(key: bytes, msg: bytes):
    """libsodium's own answer, or None when the library is not installed."""
    for name in ("libsodium.so.23", "libsodium.so"):
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        out = ctypes.create_string_buffer(8)
        if lib.crypto_shorthash(out, msg, ctypes.c_ulonglong(len(msg)), key) != 0:
            return None
        return out.raw
    return None


def heartbeat(tok: str) -> bytes:
    """The session's heartbeat: #ping# and the hex of SipHash-2-4 keyed with the token's 16
    bytes over "udpchat heartbeat"."""
    return PING + siphash24(bytes.fromhex(tok), HEARTBEAT_MESSAGE).hex().encode()


def check_siphash():
    """The reference vector of the SipHash paper (key 00..0f, message 00..0e), and libsodium's
    answer for a heartbeat when the library is there: a wrong tag would make every legitimate
    client look like a forger."""
    key = bytes(range(16))
    assert siphash24(key, bytes(range(15))) == bytes.fromhex("e545be4961ca29a1"), "siphash24"
    theirs = _libsodium_shorthash(key, HEARTBEAT_MESSAGE)
    if theirs is not None:
        assert theirs == siphash24(key, HEARTBEAT_MESSAGE), "siphash24 disagrees with libsodium"


check_siphash()  # on import: microseconds, and every test relies on it


# ---------------------------------------------------------------- forging

def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def forged_packet(src: tuple[str, int], dst: tuple[str, int], payload: bytes) -> bytes:
    """IPv4 + UDP header + payload with source `src`; DF set, UDP checksum 0 (none)."""
    total = 20 + 8 + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, random.getrandbits(16), 0x4000, 64,
                     socket.IPPROTO_UDP, 0, socket.inet_aton(src[0]), socket.inet_aton(dst[0]))
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    udp = struct.pack("!HHHH", src[1], dst[1], 8 + len(payload), 0)
    return ip + udp + payload


class Forger:
    """Sends datagrams that claim any 127/8 source. Counts what it sent (UDP payload bytes)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        self.bytes_sent = 0
        self.datagrams_sent = 0

    def send(self, src: tuple[str, int], dst: tuple[str, int], payload: bytes):
        assert src[0].startswith("127.") and dst[0].startswith("127."), "loopback only"
        self.send_packet(forged_packet(src, dst, payload), dst, len(payload))

    def send_packet(self, packet: bytes, dst: tuple[str, int], payload_len: int):
        """A packet built once by forged_packet(), for floods that resend the same bytes."""
        while True:
            try:
                self.sock.sendto(packet, (dst[0], 0))
                break
            except (BlockingIOError, InterruptedError):
                time.sleep(0.0005)
            except OSError as e:
                if e.errno != 105:  # ENOBUFS: the loopback queue is full, try again
                    raise
                time.sleep(0.0005)
        self.bytes_sent += payload_len
        self.datagrams_sent += 1

    def check_reaches(self, server_addr, timeout: float = 1.0):
        """Prove that forged datagrams reach the server: forge a `#ping#` from a socket of ours
        that never sent anything, and expect the server's `#who?#` (it has no session there)
        on that socket. Without this a test could pass because nothing arrived at all. The
        probes are not counted in bytes_sent and datagrams_sent."""
        counted = self.bytes_sent, self.datagrams_sent
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind(("127.0.5.1", 0))
        try:
            for _ in range(3):
                self.send(probe.getsockname(), server_addr, PING)
                ready, _, _ = select.select([probe], [], [], timeout / 3)
                if ready and probe.recv(64) == WHO:
                    return
        finally:
            probe.close()
            self.bytes_sent, self.datagrams_sent = counted
        print("FAIL: a forged #ping# got no #who?#: forged datagrams do not reach the server",
              flush=True)
        sys.exit(1)

    def close(self):
        self.sock.close()


# ---------------------------------------------------------------- the server

class Server:
    """The real rendezvous on 127.0.0.1, port 0. Its log goes to a file in the working
    directory (the build tree's tests/attack under CTest), for the record."""

    _started = 0

    def __init__(self, binary: str, *args: str, log_level: str = "info"):
        Server._started += 1
        test = os.path.splitext(os.path.basename(sys.argv[0]))[0]
        # The next run of the same test replaces it.
        self.log_path = os.path.abspath(f"{test}-rdv{Server._started}.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [binary, "--listen", f"{SERVER_IP}:0", "--log-level", log_level, *args],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            self.stop()
            raise RuntimeError(f"rendezvous did not start: {line!r}; see {self.log_path}")
        self.addr = parse_endpoint(line.split()[-1])
        self.endpoint = fmt(self.addr)

    def cpu_seconds(self) -> float:
        """utime + stime of the server process, from /proc/PID/stat."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_text(self) -> str:
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def free_port(ip: str) -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---------------------------------------------------------------- a legitimate client

class Client:
    """One legitimate session on its own real socket, bound to `bind_ip`. Every datagram it
    receives is kept in `inbox` (decoded) until taken; pongs are only counted."""

    def __init__(self, server: tuple[str, int], name: str, bind_ip: str, port: int = 0,
                 priv=None):
        self.server = server
        self.name = name
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind((bind_ip, port))
        self.local = fmt(self.sock.getsockname())
        self.priv = priv if priv is not None else [self.local]
        self.tok = None
        self.cookie = None
        self.validated = False  # the server asked for a cookie: it speaks tagged heartbeats
        self.hb_s = 5.0
        self.next_id = 1
        self.inbox = []
        self.pongs = 0
        self.pings = 0
        self.bytes_sent = 0
        self.last_error = None

    # -- sending
    def send_raw(self, data: bytes):
        self.sock.sendto(data, self.server)
        self.bytes_sent += len(data)

    def hello(self):
        self.send_raw(encode_hello(self.name, self.priv, self.tok, self.cookie))

    def request(self, msg: dict) -> int:
        msg = dict(msg, v=PROTOCOL_VERSION)
        msg.setdefault("tok", self.tok)
        if msg["t"] not in ("bye", "got"):
            msg.setdefault("id", self.next_id)
            self.next_id += 1
        self.send_raw(dumps(msg))
        return msg.get("id", 0)

    def ping(self):
        self.pings += 1
        self.send_raw(heartbeat(self.tok) if self.validated else PING)

    # -- receiving
    def pump(self, timeout: float = 0.0) -> int:
        """Read what has arrived (waiting up to `timeout` for the first datagram)."""
        n = 0
        ready, _, _ = select.select([self.sock], [], [], timeout)
        while ready:
            try:
                data = self.sock.recv(2048, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
            n += 1
            self._on_datagram(data)
        return n

    def _on_datagram(self, data: bytes):
        msg = decode(data)
        if msg == "#pong#":
            self.pongs += 1
            return
        if isinstance(msg, dict):
            t = msg.get("t")
            if t == "retry" and isinstance(msg.get("cookie"), str):
                self.validated = True
                self.cookie = msg["cookie"]
                self.hello()
            elif t == "welcome":
                self.tok = msg.get("tok")
                self.hb_s = msg.get("hb", 5000) / 1000.0
            elif t == "error":
                self.last_error = msg.get("code")
            if t in ("msg", "dm_msg", "peer") and "d" in msg:
                self.request({"t": "got", "d": [msg["d"]]})
        self.inbox.append(msg)

    def wait_for(self, pred, timeout: float):
        """The first received message for which pred(msg) holds (taken from the inbox)."""
        deadline = time.monotonic() + timeout
        while True:
            for i, m in enumerate(self.inbox):
                if pred(m):
                    return self.inbox.pop(i)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.pump(min(left, 0.05))

    def register(self, timeout: float = 3.0) -> bool:
        """hello (and the cookie step when asked), resent every 0.5 s until welcome."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.hello()
            w = self.wait_for(lambda m: isinstance(m, dict) and m.get("t") in ("welcome", "error"),
                              min(0.5, max(0.0, deadline - time.monotonic())))
            if w is not None and w.get("t") == "welcome":
                return True
            if w is not None and w.get("code") in ("name_taken", "server_full", "network_limit"):
                self.last_error = w.get("code")
                return False
        return False

    def call(self, msg: dict, timeout: float = 2.0):
        """A request, resent every 0.3 s with the same id until its answer arrives."""
        msg = dict(msg)
        rid = self.request(msg)
        msg["id"] = rid
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = self.wait_for(lambda m: isinstance(m, dict) and m.get("id") == rid and
                              m.get("t") in ("ok", "error", "room_list", "user_list", "peer"),
                              min(0.3, max(0.0, deadline - time.monotonic())))
            if r is not None:
                return r
            self.request(msg)
        return None

    def close(self):
        self.sock.close()


def is_msg(t: str, **fields):
    return lambda m: isinstance(m, dict) and m.get("t") == t and all(
        m.get(k) == v for k, v in fields.items())


# ---------------------------------------------------------------- the real peer

class PeerProc:
    """The real `peer --json`, bound to a chosen address; events are JSON lines on stdout."""

    def __init__(self, binary: str, server: str, name: str, bind: str, *args: str):
        self.name = name
        self.proc = subprocess.Popen([binary, "--rendezvous", server, "--name", name, "--json",
                                      "--bind", bind, *args],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, bufsize=1)
        os.set_blocking(self.proc.stdout.fileno(), False)
        self._buf = ""
        self.events = []

    def _read(self, timeout: float):
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            return
        chunk = self.proc.stdout.read()
        if not chunk:
            if timeout > 0:
                time.sleep(min(timeout, 0.05))  # EOF: the process ended
            return
        self._buf += chunk
        while "\n" in self._buf:
            line, self._buf = self._buf.split("\n", 1)
            try:
                self.events.append(json.loads(line))
            except ValueError:
                pass

    def wait_event(self, pred, timeout: float):
        deadline = time.monotonic() + timeout
        while True:
            for i, e in enumerate(self.events):
                if pred(e):
                    return self.events.pop(i)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._read(min(left, 0.05))

    def command(self, line: str):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def kill(self):
        """Gone at once, no bye: the process simply dies."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def is_event(name: str, **fields):
    return lambda e: e.get("event") == name and all(e.get(k) == v for k, v in fields.items())


# ---------------------------------------------------------------- floods

class Flood(threading.Thread):
    """Sends prebuilt forged packets round-robin at `per_second` until stopped or `seconds`
    have passed, in slices (5 ms unless told) so that the rate holds on a busy machine."""

    def __init__(self, forger: Forger, packets: list[tuple[bytes, int]], dst, per_second: float,
                 seconds: float, slice_s: float = 0.005):
        super().__init__(daemon=True)
        self.SLICE_S = slice_s
        self.forger, self.packets, self.dst = forger, packets, dst
        self.per_second, self.seconds = per_second, seconds
        self.stopping = threading.Event()
        self.sent = 0
        self.elapsed = 0.0

    def run(self):
        start = time.monotonic()
        n = len(self.packets)
        while not self.stopping.is_set():
            now = time.monotonic()
            if now - start >= self.seconds:
                break
            due = int((now - start + self.SLICE_S) * self.per_second)
            while self.sent < due:
                packet, size = self.packets[self.sent % n]
                self.forger.send_packet(packet, self.dst, size)
                self.sent += 1
            time.sleep(self.SLICE_S)
        self.elapsed = time.monotonic() - start

    def stop(self):
        self.stopping.set()
        self.join()

    def rate(self) -> float:
        return self.sent / self.elapsed if self.elapsed > 0 else 0.0
