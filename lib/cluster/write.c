/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Replicated bindings: what goes to Redis. Events from the workers are
 * coalesced per binding and written in batches, each one transaction:
 * MULTI, its SETs, DELs and TTL refreshes, one XADD carrying the changes
 * with their values, EXEC (repl.c's header says why, and what readers do
 * with the entries). The replies settle each binding: a create that lost
 * adopts the winner and names it for a re-read; a change Redis executed is
 * held (the seen FIFO) until this instance's reader has passed its entry.
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

void
write_apply(struct lp_cluster *cl, uint8_t op, uint8_t origin, const struct lp_cluster_key *k,
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
void
write_flush(struct lp_cluster *cl)
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
void
write_seen_pass(struct lp_cluster *cl, bool all)
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
				write_apply(cl, LP_CLUSTER_SET, LP_CLUSTER_FROM_CONFLICT, &e->key, &stored, -1);
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

void
write_refill(struct lp_cluster *cl)
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
		}
	}
}

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

/*
 * The connection is gone: every change whose reply did not come back goes
 * back to the backlog, merged under any newer change of the same binding
 * (the caller then empties the FIFO).
 */
void
write_lost(struct lp_cluster *cl)
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
}

/* Replies to a batch (MULTI, its commands queued, EXEC) and to a re-read entry. */
void
write_reply(struct lp_cluster *cl, const struct rq *q, const redisReply *r)
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
	default:
		return;
	}
}

void
write_free(struct lp_cluster *cl)
{
	free(cl->exec);
	cl->exec = NULL;
	cl->exec_cap = 0;
	free(cl->seen);
	cl->seen = NULL;
	cl->seen_cap = cl->seen_len = 0;
	obuf_free(&cl->reread);
}
