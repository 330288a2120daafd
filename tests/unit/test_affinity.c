/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the affinity table's provisional bindings (lp_affinity.h):
 * a binding is born provisional and lives the short provisional life until
 * it is confirmed; confirming and reclaiming race by compare-and-swap, so
 * exactly one of them wins; making room takes provisional bindings, idle
 * ones first, and never a confirmed one; a full table of provisional
 * bindings has room again after a reclaim. Time is an input (now_s).
 *
 * The table is an rte_hash, so this program starts EAL (no hugepages, no
 * devices); the RCU variable has no reader registered, so deleted
 * positions are free again at the next lp_aff_reclaim().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "lp_affinity.h"
#include "lp_test.h"

#define CAP 1024u

static struct rte_rcu_qsbr *qsbr;

static struct lp_aff_table *
table(void)
{
	static unsigned int n;
	char name[32];
	struct lp_aff_table *t;

	snprintf(name, sizeof(name), "test_aff_%u", n++);
	t = lp_aff_create(name, CAP, SOCKET_ID_ANY, qsbr);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	return t;
}

/* Client i of service 1: 10.(i >> 16).(i >> 8).i as a /32. */
static void
key(struct lp_aff_key *k, uint32_t i)
{
	uint8_t a[16] = { 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };

	lp_aff_key_make(k, 1, LP_AF_INET, a, 32);
}

static int32_t
add(struct lp_aff_table *t, uint32_t i, uint32_t now_s)
{
	struct lp_aff_key k;

	key(&k, i);
	return lp_aff_insert(t, &k, lp_aff_sig(t, &k), now_s);
}

static int32_t
find(struct lp_aff_table *t, uint32_t i)
{
	struct lp_aff_key k;

	key(&k, i);
	return lp_aff_lookup(t, &k, lp_aff_sig(t, &k));
}

/* Bind the entry at @pos to backend 3 (as a worker does), return its target. */
static uint64_t
bind(struct lp_aff_table *t, int32_t pos)
{
	uint64_t tg = lp_aff_target(&t->e[pos]);

	CU_ASSERT(lp_aff_set(&t->e[pos], &tg, 3, 1));
	return lp_aff_target(&t->e[pos]);
}

static void
test_new_binding_is_provisional_and_short_lived(void)
{
	struct lp_aff_table *t = table();
	int32_t pos = add(t, 1, 100);
	struct lp_aff_entry *e;

	CU_ASSERT_FATAL(pos >= 0);
	e = &t->e[pos];
	t->provisional_s = 10;
	CU_ASSERT(lp_aff_provisional(e));
	/* Provisional: the shorter life, counted from its last use. */
	CU_ASSERT(!lp_aff_expired(t, e, 100, 110, 10800));
	CU_ASSERT(lp_aff_expired(t, e, 100, 111, 10800));
	/* A service timeout shorter than the provisional life wins. */
	CU_ASSERT(lp_aff_expired(t, e, 100, 106, 5));
	/* Confirmed: timeoutSeconds, as before. */
	CU_ASSERT(lp_aff_confirm(e, lp_aff_serial(bind(t, pos))));
	CU_ASSERT(!lp_aff_provisional(e));
	CU_ASSERT(!lp_aff_expired(t, e, 100, 111, 10800));
	CU_ASSERT(!lp_aff_expired(t, e, 100, 10900, 10800));
	CU_ASSERT(lp_aff_expired(t, e, 100, 10901, 10800));
	/* The clock read before the entry's last use is not an expiry. */
	CU_ASSERT(!lp_aff_expired(t, e, 100, 99, 10800));
	lp_aff_free(t);
}

static void
test_confirm_once_and_only_the_pinned_binding(void)
{
	struct lp_aff_table *t = table();
	int32_t pos = add(t, 1, 100);
	uint64_t tg;

	CU_ASSERT_FATAL(pos >= 0);
	tg = bind(t, pos);
	/* A flow that pinned an older incarnation of the position. */
	CU_ASSERT(!lp_aff_confirm(&t->e[pos], lp_aff_serial(tg) + 1));
	CU_ASSERT(lp_aff_provisional(&t->e[pos]));
	CU_ASSERT(lp_aff_confirm(&t->e[pos], lp_aff_serial(tg)));
	/* Counted once: a second flow of the client finds it confirmed. */
	CU_ASSERT(!lp_aff_confirm(&t->e[pos], lp_aff_serial(tg)));
	/* The control thread may not doom a confirmed binding. */
	CU_ASSERT(!lp_aff_doom(t, (uint32_t)pos));
	/* Inserting the same client again keeps its standing. */
	CU_ASSERT(add(t, 1, 200) == pos);
	CU_ASSERT(!lp_aff_provisional(&t->e[pos]));
	lp_aff_free(t);
}

static void
test_doomed_binding_cannot_be_confirmed(void)
{
	struct lp_aff_table *t = table();
	int32_t pos = add(t, 1, 100);
	uint64_t tg;

	CU_ASSERT_FATAL(pos >= 0);
	tg = bind(t, pos);
	CU_ASSERT(lp_aff_doom(t, (uint32_t)pos));
	CU_ASSERT(!lp_aff_confirm(&t->e[pos], lp_aff_serial(tg)));
	CU_ASSERT(!lp_aff_doom(t, (uint32_t)pos));
	CU_ASSERT(lp_aff_delete(t, (uint32_t)pos) == 0);
	lp_aff_reclaim(t, true);
	/* The recycled position starts provisional for its next client. */
	CU_ASSERT(t->e[pos].state == LP_AFF_ST_PROVISIONAL);
	CU_ASSERT(find(t, 1) < 0);
	lp_aff_free(t);
}

struct seen {
	uint32_t n;
	uint64_t target[CAP];
	uint32_t client[CAP];
};

static void
note(void *ctx, const struct lp_aff_entry *e, uint64_t target)
{
	struct seen *s = ctx;

	s->client[s->n] = (uint32_t)e->key.addr[1] << 16 | (uint32_t)e->key.addr[2] << 8 | e->key.addr[3];
	s->target[s->n++] = target;
}

/* 64 clients: even ones confirmed, odd ones provisional; of the odd ones,
 * those below 32 idle since 100, the others used at 200. */
static void
test_reclaim_takes_idle_provisional_first_never_confirmed(void)
{
	struct lp_aff_table *t = table();
	static struct seen s;
	uint32_t got;

	memset(&s, 0, sizeof(s));
	for (uint32_t i = 0; i < 64; i++) {
		int32_t pos = add(t, i, i % 2 == 1 && i >= 32 ? 200 : 100);
		uint64_t tg;

		CU_ASSERT_FATAL(pos >= 0);
		tg = bind(t, pos);
		if (i % 2 == 0)
			CU_ASSERT(lp_aff_confirm(&t->e[pos], lp_aff_serial(tg)));
	}
	/* At 200, asking for 8 bindings idle at least 1 s: idle odd ones only. */
	got = lp_aff_reclaim_provisional(t, 8, t->n_pos, 200, 1, note, &s);
	CU_ASSERT(got == 8);
	CU_ASSERT(s.n == 8);
	for (uint32_t j = 0; j < s.n; j++) {
		CU_ASSERT(s.client[j] % 2 == 1 && s.client[j] < 32);
		/* The callback sees the target the binding had. */
		CU_ASSERT(lp_aff_bound(s.target[j]) && lp_aff_be_id(s.target[j]) == 3);
		CU_ASSERT(find(t, s.client[j]) < 0);
	}
	/* Asking for more than exist: every provisional one goes, the idle
	 * ones before the fresh ones, and no confirmed one. */
	got = lp_aff_reclaim_provisional(t, 1000, t->n_pos, 200, 1, note, &s);
	CU_ASSERT(got == 24);
	CU_ASSERT(s.n == 32);
	for (uint32_t j = 8; j < 16; j++)
		CU_ASSERT(s.client[j] % 2 == 1 && s.client[j] < 32);
	for (uint32_t j = 16; j < 32; j++)
		CU_ASSERT(s.client[j] % 2 == 1 && s.client[j] >= 32);
	for (uint32_t i = 0; i < 64; i++)
		CU_ASSERT((find(t, i) >= 0) == (i % 2 == 0));
	/* Nothing provisional left: nothing more is taken. */
	CU_ASSERT(lp_aff_reclaim_provisional(t, 1000, t->n_pos, 200, 0, note, &s) == 0);
	CU_ASSERT(lp_aff_count(t) == 32 + 32);	/* 32 live, 32 waiting for their grace period */
	lp_aff_reclaim(t, true);
	CU_ASSERT(lp_aff_count(t) == 32);
	lp_aff_free(t);
}

/* The scan budget bounds one call; the next call goes on from there. */
static void
test_reclaim_is_bounded_and_resumes(void)
{
	struct lp_aff_table *t = table();
	uint32_t total = 0, calls = 0;

	for (uint32_t i = 0; i < 256; i++)
		CU_ASSERT_FATAL(add(t, i, 100) >= 0);
	while (calls < 1000) {
		uint32_t got = lp_aff_reclaim_provisional(t, 1000, 97, 100, 0, NULL, NULL);

		CU_ASSERT(got <= 97);
		total += got;
		calls++;
		if (total == 256)
			break;
	}
	CU_ASSERT(total == 256);
	/* A whole table visited in pieces of 97: at most n_pos / 97 + 1 calls. */
	CU_ASSERT(calls <= t->n_pos / 97 + 1);
	lp_aff_free(t);
}

static uint32_t
fill(struct lp_aff_table *t, uint32_t from, uint32_t now_s, bool confirm)
{
	uint32_t i = from;

	for (;; i++) {
		int32_t pos = add(t, i, now_s);

		if (pos == -ENOSPC)
			break;
		CU_ASSERT_FATAL(pos >= 0);
		if (confirm)
			CU_ASSERT(lp_aff_confirm(&t->e[pos], lp_aff_serial(bind(t, pos))));
	}
	return i - from;
}

static void
test_full_table_of_provisional_bindings_makes_room(void)
{
	struct lp_aff_table *t = table();
	uint32_t n = fill(t, 0, 100, false), added = 0;

	/* The cuckoo hash refuses a key a little before it holds CAP. */
	CU_ASSERT(n > CAP * 9 / 10 && n <= CAP);
	CU_ASSERT(add(t, 1000000, 101) == -ENOSPC);
	CU_ASSERT(lp_aff_reclaim_provisional(t, CAP / 8, t->n_pos, 101, 1, NULL, NULL) == CAP / 8);
	lp_aff_reclaim(t, true);
	/* New clients find room now. */
	for (uint32_t i = 0; i < 20; i++)
		added += add(t, 1000000 + i, 101) >= 0;
	CU_ASSERT(added == 20);
	lp_aff_free(t);
}

static void
test_full_table_of_confirmed_bindings_keeps_them(void)
{
	struct lp_aff_table *t = table();
	uint32_t n = fill(t, 0, 100, true), kept = 0;

	CU_ASSERT(n > CAP * 9 / 10);
	CU_ASSERT(lp_aff_reclaim_provisional(t, CAP, t->n_pos, 10000, 1, NULL, NULL) == 0);
	lp_aff_reclaim(t, true);
	CU_ASSERT(add(t, 1000000, 10000) == -ENOSPC);
	for (uint32_t i = 0; i < n; i++)
		kept += find(t, i) >= 0;
	CU_ASSERT(kept == n);
	lp_aff_free(t);
}

static int
suite_init(void)
{
	size_t sz = rte_rcu_qsbr_get_memsize(1);

	qsbr = rte_zmalloc("test_aff_qsbr", sz, RTE_CACHE_LINE_SIZE);
	return qsbr == NULL || rte_rcu_qsbr_init(qsbr, 1) != 0 ? -1 : 0;
}

static int
suite_cleanup(void)
{
	rte_free(qsbr);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct lp_test_case cases[] = {
		{ "a new binding is provisional and short-lived", test_new_binding_is_provisional_and_short_lived },
		{ "confirm once, and only the pinned binding", test_confirm_once_and_only_the_pinned_binding },
		{ "a doomed binding cannot be confirmed", test_doomed_binding_cannot_be_confirmed },
		{ "reclaim takes idle provisional bindings first, never confirmed",
		  test_reclaim_takes_idle_provisional_first_never_confirmed },
		{ "reclaim is bounded and resumes", test_reclaim_is_bounded_and_resumes },
		{ "a full table of provisional bindings makes room", test_full_table_of_provisional_bindings_makes_room },
		{ "a full table of confirmed bindings keeps them", test_full_table_of_confirmed_bindings_keeps_them },
		{ NULL, NULL },
	};
	static const struct lp_test_suite suites[] = {
		{ "affinity", suite_init, suite_cleanup, cases },
		{ NULL, NULL, NULL, NULL },
	};
	char *eal[] = { argv[0], "-l", "0", "--no-pci", "--no-huge", "--no-shconf", "-m", "256",
			"--no-telemetry", "--log-level", "lib.eal:error" };

	(void)argc;
	if (rte_eal_init(sizeof(eal) / sizeof(eal[0]), eal) < 0) {
		fprintf(stderr, "test_affinity: EAL init failed\n");
		return EXIT_FAILURE;
	}
	return lp_test_run(suites);
}
