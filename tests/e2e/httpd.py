#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""A lab backend: a small HTTP/1.1 server that says who it is.

  GET /            -> "<name>\n"             (keep-alive; header X-Backend: <name>)
  GET /healthz     -> "ok\n"
  GET /big?size=N&rate=R
                   -> N bytes of a fixed pseudo-random stream, sent at about
                      R bytes/s (0: as fast as possible); every backend sends
                      the same bytes, so a client can check the body whatever
                      backend served it.

  httpd.py --name backend1 --port 8080 [--port 80]
  httpd.py --digest N        print the sha256 of /big?size=N and exit
"""
import argparse
import hashlib
import http.server
import socket
import socketserver
import sys
import threading
import time
import urllib.parse

CHUNK = 16384


def stream(size):
    """The /big body in CHUNK-sized pieces: counter-mode SHA-256, so it is
    cheap, deterministic and not compressible by accident."""
    block = 0
    sent = 0
    while sent < size:
        out = bytearray()
        while len(out) < CHUNK:
            out += hashlib.sha256(block.to_bytes(8, "big")).digest()
            block += 1
        piece = bytes(out[: min(CHUNK, size - sent)])
        sent += len(piece)
        yield piece


def digest(size):
    h = hashlib.sha256()
    for piece in stream(size):
        h.update(piece)
    return h.hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body are two writes: without TCP_NODELAY the body waits
    # for the client's delayed ACK (40 ms) on a keep-alive connection.
    disable_nagle_algorithm = True
    server_version = "limpet-lab"

    def log_message(self, fmt, *args):  # quiet: tests read their own output
        pass

    def reply(self, code, body, ctype="text/plain"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Backend", self.server.name)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query)
        if url.path == "/healthz":
            self.reply(200, b"ok\n")
        elif url.path == "/big":
            size = int(q.get("size", ["4194304"])[0])
            rate = float(q.get("rate", ["0"])[0])
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(size))
            self.send_header("X-Backend", self.server.name)
            self.end_headers()
            start = time.monotonic()
            sent = 0
            for piece in stream(size):
                self.wfile.write(piece)
                sent += len(piece)
                if rate > 0:
                    ahead = sent / rate - (time.monotonic() - start)
                    if ahead > 0:
                        time.sleep(ahead)
        elif url.path == "/":
            self.reply(200, (self.server.name + "\n").encode())
        else:
            self.reply(404, b"not found\n")


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # 20-40 clients connect at once
    address_family = socket.AF_INET6

    def server_bind(self):
        # One socket for IPv4 and IPv6 (the lab's backends have both).
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        # socketserver's bind without http.server's reverse lookup of the
        # address (socket.getfqdn): where /etc/hosts does not answer it, it
        # asks DNS, unreachable from the lab's namespaces, for 10 s.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "localhost", self.server_address[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name")
    ap.add_argument("--port", type=int, action="append")
    ap.add_argument("--digest", type=int)
    a = ap.parse_args()
    if a.digest is not None:
        print(digest(a.digest))
        return 0
    if not a.name or not a.port:
        ap.error("--name and --port are required")
    servers = []
    for port in a.port:
        s = Server(("::", port), Handler)
        s.name = a.name
        servers.append(s)
    for s in servers[1:]:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    try:
        servers[0].serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
