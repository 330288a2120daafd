/* SPDX-License-Identifier: BSD-3-Clause */
/* Per-worker flow shard over rte_hash. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "lp_flow.h"

uint32_t
lp_flow_hash_fn(const void *key, uint32_t len, uint32_t init)
{
	(void)init;
	return lp_flow_crc(key, len);
}

static struct rte_hash *
table_create(const char *name, const char *suffix, uint32_t entries, uint32_t key_len, int socket)
{
	char hn[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters hp = {
		.name = hn,
		.entries = entries < 64 ? 64 : entries,
		.key_len = key_len,
		.hash_func = lp_flow_hash_fn,
		.hash_func_init_val = LP_FLOW_HASH_INIT,
		.socket_id = socket,
		/* Lock-free readers: other workers look flows up for replies of
		 * shared backends and ICMP errors. The mode keeps a deleted
		 * key's position in use until rte_hash_free_key_with_position():
		 * lp_flow_reclaim() calls it once the readers are past the
		 * delete. */
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF,
	};

	snprintf(hn, sizeof(hn), "%s%s", name, suffix);
	return rte_hash_create(&hp);
}

struct lp_flow_shard *
lp_flow_shard_create(const char *name, uint32_t capacity4, uint32_t capacity6, int socket,
		     struct rte_rcu_qsbr *qsbr)
{
	struct lp_flow_shard *s;
	int32_t max4, max6;

	s = rte_zmalloc_socket("lp_flow_shard", sizeof(*s), RTE_CACHE_LINE_SIZE, socket);
	if (s == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	s->h[LP_FLOW_T4] = table_create(name, "_4", capacity4, sizeof(struct lp_flow_key4), socket);
	s->h[LP_FLOW_T6] = table_create(name, "_6", capacity6, sizeof(struct lp_flow_key), socket);
	if (s->h[LP_FLOW_T4] == NULL || s->h[LP_FLOW_T6] == NULL)
		goto fail;
	s->qsbr = qsbr;
	s->dead_head = s->dead_tail = LP_FLOW_NO_POS;
	max4 = rte_hash_max_key_id(s->h[LP_FLOW_T4]);
	max6 = rte_hash_max_key_id(s->h[LP_FLOW_T6]);
	if (max4 < 0 || max6 < 0) {
		rte_errno = EINVAL;
		goto fail;
	}
	s->base[LP_FLOW_T4] = 0;
	s->base[LP_FLOW_T6] = (uint32_t)max4 + 1;
	s->n_pos = (uint32_t)max4 + 1 + (uint32_t)max6 + 1;
	s->capacity = (capacity4 < 64 ? 64 : capacity4) + (capacity6 < 64 ? 64 : capacity6);
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
	rte_hash_free(s->h[LP_FLOW_T4]);
	rte_hash_free(s->h[LP_FLOW_T6]);
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

/* The table a position belongs to, and the position within it. */
static inline unsigned int
table_at(const struct lp_flow_shard *s, uint32_t pos, int32_t *local)
{
	unsigned int t = pos >= s->base[LP_FLOW_T6] ? LP_FLOW_T6 : LP_FLOW_T4;

	*local = (int32_t)(pos - s->base[t]);
	return t;
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
		{
			int32_t local;
			unsigned int t = table_at(s, pos, &local);

			rte_hash_free_key_with_position(s->h[t], local);
		}
		n++;
	}
	return n;
}

int32_t
lp_flow_insert_sig(struct lp_flow_shard *s, const struct lp_flow_key *k, hash_sig_t sig)
{
	unsigned int t = lp_flow_table_of(k);
	struct lp_flow_key4 k4;
	const void *key = k;
	int32_t pos;

	if (t == LP_FLOW_T4) {
		lp_flow_key4_make(&k4, k);
		key = &k4;
	}
	pos = rte_hash_add_key_with_hash(s->h[t], key, sig);
	/* Full: positions past their grace period may be waiting. */
	if (pos == -ENOSPC && lp_flow_reclaim(s, UINT32_MAX) > 0)
		pos = rte_hash_add_key_with_hash(s->h[t], key, sig);
	if (pos < 0)
		return pos == -ENOSPC ? -ENOSPC : pos;
	pos += (int32_t)s->base[t];
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
	int32_t local;
	unsigned int t = table_at(s, (uint32_t)pos, &local);
	void *key;

	if (rte_hash_get_key_with_position(s->h[t], local, &key) != 0 || rte_hash_del_key(s->h[t], key) != local) {
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
	int32_t n4 = rte_hash_count(s->h[LP_FLOW_T4]), n6 = rte_hash_count(s->h[LP_FLOW_T6]);

	return (uint32_t)(n4 < 0 ? 0 : n4) + (uint32_t)(n6 < 0 ? 0 : n6);
}

void
lp_flow_walk(struct lp_flow_shard *s,
	     int (*fn)(void *ctx, const struct lp_flow_key *k, const struct lp_flow *f), void *ctx)
{
	for (uint32_t pos = 0; pos < s->n_pos; pos++) {
		struct lp_flow_key full;
		int32_t local;
		unsigned int t;
		void *key;

		if (s->e[pos].state == LP_FLOW_FREE)
			continue;
		t = table_at(s, pos, &local);
		if (rte_hash_get_key_with_position(s->h[t], local, &key) != 0)
			continue;
		if (t == LP_FLOW_T4) {
			/* Back to the one key type the rest of limpet knows. */
			lp_flow_key4_expand(key, &full);
			key = &full;
		}
		if (fn(ctx, key, &s->e[pos]) != 0)
			return;
	}
}
