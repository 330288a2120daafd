/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Writes the capture the obs test replays: N TCP SYNs from 250 clients to
 * the VIP 10.0.0.100:80, then one frame for no service and one truncated
 * frame, so drops show up in every exporter.
 *
 *   obs_mkpcap OUT.pcap N
 */
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>

#include "lp_pkt.h"

static int
frame(pcap_dumper_t *d, const char *src, uint16_t sport, const char *dst, uint16_t dport, uint32_t cut)
{
	static const struct lp_mac own = { { 0x02, 0, 0, 0, 0, 0x01 } };
	struct lp_pkt_spec s = { 0 };
	struct pcap_pkthdr h = { 0 };
	uint8_t f[256];
	int len;

	s.src_mac = (struct lp_mac){ { 0x02, 0, 0, 0, 0, 0xfe } };
	s.dst_mac = own;
	if (lp_ip_parse(src, &s.src) != 0 || lp_ip_parse(dst, &s.dst) != 0)
		return -1;
	s.proto = IPPROTO_TCP;
	s.sport = sport;
	s.dport = dport;
	s.tcp_flags = LP_TCP_SYN;
	s.ttl = 64;
	s.payload = "obs";
	s.payload_len = 3;
	len = lp_pkt_build(f, sizeof(f), &s);
	if (len <= 0)
		return -1;
	if (cut != 0 && cut < (uint32_t)len)
		len = (int)cut;
	h.caplen = h.len = (bpf_u_int32)len;
	pcap_dump((u_char *)d, &h, f);
	return 0;
}

int
main(int argc, char **argv)
{
	pcap_t *p;
	pcap_dumper_t *d;
	long n;

	if (argc != 3 || (n = strtol(argv[2], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: %s OUT.pcap N\n", argv[0]);
		return 2;
	}
	p = pcap_open_dead(DLT_EN10MB, 65535);
	d = pcap_dump_open(p, argv[1]);
	if (d == NULL) {
		fprintf(stderr, "%s: %s\n", argv[1], pcap_geterr(p));
		return 1;
	}
	for (long i = 0; i < n; i++) {
		char cip[32];

		snprintf(cip, sizeof(cip), "172.16.%ld.%ld", i % 250 / 50, i % 50 + 1);
		if (frame(d, cip, (uint16_t)(10000 + i / 250), "10.0.0.100", 80, 0) != 0)
			return 1;
	}
	if (frame(d, "172.16.9.9", 999, "10.0.0.200", 80, 0) != 0 || frame(d, "172.16.9.9", 999, "10.0.0.100", 80, 30) != 0)
		return 1;
	pcap_dump_close(d);
	pcap_close(p);
	return 0;
}
