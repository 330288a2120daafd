/* SPDX-License-Identifier: BSD-3-Clause */
/* Scenarios to pcap files and checks of pcap files: libpcap only, no EAL. */
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>

#include "gen.h"

int
gen_pcap_write(const struct gen_opts *o, const char *path, uint64_t count, double rate)
{
	struct gen_scen *s = malloc(sizeof(*s));
	uint64_t seq = 0, malformed = 0;
	pcap_dumper_t *d;
	pcap_t *p;
	uint8_t buf[1536];

	if (s == NULL || gen_scen_init(s, o) != 0) {
		free(s);
		return -1;
	}
	if (count == 0)
		count = gen_scen_pass_len(s) ? gen_scen_pass_len(s) : 10000;
	p = pcap_open_dead(DLT_EN10MB, 65535);
	d = p != NULL ? pcap_dump_open(p, path) : NULL;
	if (d == NULL) {
		fprintf(stderr, "limpet-gen: %s: %s\n", path, p != NULL ? pcap_geterr(p) : "cannot open");
		if (p != NULL)
			pcap_close(p);
		free(s);
		return -1;
	}
	/* @count scenario packets, plus the malformed frames slotted in. */
	for (uint64_t slot = 0; seq < count; slot++) {
		uint64_t ns = (uint64_t)((double)slot * 1e9 / rate);
		struct pcap_pkthdr h = {
			.ts = { .tv_sec = (time_t)(ns / 1000000000), .tv_usec = (suseconds_t)(ns % 1000000000 / 1000) },
		};
		uint16_t len = gen_scen_packet(s, seq, seq, buf);

		if (gen_is_malformed(o, slot)) {
			len = gen_malform(s, slot, buf, len);
			malformed++;
		} else {
			seq++;
		}
		h.caplen = h.len = len;
		pcap_dump((u_char *)d, &h, buf);
	}
	pcap_dump_close(d);
	pcap_close(p);
	printf("gen_pcap_pkts %" PRIu64 " packets\n", seq + malformed);
	printf("gen_pcap_malformed %" PRIu64 " packets\n", malformed);
	free(s);
	return 0;
}

int
gen_pcap_check(const struct gen_opts *o, const char *path)
{
	char err[PCAP_ERRBUF_SIZE];
	uint64_t n = 0, count[GV_MAX] = { 0 }, bad = 0;
	struct pcap_pkthdr *h;
	const u_char *data;
	pcap_t *p = pcap_open_offline(path, err);
	int r;

	if (p == NULL) {
		fprintf(stderr, "limpet-gen: %s: %s\n", path, err);
		return 1;
	}
	while ((r = pcap_next_ex(p, &h, &data)) == 1) {
		enum gen_verdict v = gen_check(o, data, h->caplen);

		n++;
		count[v]++;
		if (v != GV_OK && v != GV_OTHER && bad++ < 5)
			fprintf(stderr, "limpet-gen: %s: frame %" PRIu64 ": %s\n", path, n, gen_verdict_names[v]);
	}
	pcap_close(p);
	printf("gen_rx_pkts %" PRIu64 " packets\n", n);
	printf("gen_rx_other %" PRIu64 " packets\n", count[GV_OTHER]);
	printf("gen_check_ok %" PRIu64 " packets\n", count[GV_OK]);
	printf("gen_check_bad %" PRIu64 " packets\n", bad);
	return bad == 0 ? 0 : 1;
}
