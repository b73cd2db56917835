#!/usr/bin/env python3
"""tests/man/man_check.py PROGRAM MANPAGE: a program's man page against its --help.

Runs `PROGRAM --help` and reads the OPTIONS section of MANPAGE (roff, man(7) macros). Fails
when an option --help prints is missing from the page, when the page describes an option
--help does not know, or when the default --help shows ("(default: X)") is not the one the
page states ("Default: X."). Only option tags (the line after each .TP) count as described
options, so prose may mention options freely. Stdlib only; exit 0 pass, 1 mismatch.
"""
import re
import subprocess
import sys

# "  -h, --help   print this help" or "      --listen arg   address ..." (cxxopts' layout).
HELP_OPTION = re.compile(r"^\s+(?:-(\w), )?--([\w-]+)(?: arg)?\s+(.*)$")
HELP_DEFAULT = re.compile(r"\(default: ([^()]*)\)\s*$")


def help_options(program: str) -> dict[str, str]:
    """Maps each option ("--listen", "-h") --help lists to its description, wrapped lines joined."""
    out = subprocess.run([program, "--help"], capture_output=True, text=True, timeout=10,
                         check=True).stdout
    options: dict[str, str] = {}
    current: list[str] = []
    for line in out.splitlines():
        m = HELP_OPTION.match(line)
        if m:
            current = [f"--{m.group(2)}"] + ([f"-{m.group(1)}"] if m.group(1) else [])
            for name in current:
                options[name] = m.group(3).strip()
        elif current and line.startswith(" " * 8) and line.strip():
            for name in current:
                options[name] += " " + line.strip()
        else:
            current = []
    return options


def plain(roff: str) -> str:
    """Roff text without macros, fonts and escapes, whitespace collapsed."""
    words = []
    for line in roff.splitlines():
        if line.startswith(".\\\""):
            continue
        if line.startswith("."):
            macro, _, rest = line.partition(" ")
            if macro not in (".B", ".I", ".BI", ".BR", ".IR", ".RB", ".RI", ".IB"):
                continue
            line = rest.replace('"', "")
            if macro in (".BI", ".BR", ".IR", ".RB", ".RI", ".IB"):
                line = line.replace(" ", "")  # alternating fonts join their arguments
        words.append(line)
    text = " ".join(words)
    text = re.sub(r"\\f[BIRP]|\\&", "", text)
    text = text.replace("\\-", "-").replace("\\(aq", "'").replace("\\e", "\\")
    return " ".join(text.split())


def man_options(page: str) -> dict[str, str]:
    """Maps each option tagged in the OPTIONS section to its paragraph, as plain text."""
    with open(page, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"^\.SH OPTIONS\n(.*?)(?=^\.SH )", text, re.S | re.M)
    if not m:
        sys.exit(f"man_check: {page} has no OPTIONS section")
    options: dict[str, str] = {}
    for item in re.split(r"^\.TP\n", m.group(1), flags=re.M)[1:]:
        tag, _, body = item.partition("\n")
        names = re.findall(r"\\-\\-[a-z][a-z\\-]*|(?<![\\-])\\-[a-zA-Z](?![a-z\\])", tag)
        for name in names:
            options[name.replace("\\-", "-")] = plain(body)
    return options


def main() -> int:
    if len(sys.argv) != 3:
        sys.exit("usage: man_check.py PROGRAM MANPAGE")
    program, page = sys.argv[1:]
    in_help, in_man = help_options(program), man_options(page)
    problems = []
    for name in sorted(in_help.keys() - in_man.keys()):
        problems.append(f"{name} is in --help but not in the OPTIONS of {page}")
    for name in sorted(in_man.keys() - in_help.keys()):
        problems.append(f"{name} is in {page} but --help does not list it")
    for name in sorted(in_help.keys() & in_man.keys()):
        d = HELP_DEFAULT.search(in_help[name])
        if d and f"Default: {d.group(1)}." not in in_man[name]:
            problems.append(f"{name}: --help says (default: {d.group(1)}) but {page} says "
                            f"\"{in_man[name]}\"; write \"Default: {d.group(1)}.\" there")
    for p in problems:
        print(f"man_check: {p}")
    if problems:
        return 1
    print(f"man_check: {len(in_help)} options of {program} match {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
