/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A spoofed SYN flood does not switch affinity off for later clients
 * (issue 14, item 5). Two workers, flows.capacity and affinity.capacity
 * 4096, one ClientIP service with two backends:
 *
 *  1. 1M SYNs from random sources (none completes a handshake): every
 *     binding they create stays provisional and none is confirmed.
 *  2. Once their flows aged out, 20 real clients complete a handshake:
 *     at least 19 get a binding, confirmed, on the backend their SYN went to.
 *  3. A second flood fills the table again: the control thread makes room
 *     by reclaiming provisional bindings only.
 *  4. A third backend is added; each real client opens a new connection:
 *     at least 19 of 20 keep their backend.
 *
 * First, on a quiet table: a UDP binding is confirmed by its flow's second
 * datagram.
 *
 * Before the fix every spoofed SYN left a binding living timeoutSeconds
 * (10800 s): the table stayed full and most real clients got none, so
 * Maglev placed them statelessly and the new backend took about a third.
 * Both builds (normal and sanitizers) run the full 1M.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_mempool.h>

#include "itest.h"
#include "lp_test.h"

#define FLOOD 1000000u
#define FLOOD2 (FLOOD / 5)
#define N_REAL 20
#define BATCH 512u
#define CAPACITY 4096u

static const char config_yaml[] =
	"ports:\n"
	"  - { name: wan, device: net_ring_wan, address: 10.0.0.1/24, gateway: 10.0.0.254 }\n"
	"  - { name: lan, device: net_ring_lan, address: 10.1.0.1/24 }\n"
	"neighbors:\n"
	"  - { address: 10.0.0.254, mac: \"02:00:00:00:00:fe\", port: wan }\n"
	"  - { address: 10.1.0.11, mac: \"02:00:00:00:01:0b\", port: lan }\n"
	"  - { address: 10.1.0.12, mac: \"02:00:00:00:01:0c\", port: lan }\n"
	"  - { address: 10.1.0.13, mac: \"02:00:00:00:01:0d\", port: lan }\n"
	"flows: { capacity: 4096, tcp_syn_timeout: 1 }\n"
	"affinity: { capacity: 4096 }\n"
	"services:\n"
	"  - name: web\n"
	"    vip: 10.0.0.100\n"
	"    port: 80\n"
	"    sessionAffinity: ClientIP\n"
	"    backends: [ { address: 10.1.0.11, port: 8080 }, { address: 10.1.0.12, port: 8080 } ]\n"
	"  - name: dns\n"
	"    vip: 10.0.0.100\n"
	"    port: 53\n"
	"    protocol: UDP\n"
	"    sessionAffinity: ClientIP\n"
	"    backends: [ { address: 10.1.0.11, port: 53 }, { address: 10.1.0.12, port: 53 } ]\n";

static struct itest_port wan, lan;
static struct lp_ctl *ctl;
static uint64_t rng = 0x9e3779b97f4a7c15ull;
/* backend (last address byte - 11) each real client's handshake went to, -1 if none */
static int backend_of[N_REAL];

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
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

static uint64_t
reason(enum lp_aff_reason r)
{
	struct lp_service_view v;

	CU_ASSERT_FATAL(lp_ctl_service_view_by_name(ctl, "web", &v) == 0);
	return v.aff[r];
}

/* @n SYNs from random spoofed sources in 11.0.0.0/8, random ports. Each is
 * forwarded (with a flow and a binding, or statelessly when a table is full). */
static void
flood(uint32_t n)
{
	uint8_t f[256];
	char ip[32];

	for (uint32_t i = 0; i < n; i += BATCH) {
		uint32_t k = n - i < BATCH ? n - i : BATCH;

		for (uint32_t j = 0; j < k; j++) {
			uint32_t a = rnd();
			int len;

			snprintf(ip, sizeof(ip), "11.%u.%u.%u", (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
			len = itest_frame(f, sizeof(f), NULL, ip, (uint16_t)(1024 + rnd() % 60000), "10.0.0.100", 80,
					  IPPROTO_TCP, LP_TCP_SYN);
			CU_ASSERT_FATAL(len > 0);
			CU_ASSERT_FATAL(itest_inject(&wan, f, (uint32_t)len) == 0);
		}
		CU_ASSERT_FATAL(itest_collect(ctl, &lan, k, 10000, NULL, NULL) == k);
	}
}

/* Real client i sends @flags on connection @sport; the backend it reached. */
static int
send_one(unsigned int i, uint16_t sport, uint8_t flags)
{
	static uint8_t out[1][2048];
	static uint32_t lens[1];
	struct lp_pkt_meta m;
	uint8_t f[256];
	char ip[32];
	int len;

	itest_client_ip(ip, sizeof(ip), 16, i);
	len = itest_frame(f, sizeof(f), NULL, ip, sport, "10.0.0.100", 80, IPPROTO_TCP, flags);
	CU_ASSERT_FATAL(len > 0);
	CU_ASSERT_FATAL(itest_inject(&wan, f, (uint32_t)len) == 0);
	if (itest_collect(ctl, &lan, 1, 5000, out, lens) != 1)
		return -1;
	CU_ASSERT_FATAL(lp_pkt_parse(out[0], lens[0], &m) == LP_DROP_NONE);
	CU_ASSERT(itest_client_index(m.key.src) == i);
	return m.key.dst[3] - 11;
}

struct one_binding {
	int n;
	bool provisional;
	int backend;
};

static int
binding_seen(void *ctx, const struct lp_binding_view *b)
{
	struct one_binding *o = ctx;

	o->n++;
	o->provisional = b->provisional;
	o->backend = b->bound ? b->backend.a[3] - 11 : -1;
	return 0;
}

static struct one_binding
binding_of(unsigned int i)
{
	struct one_binding o = { 0, false, -1 };
	struct lp_ip client;
	char ip[32];

	itest_client_ip(ip, sizeof(ip), 16, i);
	CU_ASSERT_FATAL(lp_ip_parse(ip, &client) == 0);
	lp_ctl_affinity_walk(ctl, "web", &client, binding_seen, &o);
	return o;
}

static uint32_t
provisional_bindings(void)
{
	struct lp_service_view v;

	CU_ASSERT_FATAL(lp_ctl_service_view_by_name(ctl, "web", &v) == 0);
	return v.bindings_provisional;
}

static void
test_flood_leaves_only_provisional_bindings(void)
{
	struct lp_table_view tv;

	flood(FLOOD);
	lp_ctl_table_view(ctl, &tv);
	printf("\n    after %u spoofed SYNs: bindings %u of %u, new %lu, confirmed %lu, reclaimed %lu, unconfirmed %lu,"
	       " provisional (last scan) %u, flows %lu of %lu\n",
	       FLOOD, tv.bindings, tv.binding_capacity, (unsigned long)reason(LP_AFF_NEW),
	       (unsigned long)reason(LP_AFF_CONFIRMED),
	       (unsigned long)reason(LP_AFF_RECLAIMED), (unsigned long)reason(LP_AFF_UNCONFIRMED), provisional_bindings(),
	       (unsigned long)tv.flows, (unsigned long)tv.flow_capacity);
	CU_ASSERT(tv.binding_capacity == CAPACITY);
	/* No spoofed SYN completed a handshake, so none confirmed a binding. */
	CU_ASSERT(reason(LP_AFF_CONFIRMED) == 0);
	/* Every SYN that found room in the flow table created a binding (the
	 * others went statelessly: the flow table was full too, until its
	 * half-open flows aged out): at least a table's worth, so the table
	 * neared full and the control thread made room in it; what did not
	 * fit was reclaimed or expired. */
	CU_ASSERT(reason(LP_AFF_NEW) >= CAPACITY * 15 / 16);
	CU_ASSERT(reason(LP_AFF_RECLAIMED) > 0);
	CU_ASSERT(reason(LP_AFF_RECLAIMED) + reason(LP_AFF_UNCONFIRMED) + CAPACITY >= reason(LP_AFF_NEW));
	itest_assert_workers_balance(ctl);
}

static void
test_real_clients_get_confirmed_bindings_after_flood(void)
{
	uint64_t deadline = rte_get_tsc_cycles() + 30 * rte_get_tsc_hz();
	struct lp_table_view tv;
	int bound = 0, confirmed = 0;

	/* The flood's flows are half-open: they age out after
	 * tcp_syn_timeout (1 s). Wait for room in the flow table, as a real
	 * client arriving later would find it. */
	do {
		itest_poll(ctl, 50);
		lp_ctl_table_view(ctl, &tv);
	} while (tv.flows > CAPACITY / 4 && rte_get_tsc_cycles() < deadline);
	CU_ASSERT_FATAL(tv.flows <= CAPACITY / 4);
	for (unsigned int i = 0; i < N_REAL; i++) {
		struct one_binding o;
		int syn = send_one(i, 40000, LP_TCP_SYN), ack = send_one(i, 40000, LP_TCP_ACK);

		CU_ASSERT(syn >= 0 && syn == ack);
		backend_of[i] = syn;
		o = binding_of(i);
		if (o.n == 1 && o.backend == syn) {
			bound++;
			confirmed += !o.provisional;
		}
	}
	printf("\n    real clients with a binding: %d of %d, confirmed %d\n", bound, N_REAL, confirmed);
	CU_ASSERT(bound >= N_REAL - 1);
	CU_ASSERT(confirmed == bound);
	CU_ASSERT(reason(LP_AFF_CONFIRMED) == (uint64_t)confirmed);
}

static void
test_second_flood_reclaims_only_provisional(void)
{
	uint64_t reclaimed = reason(LP_AFF_RECLAIMED);
	int kept = 0;

	flood(FLOOD2);
	printf("\n    second flood of %u: reclaimed %lu more\n", FLOOD2,
	       (unsigned long)(reason(LP_AFF_RECLAIMED) - reclaimed));
	CU_ASSERT(reason(LP_AFF_RECLAIMED) > reclaimed);
	for (unsigned int i = 0; i < N_REAL; i++) {
		struct one_binding o = binding_of(i);

		kept += o.n == 1 && !o.provisional && o.backend == backend_of[i];
	}
	printf("    real clients' confirmed bindings kept: %d of %d\n", kept, N_REAL);
	CU_ASSERT(kept >= N_REAL - 1);
}

static void
test_affinity_survives_backend_add_after_flood(void)
{
	struct lp_cfg_backend nb = { .port = 8080, .weight = 1 };
	struct lp_diag d = { 0 };
	int kept = 0, moved_to_new = 0;

	CU_ASSERT_FATAL(lp_ip_parse("10.1.0.13", &nb.addr) == 0);
	CU_ASSERT_FATAL(lp_ctl_backend_add(ctl, "web", &nb, &d) == 0);
	lp_diag_print(&d, stderr);
	lp_diag_clear(&d);
	for (unsigned int i = 0; i < N_REAL; i++) {
		int be = send_one(i, 41000, LP_TCP_SYN);

		kept += be >= 0 && be == backend_of[i];
		moved_to_new += be == 2;
	}
	printf("\n    after add backend: %d of %d real clients kept their backend, %d moved to the new one\n", kept,
	       N_REAL, moved_to_new);
	CU_ASSERT(kept >= N_REAL - 1);
	CU_ASSERT(rte_mempool_avail_count(itest_pool()) > 0);
}

/* UDP: a client's first datagram makes a provisional binding, the
 * second datagram of the same flow confirms it (limpet sees no replies in
 * dsr and tunnel modes, so the client coming back is the evidence). */
static void
test_udp_binding_confirmed_by_second_datagram(void)
{
	struct one_binding o = { 0, false, -1 };
	struct lp_service_view v;
	struct lp_ip client;
	uint8_t f[256];
	char ip[32];
	int len;

	itest_client_ip(ip, sizeof(ip), 17, 7);
	CU_ASSERT_FATAL(lp_ip_parse(ip, &client) == 0);
	len = itest_frame(f, sizeof(f), NULL, ip, 5353, "10.0.0.100", 53, IPPROTO_UDP, 0);
	CU_ASSERT_FATAL(len > 0);
	CU_ASSERT_FATAL(itest_inject(&wan, f, (uint32_t)len) == 0);
	CU_ASSERT_FATAL(itest_collect(ctl, &lan, 1, 5000, NULL, NULL) == 1);
	CU_ASSERT(lp_ctl_affinity_walk(ctl, "dns", &client, binding_seen, &o) == 1);
	CU_ASSERT(o.provisional);
	CU_ASSERT_FATAL(itest_inject(&wan, f, (uint32_t)len) == 0);
	CU_ASSERT_FATAL(itest_collect(ctl, &lan, 1, 5000, NULL, NULL) == 1);
	o.n = 0;
	CU_ASSERT(lp_ctl_affinity_walk(ctl, "dns", &client, binding_seen, &o) == 1);
	CU_ASSERT(!o.provisional);
	CU_ASSERT_FATAL(lp_ctl_service_view_by_name(ctl, "dns", &v) == 0);
	CU_ASSERT(v.aff[LP_AFF_CONFIRMED] == 1);
}

int
main(int argc, char **argv)
{
	static const struct lp_test_case cases[] = {
		{ "a UDP binding is confirmed by the flow's second datagram", test_udp_binding_confirmed_by_second_datagram },
		{ "a spoofed SYN flood leaves only provisional bindings", test_flood_leaves_only_provisional_bindings },
		{ "real clients get confirmed bindings after the flood",
		  test_real_clients_get_confirmed_bindings_after_flood },
		{ "a second flood reclaims only provisional bindings", test_second_flood_reclaims_only_provisional },
		{ "affinity survives a backend add after the flood", test_affinity_survives_backend_add_after_flood },
		{ NULL, NULL },
	};
	static const struct lp_test_suite suites[] = {
		{ "synflood", suite_init, suite_cleanup, cases },
		{ NULL, NULL, NULL, NULL },
	};

	(void)argc;
	return itest_main(argv[0], 2, suites);
}
