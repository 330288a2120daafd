/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Replicated bindings: what goes to Redis and what comes back.
 *
 * Everything travels on one connection, so replies come back in the order
 * Redis executed the commands. That order is what makes the rules simple:
 * a value read from Redis (a load, a check, a re-read) is applied unless
 * this instance has a change of the same binding that Redis has not
 * acknowledged yet (unsent, or sent after the read): that change's own
 * reply settles the binding, and it is newer than the read. Without the
 * rule a worker's fresh binding could be overwritten by the older value
 * of a read that crossed it.
 *
 * Changes travel with their values in the stream. Each batch (its SETs,
 * DELs and TTL refreshes, then its XADD) runs in one MULTI/EXEC, so the
 * stream's order is the order in which Redis executed the changes, and a
 * reader replaying the entries in order ends where Redis is:
 * - a move sets, a clear deletes;
 * - a create (SET NX) installs the binding only where none exists: the
 *   first create Redis executed is the one stored, and its entry comes
 *   first. The writer whose create lost learns the winner from its GET
 *   reply, and names the binding in a re-read entry: readers that had
 *   nothing to keep read its value (MGET) instead;
 * - an entry older than an acknowledged local change of the binding is
 *   skipped: the EXEC reply gives the stream id of the local change, and
 *   the binding is held (unseen) until the reader has passed that id.
 * A reader that finds the stream trimmed past its position (a gap) or
 * Redis emptied reads all bindings again (SCAN + MGET).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "cluster_priv.h"

#define DRAIN_MAX 65536u	/* events taken from the ring per poll */
#define XREAD_COUNT 64		/* stream entries (batches) per read */
#define SCAN_COUNT 2000
#define FETCH_MAX 512		/* keys per MGET */
#define RQ_SLACK 64		/* room kept for heartbeats and checks */
#define BATCH_RQ 3		/* MULTI, XADD, EXEC around a batch's commands */

/* ---- coalescing ---- */

uint8_t
kop_merge(uint8_t older, uint8_t newer)
{
	if (newer == KOP_NONE)
		return older;
	if (older == KOP_NONE)
		return newer;
	switch (newer) {
	case KOP_TOUCH:
		return older;		/* activity on top of any change keeps it */
	case KOP_CREATE:
		/* Re-created after a local removal: a create over a removal or
		 * move replaces whatever Redis holds. */
		return older == KOP_MOVE || older == KOP_CLEAR ? KOP_MOVE : KOP_CREATE;
	case KOP_MOVE:
		/* Created and moved before Redis saw either: still a create, so
		 * that a binding another instance made first wins. */
		return older == KOP_CREATE ? KOP_CREATE : KOP_MOVE;
	default:
		return KOP_CLEAR;
	}
}

static uint8_t
kop_of(uint8_t kind)
{
	switch (kind) {
	case LP_CLUSTER_EV_CREATE:
		return KOP_CREATE;
	case LP_CLUSTER_EV_MOVE:
		return KOP_MOVE;
	case LP_CLUSTER_EV_TOUCH:
		return KOP_TOUCH;
	case LP_CLUSTER_EV_CLEAR:
		return KOP_CLEAR;
	default:
		return KOP_NONE;
	}
}

static bool
svc_ok(const struct lp_cluster *cl, uint16_t svc_id)
{
	return svc_id < LP_CLUSTER_MAX_SERVICES && cl->svc[svc_id].used;
}

static void
take_event(struct lp_cluster *cl, const struct lp_cluster_event *ev)
{
	uint8_t op = kop_of(ev->kind), was;
	struct kent *e;
	uint32_t i;

	/* A service removed while its events were in the ring: nothing to do. */
	if (!svc_ok(cl, ev->key.svc_id))
		return;
	if (op == KOP_NONE || (ev->key.family != 4 && ev->key.family != 6) ||
	    ev->key.prefix > (ev->key.family == 4 ? 32 : 128) ||
	    (op != KOP_CLEAR && ((ev->be.family != 4 && ev->be.family != 6) || ev->be.port == 0))) {
		cl->c[LP_CLUSTER_C_errors]++;
		return;
	}
	i = ktab_find(&cl->kt, &ev->key);
	if (i == NONE32) {
		if (cl->kt.q_len >= cl->p.backlog_max || (i = ktab_get(&cl->kt, &ev->key)) == NONE32) {
			/* Lost: Redis gets all local bindings again on reconnect. */
			cl->c[LP_CLUSTER_C_backlog_overflow]++;
			cl->need_refill = true;
			return;
		}
	}
	e = &cl->kt.e[i];
	was = e->op;
	/* A touch carries the value the worker read; a change in flight or
	 * waiting is newer. */
	if (op == KOP_CREATE || op == KOP_MOVE ||
	    (op == KOP_TOUCH && !kop_changes_value(e->op) && e->inflight_val == 0))
		e->be = ev->be;
	e->op = kop_merge(e->op, op);
	if (op != KOP_CLEAR)
		e->act_us = cl->now_us;
	if (was == KOP_NONE)
		e->drain_us = cl->now_us;
	else
		cl->c[LP_CLUSTER_C_coalesced]++;
	ktab_queue(&cl->kt, i);
}

void
repl_drain(struct lp_cluster *cl)
{
	struct lp_cluster_event ev[256];
	unsigned int total = 0, n;

	while (total < DRAIN_MAX &&
	       (n = rte_ring_dequeue_burst_elem(cl->ring, ev, sizeof(ev[0]), 256, NULL)) > 0) {
		total += n;
		cl->c[LP_CLUSTER_C_events] += n;
		for (unsigned int k = 0; k < n; k++)
			take_event(cl, &ev[k]);
	}
}

/* ---- applying what Redis holds ---- */

static void
apply(struct lp_cluster *cl, uint8_t op, uint8_t origin, const struct lp_cluster_key *k,
      const struct lp_cluster_backend *be, int64_t ttl_ms)
{
	struct lp_cluster_update u = {.op = op, .origin = origin, .key = *k, .ttl_ms = ttl_ms};

	if (be != NULL)
		u.be = *be;
	switch (cl->p.apply(cl->p.apply_arg, &u)) {
	case LP_CLUSTER_APPLIED:
		cl->c[LP_CLUSTER_C_applied]++;
		break;
	case LP_CLUSTER_UNCHANGED:
		cl->c[LP_CLUSTER_C_unchanged]++;
		break;
	default:
		cl->c[LP_CLUSTER_C_rejected]++;
		break;
	}
}

static bool
parse_value(struct lp_cluster *cl, const struct lp_cluster_key *k, const redisReply *v,
	    struct lp_cluster_backend *be)
{
	char key[160];

	if (v->type == REDIS_REPLY_STRING && codec_parse_backend(v->str, v->len, be) == 0)
		return true;
	cl_error(cl, "malformed binding in Redis: %.*s", (int)cl_key(cl, key, k), key);
	return false;
}

/* ---- fetches: reading keys ---- */

static uint32_t
fetch_new(struct lp_cluster *cl, uint8_t mode, uint32_t n)
{
	struct fetch *f;
	uint32_t i;

	if (cl->fe_free == NONE32) {
		uint32_t cap = cl->fe_cap ? cl->fe_cap * 2 : 64;
		struct fetch *fe = realloc(cl->fe, (size_t)cap * sizeof(*fe));

		if (fe == NULL)
			return NONE32;
		memset(fe + cl->fe_cap, 0, (size_t)(cap - cl->fe_cap) * sizeof(*fe));
		for (i = cap; i-- > cl->fe_cap;) {
			fe[i].next_free = cl->fe_free;
			cl->fe_free = i;
		}
		cl->fe = fe;
		cl->fe_cap = cap;
	}
	i = cl->fe_free;
	f = &cl->fe[i];
	if (f->cap < n) {
		struct lp_cluster_key *k = realloc(f->keys, (size_t)n * sizeof(*k));
		uint64_t *ms;

		if (k == NULL)
			return NONE32;
		f->keys = k;
		ms = realloc(f->entry_ms, (size_t)n * sizeof(*ms));
		if (ms == NULL)
			return NONE32;
		f->entry_ms = ms;
		f->cap = n;
	}
	cl->fe_free = f->next_free;
	f->used = true;
	f->mode = mode;
	f->n = 0;
	f->done = 0;
	f->values = NULL;
	return i;
}

static void
fetch_put(struct lp_cluster *cl, uint32_t i)
{
	struct fetch *f = &cl->fe[i];

	if (!f->used)
		return;
	if (f->values != NULL)
		freeReplyObject(f->values);
	f->values = NULL;
	cl->fetch_keys -= f->n;
	f->used = false;
	f->next_free = cl->fe_free;
	cl->fe_free = i;
}

/* MGET the keys of fetch @p i; LOAD and CHECK also ask each one's PTTL. */
static void
fetch_send(struct lp_cluster *cl, uint32_t i)
{
	struct fetch *f = &cl->fe[i];
	char key[160];
	struct rq *q;

	if (f->n == 0) {
		fetch_put(cl, i);
		return;
	}
	cl->fetch_keys += f->n;
	resp_cmd(&cl->out, 1 + f->n);
	resp_str(&cl->out, "MGET");
	for (uint32_t k = 0; k < f->n; k++)
		resp_arg(&cl->out, key, cl_key(cl, key, &f->keys[k]));
	q = cl_rq_push(cl, RQ_MGET);
	q->ref = i;
	if (f->mode == FETCH_NOTIFY)
		return;
	if (f->mode == FETCH_LOAD)
		cl->load_fetches++;
	for (uint32_t k = 0; k < f->n; k++) {
		resp_cmd(&cl->out, 2);
		resp_str(&cl->out, "PTTL");
		resp_arg(&cl->out, key, cl_key(cl, key, &f->keys[k]));
		q = cl_rq_push(cl, RQ_PTTL);
		q->ref = i;
		q->idx = k;
	}
}

static void check_ready(struct lp_cluster *cl);
static void seen_pass(struct lp_cluster *cl, bool all);

static void
scan_finish(struct lp_cluster *cl)
{
	if (!cl->scan_active || !cl->scan_cursor_done || cl->scan_outstanding || cl->load_fetches > 0)
		return;
	cl->scan_active = false;
	cl->force_scan = false;
	cl->sid = cl->scan_sid;
	cl->sid_added = cl->scan_added;
	cl->have_sid = true;
	seen_pass(cl, false);
	cl->load_ms = (cl->now_us - cl->load_start_us) / 1000;
	cl->caught_up = false;
	cl->next_xread_us = cl->now_us;
	cl_log(cl, 6, "read %" PRIu64 " bindings from Redis in %" PRIu64 " ms", cl->load_count, cl->load_ms);
}

static void
mget_reply(struct lp_cluster *cl, const struct rq *q, redisReply *r, bool *keep)
{
	struct fetch *f = &cl->fe[q->ref];
	int64_t redis_now_us = (int64_t)cl->now_us + cl->redis_off_us;

	if (r->type != REDIS_REPLY_ARRAY || r->elements != f->n) {
		cl_fail(cl, "unexpected reply to MGET");
		return;
	}
	if (f->mode != FETCH_NOTIFY) {
		f->values = r;		/* the PTTL replies follow */
		*keep = true;
		return;
	}
	for (uint32_t k = 0; k < f->n; k++) {
		const struct lp_cluster_key *key = &f->keys[k];
		struct lp_cluster_backend be;

		if (!svc_ok(cl, key->svc_id) || ktab_pending(&cl->kt, key))
			continue;
		if (r->element[k]->type == REDIS_REPLY_NIL)
			apply(cl, LP_CLUSTER_DEL, LP_CLUSTER_FROM_PEER, key, NULL, -1);
		else if (parse_value(cl, key, r->element[k], &be))
			apply(cl, LP_CLUSTER_SET, LP_CLUSTER_FROM_PEER, key, &be, -1);
		if (cl->have_off) {
			int64_t lag = redis_now_us - (int64_t)f->entry_ms[k] * 1000;

			hist_add(&cl->lag_in[0], lag > 0 ? (uint64_t)lag : 0);
		}
	}
	fetch_put(cl, q->ref);
}

static void
pttl_reply(struct lp_cluster *cl, const struct rq *q, const redisReply *r)
{
	struct fetch *f = &cl->fe[q->ref];
	const struct lp_cluster_key *key = &f->keys[q->idx];
	const redisReply *v;
	int64_t pttl = r->type == REDIS_REPLY_INTEGER ? r->integer : -2;
	struct lp_cluster_backend be;

	if (f->values == NULL || q->idx >= f->n) {
		cl_fail(cl, "PTTL reply without its MGET");
		return;
	}
	v = f->values->element[q->idx];
	if (svc_ok(cl, key->svc_id) && !ktab_pending(&cl->kt, key)) {
		bool gone = v->type == REDIS_REPLY_NIL || pttl == -2;

		if (f->mode == FETCH_LOAD) {
			if (gone) {
				apply(cl, LP_CLUSTER_DEL, LP_CLUSTER_FROM_LOAD, key, NULL, -1);
			} else if (parse_value(cl, key, v, &be)) {
				cl->c[LP_CLUSTER_C_loaded]++;
				cl->load_count++;
				apply(cl, LP_CLUSTER_SET, LP_CLUSTER_FROM_LOAD, key, &be, pttl >= 0 ? pttl : -1);
			}
		} else if (gone) {
			apply(cl, LP_CLUSTER_GONE, LP_CLUSTER_FROM_CHECK, key, NULL, -1);
		} else if (parse_value(cl, key, v, &be)) {
			cl->c[LP_CLUSTER_C_checks_alive]++;
			apply(cl, LP_CLUSTER_ALIVE, LP_CLUSTER_FROM_CHECK, key, &be, pttl >= 0 ? pttl : -1);
		}
	}
	if (++f->done == f->n) {
		bool load = f->mode == FETCH_LOAD;

		fetch_put(cl, q->ref);
		if (load) {
			cl->load_fetches--;
			scan_finish(cl);
			check_ready(cl);
		}
	}
}

int
repl_check(struct lp_cluster *cl, const struct lp_cluster_key *k)
{
	uint32_t i;

	if (cl->rq_len + 2 > cl->p.inflight_max + RQ_SLACK)
		return -EAGAIN;
	i = fetch_new(cl, FETCH_CHECK, 1);
	if (i == NONE32)
		return -ENOMEM;
	cl->fe[i].keys[0] = *k;
	cl->fe[i].n = 1;
	fetch_send(cl, i);
	cl->c[LP_CLUSTER_C_checks]++;
	return 0;
}

/* ---- writing changes ---- */

static bool
touch_recent(struct lp_cluster *cl, const struct lp_cluster_key *k, bool mark)
{
	uint64_t h = codec_key_hash(k);
	uint32_t sec = (uint32_t)(cl->now_us / 1000000u), tag = (uint32_t)(h >> 32) | 1;
	__typeof__(cl->touch_seen[0]) *t = &cl->touch_seen[h & cl->touch_mask];

	if (t->tag == tag && t->sec == sec)
		return true;
	if (mark) {
		t->tag = tag;
		t->sec = sec;
	}
	return false;
}

static void
reread_add(struct lp_cluster *cl, const struct lp_cluster_key *k)
{
	const struct csvc *s = &cl->svc[k->svc_id];
	char key[160];
	size_t klen = cl_key(cl, key, k);

	if (cl->reread.len > 0)
		resp_raw(&cl->reread, " ", 1);
	resp_raw(&cl->reread, key + s->suffix_off, klen - s->suffix_off);
}

static void
send_op(struct lp_cluster *cl, uint32_t i, uint8_t op, int64_t ttl)
{
	struct kent *e = &cl->kt.e[i];
	const struct csvc *s = &cl->svc[e->key.svc_id];
	char key[160], val[CODEC_BACKEND_MAX];
	size_t klen = cl_key(cl, key, &e->key), vlen = 0;
	struct rq *q;

	switch (op) {
	case KOP_CREATE:
		vlen = codec_backend(val, &e->be);
		resp_cmd(&cl->out, 7);
		resp_str(&cl->out, "SET");
		resp_arg(&cl->out, key, klen);
		resp_arg(&cl->out, val, vlen);
		resp_str(&cl->out, "NX");
		resp_str(&cl->out, "GET");
		resp_str(&cl->out, "PX");
		resp_u64(&cl->out, (uint64_t)ttl);
		break;
	case KOP_MOVE:
		vlen = codec_backend(val, &e->be);
		resp_cmd(&cl->out, 5);
		resp_str(&cl->out, "SET");
		resp_arg(&cl->out, key, klen);
		resp_arg(&cl->out, val, vlen);
		resp_str(&cl->out, "PX");
		resp_u64(&cl->out, (uint64_t)ttl);
		break;
	case KOP_CLEAR:
		resp_cmd(&cl->out, 2);
		resp_str(&cl->out, "DEL");
		resp_arg(&cl->out, key, klen);
		break;
	default:
		resp_cmd(&cl->out, 3);
		resp_str(&cl->out, "PEXPIRE");
		resp_arg(&cl->out, key, klen);
		resp_u64(&cl->out, (uint64_t)ttl);
		break;
	}
	q = cl_rq_push(cl, RQ_OP);
	q->op = op;
	q->ref = i;
	q->be = e->be;
	q->t_us = e->drain_us;
	e->inflight++;
	if (kop_changes_value(op)) {
		static const char opc[] = {[KOP_CREATE] = 'c', [KOP_MOVE] = 'm', [KOP_CLEAR] = 'd'};

		e->inflight_val++;
		cl->c[LP_CLUSTER_C_sent]++;
		/* "cSVC:CLIENT/LEN=BACKEND", "mSVC:...=...", "dSVC:..." */
		if (cl->blob.len > 0)
			resp_raw(&cl->blob, " ", 1);
		resp_raw(&cl->blob, &opc[op], 1);
		resp_raw(&cl->blob, key + s->suffix_off, klen - s->suffix_off);
		if (op != KOP_CLEAR) {
			resp_raw(&cl->blob, "=", 1);
			resp_raw(&cl->blob, val, vlen);
		}
	} else {
		cl->c[LP_CLUSTER_C_touches]++;
	}
}

/* A stream entry: field @p f ("c": changes with values, "k": keys to read again). */
static void
send_log(struct lp_cluster *cl, struct obuf *blob, const char *f, uint8_t type)
{
	if (blob->oom) {
		cl->out.oom = true;
		return;
	}
	resp_cmd(&cl->out, 10);
	resp_str(&cl->out, "XADD");
	resp_str(&cl->out, cl->k_log);
	resp_str(&cl->out, "MAXLEN");
	resp_str(&cl->out, "~");
	resp_u64(&cl->out, cl->p.stream_maxlen);
	resp_str(&cl->out, "*");
	resp_str(&cl->out, "o");
	resp_str(&cl->out, cl->id);
	resp_str(&cl->out, f);
	resp_arg(&cl->out, blob->p, blob->len);
	cl_rq_push(cl, type);
}

/*
 * Write the backlog in batches: each batch is MULTI, its commands, one
 * stream entry carrying the changes with their values, EXEC. No other
 * client's command runs inside it, so the entries are in the order Redis
 * executed the changes.
 */
static void
flush(struct lp_cluster *cl)
{
	if (cl->exec_cap < cl->p.batch + 1) {
		struct rq *x = realloc(cl->exec, (size_t)(cl->p.batch + 1) * sizeof(*x));

		if (x == NULL) {
			cl->c[LP_CLUSTER_C_errors]++;
			return;
		}
		cl->exec = x;
		cl->exec_cap = cl->p.batch + 1;
	}
	/* Creates that lost: readers that installed ours read the winner. */
	if (cl->reread.len > 0 && cl->rq_len + 1 <= cl->p.inflight_max) {
		send_log(cl, &cl->reread, "k", RQ_REREAD);
		obuf_reset(&cl->reread);
	}
	/* A partial batch waits a little for company: under load, batches
	 * fill and the stream gets one entry per batch rather than one per
	 * poll (readers read entries, not keys, per round trip). */
	if (cl->kt.q_len > 0 && cl->kt.q_len < cl->p.batch &&
	    cl->now_us - cl->kt.e[cl->kt.q_head].drain_us < cl->p.flush_delay_us)
		return;
	while (cl->kt.q_len > 0 && cl->rq_len + cl->p.batch + BATCH_RQ <= cl->p.inflight_max &&
	       cl->now_us >= cl->pause_until_us) {
		unsigned int n = 0;
		size_t mark = cl->out.len;
		struct rq *x;

		obuf_reset(&cl->blob);
		resp_cmd(&cl->out, 1);
		resp_str(&cl->out, "MULTI");
		cl_rq_push(cl, RQ_MULTI);
		while (n < cl->p.batch) {
			uint32_t i = ktab_dequeue(&cl->kt);
			struct kent *e;
			uint8_t op;
			int64_t ttl;

			if (i == NONE32)
				break;
			e = &cl->kt.e[i];
			op = e->op;
			e->op = KOP_NONE;
			if (!svc_ok(cl, e->key.svc_id)) {
				ktab_release(&cl->kt, i);
				continue;
			}
			ttl = (int64_t)cl->svc[e->key.svc_id].timeout_s * 1000 -
			      (int64_t)((cl->now_us - e->act_us) / 1000);
			/* Expired while it waited (a long outage): nothing to keep. */
			if (op != KOP_CLEAR && ttl <= 0) {
				ktab_release(&cl->kt, i);
				continue;
			}
			/* At most one TTL refresh per binding per second. */
			if (op == KOP_TOUCH && touch_recent(cl, &e->key, true)) {
				ktab_release(&cl->kt, i);
				continue;
			}
			if (op == KOP_MOVE)
				touch_recent(cl, &e->key, true);
			send_op(cl, i, op, ttl);
			n++;
		}
		if (n == 0) {
			/* Everything dequeued was dropped: take MULTI back. */
			cl->out.len = mark;
			cl->rq_len--;
			continue;
		}
		if (cl->blob.len > 0) {
			send_log(cl, &cl->blob, "c", RQ_XADD);
			n++;
		}
		resp_cmd(&cl->out, 1);
		resp_str(&cl->out, "EXEC");
		x = cl_rq_push(cl, RQ_EXEC);
		x->n = n;
	}
}

/* ---- the seen FIFO: acknowledged changes the reader has not passed ---- */

static void
seen_push(struct lp_cluster *cl, uint32_t ref, const struct stream_pos *id)
{
	struct kent *e = &cl->kt.e[ref];

	if (cl->seen_len == cl->seen_cap) {
		uint32_t cap = cl->seen_cap ? cl->seen_cap * 2 : 4096;
		struct seen *s = malloc((size_t)cap * sizeof(*s));

		if (s == NULL) {
			/* Not held: an older entry may set it back until the
			 * next check or move; counted. */
			cl->c[LP_CLUSTER_C_errors]++;
			return;
		}
		for (uint32_t k = 0; k < cl->seen_len; k++)
			s[k] = cl->seen[(cl->seen_head + k) & (cl->seen_cap - 1)];
		free(cl->seen);
		cl->seen = s;
		cl->seen_cap = cap;
		cl->seen_head = 0;
	}
	cl->seen[(cl->seen_head + cl->seen_len++) & (cl->seen_cap - 1)] = (struct seen){ref, *id};
	e->unseen++;
	e->own = *id;
}

/* Release what the reader passed (@p all: every one, the stream is gone). */
static void
seen_pass(struct lp_cluster *cl, bool all)
{
	while (cl->seen_len > 0) {
		const struct seen *s = &cl->seen[cl->seen_head];

		if (!all && (!cl->have_sid || codec_stream_id_cmp(s->id.ms, s->id.seq, cl->sid.ms, cl->sid.seq) > 0))
			break;
		cl->kt.e[s->ref].unseen--;
		ktab_release(&cl->kt, s->ref);
		cl->seen_head = (cl->seen_head + 1) & (cl->seen_cap - 1);
		cl->seen_len--;
	}
}

/* A batch command's reply; @p id: the batch's stream entry (NULL: none). */
static void
op_reply(struct lp_cluster *cl, const struct rq *q, const redisReply *r, const struct stream_pos *id)
{
	struct kent *e = &cl->kt.e[q->ref];
	bool val = kop_changes_value(q->op);
	/* No later change of this binding in flight or waiting: what Redis
	 * answered is the newest. */
	bool last = e->inflight_val == (val ? 1 : 0) && !kop_changes_value(e->op);

	e->inflight--;
	if (val)
		e->inflight_val--;
	if (r->type == REDIS_REPLY_ERROR) {
		char key[160];

		/* OOM, READONLY (a replica), ...: keep the change, retry later. */
		cl_error(cl, "Redis refused a write of %.*s: %.*s", (int)cl_key(cl, key, &e->key), key,
			 (int)(r->len > 80 ? 80 : r->len), r->str);
		cl->pause_until_us = cl->now_us + (uint64_t)cl->p.backoff_max_ms * 1000;
		e->op = kop_merge(q->op, e->op);
		ktab_queue(&cl->kt, q->ref);
		return;
	}
	hist_add(&cl->lag_out[0], cl->now_us - q->t_us);
	if (q->op == KOP_CREATE && r->type == REDIS_REPLY_STRING) {
		struct lp_cluster_backend stored;

		if (codec_parse_backend(r->str, r->len, &stored) != 0) {
			/* Garbage under our key: replace it with our binding. */
			cl_error(cl, "malformed binding in Redis replaced: %.*s", (int)(r->len > 60 ? 60 : r->len),
				 r->str);
			if (!kop_changes_value(e->op)) {
				e->op = kop_merge(e->op, KOP_MOVE);
				ktab_queue(&cl->kt, q->ref);
			}
		} else if (!codec_backend_eq(&stored, &q->be)) {
			/* Another instance bound this client first: adopt its
			 * choice for new connections (flows keep theirs). */
			cl->c[LP_CLUSTER_C_conflicts]++;
			if (last) {
				e->be = stored;
				apply(cl, LP_CLUSTER_SET, LP_CLUSTER_FROM_CONFLICT, &e->key, &stored, -1);
			}
			reread_add(cl, &e->key);
		}
		/* SET NX left the stored TTL alone: count our activity. */
		if (e->op == KOP_NONE) {
			e->op = KOP_TOUCH;
			ktab_queue(&cl->kt, q->ref);
		}
	} else if (q->op == KOP_TOUCH && r->type == REDIS_REPLY_INTEGER && r->integer == 0) {
		/* Redis no longer holds a binding that is active here (it
		 * expired there while the event was lost, or Redis lost it):
		 * write it again, as a create, so a newer one elsewhere wins. */
		if (!kop_changes_value(e->op) && e->inflight_val == 0) {
			e->op = KOP_CREATE;
			ktab_queue(&cl->kt, q->ref);
			cl->c[LP_CLUSTER_C_recreated]++;
		}
	}
	if (val && id != NULL)
		seen_push(cl, q->ref, id);
	ktab_release(&cl->kt, q->ref);
}

/* The replies of a batch's commands, all at once. */
static void
exec_reply(struct lp_cluster *cl, const struct rq *q, const redisReply *r)
{
	struct stream_pos id, *idp = NULL;

	if (q->n != cl->exec_n) {
		cl_fail(cl, "EXEC of a batch not queued");
		return;
	}
	if (r->type == REDIS_REPLY_ARRAY && r->elements == cl->exec_n) {
		for (uint32_t k = 0; k < cl->exec_n; k++)
			if (cl->exec[k].type == RQ_XADD) {
				const redisReply *v = r->element[k];

				if (v->type == REDIS_REPLY_STRING &&
				    codec_parse_stream_id(v->str, v->len, &id.ms, &id.seq) == 0)
					idp = &id;
				else if (v->type == REDIS_REPLY_ERROR)
					cl_error(cl, "Redis refused a stream entry: %.*s",
						 (int)(v->len > 80 ? 80 : v->len), v->str);
			}
		for (uint32_t k = 0; k < cl->exec_n; k++)
			if (cl->exec[k].type == RQ_OP)
				op_reply(cl, &cl->exec[k], r->element[k], idp);
	} else if (r->type == REDIS_REPLY_ERROR) {
		/* EXECABORT (a command refused when queued: OOM, ...): nothing
		 * ran; every change is kept for later. */
		for (uint32_t k = 0; k < cl->exec_n; k++)
			if (cl->exec[k].type == RQ_OP)
				op_reply(cl, &cl->exec[k], r, NULL);
	} else {
		cl_fail(cl, "unexpected reply to EXEC");	/* the batch goes back to the backlog */
		return;
	}
	cl->exec_n = 0;
	cl->exec_abort = false;
}

/* ---- refill: Redis lost its data ---- */

static void
refill(struct lp_cluster *cl)
{
	struct lp_cluster_binding b[256];

	while (cl->refill_active && cl->kt.q_len < 4 * cl->p.batch) {
		unsigned int n = cl->p.walk(cl->p.walk_arg, &cl->walk_cursor, b, 256);

		for (unsigned int k = 0; k < n; k++) {
			uint64_t idle = (uint64_t)b[k].idle_s * 1000000u;
			struct kent *e;
			uint32_t i;

			if (!svc_ok(cl, b[k].key.svc_id))
				continue;
			i = ktab_get(&cl->kt, &b[k].key);
			if (i == NONE32) {
				cl->c[LP_CLUSTER_C_backlog_overflow]++;
				continue;
			}
			e = &cl->kt.e[i];
			if (kop_changes_value(e->op) || e->inflight_val > 0)
				continue;	/* a newer change is on its way */
			if (e->op == KOP_NONE)
				e->drain_us = cl->now_us;
			e->op = kop_merge(e->op, KOP_CREATE);
			e->be = b[k].be;
			e->act_us = cl->now_us > idle ? cl->now_us - idle : 0;
			ktab_queue(&cl->kt, i);
			cl->refill_count++;
		}
		if (cl->walk_cursor == 0) {
			cl->refill_active = false;
			cl_log(cl, 5, "wrote %" PRIu64 " local bindings to Redis again", cl->refill_count);
			check_ready(cl);
		}
	}
}

/* ---- the stream ---- */

static void
send_xread(struct lp_cluster *cl)
{
	char id[48];

	snprintf(id, sizeof(id), "%" PRIu64 "-%" PRIu64, cl->sid.ms, cl->sid.seq);
	resp_cmd(&cl->out, 6);
	resp_str(&cl->out, "XREAD");
	resp_str(&cl->out, "COUNT");
	resp_u64(&cl->out, XREAD_COUNT);
	resp_str(&cl->out, "STREAMS");
	resp_str(&cl->out, cl->k_log);
	resp_str(&cl->out, id);
	cl_rq_push(cl, RQ_XREAD);
	cl->xread_outstanding = true;
}

static void
check_ready(struct lp_cluster *cl)
{
	if (cl->state != LP_CLUSTER_SYNCING || cl->scan_active || cl->refill_active || !cl->caught_up)
		return;
	cl->state = LP_CLUSTER_READY;
	if (!cl->loaded) {
		cl->loaded = true;
		cl_log(cl, 5, "bindings loaded: %" PRIu64 " in %" PRIu64 " ms", cl->load_count, cl->load_ms);
	}
}

static const redisReply *
field(const redisReply *fields, const char *name)
{
	for (size_t i = 0; i + 1 < fields->elements; i += 2)
		if (fields->element[i]->type == REDIS_REPLY_STRING && strcmp(fields->element[i]->str, name) == 0)
			return fields->element[i + 1];
	return NULL;
}

/* Keys named by a re-read entry: fetch their values (MGET). */
static bool
reread_keys(struct lp_cluster *cl, const redisReply *k, const struct stream_pos *pos, uint32_t *f)
{
	for (const char *p = k->str, *end = k->str + k->len; p < end;) {
		const char *sp = memchr(p, ' ', (size_t)(end - p)), *svc;
		size_t len = (size_t)((sp != NULL ? sp : end) - p), svc_len;
		struct lp_cluster_key key;
		const struct csvc *s;

		if (len > 0 && codec_parse_suffix(p, len, &svc, &svc_len, &key) == 0) {
			s = cl_svc_by_name(cl, svc, svc_len);
			if (s != NULL) {
				key.svc_id = (uint16_t)(s - cl->svc);
				if (!ktab_pending(&cl->kt, &key)) {
					if (*f == NONE32 && (*f = fetch_new(cl, FETCH_NOTIFY, FETCH_MAX)) == NONE32) {
						cl_fail(cl, "out of memory");
						return false;
					}
					cl->fe[*f].keys[cl->fe[*f].n] = key;
					cl->fe[*f].entry_ms[cl->fe[*f].n++] = pos->ms;
					if (cl->fe[*f].n == FETCH_MAX) {
						fetch_send(cl, *f);
						*f = NONE32;
					}
				}
			}
		} else if (len > 0) {
			cl->c[LP_CLUSTER_C_errors]++;
		}
		p += len + 1;
	}
	return true;
}

/* The changes of a batch, with their values: replay them in order. */
static void
replay(struct lp_cluster *cl, const redisReply *c, const struct stream_pos *pos)
{
	int64_t lag = ((int64_t)cl->now_us + cl->redis_off_us) - (int64_t)pos->ms * 1000;

	for (const char *p = c->str, *end = c->str + c->len; p < end;) {
		const char *sp = memchr(p, ' ', (size_t)(end - p)), *svc, *eq;
		size_t len = (size_t)((sp != NULL ? sp : end) - p), klen, svc_len;
		struct lp_cluster_key key;
		struct lp_cluster_backend be;
		const struct csvc *s;
		char op = len > 0 ? p[0] : 0;

		eq = len > 1 ? memchr(p + 1, '=', len - 1) : NULL;
		klen = (size_t)((eq != NULL ? eq : p + len) - (p + 1));
		if (!(op == 'd' ? eq == NULL : (op == 'c' || op == 'm') && eq != NULL) ||
		    codec_parse_suffix(p + 1, klen, &svc, &svc_len, &key) != 0 ||
		    (eq != NULL && codec_parse_backend(eq + 1, (size_t)(p + len - eq - 1), &be) != 0)) {
			if (len > 0)
				cl->c[LP_CLUSTER_C_errors]++;
			p += len + 1;
			continue;
		}
		p += len + 1;
		s = cl_svc_by_name(cl, svc, svc_len);
		if (s == NULL)
			continue;	/* a service this instance does not serve */
		key.svc_id = (uint16_t)(s - cl->svc);
		cl->c[LP_CLUSTER_C_received]++;
		if (ktab_newer(&cl->kt, &key, pos))
			continue;
		if (op == 'd')
			apply(cl, LP_CLUSTER_DEL, LP_CLUSTER_FROM_PEER, &key, NULL, -1);
		else
			apply(cl, op == 'c' ? LP_CLUSTER_ADD : LP_CLUSTER_SET, LP_CLUSTER_FROM_PEER, &key, &be, -1);
		if (cl->have_off)
			hist_add(&cl->lag_in[0], lag > 0 ? (uint64_t)lag : 0);
	}
}

/* Entries after our position: replay other instances' changes. */
static void
xread_reply(struct lp_cluster *cl, const redisReply *r)
{
	const redisReply *entries;
	uint32_t f = NONE32;

	cl->xread_outstanding = false;
	if (r->type == REDIS_REPLY_NIL) {
		cl->caught_up = true;
		cl->next_xread_us = cl->now_us + cl->p.read_interval_us;
		check_ready(cl);
		return;
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 1 || r->element[0]->type != REDIS_REPLY_ARRAY ||
	    r->element[0]->elements != 2 || r->element[0]->element[1]->type != REDIS_REPLY_ARRAY) {
		cl_fail(cl, "unexpected reply to XREAD");
		return;
	}
	entries = r->element[0]->element[1];
	for (size_t i = 0; i < entries->elements; i++) {
		const redisReply *ent = entries->element[i], *o, *c, *k;
		struct stream_pos pos;

		if (ent->type != REDIS_REPLY_ARRAY || ent->elements != 2 || ent->element[0]->type != REDIS_REPLY_STRING ||
		    codec_parse_stream_id(ent->element[0]->str, ent->element[0]->len, &pos.ms, &pos.seq) != 0) {
			cl_fail(cl, "malformed stream entry");
			return;
		}
		cl->sid = pos;
		cl->sid_added++;
		cl->have_sid = true;
		if (ent->element[1]->type != REDIS_REPLY_ARRAY)
			continue;
		o = field(ent->element[1], "o");
		c = field(ent->element[1], "c");
		k = field(ent->element[1], "k");
		if (o == NULL || (c == NULL && k == NULL) || (c != NULL && c->type != REDIS_REPLY_STRING) ||
		    (k != NULL && k->type != REDIS_REPLY_STRING)) {
			cl->c[LP_CLUSTER_C_errors]++;
			continue;
		}
		/* Our own batch: its replies already settled our table. */
		if (o->type == REDIS_REPLY_STRING && strcmp(o->str, cl->id) == 0)
			continue;
		if (c != NULL)
			replay(cl, c, &pos);
		if (k != NULL && !reread_keys(cl, k, &pos, &f))
			return;
	}
	if (f != NONE32)
		fetch_send(cl, f);
	seen_pass(cl, false);
	cl->caught_up = entries->elements < XREAD_COUNT;
	cl->next_xread_us = cl->caught_up ? cl->now_us + cl->p.read_interval_us : cl->now_us;
	check_ready(cl);
}

/* ---- scan: read all live bindings ---- */

static void
start_scan(struct lp_cluster *cl)
{
	cl->scan_active = true;
	cl->scan_outstanding = false;
	cl->scan_cursor_done = false;
	strcpy(cl->scan_cursor, "0");
	cl->scan_sid = cl->hs_last;
	cl->scan_added = cl->hs_added;
	cl->load_start_us = cl->now_us;
	cl->load_count = 0;
	cl->force_scan = true;
	cl->c[LP_CLUSTER_C_resyncs]++;
	cl->state = LP_CLUSTER_SYNCING;
	cl->caught_up = false;
}

static void
send_scan(struct lp_cluster *cl)
{
	resp_cmd(&cl->out, 6);
	resp_str(&cl->out, "SCAN");
	resp_str(&cl->out, cl->scan_cursor);
	resp_str(&cl->out, "MATCH");
	resp_str(&cl->out, cl->k_match);
	resp_str(&cl->out, "COUNT");
	resp_u64(&cl->out, SCAN_COUNT);
	cl_rq_push(cl, RQ_SCAN);
	cl->scan_outstanding = true;
}

static void
scan_reply(struct lp_cluster *cl, const redisReply *r)
{
	const redisReply *keys;
	uint32_t f = NONE32;

	cl->scan_outstanding = false;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[0]->len >= sizeof(cl->scan_cursor) || r->element[1]->type != REDIS_REPLY_ARRAY) {
		cl_fail(cl, "unexpected reply to SCAN");
		return;
	}
	memcpy(cl->scan_cursor, r->element[0]->str, r->element[0]->len + 1);
	cl->scan_cursor_done = strcmp(cl->scan_cursor, "0") == 0;
	/* The next SCAN goes before this one's reads, so Redis always has
	 * work queued. */
	if (!cl->scan_cursor_done)
		send_scan(cl);
	keys = r->element[1];
	for (size_t i = 0; i < keys->elements; i++) {
		const redisReply *k = keys->element[i];
		struct lp_cluster_key key;
		const char *svc;
		size_t svc_len;
		const struct csvc *s;

		if (k->type != REDIS_REPLY_STRING || k->len <= cl->k_bind_len ||
		    memcmp(k->str, cl->k_bind, cl->k_bind_len) != 0)
			continue;
		if (codec_parse_suffix(k->str + cl->k_bind_len, k->len - cl->k_bind_len, &svc, &svc_len, &key) != 0) {
			cl->c[LP_CLUSTER_C_errors]++;
			continue;
		}
		s = cl_svc_by_name(cl, svc, svc_len);
		if (s == NULL)
			continue;	/* a service this instance does not serve */
		key.svc_id = (uint16_t)(s - cl->svc);
		if (f == NONE32 && (f = fetch_new(cl, FETCH_LOAD, FETCH_MAX)) == NONE32) {
			cl_fail(cl, "out of memory");
			return;
		}
		cl->fe[f].keys[cl->fe[f].n++] = key;
		if (cl->fe[f].n == FETCH_MAX) {
			fetch_send(cl, f);
			f = NONE32;
		}
	}
	if (f != NONE32)
		fetch_send(cl, f);
	scan_finish(cl);
	check_ready(cl);
}

/* ---- epoch, stream state: deciding how to synchronise ---- */

static void
xinfo_reply(struct lp_cluster *cl, const redisReply *r)
{
	const redisReply *v;

	cl->hs_last = (struct stream_pos){0, 0};
	cl->hs_added = cl->hs_len = 0;
	if (r->type != REDIS_REPLY_ARRAY)
		return;	/* no stream yet */
	v = field(r, "last-generated-id");
	if (v != NULL && v->type == REDIS_REPLY_STRING)
		codec_parse_stream_id(v->str, v->len, &cl->hs_last.ms, &cl->hs_last.seq);
	v = field(r, "entries-added");
	if (v != NULL && v->type == REDIS_REPLY_INTEGER && v->integer > 0)
		cl->hs_added = (uint64_t)v->integer;
	v = field(r, "length");
	if (v != NULL && v->type == REDIS_REPLY_INTEGER && v->integer > 0)
		cl->hs_len = (uint64_t)v->integer;
}

/*
 * Entries added after the one we read last: all still in the stream, or
 * did trimming take some (a gap: read everything instead)? Trimming does
 * not move max-deleted-entry-id, so count: entries-added at our position
 * is known (we count what we read), the stream holds `length`.
 */
static bool
stream_gap(const struct lp_cluster *cl)
{
	return cl->have_sid && cl->hs_added > cl->sid_added && cl->hs_added - cl->sid_added > cl->hs_len;
}

/* Our position is beyond what Redis has: it went back in time (an older
 * snapshot was restored, or the stream was deleted). */
static bool
stream_back(const struct lp_cluster *cl)
{
	return cl->have_sid && (codec_stream_id_cmp(cl->sid.ms, cl->sid.seq, cl->hs_last.ms, cl->hs_last.seq) > 0 ||
				cl->hs_added < cl->sid_added);
}

/*
 * After the handshake, or when a heartbeat finds Redis changed: decide
 * what this instance must write and read.
 * - Redis lost its data (new epoch, or its stream went back in time: an
 *   old snapshot was restored): write every local binding again (set if
 *   absent, so what another instance wrote first wins), then read all.
 * - The stream no longer holds what we have not read (trimmed): read all.
 * - Otherwise: read the stream from where we stopped.
 * The backlog is written in every case.
 */
void
repl_plan(struct lp_cluster *cl)
{
	bool known = cl->epoch[0] != '\0';
	bool new_epoch = known && strcmp(cl->epoch, cl->hs_epoch) != 0;
	bool back = stream_back(cl);
	bool gap = stream_gap(cl);

	if (known && (new_epoch || back)) {
		cl_log(cl, 4, "Redis at %s lost its data (%s): writing the local bindings again", cl->ep.text,
		       new_epoch ? "new epoch" : "its stream went back in time");
		cl->need_refill = true;
		cl->have_sid = false;
		seen_pass(cl, true);	/* the entries are gone */
	}
	snprintf(cl->epoch, sizeof(cl->epoch), "%s", cl->hs_epoch);
	cl->state = LP_CLUSTER_SYNCING;
	cl->caught_up = false;
	cl->next_xread_us = cl->now_us;
	if (cl->need_refill && cl->p.walk != NULL) {
		cl->need_refill = false;
		cl->refill_active = true;
		cl->walk_cursor = 0;
		cl->refill_count = 0;
		cl->c[LP_CLUSTER_C_refills]++;
	}
	cl->need_refill = false;
	if (!cl->loaded || cl->force_scan || !cl->have_sid || gap)
		start_scan(cl);
	check_ready(cl);
}

/* ---- heartbeat: peers, epoch, gaps ---- */

static void
heartbeat(struct lp_cluster *cl)
{
	struct lp_cluster_lag lag;
	char info[160];
	int64_t redis_ms = ((int64_t)cl->now_us + cl->redis_off_us) / 1000;

	if (cl->hb_left > 0 || cl->now_us < cl->next_hb_us)
		return;
	cl->next_hb_us = cl->now_us + (uint64_t)cl->p.heartbeat_ms * 1000;
	hist_summary(&cl->lag_in[0], &cl->lag_in[1], &lag);
	snprintf(info, sizeof(info), "%" PRId64 " %s %u %u %s", redis_ms, lp_cluster_state_name(cl->state),
		 cl->kt.q_len, lag.p99_us, cl->instance);
	resp_cmd(&cl->out, 1);
	resp_str(&cl->out, "TIME");
	cl_rq_push(cl, RQ_HB_TIME);
	resp_cmd(&cl->out, 4);
	resp_str(&cl->out, "HSET");
	resp_str(&cl->out, cl->k_peers);
	resp_str(&cl->out, cl->id);
	resp_str(&cl->out, info);
	cl_rq_push(cl, RQ_HB_HSET);
	resp_cmd(&cl->out, 3);
	resp_str(&cl->out, "EXPIRE");	/* (PEXPIRE is for bindings alone) */
	resp_str(&cl->out, cl->k_peers);
	resp_u64(&cl->out, 86400u);
	cl_rq_push(cl, RQ_HB_EXPIRE);
	resp_cmd(&cl->out, 2);
	resp_str(&cl->out, "HGETALL");
	resp_str(&cl->out, cl->k_peers);
	cl_rq_push(cl, RQ_HB_PEERS);
	resp_cmd(&cl->out, 2);
	resp_str(&cl->out, "GET");
	resp_str(&cl->out, cl->k_epoch);
	cl_rq_push(cl, RQ_HB_EPOCH);
	resp_cmd(&cl->out, 3);
	resp_str(&cl->out, "XINFO");
	resp_str(&cl->out, "STREAM");
	resp_str(&cl->out, cl->k_log);
	cl_rq_push(cl, RQ_HB_XINFO);
	cl->hb_left = 6;
}

#define PEER_STALE_MS 60000

static void
peers_reply(struct lp_cluster *cl, const redisReply *r)
{
	int64_t redis_ms = ((int64_t)cl->now_us + cl->redis_off_us) / 1000;
	const char *stale[LP_CLUSTER_MAX_PEERS];
	size_t stale_len[LP_CLUSTER_MAX_PEERS];
	unsigned int n_stale = 0;

	if (r->type != REDIS_REPLY_ARRAY)
		return;
	cl->n_peers = 0;
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const redisReply *id = r->element[i], *v = r->element[i + 1];
		struct lp_cluster_peer *p;
		long long ms = 0;
		unsigned int backlog = 0, lag = 0;
		char state[16] = "", inst[64] = "";

		if (id->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
		    sscanf(v->str, "%lld %15s %u %u %63s", &ms, state, &backlog, &lag, inst) != 5)
			continue;
		if (redis_ms - ms > PEER_STALE_MS && strcmp(id->str, cl->id) != 0) {
			if (n_stale < LP_CLUSTER_MAX_PEERS) {
				stale[n_stale] = id->str;
				stale_len[n_stale++] = id->len;
			}
			continue;
		}
		if (cl->n_peers == LP_CLUSTER_MAX_PEERS)
			continue;
		p = &cl->peers[cl->n_peers++];
		memset(p, 0, sizeof(*p));
		snprintf(p->id, sizeof(p->id), "%.16s", id->str);
		snprintf(p->instance, sizeof(p->instance), "%s", inst);
		snprintf(p->state, sizeof(p->state), "%s", state);
		p->age_ms = redis_ms > ms ? (uint32_t)(redis_ms - ms) : 0;
		p->backlog = backlog;
		p->lag_p99_us = lag;
		p->self = strcmp(id->str, cl->id) == 0;
	}
	/* Instances gone for a minute: forget them (whoever sees it first). */
	if (n_stale > 0) {
		resp_cmd(&cl->out, 2 + n_stale);
		resp_str(&cl->out, "HDEL");
		resp_str(&cl->out, cl->k_peers);
		for (unsigned int i = 0; i < n_stale; i++)
			resp_arg(&cl->out, stale[i], stale_len[i]);
		cl_rq_push(cl, RQ_IGNORE);
	}
}

static void
epoch_value(struct lp_cluster *cl, const redisReply *r)
{
	cl->hs_epoch_nil = r->type == REDIS_REPLY_NIL;
	if (r->type == REDIS_REPLY_STRING)
		snprintf(cl->hs_epoch, sizeof(cl->hs_epoch), "%.*s", (int)(r->len < 39 ? r->len : 39), r->str);
}

static void
heartbeat_done(struct lp_cluster *cl)
{
	bool back = stream_back(cl);
	bool gap = stream_gap(cl);

	if (cl->hs_epoch_nil) {
		/* Redis lost everything while we stayed connected (FLUSHALL, a
		 * replica promoted empty): a new epoch, then re-plan. */
		cl_ask_epoch(cl, RQ_EPOCH_AGAIN, RQ_XINFO_AGAIN);
		return;
	}
	if (strcmp(cl->hs_epoch, cl->epoch) != 0 || back) {
		repl_plan(cl);
	} else if (gap && !cl->scan_active) {
		cl_log(cl, 4, "fell behind the stream (trimmed past %" PRIu64 "-%" PRIu64 "): reading all bindings",
		       cl->sid.ms, cl->sid.seq);
		start_scan(cl);
	}
}

/* ---- dispatch ---- */

void
repl_reply(struct lp_cluster *cl, const struct rq *q, redisReply *r, bool *keep)
{
	switch (q->type) {
	case RQ_MULTI:
		if (r->type == REDIS_REPLY_ERROR)
			cl_fail(cl, "MULTI failed");
		return;
	case RQ_OP:
	case RQ_XADD:
		/* +QUEUED, or an error: then EXEC aborts the batch */
		if (cl->exec_n == cl->exec_cap) {
			cl_fail(cl, "more replies in a batch than commands");
			return;
		}
		cl->exec[cl->exec_n++] = *q;
		if (r->type == REDIS_REPLY_ERROR)
			cl->exec_abort = true;
		return;
	case RQ_EXEC:
		exec_reply(cl, q, r);
		return;
	case RQ_REREAD:
		if (r->type == REDIS_REPLY_ERROR)
			cl_error(cl, "Redis refused a stream entry: %.*s", (int)(r->len > 80 ? 80 : r->len), r->str);
		return;
	case RQ_XREAD:
		if (r->type == REDIS_REPLY_ERROR) {
			cl_fail(cl, "XREAD failed");
			return;
		}
		xread_reply(cl, r);
		return;
	case RQ_MGET:
		if (r->type == REDIS_REPLY_ERROR) {
			cl_fail(cl, "MGET failed");
			return;
		}
		mget_reply(cl, q, r, keep);
		return;
	case RQ_PTTL:
		pttl_reply(cl, q, r);
		return;
	case RQ_SCAN:
		if (r->type == REDIS_REPLY_ERROR) {
			cl_fail(cl, "SCAN failed");
			return;
		}
		scan_reply(cl, r);
		return;
	case RQ_EPOCH:
	case RQ_EPOCH_AGAIN:
		if (r->type == REDIS_REPLY_ERROR) {
			cl_fail(cl, "cannot read the epoch");
			return;
		}
		/* nil: our proposal is the epoch now */
		if (r->type == REDIS_REPLY_STRING)
			epoch_value(cl, r);
		return;
	case RQ_XINFO:
		xinfo_reply(cl, r);
		return;
	case RQ_XINFO_AGAIN:
		xinfo_reply(cl, r);
		repl_plan(cl);
		return;
	case RQ_HB_TIME:
		if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[0]->type == REDIS_REPLY_STRING &&
		    r->element[1]->type == REDIS_REPLY_STRING) {
			int64_t us = strtoll(r->element[0]->str, NULL, 10) * 1000000 +
				     strtoll(r->element[1]->str, NULL, 10);

			cl->redis_off_us = us - (int64_t)cl->now_us;
			cl->have_off = true;
		}
		break;
	case RQ_HB_PEERS:
		peers_reply(cl, r);
		break;
	case RQ_HB_EPOCH:
		epoch_value(cl, r);
		break;
	case RQ_HB_XINFO:
		xinfo_reply(cl, r);
		break;
	default:
		break;
	}
	if (q->type >= RQ_HB_TIME && q->type <= RQ_HB_XINFO && cl->hb_left > 0 && --cl->hb_left == 0)
		heartbeat_done(cl);
}

/* ---- each poll ---- */

void
repl_step(struct lp_cluster *cl)
{
	/* A long outage grew the table; give the memory back once drained. */
	if (cl->kt.used == 0 && cl->kt.cap > 65536 && ktab_shrink(&cl->kt) != 0)
		cl->c[LP_CLUSTER_C_errors]++;
	heartbeat(cl);
	if (cl->refill_active)
		refill(cl);
	flush(cl);
	if (cl->scan_active && !cl->scan_outstanding && !cl->scan_cursor_done &&
	    cl->rq_len + 2 * SCAN_COUNT + RQ_SLACK <= cl->p.inflight_max)
		send_scan(cl);
	if (!cl->scan_active && !cl->xread_outstanding && cl->have_sid && cl->now_us >= cl->next_xread_us &&
	    cl->fetch_keys + XREAD_COUNT * cl->p.batch <= 4 * cl->p.inflight_max)
		send_xread(cl);
}

/*
 * The connection is gone: every change whose reply did not come back goes
 * back to the backlog (merged under any newer change of the same binding),
 * reads are dropped (the next sync reads again), a scan or refill in
 * progress starts over.
 */
static void
lost_op(struct lp_cluster *cl, const struct rq *q, uint32_t pass)
{
	struct kent *e;

	if (q->type != RQ_OP)
		return;
	e = &cl->kt.e[q->ref];
	if (pass == 0) {
		e->inflight--;
		if (kop_changes_value(q->op))
			e->inflight_val--;
		e->acc = kop_merge(e->acc, q->op);
	} else if (e->acc != KOP_NONE) {
		e->op = kop_merge(e->acc, e->op);
		e->acc = KOP_NONE;
		ktab_queue(&cl->kt, q->ref);
	}
}

void
repl_lost(struct lp_cluster *cl)
{
	/* The batch being answered first (older), then the FIFO. */
	for (uint32_t pass = 0; pass < 2; pass++) {
		for (uint32_t k = 0; k < cl->exec_n; k++)
			lost_op(cl, &cl->exec[k], pass);
		for (uint32_t k = 0; k < cl->rq_len; k++)
			lost_op(cl, &cl->rq[(cl->rq_head + k) & (cl->rq_cap - 1)], pass);
	}
	cl->exec_n = 0;
	cl->exec_abort = false;
	obuf_reset(&cl->reread);	/* best effort: a reader's next check corrects it */
	cl->rq_len = 0;
	cl->rq_head = 0;
	for (uint32_t i = 0; i < cl->fe_cap; i++)
		fetch_put(cl, i);
	cl->fetch_keys = 0;
	cl->load_fetches = 0;
	cl->hb_left = 0;
	cl->xread_outstanding = false;
	cl->scan_outstanding = false;
	cl->caught_up = false;
	if (cl->scan_active) {
		cl->scan_active = false;
		cl->force_scan = true;
	}
	if (cl->refill_active) {
		cl->refill_active = false;
		cl->need_refill = true;
	}
}

void
repl_free(struct lp_cluster *cl)
{
	for (uint32_t i = 0; i < cl->fe_cap; i++) {
		if (cl->fe[i].values != NULL)
			freeReplyObject(cl->fe[i].values);
		free(cl->fe[i].keys);
		free(cl->fe[i].entry_ms);
	}
	free(cl->fe);
	cl->fe = NULL;
	cl->fe_cap = 0;
	free(cl->exec);
	cl->exec = NULL;
	cl->exec_cap = 0;
	free(cl->seen);
	cl->seen = NULL;
	cl->seen_cap = cl->seen_len = 0;
	obuf_free(&cl->reread);
}
