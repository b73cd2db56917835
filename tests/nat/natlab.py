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
SKIP = 77  # CTest SKIP_RETURN_CODE

RDV_IP = "203.0.113.10"
NATA_WAN = "203.0.113.1"
NATB_WAN = "203.0.113.2"
A_IP, A2_IP, B_IP = "198.51.100.2", "198.51.100.3", "198.51.100.130"


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

    # ---- the lab itself ----

    def up(self, nat_a="cone", nat_b="cone", delay_ms=0, loss_pct=0):
        self.stop_all()
        args = [LAB_SH, "up", "--nat-a", nat_a, "--nat-b", nat_b, "--delay-ms", str(delay_ms),
                "--loss-pct", str(loss_pct)]
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
        With `ready`, wait until a stdout line contains it."""
        p = subprocess.Popen([LAB_SH, "exec", node, *cmd], env=self.env, stdin=stdin,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        self.procs.append(p)
        if ready is not None:
            line = read_line_until(p, lambda s: ready in s, timeout)
            if line is None:
                raise RuntimeError(f"{node}: {' '.join(cmd)} never printed {ready!r}: "
                                   f"{p.stderr.read() if p.poll() is not None else ''}")
        return p

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


def read_line_until(p: subprocess.Popen, pred, timeout: float) -> str | None:
    """Read p's stdout lines until pred(line) holds; None on timeout or EOF."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([p.stdout], [], [], left)
        if not ready:
            return None
        line = p.stdout.readline()
        if line == "":
            return None
        if pred(line):
            return line
    return None


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
        lab.down()
        left = lab.leftover_namespaces()
        if left:
            lab.check(False, "lab.sh down removed every namespace", " ".join(left))
    failed = lab.failed + (1 if crashed else 0)
    print(f"{name}: {lab.passed} passed, {failed} failed in {time.monotonic() - start:.1f} s",
          flush=True)
    sys.exit(1 if failed else 0)
