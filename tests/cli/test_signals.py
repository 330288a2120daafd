#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Issue 14 §4.4: a signal during start-up. limpet takes about half a
second to start (EAL, the model, the workers); signals that arrive
meanwhile must not kill it.

- SIGHUP 20, 50 and 100 ms after start (twice each): limpet survives,
  comes up, answers limpetctl and reloads its file once start-up is done
  (the log says "reloaded"); a SIGTERM then ends it with status 0 and
  its control socket removed.
- SIGTERM 20, 50 and 100 ms after start: limpet exits with status 0 and
  leaves no control socket behind.

The delays count from the moment the test started limpet; the shell of
a process that has not yet executed limpet's binary (a loaded machine)
is waited for first, because what comes before main() is no part of
limpet. The test says when that happened.

usage: test_signals.py LIMPET LIMPETCTL
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

LIMPET, LIMPETCTL = sys.argv[1:3]
EAL = ["-l", "0-1", "--no-pci", "--no-huge", "--no-shconf", "-m", "1024", "--log-level", "lib.eal:error",
       "--vdev", "net_null0,no-rx=1", "--vdev", "net_null1,no-rx=1"]
CONFIG = """\
ports:
  - { name: wan, device: net_null0, address: [10.0.0.1/24] }
  - { name: lan, device: net_null1, address: [10.1.0.1/24] }
neighbors:
  - { address: 10.1.0.11, mac: "02:00:00:00:01:0b", port: lan }
services:
  - name: web
    vip: 10.0.0.100
    port: 80
    backends: [ { address: 10.1.0.11, port: 8080 } ]
"""

failures = []
tmp = tempfile.mkdtemp(prefix="limpet-signals.")
cfg = os.path.join(tmp, "cfg.yaml")
with open(cfg, "w") as f:
    f.write(CONFIG)
running = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, file=sys.stderr)


def start(run):
    sock = os.path.join(tmp, "ctl%d.sock" % run)
    log = open(os.path.join(tmp, "limpet%d.log" % run), "w+")
    p = subprocess.Popen([LIMPET] + EAL + ["--file-prefix", "lpsig%d-%d" % (os.getpid(), run), "--",
                                           "--config", cfg, "--ctl-socket", sock],
                         stdout=log, stderr=subprocess.STDOUT)
    running.append(p)
    return p, sock, log, time.monotonic()


def exec_done(p):
    """True once the child runs limpet's binary (not the forked shell of it)."""
    try:
        return os.path.realpath("/proc/%d/exe" % p.pid) == os.path.realpath(LIMPET)
    except OSError:
        return True


def signal_at(p, t0, ms, sig):
    time.sleep(max(0.0, t0 + ms / 1000.0 - time.monotonic()))
    late = ""
    if not exec_done(p):
        while not exec_done(p):
            time.sleep(0.0005)
        late = " (waited for exec first)"
    p.send_signal(sig)
    return late


def ctl_ok(sock, *cmd):
    r = subprocess.run([LIMPETCTL, "-s", sock, "-t", "5"] + list(cmd), capture_output=True, text=True, timeout=30)
    return r.returncode == 0


def wait_exit(p, seconds=30):
    try:
        return p.wait(seconds)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return None


def read_log(log):
    log.flush()
    log.seek(0)
    return log.read()


def sighup_during_start_up(run, ms):
    p, sock, log, t0 = start(run)
    late = signal_at(p, t0, ms, signal.SIGHUP)
    what = "SIGHUP at %d ms%s" % (ms, late)
    deadline = time.monotonic() + 60
    up = False
    while time.monotonic() < deadline and p.poll() is None:
        if os.path.exists(sock) and ctl_ok(sock, "show", "services"):
            up = True
            break
        time.sleep(0.1)
    if not up:
        fail("%s: limpet did not come up (exit status %s):\n%s" % (what, p.poll(), read_log(log)))
        wait_exit(p, 1)
        return
    # The reload runs in the first pass of the control loop; poll the log.
    while time.monotonic() < deadline and "reloaded " + cfg not in read_log(log):
        time.sleep(0.05)
    if "reloaded " + cfg not in read_log(log):
        fail("%s: no reload once start-up was done:\n%s" % (what, read_log(log)))
    p.send_signal(signal.SIGTERM)
    rc = wait_exit(p)
    if rc != 0 or os.path.exists(sock):
        fail("%s: then SIGTERM: exit status %s, socket %s" % (what, rc, "left behind" if os.path.exists(sock) else "removed"))
    else:
        print("ok: %s: limpet came up, reloaded, stopped cleanly" % what)


def sigterm_during_start_up(run, ms):
    p, sock, log, t0 = start(run)
    late = signal_at(p, t0, ms, signal.SIGTERM)
    what = "SIGTERM at %d ms%s" % (ms, late)
    rc = wait_exit(p)
    if rc != 0:
        fail("%s: exit status %s (expected 0):\n%s" % (what, rc, read_log(log)))
    elif os.path.exists(sock):
        fail("%s: control socket %s left behind" % (what, sock))
    else:
        print("ok: %s: exit 0, no socket left" % what)


try:
    run = 0
    for ms in (20, 50, 100, 20, 50, 100):
        run += 1
        sighup_during_start_up(run, ms)
    for ms in (20, 50, 100):
        run += 1
        sigterm_during_start_up(run, ms)
finally:
    for p in running:
        if p.poll() is None:
            p.kill()
            p.wait()
    shutil.rmtree(tmp, ignore_errors=True)
if failures:
    print("%d check(s) failed" % len(failures), file=sys.stderr)
    sys.exit(1)
