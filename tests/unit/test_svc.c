/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/svc without a worker or EAL: the classification index
 * (which service a packet is for, which NAT service a reply comes from,
 * which addresses are limpet's own) and the scheduler (lp_svc_pick():
 * Maglev, bounded load, weighted round robin, least connections), both
 * over snapshots built with lp_svc_build().
 */
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lp_svc.h"
#include "lp_test.h"

/* ---- building snapshots ---- */

struct be_def {
	const char *addr;
	uint16_t port;
	uint8_t state;		/* enum lp_be_state */
	uint32_t weight;	/* 0 → 1 */
};

struct svc_def {
	uint16_t id;
	const char *vip;
	uint16_t port;
	uint8_t proto;
	uint8_t mode;
	uint8_t sched;
	double bounded_load;
	const struct be_def *be;	/* terminated by addr NULL */
};

static struct lp_svc *
build(const struct svc_def *d, struct lp_svc_load *load)
{
	struct lp_svc_backend_spec bs[64];
	struct lp_svc_spec spec = {
		.name = "t",
		.id = d->id,
		.gen = 1,
		.proto = d->proto,
		.mode = d->mode,
		.sched = d->sched,
		.port = d->port,
		.bounded_load = d->bounded_load,
		.maglev_size = 1021,
		.load = load,
		.backends = bs,
	};
	uint32_t n = 0;

	CU_ASSERT_FATAL(lp_ip_parse(d->vip, &spec.vip) == 0);
	for (; d->be != NULL && d->be[n].addr != NULL; n++) {
		const struct be_def *b = &d->be[n];

		bs[n] = (struct lp_svc_backend_spec){
			.id = n,
			.gen = 1,
			.port = b->port,
			.state = b->state,
			.weight = b->weight ? b->weight : 1,
			.maglev_weight = b->weight ? b->weight : 1,
			.gslot = n,
		};
		CU_ASSERT_FATAL(lp_ip_parse(b->addr, &bs[n].addr) == 0);
	}
	spec.n_backends = n;
	return lp_svc_build(&spec);
}

static struct lp_svc_load *
new_load(void)
{
	struct lp_svc_load *l = calloc(1, sizeof(*l));

	CU_ASSERT_FATAL(l != NULL);
	return l;
}

/* ---- the classification index ---- */

static const struct be_def web_be[] = {
	{ "10.1.0.11", 8080, LP_BE_UP, 0 },
	{ "10.1.0.12", 8080, LP_BE_DOWN, 0 },	/* down: its flows' replies still translate */
	{ NULL, 0, 0, 0 },
};
static const struct be_def dns_be[] = { { "10.1.0.11", 53, LP_BE_UP, 0 }, { NULL, 0, 0, 0 } };
static const struct be_def api_be[] = {
	{ "10.1.0.11", 8080, LP_BE_UP, 0 },	/* shared with web */
	{ "10.1.0.13", 9000, LP_BE_UP, 0 },
	{ NULL, 0, 0, 0 },
};
static const struct be_def tls_be[] = { { "10.1.0.14", 443, LP_BE_UP, 0 }, { NULL, 0, 0, 0 } };
static const struct be_def v6_be[] = { { "fd00:1::11", 8080, LP_BE_UP, 0 }, { NULL, 0, 0, 0 } };

static const struct svc_def index_svcs[] = {
	{ 0, "10.0.0.100", 80, IPPROTO_TCP, LP_FWD_NAT, LP_SCHED_MAGLEV, 0, web_be },
	{ 1, "10.0.0.100", 53, IPPROTO_UDP, LP_FWD_DSR, LP_SCHED_MAGLEV, 0, dns_be },
	{ 2, "10.0.0.101", 80, IPPROTO_TCP, LP_FWD_NAT, LP_SCHED_MAGLEV, 0, api_be },
	{ 3, "10.0.0.100", 443, IPPROTO_TCP, LP_FWD_TUNNEL, LP_SCHED_MAGLEV, 0, tls_be },
	{ 5, "fd00::100", 80, IPPROTO_TCP, LP_FWD_NAT, LP_SCHED_MAGLEV, 0, v6_be },
};

struct idx_case {
	const char *desc;
	uint8_t kind;
	const char *addr;
	uint16_t port;		/* host order */
	uint8_t proto;
	uint32_t want;		/* a value, LP_IDX_NONE/AMBIGUOUS, or MULTI_WEB_API */
};

#define MULTI_WEB_API 0x7fffffffu	/* expect a service list {0, 2} */

static const struct idx_case idx_cases[] = {
	{ "VIP:port/TCP", LP_IDX_VIP, "10.0.0.100", 80, IPPROTO_TCP, 0 },
	{ "same VIP, other port and protocol", LP_IDX_VIP, "10.0.0.100", 53, IPPROTO_UDP, 1 },
	{ "same VIP, third service", LP_IDX_VIP, "10.0.0.100", 443, IPPROTO_TCP, 3 },
	{ "VIP:port with the wrong protocol", LP_IDX_VIP, "10.0.0.100", 80, IPPROTO_UDP, LP_IDX_NONE },
	{ "VIP with a port nobody serves", LP_IDX_VIP, "10.0.0.100", 8080, IPPROTO_TCP, LP_IDX_NONE },
	{ "an address that is no VIP", LP_IDX_VIP, "10.0.0.102", 80, IPPROTO_TCP, LP_IDX_NONE },
	{ "IPv6 VIP", LP_IDX_VIP, "fd00::100", 80, IPPROTO_TCP, 5 },
	{ "fragments: two TCP services on one VIP", LP_IDX_VIP_ANYPORT, "10.0.0.100", 0, IPPROTO_TCP,
	  LP_IDX_AMBIGUOUS },
	{ "fragments: the VIP's one UDP service", LP_IDX_VIP_ANYPORT, "10.0.0.100", 0, IPPROTO_UDP, 1 },
	{ "fragments: a VIP with one service", LP_IDX_VIP_ANYPORT, "10.0.0.101", 0, IPPROTO_TCP, 2 },
	{ "reply from a NAT backend", LP_IDX_REV, "10.1.0.13", 9000, IPPROTO_TCP, 2 },
	{ "reply from a down NAT backend", LP_IDX_REV, "10.1.0.12", 8080, IPPROTO_TCP, 0 },
	{ "reply from a backend two NAT services share", LP_IDX_REV, "10.1.0.11", 8080, IPPROTO_TCP,
	  MULTI_WEB_API },
	{ "DSR backends answer the client directly", LP_IDX_REV, "10.1.0.11", 53, IPPROTO_UDP, LP_IDX_NONE },
	{ "tunnel backends answer the client directly", LP_IDX_REV, "10.1.0.14", 443, IPPROTO_TCP, LP_IDX_NONE },
	{ "reply from the backend's other port", LP_IDX_REV, "10.1.0.13", 9001, IPPROTO_TCP, LP_IDX_NONE },
	{ "reply fragment", LP_IDX_REV_ANYPORT, "10.1.0.13", 0, IPPROTO_TCP, 2 },
	{ "IPv6 reply", LP_IDX_REV, "fd00:1::11", 8080, IPPROTO_TCP, 5 },
	{ "own address, port 0", LP_IDX_OWN, "10.0.0.1", 0, 0, 0 },
	{ "own address, port 1", LP_IDX_OWN, "10.1.0.1", 0, 0, 1 },
	{ "a VIP is not an own address", LP_IDX_OWN, "10.0.0.100", 0, 0, LP_IDX_NONE },
	{ "echo to a VIP: its first service", LP_IDX_VIPADDR, "10.0.0.100", 0, 0, 0 },
	{ "echo to another VIP", LP_IDX_VIPADDR, "10.0.0.101", 0, 0, 2 },
	{ "echo to no VIP", LP_IDX_VIPADDR, "10.1.0.11", 0, 0, LP_IDX_NONE },
};

static void
test_index_cases(void)
{
	struct lp_svc *s[8] = { 0 };
	struct lp_svc_load *load = new_load();
	struct lp_idx_own own[2] = { { .port_index = 0 }, { .port_index = 1 } };
	struct lp_svc_index *ix;

	for (unsigned int i = 0; i < sizeof(index_svcs) / sizeof(index_svcs[0]); i++) {
		s[index_svcs[i].id] = build(&index_svcs[i], load);
		CU_ASSERT_FATAL(s[index_svcs[i].id] != NULL);
	}
	lp_ip_parse("10.0.0.1", &own[0].addr);
	lp_ip_parse("10.1.0.1", &own[1].addr);
	ix = lp_svc_index_build(s, 8, own, 2);
	CU_ASSERT_FATAL(ix != NULL);
	for (unsigned int i = 0; i < sizeof(idx_cases) / sizeof(idx_cases[0]); i++) {
		const struct idx_case *c = &idx_cases[i];
		struct lp_ip a;
		uint32_t v;
		bool ok;

		CU_ASSERT_FATAL(lp_ip_parse(c->addr, &a) == 0);
		v = lp_idx_lookup(ix, c->kind, a.a, htons(c->port), c->proto);
		if (c->want == MULTI_WEB_API) {
			const struct lp_idx_multi *mu = &ix->multi[v & ~LP_IDX_MULTI];

			ok = v != LP_IDX_NONE && (v & LP_IDX_MULTI) && (v & ~LP_IDX_MULTI) < ix->n_multi &&
			     mu->n == 2 && mu->id[0] == 0 && mu->id[1] == 2;
		} else {
			ok = v == c->want;
		}
		CU_ASSERT(ok);
		if (!ok)
			printf("\n    %s: got 0x%x, want 0x%x\n", c->desc, v, c->want);
	}
	lp_svc_index_free(ix);
	for (unsigned int i = 0; i < 8; i++)
		lp_svc_free(s[i]);
	free(load);
}

/* Many services in one index: every VIP found, open addressing's probe
 * sequences intact, the load factor keeping them short. */
static void
test_index_many(void)
{
	enum { N = 300 };
	static struct lp_svc *s[N];
	static const struct be_def be[] = { { "10.1.0.11", 8080, LP_BE_UP, 0 }, { NULL, 0, 0, 0 } };
	struct lp_svc_load *load = new_load();
	struct lp_svc_index *ix;
	char vip[32];

	for (unsigned int i = 0; i < N; i++) {
		struct svc_def d = { (uint16_t)i, vip, (uint16_t)(1000 + i % 7), IPPROTO_TCP, LP_FWD_DSR,
				     LP_SCHED_MAGLEV, 0, be };

		snprintf(vip, sizeof(vip), "10.9.%u.%u", i / 200, i % 200 + 1);
		s[i] = build(&d, load);
		CU_ASSERT_FATAL(s[i] != NULL);
	}
	ix = lp_svc_index_build(s, N, NULL, 0);
	CU_ASSERT_FATAL(ix != NULL);
	CU_ASSERT(ix->mask + 1 >= 4 * (3 * N + 2 * N));
	for (unsigned int i = 0; i < N; i++) {
		CU_ASSERT(lp_idx_lookup(ix, LP_IDX_VIP, s[i]->vip, s[i]->port, IPPROTO_TCP) == i);
		CU_ASSERT(lp_idx_lookup(ix, LP_IDX_VIP, s[i]->vip, (uint16_t)(s[i]->port + 1), IPPROTO_TCP) ==
			  LP_IDX_NONE);
	}
	lp_svc_index_free(ix);
	for (unsigned int i = 0; i < N; i++)
		lp_svc_free(s[i]);
	free(load);
}

/* ---- the scheduler ---- */

static const struct be_def four_be[] = {
	{ "10.1.0.11", 8080, LP_BE_UP, 0 },
	{ "10.1.0.12", 8080, LP_BE_UP, 0 },
	{ "10.1.0.13", 8080, LP_BE_UP, 0 },
	{ "10.1.0.14", 8080, LP_BE_UP, 0 },
	{ NULL, 0, 0, 0 },
};

static uint32_t
hash_of(uint32_t i)
{
	return lp_hash_bytes(&i, sizeof(i), 99);
}

static void
test_maglev_plain(void)
{
	struct svc_def d = { 0, "10.0.0.100", 80, IPPROTO_TCP, LP_FWD_NAT, LP_SCHED_MAGLEV, 0, four_be };
	struct lp_svc_load *load = new_load();
	struct lp_svc *s = build(&d, load);
	uint32_t cursor = 0, per[4] = { 0 };
	bool spilled;

	CU_ASSERT_FATAL(s != NULL);
	for (uint32_t i = 0; i < 4000; i++) {
		uint32_t h = hash_of(i);
		uint16_t id = lp_svc_pick(s, h, false, &cursor, &spilled);

		/* Exactly the Maglev table's choice, and nothing counted. */
		CU_ASSERT_FATAL(id < 4);
		CU_ASSERT(id == s->mg_id[lp_maglev_lookup(s->mg, h)]);
		CU_ASSERT(!spilled);
		per[id]++;
	}
	CU_ASSERT(atomic_load(&load->total) == 0);
	for (unsigned int b = 0; b < 4; b++)
		CU_ASSERT(per[b] > 800 && per[b] < 1200);
	/* count: the choice's load goes up by one. */
	{
		uint16_t id = lp_svc_pick(s, hash_of(1), true, &cursor, &spilled);

		CU_ASSERT(atomic_load(&load->active[id]) == 1 && atomic_load(&load->total) == 1);
		lp_svc_load_dec(load, id);
		lp_svc_load_dec(load, id);	/* never below zero */
		CU_ASSERT(atomic_load(&load->active[id]) == 0 && atomic_load(&load->total) == 0);
	}
	lp_svc_free(s);
	free(load);
}

static void
test_no_backend_for_new_clients(void)
{
	static const struct be_def none_up[] = {
		{ "10.1.0.11", 8080, LP_BE_DOWN, 0 },
		{ "10.1.0.12", 8080, LP_BE_DRAINING, 0 },
		{ NULL, 0, 0, 0 },
	};
	static const uint8_t scheds[] = { LP_SCHED_MAGLEV, LP_SCHED_WRR, LP_SCHED_LEAST_CONN };
	struct lp_svc_load *load = new_load();

	for (unsigned int k = 0; k < sizeof(scheds); k++) {
		struct svc_def d = { 0, "10.0.0.100", 80, IPPROTO_TCP, LP_FWD_NAT, scheds[k], 1.25, none_up };
		struct lp_svc *s = build(&d, load);
		uint32_t cursor = 0;
		bool spilled;

		CU_ASSERT_FATAL(s != NULL);
		for (uint32_t i = 0; i < 100; i++)
			CU_ASSERT(lp_svc_pick(s, hash_of(i), true, &cursor, &spilled) == LP_SVC_ID_NONE);
		CU_ASSERT(atomic_load(&load->total) == 0);
		lp_svc_free(s);
	}
	free(load);
}

/* A draining or down backend gets no new clients from any scheduler. */
static void
test_only_up_backends_chosen(void)
{
	static const struct be_def mixed[] = {
		{ "10.1.0.11", 8080, LP_BE_UP, 0 },
		{ "10.1.0.12", 8080, LP_BE_DRAINING, 0 },
		{ "10.1.0.13", 8080, LP_BE_DOWN, 0 },
		{ "10.1.0.14", 8080, LP_BE_UP, 0 },
		{ NULL, 0, 0, 0 },
	};
	static const uint8_t scheds[] = { LP_SCHED_MAGLEV, LP_SCHED_WRR, LP_SCHED_LEAST_CONN };

	for (unsigned int k = 0; k < sizeof(scheds); k++) {
		struct lp_svc_load *load = new_load();
		struct svc_def d = { 0, "10.0.0.100", 80, IPPROTO_TCP, LP_FWD_NAT, scheds[k], 1.25, mixed };
		struct lp_svc *s = build(&d, load);
		uint32_t cursor = 0, per[4] = { 0 };
		bool spilled;

		CU_ASSERT_FATAL(s != NULL);
		for (uint32_t i = 0; i < 1000; i++) {
			uint16_t id = lp_svc_pick(s, hash_of(i), true, &cursor, &spilled);

			CU_ASSERT_FATAL(id < 4);
			per[id]++;
		}
		CU_ASSERT(per[1] == 0 && per[2] == 0);
		CU_ASSERT(per[0] > 300 && per[3] > 300);
		lp_svc_free(s);
		free(load);
	}
}

/* Bounded load: no backend ever holds more than its bound, the sum is
 * exact, and clients whose Maglev choice is full spill (and say so). */
static void
test_bounded_load(void)
{
	struct svc_def d = { 0, "10.0.0.100", 80, IPPROTO_TCP, LP_FWD_NAT, LP_SCHED_MAGLEV, 1.25, four_be };
	struct lp_svc_load *load = new_load();
	struct lp_svc *s = build(&d, load);
	uint32_t cursor = 0, spills = 0;

	CU_ASSERT_FATAL(s != NULL);
	/* A skewed set of clients: every hash lands on backend 0's slots. */
	for (uint32_t i = 0, n = 0; n < 400 && i < 1000000; i++) {
		uint32_t h = hash_of(i);
		uint64_t total = atomic_load(&load->total);
		uint16_t plain = (uint16_t)s->mg_id[lp_maglev_lookup(s->mg, h)], id;
		bool spilled;

		if (plain != 0)
			continue;
		id = lp_svc_pick(s, h, true, &cursor, &spilled);
		CU_ASSERT_FATAL(id < 4);
		CU_ASSERT(spilled == (id != plain));
		/* ceil(1.25 * (total + 1) / 4) with equal weights */
		CU_ASSERT(atomic_load(&load->active[id]) <= (uint32_t)ceil(1.25 * (double)(total + 1) / 4.0));
		spills += spilled;
		n++;
	}
	CU_ASSERT(atomic_load(&load->total) == 400);
	CU_ASSERT(atomic_load(&load->active[0]) <= 125);
	CU_ASSERT(spills >= 275);
	/* Without count (a stateless forward) the bound is not applied. */
	{
		uint32_t h = 0;
		bool spilled;

		while (s->mg_id[lp_maglev_lookup(s->mg, h)] != 0)
			h++;
		CU_ASSERT(lp_svc_pick(s, h, false, &cursor, &spilled) == 0 && !spilled);
	}
	lp_svc_free(s);
	free(load);
}

/* Weighted round robin: one turn of the cursor gives each backend its
 * Maglev slots, so shares follow weights; turns interleave. */
static void
test_wrr(void)
{
	static const struct be_def weighted[] = {
		{ "10.1.0.11", 8080, LP_BE_UP, 3 },
		{ "10.1.0.12", 8080, LP_BE_UP, 1 },
		{ NULL, 0, 0, 0 },
	};
	struct svc_def d = { 0, "10.0.0.100", 80, IPPROTO_TCP, LP_FWD_NAT, LP_SCHED_WRR, 0, weighted };
	struct lp_svc_load *load = new_load();
	struct lp_svc *s = build(&d, load);
	uint32_t cursor = 0, per[2] = { 0 }, runs = 0, prev = 0xffff;
	bool spilled;

	CU_ASSERT_FATAL(s != NULL);
	for (uint32_t i = 0; i < s->mg->size; i++) {
		/* The hash does not matter. */
		uint16_t id = lp_svc_pick(s, 7, true, &cursor, &spilled);

		CU_ASSERT_FATAL(id < 2);
		CU_ASSERT(id == s->mg_id[s->mg->slot[i]]);
		per[id]++;
		runs += id != prev;
		prev = id;
	}
	CU_ASSERT(cursor == s->mg->size);
	CU_ASSERT(per[0] == s->mg->owned[s->be[0].mg_idx] && per[1] == s->mg->owned[s->be[1].mg_idx]);
	CU_ASSERT(per[0] > 2 * per[1] && per[0] < 4 * per[1]);
	CU_ASSERT(runs > per[1]);	/* interleaved, not 3/4 then 1/4 */
	CU_ASSERT(atomic_load(&load->total) == s->mg->size);
	/* The cursor wraps. */
	CU_ASSERT(lp_svc_pick(s, 7, false, &cursor, &spilled) == s->mg_id[s->mg->slot[0]]);
	CU_ASSERT(cursor == 1);
	lp_svc_free(s);
	free(load);
}

/* Least connections: the least load per weight wins; ties spread by the hash. */
static void
test_least_conn(void)
{
	static const struct be_def weighted[] = {
		{ "10.1.0.11", 8080, LP_BE_UP, 1 },
		{ "10.1.0.12", 8080, LP_BE_UP, 1 },
		{ "10.1.0.13", 8080, LP_BE_UP, 4 },
		{ "10.1.0.14", 8080, LP_BE_DOWN, 1 },
		{ NULL, 0, 0, 0 },
	};
	struct svc_def d = { 0, "10.0.0.100", 80, IPPROTO_TCP, LP_FWD_NAT, LP_SCHED_LEAST_CONN, 0, weighted };
	struct lp_svc_load *load = new_load();
	struct lp_svc *s = build(&d, load);
	uint32_t cursor = 0, seen[3] = { 0 };
	bool spilled;

	CU_ASSERT_FATAL(s != NULL);
	/* Loads 5, 1, 3 with weights 1, 1, 4: per weight 5, 1, 0.75. The down backend has none. */
	atomic_store(&load->active[0], 5);
	atomic_store(&load->active[1], 1);
	atomic_store(&load->active[2], 3);
	atomic_store(&load->total, 9);
	CU_ASSERT(lp_svc_pick(s, 1, false, &cursor, &spilled) == 2);
	atomic_store(&load->active[2], 5);	/* 1.25 per weight: backend 1 (1.0) now */
	CU_ASSERT(lp_svc_pick(s, 1, false, &cursor, &spilled) == 1);
	/* Counting: a run of new flows fills the least loaded first. */
	CU_ASSERT(lp_svc_pick(s, 1, true, &cursor, &spilled) == 1);
	CU_ASSERT(atomic_load(&load->active[1]) == 2);
	/* Equal loads and weights: the hash picks where the scan starts. */
	memset((void *)load->active, 0, sizeof(load->active));
	for (uint32_t h = 0; h < 300; h++) {
		uint16_t id = lp_svc_pick(s, hash_of(h), false, &cursor, &spilled);

		CU_ASSERT_FATAL(id < 3);
		seen[id]++;
	}
	CU_ASSERT(seen[0] > 0 && seen[1] > 0 && seen[2] > 0);
	lp_svc_free(s);
	free(load);
}

int
main(void)
{
	static const struct lp_test_case index_cases[] = {
		{ "VIP, reply, own address and echo lookups", test_index_cases },
		{ "300 services in one index", test_index_many },
		{ NULL, NULL },
	};
	static const struct lp_test_case sched_cases[] = {
		{ "Maglev: the table's choice", test_maglev_plain },
		{ "no active backend, no choice", test_no_backend_for_new_clients },
		{ "only up backends get new clients", test_only_up_backends_chosen },
		{ "bounded load", test_bounded_load },
		{ "weighted round robin", test_wrr },
		{ "least connections", test_least_conn },
		{ NULL, NULL },
	};
	static const struct lp_test_suite suites[] = {
		{ "classify", NULL, NULL, index_cases },
		{ "sched", NULL, NULL, sched_cases },
		{ NULL, NULL, NULL, NULL },
	};

	return lp_test_run(suites);
}
