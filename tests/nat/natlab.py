"""tests/nat/natlab.py: the NAT lab from a Python test, with cleanup that always runs.

    with natlab.session("nat_lab_topology") as lab:        # SKIPPED + exit 77 if it cannot run
        lab.up(nat_a="cone", nat_b="symmetric")
        refl = lab.spawn("rdv", *lab.probe_cmd("reflect", "--ports", "7001"), ready="ready")
        out = lab.run_json("a", *lab.probe_cmd("probe", "--to", "203.0.113.10:7001"))
        lab.check(out["results"][0]["received"] == 3, "a reaches rdv")

Each Lab gets its own state directory (/tmp/ucl-lab.XXXX), so labs of tests running in
parallel never meet. Everything a test spawns in the lab is stopped by its PID, and the lab is
taken down (namespaces by name, forwarder by PID) on any exit: normal end, failed check,
exception, SIGTERM/SIGINT, or the test's own deadline (SIGALRM, set below CTest's TIMEOUT).
A SIGKILL leaves the lab up; the next `lab.sh up` sweeps it, as its owner PID is recorded.

Checks do not stop the test: each prints `ok`/`FAIL`, and the exit status is 1 if any failed.
"""
import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LAB_SH = os.path.join(HERE, "lab.sh")
PROBE = os.path.join(HERE, "udpprobe.py")
CHAT_CLIENT = os.path.join(HERE, "chatclient.py")
SKIP = 77  # CTest SKIP_RETURN_CODE

RDV_IP = "203.0.113.10"
NATA_WAN = "203.0.113.1"
NATB_WAN = "203.0.113.2"
A_IP, A2_IP, B_IP = "192.168.77.2", "192.168.77.3", "192.168.77.130"


class Deadline(Exception):
    pass


def skip(reason: str):
    print(f"SKIPPED: {reason}", flush=True)
    sys.exit(SKIP)


class Lab:
    def __init__(self, name: str):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="ucl-lab.")
        self.env = dict(os.environ, UCL_LAB_DIR=self.dir, UCL_LAB_OWNER=str(os.getpid()))
        self.procs: list[subprocess.Popen] = []
        self.prefix = None
        self.passed = 0
        self.failed = 0
        self.log_seq = 0
        self.logs: list[str] = []

    # ---- the lab itself ----

    def up(self, nat_a="cone", nat_b="cone", delay_ms=0, loss_pct=0, dup_pct=0, reorder_pct=0,
           seed=1):
        self.stop_all()
        args = [LAB_SH, "up", "--nat-a", nat_a, "--nat-b", nat_b, "--delay-ms", str(delay_ms),
                "--loss-pct", str(loss_pct), "--dup-pct", str(dup_pct),
                "--reorder-pct", str(reorder_pct), "--seed", str(seed)]
        r = subprocess.run(args, env=self.env, capture_output=True, text=True, timeout=90)
        if r.returncode == SKIP:
            print(r.stdout.strip(), flush=True)
            sys.exit(SKIP)
        if r.returncode != 0:
            raise RuntimeError(f"lab.sh up failed ({r.returncode}): {r.stdout}{r.stderr}")
        with open(os.path.join(self.dir, "prefix")) as f:
            self.prefix = f.read().strip()
        print(f"-- {r.stdout.strip()}", flush=True)

    def down(self):
        self.stop_all()
        subprocess.run([LAB_SH, "down"], env=self.env, timeout=60)
        with contextlib.suppress(OSError):
            os.rmdir(self.dir)

    def counters(self) -> dict:
        """The WAN fault counts so far (lab.sh counters): `loss_dropped` (the statistic
        rules), `forwarder` (fault_forwarder.py's counts, or None when it is not running)."""
        return json.loads(self.lab("counters").stdout.strip().splitlines()[-1])

    def leftover_namespaces(self) -> list[str]:
        if not self.prefix:
            return []
        out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        return [line.split()[0] for line in out.splitlines() if line.startswith(self.prefix)]

    def lab(self, *args, check=True) -> subprocess.CompletedProcess:
        """Run a lab.sh command (cut-rdv, flush-nat a, status, ...)."""
        return subprocess.run([LAB_SH, *args], env=self.env, capture_output=True, text=True,
                              timeout=60, check=check)

    # ---- processes in the lab ----

    @staticmethod
    def probe_cmd(*args) -> list[str]:
        return [sys.executable, PROBE, *args]

    def run(self, node: str, *cmd, timeout=30.0) -> subprocess.CompletedProcess:
        return subprocess.run([LAB_SH, "exec", node, *cmd], env=self.env, capture_output=True,
                              text=True, timeout=timeout)

    def run_json(self, node: str, *cmd, timeout=30.0):
        r = self.run(node, *cmd, timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError(f"{node}: {' '.join(cmd)} exited {r.returncode}: {r.stderr}")
        return json.loads(r.stdout.strip().splitlines()[-1])

    def spawn(self, node: str, *cmd, ready: str | None = None, timeout=10.0,
              stdin=subprocess.DEVNULL) -> subprocess.Popen:
        """Start CMD in NODE (its PID is the command's: lab.sh and ip netns exec both exec).
        Its stdout is a pipe for the test to read; its stderr goes to a log file (a pipe
        nobody reads would fill and stall it), printed by dump_logs(). With `ready`, wait
        until a stdout line contains it."""
        self.log_seq += 1
        log_path = os.path.join(self.dir, f"{self.log_seq:02d}-{node}-"
                                f"{os.path.basename(str(cmd[0]))}.log")
        with open(log_path, "w") as log:
            log.write(f"$ {node}: {' '.join(map(str, cmd))}\n")
            log.flush()
            p = subprocess.Popen([LAB_SH, "exec", node, *map(str, cmd)], env=self.env,
                                 stdin=stdin, stdout=subprocess.PIPE, stderr=log)
        self.procs.append(p)
        self.logs.append(log_path)
        if ready is not None:
            line = read_line_until(p, lambda s: ready in s, timeout)
            if line is None:
                raise RuntimeError(f"{node}: {' '.join(map(str, cmd))} never printed "
                                   f"{ready!r} (see its log below)")
        return p

    def chat_client(self, node: str, name: str, server: str, bind="0.0.0.0:0",
                    lifetime=100) -> "ChatClient":
        """tests/nat/chatclient.py as NAME in NODE, welcomed or not (see ChatClient)."""
        p = self.spawn(node, sys.executable, CHAT_CLIENT, "--server", server, "--name", name,
                       "--bind", bind, "--lifetime", str(lifetime), stdin=subprocess.PIPE)
        return ChatClient(p, name)

    def dump_logs(self, lines=30):
        """Print the tail of every spawned process's stderr (after a failure)."""
        for path in self.logs:
            with contextlib.suppress(OSError), open(path) as f:
                tail = f.readlines()[-lines:]
            print(f"---- {os.path.basename(path)}", flush=True)
            print("".join(tail).rstrip(), flush=True)

    def stop(self, p: subprocess.Popen, timeout=3.0):
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for f in (p.stdin, p.stdout, p.stderr):
            if f:
                with contextlib.suppress(OSError):
                    f.close()

    def stop_all(self):
        while self.procs:
            self.stop(self.procs.pop())

    # ---- checks ----

    def check(self, ok: bool, what: str, detail="") -> bool:
        if ok:
            self.passed += 1
            print(f"ok    {what}" + (f"  ({detail})" if detail else ""), flush=True)
        else:
            self.failed += 1
            print(f"FAIL  {what}" + (f"  ({detail})" if detail else ""), flush=True)
        return ok


class ChatClient:
    """A running chatclient.py: send it commands, wait for what it receives.

    Every event line it prints is kept in `events`; wait() returns the first one not yet
    returned that matches, so an event that came early is not missed."""

    def __init__(self, proc: subprocess.Popen, name: str):
        self.proc = proc
        self.name = name
        self.events: list[dict] = []
        self.taken: set[int] = set()
        self.local = self.wait(lambda e: e["ev"] == "ready", 10)["local"]

    def send(self, cmd: dict):
        self.proc.stdin.write((json.dumps(cmd) + "\n").encode())
        self.proc.stdin.flush()

    def wait(self, pred, timeout=5.0) -> dict | None:
        deadline = time.monotonic() + timeout
        i = 0
        while True:
            for i in range(i, len(self.events)):
                if i not in self.taken and pred(self.events[i]):
                    self.taken.add(i)
                    return self.events[i]
            i = len(self.events)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            line = read_line_until(self.proc, lambda s: True, left)
            if line is None:
                return None
            with contextlib.suppress(ValueError):
                self.events.append(json.loads(line))

    def wait_msg(self, t: str, timeout=5.0, sender: str | None = None) -> dict | None:
        """The next received message of type t (from endpoint `sender`, if given)."""
        e = self.wait(lambda e: e["ev"] == "recv" and isinstance(e["msg"], dict) and
                      e["msg"].get("t") == t and (sender is None or e["from"] == sender),
                      timeout)
        return None if e is None else dict(e["msg"], _from=e["from"])


def read_line_until(p: subprocess.Popen, pred, timeout: float) -> str | None:
    """Read p's stdout lines until pred(line) holds; None on timeout or EOF. Reads the raw
    pipe with its own buffer: select() on a buffered file object would miss lines already
    read into the buffer."""
    buf = getattr(p, "ucl_buf", b"")
    fd = p.stdout.fileno()
    deadline = time.monotonic() + timeout
    try:
        while True:
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                line = raw.decode(errors="replace") + "\n"
                if pred(line):
                    return line
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                return None
            buf += chunk
    finally:
        p.ucl_buf = buf


@contextlib.contextmanager
def session(name: str, deadline_s: int = 100):
    """A lab for one test program: skip when it cannot run; always clean up; exit 0/1/77."""
    if os.geteuid() != 0:
        skip("the NAT lab needs root (network namespaces, iptables)")
    if not os.path.exists("/proc/self/ns/net"):
        skip("this kernel has no network namespaces")

    def on_signal(sig, _frame):
        raise Deadline(f"signal {sig}")

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGALRM):
        signal.signal(sig, on_signal)
    signal.alarm(deadline_s)  # below CTest's TIMEOUT: our cleanup runs before its SIGKILL
    lab = Lab(name)
    start = time.monotonic()
    crashed = False
    try:
        yield lab
    except Deadline as e:
        crashed = True
        print(f"FAIL  {name} stopped early: {e}", flush=True)
    except Exception as e:  # report, then clean up like any other exit
        crashed = True
        print(f"FAIL  {name}: {type(e).__name__}: {e}", flush=True)
    finally:
        signal.alarm(0)
        if crashed or lab.failed:
            lab.dump_logs()
        lab.down()
        left = lab.leftover_namespaces()
        if left:
            lab.check(False, "lab.sh down removed every namespace", " ".join(left))
    failed = lab.failed + (1 if crashed else 0)
    print(f"{name}: {lab.passed} passed, {failed} failed in {time.monotonic() - start:.1f} s",
          flush=True)
    sys.exit(1 if failed else 0)
