/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The flow shard's position recycling: a deleted flow's position is not
 * reused while a reader may still hold it (before every registered reader
 * reported a quiescent state), and is reused after, whatever the order of
 * deletes; a full shard takes new flows again once its dead positions are
 * past their grace period.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "itest.h"
#include "lp_flow.h"
#include "lp_test.h"

#define CAP 1024u

static struct rte_rcu_qsbr *qsbr;

static void
key_of(struct lp_flow_key *k, uint32_t i)
{
	memset(k, 0, sizeof(*k));
	k->family = LP_AF_INET;
	k->proto = IPPROTO_TCP;
	k->src[0] = 172;
	k->src[1] = 16;
	k->src[2] = (uint8_t)(i >> 8);
	k->src[3] = (uint8_t)i;
	k->dst[0] = 10;
	k->dst[3] = 100;
	k->sport = (uint16_t)(1000 + i);
	k->dport = htons(80);
}

static int
suite_init(void)
{
	size_t sz = rte_rcu_qsbr_get_memsize(1);

	qsbr = rte_zmalloc("test_qsbr", sz, RTE_CACHE_LINE_SIZE);
	if (qsbr == NULL || rte_rcu_qsbr_init(qsbr, 1) != 0)
		return -1;
	/* Thread 0 stands for a reader in another worker. */
	if (rte_rcu_qsbr_thread_register(qsbr, 0) != 0)
		return -1;
	rte_rcu_qsbr_thread_online(qsbr, 0);
	return 0;
}

static int
suite_cleanup(void)
{
	rte_rcu_qsbr_thread_offline(qsbr, 0);
	rte_free(qsbr);
	return 0;
}

/* Fill the shard; returns how many keys went in (positions in pos[]). */
static uint32_t
fill(struct lp_flow_shard *s, uint32_t base, int32_t *pos, uint32_t max)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < max; i++) {
		struct lp_flow_key k;

		key_of(&k, base + i);
		pos[n] = lp_flow_insert(s, &k);
		if (pos[n] < 0)
			break;
		s->e[pos[n]].state = LP_FLOW_EST;
		n++;
	}
	return n;
}

static void
test_positions_wait_for_readers(void)
{
	struct lp_flow_shard *s = lp_flow_shard_create("test_shard", CAP, 64, 0, qsbr);
	static int32_t pos[2 * CAP];
	uint32_t n, again;
	struct lp_flow_key k;

	CU_ASSERT_FATAL(s != NULL);
	n = fill(s, 0, pos, 2 * CAP);
	CU_ASSERT(n >= CAP * 9 / 10 && n <= CAP);
	CU_ASSERT(lp_flow_count(s) == n);
	/* Delete every other flow, then the rest: the list keeps any order. */
	for (uint32_t i = 0; i < n; i += 2)
		lp_flow_delete(s, pos[i]);
	for (uint32_t i = 1; i < n; i += 2)
		lp_flow_delete(s, pos[i]);
	for (uint32_t i = 0; i < n; i++) {
		key_of(&k, i);
		CU_ASSERT(lp_flow_lookup_sig(s, &k, lp_flow_sig(s, &k)) < 0);
		CU_ASSERT(s->e[pos[i]].state == LP_FLOW_FREE);
	}
	/* The reader has not passed a quiescent state: only the positions
	 * never used are free (the cuckoo table stops a little short of its
	 * capacity, so a few are). */
	CU_ASSERT(lp_flow_reclaim(s, UINT32_MAX) == 0);
	again = fill(s, 100000, pos, 2 * CAP);
	CU_ASSERT(again == CAP - n);
	/* Now it has: the dead positions come back and take new flows. */
	rte_rcu_qsbr_quiescent(qsbr, 0);
	again = fill(s, 200000, pos, 2 * CAP);
	CU_ASSERT(again >= n * 9 / 10);
	CU_ASSERT(lp_flow_count(s) >= CAP * 9 / 10);
	CU_ASSERT(s->n_dead == 0);
	lp_flow_shard_free(s);
}

/* A delete of a position already deleted queues nothing twice. */
static void
test_double_delete_is_harmless(void)
{
	struct lp_flow_shard *s = lp_flow_shard_create("test_shard2", CAP, 64, 0, qsbr);
	struct lp_flow_key k;
	int32_t p;

	CU_ASSERT_FATAL(s != NULL);
	key_of(&k, 1);
	p = lp_flow_insert(s, &k);
	CU_ASSERT_FATAL(p >= 0);
	lp_flow_delete(s, p);
	lp_flow_delete(s, p);
	CU_ASSERT(s->n_dead == 1);
	rte_rcu_qsbr_quiescent(qsbr, 0);
	CU_ASSERT(lp_flow_reclaim(s, UINT32_MAX) == 1);
	CU_ASSERT(s->n_dead == 0);
	lp_flow_shard_free(s);
}

int
main(int argc, char **argv)
{
	static const struct lp_test_case cases[] = {
		{ "deleted positions wait for readers", test_positions_wait_for_readers },
		{ "double delete is harmless", test_double_delete_is_harmless },
		{ NULL, NULL },
	};
	static const struct lp_test_suite suites[] = {
		{ "flowshard", suite_init, suite_cleanup, cases },
		{ NULL, NULL, NULL, NULL },
	};

	(void)argc;
	return itest_main(argv[0], 1, suites);
}
