/* SPDX-License-Identifier: BSD-3-Clause */
/* Client affinity table: lock-free readers, CAS-updated bindings, RCU recycling. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "lp_affinity.h"

struct lp_aff_dead {
	uint64_t token;
	uint32_t pos;
};

static const char *const reason_names[LP_AFF_REASON_MAX] = {
#define LP_AFF_NAME(name, str, help) [LP_AFF_##name] = str,
	LP_AFF_REASONS(LP_AFF_NAME)
#undef LP_AFF_NAME
};

static const char *const reason_helps[LP_AFF_REASON_MAX] = {
#define LP_AFF_HELP(name, str, help) [LP_AFF_##name] = help,
	LP_AFF_REASONS(LP_AFF_HELP)
#undef LP_AFF_HELP
};

const char *
lp_aff_reason_name(enum lp_aff_reason r)
{
	return (unsigned int)r < LP_AFF_REASON_MAX ? reason_names[r] : "unknown";
}

const char *
lp_aff_reason_help(enum lp_aff_reason r)
{
	return (unsigned int)r < LP_AFF_REASON_MAX ? reason_helps[r] : "unknown";
}

struct lp_aff_table *
lp_aff_create(const char *name, uint32_t capacity, int socket, struct rte_rcu_qsbr *qsbr)
{
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = capacity < 64 ? 64 : capacity,
		.key_len = sizeof(struct lp_aff_key),
		.hash_func = rte_hash_crc,
		.hash_func_init_val = LP_AFF_HASH_INIT,
		.socket_id = socket,
		/* Lock-free readers; several writers (every worker may see a new
		 * client). Freeing positions is ours (no_free_on_del is implied
		 * by LF): we reset the entry after a grace period, then free. */
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF | RTE_HASH_EXTRA_FLAGS_MULTI_WRITER_ADD,
	};
	struct lp_aff_table *t;
	int32_t max_id;

	t = rte_zmalloc_socket("lp_aff_table", sizeof(*t), RTE_CACHE_LINE_SIZE, socket);
	if (t == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	t->qsbr = qsbr;
	t->provisional_s = LP_AFF_PROVISIONAL_S_DEFAULT;
	t->h = rte_hash_create(&hp);
	if (t->h == NULL)
		goto fail;
	max_id = rte_hash_max_key_id(t->h);
	if (max_id < 0) {
		rte_errno = EINVAL;
		goto fail;
	}
	t->n_pos = (uint32_t)max_id + 1;
	t->capacity = hp.entries;
	t->e = rte_zmalloc_socket("lp_aff_entries", (size_t)t->n_pos * sizeof(*t->e), RTE_CACHE_LINE_SIZE,
				  socket);
	if (t->e == NULL) {
		rte_errno = ENOMEM;
		goto fail;
	}
	return t;
fail:
	lp_aff_free(t);
	return NULL;
}

void
lp_aff_free(struct lp_aff_table *t)
{
	int err = rte_errno;

	if (t == NULL)
		return;
	rte_hash_free(t->h);
	rte_free(t->e);
	free(t->dead);
	rte_free(t);
	rte_errno = err;
}

int32_t
lp_aff_insert(struct lp_aff_table *t, const struct lp_aff_key *k, hash_sig_t sig, uint32_t now_s)
{
	int32_t pos = rte_hash_add_key_with_hash(t->h, k, sig);
	struct lp_aff_entry *e;

	if (pos < 0)
		return pos == -ENOSPC ? -ENOSPC : pos;
	e = &t->e[pos];
	/* Two workers adding one client get the same position; both may write
	 * these identical values. `used` goes last so the control thread's
	 * scan never sees a used entry without its key. */
	if (!atomic_load_explicit(&e->used, memory_order_acquire)) {
		e->key = *k;
		atomic_store_explicit(&e->state, LP_AFF_ST_PROVISIONAL, memory_order_relaxed);
		atomic_store_explicit(&e->created, now_s, memory_order_relaxed);
		atomic_store_explicit(&e->last_seen, now_s, memory_order_relaxed);
		atomic_store_explicit(&e->used, 1, memory_order_release);
	}
	return pos;
}

/* No reader holds the position any more: a new serial makes any stale
 * compare-and-swap fail, and the entry starts unbound for its next client. */
static void
recycle(struct lp_aff_table *t, uint32_t pos)
{
	struct lp_aff_entry *e = &t->e[pos];
	uint64_t old = atomic_load_explicit(&e->target, memory_order_relaxed);

	atomic_store_explicit(&e->target, (uint64_t)(lp_aff_serial(old) + 1) << 32, memory_order_relaxed);
	atomic_store_explicit(&e->flows, 0, memory_order_relaxed);
	atomic_store_explicit(&e->last_seen, 0, memory_order_relaxed);
	atomic_store_explicit(&e->created, 0, memory_order_relaxed);
	atomic_store_explicit(&e->state, LP_AFF_ST_PROVISIONAL, memory_order_relaxed);
	atomic_store_explicit(&e->origin, LP_AFF_ORIGIN_LOCAL, memory_order_relaxed);
	memset(&e->key, 0, sizeof(e->key));
	atomic_thread_fence(memory_order_release);
	rte_hash_free_key_with_position(t->h, (int32_t)pos);
}

int
lp_aff_delete(struct lp_aff_table *t, uint32_t pos)
{
	struct lp_aff_entry *e;
	int32_t ret;

	if (pos >= t->n_pos)
		return -ENOENT;
	e = &t->e[pos];
	if (!atomic_load_explicit(&e->used, memory_order_acquire))
		return -ENOENT;
	ret = rte_hash_del_key(t->h, &e->key);
	if (ret < 0)
		return -ENOENT;
	atomic_store_explicit(&e->used, 0, memory_order_relaxed);
	if (t->n_dead == t->dead_cap) {
		uint32_t cap = t->dead_cap ? t->dead_cap * 2 : 1024;
		struct lp_aff_dead *d = realloc(t->dead, cap * sizeof(*d));

		if (d == NULL) {
			/* Cannot queue it: wait out the grace period now. */
			rte_rcu_qsbr_synchronize(t->qsbr, RTE_QSBR_THRID_INVALID);
			recycle(t, (uint32_t)ret);
			return 0;
		}
		t->dead = d;
		t->dead_cap = cap;
	}
	t->dead[t->n_dead].pos = (uint32_t)ret;
	t->dead[t->n_dead].token = rte_rcu_qsbr_start(t->qsbr);
	t->n_dead++;
	return 0;
}

bool
lp_aff_doom(struct lp_aff_table *t, uint32_t pos)
{
	struct lp_aff_entry *e;
	uint8_t want = LP_AFF_ST_PROVISIONAL;

	if (pos >= t->n_pos)
		return false;
	e = &t->e[pos];
	if (!atomic_load_explicit(&e->used, memory_order_acquire))
		return false;
	return atomic_compare_exchange_strong_explicit(&e->state, &want, LP_AFF_ST_DOOMED, memory_order_relaxed,
						       memory_order_relaxed);
}

/* One pass of lp_aff_reclaim_provisional() over [from, from + budget). */
static uint32_t
reclaim_pass(struct lp_aff_table *t, uint32_t from, uint32_t budget, uint32_t want, uint32_t now_s,
	     uint32_t min_idle_s, void (*fn)(void *ctx, const struct lp_aff_entry *e, uint64_t target), void *ctx)
{
	uint32_t done = 0;

	for (uint32_t i = 0, pos = from; i < budget && done < want; i++, pos = pos + 1 == t->n_pos ? 0 : pos + 1) {
		struct lp_aff_entry *e = &t->e[pos];
		uint32_t seen;
		uint64_t tg;

		if (!atomic_load_explicit(&e->used, memory_order_acquire) || !lp_aff_provisional(e))
			continue;
		seen = atomic_load_explicit(&e->last_seen, memory_order_relaxed);
		if (min_idle_s > 0 && (int32_t)(now_s - seen) < (int32_t)min_idle_s)
			continue;
		if (!lp_aff_doom(t, pos))
			continue;	/* a worker confirmed it just now */
		tg = lp_aff_target(e);
		if (lp_aff_delete(t, pos) != 0)
			continue;
		if (fn != NULL)
			fn(ctx, e, tg);
		done++;
	}
	return done;
}

uint32_t
lp_aff_reclaim_provisional(struct lp_aff_table *t, uint32_t want, uint32_t budget, uint32_t now_s,
			   uint32_t min_idle_s, void (*fn)(void *ctx, const struct lp_aff_entry *e, uint64_t target),
			   void *ctx)
{
	uint32_t from = t->reclaim_cursor, done;

	if (budget > t->n_pos)
		budget = t->n_pos;
	if (want == 0 || budget == 0)
		return 0;
	/* The oldest first: a provisional binding idle for a while most likely
	 * belongs to a spoofed SYN, while one a few milliseconds old may be a
	 * real client whose handshake is under way. */
	done = reclaim_pass(t, from, budget, want, now_s, min_idle_s, fn, ctx);
	if (done < want && min_idle_s > 0)
		done += reclaim_pass(t, from, budget, want - done, now_s, 0, fn, ctx);
	t->reclaim_cursor = (uint32_t)(((uint64_t)from + budget) % t->n_pos);
	return done;
}

unsigned int
lp_aff_reclaim(struct lp_aff_table *t, bool wait)
{
	unsigned int done = 0;

	while (done < t->n_dead && rte_rcu_qsbr_check(t->qsbr, t->dead[done].token, wait) == 1)
		recycle(t, t->dead[done++].pos);
	if (done > 0) {
		memmove(t->dead, t->dead + done, (t->n_dead - done) * sizeof(*t->dead));
		t->n_dead -= done;
	}
	return done;
}

uint32_t
lp_aff_count(const struct lp_aff_table *t)
{
	int32_t n = rte_hash_count(t->h);

	return n < 0 ? 0 : (uint32_t)n;
}
