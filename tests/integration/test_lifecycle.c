/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The sticky-session lifecycle, rule by rule, with two workers running:
 * drain keeps old bindings and takes no new ones; down moves only its
 * clients; bounded load caps every backend at c x mean under a skewed
 * client mix; rebalance gives a new backend its share of idle clients;
 * slow start ramps a new backend; drain-then-remove (and only the drained
 * backend's bindings go); a backend id reused by a new backend is a new
 * backend; a replaced snapshot lives until every reader is done with it;
 * reload keeps flows and an invalid reload changes nothing.
 * Waits are polls for the condition, with a generous deadline.
 */
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_rcu_qsbr.h>

#include "itest.h"
#include "lp_test.h"


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
	"flows: { capacity: 400000, tcp_fin_timeout: 1, tcp_syn_timeout: 1 }\n"
	"services:\n"
	"  - { name: drain, vip: 10.0.0.100, port: 80, sessionAffinity: ClientIP, backends: [\n"
	"      { address: 10.1.0.11, port: 8080 }, { address: 10.1.0.12, port: 8080 },\n"
	"      { address: 10.1.0.13, port: 8080 }, { address: 10.1.0.14, port: 8080 } ] }\n"
	"  - { name: down, vip: 10.0.0.102, port: 80, sessionAffinity: ClientIP, backends: [\n"
	"      { address: 10.1.0.11, port: 8082 }, { address: 10.1.0.12, port: 8082 },\n"
	"      { address: 10.1.0.13, port: 8082 }, { address: 10.1.0.14, port: 8082 } ] }\n"
	"  - { name: skew, vip: 10.0.0.103, port: 80, sessionAffinity: ClientIP, backends: [\n"
	"      { address: 10.1.0.11, port: 8083 }, { address: 10.1.0.12, port: 8083 },\n"
	"      { address: 10.1.0.13, port: 8083 }, { address: 10.1.0.14, port: 8083 },\n"
	"      { address: 10.1.0.15, port: 8083 }, { address: 10.1.0.16, port: 8083 },\n"
	"      { address: 10.1.0.17, port: 8083 }, { address: 10.1.0.18, port: 8083 } ] }\n"
	"  - { name: bounded, vip: 10.0.0.104, port: 80, sessionAffinity: ClientIP, boundedLoad: 1.25, backends: [\n"
	"      { address: 10.1.0.11, port: 8083 }, { address: 10.1.0.12, port: 8083 },\n"
	"      { address: 10.1.0.13, port: 8083 }, { address: 10.1.0.14, port: 8083 },\n"
	"      { address: 10.1.0.15, port: 8083 }, { address: 10.1.0.16, port: 8083 },\n"
	"      { address: 10.1.0.17, port: 8083 }, { address: 10.1.0.18, port: 8083 } ] }\n"
	"  - { name: rebal, vip: 10.0.0.105, port: 80, sessionAffinity: ClientIP, rebalance: idle,\n"
	"      rebalanceRate: 100000, backends: [\n"
	"      { address: 10.1.0.11, port: 8085 }, { address: 10.1.0.12, port: 8085 },\n"
	"      { address: 10.1.0.13, port: 8085 }, { address: 10.1.0.14, port: 8085 } ] }\n"
	"  - { name: rebalref, vip: 10.0.0.106, port: 80, sessionAffinity: ClientIP, backends: [\n"
	"      { address: 10.1.0.11, port: 8085 }, { address: 10.1.0.12, port: 8085 },\n"
	"      { address: 10.1.0.13, port: 8085 }, { address: 10.1.0.14, port: 8085 } ] }\n"
	"  - { name: slow, vip: 10.0.0.107, port: 80, slowStartSeconds: 10, backends: [\n"
	"      { address: 10.1.0.11, port: 8087, weight: 100 } ] }\n"
	"  - { name: remove, vip: 10.0.0.108, port: 80, sessionAffinity: ClientIP, drainTimeoutSeconds: 2,\n"
	"      backends: [ { address: 10.1.0.11, port: 8088 }, { address: 10.1.0.12, port: 8088 },\n"
	"      { address: 10.1.0.13, port: 8088 } ] }\n"
	"  - { name: reload, vip: 10.0.0.109, port: 80, backends: [\n"
	"      { address: 10.1.0.11, port: 8089 }, { address: 10.1.0.12, port: 8089 } ] }\n"
	"  - { name: reuse, vip: 10.0.0.110, port: 80, backends: [\n"
	"      { address: 10.1.0.11, port: 8090 }, { address: 10.1.0.12, port: 8090 } ] }\n";

#define MAXC 3000

static struct itest_port wan, lan;
static struct lp_ctl *ctl;
static uint8_t (*out)[2048];
static uint32_t *lens;

static struct lp_ip
ip(const char *s)
{
	struct lp_ip a;

	lp_ip_parse(s, &a);
	return a;
}

/*
 * Send one packet from each listed client to @vip (source port @sport,
 * TCP flags @flags) and record the backend (last address byte) each one
 * reached in be[client].
 */
static void
send_map(const char *vip, const unsigned int *clients, unsigned int n, uint16_t sport, uint8_t flags, int *be)
{
	uint8_t f[256];
	char cip[32];
	unsigned int got;

	for (unsigned int k = 0; k < n; k++) {
		int len;

		itest_client_ip(cip, sizeof(cip), 17, clients[k]);
		len = itest_frame(f, sizeof(f), NULL, cip, sport, vip, 80, IPPROTO_TCP, flags);
		CU_ASSERT_FATAL(itest_inject(&wan, f, (uint32_t)len) == 0);
	}
	got = itest_collect(ctl, &lan, n, 20000, out, lens);
	CU_ASSERT_FATAL(got == n);
	for (unsigned int k = 0; k < got; k++) {
		struct lp_pkt_meta m;

		CU_ASSERT_FATAL(lp_pkt_parse(out[k], lens[k], &m) == LP_DROP_NONE);
		be[itest_client_index(m.key.src)] = m.key.dst[3];
	}
}

static unsigned int *
range(unsigned int from, unsigned int n)
{
	static unsigned int r[MAXC];

	for (unsigned int i = 0; i < n; i++)
		r[i] = from + i;
	return r;
}

static int
find_view(const char *svc, const char *addr, struct lp_backend_view *v)
{
	struct lp_backend_view all[32];
	struct lp_ip a = ip(addr);
	int n = lp_ctl_backend_views(ctl, svc, all, 32);

	for (int i = 0; i < n; i++)
		if (lp_ip_equal(&all[i].addr, &a)) {
			*v = all[i];
			return 0;
		}
	return -1;
}

/* Run the control loop until @p cond holds or @p ms passed; returns cond. */
static bool
poll_until(bool (*cond)(void *arg), void *arg, unsigned int ms)
{
	uint64_t end = rte_get_tsc_cycles() + (uint64_t)ms * rte_get_tsc_hz() / 1000;

	while (!cond(arg) && rte_get_tsc_cycles() < end)
		itest_poll(ctl, 10);
	return cond(arg);
}

struct be_ref {
	const char *svc, *addr;
};

static bool
backend_gone(void *arg)
{
	const struct be_ref *r = arg;
	struct lp_backend_view v;

	return find_view(r->svc, r->addr, &v) != 0;
}

static bool
no_flows(void *arg)
{
	struct lp_flow_view fv[4];

	return lp_ctl_flows(ctl, arg, fv, 4) == 0;
}

static int
suite_init(void)
{
	if (itest_port_create(&wan, "wan", 2) != 0 || itest_port_create(&lan, "lan", 2) != 0)
		return -1;
	ctl = itest_start(config_yaml);
	out = calloc(MAXC + 64, sizeof(*out));
	lens = calloc(MAXC + 64, sizeof(*lens));
	return ctl == NULL || out == NULL || lens == NULL ? -1 : 0;
}

static int
suite_cleanup(void)
{
	itest_stop(ctl);
	free(out);
	free(lens);
	return 0;
}

static void
test_drain_keeps_bindings_and_takes_no_new_ones(void)
{
	static int before[MAXC], after[MAXC], fresh[MAXC];
	struct lp_ip b12 = ip("10.1.0.12");
	struct lp_backend_view v;
	unsigned int on12 = 0;

	send_map("10.0.0.100", range(0, 200), 200, 1000, LP_TCP_SYN, before);
	for (unsigned int i = 0; i < 200; i++)
		on12 += before[i] == 12;
	CU_ASSERT_FATAL(on12 > 0);
	CU_ASSERT_FATAL(lp_ctl_backend_set_state(ctl, "drain", &b12, 8080, LP_BACKEND_DRAINING, NULL) == 0);
	/* Old clients, new connections: all keep their backend, .12 included. */
	send_map("10.0.0.100", range(0, 200), 200, 1001, LP_TCP_SYN, after);
	for (unsigned int i = 0; i < 200; i++)
		CU_ASSERT(after[i] == before[i]);
	/* New clients: none on the draining backend. */
	send_map("10.0.0.100", range(200, 400), 400, 1000, LP_TCP_SYN, fresh);
	for (unsigned int i = 200; i < 600; i++)
		CU_ASSERT(fresh[i] != 12);
	CU_ASSERT(find_view("drain", "10.1.0.12", &v) == 0);
	CU_ASSERT(v.state == LP_BE_DRAINING);
	CU_ASSERT(v.active == on12);	/* its bindings are still counted */
	printf("\n    draining backend keeps %u bindings, 0 of 400 new clients\n", v.active);
}

static void
test_down_moves_only_its_clients(void)
{
	static int before[MAXC], after[MAXC], back[MAXC];
	struct lp_ip b13 = ip("10.1.0.13");
	unsigned int moved = 0, to[19] = { 0 };

	send_map("10.0.0.102", range(0, 400), 400, 2000, LP_TCP_SYN, before);
	CU_ASSERT_FATAL(lp_ctl_backend_set_state(ctl, "down", &b13, 8082, LP_BACKEND_DOWN, NULL) == 0);
	send_map("10.0.0.102", range(0, 400), 400, 2001, LP_TCP_SYN, after);
	for (unsigned int i = 0; i < 400; i++) {
		if (before[i] == 13) {
			CU_ASSERT(after[i] != 13);
			moved++;
			to[after[i]]++;
		} else {
			CU_ASSERT(after[i] == before[i]);
		}
	}
	printf("\n    %u clients of the down backend moved to .11/.12/.14: %u/%u/%u\n", moved, to[11], to[12],
	       to[14]);
	CU_ASSERT(moved > 0 && to[11] > 0 && to[12] > 0 && to[14] > 0);
	/* Back up: the moved clients stay where they were moved. */
	CU_ASSERT_FATAL(lp_ctl_backend_set_state(ctl, "down", &b13, 8082, LP_BACKEND_UP, NULL) == 0);
	send_map("10.0.0.102", range(0, 400), 400, 2002, LP_TCP_SYN, back);
	for (unsigned int i = 0; i < 400; i++)
		CU_ASSERT(back[i] == after[i]);
}

static void
test_bounded_load_caps_every_backend(void)
{
	static int plain[MAXC], bounded[MAXC];
	static unsigned int pop[1000];
	struct lp_backend_view v[8];
	unsigned int hot = 0, cold = 0, per_plain[19] = { 0 }, per_bounded[19] = { 0 };
	unsigned int bound = (unsigned int)ceil(1.25 * 1000 / 8), maxb = 0, sum = 0;
	struct lp_service_view sv;
	int n;

	/* The plain Maglev choice of 3000 candidates (service without bound). */
	send_map("10.0.0.103", range(0, MAXC), MAXC, 3000, LP_TCP_SYN, plain);
	/* A skewed mix: 30% of the clients are ones Maglev puts on .11. */
	for (unsigned int i = 0; i < MAXC && hot + cold < 1000; i++) {
		if (plain[i] == 11 && hot < 300)
			pop[hot++ + cold] = i;
		else if (plain[i] != 11 && cold < 700)
			pop[hot + cold++] = i;
	}
	CU_ASSERT_FATAL(hot == 300 && cold == 700);
	send_map("10.0.0.104", pop, 1000, 3000, LP_TCP_SYN, bounded);
	for (unsigned int k = 0; k < 1000; k++) {
		per_plain[plain[pop[k]]]++;
		per_bounded[bounded[pop[k]]]++;
	}
	printf("\n    bound %u; per backend plain/bounded:", bound);
	for (int b = 11; b <= 18; b++) {
		printf(" %u/%u", per_plain[b], per_bounded[b]);
		CU_ASSERT(per_bounded[b] <= bound);
		maxb = per_bounded[b] > maxb ? per_bounded[b] : maxb;
	}
	printf("\n");
	CU_ASSERT(per_plain[11] >= 300);	/* the mix really is skewed */
	/* The live load the data path counts agrees. */
	n = lp_ctl_backend_views(ctl, "bounded", v, 8);
	CU_ASSERT(n == 8);
	for (int i = 0; i < n; i++) {
		CU_ASSERT(v[i].active <= bound);
		sum += v[i].active;
	}
	CU_ASSERT(sum == 1000);
	CU_ASSERT(lp_ctl_service_view_by_name(ctl, "bounded", &sv) == 0);
	CU_ASSERT(sv.aff[LP_AFF_SPILLED] > 0);
	CU_ASSERT(sv.aff[LP_AFF_NEW] == 1000);
}

static bool
rebalanced(void *arg)
{
	struct lp_service_view sv;

	return lp_ctl_service_view_by_name(ctl, "rebal", &sv) == 0 && sv.aff[LP_AFF_REBALANCED] >= *(unsigned int *)arg;
}

static void
test_rebalance_gives_new_backend_idle_clients(void)
{
	static int first[MAXC], ref[MAXC], now[MAXC];
	struct lp_cfg_backend b15 = { .addr = ip("10.1.0.15"), .port = 8085, .weight = 1 };
	struct lp_service_view sv;
	unsigned int changed = 0, on15 = 0;

	/* 400 clients connect (a handshake confirms their bindings) and close
	 * (RST): bindings stay, flows go. */
	send_map("10.0.0.105", range(0, 400), 400, 4000, LP_TCP_SYN, first);
	send_map("10.0.0.105", range(0, 400), 400, 4000, LP_TCP_ACK, first);
	send_map("10.0.0.105", range(0, 400), 400, 4000, LP_TCP_RST | LP_TCP_ACK, first);
	/* FIN/RST timeout 1 s: flows age out, the bindings are idle */
	CU_ASSERT_FATAL(poll_until(no_flows, "rebal", 10000));
	CU_ASSERT_FATAL(lp_ctl_backend_add(ctl, "rebal", &b15, NULL) == 0);
	CU_ASSERT_FATAL(lp_ctl_backend_add(ctl, "rebalref", &b15, NULL) == 0);
	/* Fresh bindings in the reference service show the new Maglev choice. */
	send_map("10.0.0.106", range(0, 400), 400, 4001, LP_TCP_SYN, ref);
	for (unsigned int i = 0; i < 400; i++)
		changed += ref[i] == 15;
	/* The affinity scan moves them. */
	CU_ASSERT(poll_until(rebalanced, &changed, 10000));
	send_map("10.0.0.105", range(0, 400), 400, 4001, LP_TCP_SYN, now);
	/* Those whose new choice is the new backend moved there; the rest
	 * stayed (also the few Maglev reshuffled between old backends). */
	for (unsigned int i = 0; i < 400; i++) {
		CU_ASSERT(now[i] == (ref[i] == 15 ? 15 : first[i]));
		on15 += now[i] == 15;
	}
	CU_ASSERT(lp_ctl_service_view_by_name(ctl, "rebal", &sv) == 0);
	printf("\n    %u of 400 idle clients rebalanced, %u now on the new backend\n",
	       (unsigned int)sv.aff[LP_AFF_REBALANCED], on15);
	CU_ASSERT(sv.aff[LP_AFF_REBALANCED] == changed);
	CU_ASSERT(on15 >= 400 / 5 * 6 / 10);
}

static bool
ramped(void *arg)
{
	const struct lp_backend_view *v1 = arg;
	struct lp_backend_view v;

	return find_view("slow", "10.1.0.12", &v) == 0 && v.eff_weight > v1->eff_weight;
}

static void
test_slow_start_ramps_a_new_backend(void)
{
	struct lp_cfg_backend b12 = { .addr = ip("10.1.0.12"), .port = 8087, .weight = 100 };
	struct lp_backend_view v1, v2;
	static int be[MAXC];
	unsigned int to12 = 0;

	CU_ASSERT_FATAL(lp_ctl_backend_add(ctl, "slow", &b12, NULL) == 0);
	CU_ASSERT_FATAL(find_view("slow", "10.1.0.12", &v1) == 0);
	CU_ASSERT(v1.slow_start);
	CU_ASSERT(v1.eff_weight < 10);
	/* Right after it came: it gets very few of 1000 new connections. */
	send_map("10.0.0.107", range(0, 1000), 1000, 5000, LP_TCP_SYN, be);
	for (unsigned int i = 0; i < 1000; i++)
		to12 += be[i] == 12;
	CU_ASSERT(poll_until(ramped, &v1, 5000));
	CU_ASSERT_FATAL(find_view("slow", "10.1.0.12", &v2) == 0);
	printf("\n    new backend: weight %u then %u of 100; %u of 1000 new connections at first\n", v1.eff_weight,
	       v2.eff_weight, to12);
	CU_ASSERT(v2.eff_weight > v1.eff_weight && v2.eff_weight < 100);
	CU_ASSERT(to12 < 100);
}

static void
test_remove_drains_first(void)
{
	static int be[MAXC], again[MAXC], fresh[MAXC];
	struct lp_ip b12 = ip("10.1.0.12"), b13 = ip("10.1.0.13");
	struct lp_backend_view v, v11, v13;
	struct lp_service_view sv;
	uint64_t drained_before;

	/* Handshakes completed: confirmed bindings, which outlive tcp_syn_timeout. */
	send_map("10.0.0.108", range(0, 300), 300, 6000, LP_TCP_SYN, be);
	send_map("10.0.0.108", range(0, 300), 300, 6000, LP_TCP_ACK, be);
	CU_ASSERT_FATAL(lp_ctl_backend_del(ctl, "remove", &b12, 8088, NULL) == 0);
	/* Still there, draining, its clients keep it, new ones avoid it. */
	CU_ASSERT_FATAL(find_view("remove", "10.1.0.12", &v) == 0);
	CU_ASSERT(v.removing && v.state == LP_BE_DRAINING && v.active > 0);
	send_map("10.0.0.108", range(0, 300), 300, 6001, LP_TCP_SYN, again);
	send_map("10.0.0.108", range(300, 300), 300, 6000, LP_TCP_SYN, fresh);
	send_map("10.0.0.108", range(300, 300), 300, 6000, LP_TCP_ACK, fresh);
	for (unsigned int i = 0; i < 300; i++) {
		CU_ASSERT(again[i] == be[i]);
		CU_ASSERT(fresh[300 + i] != 12);
	}
	/* Its clients go away (bindings cleared): removed on the next tick. */
	for (unsigned int i = 0; i < 300; i++)
		if (be[i] == 12) {
			char cip[32];
			struct lp_ip c;

			itest_client_ip(cip, sizeof(cip), 17, i);
			c = ip(cip);
			CU_ASSERT(lp_ctl_affinity_clear(ctl, "remove", &c, NULL) == 1);
		}
	CU_ASSERT(poll_until(backend_gone, &(struct be_ref){ "remove", "10.1.0.12" }, 5000));
	/* Another one with bindings left: gone after drainTimeoutSeconds, its
	 * bindings with it (counted drained), and no one else's. */
	CU_ASSERT_FATAL(find_view("remove", "10.1.0.11", &v11) == 0);
	CU_ASSERT_FATAL(find_view("remove", "10.1.0.13", &v13) == 0);
	CU_ASSERT_FATAL(lp_ctl_service_view_by_name(ctl, "remove", &sv) == 0);
	drained_before = sv.aff[LP_AFF_DRAINED];
	CU_ASSERT(v13.active > 0);
	CU_ASSERT_FATAL(lp_ctl_backend_del(ctl, "remove", &b13, 8088, NULL) == 0);
	CU_ASSERT(find_view("remove", "10.1.0.13", &v) == 0 && v.removing);
	CU_ASSERT(poll_until(backend_gone, &(struct be_ref){ "remove", "10.1.0.13" }, 10000));
	CU_ASSERT(lp_ctl_service_view_by_name(ctl, "remove", &sv) == 0);
	CU_ASSERT(sv.aff[LP_AFF_DRAINED] - drained_before == v13.active);
	CU_ASSERT(sv.aff[LP_AFF_CLEARED] > 0);
	CU_ASSERT(find_view("remove", "10.1.0.11", &v) == 0 && v.active == v11.active);
	send_map("10.0.0.108", range(0, 300), 300, 6002, LP_TCP_SYN, again);
	for (unsigned int i = 0; i < 300; i++)
		if (be[i] == 11)
			CU_ASSERT(again[i] == 11);
}

/*
 * A backend removed at once gives up its id; a backend added later takes
 * it, with a new generation. The old backend's flows must not take the
 * newcomer for their backend: they are chosen again, over every backend.
 */
static void
test_a_reused_backend_id_is_a_new_backend(void)
{
	static int be[MAXC], after[MAXC];
	struct lp_cfg_backend b13 = { .addr = ip("10.1.0.13"), .port = 8090, .weight = 1 };
	struct lp_ip b11 = ip("10.1.0.11");
	struct lp_backend_view v11, v13;
	unsigned int were11 = 0, to12 = 0, to13 = 0;

	send_map("10.0.0.110", range(0, 400), 400, 9000, LP_TCP_SYN, be);
	CU_ASSERT_FATAL(find_view("reuse", "10.1.0.11", &v11) == 0);
	CU_ASSERT_FATAL(lp_ctl_backend_del(ctl, "reuse", &b11, 8090, NULL) == 0);
	CU_ASSERT_FATAL(lp_ctl_backend_add(ctl, "reuse", &b13, NULL) == 0);
	CU_ASSERT_FATAL(find_view("reuse", "10.1.0.13", &v13) == 0);
	CU_ASSERT(v13.id == v11.id);	/* the id was reused */
	send_map("10.0.0.110", range(0, 400), 400, 9000, LP_TCP_ACK, after);
	for (unsigned int i = 0; i < 400; i++) {
		if (be[i] != 11) {
			CU_ASSERT(after[i] == be[i]);	/* .12's flows stay */
			continue;
		}
		were11++;
		to12 += after[i] == 12;
		to13 += after[i] == 13;
	}
	printf("\n    %u flows of the removed backend: %u to .12, %u to its id's new backend\n", were11, to12, to13);
	CU_ASSERT(were11 > 0 && to12 > 0 && to13 > 0 && to12 + to13 == were11);
}

/* An RCU reader besides the workers, holding service @svc_id's snapshot. */
struct reader {
	struct lp_dp *dp;
	uint32_t svc_id;
	_Atomic int stage;	/* 1: holding the snapshot, 2: done */
	bool same;		/* what it read at the end equals what it read first */
};

#define READER_ID (LP_MAX_WORKERS - 1)	/* a thread id no worker has */

static void *
reader_main(void *arg)
{
	struct reader *r = arg;
	const struct lp_svc *s;
	struct lp_svc copy;
	uint32_t gen0, gen1;

	rte_rcu_qsbr_thread_register(r->dp->qsbr, READER_ID);
	rte_rcu_qsbr_thread_online(r->dp->qsbr, READER_ID);
	s = lp_svc_get(&r->dp->svcs, r->svc_id);
	copy = *s;
	gen0 = s->be[0].gen;
	atomic_store(&r->stage, 1);
	/* The control thread publishes a new snapshot; the old one, ours,
	 * must stay as it was until we pass a quiescent state. */
	while (lp_svc_get(&r->dp->svcs, r->svc_id) == s)
		usleep(100);
	usleep(50 * 1000);
	gen1 = s->be[0].gen;
	r->same = memcmp(&copy, s, sizeof(copy)) == 0 && gen0 == gen1;
	/* Done before the quiescent state: a writer that waits for it sees 2. */
	atomic_store(&r->stage, 2);
	rte_rcu_qsbr_quiescent(r->dp->qsbr, READER_ID);
	rte_rcu_qsbr_thread_offline(r->dp->qsbr, READER_ID);
	rte_rcu_qsbr_thread_unregister(r->dp->qsbr, READER_ID);
	return NULL;
}

/*
 * A change waits for a grace period before it frees the snapshot it
 * replaced: a reader that loaded the old pointer (as a worker does at the
 * start of a burst) still reads it intact after the new one is published.
 */
static void
test_a_replaced_snapshot_outlives_its_readers(void)
{
	struct lp_service_view sv;
	struct reader r = { .dp = lp_ctl_dp(ctl) };
	struct lp_ip b11 = ip("10.1.0.11");
	pthread_t t;

	CU_ASSERT_FATAL(lp_ctl_service_view_by_name(ctl, "reload", &sv) == 0);
	r.svc_id = sv.id;
	CU_ASSERT_FATAL(pthread_create(&t, NULL, reader_main, &r) == 0);
	while (atomic_load(&r.stage) != 1)
		usleep(100);
	/* Returns once every reader, ours included, has seen the new snapshot. */
	CU_ASSERT(lp_ctl_backend_set_weight(ctl, "reload", &b11, 8089, 7, NULL) == 0);
	CU_ASSERT(atomic_load(&r.stage) == 2);
	pthread_join(t, NULL);
	CU_ASSERT(r.same);
	CU_ASSERT(lp_ctl_backend_set_weight(ctl, "reload", &b11, 8089, 1, NULL) == 0);
}

static char *
config_text(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	lp_config_write(lp_ctl_config(ctl), f);
	fclose(f);
	return buf;
}

static void
test_reload_keeps_flows_and_refuses_bad_files(void)
{
	static int be[MAXC], after[MAXC];
	struct lp_config *next = lp_config_dup(lp_ctl_config(ctl));
	struct lp_backend_view v1, v2;
	struct lp_diag d = { 0 };
	struct lp_cfg_service *s;
	char *before_text, *after_text;
	int i;

	CU_ASSERT_FATAL(next != NULL);
	send_map("10.0.0.109", range(0, 100), 100, 7000, LP_TCP_SYN, be);
	CU_ASSERT_FATAL(find_view("reload", "10.1.0.11", &v1) == 0);
	/* A valid diff: one backend more, another weight. */
	i = lp_config_service_find(next, "reload");
	CU_ASSERT_FATAL(i >= 0);
	s = &next->services[i];
	s->backends = realloc(s->backends, (s->n_backends + 1) * sizeof(*s->backends));
	s->backends[s->n_backends] = s->backends[0];
	s->backends[s->n_backends].addr = ip("10.1.0.13");
	s->n_backends++;
	s->backends[0].weight = 3;
	CU_ASSERT(lp_ctl_apply(ctl, next, &d) == 0);
	lp_diag_print(&d, stderr);
	lp_diag_clear(&d);
	send_map("10.0.0.109", range(0, 100), 100, 7000, LP_TCP_ACK, after);
	for (unsigned int k = 0; k < 100; k++)
		CU_ASSERT(after[k] == be[k]);
	CU_ASSERT_FATAL(find_view("reload", "10.1.0.11", &v2) == 0);
	CU_ASSERT(v2.id == v1.id && v2.weight == 3);
	CU_ASSERT(find_view("reload", "10.1.0.13", &v2) == 0);
	lp_config_free(next);
	/* Invalid: a port changed (needs a restart) and a VIP clash. */
	before_text = config_text();
	next = lp_config_dup(lp_ctl_config(ctl));
	next->ports[0].mtu = 9000;
	CU_ASSERT(lp_ctl_apply(ctl, next, &d) != 0);
	CU_ASSERT(d.n >= 1);
	lp_diag_clear(&d);
	lp_config_free(next);
	next = lp_config_dup(lp_ctl_config(ctl));
	next->services[1].vip = next->services[0].vip;
	next->services[1].port = next->services[0].port;
	CU_ASSERT(lp_ctl_apply(ctl, next, &d) != 0);
	CU_ASSERT(d.n >= 1);
	if (d.n > 0)
		printf("\n    refused: %s\n", d.msg[0]);
	lp_diag_clear(&d);
	lp_config_free(next);
	after_text = config_text();
	CU_ASSERT(strcmp(before_text, after_text) == 0);
	free(before_text);
	free(after_text);
	printf("    last change visible to all workers after %.1f us\n",
	       (double)lp_ctl_last_change_cycles(ctl) * 1e6 / (double)rte_get_tsc_hz());
}

int
main(int argc, char **argv)
{
	static const struct lp_test_case cases[] = {
		{ "drain keeps bindings and takes no new ones", test_drain_keeps_bindings_and_takes_no_new_ones },
		{ "down moves only its clients", test_down_moves_only_its_clients },
		{ "bounded load caps every backend", test_bounded_load_caps_every_backend },
		{ "rebalance gives a new backend idle clients", test_rebalance_gives_new_backend_idle_clients },
		{ "slow start ramps a new backend", test_slow_start_ramps_a_new_backend },
		{ "remove drains first", test_remove_drains_first },
		{ "a reused backend id is a new backend", test_a_reused_backend_id_is_a_new_backend },
		{ "a replaced snapshot outlives its readers", test_a_replaced_snapshot_outlives_its_readers },
		{ "reload keeps flows and refuses bad files", test_reload_keeps_flows_and_refuses_bad_files },
		{ NULL, NULL },
	};
	static const struct lp_test_suite suites[] = {
		{ "lifecycle", suite_init, suite_cleanup, cases },
		{ NULL, NULL, NULL, NULL },
	};

	(void)argc;
	return itest_main(argv[0], 2, suites);
}
