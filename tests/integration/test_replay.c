/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Replay mode of the real binary: write a capture, run
 *   limpet -l 0-1 --no-pci --no-huge --no-shconf -m 1024 \
 *     --vdev net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap -- --config cfg.yaml --idle-exit 500
 * and check the output capture: addresses, ports, MACs, checksums, counts.
 */
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lp_pkt.h"
#include "lp_test.h"

static const char *limpet;
static char dir[] = "/tmp/limpet-replay-XXXXXX";

static const char config_yaml[] =
	"ports:\n"
	"  - { name: wan, device: net_pcap0, address: 10.0.0.1/24, gateway: 10.0.0.254, mac: \"02:00:00:00:00:01\" }\n"
	"neighbors:\n"
	"  - { address: 10.0.0.254, mac: \"02:00:00:00:00:fe\", port: wan }\n"
	"  - { address: 10.0.0.11, mac: \"02:00:00:00:01:0b\", port: wan }\n"
	"  - { address: 10.0.0.12, mac: \"02:00:00:00:01:0c\", port: wan }\n"
	"services:\n"
	"  - name: web\n"
	"    vip: 10.0.0.100\n"
	"    port: 80\n"
	"    sessionAffinity: ClientIP\n"
	"    backends: [ { address: 10.0.0.11, port: 8080 }, { address: 10.0.0.12, port: 8080 } ]\n"
	"  - name: dns\n"
	"    vip: 10.0.0.100\n"
	"    port: 53\n"
	"    protocol: UDP\n"
	"    forwarding: dsr\n"
	"    backends: [ { address: 10.0.0.11, port: 53 } ]\n";

#define N_CLIENTS 50
#define N_CONNS 4

static const struct lp_mac own = { { 0x02, 0, 0, 0, 0, 0x01 } };

static void
dump(pcap_dumper_t *d, const uint8_t *f, int len)
{
	struct pcap_pkthdr h = { .caplen = (bpf_u_int32)len, .len = (bpf_u_int32)len };

	pcap_dump((u_char *)d, &h, f);
}

static void
frame(pcap_dumper_t *d, const char *src, uint16_t sport, const char *dst, uint16_t dport, uint8_t proto,
      uint8_t flags)
{
	struct lp_pkt_spec s = { 0 };
	uint8_t f[256];
	int len;

	s.src_mac = (struct lp_mac){ { 0x02, 0, 0, 0, 0, 0xfe } };
	s.dst_mac = own;
	lp_ip_parse(src, &s.src);
	lp_ip_parse(dst, &s.dst);
	s.proto = proto;
	s.sport = sport;
	s.dport = dport;
	s.tcp_flags = flags;
	s.payload = "replay";
	s.payload_len = 6;
	len = lp_pkt_build(f, sizeof(f), &s);
	CU_ASSERT_FATAL(len > 0);
	dump(d, f, len);
}

static int
run_limpet(void)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd),
		 "cd %s && %s -l 0-1 --no-pci --no-huge --no-shconf -m 1024 "
		 "--vdev net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap -- --config cfg.yaml --idle-exit 500 "
		 ">limpet.out 2>&1",
		 dir, limpet);
	return system(cmd);
}

static void
test_replay_of_a_capture(void)
{
	char path[256], err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_dead(DLT_EN10MB, 65535);
	pcap_dumper_t *d;
	FILE *cfg;
	struct pcap_pkthdr *h;
	const u_char *data;
	int status, be_of[N_CLIENTS], tcp = 0, replies = 0, udp = 0, arp = 0, other = 0;

	snprintf(path, sizeof(path), "%s/cfg.yaml", dir);
	cfg = fopen(path, "w");
	CU_ASSERT_FATAL(cfg != NULL);
	fputs(config_yaml, cfg);
	fclose(cfg);
	snprintf(path, sizeof(path), "%s/in.pcap", dir);
	d = pcap_dump_open(p, path);
	CU_ASSERT_FATAL(d != NULL);
	for (int c = 0; c < N_CLIENTS; c++) {
		char cip[32];

		snprintf(cip, sizeof(cip), "172.16.1.%d", c + 1);
		for (int k = 0; k < N_CONNS; k++)
			frame(d, cip, (uint16_t)(1000 + k), "10.0.0.100", 80, IPPROTO_TCP, LP_TCP_SYN);
		frame(d, cip, 5353, "10.0.0.100", 53, IPPROTO_UDP, 0);
	}
	/* Replies from both backends to client 1, and two packets limpet must
	 * drop: a truncated frame and one for no service. */
	frame(d, "10.0.0.11", 8080, "172.16.1.1", 1000, IPPROTO_TCP, LP_TCP_SYN | LP_TCP_ACK);
	frame(d, "10.0.0.12", 8080, "172.16.1.1", 1001, IPPROTO_TCP, LP_TCP_SYN | LP_TCP_ACK);
	{
		static const uint8_t runt[20] = { 0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 0xfe, 0x08, 0x00, 0x45 };

		dump(d, runt, sizeof(runt));
	}
	frame(d, "172.16.1.1", 1000, "10.0.0.200", 80, IPPROTO_TCP, LP_TCP_SYN);
	pcap_dump_close(d);
	pcap_close(p);

	status = run_limpet();
	CU_ASSERT_FATAL(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	snprintf(path, sizeof(path), "%s/out.pcap", dir);
	p = pcap_open_offline(path, err);
	CU_ASSERT_FATAL(p != NULL);
	for (int c = 0; c < N_CLIENTS; c++)
		be_of[c] = -1;
	while (pcap_next_ex(p, &h, &data) == 1) {
		struct lp_pkt_meta m;
		uint16_t stored;

		CU_ASSERT_FATAL(lp_pkt_parse(data, h->caplen, &m) == LP_DROP_NONE);
		CU_ASSERT(memcmp(data + 6, own.b, 6) == 0);
		if (m.cls == LP_PKT_ARP) {	/* gratuitous ARP at start */
			arp++;
			continue;
		}
		CU_ASSERT(lp_csum_fold(lp_csum_partial(data + m.l3_off, 20, 0)) == 0xffff);
		memcpy(&stored, data + m.l4_off + (m.key.proto == IPPROTO_TCP ? 16 : 6), 2);
		CU_ASSERT(stored == lp_l4_cksum(data, &m));
		CU_ASSERT(m.ttl == 63);
		if (m.key.proto == IPPROTO_TCP && m.key.dport == htons(8080)) {
			/* NAT to a backend; one backend per client */
			int c = m.key.src[3] - 1;

			CU_ASSERT(m.key.dst[0] == 10 && (m.key.dst[3] == 11 || m.key.dst[3] == 12));
			CU_ASSERT(data[5] == m.key.dst[3]);	/* its MAC */
			CU_ASSERT(c >= 0 && c < N_CLIENTS);
			if (be_of[c] < 0)
				be_of[c] = m.key.dst[3];
			CU_ASSERT(be_of[c] == m.key.dst[3]);
			tcp++;
		} else if (m.key.proto == IPPROTO_TCP && m.key.sport == htons(80)) {
			/* reply translated back to the VIP, to the gateway's MAC */
			CU_ASSERT(m.key.src[3] == 100 && m.key.dst[3] == 1);
			CU_ASSERT(data[5] == 0xfe);
			replies++;
		} else if (m.key.proto == IPPROTO_UDP) {
			/* DSR: addresses untouched, backend's MAC */
			CU_ASSERT(m.key.dst[3] == 100 && m.key.dport == htons(53));
			CU_ASSERT(data[5] == 0x0b);
			udp++;
		} else {
			other++;
		}
	}
	pcap_close(p);
	printf("\n    out.pcap: %d NAT, %d replies, %d DSR, %d ARP, %d other\n", tcp, replies, udp, arp, other);
	CU_ASSERT(tcp == N_CLIENTS * N_CONNS);
	CU_ASSERT(replies == 2);
	CU_ASSERT(udp == N_CLIENTS);
	CU_ASSERT(other == 0);
	CU_ASSERT(arp >= 1);
	/* Both backends used, and the summary printed the drops. */
	{
		int n11 = 0, n12 = 0;
		char line[512];
		bool truncated = false, no_service = false;

		for (int c = 0; c < N_CLIENTS; c++) {
			n11 += be_of[c] == 11;
			n12 += be_of[c] == 12;
		}
		CU_ASSERT(n11 > 0 && n12 > 0);
		snprintf(path, sizeof(path), "%s/limpet.out", dir);
		cfg = fopen(path, "r");
		CU_ASSERT_FATAL(cfg != NULL);
		while (fgets(line, sizeof(line), cfg) != NULL) {
			truncated |= strstr(line, "drop truncated") != NULL && strstr(line, " 1") != NULL;
			no_service |= strstr(line, "drop no_service") != NULL && strstr(line, " 1") != NULL;
		}
		fclose(cfg);
		CU_ASSERT(truncated);
		CU_ASSERT(no_service);
	}
}

/* The summary's count for drop reason @name in limpet.out, or -1. */
static long long
summary_drop(const char *name)
{
	char path[256], line[512], got[64];
	long long n = -1, v;
	FILE *f;

	snprintf(path, sizeof(path), "%s/limpet.out", dir);
	f = fopen(path, "r");
	CU_ASSERT_FATAL(f != NULL);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, " drop %63s %lld", got, &v) == 2 && strcmp(got, name) == 0)
			n = v;
	fclose(f);
	return n;
}

/*
 * RFC 1812 5.2.2 through the real binary: net_pcap gives no checksum
 * verdict, so limpet checks IPv4 headers itself. Every single bit of the
 * 20-byte header of a good SYN is flipped in turn (version, IHL, TOS,
 * length, ID, flags, fragment offset, TTL, protocol, checksum, addresses):
 * none of the 160 frames may leave, and each one the parser accepts is
 * counted as bad_cksum. The good frames between them all leave.
 */
static void
test_replay_drops_ipv4_header_bit_flips(void)
{
	char path[256], err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_dead(DLT_EN10MB, 65535);
	struct pcap_pkthdr *h;
	const u_char *data;
	pcap_dumper_t *d;
	int status, good = 0, flipped_out = 0, parse_ok = 0;
	FILE *cfg;

	snprintf(path, sizeof(path), "%s/cfg.yaml", dir);
	cfg = fopen(path, "w");
	CU_ASSERT_FATAL(cfg != NULL);
	fputs(config_yaml, cfg);
	fclose(cfg);
	snprintf(path, sizeof(path), "%s/in.pcap", dir);
	d = pcap_dump_open(p, path);
	CU_ASSERT_FATAL(d != NULL);
	for (int bit = 0; bit < 160; bit++) {
		struct lp_pkt_spec s = { .src_mac = { { 0x02, 0, 0, 0, 0, 0xfe } }, .dst_mac = own,
					 .proto = IPPROTO_TCP, .sport = (uint16_t)(30000 + bit), .dport = 80,
					 .tcp_flags = LP_TCP_SYN, .ip_id = 0x4242, .df = true };
		struct lp_pkt_meta m;
		uint8_t f[256];
		int len;

		lp_ip_parse("172.16.9.1", &s.src);
		lp_ip_parse("10.0.0.100", &s.dst);
		len = lp_pkt_build(f, sizeof(f), &s);
		CU_ASSERT_FATAL(len > 0);
		f[14 + bit / 8] ^= (uint8_t)(0x80 >> bit % 8);
		/* What the binary's parser will say, checksum aside. */
		parse_ok += lp_pkt_parse(f, (uint32_t)len, &m) == LP_DROP_NONE;
		dump(d, f, len);
		/* A good SYN of another client after each. */
		s.sport = 1000;
		lp_ip_parse("172.16.8.1", &s.src);
		s.src.a[3] = (uint8_t)(1 + bit % 200);
		s.src.a[2] = (uint8_t)(8 + bit / 200);
		len = lp_pkt_build(f, sizeof(f), &s);
		dump(d, f, len);
	}
	pcap_dump_close(d);
	pcap_close(p);

	status = run_limpet();
	CU_ASSERT_FATAL(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	snprintf(path, sizeof(path), "%s/out.pcap", dir);
	p = pcap_open_offline(path, err);
	CU_ASSERT_FATAL(p != NULL);
	while (pcap_next_ex(p, &h, &data) == 1) {
		struct lp_pkt_meta m;

		if (lp_pkt_parse(data, h->caplen, &m) != LP_DROP_NONE || m.cls != LP_PKT_L4)
			continue;
		good += ntohs(m.key.sport) == 1000;
		flipped_out += ntohs(m.key.sport) >= 30000 && ntohs(m.key.sport) < 30160;
	}
	pcap_close(p);
	printf("\n    160 flipped headers: %d parse, %lld counted bad_cksum, %d forwarded; %d of 160 good SYNs out\n",
	       parse_ok, summary_drop("bad_cksum"), flipped_out, good);
	CU_ASSERT(flipped_out == 0);
	CU_ASSERT(good == 160);
	CU_ASSERT(parse_ok > 100);
	CU_ASSERT(summary_drop("bad_cksum") == parse_ok);
}

static int
suite_init(void)
{
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
suite_cleanup(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	static const struct lp_test_case cases[] = {
		{ "replay of a capture through the real binary", test_replay_of_a_capture },
		{ "replay drops every IPv4 header bit flip", test_replay_drops_ipv4_header_bit_flips },
		{ NULL, NULL },
	};
	static const struct lp_test_suite suites[] = {
		{ "replay", suite_init, suite_cleanup, cases },
		{ NULL, NULL, NULL, NULL },
	};

	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH-TO-LIMPET\n", argv[0]);
		return EXIT_FAILURE;
	}
	/* The test runs limpet from a temporary directory. */
	limpet = realpath(argv[1], NULL);
	if (limpet == NULL) {
		perror(argv[1]);
		return EXIT_FAILURE;
	}
	return lp_test_run(suites);
}
