#!/usr/bin/env python3
"""tests/attack/room_exhaustion_test.py: one network cannot take all the rooms (CTest
attack_room_exhaustion).

    room_exhaustion_test.py PATH/TO/rendezvous

The attacker here is not blind: its 330 sessions are real sockets on 127.0.1.1-127.0.1.254
(one /24, at most two sessions per address), so they pass any address validation. Each
session joins 31 new rooms, 10,230 in all: more than the server's 10,000. Then a legitimate
client on 127.0.2.1 joins a new room and must get `ok`. The server runs with its default
limits (apart from `--timeout 30`, so that no heartbeat is needed while the test runs): those
defaults must keep one network from taking every room; `network_limit` refusals to the
attacker are expected. A server with only a per-session cap answers `too_many_rooms`.
"""
import json
import select
import socket
import time

import attacklib as a

SESSIONS = 330
JOINS_PER_SESSION = 31  # 32 rooms per session, lobby included


def attacker_ip(i: int) -> str:
    return f"127.0.1.{1 + i % 254}"


def main() -> int:
    rdv, _ = a.binaries_from_argv("PATH/TO/rendezvous")
    a.need_root()
    with a.Server(rdv, "--timeout", "30") as server:
        start = time.monotonic()
        sessions = []
        refused = {}
        register_until = start + 10.0  # a server that stops answering hellos ends the phase
        for i in range(SESSIONS):
            if time.monotonic() > register_until:
                refused["unanswered"] = refused.get("unanswered", 0) + SESSIONS - i
                break
            c = a.Client(server.addr, f"a{i}", attacker_ip(i))
            if c.register(timeout=1.0):
                c.inbox.clear()
                sessions.append(c)
            else:
                refused[c.last_error] = refused.get(c.last_error, 0) + 1
                c.close()
        # Every session sends its joins at once (within the burst of 50 a session may send),
        # then the answers are counted.
        for s in sessions:
            for j in range(JOINS_PER_SESSION):
                s.request({"t": "join", "room": f"r{s.name}-{j}"})
        codes = {}
        socks = {s.sock: s for s in sessions}
        answered = 0
        expected = len(sessions) * JOINS_PER_SESSION
        deadline = time.monotonic() + 10.0
        while answered < expected and time.monotonic() < deadline:
            ready, _, _ = select.select(list(socks), [], [], 0.5)
            for sock in ready:
                while True:
                    try:
                        data = sock.recv(2048, socket.MSG_DONTWAIT)
                    except BlockingIOError:
                        break
                    if b'"id"' not in data:
                        continue  # lobby notices
                    msg = json.loads(data)
                    code = "ok" if msg.get("t") == "ok" else msg.get("code", msg.get("t"))
                    codes[code] = codes.get(code, 0) + 1
                    answered += 1
        took = time.monotonic() - start
        legit = a.Client(server.addr, "legit", "127.0.2.1")
        registered = legit.register()
        answer = legit.call({"t": "join", "room": "legit-room"}) if registered else None
        for s in sessions:
            s.close()
    outcome = ("not registered: " + str(legit.last_error) if not registered else
               "no answer" if answer is None else
               answer.get("t") if answer.get("t") == "ok" else answer.get("code"))
    a.measured(f"127.0.1.0/24: {len(sessions)} sessions ({refused or 'none'} refused), "
               f"{codes.get('ok', 0)} rooms joined in {took:.1f} s, refusals "
               f"{ {k: v for k, v in codes.items() if k != 'ok'} }; legitimate /join: {outcome}")
    return a.verdict(outcome == "ok", "a legitimate peer can still join a new room")


if __name__ == "__main__":
    raise SystemExit(main())
