/* SPDX-License-Identifier: BSD-3-Clause */
/* Service snapshots, the classification index and deferred frees. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_rcu_qsbr.h>

#include "lp_svc.h"

static void
prefix_mask(uint8_t *mask, unsigned int bytes, unsigned int prefix)
{
	for (unsigned int i = 0; i < bytes; i++) {
		unsigned int lo = i * 8;

		mask[i] = prefix >= lo + 8 ? 0xff : prefix <= lo ? 0 : (uint8_t)(0xff00u >> (prefix - lo));
	}
}

struct lp_svc *
lp_svc_build(const struct lp_svc_spec *spec)
{
	struct lp_maglev_backend *mb = NULL;
	struct lp_svc *s;
	uint32_t n_ids = 0;

	for (uint32_t i = 0; i < spec->n_backends; i++) {
		if (spec->backends[i].id >= LP_SVC_MAX_BACKENDS) {
			errno = EINVAL;
			return NULL;
		}
		if (spec->backends[i].id + 1 > n_ids)
			n_ids = spec->backends[i].id + 1;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	snprintf(s->name, sizeof(s->name), "%s", spec->name ? spec->name : "");
	s->id = spec->id;
	s->gen = spec->gen;
	s->proto = spec->proto;
	s->mode = spec->mode;
	s->family = spec->vip.family;
	s->affinity = spec->affinity;
	s->sched = spec->sched;
	s->prefix_v4 = spec->prefix_v4;
	s->prefix_v6 = spec->prefix_v6;
	memcpy(s->vip, spec->vip.a, 16);
	s->port = (uint16_t)((spec->port >> 8) | (spec->port << 8));
	s->aff_timeout_s = spec->aff_timeout_s;
	s->bounded_load = spec->bounded_load;
	memcpy(s->tunnel_src4, spec->tunnel_src4.a, 4);
	prefix_mask(s->tunnel_mask4, 4, spec->tunnel_src4_len);
	memcpy(s->tunnel_src6, spec->tunnel_src6.a, 16);
	prefix_mask(s->tunnel_mask6, 16, spec->tunnel_src6_len);
	s->load = spec->load;
	s->n_ids = n_ids;
	s->be = calloc(n_ids ? n_ids : 1, sizeof(*s->be));
	mb = calloc(spec->n_backends ? spec->n_backends : 1, sizeof(*mb));
	if (s->be == NULL || mb == NULL)
		goto fail;
	for (uint32_t id = 0; id < n_ids; id++) {
		s->be[id].state = LP_BE_ABSENT;
		s->be[id].mg_idx = LP_MAGLEV_NONE;
	}
	for (uint32_t i = 0; i < spec->n_backends; i++) {
		const struct lp_svc_backend_spec *bs = &spec->backends[i];
		struct lp_svc_backend *b = &s->be[bs->id];

		if (b->state != LP_BE_ABSENT) {	/* two backends with one id */
			errno = EINVAL;
			goto fail;
		}
		memcpy(b->addr, bs->addr.a, 16);
		b->port = (uint16_t)((bs->port >> 8) | (bs->port << 8));
		b->family = bs->addr.family;
		b->state = bs->state;
		b->gen = bs->gen;
		b->tx_port = bs->tx_port;
		b->nbr = bs->nbr;
		b->gslot = bs->gslot;
		b->weight = bs->weight;
		mb[i].key = lp_maglev_key(bs->addr.a, lp_ip_len(&bs->addr), bs->port);
		mb[i].weight = bs->maglev_weight;
		mb[i].flags = (bs->state == LP_BE_UP && bs->weight > 0) ? 0 : LP_MAGLEV_F_INACTIVE;
		mb[i].cookie = bs->id;
	}
	s->mg = lp_maglev_build(spec->maglev_size ? spec->maglev_size : LP_MAGLEV_DEFAULT_SIZE, mb,
				spec->n_backends);
	if (s->mg == NULL)
		goto fail;
	s->mg_id = calloc(s->mg->n_backends ? s->mg->n_backends : 1, sizeof(*s->mg_id));
	if (s->mg_id == NULL)
		goto fail;
	for (uint32_t i = 0; i < s->mg->n_backends; i++) {
		s->mg_id[i] = s->mg->backend[i].cookie;
		s->be[s->mg->backend[i].cookie].mg_idx = i;
	}
	free(mb);
	return s;
fail:
	free(mb);
	lp_svc_free(s);
	return NULL;
}

void
lp_svc_free(struct lp_svc *s)
{
	if (s == NULL)
		return;
	lp_maglev_free(s->mg);
	free(s->mg_id);
	free(s->be);
	free(s);
}

/* ---- classification index ---- */

struct idx_builder {
	struct lp_svc_index *ix;
	uint32_t multi_cap;
	int err;
};

static struct lp_idx_slot *
idx_find(struct lp_svc_index *ix, uint8_t kind, const uint8_t *addr, uint16_t port, uint8_t proto)
{
	uint32_t i = lp_idx_hash(addr, port, proto, kind) & ix->mask;

	for (;;) {
		struct lp_idx_slot *s = &ix->slot[i];

		if (s->kind == 0 || (s->kind == kind && s->port == port && s->proto == proto &&
				     memcmp(s->addr, addr, 16) == 0))
			return s;
		i = (i + 1) & ix->mask;
	}
}

/* Insert, or on a repeated key apply the kind's rule: VIP keys are unique
 * (config validation guarantees it) so the first wins; *_ANYPORT becomes
 * AMBIGUOUS when two services share it; REV keys collect a service list. */
static void
idx_put(struct idx_builder *b, uint8_t kind, const uint8_t *addr, uint16_t port, uint8_t proto,
	uint32_t value)
{
	struct lp_svc_index *ix = b->ix;
	struct lp_idx_slot *s = idx_find(ix, kind, addr, port, proto);
	struct lp_idx_multi *m;

	if (s->kind == 0) {
		memcpy(s->addr, addr, 16);
		s->port = port;
		s->proto = proto;
		s->kind = kind;
		s->value = value;
		return;
	}
	switch (kind) {
	case LP_IDX_VIP_ANYPORT:
		if (s->value != value)
			s->value = LP_IDX_AMBIGUOUS;
		return;
	case LP_IDX_REV:
	case LP_IDX_REV_ANYPORT:
		if (!(s->value & LP_IDX_MULTI)) {
			if (s->value == value)
				return;
			if (ix->n_multi == b->multi_cap) {
				uint32_t cap = b->multi_cap ? b->multi_cap * 2 : 8;
				struct lp_idx_multi *nm = realloc(ix->multi, cap * sizeof(*nm));

				if (nm == NULL) {
					b->err = ENOMEM;
					return;
				}
				ix->multi = nm;
				b->multi_cap = cap;
			}
			m = &ix->multi[ix->n_multi];
			m->n = 1;
			m->id[0] = (uint16_t)s->value;
			s->value = LP_IDX_MULTI | ix->n_multi++;
		}
		m = &ix->multi[s->value & ~LP_IDX_MULTI];
		for (unsigned int i = 0; i < m->n; i++)
			if (m->id[i] == value)
				return;
		/* More services than fit share one backend: the reply path then
		 * searches only the first ones; validation warns long before. */
		if (m->n < sizeof(m->id) / sizeof(m->id[0]))
			m->id[m->n++] = (uint16_t)value;
		return;
	default:
		return;
	}
}

struct lp_svc_index *
lp_svc_index_build(struct lp_svc *const *svcs, uint32_t n_svcs, const struct lp_idx_own *own,
		   uint32_t n_own)
{
	struct idx_builder b = { 0 };
	uint64_t keys = n_own;
	uint32_t slots = 16;

	for (uint32_t i = 0; i < n_svcs; i++)
		if (svcs[i] != NULL)
			keys += 3 + 2 * (uint64_t)svcs[i]->n_ids;
	/* Load factor at most 1/4: short probe sequences for the per-packet lookup. */
	while (slots < keys * 4)
		slots *= 2;
	b.ix = calloc(1, sizeof(*b.ix) + slots * sizeof(struct lp_idx_slot));
	if (b.ix == NULL)
		return NULL;
	b.ix->mask = slots - 1;
	for (uint32_t i = 0; i < n_own; i++)
		idx_put(&b, LP_IDX_OWN, own[i].addr.a, 0, 0, own[i].port_index);
	for (uint32_t i = 0; i < n_svcs; i++) {
		const struct lp_svc *s = svcs[i];

		if (s == NULL)
			continue;
		idx_put(&b, LP_IDX_VIP, s->vip, s->port, s->proto, s->id);
		idx_put(&b, LP_IDX_VIP_ANYPORT, s->vip, 0, s->proto, s->id);
		idx_put(&b, LP_IDX_VIPADDR, s->vip, 0, 0, s->id);
		if (s->mode != LP_FWD_NAT)
			continue;
		for (uint32_t id = 0; id < s->n_ids; id++) {
			const struct lp_svc_backend *be = &s->be[id];

			if (be->state == LP_BE_ABSENT)
				continue;
			idx_put(&b, LP_IDX_REV, be->addr, be->port, s->proto, s->id);
			idx_put(&b, LP_IDX_REV_ANYPORT, be->addr, 0, s->proto, s->id);
		}
	}
	if (b.err != 0) {
		lp_svc_index_free(b.ix);
		errno = b.err;
		return NULL;
	}
	return b.ix;
}

void
lp_svc_index_free(struct lp_svc_index *ix)
{
	if (ix == NULL)
		return;
	free(ix->multi);
	free(ix);
}

struct lp_svc *
lp_svc_publish(struct lp_svc_table *t, uint32_t id, struct lp_svc *s)
{
	/* Release: the snapshot's contents are visible before its pointer. */
	return atomic_exchange_explicit(&t->svc[id], s, memory_order_acq_rel);
}

struct lp_svc_index *
lp_svc_index_publish(struct lp_svc_table *t, struct lp_svc_index *ix)
{
	return atomic_exchange_explicit(&t->index, ix, memory_order_acq_rel);
}

/* ---- deferred frees ---- */

struct retired {
	uint64_t token;
	void (*free_fn)(void *);
	void *obj;
};

struct lp_retire {
	struct rte_rcu_qsbr *qsbr;
	uint32_t head, n, cap;
	struct retired *q;	/* ring, oldest first: tokens never decrease */
};

struct lp_retire *
lp_retire_create(struct rte_rcu_qsbr *qsbr)
{
	struct lp_retire *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->qsbr = qsbr;
	return r;
}

int
lp_retire_defer(struct lp_retire *r, void (*free_fn)(void *), void *obj)
{
	if (r->n == r->cap) {
		uint32_t cap = r->cap ? r->cap * 2 : 64;
		struct retired *q = malloc(cap * sizeof(*q));

		if (q == NULL)
			return -ENOMEM;
		for (uint32_t i = 0; i < r->n; i++)
			q[i] = r->q[(r->head + i) % r->cap];
		free(r->q);
		r->q = q;
		r->cap = cap;
		r->head = 0;
	}
	r->q[(r->head + r->n) % r->cap] = (struct retired){
		.token = rte_rcu_qsbr_start(r->qsbr), .free_fn = free_fn, .obj = obj,
	};
	r->n++;
	return 0;
}

unsigned int
lp_retire_poll(struct lp_retire *r)
{
	unsigned int freed = 0;

	while (r->n > 0) {
		struct retired *e = &r->q[r->head];

		if (rte_rcu_qsbr_check(r->qsbr, e->token, false) != 1)
			break;
		e->free_fn(e->obj);
		r->head = (r->head + 1) % r->cap;
		r->n--;
		freed++;
	}
	return freed;
}

void
lp_retire_sync(struct lp_retire *r)
{
	if (r->n == 0)
		return;
	rte_rcu_qsbr_check(r->qsbr, r->q[(r->head + r->n - 1) % r->cap].token, true);
	lp_retire_poll(r);
}

unsigned int
lp_retire_pending(const struct lp_retire *r)
{
	return r->n;
}

void
lp_retire_destroy(struct lp_retire *r)
{
	if (r == NULL)
		return;
	lp_retire_sync(r);
	free(r->q);
	free(r);
}
