/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The one list of reasons limpet drops a packet.
 *
 * Parser, data path, stats, CLI, telemetry and Prometheus all expand this
 * list, so adding a reason is one line here and every consumer follows.
 * Each entry: X(ENUM_SUFFIX, "metric/CLI name", "one-line meaning").
 */
#ifndef LP_DROP_H
#define LP_DROP_H

#define LP_DROP_REASONS(X) \
	/* lib/pkt: the frame itself is malformed or not ours to parse */ \
	X(TRUNCATED,      "truncated",      "frame ends inside a header") \
	X(UNSUPPORTED_L2, "unsupported_l2", "ethertype is not IPv4, IPv6, ARP or one 802.1Q tag of them") \
	X(BAD_VERSION,    "bad_version",    "IP version field disagrees with the ethertype") \
	X(BAD_IHL,        "bad_ihl",        "IPv4 header length below 20 bytes") \
	X(BAD_LEN,        "bad_len",        "IP length field below the header or beyond the frame") \
	X(BAD_CKSUM,      "bad_cksum",      "IPv4 header checksum wrong (the NIC's verdict, else checked in software)") \
	X(BAD_SRC_ADDR,   "bad_src_addr",   "source address is multicast, broadcast, loopback or unspecified") \
	X(BAD_FRAG,       "bad_frag",       "IP fragment with impossible offset or length") \
	X(BAD_EXT_HDR,    "bad_ext_hdr",    "IPv6 extension header chain too long or malformed") \
	X(BAD_TCP_HDR,    "bad_tcp_hdr",    "TCP data offset below 5 words or beyond the packet") \
	X(BAD_TCP_FLAGS,  "bad_tcp_flags",  "impossible TCP flag combination (SYN+FIN, SYN+RST, none)") \
	X(BAD_UDP_LEN,    "bad_udp_len",    "UDP length below 8 bytes or beyond the IP payload") \
	X(BAD_ICMP,       "bad_icmp",       "ICMP error whose quoted packet cannot be parsed") \
	X(BAD_ARP,        "bad_arp",        "ARP packet that is not Ethernet/IPv4") \
	X(OTHER_HOST,     "other_host",     "unicast frame for another station's MAC (net_af_packet ports see the whole segment)") \
	/* data path: the packet is well formed but limpet has nowhere to send it */ \
	X(TTL,            "ttl",            "TTL or hop limit would reach zero") \
	X(NO_SERVICE,     "no_service",     "not for a VIP, not a reply from a backend, not for limpet") \
	X(NO_BACKEND,     "no_backend",     "service has no usable backend") \
	X(NO_ROUTE,       "no_route",       "no next hop for the destination") \
	X(NO_NEIGHBOR,    "no_neighbor",    "next hop's MAC address is not resolved") \
	X(FRAG_AMBIGUOUS, "frag_ambiguous", "non-first fragment to a VIP that serves several ports") \
	X(TOO_BIG,        "too_big",        "packet exceeds the egress MTU and may not be fragmented") \
	X(NO_HEADROOM,    "no_headroom",    "no room in the buffer for the tunnel header") \
	X(ICMP_UNHANDLED, "icmp_unhandled", "ICMP type limpet neither answers nor steers") \
	X(SLOWPATH_FULL,  "slowpath_full",  "queue to the control thread is full") \
	X(TX_FULL,        "tx_full",        "transmit queue full") \
	X(HOLD_FULL,      "hold_full",      "queue of packets waiting for neighbor resolution is full") \
	/* the kernel exception path (ports[].kernelInterface) */ \
	X(KERNEL_RING_FULL, "kernel_ring_full", "queue to the kernel interface is full (exception traffic beyond what the control thread passes on)") \
	X(KERNEL_TX_FAIL, "kernel_tx_fail", "the kernel interface did not take the packet")

/** Why a packet was dropped; LP_DROP_NONE means it was not. */
enum lp_drop {
	LP_DROP_NONE = 0,
#define LP_DROP_ENUM(name, str, help) LP_DROP_##name,
	LP_DROP_REASONS(LP_DROP_ENUM)
#undef LP_DROP_ENUM
	LP_DROP_MAX
};

/** Metric/CLI name of a drop reason ("truncated", ...); "none" for LP_DROP_NONE. */
const char *lp_drop_name(enum lp_drop reason);

/** One-line description of a drop reason. */
const char *lp_drop_help(enum lp_drop reason);

#endif /* LP_DROP_H */
