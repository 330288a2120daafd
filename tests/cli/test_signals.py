#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Issue 14 §4.4: a signal during start-up. limpet takes about half a
second to start (EAL, the model, the workers); signals that arrive
meanwhile must not kill it.

- SIGHUP 20, 50 and 100 ms into start-up (twice each): limpet survives,
  comes up, answers limpetctl and reloads its file once start-up is done
  (the log says "reloaded"); a SIGTERM then ends it with status 0 and
  its control socket removed.
- SIGTERM 20, 50 and 100 ms into start-up: limpet exits with status 0
  and leaves no control socket behind.
- The same two signals sent at once, while they are still blocked: limpet
  is started with SIGHUP, SIGTERM and SIGINT blocked (a supervisor may
  hand that mask down), so each arrives before main() and stays pending:
  limpet must take it as soon as main() begins.

limpet is started with the default action for each signal (a signal it
does not handle ends it). "Into start-up" counts from main(): what comes
before it (the dynamic loader, the sanitizers' set-up) is no part of
limpet, and can take tens of milliseconds in a sanitizer build. The test
measures it first, as the longest of three `limpet --check-config` runs
(all of that and a little more), and adds it to each delay.

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


OURS = {signal.SIGHUP, signal.SIGTERM, signal.SIGINT}


def child_signals(blocked):
    """In the child, before exec: default actions, and blocked or not."""
    def setup():
        for sig in OURS:
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_BLOCK if blocked else signal.SIG_UNBLOCK, OURS)
    return setup


def start(run, blocked=False):
    sock = os.path.join(tmp, "ctl%d.sock" % run)
    log = open(os.path.join(tmp, "limpet%d.log" % run), "w+")
    p = subprocess.Popen([LIMPET] + EAL + ["--file-prefix", "lpsig%d-%d" % (os.getpid(), run), "--",
                                           "--config", cfg, "--ctl-socket", sock],
                         stdout=log, stderr=subprocess.STDOUT, preexec_fn=child_signals(blocked))
    running.append(p)
    return p, sock, log, time.monotonic()


def before_main():
    """An upper bound of the time from spawn to main(): --check-config, longest of three."""
    worst = 0.0
    for _ in range(3):
        t = time.monotonic()
        subprocess.run([LIMPET, "--check-config", cfg], stdout=subprocess.DEVNULL, check=True)
        worst = max(worst, time.monotonic() - t)
    return worst


def signal_at(p, t0, ms, sig):
    time.sleep(max(0.0, t0 + PRE_MAIN + ms / 1000.0 - time.monotonic()))
    p.send_signal(sig)
    return ""


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


def sighup_during_start_up(run, ms, blocked=False):
    p, sock, log, t0 = start(run, blocked)
    if blocked:
        p.send_signal(signal.SIGHUP)
        what = "SIGHUP while blocked, before main()"
    else:
        signal_at(p, t0, ms, signal.SIGHUP)
        what = "SIGHUP at %d ms" % ms
    n_failed = len(failures)
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
    elif len(failures) == n_failed:
        print("ok: %s: limpet came up, reloaded, stopped cleanly" % what)


def sigterm_during_start_up(run, ms, blocked=False):
    p, sock, log, t0 = start(run, blocked)
    if blocked:
        p.send_signal(signal.SIGTERM)
        what = "SIGTERM while blocked, before main()"
    else:
        signal_at(p, t0, ms, signal.SIGTERM)
        what = "SIGTERM at %d ms" % ms
    rc = wait_exit(p)
    if rc != 0:
        fail("%s: exit status %s (expected 0):\n%s" % (what, rc, read_log(log)))
    elif os.path.exists(sock):
        fail("%s: control socket %s left behind" % (what, sock))
    else:
        print("ok: %s: exit 0, no socket left" % what)


try:
    PRE_MAIN = before_main()
    print("spawn to main(): at most %.0f ms here (added to each delay)" % (PRE_MAIN * 1000))
    run = 0
    for ms in (20, 50, 100, 20, 50, 100):
        run += 1
        sighup_during_start_up(run, ms)
    for ms in (20, 50, 100):
        run += 1
        sigterm_during_start_up(run, ms)
    run += 1
    sighup_during_start_up(run, 0, blocked=True)
    run += 1
    sigterm_during_start_up(run, 0, blocked=True)
finally:
    for p in running:
        if p.poll() is None:
            p.kill()
            p.wait()
    shutil.rmtree(tmp, ignore_errors=True)
if failures:
    print("%d check(s) failed" % len(failures), file=sys.stderr)
    sys.exit(1)
