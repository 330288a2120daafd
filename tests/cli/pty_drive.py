#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Drive an interactive program through a pseudo-terminal: wait for each
expected text, send each line, then wait for the program to exit.
Standard library only (Debian's python3).

usage: pty_drive.py TRANSCRIPT TIMEOUT STEPS -- COMMAND...
  STEPS is a file of lines "expect TEXT" or "send TEXT".
Exits 0 when every expectation was met and COMMAND exited 0, else 1; the
whole terminal output is written to TRANSCRIPT.
"""
import os
import pty
import select
import sys
import time


def main():
    sep = sys.argv.index("--")
    transcript, timeout, steps = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    command = sys.argv[sep + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(command[0], command)
    seen = b""
    deadline = time.time() + timeout

    def read_some(wait):
        """Read what arrives within @wait: None when nothing did, b"" at the end."""
        nonlocal seen
        r, _, _ = select.select([fd], [], [], wait)
        if not r:
            return None
        try:
            data = os.read(fd, 4096)
        except OSError:
            return b""
        seen += data
        return data

    ok = True
    cursor = 0
    with open(steps) as f:
        for line in f:
            verb, _, text = line.rstrip("\n").partition(" ")
            if verb == "send":
                os.write(fd, text.encode() + b"\r")
            elif verb == "expect":
                # From the end of the last match: output is read ahead.
                while seen.find(text.encode(), cursor) < 0 and time.time() < deadline:
                    if read_some(0.2) == b"":
                        break
                at = seen.find(text.encode(), cursor)
                if at < 0:
                    print("pty_drive: never saw %r" % text, file=sys.stderr)
                    ok = False
                    break
                cursor = at + len(text)
    status = None
    while time.time() < deadline:
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = os.waitstatus_to_exitcode(st)
            break
        read_some(0.2)
    while read_some(0.1):
        pass  # the rest of the output, until it ends or pauses
    if status is None:
        print("pty_drive: the command did not exit", file=sys.stderr)
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        ok = False
    elif status != 0:
        print("pty_drive: the command exited %d" % status, file=sys.stderr)
        ok = False
    with open(transcript, "wb") as t:
        t.write(seen)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
