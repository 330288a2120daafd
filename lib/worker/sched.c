/* SPDX-License-Identifier: BSD-3-Clause */
/* Placing new flows and new clients: schedulers, bounded load, affinity. */
#include <errno.h>
#include <netinet/in.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_prefetch.h>
#include <rte_ring.h>

#include "worker_priv.h"

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
	load_inc(l, (uint16_t)s->mg_id[plain]);
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

/* Choose a backend for a new flow or binding. @count: the caller will hold
 * the choice (a binding, or a flow of a service without affinity), so add
 * it to the backend's load. */
static uint16_t
sched_pick(struct burst *b, const struct lp_svc *s, uint32_t hash, bool count, bool *spilled)
{
	const struct lp_maglev_table *mg = s->mg;
	uint16_t id;

	*spilled = false;
	if (mg->n_active == 0)
		return LP_SVC_ID_NONE;
	switch (s->sched) {
	case LP_SCHED_WRR: {
		/* Walking the Maglev table in slot order is a weighted round
		 * robin: slot shares follow weights and the order interleaves
		 * backends. Each worker keeps its own cursor. */
		uint32_t *cur = &b->w->wrr_cursor[s->id];

		if (*cur >= mg->size)
			*cur = 0;
		id = (uint16_t)s->mg_id[mg->slot[(*cur)++]];
		break;
	}
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
		load_inc(s->load, id);
	return id;
}

/* ---- affinity ---- */

static bool
pick_affinity(struct burst *b, const struct lp_svc *s, const struct lp_pkt_meta *m, bool create,
	      struct pick *p)
{
	struct lp_aff_table *aff = b->dp->aff;
	struct lp_svc_stats *ss = &b->st->svc[s->id];
	unsigned int prefix = m->key.family == LP_AF_INET ? s->prefix_v4 : s->prefix_v6;
	struct lp_aff_key k;
	struct lp_aff_entry *e;
	uint32_t hash;
	hash_sig_t sig;
	bool spilled;
	int32_t pos;
	uint64_t t;

	if (b->aff_svc == s) {
		/* Looked up with the rest of the burst (pass 1.5). A binding an
		 * earlier packet of this burst created is not in that result:
		 * a packet that may create one finds it in lp_aff_insert(),
		 * one that may not looks again. */
		k = *b->aff_key;
		sig = b->aff_sig;
		pos = b->aff_pos;
		if (pos < 0 && !create)
			pos = lp_aff_lookup(aff, &k, sig);
	} else {
		lp_aff_key_make(&k, s->id, m->key.family, m->key.src, prefix);
		sig = lp_aff_sig(aff, &k);
		pos = lp_aff_lookup(aff, &k, sig);
	}
	hash = lp_aff_client_hash(&k);
	if (pos < 0) {
		if (create)
			pos = lp_aff_insert(aff, &k, sig, b->now_s);
		if (pos < 0) {
			/* Mid-stream packet of an unknown client, or a full table:
			 * forward by the same Maglev choice without state. */
			if (create)
				b->st->c[LP_WC_aff_full]++;
			p->id = sched_pick(b, s, hash, false, &spilled);
			return p->id != LP_SVC_ID_NONE;
		}
	}
	e = &aff->e[pos];
	t = lp_aff_target(e);
	for (int tries = 0;; tries++) {
		uint16_t id, old_id, old_gen;

		if (lp_aff_bound(t) && lp_svc_backend_valid(s, lp_aff_be_id(t), lp_aff_be_gen(t))) {
			b->st->c[LP_WC_aff_hit]++;
			break;
		}
		if (tries == 4) {
			/* Other workers keep rebinding this client: forward this
			 * packet without touching the binding. */
			p->id = sched_pick(b, s, hash, false, &spilled);
			return p->id != LP_SVC_ID_NONE;
		}
		id = sched_pick(b, s, hash, true, &spilled);
		if (id == LP_SVC_ID_NONE)
			return false;
		old_id = lp_aff_be_id(t);
		old_gen = lp_aff_be_gen(t);
		if (!lp_aff_set(e, &t, id, s->be[id].gen)) {
			load_dec(s->load, id);	/* lost: t now holds the winner's */
			continue;
		}
		if (lp_aff_bound(t)) {
			/* Its backend went down or was removed. */
			if (same_backend(s, old_id, old_gen))
				load_dec(s->load, old_id);
			ss->aff[LP_AFF_DOWN]++;
		} else {
			ss->aff[LP_AFF_NEW]++;
		}
		if (spilled)
			ss->aff[LP_AFF_SPILLED]++;
		t = lp_aff_make(lp_aff_serial(t), id, s->be[id].gen);
		break;
	}
	lp_aff_touch(e, b->now_s);
	p->id = lp_aff_be_id(t);
	if (create) {
		p->flags |= LP_FLOW_F_AFF;
		p->aff_pos = (uint32_t)pos;
		p->aff_serial = lp_aff_serial(t);
		atomic_fetch_add_explicit(&e->flows, 1, memory_order_relaxed);
	}
	return true;
}

/* Backend for a packet without a usable flow entry. @key: the flow key to
 * hash (L3-only for fragments). @create: a flow entry will hold it. */
bool
worker_pick_backend(struct burst *b, const struct lp_svc *s, const struct lp_pkt_meta *m,
	     const struct lp_flow_key *key, bool create, struct pick *p)
{
	bool spilled;

	memset(p, 0, sizeof(*p));
	if (s->affinity)
		return pick_affinity(b, s, m, create, p);
	p->id = sched_pick(b, s, lp_flow_hash(key, FLOW_SEED), create, &spilled);
	if (p->id == LP_SVC_ID_NONE)
		return false;
	if (create)
		p->flags |= LP_FLOW_F_LOAD;
	return true;
}

void
lp_worker_flow_release(struct lp_worker *w, const struct lp_flow *f)
{
	if (f->flags & LP_FLOW_F_AFF) {
		struct lp_aff_entry *e = &w->dp->aff->e[f->aff_pos];
		uint32_t v;

		/* Only if the binding is still the one the flow pinned. */
		if (lp_aff_serial(lp_aff_target(e)) == f->aff_serial) {
			v = atomic_load_explicit(&e->flows, memory_order_relaxed);
			while (v > 0 && !atomic_compare_exchange_weak_explicit(&e->flows, &v, v - 1,
									       memory_order_relaxed,
									       memory_order_relaxed))
				;
		}
	}
	if (f->flags & LP_FLOW_F_LOAD) {
		const struct lp_svc *s = lp_svc_get(&w->dp->svcs, f->svc_id);

		if (s != NULL && s->gen == f->svc_gen && same_backend(s, f->be_id, f->be_gen))
			load_dec(s->load, f->be_id);
	}
}
