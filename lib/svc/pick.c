/* SPDX-License-Identifier: BSD-3-Clause */
/* The scheduler: Maglev with bounded load, weighted round robin, least connections. */
#include "lp_svc.h"

static uint16_t
pick_bounded(const struct lp_svc *s, uint32_t hash, bool *spilled)
{
	const struct lp_maglev_table *mg = s->mg;
	struct lp_svc_load *l = s->load;
	uint32_t plain = lp_maglev_lookup(mg, hash);

	for (int attempt = 0; attempt < 8; attempt++) {
		uint64_t total = atomic_load_explicit(&l->total, memory_order_relaxed);
		/* The loads are _Atomic uint32_t with the representation of
		 * uint32_t; the walk only needs a recent value, the CAS below
		 * makes the increment exact. */
		uint32_t idx = lp_maglev_pick_bounded(mg, hash, (const uint32_t *)l->active, s->mg_id, total,
						      s->bounded_load);
		uint16_t id;
		uint32_t bound, cur;

		if (idx == LP_MAGLEV_NONE)
			return LP_SVC_ID_NONE;
		id = (uint16_t)s->mg_id[idx];
		bound = lp_maglev_bound(mg, idx, total, s->bounded_load);
		cur = atomic_load_explicit(&l->active[id], memory_order_relaxed);
		while (cur < bound) {
			if (atomic_compare_exchange_weak_explicit(&l->active[id], &cur, cur + 1,
								  memory_order_relaxed, memory_order_relaxed)) {
				atomic_fetch_add_explicit(&l->total, 1, memory_order_relaxed);
				*spilled = idx != plain;
				return id;
			}
		}
	}
	/* Lost the race eight times to other workers filling the same
	 * backends: take the plain choice rather than spin. */
	lp_svc_load_inc(l, (uint16_t)s->mg_id[plain]);
	return (uint16_t)s->mg_id[plain];
}

static uint16_t
pick_least_conn(const struct lp_svc *s, uint32_t hash)
{
	const struct lp_maglev_table *mg = s->mg;
	uint32_t n = mg->n_backends, best = LP_MAGLEV_NONE;
	uint64_t best_load = 0, best_w = 1;

	/* Start at a hash-chosen backend so ties spread over equals. */
	for (uint32_t k = 0, i = n ? hash % n : 0; k < n; k++, i = i + 1 == n ? 0 : i + 1) {
		const struct lp_maglev_backend *mb = &mg->backend[i];
		uint32_t id = s->mg_id[i];
		uint64_t load, w;

		if ((mb->flags & LP_MAGLEV_F_INACTIVE) || s->be[id].weight == 0)
			continue;
		load = atomic_load_explicit(&s->load->active[id], memory_order_relaxed);
		w = s->be[id].weight;
		/* load/w < best_load/best_w without dividing */
		if (best == LP_MAGLEV_NONE || load * best_w < best_load * w) {
			best = i;
			best_load = load;
			best_w = w;
		}
	}
	return best == LP_MAGLEV_NONE ? LP_SVC_ID_NONE : (uint16_t)s->mg_id[best];
}

uint16_t
lp_svc_pick(const struct lp_svc *s, uint32_t hash, bool count, uint32_t *wrr_cursor, bool *spilled)
{
	const struct lp_maglev_table *mg = s->mg;
	uint16_t id;

	*spilled = false;
	if (mg->n_active == 0)
		return LP_SVC_ID_NONE;
	switch (s->sched) {
	case LP_SCHED_WRR:
		/* Walking the Maglev table in slot order is a weighted round
		 * robin: slot shares follow weights and the order interleaves
		 * backends. */
		if (*wrr_cursor >= mg->size)
			*wrr_cursor = 0;
		id = (uint16_t)s->mg_id[mg->slot[(*wrr_cursor)++]];
		break;
	case LP_SCHED_LEAST_CONN:
		id = pick_least_conn(s, hash);
		break;
	default:
		if (count && s->bounded_load > 1.0)
			return pick_bounded(s, hash, spilled);
		id = (uint16_t)s->mg_id[lp_maglev_lookup(mg, hash)];
		break;
	}
	if (count && id != LP_SVC_ID_NONE)
		lp_svc_load_inc(s->load, id);
	return id;
}
