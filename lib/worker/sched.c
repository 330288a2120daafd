/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Placing new flows and new clients: the client's affinity binding when
 * its service has one, else the service's scheduler (lib/svc's
 * lp_svc_pick()); and giving back what a flow held when it ends or moves.
 */
#include "events.h"
#include "worker_priv.h"

static uint16_t
pick(struct burst *b, const struct lp_svc *s, uint32_t hash, bool count, bool *spilled)
{
	return lp_svc_pick(s, hash, count, &b->w->wrr_cursor[s->id], spilled);
}

/* The client's binding: its position (negative when none, after creating
 * one when @create), its key in @k (which may point at @c's). */
static int32_t
binding_find(struct burst *b, struct pkt_ctx *c, const struct lp_svc *s, const struct lp_flow_key *key,
	     bool create, const struct lp_aff_key **k, struct lp_aff_key *own)
{
	struct lp_aff_table *aff = b->dp->aff;
	hash_sig_t sig;
	int32_t pos;

	if (c != NULL && c->aff_pos != AFF_NOT_LOOKED_UP) {
		/* Looked up with the rest of the burst. A binding an earlier
		 * packet of this burst created is not in that result: a packet
		 * that may create one finds it in lp_aff_insert(), one that
		 * may not looks again. */
		*k = &c->aff_key;
		sig = c->aff_sig;
		pos = c->aff_pos;
		if (pos < 0 && !create)
			pos = lp_aff_lookup(aff, *k, sig);
	} else {
		lp_aff_key_make(own, s->id, key->family, key->src,
				key->family == LP_AF_INET ? s->prefix_v4 : s->prefix_v6);
		*k = own;
		sig = lp_aff_sig(aff, own);
		pos = lp_aff_lookup(aff, own, sig);
	}
	if (pos < 0 && create)
		pos = lp_aff_insert(aff, *k, sig, b->now_s);
	return pos;
}

/* Bind the client @k at @e (target @t) to a backend of @s, racing other
 * workers by compare-and-swap (a replicated binding's change goes to the
 * cluster's ring). false: no backend, or the binding keeps
 * changing under us (then @p->id is a stateless choice). */
static bool
binding_set(struct burst *b, const struct lp_svc *s, struct lp_aff_entry *e, const struct lp_aff_key *k, uint64_t *t,
	    uint32_t hash, struct pick *p)
{
	struct lp_svc_stats *ss = &b->st->svc[s->id];
	bool spilled;

	for (int tries = 0; tries < 4; tries++) {
		uint16_t id, old_id = lp_aff_be_id(*t), old_gen = lp_aff_be_gen(*t);
		bool was_bound = lp_aff_bound(*t);

		id = pick(b, s, hash, true, &spilled);
		if (id == LP_SVC_ID_NONE) {
			p->id = LP_SVC_ID_NONE;
			return false;
		}
		if (!lp_aff_set(e, t, id, s->be[id].gen)) {
			/* Lost: *t now holds the winner's choice. */
			lp_svc_load_dec(s->load, id);
			if (lp_aff_bound(*t) && lp_svc_backend_valid(s, lp_aff_be_id(*t), lp_aff_be_gen(*t))) {
				b->st->c[LP_WC_aff_hit]++;
				return true;
			}
			continue;
		}
		if (was_bound) {
			/* Its backend went down or was removed. */
			if (lp_svc_backend(s, old_id, old_gen) != NULL)
				lp_svc_load_dec(s->load, old_id);
			ss->aff[LP_AFF_DOWN]++;
		} else {
			ss->aff[LP_AFF_NEW]++;
		}
		if (spilled)
			ss->aff[LP_AFF_SPILLED]++;
		if (unlikely(b->dp->cluster != NULL)) {
			atomic_store_explicit(&e->origin, LP_AFF_ORIGIN_LOCAL, memory_order_relaxed);
			/* Only confirmed bindings are replicated: a new one is
			 * announced when it is confirmed (sched_binding_confirm),
			 * so a SYN flood never reaches Redis. */
			if (!lp_aff_provisional(e))
				worker_binding_event(b->w, s, k, id,
						     was_bound ? LP_CLUSTER_EV_MOVE : LP_CLUSTER_EV_CREATE);
		}
		*t = lp_aff_make(lp_aff_serial(*t), id, s->be[id].gen);
		return true;
	}
	/* Other workers keep rebinding this client: forward this packet
	 * without touching the binding. */
	p->id = pick(b, s, hash, false, &spilled);
	return false;
}

static bool
place_affinity(struct burst *b, struct pkt_ctx *c, const struct lp_svc *s, const struct lp_flow_key *key,
	       bool create, struct pick *p)
{
	const struct lp_aff_key *k;
	struct lp_aff_key own;
	struct lp_aff_entry *e;
	bool spilled;
	int32_t pos;
	uint64_t t;

	pos = binding_find(b, c, s, key, create, &k, &own);
	if (pos < 0) {
		/* Mid-stream packet of an unknown client, or a full table:
		 * forward by the same Maglev choice without state. */
		if (create)
			b->st->c[LP_WC_aff_full]++;
		p->id = pick(b, s, lp_aff_client_hash(k), false, &spilled);
		return p->id != LP_SVC_ID_NONE;
	}
	e = &b->dp->aff->e[pos];
	t = lp_aff_target(e);
	if (lp_aff_bound(t) && lp_svc_backend_valid(s, lp_aff_be_id(t), lp_aff_be_gen(t)))
		b->st->c[LP_WC_aff_hit]++;
	else if (!binding_set(b, s, e, k, &t, lp_aff_client_hash(k), p))
		return p->id != LP_SVC_ID_NONE;
	worker_aff_touch(b->w, s, e, t, b->now_s);
	p->id = lp_aff_be_id(t);
	if (create) {
		p->flags |= LP_FLOW_F_AFF;
		p->aff_pos = (uint32_t)pos;
		p->aff_serial = lp_aff_serial(t);
		atomic_fetch_add_explicit(&e->flows, 1, memory_order_relaxed);
	}
	return true;
}

void
sched_binding_confirm(struct burst *b, const struct lp_svc *s, struct lp_flow *f)
{
	struct lp_aff_entry *e = &b->dp->aff->e[f->aff_pos];

	f->flags |= LP_FLOW_F_AFF_OK;
	if (!lp_aff_confirm(e, f->aff_serial))
		return;
	b->st->svc[s->id].aff[LP_AFF_CONFIRMED]++;
	/* Replicated from now on: the client proved its address. */
	if (unlikely(b->dp->cluster != NULL)) {
		uint64_t t = lp_aff_target(e);

		if (lp_aff_bound(t) && lp_aff_serial(t) == f->aff_serial)
			worker_binding_event(b->w, s, &e->key, lp_aff_be_id(t), LP_CLUSTER_EV_CREATE);
	}
}

bool
sched_place(struct burst *b, struct pkt_ctx *c, const struct lp_svc *s, const struct lp_flow_key *key, bool create,
	    struct pick *p)
{
	bool spilled;

	*p = (struct pick){ .id = LP_SVC_ID_NONE };
	if (s->affinity)
		return place_affinity(b, c, s, key, create, p);
	p->id = pick(b, s, lp_flow_hash(key, FLOW_SEED), create, &spilled);
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

		if (s != NULL && s->gen == f->svc_gen && lp_svc_backend(s, f->be_id, f->be_gen) != NULL)
			lp_svc_load_dec(s->load, f->be_id);
	}
}
