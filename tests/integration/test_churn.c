/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Live changes under load: a producer thread streams packets of established
 * flows (with and without ClientIP affinity) through two workers while the
 * control thread makes more than a thousand random changes to *other*
 * backends (add, remove, weight, drain, down, up). Not one packet may be
 * lost or misdirected, and not one established flow may move.
 */
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "itest.h"
#include "lp_test.h"

#define N_FLOWS 2000		/* per service */
#define N_PACKETS 200000
#define N_CHANGES 1200
#define N_OTHERS 6		/* 10.1.0.13 .. 10.1.0.18 */

static const char config_yaml[] =
	"ports:\n"
	"  - { name: wan, device: net_ring_wan, address: 10.0.0.1/24, gateway: 10.0.0.254 }\n"
	"  - { name: lan, device: net_ring_lan, address: 10.1.0.1/24 }\n"
	"neighbors:\n"
	"  - { address: 10.0.0.254, mac: \"02:00:00:00:00:fe\", port: wan }\n"
	"  - { address: 10.1.0.11, mac: \"02:00:00:00:01:11\", port: lan }\n"
	"  - { address: 10.1.0.12, mac: \"02:00:00:00:01:12\", port: lan }\n"
	"  - { address: 10.1.0.13, mac: \"02:00:00:00:01:13\", port: lan }\n"
	"  - { address: 10.1.0.14, mac: \"02:00:00:00:01:14\", port: lan }\n"
	"  - { address: 10.1.0.15, mac: \"02:00:00:00:01:15\", port: lan }\n"
	"  - { address: 10.1.0.16, mac: \"02:00:00:00:01:16\", port: lan }\n"
	"  - { address: 10.1.0.17, mac: \"02:00:00:00:01:17\", port: lan }\n"
	"  - { address: 10.1.0.18, mac: \"02:00:00:00:01:18\", port: lan }\n"
	"services:\n"
	"  - { name: plain, vip: 10.0.0.100, port: 80, backends: [\n"
	"      { address: 10.1.0.11, port: 8080 }, { address: 10.1.0.12, port: 8080 } ] }\n"
	"  - { name: sticky, vip: 10.0.0.101, port: 80, sessionAffinity: ClientIP, backends: [\n"
	"      { address: 10.1.0.11, port: 8081 }, { address: 10.1.0.12, port: 8081 } ] }\n";

static struct itest_port wan, lan;
static struct lp_ctl *ctl;

/* flow f (0..2*N_FLOWS-1): service f / N_FLOWS, client f % N_FLOWS */
static uint8_t flow_be[2 * N_FLOWS];
static uint8_t frames[2 * N_FLOWS][128];
static uint32_t frame_len[2 * N_FLOWS];
static atomic_bool producing;
static _Atomic uint64_t received, misdirected, unknown;

static int
flow_of(const struct lp_pkt_meta *m)
{
	unsigned int c = itest_client_index(m->key.src);
	uint16_t dport = ntohs(m->key.dport);

	if (c >= N_FLOWS || (dport != 8080 && dport != 8081))
		return -1;
	return (int)((dport - 8080) * N_FLOWS + c);
}

static int
suite_init(void)
{
	if (itest_port_create(&wan, "wan", 2) != 0 || itest_port_create(&lan, "lan", 2) != 0)
		return -1;
	ctl = itest_start(config_yaml);
	return ctl == NULL ? -1 : 0;
}

static int
suite_cleanup(void)
{
	itest_stop(ctl);
	return 0;
}

static void *
producer(void *arg)
{
	(void)arg;
	for (unsigned int k = 0; k < N_PACKETS; k++) {
		unsigned int f = k % (2 * N_FLOWS);

		/* At most 4096 packets in flight: the test's own consumer shares
		 * two CPUs with the workers, and the transmit rings must not
		 * overflow because of it (a real NIC drains them). */
		while (k - atomic_load(&received) > 4096)
			rte_delay_us_sleep(20);
		itest_inject(&wan, frames[f], frame_len[f]);
	}
	atomic_store(&producing, false);
	return NULL;
}

static void *
consumer(void *arg)
{
	uint64_t deadline = 0;

	(void)arg;
	while (atomic_load(&received) < N_PACKETS) {
		bool any = false;

		for (uint32_t q = 0; q < lan.nq; q++) {
			struct rte_mbuf *m[64];
			unsigned int n = rte_ring_sc_dequeue_burst(lan.tx[q], (void **)m, 64, NULL);

			for (unsigned int i = 0; i < n; i++) {
				struct lp_pkt_meta meta;
				int f = -1;

				if (lp_pkt_parse(rte_pktmbuf_mtod(m[i], uint8_t *), m[i]->data_len, &meta) ==
				    LP_DROP_NONE)
					f = flow_of(&meta);
				if (f < 0)
					atomic_fetch_add(&unknown, 1);
				else if (meta.key.dst[3] != flow_be[f])
					atomic_fetch_add(&misdirected, 1);
				atomic_fetch_add(&received, 1);
				rte_pktmbuf_free(m[i]);
			}
			any |= n > 0;
		}
		if (!any) {
			/* Once the producer is done, give the workers 10 s to drain. */
			if (!atomic_load(&producing) && deadline == 0)
				deadline = rte_get_tsc_cycles() + 10 * rte_get_tsc_hz();
			if (deadline != 0 && rte_get_tsc_cycles() > deadline)
				break;
			rte_delay_us_sleep(50);
		}
	}
	return NULL;
}

static void
test_changes_under_load_lose_and_move_nothing(void)
{
	static uint8_t out[2 * N_FLOWS][2048];
	static uint32_t lens[2 * N_FLOWS];
	bool present[N_OTHERS] = { false };
	struct lp_stats *st = malloc(sizeof(*st));
	unsigned int changes = 0, adds = 0, dels = 0;
	uint64_t worst = 0;
	pthread_t prod, cons;
	char cip[32];
	uint32_t seed = 12345;

	CU_ASSERT_FATAL(st != NULL);
	/* Establish the flows (SYN), learn their backends, build their ACKs. */
	for (unsigned int f = 0; f < 2 * N_FLOWS; f++) {
		uint8_t syn[128];
		int len;

		itest_client_ip(cip, sizeof(cip), 18, f % N_FLOWS);
		len = itest_frame(syn, sizeof(syn), NULL, cip, 3333, f < N_FLOWS ? "10.0.0.100" : "10.0.0.101", 80,
				  IPPROTO_TCP, LP_TCP_SYN);
		CU_ASSERT_FATAL(itest_inject(&wan, syn, (uint32_t)len) == 0);
		len = itest_frame(frames[f], sizeof(frames[f]), NULL, cip, 3333,
				  f < N_FLOWS ? "10.0.0.100" : "10.0.0.101", 80, IPPROTO_TCP, LP_TCP_ACK);
		frame_len[f] = (uint32_t)len;
	}
	CU_ASSERT_FATAL(itest_collect(ctl, &lan, 2 * N_FLOWS, 20000, out, lens) == 2 * N_FLOWS);
	for (unsigned int k = 0; k < 2 * N_FLOWS; k++) {
		struct lp_pkt_meta m;
		int f;

		CU_ASSERT_FATAL(lp_pkt_parse(out[k], lens[k], &m) == LP_DROP_NONE);
		f = flow_of(&m);
		CU_ASSERT_FATAL(f >= 0);
		flow_be[f] = m.key.dst[3];
	}
	lp_ctl_stats_clear(ctl);
	atomic_store(&producing, true);
	pthread_create(&cons, NULL, consumer, NULL);
	pthread_create(&prod, NULL, producer, NULL);
	/* Random changes to the other backends while the stream runs. */
	while (changes < N_CHANGES || atomic_load(&producing)) {
		const char *svc = (seed & 1) ? "plain" : "sticky";
		uint16_t port = (seed & 1) ? 8080 : 8081;
		unsigned int o = (seed >> 1) % N_OTHERS, op = (seed >> 4) % 6;
		struct lp_ip a = { .family = LP_AF_INET, .a = { 10, 1, 0, (uint8_t)(13 + o) } };
		struct lp_diag d = { 0 };
		int ret = 0;

		seed = seed * 1103515245u + 12345u;
		/* A backend exists in both services or in neither. */
		if (!present[o]) {
			struct lp_cfg_backend b = { .addr = a, .weight = 1 + seed % 5 };

			b.port = 8080;
			ret |= lp_ctl_backend_add(ctl, "plain", &b, &d);
			b.port = 8081;
			ret |= lp_ctl_backend_add(ctl, "sticky", &b, &d);
			present[o] = true;
			adds++;
		} else if (op == 0) {
			ret |= lp_ctl_backend_del(ctl, "plain", &a, 8080, &d);
			ret |= lp_ctl_backend_del(ctl, "sticky", &a, 8081, &d);
			present[o] = false;
			dels++;
		} else if (op == 1) {
			ret = lp_ctl_backend_set_weight(ctl, svc, &a, port, seed % 10, &d);
		} else {
			static const enum lp_backend_state states[] = { LP_BACKEND_UP, LP_BACKEND_DRAINING,
									LP_BACKEND_DOWN, LP_BACKEND_UP };

			ret = lp_ctl_backend_set_state(ctl, svc, &a, port, states[op - 2], &d);
		}
		if (ret != 0)
			lp_diag_print(&d, stderr);
		CU_ASSERT(ret == 0);
		lp_diag_clear(&d);
		changes++;
		if (lp_ctl_last_change_cycles(ctl) > worst)
			worst = lp_ctl_last_change_cycles(ctl);
		lp_ctl_poll(ctl, rte_rdtsc());
	}
	pthread_join(prod, NULL);
	pthread_join(cons, NULL);
	lp_ctl_stats(ctl, st);
	printf("\n    %u changes (%u adds, %u removals) during %u packets: received %lu, misdirected %lu, "
	       "unknown %lu, drops %lu, slowest change visible after %.0f us (2 CPUs shared by 5 threads)\n",
	       changes, adds, dels, N_PACKETS, (unsigned long)atomic_load(&received),
	       (unsigned long)atomic_load(&misdirected), (unsigned long)atomic_load(&unknown),
	       (unsigned long)lp_stats_drops(st), (double)worst * 1e6 / (double)rte_get_tsc_hz());
	for (unsigned int r = 1; r < LP_DROP_MAX; r++)
		if (st->drop[r] != 0)
			printf("    drop %s: %lu\n", lp_drop_name(r), (unsigned long)st->drop[r]);
	CU_ASSERT(changes >= 1000);
	CU_ASSERT(atomic_load(&received) == N_PACKETS);
	CU_ASSERT(atomic_load(&misdirected) == 0);
	CU_ASSERT(atomic_load(&unknown) == 0);
	CU_ASSERT(lp_stats_drops(st) == 0);
	CU_ASSERT(st->c[LP_WC_flow_hit] == N_PACKETS);
	CU_ASSERT(st->c[LP_WC_flow_rechosen] == 0);
	free(st);
}

int
main(int argc, char **argv)
{
	static const struct lp_test_case cases[] = {
		{ "changes under load lose and move nothing", test_changes_under_load_lose_and_move_nothing },
		{ NULL, NULL },
	};
	static const struct lp_test_suite suites[] = {
		{ "churn", suite_init, suite_cleanup, cases },
		{ NULL, NULL, NULL, NULL },
	};

	(void)argc;
	return itest_main(argv[0], 2, suites);
}
