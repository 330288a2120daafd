/* SPDX-License-Identifier: BSD-3-Clause */
/* Per-worker flow shard over rte_hash. */
#include <errno.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "lp_flow.h"

struct lp_flow_shard *
lp_flow_shard_create(const char *name, uint32_t capacity, int socket, struct rte_rcu_qsbr *qsbr)
{
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = capacity < 64 ? 64 : capacity,
		.key_len = sizeof(struct lp_flow_key),
		/* CRC32 instructions: 5 of them for a 40-byte key. */
		.hash_func = rte_hash_crc,
		.hash_func_init_val = LP_FLOW_HASH_INIT,
		.socket_id = socket,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF,
	};
	struct lp_flow_shard *s;
	int32_t max_id;

	s = rte_zmalloc_socket("lp_flow_shard", sizeof(*s), RTE_CACHE_LINE_SIZE, socket);
	if (s == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	/* The lock-free mode keeps a deleted key's position in use until
	 * rte_hash_free_key_with_position(): lp_flow_reclaim() calls it once
	 * the readers are past the delete. */
	s->h = rte_hash_create(&hp);
	if (s->h == NULL)
		goto fail;
	s->qsbr = qsbr;
	s->dead_head = s->dead_tail = LP_FLOW_NO_POS;
	max_id = rte_hash_max_key_id(s->h);
	if (max_id < 0) {
		rte_errno = EINVAL;
		goto fail;
	}
	s->n_pos = (uint32_t)max_id + 1;
	s->capacity = hp.entries;
	s->e = rte_zmalloc_socket("lp_flow_entries", (size_t)s->n_pos * sizeof(*s->e), RTE_CACHE_LINE_SIZE,
				  socket);
	if (s->e == NULL) {
		rte_errno = ENOMEM;
		goto fail;
	}
	lp_flow_set_timeouts(s, 1, 10, 900, 30, 60);
	return s;
fail:
	lp_flow_shard_free(s);
	return NULL;
}

void
lp_flow_shard_free(struct lp_flow_shard *s)
{
	int err = rte_errno;

	if (s == NULL)
		return;
	rte_hash_free(s->h);
	rte_free(s->e);
	rte_free(s);
	rte_errno = err;
}

void
lp_flow_set_timeouts(struct lp_flow_shard *s, uint64_t hz, uint32_t syn_s, uint32_t est_s,
		     uint32_t fin_s, uint32_t udp_s)
{
	s->timeout[LP_FLOW_FREE] = 0;
	s->timeout[LP_FLOW_SYN] = syn_s * hz;
	s->timeout[LP_FLOW_EST] = est_s * hz;
	s->timeout[LP_FLOW_FIN] = fin_s * hz;
	s->timeout[LP_FLOW_UDP] = udp_s * hz;
}

/* Reclaim in batches once this many wait: checking grace periods per
 * delete would cost more than the delete. */
#define RECLAIM_TRIGGER 256u
#define RECLAIM_BATCH 128u

uint32_t
lp_flow_reclaim(struct lp_flow_shard *s, uint32_t max)
{
	uint32_t n = 0;

	while (n < max && s->dead_head != LP_FLOW_NO_POS) {
		struct lp_flow *f = &s->e[s->dead_head];
		uint32_t pos = s->dead_head;

		/* Tokens grow along the list: the first one still in its
		 * grace period ends the batch. */
		if (s->qsbr != NULL && rte_rcu_qsbr_check(s->qsbr, f->free_token, false) != 1)
			break;
		s->dead_head = f->free_next;
		if (s->dead_head == LP_FLOW_NO_POS)
			s->dead_tail = LP_FLOW_NO_POS;
		s->n_dead--;
		rte_hash_free_key_with_position(s->h, (int32_t)pos);
		n++;
	}
	return n;
}

int32_t
lp_flow_insert_sig(struct lp_flow_shard *s, const struct lp_flow_key *k, hash_sig_t sig)
{
	int32_t pos = rte_hash_add_key_with_hash(s->h, k, sig);

	/* Full: positions past their grace period may be waiting. */
	if (pos == -ENOSPC && lp_flow_reclaim(s, UINT32_MAX) > 0)
		pos = rte_hash_add_key_with_hash(s->h, k, sig);
	if (pos < 0)
		return pos == -ENOSPC ? -ENOSPC : pos;
	memset(&s->e[pos], 0, sizeof(s->e[pos]));
	return pos;
}

int32_t
lp_flow_insert(struct lp_flow_shard *s, const struct lp_flow_key *k)
{
	return lp_flow_insert_sig(s, k, lp_flow_sig(s, k));
}

void
lp_flow_delete(struct lp_flow_shard *s, int32_t pos)
{
	struct lp_flow *f = &s->e[pos];
	void *key;

	if (rte_hash_get_key_with_position(s->h, pos, &key) != 0 || rte_hash_del_key(s->h, key) != pos) {
		/* Not in the table (already deleted): nothing to queue. */
		f->state = LP_FLOW_FREE;
		return;
	}
	/* Mark the entry so sweeps and walks skip it, then queue its
	 * position until every reader is past this point. */
	f->state = LP_FLOW_FREE;
	f->free_token = s->qsbr != NULL ? rte_rcu_qsbr_start(s->qsbr) : 0;
	f->free_next = LP_FLOW_NO_POS;
	if (s->dead_tail == LP_FLOW_NO_POS)
		s->dead_head = (uint32_t)pos;
	else
		s->e[s->dead_tail].free_next = (uint32_t)pos;
	s->dead_tail = (uint32_t)pos;
	if (++s->n_dead > RECLAIM_TRIGGER)
		lp_flow_reclaim(s, RECLAIM_BATCH);
}

uint32_t
lp_flow_age(struct lp_flow_shard *s, uint64_t now, uint32_t scan, struct lp_flow *out, uint32_t max_out)
{
	uint32_t n = 0;
	uint32_t cur = s->age_cursor;

	/* Hand back positions whose grace period ended since the last pass,
	 * so they do not wait for the next burst of deletes. */
	if (s->n_dead > 0)
		lp_flow_reclaim(s, RECLAIM_BATCH);
	while (scan-- > 0 && n < max_out) {
		struct lp_flow *f = &s->e[cur];

		if (f->state != LP_FLOW_FREE && lp_flow_expired(s, f, now)) {
			out[n++] = *f;
			lp_flow_delete(s, (int32_t)cur);
		}
		if (++cur == s->n_pos)
			cur = 0;
	}
	s->age_cursor = cur;
	return n;
}

uint32_t
lp_flow_count(const struct lp_flow_shard *s)
{
	int32_t n = rte_hash_count(s->h);

	return n < 0 ? 0 : (uint32_t)n;
}

void
lp_flow_walk(struct lp_flow_shard *s,
	     int (*fn)(void *ctx, const struct lp_flow_key *k, const struct lp_flow *f), void *ctx)
{
	for (uint32_t pos = 0; pos < s->n_pos; pos++) {
		void *key;

		if (s->e[pos].state == LP_FLOW_FREE)
			continue;
		if (rte_hash_get_key_with_position(s->h, (int32_t)pos, &key) != 0)
			continue;
		if (fn(ctx, key, &s->e[pos]) != 0)
			return;
	}
}
