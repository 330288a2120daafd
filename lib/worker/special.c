/* SPDX-License-Identifier: BSD-3-Clause */
/* Packets off the common path: IP fragments, ICMP errors, ARP, ND, echo, the rest. */
#include "worker_priv.h"

/* Limpet's own address: the control thread or the port's kernel interface
 * takes it (exception.c); else it is for nobody. */
static void
to_self_or_drop(struct burst *b, struct rte_mbuf *mb, const struct lp_pkt_meta *m, enum lp_drop why)
{
	if (lp_idx_lookup(b->ix, LP_IDX_OWN, m->key.dst, 0, 0) != LP_IDX_NONE)
		worker_to_own(b, mb, m);
	else
		drop(b, mb, why);
}

/* IP fragments: the non-first ones carry no ports, so every fragment of a
 * datagram is placed by its addresses alone (a binding with affinity, else
 * Maglev on the L3-only key) and none of them creates state. */
static void
fragment(struct burst *b, struct rte_mbuf *mb, struct lp_pkt_meta *m)
{
	struct lp_flow_key l3 = m->key;
	const struct lp_svc *s;
	struct pick p;
	uint32_t v;

	l3.sport = 0;
	l3.dport = 0;
	v = lp_idx_lookup(b->ix, LP_IDX_VIP_ANYPORT, m->key.dst, 0, m->key.proto);
	if (v == LP_IDX_AMBIGUOUS) {
		drop(b, mb, LP_DROP_FRAG_AMBIGUOUS);
		return;
	}
	if (v != LP_IDX_NONE) {
		s = lp_svc_get(&b->dp->svcs, v);
		if (s == NULL) {
			drop(b, mb, LP_DROP_NO_SERVICE);
			return;
		}
		if (!sched_place(b, NULL, s, &l3, false, &p)) {
			drop(b, mb, LP_DROP_NO_BACKEND);
			return;
		}
		b->st->c[LP_WC_flow_stateless]++;
		fwd_to_backend(b, mb, m, s, p.id);
		return;
	}
	if (lp_idx_lookup(b->ix, LP_IDX_OWN, m->key.dst, 0, 0) != LP_IDX_NONE) {
		worker_to_own(b, mb, m);
		return;
	}
	v = lp_idx_lookup(b->ix, LP_IDX_REV_ANYPORT, m->key.src, 0, m->key.proto);
	if (v == LP_IDX_NONE) {
		drop(b, mb, LP_DROP_NO_SERVICE);
		return;
	}
	if (v & LP_IDX_MULTI)
		drop(b, mb, LP_DROP_FRAG_AMBIGUOUS);
	else
		reply_handle(b, mb, m, v);
}

/* Find the flow a quoted packet belongs to, in any worker's shard. */
static const struct lp_flow *
find_any_flow(struct burst *b, const struct lp_flow_key *k)
{
	hash_sig_t sig = lp_flow_sig(b->w->flows, k);

	for (uint32_t wi = 0; wi < b->dp->n_workers; wi++) {
		const struct lp_flow_shard *sh = b->dp->worker[wi]->flows;
		int32_t pos = lp_flow_lookup_sig(sh, k, sig);

		if (pos >= 0 && sh->e[pos].state != LP_FLOW_FREE)
			return &sh->e[pos];
	}
	return NULL;
}

/* An ICMP error about a packet a VIP sent (a reply, possibly from a DSR
 * backend directly): the backend that owns the flow must see it (PMTU). */
static void
icmp_error(struct burst *b, struct rte_mbuf *mb, struct lp_pkt_meta *m)
{
	const struct lp_flow_key *in = &m->inner;
	const struct lp_flow *f;
	const struct lp_svc *s;
	struct lp_flow_key fwd;
	struct pick p;
	uint32_t v;

	v = lp_idx_lookup(b->ix, LP_IDX_VIP, in->src, in->sport, in->proto);
	if (v == LP_IDX_NONE || (s = lp_svc_get(&b->dp->svcs, v)) == NULL) {
		to_self_or_drop(b, mb, m, LP_DROP_ICMP_UNHANDLED);
		return;
	}
	lp_flow_key_reverse(in, &fwd);
	fwd.zone = 0;
	f = find_any_flow(b, &fwd);
	if (f != NULL && f->svc_id == s->id && lp_svc_backend_valid(s, f->be_id, f->be_gen)) {
		p.id = f->be_id;
	} else if (!sched_place(b, NULL, s, &fwd, false, &p)) {
		/* No flow (stateless or aged): the choice a new packet of the
		 * flow would get, without creating anything. */
		drop(b, mb, LP_DROP_NO_BACKEND);
		return;
	}
	b->st->c[LP_WC_icmp_steered]++;
	if (s->mode == LP_FWD_NAT)
		fwd_icmp_error(b, mb, m, s, p.id);
	else
		fwd_to_backend(b, mb, m, s, p.id);
}

void
special_handle(struct burst *b, struct rte_mbuf *mb, struct lp_pkt_meta *m)
{
	switch (m->cls) {
	case LP_PKT_ARP:
	case LP_PKT_ND:
		to_slowpath(b, mb);
		return;
	case LP_PKT_FRAG:
	case LP_PKT_L4:		/* first fragment */
		fragment(b, mb, m);
		return;
	case LP_PKT_ICMP_ERR:
		icmp_error(b, mb, m);
		return;
	case LP_PKT_ICMP:
		/* Echo to a VIP or to limpet itself: the control thread answers. */
		if (lp_idx_lookup(b->ix, LP_IDX_VIPADDR, m->key.dst, 0, 0) != LP_IDX_NONE)
			to_slowpath(b, mb);
		else
			to_self_or_drop(b, mb, m, LP_DROP_NO_SERVICE);
		return;
	default:
		to_self_or_drop(b, mb, m, LP_DROP_NO_SERVICE);
		return;
	}
}
