/* SPDX-License-Identifier: BSD-3-Clause */
/* Packets off the common path: IP fragments, ICMP errors, the rest. */
#include <errno.h>
#include <netinet/in.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_prefetch.h>
#include <rte_ring.h>

#include "worker_priv.h"

/* IP fragments: the non-first ones carry no ports, so every fragment of a
 * datagram is placed by its addresses alone (a binding with affinity, else
 * Maglev on the L3-only key) and none of them creates state. */
static void
handle_fragment(struct burst *b, struct rte_mbuf *mb, struct lp_pkt_meta *m)
{
	struct lp_flow_key l3 = m->key;
	uint32_t v;
	struct pick p;

	l3.sport = 0;
	l3.dport = 0;
	v = lp_idx_lookup(b->ix, LP_IDX_VIP_ANYPORT, m->key.dst, 0, m->key.proto);
	if (v == LP_IDX_AMBIGUOUS) {
		drop(b, mb, LP_DROP_FRAG_AMBIGUOUS);
		return;
	}
	if (v != LP_IDX_NONE) {
		const struct lp_svc *s = lp_svc_get(&b->dp->svcs, v);

		if (s == NULL) {
			drop(b, mb, LP_DROP_NO_SERVICE);
			return;
		}
		if (!worker_pick_backend(b, s, m, &l3, false, &p)) {
			drop(b, mb, LP_DROP_NO_BACKEND);
			return;
		}
		b->st->c[LP_WC_flow_stateless]++;
		worker_to_backend(b, mb, m, s, p.id);
		return;
	}
	if (lp_idx_lookup(b->ix, LP_IDX_OWN, m->key.dst, 0, 0) != LP_IDX_NONE) {
		to_slowpath(b, mb);
		return;
	}
	v = lp_idx_lookup(b->ix, LP_IDX_REV_ANYPORT, m->key.src, 0, m->key.proto);
	if (v != LP_IDX_NONE) {
		if (v & LP_IDX_MULTI) {
			drop(b, mb, LP_DROP_FRAG_AMBIGUOUS);
			return;
		}
		worker_handle_reply(b, mb, m, v);
		return;
	}
	drop(b, mb, LP_DROP_NO_SERVICE);
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

/* ICMP checksum over the message after its quote was rewritten. */
static void
icmp_recompute(uint8_t *frame, const struct lp_pkt_meta *m)
{
	uint8_t *icmp = frame + m->l4_off;
	uint32_t len = m->l3_len - (m->l4_off - m->l3_off);
	uint32_t sum = 0;
	uint16_t c;

	icmp[2] = icmp[3] = 0;
	if (m->key.family == LP_AF_INET6) {
		uint8_t ph[8] = { 0 };

		sum = lp_csum_partial(frame + m->l3_off + 8, 32, 0);
		ph[0] = (uint8_t)(len >> 24);
		ph[1] = (uint8_t)(len >> 16);
		ph[2] = (uint8_t)(len >> 8);
		ph[3] = (uint8_t)len;
		ph[7] = IPPROTO_ICMPV6;
		sum = lp_csum_partial(ph, sizeof(ph), sum);
	}
	sum = lp_csum_partial(icmp, len, sum);
	c = (uint16_t)~lp_csum_fold(sum);
	icmp[2] = (uint8_t)(c >> 8);
	icmp[3] = (uint8_t)c;
}

/* NAT for an ICMP error steered to a backend: the outer destination and
 * the quoted packet's source become the backend's, as if the backend had
 * sent the packet the error is about. */
static void
icmp_error_dnat(uint8_t *frame, struct lp_pkt_meta *m, const struct lp_svc_backend *be)
{
	uint8_t *ip = frame + m->l3_off;
	uint8_t *in = frame + m->inner_l3_off;
	uint8_t *l4 = frame + m->inner_l4_off;
	unsigned int alen = m->key.family == LP_AF_INET ? 4 : 16;
	uint16_t c;

	if (m->key.family == LP_AF_INET) {
		memcpy(ip + 16, be->addr, 4);
		ip[10] = ip[11] = 0;
		c = lp_ipv4_cksum(ip);
		memcpy(ip + 10, &c, 2);
		memcpy(in + 12, be->addr, 4);
		in[10] = in[11] = 0;
		c = lp_ipv4_cksum(in);
		memcpy(in + 10, &c, 2);
	} else {
		memcpy(ip + 24, be->addr, 16);
		memcpy(in + 8, be->addr, 16);
	}
	(void)alen;
	memcpy(l4, &be->port, 2);	/* quoted source port */
	icmp_recompute(frame, m);
}

/* An ICMP error about a packet a VIP sent (a reply, possibly from a DSR
 * backend directly): the backend that owns the flow must see it (PMTU). */
static void
handle_icmp_error(struct burst *b, struct rte_mbuf *mb, struct lp_pkt_meta *m)
{
	const struct lp_flow_key *in = &m->inner;
	const struct lp_flow *f;
	const struct lp_svc *s;
	struct lp_flow_key fwd;
	uint16_t id;
	uint32_t v;

	v = lp_idx_lookup(b->ix, LP_IDX_VIP, in->src, in->sport, in->proto);
	if (v == LP_IDX_NONE || (s = lp_svc_get(&b->dp->svcs, v)) == NULL) {
		if (lp_idx_lookup(b->ix, LP_IDX_OWN, m->key.dst, 0, 0) != LP_IDX_NONE)
			to_slowpath(b, mb);
		else
			drop(b, mb, LP_DROP_ICMP_UNHANDLED);
		return;
	}
	lp_flow_key_reverse(in, &fwd);
	fwd.zone = 0;
	f = find_any_flow(b, &fwd);
	if (f != NULL && f->svc_id == s->id && lp_svc_backend_valid(s, f->be_id, f->be_gen)) {
		id = f->be_id;
	} else {
		struct lp_pkt_meta client = *m;
		struct pick p;

		/* No flow (stateless or aged): the choice a new packet of the
		 * flow would get, without creating anything. */
		client.key = fwd;
		if (!worker_pick_backend(b, s, &client, &fwd, false, &p)) {
			drop(b, mb, LP_DROP_NO_BACKEND);
			return;
		}
		id = p.id;
	}
	b->st->c[LP_WC_icmp_steered]++;
	if (s->mode == LP_FWD_NAT) {
		const struct lp_svc_backend *be = &s->be[id];
		struct lp_mac dmac;
		uint8_t *frame = rte_pktmbuf_mtod(mb, uint8_t *);

		if (be->nbr == LP_NBR_NONE || !lp_nbr_mac(b->dp->nbr, be->nbr, &dmac)) {
			drop(b, mb, be->nbr == LP_NBR_NONE ? LP_DROP_NO_ROUTE : LP_DROP_NO_NEIGHBOR);
			return;
		}
		if (!lp_pkt_dec_ttl(frame, m)) {
			drop(b, mb, LP_DROP_TTL);
			return;
		}
		icmp_error_dnat(frame, m, be);
		lp_pkt_set_macs(frame, &dmac, &b->dp->port[be->tx_port].mac);
		tx_enqueue(b->w, be->tx_port, mb);
		return;
	}
	worker_to_backend(b, mb, m, s, id);
}

/* Everything that is not unfragmented TCP/UDP. */
void
worker_handle_other(struct burst *b, struct rte_mbuf *mb, struct lp_pkt_meta *m)
{
	switch (m->cls) {
	case LP_PKT_ARP:
	case LP_PKT_ND:
		to_slowpath(b, mb);
		return;
	case LP_PKT_FRAG:
		handle_fragment(b, mb, m);
		return;
	case LP_PKT_L4:	/* first fragment */
		handle_fragment(b, mb, m);
		return;
	case LP_PKT_ICMP_ERR:
		handle_icmp_error(b, mb, m);
		return;
	case LP_PKT_ICMP:
		/* Echo to a VIP or to limpet itself: the control thread answers. */
		if (lp_idx_lookup(b->ix, LP_IDX_VIPADDR, m->key.dst, 0, 0) != LP_IDX_NONE ||
		    lp_idx_lookup(b->ix, LP_IDX_OWN, m->key.dst, 0, 0) != LP_IDX_NONE)
			to_slowpath(b, mb);
		else
			drop(b, mb, LP_DROP_NO_SERVICE);
		return;
	default:
		if (lp_idx_lookup(b->ix, LP_IDX_OWN, m->key.dst, 0, 0) != LP_IDX_NONE)
			to_slowpath(b, mb);
		else
			drop(b, mb, LP_DROP_NO_SERVICE);
		return;
	}
}
