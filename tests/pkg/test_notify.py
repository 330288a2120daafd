#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""limpet under a service manager, without systemd as PID 1.

The test plays systemd: it binds the datagram socket named by NOTIFY_SOCKET,
sets WATCHDOG_USEC, and points JOURNAL_STREAM at the file limpet's stderr
goes to. It runs build/app/limpet with two workers over net_null ports
(no hugepages) and checks:

 1. READY=1 arrives only after limpet printed its `running` line, with a
    STATUS= line; nothing but STATUS= comes before it.
 2. WATCHDOG=1 arrives every quarter period while the workers loop.
 3. While worker 1 is held by the test hook (`test stall worker 1 MS`, only
    with --test-hooks), no WATCHDOG=1 arrives, STATUS= and a warning name
    the worker; afterwards the pets resume and STATUS= is restored.
 4. SIGHUP with a bad file: RELOADING=1, then READY=1 with a STATUS= line
    that says the reload was refused and why; a good file: "reloaded".
 5. Under the journal every log line carries a syslog priority (`<6>` for
    info, `<3>` for the refused reload, `<4>` for the stall), EAL's lines
    too, and nothing of the log is written twice (stdout stays free of it).
 6. SIGTERM: STOPPING=1 and exit 0.
 7. Without NOTIFY_SOCKET / JOURNAL_STREAM / --test-hooks nothing of this
    shows: no priority prefixes, and the `test` commands do not exist.

usage: test_notify.py LIMPET LIMPETCTL
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

LIMPET, LIMPETCTL = sys.argv[1], sys.argv[2]
WD_USEC = 400_000                   # pets every 100 ms, a stall reported after 200 ms
STALL_MS = 2000
EAL = ["--lcores", "0@0,1@1,2@1", "--no-pci", "--no-huge", "--no-shconf", "-m", "1024",
       "--vdev", "net_null0,no-rx=1", "--vdev", "net_null1,no-rx=1"]

CONFIG = """\
ports:
  - name: wan
    device: net_null0
    address: 10.0.0.1/24
  - name: lan
    device: net_null1
    address: 10.1.0.1/24
services:
  - name: web
    vip: 10.0.0.100
    port: 80
    backends:
      - { address: 10.1.0.11, weight: %d }
"""
BAD_CONFIG = CONFIG.replace("address: 10.1.0.1/24", "address: 10.1.0.1/24\n    mtu: 100")

failures = 0
checks = 0


def check(ok, what, detail=""):
    global failures, checks
    checks += 1
    if not ok:
        failures += 1
        print("FAIL: " + what + (("\n    " + detail.replace("\n", "\n    ")) if detail else ""),
              file=sys.stderr)
    else:
        print("ok: " + what)


class Manager:
    """The service manager's side of the notification socket."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.msgs = []              # (monotonic time, {key: value})

    def pump(self, timeout):
        """Read what arrives for up to `timeout` seconds; returns the new messages."""
        new = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return new
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                return new
            fields = {}
            for line in data.decode().split("\n"):
                k, _, v = line.partition("=")
                fields[k] = v
            m = (time.monotonic(), fields)
            self.msgs.append(m)
            new.append(m)

    def wait_for(self, key, value=None, timeout=30.0, contains=None):
        """The first new message with key (=value, or holding `contains`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for m in self.pump(min(0.2, deadline - time.monotonic())):
                v = m[1].get(key)
                if v is not None and (value is None or v == value) and (contains is None or contains in v):
                    return m
        return None


def ctl(sock, *words):
    return subprocess.run([LIMPETCTL, "-s", sock, *words], capture_output=True, text=True, timeout=30)


def read(path):
    with open(path, errors="replace") as f:
        return f.read()


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def managed_run(tmp):
    cfg = os.path.join(tmp, "limpet.yaml")
    with open(cfg, "w") as f:
        f.write(CONFIG % 1)
    ctl_sock = os.path.join(tmp, "ctl.sock")
    mgr = Manager(os.path.join(tmp, "notify.sock"))
    out_path, err_path = os.path.join(tmp, "stdout"), os.path.join(tmp, "stderr")
    out, err = open(out_path, "w"), open(err_path, "w")
    st = os.fstat(err.fileno())
    env = dict(os.environ, NOTIFY_SOCKET=os.path.join(tmp, "notify.sock"), WATCHDOG_USEC=str(WD_USEC),
               JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
    env.pop("WATCHDOG_PID", None)
    proc = subprocess.Popen([LIMPET, *EAL, "--file-prefix", "lpnotify%d" % os.getpid(), "--",
                             "--config", cfg, "--ctl-socket", ctl_sock, "--test-hooks"],
                            stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)
    try:
        managed_checks(proc, mgr, cfg, ctl_sock, err_path)
    finally:
        stop(proc)
        out.close()
        err.close()
    check(proc.returncode == 0, "limpet exits 0 after SIGTERM", "exit status %s" % proc.returncode)
    check(any("STOPPING" in m[1] for m in mgr.pump(0.5) + mgr.msgs), "STOPPING=1 on the way out")
    log, stdout = read(err_path), read(out_path)
    lines = [l for l in log.split("\n") if l]
    bad = [l for l in lines if not (len(l) > 3 and l[0] == "<" and l[1] in "01234567" and l[2] == ">")]
    check(lines and not bad, "every stderr line carries a syslog priority", "\n".join(bad[:5]))
    check(any(l.startswith("<6>EAL: ") or l.startswith("<7>EAL: ") for l in lines),
          "EAL's own messages go through the same priorities", log[:2000])
    check("EAL:" not in stdout and "limpet: running" not in stdout,
          "nothing of the log is written twice (stdout holds none of it)", stdout[:2000])


def managed_checks(proc, mgr, cfg, ctl_sock, err_path):
    # 1. READY=1, only after `running`.
    ready = mgr.wait_for("READY", "1", timeout=60)
    check(ready is not None, "READY=1 arrives", read(err_path)[-2000:])
    if ready is None:
        return
    log = read(err_path)
    check("limpet: running" in log, "READY=1 comes after limpet printed `running`", log[-2000:])
    check("<6>limpet: running: 2 workers" in log, "the running line is logged at info (<6>)", log[-2000:])
    # limpet logs "ready" right after sending READY=1: the log orders the two.
    log = read(err_path)
    check(0 <= log.find("limpet: running") < log.find("limpet: ready"),
          "the log shows `running` before `ready` (READY=1 sent)", log[-2000:])
    before = [m[1] for m in mgr.msgs if m[0] < ready[0]]
    check(all(set(m) <= {"STATUS"} for m in before), "nothing but STATUS= before READY=1", repr(before))
    check(ready[1].get("STATUS", "").startswith("running: 2 workers, 2 ports"),
          "READY=1 comes with STATUS=running: ...", repr(ready[1]))
    r = ctl(ctl_sock, "show", "services")
    check(r.returncode == 0, "the control socket answers once READY=1 was sent", r.stderr)

    # 2. Pets while the workers loop.
    t0 = time.monotonic()
    mgr.pump(1.5)
    pets = [m[0] for m in mgr.msgs if m[0] >= t0 and m[1].get("WATCHDOG") == "1"]
    gaps = [b - a for a, b in zip(pets, pets[1:])]
    check(len(pets) >= 8, "WATCHDOG=1 about every %d ms (%d in 1.5 s)" % (WD_USEC // 4000, len(pets)))
    check(gaps and max(gaps) < WD_USEC / 1e6, "no gap between pets reaches the watchdog period",
          "gaps: %s" % ["%.3f" % g for g in gaps])

    # 3. A stalled worker stops the pets.
    t_cmd = time.monotonic()
    r = ctl(ctl_sock, "test", "stall", "worker", "1", str(STALL_MS))
    t_stall = time.monotonic()
    check(r.returncode == 0 and "worker 1 stalled" in r.stdout, "the test hook stalls worker 1",
          r.stdout + r.stderr)
    mgr.pump(STALL_MS / 1000 + 1.5)
    pets = [m[0] for m in mgr.msgs if m[0] >= t_cmd and m[1].get("WATCHDOG") == "1"]
    # A pet already earned when the stall began may still come (one check
    # period, 100 ms, plus scheduling slack on a busy machine).
    during = [p - t_stall for p in pets if t_stall + 0.3 < p < t_cmd + STALL_MS / 1000 - 0.1]
    after = [p for p in pets if p > t_stall + STALL_MS / 1000]
    gaps = [b - a for a, b in zip(pets, pets[1:])]
    check(not during, "no WATCHDOG=1 while worker 1 is stalled",
          "pets at %s s into the stall" % ["%.3f" % p for p in during])
    check(gaps and max(gaps) >= STALL_MS / 1000 - 0.4,
          "the pets pause for about the stall (%.2f s)" % (max(gaps) if gaps else 0))
    check(len(after) >= 3, "WATCHDOG=1 resumes once the worker loops again (%d pets)" % len(after))
    stalled = [m for m in mgr.msgs if m[0] >= t_cmd and "stalled: worker 1 (lcore 2)" in m[1].get("STATUS", "")]
    check(bool(stalled), "STATUS= names the stalled worker",
          repr([m[1] for m in mgr.msgs if m[0] >= t_cmd and "STATUS" in m[1]]))
    restored = [m for m in mgr.msgs if stalled and m[0] > stalled[0][0] and
                m[1].get("STATUS", "").startswith("running: ")]
    check(bool(restored), "STATUS= is restored after the stall")
    log = read(err_path)
    check("<4>limpet: stalled: worker 1 (lcore 2)" in log, "the stall is logged as a warning (<4>)", log[-2000:])
    check("<5>limpet: workers pass quiescent states again" in log, "the recovery is logged (notice, <5>)",
          log[-2000:])

    # 4. Reloads: refused, then applied.
    with open(cfg, "w") as f:
        f.write(BAD_CONFIG % 1)
    t_hup = time.monotonic()
    proc.send_signal(signal.SIGHUP)
    again = mgr.wait_for("READY", "1", timeout=20)
    reloading = [m for m in mgr.msgs if m[0] >= t_hup and m[1].get("RELOADING") == "1"]
    check(bool(reloading) and again is not None and reloading[0][0] <= again[0],
          "SIGHUP: RELOADING=1, then READY=1", repr([m[1] for m in mgr.msgs if m[0] >= t_hup]))
    check(bool(reloading) and reloading[0][1].get("MONOTONIC_USEC", "").isdigit(),
          "RELOADING=1 carries MONOTONIC_USEC")
    status = again[1].get("STATUS", "") if again else ""
    check("reload refused" in status and "mtu: 100 is out of range" in status and "unchanged" in status,
          "a refused reload shows in STATUS= with its first problem", status)
    log = read(err_path)
    check("<3>limpet: reload of %s refused" % cfg in log, "the refused reload is logged as an error (<3>)",
          log[-2000:])
    check("<3>%s:" % cfg in log and "mtu: 100 is out of range" in log,
          "its file:line:col problem is logged as an error too", log[-2000:])
    with open(cfg, "w") as f:
        f.write(CONFIG % 3)
    proc.send_signal(signal.SIGHUP)
    again = mgr.wait_for("STATUS", contains="reloaded at", timeout=20)
    check(again is not None and again[1].get("READY") == "1", "a good reload: READY=1 and STATUS=...reloaded")
    r = ctl(ctl_sock, "show", "backends", "web")
    check(r.returncode == 0 and " 3 " in r.stdout, "the good reload was applied (weight 3)", r.stdout)


def plain_run(tmp):
    """No manager, no journal, no --test-hooks: nothing of the above shows."""
    cfg = os.path.join(tmp, "plain.yaml")
    with open(cfg, "w") as f:
        f.write(CONFIG % 1)
    ctl_sock = os.path.join(tmp, "plain.sock")
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "JOURNAL_STREAM")}
    err_path = os.path.join(tmp, "plain.err")
    with open(err_path, "w") as err, open(os.path.join(tmp, "plain.out"), "w") as out:
        proc = subprocess.Popen([LIMPET, *EAL, "--file-prefix", "lpplain%d" % os.getpid(), "--",
                                 "--config", cfg, "--ctl-socket", ctl_sock],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and ctl(ctl_sock, "show", "services").returncode != 0:
                time.sleep(0.2)
            r = ctl(ctl_sock, "test", "stall", "worker", "0", "10")
            check(r.returncode == 1, "without --test-hooks `test stall` is not a command", r.stdout + r.stderr)
            r = ctl(ctl_sock, "help")
            check(r.returncode == 0 and "test stall" not in r.stdout and "show services" in r.stdout,
                  "without --test-hooks `help` lists no test command")
        finally:
            stop(proc)
    text = read(os.path.join(tmp, "plain.out")) + read(err_path)
    check("limpet: running" in text and "<6>" not in text and "<3>" not in text,
          "without the journal, log lines carry no priority prefix", text[-1500:])


def main():
    with tempfile.TemporaryDirectory(prefix="limpet-notify.") as tmp:
        managed_run(tmp)
        plain_run(tmp)
    print("%d passed, %d failed" % (checks - failures, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
