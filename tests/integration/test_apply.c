/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Every change is all or nothing. For each kind of change (a reload that
 * adds, removes, replaces and changes services and backends; each CLI
 * change; a reload built on the helper thread; start-up) the test makes allocation
 * N of the change fail, for N = 0, 1, 2, ... until the change succeeds
 * with no allocation failing. After every failed attempt:
 *  - `show config`, every service's and backend's view, the counters and
 *    the neighbor table read exactly as before,
 *  - no snapshot and no index was published (the pointers workers read
 *    are the same), and
 *  - traffic goes where it went: established flows and bound clients keep
 *    their backends.
 * The change that finally succeeds gives what the same change gave
 * without any failure; a reload that removes a service takes that
 * service's bindings out of the table, and no other service's. Start-up that fails leaves no memory, ring, pool
 * or port behind, and a later start-up works.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_mempool.h>
#include <rte_bus_vdev.h>

#include "itest.h"
#include "lp_test.h"

#define PORTS_YAML \
	"ports:\n" \
	"  - { name: wan, device: net_ring_wan, address: 10.0.0.1/24, gateway: 10.0.0.254 }\n" \
	"  - { name: lan, device: net_ring_lan, address: 10.1.0.1/24 }\n" \
	"flows: { capacity: 65536, tcp_syn_timeout: 600 }\n" \
	"affinity: { capacity: 4096 }\n"

#define NEIGHBORS_YAML \
	"neighbors:\n" \
	"  - { address: 10.0.0.254, mac: \"02:00:00:00:00:fe\", port: wan }\n" \
	"  - { address: 10.1.0.11, mac: \"02:00:00:00:01:11\", port: lan }\n" \
	"  - { address: 10.1.0.12, mac: \"02:00:00:00:01:12\", port: lan }\n" \
	"  - { address: 10.1.0.13, mac: \"02:00:00:00:01:13\", port: lan }\n" \
	"  - { address: 10.1.0.14, mac: \"02:00:00:00:01:14\", port: lan }\n" \
	"  - { address: 10.1.0.15, mac: \"02:00:00:00:01:15\", port: lan }\n" \
	"  - { address: 10.1.0.16, mac: \"02:00:00:00:01:16\", port: lan }\n"

static const char base_yaml[] = PORTS_YAML NEIGHBORS_YAML
	"services:\n"
	"  - { name: web, vip: 10.0.0.100, port: 80, sessionAffinity: ClientIP, drainTimeoutSeconds: 3600,\n"
	"      backends: [ { address: 10.1.0.11, port: 8080 }, { address: 10.1.0.12, port: 8080 },\n"
	"                  { address: 10.1.0.13, port: 8080 } ] }\n"
	"  - { name: plain, vip: 10.0.0.101, port: 80, backends: [\n"
	"      { address: 10.1.0.11, port: 8081 }, { address: 10.1.0.12, port: 8081 } ] }\n"
	"  - { name: gone, vip: 10.0.0.102, port: 80, sessionAffinity: ClientIP, backends: [\n"
	"      { address: 10.1.0.14, port: 8082 } ] }\n"
	"  - { name: moved, vip: 10.0.0.103, port: 80, backends: [ { address: 10.1.0.15, port: 8083 } ] }\n";

/* Every kind of difference a reload can make. */
static const char next_yaml[] = PORTS_YAML NEIGHBORS_YAML
	"  - { address: 10.1.0.17, mac: \"02:00:00:00:01:17\", port: lan }\n"
	"services:\n"
	/* a backend more, one gone (it drains: it holds bindings), a weight */
	"  - { name: web, vip: 10.0.0.100, port: 80, sessionAffinity: ClientIP, drainTimeoutSeconds: 3600,\n"
	"      backends: [ { address: 10.1.0.11, port: 8080, weight: 3 }, { address: 10.1.0.12, port: 8080 },\n"
	"                  { address: 10.1.0.14, port: 8080 } ] }\n"
	/* a state, a backend more (its neighbor is new too), one gone at once */
	"  - { name: plain, vip: 10.0.0.101, port: 80, maglevSize: 251, backends: [\n"
	"      { address: 10.1.0.11, port: 8081, state: draining }, { address: 10.1.0.17, port: 8081 } ] }\n"
	/* gone: removed; moved: replaced (new VIP); fresh: added (.31 is resolved by ARP) */
	"  - { name: moved, vip: 10.0.0.113, port: 80, backends: [ { address: 10.1.0.15, port: 8083 } ] }\n"
	"  - { name: fresh, vip: 10.0.0.105, port: 80, sessionAffinity: ClientIP, backends: [\n"
	"      { address: 10.1.0.16, port: 8085 }, { address: 10.1.0.31, port: 8085 } ] }\n";

#define CLIENTS 40

static struct itest_port wan, lan;
static struct lp_ctl *ctl;
static uint8_t (*out)[2048];
static uint32_t *lens;
static int web_be[CLIENTS], plain_be[CLIENTS];
static unsigned int total_n;	/* failed attempts over all cases */
static unsigned int in_flight, failed_on_helper;	/* reloads built on the helper; of them, failed there */

/* ---- what must not change ---- */

static int
svc_name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct lp_cfg_service *)a)->name, ((const struct lp_cfg_service *)b)->name);
}

/* `show config`, with services by name (their order follows their ids). */
static void
write_config(FILE *f)
{
	struct lp_config *c = lp_config_dup(lp_ctl_config(ctl));

	CU_ASSERT_FATAL(c != NULL);
	qsort(c->services, c->n_services, sizeof(c->services[0]), svc_name_cmp);
	lp_config_write(c, f);
	lp_config_free(c);
}

static char *
config_text(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	write_config(f);
	fclose(f);
	return buf;
}

static uint64_t
fnv(const void *p, size_t n, uint64_t h)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/* Counters, without the ones that tick while nothing happens: the loop's,
 * and what workers transmit for the control thread (ARP for a backend's
 * next hop goes on while a change is built). */
static uint64_t
stats_sum(const struct lp_stats *src)
{
	static struct lp_stats s;

	s = *src;
	s.c[LP_WC_loop_passes] = s.c[LP_WC_busy_cycles] = s.c[LP_WC_idle_cycles] = 0;
	s.c[LP_WC_idle_sleeps] = s.c[LP_WC_sleep_cycles] = 0;	/* adaptive polling: move while idle */
	s.c[LP_WC_injected] = s.c[LP_WC_tx_pkts] = s.c[LP_WC_tx_bytes] = 0;
	for (uint32_t p = 0; p < LP_MAX_PORTS; p++)
		s.port[p].tx_pkts = s.port[p].tx_bytes = 0;
	return fnv(&s, sizeof(s), 0xcbf29ce484222325ull);
}

/* Everything a failed change must leave as it was, as text (a diff names
 * what changed). */
static char *
state_text(void)
{
	static struct lp_stats sum;
	struct lp_dp *dp = lp_ctl_dp(ctl);
	struct lp_table_view tv;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	write_config(f);
	for (uint32_t i = 0; i < lp_ctl_service_count(ctl); i++) {
		struct lp_service_view v;
		struct lp_backend_view bv[16];
		int n;

		CU_ASSERT_FATAL(lp_ctl_service_view(ctl, i, &v) == 0);
		fprintf(f, "service %s id %u backends %u up %u pkts %lu flows %lu bindings %u active %u aff", v.cfg->name,
			v.id, v.n_backends, v.n_up, (unsigned long)v.pkts, (unsigned long)v.flows, v.bindings,
			v.flows_active);
		for (int r = 0; r < LP_AFF_REASON_MAX; r++)
			fprintf(f, " %lu", (unsigned long)v.aff[r]);
		fprintf(f, "\n");
		n = lp_ctl_backend_views(ctl, v.cfg->name, bv, 16);
		for (int k = 0; k < n; k++) {
			char a[LP_IP_STRLEN];

			fprintf(f, "  backend %s:%u id %u slot %u weight %u/%u admin %u state %u healthy %d removing %d "
				"active %u bindings %u flows %u pkts %lu\n",
				lp_ip_format(&bv[k].addr, a, sizeof(a)), bv[k].port, bv[k].id, bv[k].gslot, bv[k].weight,
				bv[k].eff_weight, bv[k].admin, bv[k].state, bv[k].healthy, bv[k].removing, bv[k].active,
				bv[k].bindings, bv[k].flows_active, (unsigned long)bv[k].pkts);
		}
	}
	lp_ctl_stats(ctl, &sum);
	fprintf(f, "counters %016lx control %016lx\n", (unsigned long)stats_sum(&sum),
		(unsigned long)stats_sum(lp_ctl_control_stats(ctl)));
	lp_ctl_table_view(ctl, &tv);
	fprintf(f, "flows %lu bindings %u\n", (unsigned long)tv.flows, tv.bindings);
	/* What the workers read: a failed change published nothing. */
	for (uint32_t i = 0; i < LP_MAX_SERVICES; i++)
		if (lp_svc_get(&dp->svcs, i) != NULL)
			fprintf(f, "snapshot %u %p\n", i, (void *)lp_svc_get(&dp->svcs, i));
	fprintf(f, "index %p\n", (void *)lp_svc_index_get(&dp->svcs));
	for (uint32_t p = 0; p < dp->nbr->n_pos; p++) {
		const struct lp_nbr_entry *e = &dp->nbr->e[p];

		if (e->key.family != 0 && lp_nbr_lookup(dp->nbr, e->key.family, e->key.addr) == p)
			fprintf(f, "neighbor %u state %u refs %u port %u\n", p, e->state, e->refs, e->port);
	}
	fclose(f);
	return buf;
}

/* ---- traffic ---- */

/* Up to @p want TCP frames limpet sent on lan, polling the control thread
 * meanwhile; ARP requests for backends without a static neighbor entry
 * (10.1.0.31, 10.1.0.33) are not counted. */
static uint32_t
collect_tcp(uint8_t (*frames)[2048], uint32_t *len, uint32_t want)
{
	uint64_t deadline = rte_get_tsc_cycles() + 20 * rte_get_tsc_hz();
	uint32_t got = 0;

	while (got < want && rte_get_tsc_cycles() < deadline) {
		for (uint32_t q = 0; q < lan.nq; q++) {
			struct rte_mbuf *m;

			while (got < want && rte_ring_sc_dequeue(lan.tx[q], (void **)&m) == 0) {
				struct lp_pkt_meta meta;
				const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);

				if (lp_pkt_parse(d, m->data_len, &meta) == LP_DROP_NONE && meta.key.proto == IPPROTO_TCP) {
					memcpy(frames[got], d, m->data_len < 2048 ? m->data_len : 2048);
					len[got++] = m->data_len;
				}
				rte_pktmbuf_free(m);
			}
		}
		lp_ctl_poll(ctl, rte_rdtsc());
		rte_delay_us_sleep(100);
	}
	return got;
}

static void
send_map(const char *vip, uint16_t dport, uint16_t sport, uint8_t flags, int *be)
{
	uint8_t fr[256];
	char cip[32];
	struct lp_pkt_meta m;
	uint32_t got;

	for (unsigned int k = 0; k < CLIENTS; k++) {
		int len;

		itest_client_ip(cip, sizeof(cip), 21, k);
		len = itest_frame(fr, sizeof(fr), NULL, cip, sport, vip, dport, IPPROTO_TCP, flags);
		CU_ASSERT_FATAL(itest_inject(&wan, fr, (uint32_t)len) == 0);
	}
	got = collect_tcp(out, lens, CLIENTS);
	CU_ASSERT_FATAL(got == CLIENTS);
	for (uint32_t k = 0; k < got; k++) {
		CU_ASSERT_FATAL(lp_pkt_parse(out[k], lens[k], &m) == LP_DROP_NONE);
		be[itest_client_index(m.key.src)] = m.key.dst[3];
	}
}

/* Established flows and bound clients reach the backends they had. */
static void
same_backends(const char *what, const int *be, const int *want)
{
	for (unsigned int k = 0; k < CLIENTS; k++)
		if (be[k] != want[k]) {
			fprintf(stderr, "\n    %s: client %u reached .%d, not .%d", what, k, be[k], want[k]);
			CU_FAIL("traffic changed");
			return;
		}
}

static void
check_traffic(void)
{
	static uint16_t sport = 2000;	/* a new connection each time */
	int be[CLIENTS];

	send_map("10.0.0.100", 80, 1000, LP_TCP_ACK, be);
	same_backends("web, established flow", be, web_be);
	send_map("10.0.0.100", 80, sport++, LP_TCP_SYN, be);
	same_backends("web, new connection of a bound client", be, web_be);
	send_map("10.0.0.101", 80, 1000, LP_TCP_ACK, be);
	same_backends("plain, established flow", be, plain_be);
}

/* Record where the clients go (their established flows and bindings). */
static void
establish(void)
{
	struct lp_service_view v;
	int be[CLIENTS];

	send_map("10.0.0.100", 80, 1000, LP_TCP_SYN, web_be);
	send_map("10.0.0.101", 80, 1000, LP_TCP_SYN, plain_be);
	/* and bindings in the service the reload removes */
	if (lp_ctl_service_view_by_name(ctl, "gone", &v) == 0)
		send_map("10.0.0.102", 80, 1000, LP_TCP_SYN, be);
}

/* Enough control-loop passes for two full affinity scans, so the counts
 * `show backends` prints are settled before we look; and every worker's
 * deleted flows handed back to its table (the workers' aging, paced by
 * time, does that within a step of ~0.25 ms), so the flow counts are too. */
static void
settle(void)
{
	struct lp_dp *dp = lp_ctl_dp(ctl);
	uint32_t passes = 3 * dp->aff->n_pos / 64 + 3;
	uint64_t end;

	for (uint32_t i = 0; i < passes; i++)
		lp_ctl_poll(ctl, rte_rdtsc());
	end = rte_get_tsc_cycles() + rte_get_tsc_hz();
	for (uint32_t w = 0; w < dp->n_workers; w++)
		while (__atomic_load_n(&dp->worker[w]->flows->n_dead, __ATOMIC_RELAXED) != 0 &&
		       rte_get_tsc_cycles() < end)
			lp_ctl_poll(ctl, rte_rdtsc());
}

/* ---- the loop ---- */

/* One change to try: returns its result. */
typedef int change_fn(void *arg, struct lp_diag *d);

static void
show_diff(const char *before, const char *after)
{
	const char *a = before, *b = after;

	while (*a && *a == *b)
		a++, b++;
	while (a > before && a[-1] != '\n')
		a--, b--;
	fprintf(stderr, "\n    before: %.200s\n    after:  %.200s\n", a, b);
}

/*
 * Make allocation N of @p fn fail for N = 0, 1, ... until it succeeds with
 * no failure; after each failure everything must be as before. Returns
 * how many attempts failed.
 */
static unsigned int
every_allocation(const char *what, change_fn *fn, void *arg)
{
	unsigned int n;

	for (n = 0;; n++) {
		char *before, *after;
		struct lp_diag d = { 0 };
		int ret;

		settle();
		before = state_text();
		lp_ctl_fail_alloc(n);
		ret = fn(arg, &d);
		lp_ctl_fail_alloc(-1);
		if (!lp_ctl_alloc_failed()) {
			CU_ASSERT(ret == 0);
			if (ret != 0)
				lp_diag_print(&d, stderr);
			lp_diag_clear(&d);
			free(before);
			/* It changed where some clients go: note where they go now. */
			establish();
			break;
		}
		CU_ASSERT(ret == -ENOMEM);
		CU_ASSERT(d.n >= 1);
		after = state_text();
		if (strcmp(before, after) != 0) {
			fprintf(stderr, "\n    %s: allocation %u failed and something changed:", what, n);
			show_diff(before, after);
			CU_FAIL("a failed change changed something");
		}
		free(before);
		free(after);
		lp_diag_clear(&d);
		check_traffic();
	}
	printf("\n    %s: %u allocations, each made to fail once: nothing changed", what, n);
	total_n += n;
	CU_ASSERT(n >= 2);
	return n;
}

/* A reload, blocking. */
static int
do_reload(void *arg, struct lp_diag *d)
{
	struct lp_config *next = itest_config(arg);
	int ret = lp_ctl_apply(ctl, next, d);

	lp_config_free(next);
	return ret;
}

struct async_result {
	bool done;
	int ret;
	uint32_t n_msgs;
};

static void
async_done(void *arg, int ret, const struct lp_diag *d)
{
	struct async_result *r = arg;

	r->done = true;
	r->ret = ret;
	r->n_msgs = d->n;
}

/* A reload built on the helper thread while the control loop goes on. */
static int
do_reload_async(void *arg, struct lp_diag *d)
{
	struct lp_config *next = itest_config(arg);
	struct async_result r = { 0 };
	int ret = lp_ctl_apply_start(ctl, next, d, async_done, &r);
	unsigned int passes = 0;
	uint64_t hz = rte_get_tsc_hz(), deadline = rte_rdtsc() + 60 * hz;

	lp_config_free(next);
	if (ret != -EINPROGRESS)
		return ret;
	in_flight++;
	CU_ASSERT(lp_ctl_busy(ctl));
	/* Meanwhile other changes wait. */
	CU_ASSERT(lp_ctl_service_del(ctl, "web", NULL) == -EBUSY);
	while (!r.done && rte_rdtsc() < deadline) {
		lp_ctl_poll(ctl, rte_rdtsc());
		passes++;
		rte_delay_us_sleep(100);
	}
	CU_ASSERT_FATAL(r.done);
	CU_ASSERT(passes >= 1);
	CU_ASSERT(!lp_ctl_busy(ctl));
	if (r.ret != 0) {
		failed_on_helper++;
		if (r.n_msgs > 0)
			lp_diag_add(d, "failed on the helper thread");
	}
	return r.ret;
}

static int
suite_init(void)
{
	if (itest_port_create(&wan, "wan", 2) != 0 || itest_port_create(&lan, "lan", 2) != 0)
		return -1;
	out = calloc(CLIENTS + 8, sizeof(*out));
	lens = calloc(CLIENTS + 8, sizeof(*lens));
	return out == NULL || lens == NULL ? -1 : 0;
}

static int
suite_cleanup(void)
{
	itest_stop(ctl);
	ctl = NULL;
	free(out);
	free(lens);
	return 0;
}

/* ---- start-up ---- */

static size_t
heap_used(void)
{
	struct rte_malloc_socket_stats st;

	rte_malloc_get_socket_stats((int)rte_socket_id(), &st);
	return st.heap_allocsz_bytes;
}

static void
test_startup_fails_cleanly(void)
{
	/* Reloads with lp_ctl_apply_start() are built on the helper thread. */
	struct lp_ctl_opts o = { .inline_build_us = 1 };
	struct lp_config *cfg = itest_config(base_yaml);
	unsigned int n;

	CU_ASSERT_FATAL(cfg != NULL);
	for (n = 0;; n++) {
		struct lp_diag d = { 0 };
		size_t used;

		CU_ASSERT_FATAL(itest_port_reopen(&wan) == 0);
		CU_ASSERT_FATAL(itest_port_reopen(&lan) == 0);
		used = heap_used();
		lp_ctl_fail_alloc(n);
		ctl = lp_ctl_create(cfg, &o, &d);
		lp_ctl_fail_alloc(-1);
		if (!lp_ctl_alloc_failed()) {
			CU_ASSERT_FATAL(ctl != NULL);
			lp_diag_clear(&d);
			break;
		}
		CU_ASSERT(ctl == NULL);
		CU_ASSERT(d.n >= 1);
		/* Nothing left behind. */
		CU_ASSERT(rte_mempool_lookup("lp_mbufs") == NULL);
		CU_ASSERT(rte_ring_lookup("lp_slow_0") == NULL);
		CU_ASSERT(rte_ring_lookup("lp_inject_1") == NULL);
		/* (ports it closed count once open again, as before) */
		CU_ASSERT_FATAL(itest_port_reopen(&wan) == 0);
		CU_ASSERT_FATAL(itest_port_reopen(&lan) == 0);
		if (heap_used() != used)
			fprintf(stderr, "\n    start-up allocation %u failed: %zu bytes of heap left behind (%s)", n,
				heap_used() - used, d.n ? d.msg[0] : "");
		CU_ASSERT(heap_used() == used);
		lp_diag_clear(&d);
		if (ctl != NULL) {
			lp_ctl_destroy(ctl);
			ctl = NULL;
		}
	}
	printf("\n    start-up: %u allocations, each made to fail once: nothing left behind", n);
	total_n += n;
	CU_ASSERT(n >= 10);
	lp_config_free(cfg);
	CU_ASSERT_FATAL(ctl != NULL);
	CU_ASSERT_FATAL(lp_ctl_start(ctl) == 0);
	establish();
}

/* ---- reload ---- */

static int
count_binding(void *ctx, const struct lp_binding_view *b)
{
	(void)b;
	(*(uint32_t *)ctx)++;
	return 0;
}

/* Bindings of the service named @p name, walked in the table. */
static uint32_t
bindings_of(const char *name)
{
	uint32_t n = 0;

	lp_ctl_affinity_walk(ctl, name, NULL, count_binding, &n);
	return n;
}

static void
test_reload_is_all_or_nothing(void)
{
	CU_ASSERT_FATAL(ctl != NULL);

	char *base, *target, *got;
	uint32_t web_bindings;

	CU_ASSERT_FATAL(ctl != NULL);
	base = config_text();
	/* What the reload gives with no failure, and back. The removed
	 * service's bindings go with it: the services that take the ids
	 * this reload frees (replaced 'moved', new 'fresh') start with none;
	 * and no other service's bindings go. */
	CU_ASSERT(bindings_of("gone") > 0 && bindings_of("web") > 0);
	web_bindings = bindings_of("web");
	CU_ASSERT_FATAL(do_reload((void *)next_yaml, NULL) == 0);
	CU_ASSERT(bindings_of("moved") == 0 && bindings_of("fresh") == 0);
	CU_ASSERT(bindings_of("web") == web_bindings);
	target = config_text();
	CU_ASSERT(strcmp(base, target) != 0);
	CU_ASSERT_FATAL(do_reload((void *)base_yaml, NULL) == 0);
	got = config_text();
	CU_ASSERT(strcmp(base, got) == 0);
	free(got);
	establish();

	every_allocation("reload", do_reload, (void *)next_yaml);
	got = config_text();
	CU_ASSERT(strcmp(got, target) == 0);
	free(got);
	every_allocation("reload back", do_reload, (void *)base_yaml);
	got = config_text();
	CU_ASSERT(strcmp(got, base) == 0);
	free(got);
	free(base);
	free(target);
}

static void
test_reload_on_helper_is_all_or_nothing(void)
{
	CU_ASSERT_FATAL(ctl != NULL);
	char *base = config_text(), *got;

	every_allocation("reload on the helper thread", do_reload_async, (void *)next_yaml);
	got = config_text();
	CU_ASSERT(strcmp(got, base) != 0);
	free(got);
	every_allocation("reload on the helper thread, back", do_reload_async, (void *)base_yaml);
	got = config_text();
	CU_ASSERT(strcmp(got, base) == 0);
	printf("\n    %u reloads were built on the helper thread, %u of them failed there", in_flight, failed_on_helper);
	CU_ASSERT(in_flight > 0 && failed_on_helper > 0);
	free(got);
	free(base);
}

/* ---- CLI changes ---- */

struct cli_change {
	const char *name;
	int (*fn)(struct lp_diag *d);
};

static struct lp_ip
ip(const char *s)
{
	struct lp_ip a;

	lp_ip_parse(s, &a);
	return a;
}

static int
add_backend(struct lp_diag *d)
{
	struct lp_cfg_backend b = { .addr = ip("10.1.0.32"), .port = 8080, .weight = 1 };

	return lp_ctl_backend_add(ctl, "web", &b, d);
}

static int
del_backend(struct lp_diag *d)
{
	struct lp_ip a = ip("10.1.0.32");

	return lp_ctl_backend_del(ctl, "web", &a, 8080, d);
}

static int
set_weight(struct lp_diag *d)
{
	struct lp_ip a = ip("10.1.0.12");

	return lp_ctl_backend_set_weight(ctl, "plain", &a, 8081, 5, d);
}

static int
set_down(struct lp_diag *d)
{
	struct lp_ip a = ip("10.1.0.13");

	return lp_ctl_backend_set_state(ctl, "web", &a, 8080, LP_BACKEND_DOWN, d);
}

static int
set_up(struct lp_diag *d)
{
	struct lp_ip a = ip("10.1.0.13");

	return lp_ctl_backend_set_state(ctl, "web", &a, 8080, LP_BACKEND_UP, d);
}

static int
set_unhealthy(struct lp_diag *d)
{
	struct lp_ip a = ip("10.1.0.12");

	return lp_ctl_backend_set_health(ctl, "plain", &a, 8081, false, d);
}

static int
set_affinity(struct lp_diag *d)
{
	return lp_ctl_service_set_affinity(ctl, "web", 600, -1, d);
}

static int
add_service(struct lp_diag *d)
{
	struct lp_config *c = itest_config(PORTS_YAML "services:\n"
					   "  - { name: extra, vip: 10.0.0.120, port: 443, backends: [\n"
					   "      { address: 10.1.0.16, port: 8443 }, { address: 10.1.0.33, port: 8443 } ] }\n");
	int ret = lp_ctl_service_add(ctl, &c->services[0], d);

	lp_config_free(c);
	return ret;
}

static int
del_service(struct lp_diag *d)
{
	return lp_ctl_service_del(ctl, "extra", d);
}

static int
call_cli(void *arg, struct lp_diag *d)
{
	return ((const struct cli_change *)arg)->fn(d);
}

static void
test_cli_changes_are_all_or_nothing(void)
{
	static const struct cli_change changes[] = {
		{ "add backend", add_backend },
		{ "del backend", del_backend },
		{ "set weight", set_weight },
		{ "set state down", set_down },
		{ "set state up", set_up },
		{ "health verdict", set_unhealthy },
		{ "set affinity", set_affinity },
		{ "add service", add_service },
		{ "del service", del_service },
	};

	CU_ASSERT_FATAL(ctl != NULL);
	for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++)
		every_allocation(changes[i].name, call_cli, (void *)&changes[i]);
	printf("\n    %u failed attempts in all, none changed anything\n", total_n);
}

int
main(int argc, char **argv)
{
	static const struct lp_test_case cases[] = {
		{ "start-up fails cleanly at every allocation", test_startup_fails_cleanly },
		{ "reload is all or nothing", test_reload_is_all_or_nothing },
		{ "reload on a helper thread is all or nothing", test_reload_on_helper_is_all_or_nothing },
		{ "CLI changes are all or nothing", test_cli_changes_are_all_or_nothing },
		{ NULL, NULL },
	};
	static const struct lp_test_suite suites[] = {
		{ "apply", suite_init, suite_cleanup, cases },
		{ NULL, NULL, NULL, NULL },
	};

	(void)argc;
	return itest_main(argv[0], 2, suites);
}
