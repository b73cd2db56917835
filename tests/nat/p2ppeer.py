"""tests/nat/p2ppeer.py: the real `peer` binary in the NAT lab, driven through --json.

    alice = P2PPeer(lab, "a", peer_bin, "alice")       # spawned in host a, waits until online
    alice.cmd("/connect bob")
    ev = alice.wait(lambda e: e["event"] == "path" and e["state"] == "direct", 10)

Commands go to the peer's stdin one line at a time; a reader thread parses its stdout (one
JSON event per line) into `events`, each stamped with the monotonic time it was read (`_t`).
`wait` returns the first matching event not yet taken, so an event that came early is not
missed. The peer's stderr goes to the lab's log (natlab.spawn); its --log-file to LOG_DIR.
"""
import contextlib
import json
import os
import subprocess
import threading
import time

SERVER = "203.0.113.10:7777"


class P2PPeer:
    def __init__(self, lab, node: str, binary: str, name: str, server: str = SERVER,
                 bind: str | None = None, online_timeout=8.0):
        self.lab = lab
        self.node = node
        self.name = name
        self.log_file = os.path.join(lab.dir, f"peer-{name}.log")
        cmd = [binary, "--rendezvous", server, "--name", name, "--json",
               "--log-file", self.log_file]
        if bind:
            cmd += ["--bind", bind]
        self.proc = lab.spawn(node, *cmd, stdin=subprocess.PIPE)
        self.events: list[dict] = []
        self.taken: set[int] = set()
        self.cond = threading.Condition()
        self.eof = False
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        online = self.wait(lambda e: e["event"] == "connection" and e["state"] == "online",
                           online_timeout)
        if online is None:
            raise RuntimeError(f"{name} ({node}) never came online: {self.events[-5:]}")
        self.online = online

    def _read(self):
        f = self.proc.stdout
        try:
            for raw in iter(f.readline, b""):
                line = raw.decode(errors="replace").strip()
                if not line:
                    continue
                try:
                    ev = json.loads(line)
                except ValueError:
                    ev = {"event": "_unparsed", "text": line}
                ev["_t"] = time.monotonic()
                with self.cond:
                    self.events.append(ev)
                    self.cond.notify_all()
        except (OSError, ValueError):
            pass
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def cmd(self, line: str) -> float:
        """Write one line to the peer's stdin; returns the monotonic time it was written."""
        t = time.monotonic()
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()
        return t

    def wait(self, pred, timeout: float) -> dict | None:
        deadline = time.monotonic() + timeout
        i = 0
        with self.cond:
            while True:
                for i in range(i, len(self.events)):
                    if i not in self.taken and pred(self.events[i]):
                        self.taken.add(i)
                        return self.events[i]
                i = len(self.events)
                left = deadline - time.monotonic()
                if left <= 0 or self.eof:
                    return None
                self.cond.wait(left)

    def snapshot(self) -> list[dict]:
        with self.cond:
            return list(self.events)

    def path_events(self, peer: str | None = None) -> list[dict]:
        return [e for e in self.snapshot() if e["event"] == "path"
                and (peer is None or e.get("peer") == peer)]

    def wait_path(self, peer: str, state: str, timeout: float) -> dict | None:
        return self.wait(lambda e: e["event"] == "path" and e.get("peer") == peer
                         and e.get("state") == state, timeout)

    def received(self, frm: str, prefix: str = "") -> list[dict]:
        """dm events received from `frm` (not our own echoes) whose text starts with prefix."""
        return [e for e in self.snapshot() if e["event"] == "dm" and not e.get("self")
                and e.get("from") == frm and str(e.get("text", "")).startswith(prefix)]

    def status(self, timeout=5.0) -> dict | None:
        self.cmd("/status")
        return self.wait(lambda e: e["event"] == "status", timeout)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def quit(self, timeout=3.0):
        if self.alive():
            with contextlib.suppress(OSError, ValueError):
                self.cmd("/quit")
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        self.reader.join(1.0)

    def log_tail(self, n=40) -> str:
        with contextlib.suppress(OSError), open(self.log_file) as f:
            return "".join(f.readlines()[-n:])
        return ""

    def show_events(self, t0: float, kinds=("path", "peer", "error", "connection", "fatal",
                                           "target")):
        """Print this peer's events of the given kinds, times relative to t0."""
        for e in self.snapshot():
            if e["event"] in kinds:
                rest = {k: v for k, v in e.items() if k not in ("_t", "ts", "event")}
                print(f"   {self.name} +{e['_t'] - t0:6.2f}s {e['event']} {json.dumps(rest)}",
                      flush=True)
