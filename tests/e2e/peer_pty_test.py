#!/usr/bin/env python3
"""The peer's terminal UI under a real pseudo-terminal (tmux): an incoming message must not
clobber a half-typed line. alice types "half typed 你好" and moves the cursor left twice; bob
(a pipe-mode peer) says something; the screen must then show bob's line above alice's intact
input line, with the cursor where it was. Then alice finishes the line (bob must receive all
of it), leaves with Ctrl-C, and the shell after it must find the terminal back in canonical
mode and exit status 0.

Usage: peer_pty_test.py --peer PATH --rendezvous PATH. Exits 0 on success, 1 on failure,
77 (CTest's SKIP_RETURN_CODE) without tmux. Only loopback is used; every process started
here is stopped by PID, and the tmux server runs on a private socket that is killed at the end.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

WIDTH, HEIGHT = 100, 20
TYPED = "half typed 你好"


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--peer", required=True)
    ap.add_argument("--rendezvous", required=True)
    args = ap.parse_args()
    if shutil.which("tmux") is None:
        print("SKIP: tmux not found")
        return 77

    procs = []
    tmux = ["tmux", "-L", f"udpchat-pty-{os.getpid()}", "-f", "/dev/null"]
    try:
        rdv = subprocess.Popen([args.rendezvous, "--listen", "127.0.0.1:0"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        procs.append(rdv)
        line = rdv.stdout.readline().strip()
        assert line.startswith("listening on 127.0.0.1:"), f"rendezvous said {line!r}"
        server = line.split()[-1]

        shell_cmd = (f"'{args.peer}' --rendezvous {server} --name alice; echo EXIT=$?; "
                     "stty -a | tr ' ;' '\\n\\n' | grep -x -- '-\\?icanon'; sleep 60")
        env = dict(os.environ, LANG="C.UTF-8", LC_ALL="C.UTF-8")
        env.pop("NO_COLOR", None)
        subprocess.run(tmux + ["new-session", "-d", "-x", str(WIDTH), "-y", str(HEIGHT),
                               "-s", "chat", "sh", "-c", shell_cmd], check=True, env=env)

        def screen():
            out = subprocess.run(tmux + ["capture-pane", "-p", "-t", "chat"],
                                 capture_output=True, text=True).stdout
            return out.rstrip("\n").split("\n")

        def cursor_x():
            out = subprocess.run(tmux + ["display", "-p", "-t", "chat", "#{cursor_x}"],
                                 capture_output=True, text=True).stdout
            return int(out.strip())

        def last_line():
            lines = [l for l in screen() if l.strip()]
            return lines[-1] if lines else ""

        wait_until(lambda: last_line().startswith("[lobby]"), 10, "alice's prompt")
        subprocess.run(tmux + ["send-keys", "-t", "chat", "-l", TYPED], check=True)
        subprocess.run(tmux + ["send-keys", "-t", "chat", "Left", "Left"], check=True)
        wait_until(lambda: last_line() == "[lobby] " + TYPED, 5, "the typed text")
        # "[lobby] " (8) + "half typed " (11) + 你好 (4 columns), then two code points back.
        expected_x = 8 + 11 + 4 - 4
        wait_until(lambda: cursor_x() == expected_x, 5, f"the cursor at column {expected_x}")

        bob = subprocess.Popen([args.peer, "--rendezvous", server, "--name", "bob"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
        procs.append(bob)
        bob.stdin.write("incoming while alice types\n")
        bob.stdin.flush()
        wait_until(lambda: any("bob: incoming while alice types" in l for l in screen()), 10,
                   "bob's line on alice's screen")
        time.sleep(0.2)  # let any late redraw land before judging the screen
        lines = [l for l in screen() if l.strip()]
        assert lines[-1] == "[lobby] " + TYPED, f"input line clobbered: {lines!r}"
        assert "bob: incoming while alice types" in lines[-2], f"unexpected screen: {lines!r}"
        assert cursor_x() == expected_x, f"cursor moved to {cursor_x()}, want {expected_x}"

        subprocess.run(tmux + ["send-keys", "-t", "chat", "End", "!", "Enter"], check=True)
        deadline = time.monotonic() + 10
        got = ""
        while time.monotonic() < deadline and "alice: " + TYPED + "!" not in got:
            got = bob.stdout.readline()
        assert "alice: " + TYPED + "!" in got, f"bob did not get alice's whole line: {got!r}"

        subprocess.run(tmux + ["send-keys", "-t", "chat", "C-c"], check=True)
        wait_until(lambda: any(l in ("icanon", "-icanon") for l in screen()), 10,
                   "alice to exit and stty to report")
        text = "\n".join(screen())
        assert "EXIT=0" in text, f"exit status not 0:\n{text}"
        assert "\nicanon" in "\n" + text and "-icanon" not in text, \
            f"terminal not restored to canonical mode:\n{text}"
        print("ok: line kept, cursor kept, whole line sent, exit 0, terminal restored")
        return 0
    except AssertionError as e:
        print(f"FAIL: {e}")
        return 1
    finally:
        subprocess.run(tmux + ["kill-server"], capture_output=True)
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


if __name__ == "__main__":
    sys.exit(main())
