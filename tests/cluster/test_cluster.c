/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Replicated bindings against a real redis-server: two (or three) cluster
 * members in one process, each with its own fake affinity table, playing
 * the control threads of separate limpet instances. Each test starts its
 * own redis-server in a temporary directory.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lp_test.h"
#include "members.h"

/* ---- tests ---- */

/* Creates, moves and clears made on either instance reach the other, over
 * TCP; Redis holds each binding with the service's timeout as its TTL. */
static void
test_replication_both_ways(void)
{
	struct inst a, b;
	struct inst *all[] = {&a, &b};
	struct pair p = {&a, &b};
	struct same s = {&a, &b, SVC_WEB, 0, 300, NULL};
	redisContext *admin;
	struct lp_cluster_status st;
	long long pttl;

	CU_ASSERT_FATAL(start_redis(NULL, true));
	CU_ASSERT_FATAL(inst_open(&a, "t", "a", NULL) == 0);
	CU_ASSERT_FATAL(inst_open(&b, "t", "b", NULL) == 0);
	CU_ASSERT_FATAL(pump(all, 2, both_ready, &p, 5000));
	CU_ASSERT(lp_cluster_loaded(a.cl) && lp_cluster_loaded(b.cl));
	admin = redis_admin(&srv);
	CU_ASSERT_PTR_NOT_NULL_FATAL(admin);

	for (uint32_t c = 0; c < 200; c++) {
		struct lp_cluster_key k = mk_key(SVC_WEB, c);
		struct lp_cluster_backend be = mk_be((uint8_t)(1 + c % 3), 8080);

		w_bind(&a, &k, &be);
	}
	for (uint32_t c = 200; c < 300; c++) {
		struct lp_cluster_key k = mk_key(SVC_WEB, c);
		struct lp_cluster_backend be = mk_be(4, 8080);

		w_bind(&b, &k, &be);
	}
	CU_ASSERT(pump(all, 2, tables_agree, &s, 5000));
	CU_ASSERT_EQUAL(a.tab.n, 300);
	CU_ASSERT_EQUAL(b.tab.n, 300);
	{
		struct lp_cluster_key k = mk_key(SVC_WEB, 5);

		CU_ASSERT_EQUAL(fake_find(&b.tab, &k)->origin, LP_CLUSTER_FROM_PEER);
		CU_ASSERT_EQUAL(fake_find(&a.tab, &k)->origin, FAKE_LOCAL);
	}
	/* moves on A, clears on B */
	for (uint32_t c = 0; c < 20; c++) {
		struct lp_cluster_key k = mk_key(SVC_WEB, c);
		struct lp_cluster_backend be = mk_be(9, 9090);

		w_move(&a, &k, &be);
	}
	for (uint32_t c = 280; c < 300; c++) {
		struct lp_cluster_key k = mk_key(SVC_WEB, c);

		w_clear(&b, &k);
	}
	CU_ASSERT(pump(all, 2, tables_agree, &s, 5000));
	CU_ASSERT_EQUAL(a.tab.n, 280);
	{
		struct lp_cluster_key k = mk_key(SVC_WEB, 3);
		struct lp_cluster_backend want = mk_be(9, 9090);

		CU_ASSERT_EQUAL(memcmp(&fake_find(&b.tab, &k)->be, &want, sizeof(want)), 0);
	}
	assert_redis_matches(admin, &a, SVC_WEB, "web", 0, 300);
	{
		struct lp_cluster_key k = mk_key(SVC_WEB, 100);
		struct lp_cluster_backend be;

		CU_ASSERT(fetch_backend(admin, "web", &k, &be, &pttl));
		CU_ASSERT(pttl > 55000 && pttl <= 60000);
	}
	lp_cluster_status(b.cl, &st);
	CU_ASSERT(st.counters[LP_CLUSTER_C_received] >= 220);
	CU_ASSERT_EQUAL(st.counters[LP_CLUSTER_C_conflicts], 0);
	CU_ASSERT(st.lag_in.samples > 0);
	/* Both see each other through the heartbeat. */
	CU_ASSERT(pump(all, 2, NULL, NULL, 500));
	lp_cluster_status(a.cl, &st);
	CU_ASSERT_EQUAL(st.n_peers, 2);
	{
		char text[8192];

		lp_cluster_format(&st, text, sizeof(text));
		CU_ASSERT(strstr(text, "ready") != NULL);
		CU_ASSERT(strstr(text, "(this instance)") != NULL);
		CU_ASSERT(strstr(text, " b ") != NULL || strstr(text, " b  ") != NULL);
	}
	redisFree(admin);
	inst_close(&a);
	inst_close(&b);
	redis_stop(&srv);
}

/* Two instances bind the same new clients to different backends at once:
 * one winner per client, adopted by both, the loser's conflicts counted. */
static void
test_simultaneous_bind_one_winner(void)
{
	struct inst a, b;
	struct inst *all[] = {&a, &b};
	struct pair p = {&a, &b};
	struct same s = {&a, &b, SVC_WEB, 0, 500, NULL};
	redisContext *admin;
	uint64_t conflicts;
	unsigned int a_won = 0, b_won = 0, not_adopted = 0;

	CU_ASSERT_FATAL(start_redis(NULL, false));
	CU_ASSERT_FATAL(inst_open(&a, "t", "a", NULL) == 0);
	CU_ASSERT_FATAL(inst_open(&b, "t", "b", NULL) == 0);
	CU_ASSERT_FATAL(pump(all, 2, both_ready, &p, 5000));
	admin = redis_admin(&srv);
	for (uint32_t c = 0; c < 500; c++) {
		struct lp_cluster_key k = mk_key(SVC_WEB, c);
		struct lp_cluster_backend x = mk_be(1, 80), y = mk_be(2, 80);

		w_bind(&a, &k, &x);
		w_bind(&b, &k, &y);
	}
	/* Interleave so that each wins some. */
	for (int round = 0; round < 4; round++) {
		lp_cluster_poll(round % 2 ? b.cl : a.cl, now_ns());
		usleep(100);
	}
	CU_ASSERT(pump(all, 2, tables_agree, &s, 5000));
	conflicts = a.cl->c[LP_CLUSTER_C_conflicts] + b.cl->c[LP_CLUSTER_C_conflicts];
	CU_ASSERT_EQUAL(conflicts, 500);
	for (uint32_t c = 0; c < 500; c++) {
		struct lp_cluster_key k = mk_key(SVC_WEB, c);
		struct fake_ent *e = fake_find(&a.tab, &k);

		if (e->be.addr[3] == 1)
			a_won++;
		else
			b_won++;
		/* the loser marks it adopted */
		if ((e->be.addr[3] == 1 ? fake_find(&b.tab, &k)->origin : e->origin) != LP_CLUSTER_FROM_CONFLICT)
			not_adopted++;
	}
	CU_ASSERT_EQUAL(not_adopted, 0);
	CU_ASSERT_EQUAL(a_won + b_won, 500);
	CU_ASSERT_EQUAL(a.cl->c[LP_CLUSTER_C_conflicts], b_won);
	assert_redis_matches(admin, &a, SVC_WEB, "web", 0, 500);
	redisFree(admin);
	inst_close(&a);
	inst_close(&b);
	redis_stop(&srv);
}

/* A binding expires timeoutSeconds after the client's last activity on any
 * instance: activity on A keeps B's copy alive (B's expiry check says
 * ALIVE), no activity lets it expire on both; a burst of touches refreshes
 * the TTL once per second. */
static void
test_expiry_on_both_sides(void)
{
	struct inst a, b;
	struct inst *all[] = {&a, &b};
	struct pair p = {&a, &b};
	struct same s = {&a, &b, SVC_API, 0, 2, NULL};
	struct lp_cluster_key busy = mk_key(SVC_API, 0), idle = mk_key(SVC_API, 1);
	struct lp_cluster_backend be = mk_be(1, 80);
	redisContext *admin;
	uint64_t t0, touches0;
	long long pexpire0, pexpire1;

	CU_ASSERT_FATAL(start_redis(NULL, false));
	CU_ASSERT_FATAL(inst_open(&a, "t", "a", NULL) == 0);
	CU_ASSERT_FATAL(inst_open(&b, "t", "b", NULL) == 0);
	CU_ASSERT_FATAL(pump(all, 2, both_ready, &p, 5000));
	admin = redis_admin(&srv);
	w_bind(&a, &busy, &be);
	w_bind(&a, &idle, &be);
	CU_ASSERT_FATAL(pump(all, 2, tables_agree, &s, 3000));

	/* 50 touches in a burst: one TTL refresh. */
	touches0 = a.cl->c[LP_CLUSTER_C_touches];
	{
		redisReply *r = redis_cmd(admin, "CONFIG RESETSTAT");

		freeReplyObject(r);
	}
	pexpire0 = 0;
	sleep_ms(1000 - (unsigned int)(now_ns() / 1000000u % 1000) + 20);	/* at the start of a second */
	for (int i = 0; i < 50; i++) {
		w_touch(&a, &busy);
		lp_cluster_poll(a.cl, now_ns());
	}
	pump(all, 2, NULL, NULL, 100);
	CU_ASSERT_EQUAL(a.cl->c[LP_CLUSTER_C_touches] - touches0, 1);
	{
		redisReply *r = redis_cmd(admin, "INFO commandstats");

		pexpire1 = 0;
		if (r != NULL && r->type == REDIS_REPLY_STRING) {
			const char *m = strstr(r->str, "cmdstat_pexpire:calls=");

			if (m != NULL)
				pexpire1 = atoll(m + 22);
		}
		freeReplyObject(r);
	}
	CU_ASSERT_EQUAL(pexpire1 - pexpire0, 1);

	/* A keeps the busy client active for 3 s (a touch every 300 ms);
	 * the idle one gets nothing. */
	t0 = now_ns();
	while (now_ns() - t0 < 3000000000u) {
		w_touch(&a, &busy);
		pump(all, 2, NULL, NULL, 300);
	}
	/* Locally both look expired on B (2 s without local traffic): B asks. */
	CU_ASSERT_EQUAL(lp_cluster_check(b.cl, &busy), 0);
	CU_ASSERT_EQUAL(lp_cluster_check(b.cl, &idle), 0);
	CU_ASSERT_EQUAL(lp_cluster_check(a.cl, &idle), 0);
	pump(all, 2, NULL, NULL, 200);
	CU_ASSERT_PTR_NOT_NULL(fake_find(&b.tab, &busy));	/* ALIVE: active on A */
	CU_ASSERT(fake_find(&b.tab, &busy) != NULL && fake_find(&b.tab, &busy)->ttl_ms > 1000);
	CU_ASSERT_PTR_NULL(fake_find(&b.tab, &idle));		/* GONE on B */
	CU_ASSERT_PTR_NULL(fake_find(&a.tab, &idle));		/* GONE on A */
	CU_ASSERT_EQUAL(b.tab.ops[LP_CLUSTER_ALIVE], 1);
	CU_ASSERT_EQUAL(b.tab.ops[LP_CLUSTER_GONE], 1);
	/* at most one refresh per second: 3 s of touches every 300 ms */
	CU_ASSERT(a.cl->c[LP_CLUSTER_C_touches] - touches0 <= 6);
	/* Now nobody touches it: gone from Redis after its timeout, and both
	 * instances' checks say so. */
	pump(all, 2, NULL, NULL, 2300);
	CU_ASSERT_EQUAL(redis_int(admin, "EXISTS lp:{t}:b:api:10.0.0.0/32"), 0);
	CU_ASSERT_EQUAL(lp_cluster_check(a.cl, &busy), 0);
	CU_ASSERT_EQUAL(lp_cluster_check(b.cl, &busy), 0);
	pump(all, 2, NULL, NULL, 200);
	CU_ASSERT_PTR_NULL(fake_find(&a.tab, &busy));
	CU_ASSERT_PTR_NULL(fake_find(&b.tab, &busy));
	redisFree(admin);
	inst_close(&a);
	inst_close(&b);
	redis_stop(&srv);
}

static uint64_t
clock_ns(void)
{
	return now_ns();
}

/* A new instance loads the live bindings of the services it serves, with
 * their remaining timeout, before it reports "loaded". */
static void
test_warm_start(void)
{
	struct inst a, c;
	struct inst *one[] = {&a};
	struct pair p = {&a, NULL};
	struct tweak tw = {.other = true};
	redisContext *admin;
	unsigned int bad = 0;

	CU_ASSERT_FATAL(start_redis(NULL, false));
	CU_ASSERT_FATAL(inst_open(&a, "t", "a", &tw) == 0);
	CU_ASSERT_FATAL(pump(one, 1, both_ready, &p, 5000));
	for (uint32_t n = 0; n < 5000; n++) {
		struct lp_cluster_key k = mk_key(SVC_WEB, n);
		struct lp_cluster_backend be = mk_be((uint8_t)(n % 7 + 1), 8080);

		w_bind(&a, &k, &be);
	}
	for (uint32_t n = 0; n < 100; n++) {
		struct lp_cluster_key k = mk_key(SVC_OTHER, n);
		struct lp_cluster_backend be = mk_be(1, 8080);

		w_bind(&a, &k, &be);
	}
	CU_ASSERT(pump(one, 1, (pred_fn)settled, &a, 5000));
	admin = redis_admin(&srv);
	/* a key that is not a binding, and one that is malformed: skipped */
	freeReplyObject(redis_cmd(admin, "SET lp:{t}:b:web:notanaddress/32 10.1.0.1:80"));
	freeReplyObject(redis_cmd(admin, "SET lp:{t}:b:web:10.200.0.1/32 garbage"));
	sleep_ms(1100);	/* so that the loaded TTLs are visibly below the timeout */

	CU_ASSERT_FATAL(inst_open(&c, "t", "c", NULL) == 0);
	CU_ASSERT_EQUAL(lp_cluster_wait_loaded(c.cl, 5000, clock_ns), 0);
	CU_ASSERT_EQUAL(c.tab.n, 5000);	/* not SVC_OTHER: C does not serve it */
	for (uint32_t n = 0; n < 5000; n++) {
		struct lp_cluster_key k = mk_key(SVC_WEB, n);
		struct lp_cluster_backend want = mk_be((uint8_t)(n % 7 + 1), 8080);
		struct fake_ent *e = fake_find(&c.tab, &k);

		if (e == NULL || memcmp(&e->be, &want, sizeof(want)) != 0 || e->origin != LP_CLUSTER_FROM_LOAD ||
		    e->ttl_ms > 59000 || e->ttl_ms < 50000)
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	{
		struct lp_cluster_status st;

		lp_cluster_status(c.cl, &st);
		CU_ASSERT_EQUAL(st.load_progress, 5000);
		CU_ASSERT_EQUAL(st.counters[LP_CLUSTER_C_loaded], 5000);
		CU_ASSERT(st.counters[LP_CLUSTER_C_errors] >= 2);	/* the two bad keys */
		CU_ASSERT(st.loaded);
	}
	CU_ASSERT(logged(&c, "bindings loaded: 5000"));
	redisFree(admin);
	inst_close(&a);
	inst_close(&c);
	redis_stop(&srv);
}

/* Redis killed, changes on both sides meanwhile, Redis back empty: the
 * instances fill it again and each gets the other's outage bindings. */
static void
test_redis_restarted_empty(void)
{
	struct inst a, b;
	struct inst *all[] = {&a, &b};
	struct pair p = {&a, &b};
	struct same s = {&a, &b, SVC_WEB, 0, 200, NULL};
	redisContext *admin;
	uint64_t worst = 0;

	CU_ASSERT_FATAL(start_redis(NULL, false));
	CU_ASSERT_FATAL(inst_open(&a, "t", "a", NULL) == 0);
	CU_ASSERT_FATAL(inst_open(&b, "t", "b", NULL) == 0);
	CU_ASSERT_FATAL(pump(all, 2, both_ready, &p, 5000));
	for (uint32_t c = 0; c < 100; c++) {
		struct lp_cluster_key k = mk_key(SVC_WEB, c);
		struct lp_cluster_backend be = mk_be(1, 80);

		w_bind(c % 2 ? &a : &b, &k, &be);
	}
	s.to = 100;
	CU_ASSERT_FATAL(pump(all, 2, tables_agree, &s, 5000));

	redis_kill(&srv);
	/* During the outage: new clients on each side, moves on A. Polling
	 * never waits for Redis. */
	for (uint32_t c = 100; c < 120; c++) {
		struct lp_cluster_key k = mk_key(SVC_WEB, c);
		struct lp_cluster_backend be = mk_be(2, 80);

		w_bind(&a, &k, &be);
	}
	for (uint32_t c = 120; c < 140; c++) {
		struct lp_cluster_key k = mk_key(SVC_WEB, c);
		struct lp_cluster_backend be = mk_be(3, 80);

		w_bind(&b, &k, &be);
	}
	for (uint32_t c = 0; c < 5; c++) {
		struct lp_cluster_key k = mk_key(SVC_WEB, c);
		struct lp_cluster_backend be = mk_be(5, 80);

		w_move(&a, &k, &be);
	}
	for (int i = 0; i < 200; i++) {
		uint64_t t = now_ns();

		lp_cluster_poll(a.cl, t);
		lp_cluster_poll(b.cl, t);
		if (now_ns() - t > worst)
			worst = now_ns() - t;
		usleep(1000);
	}
	CU_ASSERT(worst < 20000000u);
	CU_ASSERT(a.cl->state != LP_CLUSTER_READY && b.cl->state != LP_CLUSTER_READY);
	CU_ASSERT(a.cl->kt.q_len >= 25);	/* the backlog holds the outage's changes */
	CU_ASSERT(logged(&a, "lost Redis"));

	CU_ASSERT_FATAL(redis_restart(&srv) == 0);
	s.to = 140;
	CU_ASSERT(pump(all, 2, tables_agree, &s, 8000));
	CU_ASSERT_EQUAL(a.tab.n, 140);
	{
		struct lp_cluster_key k = mk_key(SVC_WEB, 2);
		struct lp_cluster_backend want = mk_be(5, 80);

		CU_ASSERT_EQUAL(memcmp(&fake_find(&b.tab, &k)->be, &want, sizeof(want)), 0);
	}
	admin = redis_admin(&srv);
	assert_redis_matches(admin, &a, SVC_WEB, "web", 0, 140);
	CU_ASSERT(a.cl->c[LP_CLUSTER_C_refills] >= 1 && b.cl->c[LP_CLUSTER_C_refills] >= 1);
	CU_ASSERT(a.cl->c[LP_CLUSTER_C_reconnects] >= 1);
	CU_ASSERT(logged(&a, "lost its data") || logged(&a, "again"));
	redisFree(admin);
	inst_close(&a);
	inst_close(&b);
	redis_stop(&srv);
}

static redisContext *admin_for_kill;

/* Cut one instance off: its socket path (a symlink) disappears and its
 * connection is killed. Redis keeps its data and the other instance. */
static void
cut_off(const char *link, bool cut)
{
	if (cut) {
		unlink(link);
		/* every client but the admin; the others reconnect at once */
		freeReplyObject(redis_cmd(admin_for_kill, "CLIENT KILL USER default SKIPME yes"));
	} else {
		CU_ASSERT_EQUAL(symlink(srv.sock, link), 0);
	}
}

static bool
a_ready_again(void *arg)
{
	struct same *s = arg;

	return s->a->cl->state == LP_CLUSTER_READY && tables_agree(s);
}

/* One instance cut off from Redis while the other goes on: on reconnect
 * it writes its backlog and reads the stream from where it stopped (no
 * full read): its new clients reach the other instance, a client both
 * bound goes to the one that reached Redis first, a move it made wins
 * (the last writer), a move the other made reaches it. */
static void
test_partition_merge(void)
{
	struct inst a, b;
	struct inst *all[] = {&a, &b};
	struct pair p = {&a, &b};
	struct same s = {&a, &b, SVC_WEB, 0, 200, NULL};
	char link[200];
	struct tweak tw = {.redis = link, .io_timeout_ms = 500};
	uint64_t resyncs;

	CU_ASSERT_FATAL(start_redis(NULL, false));
	snprintf(link, sizeof(link), "%s/a.sock", srv.dir);
	CU_ASSERT_FATAL(symlink(srv.sock, link) == 0);
	CU_ASSERT_FATAL(inst_open(&a, "t", "a", &tw) == 0);
	CU_ASSERT_FATAL(inst_open(&b, "t", "b", NULL) == 0);
	CU_ASSERT_FATAL(pump(all, 2, both_ready, &p, 5000));
	admin_for_kill = redis_admin(&srv);
	for (uint32_t c = 0; c < 50; c++) {
		struct lp_cluster_key k = mk_key(SVC_WEB, c);
		struct lp_cluster_backend be = mk_be(1, 80);

		w_bind(&a, &k, &be);
	}
	s.to = 50;
	CU_ASSERT_FATAL(pump(all, 2, tables_agree, &s, 5000));
	resyncs = a.cl->c[LP_CLUSTER_C_resyncs];

	/* Cut A off; B's connection is killed too, it reconnects at once. */
	cut_off(link, true);
	pump(all, 2, NULL, NULL, 300);
	CU_ASSERT(a.cl->state == LP_CLUSTER_DISCONNECTED || a.cl->state == LP_CLUSTER_CONNECTING);
	CU_ASSERT_FATAL(pump(all, 1 + 1, both_ready, &(struct pair){&b, NULL}, 3000));
	for (uint32_t c = 100; c < 110; c++) {	/* A's new clients */
		struct lp_cluster_key k = mk_key(SVC_WEB, c);
		struct lp_cluster_backend be = mk_be(2, 80);

		w_bind(&a, &k, &be);
	}
	for (uint32_t c = 110; c < 120; c++) {	/* B's new clients */
		struct lp_cluster_key k = mk_key(SVC_WEB, c);
		struct lp_cluster_backend be = mk_be(3, 80);

		w_bind(&b, &k, &be);
	}
	for (uint32_t c = 120; c < 125; c++) {	/* bound on both: B reaches Redis first */
		struct lp_cluster_key k = mk_key(SVC_WEB, c);
		struct lp_cluster_backend x = mk_be(2, 80), y = mk_be(3, 80);

		w_bind(&a, &k, &x);
		w_bind(&b, &k, &y);
	}
	for (uint32_t c = 0; c < 5; c++) {	/* A moves (later in Redis: wins) */
		struct lp_cluster_key k = mk_key(SVC_WEB, c);
		struct lp_cluster_backend be = mk_be(6, 80);

		w_move(&a, &k, &be);
	}
	for (uint32_t c = 10; c < 13; c++) {	/* B moves */
		struct lp_cluster_key k = mk_key(SVC_WEB, c);
		struct lp_cluster_backend be = mk_be(7, 80);

		w_move(&b, &k, &be);
	}
	pump(all, 2, NULL, NULL, 300);
	CU_ASSERT(a.cl->kt.q_len >= 20);
	cut_off(link, false);
	s.to = 200;
	CU_ASSERT(pump(all, 2, a_ready_again, &s, 5000));
	CU_ASSERT_EQUAL(a.tab.n, 75);
	{
		struct lp_cluster_key k;
		struct lp_cluster_backend want;

		k = mk_key(SVC_WEB, 121);
		want = mk_be(3, 80);
		CU_ASSERT_EQUAL(memcmp(&fake_find(&a.tab, &k)->be, &want, sizeof(want)), 0);
		CU_ASSERT_EQUAL(fake_find(&a.tab, &k)->origin, LP_CLUSTER_FROM_CONFLICT);
		k = mk_key(SVC_WEB, 1);
		want = mk_be(6, 80);
		CU_ASSERT_EQUAL(memcmp(&fake_find(&b.tab, &k)->be, &want, sizeof(want)), 0);
		k = mk_key(SVC_WEB, 11);
		want = mk_be(7, 80);
		CU_ASSERT_EQUAL(memcmp(&fake_find(&a.tab, &k)->be, &want, sizeof(want)), 0);
		k = mk_key(SVC_WEB, 105);
		CU_ASSERT_PTR_NOT_NULL(fake_find(&b.tab, &k));
	}
	CU_ASSERT_EQUAL(a.cl->c[LP_CLUSTER_C_conflicts], 5);
	/* caught up from the stream, not by reading everything */
	CU_ASSERT_EQUAL(a.cl->c[LP_CLUSTER_C_resyncs], resyncs);
	redisFree(admin_for_kill);
	inst_close(&a);
	inst_close(&b);
	redis_stop(&srv);
}

/* A reader that fell further behind than the stream keeps: it notices the
 * gap and reads all bindings instead. */
static void
test_stream_gap_resync(void)
{
	struct inst a, b;
	struct inst *all[] = {&a, &b};
	struct pair p = {&a, &b};
	struct same s = {&a, &b, SVC_WEB, 0, 3000, NULL};
	char link[200];
	struct tweak ta = {.batch = 1, .stream_maxlen = 10};
	struct tweak tb = {.redis = link, .io_timeout_ms = 500};
	uint64_t resyncs;

	CU_ASSERT_FATAL(start_redis(NULL, false));
	snprintf(link, sizeof(link), "%s/b.sock", srv.dir);
	CU_ASSERT_FATAL(symlink(srv.sock, link) == 0);
	CU_ASSERT_FATAL(inst_open(&a, "t", "a", &ta) == 0);
	CU_ASSERT_FATAL(inst_open(&b, "t", "b", &tb) == 0);
	CU_ASSERT_FATAL(pump(all, 2, both_ready, &p, 5000));
	admin_for_kill = redis_admin(&srv);
	resyncs = b.cl->c[LP_CLUSTER_C_resyncs];
	cut_off(link, true);
	/* one stream entry per binding, far more than the stream keeps */
	for (uint32_t c = 0; c < 3000; c++) {
		struct lp_cluster_key k = mk_key(SVC_WEB, c);
		struct lp_cluster_backend be = mk_be(1, 80);

		w_bind(&a, &k, &be);
	}
	CU_ASSERT(pump(all, 2, (pred_fn)settled, &a, 5000));
	CU_ASSERT(redis_int(admin_for_kill, "XLEN lp:{t}:log") < 3000);
	cut_off(link, false);
	CU_ASSERT(pump(all, 2, tables_agree, &s, 8000));
	CU_ASSERT_EQUAL(b.cl->c[LP_CLUSTER_C_resyncs], resyncs + 1);
	CU_ASSERT_EQUAL(b.tab.n, 3000);
	redisFree(admin_for_kill);
	inst_close(&a);
	inst_close(&b);
	redis_stop(&srv);
}

/* Redis hung (SIGSTOP): polling never waits, the instance gives up the
 * connection after its reply timeout, keeps changes, and writes them when
 * Redis answers again. */
static void
test_hung_redis(void)
{
	struct inst a, b;
	struct inst *all[] = {&a, &b};
	struct pair p = {&a, &b};
	struct same s = {&a, &b, SVC_WEB, 0, 100, NULL};
	struct tweak tw = {.io_timeout_ms = 400};
	uint64_t worst = 0, t0;

	CU_ASSERT_FATAL(start_redis(NULL, false));
	CU_ASSERT_FATAL(inst_open(&a, "t", "a", &tw) == 0);
	CU_ASSERT_FATAL(inst_open(&b, "t", "b", &tw) == 0);
	CU_ASSERT_FATAL(pump(all, 2, both_ready, &p, 5000));
	redis_pause(&srv, true);
	for (uint32_t c = 0; c < 100; c++) {
		struct lp_cluster_key k = mk_key(SVC_WEB, c);
		struct lp_cluster_backend be = mk_be(1, 80);

		w_bind(&a, &k, &be);
	}
	t0 = now_ns();
	while (now_ns() - t0 < 1500000000u) {
		uint64_t t = now_ns();

		lp_cluster_poll(a.cl, t);
		if (now_ns() - t > worst)
			worst = now_ns() - t;
		usleep(500);
	}
	CU_ASSERT(worst < 20000000u);
	CU_ASSERT(a.cl->state != LP_CLUSTER_READY);
	CU_ASSERT(strstr(a.cl->last_error, "no reply") != NULL || strstr(a.cl->last_error, "connect") != NULL);
	CU_ASSERT(a.cl->kt.q_len == 100);
	redis_pause(&srv, false);
	CU_ASSERT(pump(all, 2, tables_agree, &s, 8000));
	CU_ASSERT_EQUAL(b.tab.n, 100);
	inst_close(&a);
	inst_close(&b);
	redis_stop(&srv);
}

/* A wrong password: one clear error, counted, retried with backoff, no
 * crash; the right password (the file is read at each attempt) connects. */
static void
test_wrong_password(void)
{
	struct inst a, n;
	struct inst *one[] = {&a};
	struct pair p = {&a, NULL};
	char pwfile[200];
	struct tweak tw = {.password_file = pwfile};
	FILE *f;
	uint64_t auth_errors;

	CU_ASSERT_FATAL(start_redis("s3cret", false));
	snprintf(pwfile, sizeof(pwfile), "%s/password", srv.dir);
	f = fopen(pwfile, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("wrong\n", f);
	fclose(f);
	CU_ASSERT_FATAL(inst_open(&a, "t", "a", &tw) == 0);
	CU_ASSERT_FALSE(pump(one, 1, both_ready, &p, 1500));
	auth_errors = a.cl->c[LP_CLUSTER_C_auth_errors];
	CU_ASSERT(auth_errors >= 2 && auth_errors <= 10);	/* retried, with backoff */
	CU_ASSERT(strstr(a.cl->last_error, "refused the password") != NULL);
	CU_ASSERT(strstr(a.cl->last_error, "WRONGPASS") != NULL);
	/* logged once, not once per retry */
	{
		unsigned int lines = 0;

		for (unsigned int i = 0; i < 8; i++)
			lines += strstr(a.log[i], "refused the password") != NULL;
		CU_ASSERT_EQUAL(lines, 1);
	}
	/* No password at all: NOAUTH says what to set. */
	CU_ASSERT_FATAL(inst_open(&n, "t", "n", NULL) == 0);
	{
		struct inst *nn[] = {&n};

		pump(nn, 1, NULL, NULL, 300);
	}
	CU_ASSERT(strstr(n.cl->last_error, "passwordFile") != NULL);
	CU_ASSERT(n.cl->c[LP_CLUSTER_C_auth_errors] >= 1);
	inst_close(&n);
	/* Fixed: connects on the next attempt. */
	f = fopen(pwfile, "w");
	fputs("s3cret\n", f);
	fclose(f);
	CU_ASSERT(pump(one, 1, both_ready, &p, 3000));
	CU_ASSERT_EQUAL(a.cl->last_error[0], '\0');
	inst_close(&a);
	redis_stop(&srv);
}

/* A binding Redis lost while it is active here (or whose create event was
 * lost) is written again on its next touch; a FLUSHALL while connected is
 * noticed by the heartbeat (epoch gone) and refilled. */
static void
test_lost_keys_written_again(void)
{
	struct inst a, b;
	struct inst *all[] = {&a, &b};
	struct pair p = {&a, &b};
	struct same s = {&a, &b, SVC_WEB, 0, 50, NULL};
	struct lp_cluster_key k = mk_key(SVC_WEB, 7);
	redisContext *admin;

	CU_ASSERT_FATAL(start_redis(NULL, false));
	CU_ASSERT_FATAL(inst_open(&a, "t", "a", NULL) == 0);
	CU_ASSERT_FATAL(inst_open(&b, "t", "b", NULL) == 0);
	CU_ASSERT_FATAL(pump(all, 2, both_ready, &p, 5000));
	admin = redis_admin(&srv);
	for (uint32_t c = 0; c < 50; c++) {
		struct lp_cluster_key kk = mk_key(SVC_WEB, c);
		struct lp_cluster_backend be = mk_be(1, 80);

		w_bind(&a, &kk, &be);
	}
	CU_ASSERT_FATAL(pump(all, 2, tables_agree, &s, 5000));
	CU_ASSERT_EQUAL(redis_int(admin, "DEL lp:{t}:b:web:10.0.0.7/32"), 1);
	sleep_ms(1000);	/* past the per-second touch filter */
	w_touch(&a, &k);
	CU_ASSERT(pump(all, 2, (pred_fn)settled, &a, 2000));
	CU_ASSERT_EQUAL(redis_int(admin, "EXISTS lp:{t}:b:web:10.0.0.7/32"), 1);
	CU_ASSERT_EQUAL(a.cl->c[LP_CLUSTER_C_recreated], 1);

	freeReplyObject(redis_cmd(admin, "FLUSHALL"));
	CU_ASSERT(pump(all, 2, NULL, NULL, 1500));
	CU_ASSERT(pump(all, 2, tables_agree, &s, 3000));
	CU_ASSERT(redis_int(admin, "DBSIZE") >= 50);
	assert_redis_matches(admin, &a, SVC_WEB, "web", 0, 50);
	CU_ASSERT(a.cl->c[LP_CLUSTER_C_refills] + b.cl->c[LP_CLUSTER_C_refills] >= 1);
	redisFree(admin);
	inst_close(&a);
	inst_close(&b);
	redis_stop(&srv);
}

/* A local change not yet acknowledged by Redis is not overwritten by an
 * older value read from Redis that crossed it: B moves a binding, A moves
 * it again before reading B's change; A's read of B's entry must not undo
 * A's move (Redis ends with A's, the last write). Two crossings: A's
 * change is taken from the ring before the stream reply carrying B's
 * value is read (stage 0), or, for a re-read entry (a binding whose
 * create lost), after A asked for the value but before the value came
 * back (stage 1). */
static void
cross(struct inst *a, struct inst *b, redisContext *admin, uint32_t client, int stage)
{
	struct inst *all[] = {a, b};
	struct same s = {a, b, SVC_WEB, client, client + 1, NULL};
	struct lp_cluster_key k = mk_key(SVC_WEB, client);
	struct lp_cluster_backend x = mk_be(1, 80), y = mk_be(2, 80), z = mk_be(3, 80), got;
	struct inst *bb[] = {b};

	w_bind(a, &k, &x);
	a->cl->next_xread_us = 0;
	CU_ASSERT_FATAL(pump(all, 2, (pred_fn)settled, b, 2000));
	a->cl->next_xread_us = 0;
	CU_ASSERT_FATAL(pump(all, 2, tables_agree, &s, 3000));
	/* Let A's idle stream read come back empty, so none is outstanding. */
	while (a->cl->xread_outstanding || a->cl->rq_len > 0)
		lp_cluster_poll(a->cl, now_ns());
	if (stage == 0) {
		/* B moves to Y and Redis has it. */
		w_move(b, &k, &y);
		CU_ASSERT_FATAL(pump(bb, 1, (pred_fn)settled, b, 2000));
	} else {
		/* Redis holds Y and a re-read entry names the binding. */
		char text[CODEC_CLIENT_MAX + 1];

		text[codec_client(text, &k)] = '\0';
		freeReplyObject(redis_cmd(admin, "SET lp:{t}:b:web:%s 10.1.0.2:80", text));
		freeReplyObject(redis_cmd(admin, "XADD lp:{t}:log * o other k web:%s", text));
	}
	/* A asks the stream now (the reply will name the binding). */
	a->cl->next_xread_us = 0;
	lp_cluster_poll(a->cl, now_ns());
	CU_ASSERT_FATAL(a->cl->xread_outstanding);
	sleep_ms(20);
	if (stage == 1) {
		/* A reads the stream reply and asks for the value. */
		lp_cluster_poll(a->cl, now_ns());
		CU_ASSERT_FATAL(!a->cl->xread_outstanding && a->cl->fetch_keys == 1);
		sleep_ms(20);
	}
	/* A's worker moves the binding to Z before A reads the reply. */
	w_move(a, &k, &z);
	CU_ASSERT(pump(all, 2, (pred_fn)settled, a, 2000));
	a->cl->next_xread_us = 0;
	pump(all, 2, NULL, NULL, 300);
	CU_ASSERT(fetch_backend(admin, "web", &k, &got, NULL) && memcmp(&got, &z, sizeof(z)) == 0);
	CU_ASSERT_EQUAL(memcmp(&fake_find(&a->tab, &k)->be, &z, sizeof(z)), 0);
	CU_ASSERT_EQUAL(memcmp(&fake_find(&b->tab, &k)->be, &z, sizeof(z)), 0);
}

static void
test_local_change_not_overwritten(void)
{
	struct inst a, b;
	struct inst *all[] = {&a, &b};
	struct pair p = {&a, &b};
	struct tweak ta = {.read_interval_us = 5000000};	/* A reads the stream only when told */
	redisContext *admin;

	CU_ASSERT_FATAL(start_redis(NULL, false));
	CU_ASSERT_FATAL(inst_open(&a, "t", "a", &ta) == 0);
	CU_ASSERT_FATAL(inst_open(&b, "t", "b", NULL) == 0);
	CU_ASSERT_FATAL(pump(all, 2, both_ready, &p, 5000));
	admin = redis_admin(&srv);
	cross(&a, &b, admin, 0, 0);
	cross(&a, &b, admin, 1, 1);
	redisFree(admin);
	inst_close(&a);
	inst_close(&b);
	redis_stop(&srv);
}

/* A binding naming a backend this instance does not have is refused by its
 * table and counted, nothing else changes. */
static void
test_unknown_backend_rejected(void)
{
	struct inst a, b;
	struct inst *all[] = {&a, &b};
	struct pair p = {&a, &b};
	struct same s = {&a, &b, SVC_WEB, 1, 10, NULL};
	struct lp_cluster_key k0 = mk_key(SVC_WEB, 0);
	struct lp_cluster_backend only_a = mk_be(99, 80), common = mk_be(1, 80);

	CU_ASSERT_FATAL(start_redis(NULL, false));
	CU_ASSERT_FATAL(inst_open(&a, "t", "a", NULL) == 0);
	CU_ASSERT_FATAL(inst_open(&b, "t", "b", NULL) == 0);
	b.tab.reject = only_a;
	b.tab.has_reject = true;
	CU_ASSERT_FATAL(pump(all, 2, both_ready, &p, 5000));
	w_bind(&a, &k0, &only_a);
	for (uint32_t c = 1; c < 10; c++) {
		struct lp_cluster_key k = mk_key(SVC_WEB, c);

		w_bind(&a, &k, &common);
	}
	CU_ASSERT(pump(all, 2, tables_agree, &s, 3000));
	CU_ASSERT_PTR_NULL(fake_find(&b.tab, &k0));
	CU_ASSERT_EQUAL(b.cl->c[LP_CLUSTER_C_rejected], 1);
	inst_close(&a);
	inst_close(&b);
	redis_stop(&srv);
}

/* Shutdown: what the workers handed over just before is written before
 * the member goes (a rolling restart loses no binding); with Redis away
 * the flush gives up after its bound. */
static void
test_flush_at_shutdown(void)
{
	struct inst a, b;
	struct inst *all[] = {&a, &b}, *bb[] = {&b};
	struct pair p = {&a, &b};
	redisContext *admin;
	uint64_t t0;

	CU_ASSERT_FATAL(start_redis(NULL, false));
	CU_ASSERT_FATAL(inst_open(&a, "t", "a", NULL) == 0);
	CU_ASSERT_FATAL(inst_open(&b, "t", "b", NULL) == 0);
	CU_ASSERT_FATAL(pump(all, 2, both_ready, &p, 5000));
	for (uint32_t c = 0; c < 1000; c++) {
		struct lp_cluster_key k = mk_key(SVC_WEB, c);
		struct lp_cluster_backend be = mk_be(1, 80);

		w_bind(&a, &k, &be);
	}
	CU_ASSERT_EQUAL(lp_cluster_flush(a.cl, 3000, clock_ns), 0);
	inst_close(&a);
	admin = redis_admin(&srv);
	CU_ASSERT_EQUAL(redis_int(admin, "DBSIZE"), 1000 + 3);	/* + epoch, log, peers */
	{
		struct fake_tab *t = &b.tab;

		pump(bb, 1, NULL, NULL, 500);
		CU_ASSERT_EQUAL(t->n, 1000);
	}
	/* Redis gone: bounded. */
	redis_kill(&srv);
	w_bind(&b, &(struct lp_cluster_key){.svc_id = SVC_WEB, .family = 4, .prefix = 32, .addr = {10, 9, 9, 9}},
	       &(struct lp_cluster_backend){.family = 4, .port = 80, .addr = {10, 1, 0, 1}});
	t0 = now_ns();
	CU_ASSERT_EQUAL(lp_cluster_flush(b.cl, 300, clock_ns), -ETIMEDOUT);
	CU_ASSERT(now_ns() - t0 < 1000000000u);
	CU_ASSERT(logged(&b, "not written to Redis at shutdown"));
	redisFree(admin);
	inst_close(&b);
	redis_stop(&srv);
}

static const struct lp_test_case cases[] = {
	{"replication_both_ways", test_replication_both_ways},
	{"simultaneous_bind_one_winner", test_simultaneous_bind_one_winner},
	{"expiry_on_both_sides", test_expiry_on_both_sides},
	{"warm_start", test_warm_start},
	{"redis_restarted_empty", test_redis_restarted_empty},
	{"partition_merge", test_partition_merge},
	{"stream_gap_resync", test_stream_gap_resync},
	{"hung_redis", test_hung_redis},
	{"wrong_password", test_wrong_password},
	{"lost_keys_written_again", test_lost_keys_written_again},
	{"local_change_not_overwritten", test_local_change_not_overwritten},
	{"unknown_backend_rejected", test_unknown_backend_rejected},
	{"flush_at_shutdown", test_flush_at_shutdown},
	{NULL, NULL},
};

static const struct lp_test_suite suites[] = {
	{"cluster_redis", suite_init, NULL, cases},
	{NULL, NULL, NULL, NULL},
};

int
main(void)
{
	if (redis_available() != 0)
		return redis_missing_exit();
	return lp_test_run(suites);
}
