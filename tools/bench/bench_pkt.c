/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Cycles per packet of the packet core's per-packet functions.
 *
 * Frames sit in separate 2 KiB buffers, 32 to a burst, as a worker sees an
 * rx burst; each figure is the best of several runs of many passes over the
 * burst, in TSC cycles (reference cycles, not core cycles: on a CPU whose
 * core clock differs from its TSC the two differ by that ratio). The frames
 * stay in L1, so these are compute costs; cache misses on real mbufs come on
 * top and are the worker's prefetching business.
 *
 * Output: one "name value unit" line per figure.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <x86intrin.h>

#include "lp_pkt.h"

#define BURST 32
#define BUF_SIZE 2048
#define HEADROOM 128
#define PASSES 20000
#define RUNS 7

struct frame {
	uint8_t buf[BUF_SIZE];
	uint32_t len;
	struct lp_pkt_meta meta;
};

static struct frame burst[BURST];
static volatile uint32_t sink;

enum kind { V4_TCP, V4_UDP, V4_TCP_VLAN, V6_TCP, V6_UDP, V4_ICMP, KINDS };

static const char *const kind_names[KINDS] = { "v4_tcp", "v4_udp", "v4_tcp_vlan", "v6_tcp", "v6_udp", "v4_icmp" };

static void
build(struct frame *f, enum kind k, unsigned int i)
{
	struct lp_pkt_spec s = {
		.src_mac = { { 0x02, 0, 0, 0, 0, 1 } },
		.dst_mac = { { 0x02, 0, 0, 0, 0, 2 } },
		.sport = (uint16_t)(10000 + i),
		.dport = 80,
		.tcp_flags = LP_TCP_ACK,
		.payload_len = 6,	/* a 64-byte frame with FCS for IPv4 TCP */
	};
	bool v6 = k == V6_TCP || k == V6_UDP;

	lp_ip_parse(v6 ? "2001:db8::7" : "198.51.100.7", &s.src);
	lp_ip_parse(v6 ? "2001:db8:1::10" : "203.0.113.10", &s.dst);
	s.src.a[v6 ? 15 : 3] = (uint8_t)i;
	s.proto = k == V4_UDP || k == V6_UDP ? IPPROTO_UDP : k == V4_ICMP ? IPPROTO_ICMP : IPPROTO_TCP;
	if (k == V4_ICMP)
		s.icmp_type = 8;
	if (k == V4_TCP_VLAN)
		s.vlan = 100;
	int n = lp_pkt_build(f->buf + HEADROOM, BUF_SIZE - HEADROOM, &s);

	if (n < 0) {
		fprintf(stderr, "bench_pkt: build failed\n");
		exit(1);
	}
	f->len = (uint32_t)n;
}

static uint64_t
best_of(uint64_t (*run)(void))
{
	uint64_t best = UINT64_MAX;

	for (int r = 0; r < RUNS; r++) {
		uint64_t c = run();

		if (c < best)
			best = c;
	}
	return best;
}

static uint64_t
run_parse(void)
{
	uint64_t t0 = __rdtsc();
	uint32_t acc = 0;

	for (int p = 0; p < PASSES; p++)
		for (int i = 0; i < BURST; i++)
			acc += lp_pkt_parse(burst[i].buf + HEADROOM, burst[i].len, &burst[i].meta);
	sink = acc;
	return __rdtsc() - t0;
}

/* Parse then DNAT: the established-flow rewrite of NAT mode. */
static uint64_t
run_parse_dnat(void)
{
	static const uint8_t backend[16] = { 10, 1, 0, 11 };
	uint64_t t0 = __rdtsc();

	for (int p = 0; p < PASSES; p++)
		for (int i = 0; i < BURST; i++) {
			struct frame *f = &burst[i];

			lp_pkt_parse(f->buf + HEADROOM, f->len, &f->meta);
			lp_pkt_dnat(f->buf + HEADROOM, &f->meta, backend, htons(8080));
		}
	return __rdtsc() - t0;
}

/* The rewrites alone, on already parsed frames. */
static uint64_t
run_dnat(void)
{
	static const uint8_t backend[16] = { 10, 1, 0, 11 };
	uint64_t t0 = __rdtsc();

	for (int p = 0; p < PASSES; p++)
		for (int i = 0; i < BURST; i++)
			lp_pkt_dnat(burst[i].buf + HEADROOM, &burst[i].meta, backend, htons(8080));
	return __rdtsc() - t0;
}

static uint64_t
run_dec_ttl(void)
{
	uint64_t t0 = __rdtsc();
	uint32_t acc = 0;

	for (int p = 0; p < PASSES; p++)
		for (int i = 0; i < BURST; i++) {
			struct frame *f = &burst[i];

			/*
			 * Keep the TTL from running out over the passes; a 16-bit
			 * store, as the function's own load is 16-bit and a narrower
			 * store would stall its store forwarding.
			 */
			memcpy(f->buf + HEADROOM + f->meta.l3_off + 8, "\x40\x06", 2);
			acc += lp_pkt_dec_ttl(f->buf + HEADROOM, &f->meta);
		}
	sink = acc;
	return __rdtsc() - t0;
}

static struct lp_ip outer_src, outer_dst;

/*
 * Encapsulating the same buffer again overwrites the L2 header it moved the
 * time before; the work per call is the same, which is what is measured.
 */
static uint64_t
run_encap(void)
{
	uint64_t t0 = __rdtsc();
	uintptr_t acc = 0;

	for (int p = 0; p < PASSES; p++)
		for (int i = 0; i < BURST; i++)
			acc += (uintptr_t)lp_pkt_encap(burst[i].buf + HEADROOM, &burst[i].meta, &outer_src,
						       &outer_dst, 64, (uint32_t)i * 0x9e3779b9u);
	sink = (uint32_t)acc;
	return __rdtsc() - t0;
}

static void
fill(enum kind k)
{
	for (unsigned int i = 0; i < BURST; i++)
		build(&burst[i], k, i);
}

/* Every kind interleaved in a fixed pseudo-random order, as on a link carrying both families. */
static void
fill_mix(void)
{
	uint64_t x = 0x2545f4914f6cdd1dull;

	for (unsigned int i = 0; i < BURST; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		build(&burst[i], (enum kind)(x % KINDS), i);
	}
}

static void
report(const char *name, uint64_t cycles)
{
	printf("%s %.1f cycles/packet\n", name, (double)cycles / ((double)PASSES * BURST));
}

static void
parse_all(void)
{
	for (int i = 0; i < BURST; i++)
		if (lp_pkt_parse(burst[i].buf + HEADROOM, burst[i].len, &burst[i].meta) != LP_DROP_NONE) {
			fprintf(stderr, "bench_pkt: frame %d does not parse\n", i);
			exit(1);
		}
}

int
main(void)
{
	char name[64];

	for (int k = 0; k < KINDS; k++) {
		fill((enum kind)k);
		parse_all();
		snprintf(name, sizeof(name), "pkt_parse_%s", kind_names[k]);
		report(name, best_of(run_parse));
	}
	fill_mix();
	parse_all();
	report("pkt_parse_mix", best_of(run_parse));

	fill(V4_TCP);
	parse_all();
	report("pkt_dnat_v4_tcp", best_of(run_dnat));
	report("pkt_parse_dnat_v4_tcp", best_of(run_parse_dnat));
	fill(V6_TCP);
	parse_all();
	report("pkt_dnat_v6_tcp", best_of(run_dnat));
	fill(V4_TCP);
	parse_all();
	report("pkt_dec_ttl_v4", best_of(run_dec_ttl));

	lp_ip_parse("192.0.2.1", &outer_src);
	lp_ip_parse("10.1.0.11", &outer_dst);
	report("pkt_encap_v4_in_v4", best_of(run_encap));
	lp_ip_parse("2001:db8::1", &outer_src);
	lp_ip_parse("2001:db8:2::11", &outer_dst);
	fill(V6_TCP);
	parse_all();
	report("pkt_encap_v6_in_v6", best_of(run_encap));
	return 0;
}
