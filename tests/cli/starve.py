#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Hold many idle and trickling connections to limpet's metrics endpoint
or control socket, and see whether a real client still gets in.

  starve.py http HOST:PORT N TIMEOUT_S
      N connections to the Prometheus endpoint, half idle (nothing sent),
      half slowloris (a request head that never ends, one byte a second);
      closed ones are opened again. While they are held: six scrapes
      (every other one writing its request 20 ms after connect()), each
      must be answered 200 within TIMEOUT_S; then a request with a
      NUL in its head (and no end) must be refused with 400 at once.
  starve.py ctl SOCKET N TIMEOUT_S LIMPETCTL
      The same on the control socket (the trickle: a command line without
      its newline); then three `limpetctl show services` and three
      `show services` written by hand 20 ms after connect().
  starve.py http-deadline HOST:PORT 0 TIMEOUT_S
  starve.py ctl-deadline SOCKET 0 TIMEOUT_S
      One connection alone trickles its request (one byte a second): it
      must be closed within TIMEOUT_S (the endpoint: silently; the control
      socket: after "! command line not complete within 5 s" / "ERROR").

N counts the connections the holder keeps open on its side: whenever
limpet closes one (a deadline, an eviction), it opens another at once.

Prints one "ok: ..." line per check and the time each took, "FAIL: ..."
otherwise; exit status 1 on a failure. The times are figures, not checks:
the checks are that the client got in at all. Standard library only.
"""
import errno
import resource
import select
import socket
import subprocess
import sys
import threading
import time

mode, target, n_conns, timeout_s = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
failures = 0


def fail(msg):
    global failures
    failures += 1
    print("FAIL: " + msg, file=sys.stderr, flush=True)


# Room for N sockets and then some.
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
want = n_conns + 256
if soft < want:
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(want, soft), hard) if hard != resource.RLIM_INFINITY else want,
                                                hard))

if mode.startswith("http"):
    host, port = target.rsplit(":", 1)
    addr, family, trickle = (host, int(port)), socket.AF_INET, b"GET /metrics HTTP/1.1\r\nX-Slow: " + b"a" * 4000
else:
    addr, family, trickle = target, socket.AF_UNIX, b"show services" + b" " * 4000


class Holder:
    """N connections kept open: when limpet closes one, it is opened again."""

    def __init__(self, n):
        self.n = n
        self.socks = {}		# fd -> [socket, trickling, bytes sent]
        self.stop = False
        self.opened = 0
        self.reopened = 0
        self.max_held = 0
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def open_one(self, trickling):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(addr)
        except BlockingIOError:
            if family == socket.AF_UNIX:	# backlog full: not connected, try later
                s.close()
                return False
        except OSError as e:
            s.close()
            if e.errno in (errno.EAGAIN, errno.ECONNREFUSED):
                return False
            raise
        self.socks[s.fileno()] = [s, trickling, 0]
        self.opened += 1
        return True

    def held(self):
        with self.lock:
            return len(self.socks)

    def run(self):
        last_trickle = 0.0
        while not self.stop:
            with self.lock:
                while len(self.socks) < self.n:
                    if not self.open_one(len(self.socks) % 2 == 1):
                        break
                self.max_held = max(self.max_held, len(self.socks))
                fds = list(self.socks)
            p = select.poll()
            for fd in fds:
                p.register(fd, select.POLLIN)
            ready = [fd for fd, _ in p.poll(50)] if fds else []
            with self.lock:
                for fd in ready:
                    s = self.socks.pop(fd)[0]
                    s.close()		# limpet closed it (or answered): open another
                    self.reopened += 1
                if time.monotonic() - last_trickle >= 1.0:
                    last_trickle = time.monotonic()
                    for fd, e in list(self.socks.items()):
                        if e[1] and e[2] < len(trickle):
                            try:
                                e[2] += e[0].send(trickle[e[2]:e[2] + 1])
                            except OSError:
                                pass		# not connected yet, or gone: the select finds out
        with self.lock:
            for e in self.socks.values():
                e[0].close()


def scrape(delay=0.0):
    """A scrape; DELAY seconds between connect() and the request, as a
    client on a busy machine (or a thread waiting for its interpreter's
    lock) may take: limpet must not evict it meanwhile."""
    t0 = time.monotonic()
    s = socket.create_connection(addr, timeout=timeout_s)
    time.sleep(delay)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: limpet\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return time.monotonic() - t0, data


def nul_request():
    """A head with a NUL and no end: refused, or held until the deadline."""
    s = socket.create_connection(addr, timeout=timeout_s)
    s.sendall(b"GET /metrics\0 HTTP/1.1\r\nHost: limpet\r\n")
    data = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        pass
    s.close()
    return data


def limpetctl(ctl):
    t0 = time.monotonic()
    r = subprocess.run([ctl, "-s", addr, "-t", str(int(timeout_s)), "show", "services"], capture_output=True,
                       text=True, timeout=timeout_s + 10)
    return time.monotonic() - t0, r


def ctl_raw(delay):
    """`show services` by hand on the control socket, DELAY seconds after
    connect(): the reply must come whole (its last line OK)."""
    t0 = time.monotonic()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout_s)
    s.connect(addr)
    time.sleep(delay)
    s.sendall(b"show services\n")
    data = b""
    while not (data.endswith(b"\nOK\n") or data == b"OK\n" or data.endswith(b"ERROR\n")):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return time.monotonic() - t0, data


def trickle_alone():
    """One connection trickling its request, one byte a second."""
    s = socket.socket(family, socket.SOCK_STREAM)
    s.connect(addr)
    s.setblocking(False)
    t0 = time.monotonic()
    data, sent, closed = b"", 0, False
    while time.monotonic() - t0 < timeout_s and not closed:
        try:
            s.send(trickle[sent:sent + 1])
            sent += 1
        except OSError:
            pass
        end = time.monotonic() + 1
        while time.monotonic() < end and not closed:
            r, _, _ = select.select([s], [], [], max(0.0, end - time.monotonic()))
            if r:
                try:
                    chunk = s.recv(4096)
                except OSError:
                    chunk = b""
                data += chunk
                closed = not chunk
    s.close()
    return closed, time.monotonic() - t0, sent, data


if mode.endswith("-deadline"):
    closed, t, sent, data = trickle_alone()
    what = "a request trickled one byte a second (%d bytes)" % sent
    if not closed:
        fail("%s still open after %.0f s" % (what, timeout_s))
    elif mode == "ctl-deadline" and b"! command line not complete within 5 s\nERROR\n" not in data:
        fail("%s: closed after %.1f s without the error line: %r" % (what, t, data[:80]))
    else:
        print("ok: %s: closed after %.1f s%s" % (what, t, " with an error line" if data else ""), flush=True)
    sys.exit(1 if failures else 0)

t_start = time.monotonic()
h = Holder(n_conns)
h.thread.start()
# Until all N were held at once (limpet evicting and the holder reopening
# as it goes).
deadline = time.monotonic() + 30
while h.max_held < n_conns and time.monotonic() < deadline:
    time.sleep(0.1)
time.sleep(1.5)		# a trickle byte or two on the slow ones
print("held %d connections at once (%d opened so far, %.1f s)" % (h.max_held, h.opened, time.monotonic() - t_start),
      flush=True)
if h.max_held < n_conns:
    fail("could hold only %d connections" % h.max_held)
times = []
for i in range(6):
    # Every other client writes 20 ms after connect(): a flood of newer
    # connections must not push it out meanwhile.
    delay = 0.02 if i % 2 else 0.0
    who = ("scrape" if mode == "http" else "show services") + (" writing 20 ms after connect()" if delay else "")
    if mode != "http" and not delay:
        who = "limpetctl show services"
    try:
        if mode == "http":
            t, data = scrape(delay)
            ok = data.startswith(b"HTTP/1.1 200 ") and b"limpet_uptime_seconds" in data
            what = data[:40]
        elif delay:
            t, data = ctl_raw(delay)
            ok = data.endswith(b"OK\n")
            what = data[-40:]
        else:
            t, r = limpetctl(sys.argv[5])
            ok = r.returncode == 0
            what = (r.returncode, r.stdout[:40], r.stderr[:200])
    except (OSError, subprocess.TimeoutExpired) as e:
        t, ok, what = timeout_s, False, e
    times.append(t)
    if ok and t <= timeout_s:
        print("ok: %s answered in %.3f s with %d connections held" % (who, t, h.held()), flush=True)
    else:
        fail("%s not answered within %.0f s (%.3f s) with %d held: %r" % (who, timeout_s, t, h.held(), what))
print("figure: %s answered in max %.3f s, median %.3f s, while the holder kept %d connections open "
      "(%d reopened after limpet closed them)" % (mode, max(times), sorted(times)[len(times) // 2], n_conns, h.reopened), flush=True)
if mode == "http":
    data = nul_request()
    if data.startswith(b"HTTP/1.1 400 ") and b"NUL" in data:
        print("ok: a request head with a NUL was refused with 400 at once", flush=True)
    else:
        fail("a request head with a NUL got %r (expected 400 at once)" % data[:60])
h.stop = True
h.thread.join(10)
sys.exit(1 if failures else 0)
