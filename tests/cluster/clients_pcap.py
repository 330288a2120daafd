#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write a pcap of TCP handshakes (SYN, then ACK) for limpet's net_pcap port
to replay: N clients of each VIP given. Standard library only.

usage: clients_pcap.py OUT.pcap DST_MAC VIP:PORT:CLIENT_BASE:N[:syn] [...]
  client i of a group is CLIENT_BASE + i; with ":syn" the group's clients
  send a bare SYN only (no handshake: their bindings stay provisional).
"""
import ipaddress
import struct
import sys


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(dst_mac, src_mac, src, dst, sport, dport, flags, seq, ack):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    pseudo = src.packed + dst.packed + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, 6, 0, src.packed, dst.packed)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return dst_mac + src_mac + struct.pack("!H", 0x0800) + ip + tcp


def main():
    out, dst_mac = sys.argv[1:3]
    dst_mac = bytes.fromhex(dst_mac.replace(":", ""))
    t = 0
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for g, spec in enumerate(sys.argv[3:]):
            vip, port, base, n, *opt = spec.split(":")
            steps = ((0x02, 1000, 0),) if opt == ["syn"] else ((0x02, 1000, 0), (0x10, 1001, 1))
            vip, base, port, n = ipaddress.IPv4Address(vip), ipaddress.IPv4Address(base), int(port), int(n)
            for i in range(n):
                src = base + i
                src_mac = bytes([2, 0, 0, g, 0xAA, i & 0xFF])
                for flags, seq, ack in steps:
                    pkt = frame(dst_mac, src_mac, src, vip, 40000 + i, port, flags, seq, ack)
                    t += 1
                    f.write(struct.pack("<IIII", 1, t, len(pkt), len(pkt)) + pkt)


if __name__ == "__main__":
    main()
