#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""One HTTP/1.1 keep-alive connection, driven line by line on stdin.

  kaclient.py --src 10.10.0.101 --host 10.10.0.100 --port 80

Commands: "get PATH" sends a request on the same connection and prints
"LOCALPORT STATUS BODY" (BODY stripped); a request on a connection the
peer closed prints "closed"; "quit" closes and exits. The local port shows
whether the connection is still the first one: this client never
reconnects silently.
"""
import argparse
import http.client
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True)
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, default=80)
    a = ap.parse_args()
    conn = http.client.HTTPConnection(a.host, a.port, timeout=5, source_address=(a.src, 0))
    conn.connect()
    local_port = conn.sock.getsockname()[1]
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "quit":
            break
        if words[0] != "get" or len(words) != 2:
            print("error: expected 'get PATH' or 'quit'", flush=True)
            continue
        if conn.sock is None:
            print("closed", flush=True)
            continue
        try:
            conn.request("GET", words[1])
            r = conn.getresponse()
            body = r.read().decode(errors="replace").strip()
            print(f"{local_port} {r.status} {body}", flush=True)
        except (OSError, http.client.HTTPException) as e:
            print(f"closed {type(e).__name__}", flush=True)
            conn.close()
            conn.sock = None
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
