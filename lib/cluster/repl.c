/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Replicated bindings: what comes back from Redis, and each poll (what
 * goes to Redis is in write.c).
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

#include "cluster_priv.h"

#define XREAD_COUNT 64		/* stream entries (batches) per read */
#define SCAN_COUNT 2000
#define FETCH_MAX 512		/* keys per MGET */
#define RQ_SLACK 64		/* room kept for heartbeats and checks */

/* ---- applying what Redis holds ---- */

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
	write_seen_pass(cl, false);
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
			write_apply(cl, LP_CLUSTER_DEL, LP_CLUSTER_FROM_PEER, key, NULL, -1);
		else if (parse_value(cl, key, r->element[k], &be))
			write_apply(cl, LP_CLUSTER_SET, LP_CLUSTER_FROM_PEER, key, &be, -1);
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
				write_apply(cl, LP_CLUSTER_DEL, LP_CLUSTER_FROM_LOAD, key, NULL, -1);
			} else if (parse_value(cl, key, v, &be)) {
				cl->c[LP_CLUSTER_C_loaded]++;
				cl->load_count++;
				write_apply(cl, LP_CLUSTER_SET, LP_CLUSTER_FROM_LOAD, key, &be, pttl >= 0 ? pttl : -1);
			}
		} else if (gone) {
			write_apply(cl, LP_CLUSTER_GONE, LP_CLUSTER_FROM_CHECK, key, NULL, -1);
		} else if (parse_value(cl, key, v, &be)) {
			cl->c[LP_CLUSTER_C_checks_alive]++;
			write_apply(cl, LP_CLUSTER_ALIVE, LP_CLUSTER_FROM_CHECK, key, &be, pttl >= 0 ? pttl : -1);
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
			write_apply(cl, LP_CLUSTER_DEL, LP_CLUSTER_FROM_PEER, &key, NULL, -1);
		else
			write_apply(cl, op == 'c' ? LP_CLUSTER_ADD : LP_CLUSTER_SET, LP_CLUSTER_FROM_PEER, &key, &be, -1);
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
	write_seen_pass(cl, false);
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
		write_seen_pass(cl, true);	/* the entries are gone */
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
	case RQ_OP:
	case RQ_XADD:
	case RQ_EXEC:
	case RQ_REREAD:
		write_reply(cl, q, r);
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
	if (cl->refill_active) {
		write_refill(cl);
		check_ready(cl);
	}
	write_flush(cl);
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
void
repl_lost(struct lp_cluster *cl)
{
	write_lost(cl);
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
	write_free(cl);
}
