/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The reader's rules for changes carried with their values in the stream
 * (lib/cluster/repl.c's header): entries are replayed in stream order; a
 * create installs a binding only where none exists; an entry older than an
 * acknowledged local change is skipped; a create that lost names its
 * binding for a re-read. Some entries are written by the test itself
 * (XADD on an admin connection) to make the order exact.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lp_test.h"
#include "members.h"

/* An entry of another instance, its changes @p fmt (one argument). */
static void __attribute__((format(printf, 2, 3)))
xadd(redisContext *admin, const char *fmt, ...)
{
	char changes[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(changes, sizeof(changes), fmt, ap);
	va_end(ap);
	freeReplyObject(redis_cmd(admin, "XADD lp:{t}:log * o other c %s", changes));
}

/* "10.0.0.7/32" of client @p c of SVC_WEB */
static const char *
client_text(uint32_t c, char *buf)
{
	struct lp_cluster_key k = mk_key(SVC_WEB, c);

	buf[codec_client(buf, &k)] = '\0';
	return buf;
}

static bool
has_be(const struct inst *in, uint32_t c, uint8_t last)
{
	struct lp_cluster_key k = mk_key(SVC_WEB, c);
	struct fake_ent *e = fake_find((struct fake_tab *)&in->tab, &k);

	return e != NULL && e->be.addr[3] == last;
}

struct want {
	struct inst *in;
	uint32_t c;
	uint8_t last;		/* 0: no binding */
};

static bool
holds(void *arg)
{
	struct want *w = arg;
	struct lp_cluster_key k = mk_key(SVC_WEB, w->c);

	if (!settled(w->in))
		return false;
	return w->last == 0 ? fake_find(&w->in->tab, &k) == NULL : has_be(w->in, w->c, w->last);
}

/* Entries of another instance, all read in one XREAD reply: B ends where
 * the last entry of each binding left it (a move over a move, a clear
 * after a create, a create of a new binding). */
static void
test_replay_in_stream_order(void)
{
	struct inst b;
	struct inst *all[] = {&b};
	struct pair p = {&b, NULL};
	struct want w = {&b, 2, 3};
	redisContext *admin;
	char c0[64], c1[64], c2[64];

	CU_ASSERT_FATAL(start_redis(NULL, false));
	CU_ASSERT_FATAL(inst_open(&b, "t", "b", NULL) == 0);
	CU_ASSERT_FATAL(pump(all, 1, both_ready, &p, 5000));
	admin = redis_admin(&srv);
	client_text(0, c0);
	client_text(1, c1);
	client_text(2, c2);
	/* B does not poll while they are written: one reply holds them all. */
	xadd(admin, "cweb:%s=10.1.0.1:80", c1);
	xadd(admin, "mweb:%s=10.1.0.1:80", c0);
	xadd(admin, "mweb:%s=10.1.0.2:80 dweb:%s", c0, c1);
	xadd(admin, "cweb:%s=10.1.0.3:80", c2);
	CU_ASSERT(pump(all, 1, holds, &w, 3000));
	CU_ASSERT(has_be(&b, 0, 2));
	{
		struct lp_cluster_key k1 = mk_key(SVC_WEB, 1);

		CU_ASSERT_PTR_NULL(fake_find(&b.tab, &k1));
	}
	CU_ASSERT_EQUAL(b.cl->c[LP_CLUSTER_C_received], 5);
	CU_ASSERT_EQUAL(b.cl->c[LP_CLUSTER_C_errors], 0);
	/* A malformed change is counted, the rest of its entry applied. */
	xadd(admin, "xweb:zz mweb:%s=10.1.0.4:80", c2);
	w.last = 4;
	CU_ASSERT(pump(all, 1, holds, &w, 3000));
	CU_ASSERT_EQUAL(b.cl->c[LP_CLUSTER_C_errors], 1);
	redisFree(admin);
	inst_close(&b);
	redis_stop(&srv);
}

/* A create from another instance installs a binding only where none
 * exists: Redis's SET NX kept the first create, whose entry came first. */
static void
test_create_only_if_absent(void)
{
	struct inst b;
	struct inst *all[] = {&b};
	struct pair p = {&b, NULL};
	struct want w = {&b, 1, 2};
	struct lp_cluster_key k0 = mk_key(SVC_WEB, 0);
	struct lp_cluster_backend x = mk_be(1, 80);
	redisContext *admin;
	char c0[64], c1[64];

	CU_ASSERT_FATAL(start_redis(NULL, false));
	CU_ASSERT_FATAL(inst_open(&b, "t", "b", NULL) == 0);
	CU_ASSERT_FATAL(pump(all, 1, both_ready, &p, 5000));
	admin = redis_admin(&srv);
	w_bind(&b, &k0, &x);
	CU_ASSERT_FATAL(pump(all, 1, (pred_fn)settled, &b, 3000));
	pump(all, 1, NULL, NULL, 50);	/* past its own entry */
	xadd(admin, "cweb:%s=10.1.0.2:80 cweb:%s=10.1.0.2:80", client_text(0, c0), client_text(1, c1));
	CU_ASSERT(pump(all, 1, holds, &w, 3000));
	CU_ASSERT(has_be(&b, 0, 1));
	CU_ASSERT_EQUAL(fake_find(&b.tab, &k0)->origin, FAKE_LOCAL);
	CU_ASSERT_EQUAL(b.tab.ops[LP_CLUSTER_ADD], 2);
	redisFree(admin);
	inst_close(&b);
	redis_stop(&srv);
}

/* A and B bind the same new clients to different backends at once; C
 * only reads. C sees both creates of each client and keeps the one Redis
 * kept: all three tables and Redis agree. */
static void
test_concurrent_creates_seen_by_third(void)
{
	struct inst a, b, c;
	struct inst *all[] = {&a, &b, &c};
	struct pair p = {&a, &b}, pc = {&c, NULL};
	struct same ab = {&a, &b, SVC_WEB, 0, 500, NULL}, ac = {&a, &c, SVC_WEB, 0, 500, NULL};
	redisContext *admin;

	CU_ASSERT_FATAL(start_redis(NULL, false));
	CU_ASSERT_FATAL(inst_open(&a, "t", "a", NULL) == 0);
	CU_ASSERT_FATAL(inst_open(&b, "t", "b", NULL) == 0);
	CU_ASSERT_FATAL(inst_open(&c, "t", "c", NULL) == 0);
	CU_ASSERT_FATAL(pump(all, 3, both_ready, &p, 5000));
	CU_ASSERT_FATAL(pump(all, 3, both_ready, &pc, 5000));
	admin = redis_admin(&srv);
	for (uint32_t k = 0; k < 500; k++) {
		struct lp_cluster_key key = mk_key(SVC_WEB, k);
		struct lp_cluster_backend x = mk_be(1, 80), y = mk_be(2, 80);

		w_bind(&a, &key, &x);
		w_bind(&b, &key, &y);
	}
	/* Interleave so that each wins some. */
	for (int round = 0; round < 4; round++) {
		lp_cluster_poll(round % 2 ? b.cl : a.cl, now_ns());
		usleep(100);
	}
	CU_ASSERT(pump(all, 3, tables_agree, &ab, 5000));
	CU_ASSERT(pump(all, 3, tables_agree, &ac, 5000));
	CU_ASSERT_EQUAL(a.cl->c[LP_CLUSTER_C_conflicts] + b.cl->c[LP_CLUSTER_C_conflicts], 500);
	assert_redis_matches(admin, &c, SVC_WEB, "web", 0, 500);
	redisFree(admin);
	inst_close(&a);
	inst_close(&b);
	inst_close(&c);
	redis_stop(&srv);
}

/* A and B move the same 512 bindings at once, in opposite orders, five
 * times; C only reads. Redis interleaves the two pipelines, so the last
 * move of a binding in Redis is A's for some and B's for others: readers
 * replaying the stream end where Redis is only if no other command runs
 * between a batch's moves and its stream entry. */
static void
test_concurrent_moves_seen_by_third(void)
{
	struct inst a, b, c;
	struct inst *all[] = {&a, &b, &c};
	struct pair p = {&a, &b}, pc = {&c, NULL};
	struct same ab = {&a, &b, SVC_WEB, 0, 512, NULL}, ac = {&a, &c, SVC_WEB, 0, 512, NULL};
	redisContext *admin;

	CU_ASSERT_FATAL(start_redis(NULL, false));
	CU_ASSERT_FATAL(inst_open(&a, "t", "a", NULL) == 0);
	CU_ASSERT_FATAL(inst_open(&b, "t", "b", NULL) == 0);
	CU_ASSERT_FATAL(inst_open(&c, "t", "c", NULL) == 0);
	CU_ASSERT_FATAL(pump(all, 3, both_ready, &p, 5000));
	CU_ASSERT_FATAL(pump(all, 3, both_ready, &pc, 5000));
	admin = redis_admin(&srv);
	for (uint32_t k = 0; k < 512; k++) {
		struct lp_cluster_key key = mk_key(SVC_WEB, k);
		struct lp_cluster_backend x = mk_be(1, 80);

		w_bind(&a, &key, &x);
	}
	CU_ASSERT_FATAL(pump(all, 3, tables_agree, &ab, 5000));
	for (uint8_t round = 0; round < 5; round++) {
		for (uint32_t k = 0; k < 512; k++) {
			struct lp_cluster_key ka = mk_key(SVC_WEB, k), kb = mk_key(SVC_WEB, 511 - k);
			struct lp_cluster_backend x = mk_be((uint8_t)(10 + round), 80), y = mk_be((uint8_t)(20 + round), 80);

			w_move(&a, &ka, &x);
			w_move(&b, &kb, &y);
		}
		CU_ASSERT(pump(all, 3, tables_agree, &ab, 5000));
		CU_ASSERT(pump(all, 3, tables_agree, &ac, 5000));
	}
	assert_redis_matches(admin, &c, SVC_WEB, "web", 0, 512);
	assert_redis_matches(admin, &a, SVC_WEB, "web", 0, 512);
	redisFree(admin);
	inst_close(&a);
	inst_close(&b);
	inst_close(&c);
	redis_stop(&srv);
}

/* B's move is acknowledged after A's, B reads the stream only afterwards:
 * A's entry is older than B's own change and must not undo it (Redis ends
 * with B's, and so do both tables). */
static void
test_older_entry_after_ack_skipped(void)
{
	struct inst a, b;
	struct inst *all[] = {&a, &b}, *aa[] = {&a}, *bb[] = {&b};
	struct pair p = {&a, &b};
	struct same s = {&a, &b, SVC_WEB, 0, 1, NULL};
	struct tweak tb = {.read_interval_us = 5000000};	/* B reads the stream only when told */
	struct lp_cluster_key k = mk_key(SVC_WEB, 0);
	struct lp_cluster_backend x = mk_be(1, 80), y = mk_be(2, 80), z = mk_be(3, 80), got;
	redisContext *admin;

	CU_ASSERT_FATAL(start_redis(NULL, false));
	CU_ASSERT_FATAL(inst_open(&a, "t", "a", NULL) == 0);
	CU_ASSERT_FATAL(inst_open(&b, "t", "b", &tb) == 0);
	CU_ASSERT_FATAL(pump(all, 2, both_ready, &p, 5000));
	admin = redis_admin(&srv);
	w_bind(&a, &k, &x);
	CU_ASSERT_FATAL(pump(aa, 1, (pred_fn)settled, &a, 3000));
	b.cl->next_xread_us = 0;
	CU_ASSERT_FATAL(pump(all, 2, tables_agree, &s, 3000));
	while (b.cl->xread_outstanding)
		lp_cluster_poll(b.cl, now_ns());
	/* A moves to Y (acknowledged), then B to Z (acknowledged, later). */
	w_move(&a, &k, &y);
	CU_ASSERT_FATAL(pump(aa, 1, (pred_fn)settled, &a, 3000));
	w_move(&b, &k, &z);
	CU_ASSERT_FATAL(pump(bb, 1, (pred_fn)settled, &b, 3000));
	CU_ASSERT_FATAL(!b.cl->xread_outstanding);
	/* Now B reads A's entry (older) and its own. */
	b.cl->next_xread_us = 0;
	pump(all, 2, NULL, NULL, 300);
	CU_ASSERT(fetch_backend(admin, "web", &k, &got, NULL) && memcmp(&got, &z, sizeof(z)) == 0);
	CU_ASSERT(has_be(&b, 0, 3));
	CU_ASSERT(has_be(&a, 0, 3));
	/* B passed its own entry: nothing held any more. */
	CU_ASSERT_EQUAL(b.cl->seen_len, 0);
	CU_ASSERT_EQUAL(b.cl->kt.used, 0);
	redisFree(admin);
	inst_close(&a);
	inst_close(&b);
	redis_stop(&srv);
}

/* Redis holds W for a client that no instance knows (written behind
 * their backs); A creates X: its SET NX loses, A adopts W and names the
 * binding in a re-read entry. C had installed A's X (nothing to keep) and
 * reads W. */
static void
test_lost_create_read_again(void)
{
	struct inst a, c;
	struct inst *all[] = {&a, &c};
	struct pair p = {&a, &c};
	struct same s = {&a, &c, SVC_WEB, 0, 1, NULL};
	struct lp_cluster_key k = mk_key(SVC_WEB, 0);
	struct lp_cluster_backend x = mk_be(1, 80);
	redisContext *admin;
	char c0[64];

	CU_ASSERT_FATAL(start_redis(NULL, false));
	CU_ASSERT_FATAL(inst_open(&a, "t", "a", NULL) == 0);
	CU_ASSERT_FATAL(inst_open(&c, "t", "c", NULL) == 0);
	CU_ASSERT_FATAL(pump(all, 2, both_ready, &p, 5000));
	admin = redis_admin(&srv);
	freeReplyObject(redis_cmd(admin, "SET lp:{t}:b:web:%s 10.1.0.9:80 PX 60000", client_text(0, c0)));
	w_bind(&a, &k, &x);
	CU_ASSERT(pump(all, 2, tables_agree, &s, 3000));
	pump(all, 2, NULL, NULL, 100);
	CU_ASSERT(has_be(&a, 0, 9));
	CU_ASSERT(has_be(&c, 0, 9));
	CU_ASSERT_EQUAL(a.cl->c[LP_CLUSTER_C_conflicts], 1);
	CU_ASSERT_EQUAL(fake_find(&a.tab, &k)->origin, LP_CLUSTER_FROM_CONFLICT);
	redisFree(admin);
	inst_close(&a);
	inst_close(&c);
	redis_stop(&srv);
}

static const struct lp_test_case cases[] = {
	{"replay_in_stream_order", test_replay_in_stream_order},
	{"create_only_if_absent", test_create_only_if_absent},
	{"concurrent_creates_seen_by_third", test_concurrent_creates_seen_by_third},
	{"concurrent_moves_seen_by_third", test_concurrent_moves_seen_by_third},
	{"older_entry_after_ack_skipped", test_older_entry_after_ack_skipped},
	{"lost_create_read_again", test_lost_create_read_again},
	{NULL, NULL},
};

static const struct lp_test_suite suites[] = {
	{"cluster_replay", suite_init, NULL, cases},
	{NULL, NULL, NULL, NULL},
};

int
main(void)
{
	if (redis_available() != 0)
		return redis_missing_exit();
	return lp_test_run(suites);
}
