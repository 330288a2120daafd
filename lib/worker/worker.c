/* SPDX-License-Identifier: BSD-3-Clause */
/* The hot path: a burst from parse to transmit buffers. */
#include <errno.h>
#include <netinet/in.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_prefetch.h>
#include <rte_ring.h>

#include "worker_priv.h"

void
worker_tx_flush_port(struct lp_worker *w, uint16_t port)
{
	struct lp_tx_buf *t = &w->tx[port];
	struct lp_dp_port *p = &w->dp->port[port];
	uint16_t q = w->txq[port];
	uint64_t bytes = 0;
	uint16_t sent;

	if (t->n == 0)
		return;
	/* Lengths before the transmit: the driver owns sent mbufs after it. */
	for (uint16_t i = 0; i < t->n; i++)
		bytes += t->pkts[i]->pkt_len;
	if (p->tx_shared)
		rte_spinlock_lock(&p->txq_lock[q]);
	sent = rte_eth_tx_burst(p->port_id, q, t->pkts, t->n);
	if (p->tx_shared)
		rte_spinlock_unlock(&p->txq_lock[q]);
	for (uint16_t i = sent; i < t->n; i++) {
		bytes -= t->pkts[i]->pkt_len;
		rte_pktmbuf_free(t->pkts[i]);
	}
	w->stats->c[LP_WC_tx_pkts] += sent;
	w->stats->c[LP_WC_tx_bytes] += bytes;
	w->stats->port[port].tx_pkts += sent;
	w->stats->port[port].tx_bytes += bytes;
	w->stats->drop[LP_DROP_TX_FULL] += t->n - sent;
	t->n = 0;
}

void
lp_worker_flush(struct lp_worker *w)
{
	for (uint16_t p = 0; p < w->dp->n_ports; p++)
		worker_tx_flush_port(w, p);
}

/* ---- forwarding ---- */

static uint8_t *
encap(struct burst *b, struct rte_mbuf *mb, const struct lp_pkt_meta *m, const struct lp_svc *s,
      const struct lp_svc_backend *be)
{
	unsigned int len = LP_ENCAP_LEN(be->family);
	uint8_t *frame = rte_pktmbuf_mtod(mb, uint8_t *);
	struct lp_ip src = { .family = be->family }, dst = { .family = be->family };
	uint32_t want, h;
	uint8_t hb[16];

	if (rte_pktmbuf_headroom(mb) < len) {
		drop(b, mb, LP_DROP_NO_HEADROOM);
		return NULL;
	}
	/* Outer source: the service's tunnel prefix with host bits from the
	 * client's address and port, so the backend's NIC spreads different
	 * clients over its RSS queues while one client stays on one. */
	h = lp_hash_bytes(m->key.src, 16, m->key.sport);
	for (int i = 0; i < 4; i++)
		memcpy(hb + 4 * i, &h, 4), h = h * 0x9e3779b1u + 1;
	if (be->family == LP_AF_INET)
		for (int i = 0; i < 4; i++)
			src.a[i] = (uint8_t)((s->tunnel_src4[i] & s->tunnel_mask4[i]) | (hb[i] & ~s->tunnel_mask4[i]));
	else
		for (int i = 0; i < 16; i++)
			src.a[i] = (uint8_t)((s->tunnel_src6[i] & s->tunnel_mask6[i]) | (hb[i] & ~s->tunnel_mask6[i]));
	memcpy(dst.a, be->addr, 16);
	frame = lp_pkt_encap(frame, m, &src, &dst, 64, lp_hash_bytes(m->key.src, 16, m->key.sport));
	rte_pktmbuf_prepend(mb, (uint16_t)len);
	want = m->l3_off + len + m->l3_len;
	if (mb->data_len > want)
		rte_pktmbuf_trim(mb, (uint16_t)(mb->data_len - want));
	return frame;
}

/* Rewrite a client's packet for backend @be of @s and queue it. */
void
worker_to_backend(struct burst *b, struct rte_mbuf *mb, struct lp_pkt_meta *m, const struct lp_svc *s, uint16_t id)
{
	const struct lp_svc_backend *be = &s->be[id];
	const struct lp_dp_port *out = &b->dp->port[be->tx_port];
	uint8_t *frame = rte_pktmbuf_mtod(mb, uint8_t *);
	struct lp_be_stats *bs = &b->st->be[be->gslot];
	struct lp_svc_stats *ss = &b->st->svc[s->id];
	struct lp_mac dmac;
	bool resolved;

	if (unlikely(be->nbr == LP_NBR_NONE)) {
		drop(b, mb, LP_DROP_NO_ROUTE);
		return;
	}
	resolved = lp_nbr_mac(b->dp->nbr, be->nbr, &dmac);
	if (unlikely(!resolved && b->dp->nbr->e[be->nbr].state == LP_NBR_FAILED)) {
		/* Resolution already failed: do not queue every packet. */
		lp_nbr_want(b->dp->nbr, be->nbr);
		drop(b, mb, LP_DROP_NO_NEIGHBOR);
		return;
	}
	if (unlikely(m->l3_len + (s->mode == LP_FWD_TUNNEL ? LP_ENCAP_LEN(be->family) : 0) > out->mtu)) {
		/* Path MTU discovery: the client learns the egress MTU (less
		 * the tunnel header) from an ICMP error the control thread
		 * builds. A packet that may be fragmented (IPv4 without DF) is
		 * too big as well, but limpet does not fragment: it drops it. */
		unsigned int room = s->mode == LP_FWD_TUNNEL ? LP_ENCAP_LEN(be->family) : 0;

		if (m->key.family == LP_AF_INET6 || (m->flags & LP_PKT_F_DF))
			to_slowpath_why(b, mb, LP_SLOW_TOO_BIG, out->mtu - room);
		else
			drop(b, mb, LP_DROP_TOO_BIG);
		return;
	}
	if (unlikely(!lp_pkt_dec_ttl(frame, m))) {
		drop(b, mb, LP_DROP_TTL);
		return;
	}
	switch (s->mode) {
	case LP_FWD_NAT:
		lp_pkt_dnat(frame, m, be->addr, be->port);
		break;
	case LP_FWD_TUNNEL:
		frame = encap(b, mb, m, s, be);
		if (frame == NULL)
			return;
		break;
	default:	/* DSR: the backend owns the VIP; only L2 changes */
		break;
	}
	ss->pkts++;
	ss->bytes += mb->pkt_len;
	bs->pkts++;
	bs->bytes += mb->pkt_len;
	if (unlikely(!resolved)) {
		/* Rewritten but for the MACs: the control thread holds it until
		 * the next hop answers, then sends it. */
		to_slowpath_why(b, mb, LP_SLOW_RESOLVE, be->nbr);
		return;
	}
	lp_pkt_set_macs(frame, &dmac, &out->mac);
	tx_enqueue(b->w, be->tx_port, mb);
}

/* Send a packet whose destination is a client (after reverse NAT). */
static void
worker_to_client(struct burst *b, struct rte_mbuf *mb, const struct lp_pkt_meta *m)
{
	uint8_t *frame = rte_pktmbuf_mtod(mb, uint8_t *);
	struct lp_mac dmac;
	uint32_t nbr;
	int port;

	port = lp_route_lookup(&b->dp->routes, m->key.family, m->key.dst, &nbr);
	if (port < 0) {
		drop(b, mb, LP_DROP_NO_ROUTE);
		return;
	}
	if (nbr == LP_NBR_NONE) {
		nbr = lp_nbr_lookup(b->dp->nbr, m->key.family, m->key.dst);
		if (nbr == LP_NBR_NONE) {
			/* On-link client nobody resolved yet: the control
			 * thread resolves it and sends the packet on. */
			to_slowpath_why(b, mb, LP_SLOW_RESOLVE, LP_NBR_NONE);
			return;
		}
	}
	if (!lp_nbr_mac(b->dp->nbr, nbr, &dmac)) {
		lp_nbr_want(b->dp->nbr, nbr);
		if (b->dp->nbr->e[nbr].state == LP_NBR_FAILED)
			drop(b, mb, LP_DROP_NO_NEIGHBOR);
		else
			to_slowpath_why(b, mb, LP_SLOW_RESOLVE, nbr);
		return;
	}
	lp_pkt_set_macs(frame, &dmac, &b->dp->port[port].mac);
	tx_enqueue(b->w, (uint16_t)port, mb);
}

/* ---- classification ---- */

/* A reply from a backend shared by several NAT services: find which
 * service's flow it answers by looking the forward key up in every
 * worker's shard (lock-free readers). Rare by configuration. */
static uint32_t
shared_reply_service(struct burst *b, const struct lp_pkt_meta *m, const struct lp_idx_multi *mu)
{
	b->st->c[LP_WC_nat_reply_shared]++;
	for (unsigned int i = 0; i < mu->n; i++) {
		const struct lp_svc *s = lp_svc_get(&b->dp->svcs, mu->id[i]);
		struct lp_flow_key k;
		hash_sig_t sig;

		if (s == NULL)
			continue;
		memset(&k, 0, sizeof(k));
		memcpy(k.src, m->key.dst, 16);
		memcpy(k.dst, s->vip, 16);
		k.sport = m->key.dport;
		k.dport = s->port;
		k.proto = m->key.proto;
		k.family = m->key.family;
		sig = lp_flow_sig(b->w->flows, &k);
		for (uint32_t wi = 0; wi < b->dp->n_workers; wi++) {
			const struct lp_flow_shard *sh = b->dp->worker[wi]->flows;
			int32_t pos = lp_flow_lookup_sig(sh, &k, sig);

			if (pos >= 0 && sh->e[pos].svc_id == s->id)
				return s->id;
		}
	}
	/* No flow remembers it (aged out): the first service is the best guess. */
	return mu->id[0];
}

void
worker_handle_reply(struct burst *b, struct rte_mbuf *mb, struct lp_pkt_meta *m, uint32_t v)
{
	uint8_t *frame = rte_pktmbuf_mtod(mb, uint8_t *);
	const struct lp_svc *s;

	if (v & LP_IDX_MULTI)
		v = shared_reply_service(b, m, &b->ix->multi[v & ~LP_IDX_MULTI]);
	s = lp_svc_get(&b->dp->svcs, v);
	if (s == NULL) {
		drop(b, mb, LP_DROP_NO_SERVICE);
		return;
	}
	if (!lp_pkt_dec_ttl(frame, m)) {
		drop(b, mb, LP_DROP_TTL);
		return;
	}
	lp_pkt_snat(frame, m, s->vip, s->port);
	memcpy(m->key.src, s->vip, 16);
	m->key.sport = s->port;
	b->st->c[LP_WC_nat_reply]++;
	b->st->svc[s->id].replies++;
	worker_to_client(b, mb, m);
}

/* Schedule a packet that has no (usable) flow entry. @pos: an existing
 * position to reuse for a new connection on the same 5-tuple, or -1. */
static void
new_flow(struct burst *b, struct rte_mbuf *mb, struct lp_pkt_meta *m, const struct lp_svc *s, int32_t pos)
{
	struct lp_flow_shard *sh = b->w->flows;
	bool tcp = m->key.proto == IPPROTO_TCP;
	bool create = !tcp || (m->tcp_flags & (LP_TCP_SYN | LP_TCP_ACK)) == LP_TCP_SYN;
	struct pick p;
	struct lp_flow *f;

	if (create && pos < 0) {
		pos = lp_flow_insert_sig(sh, &m->key, b->sig);
		if (pos >= 0) {
			b->inserted_bits[(b->sig >> 6) & 3] |= 1ull << (b->sig & 63);
			b->inserted_sig[b->inserted++] = b->sig;
		}
		if (pos < 0) {
			b->st->c[LP_WC_flow_full]++;
			create = false;
		}
	}
	if (!worker_pick_backend(b, s, m, &m->key, create, &p)) {
		if (pos >= 0)
			lp_flow_delete(sh, pos);
		drop(b, mb, LP_DROP_NO_BACKEND);
		return;
	}
	if (create) {
		f = &sh->e[pos];
		f->last_seen = b->now;
		f->svc_id = s->id;
		f->svc_gen = s->gen;
		f->be_id = p.id;
		f->be_gen = s->be[p.id].gen;
		f->aff_pos = p.aff_pos;
		f->aff_serial = p.aff_serial;
		f->aff_sec = (uint16_t)b->now_s;
		f->flags = p.flags;
		f->state = tcp ? LP_FLOW_SYN : LP_FLOW_UDP;
		b->st->c[LP_WC_flow_new]++;
		b->st->svc[s->id].flows++;
		b->st->be[s->be[p.id].gslot].flows++;
	} else {
		b->st->c[LP_WC_flow_stateless]++;
	}
	worker_to_backend(b, mb, m, s, p.id);
}

/* A packet that matched flow entry @pos. Returns false when the entry is
 * stale (its service is gone) and the packet must be classified afresh. */
static bool
flow_hit(struct burst *b, struct rte_mbuf *mb, struct lp_pkt_meta *m, int32_t pos)
{
	struct lp_flow_shard *sh = b->w->flows;
	struct lp_flow *f = &sh->e[pos];
	const struct lp_svc *s;
	uint8_t fl = m->tcp_flags;

	if (f->state == LP_FLOW_FREE)
		return false;
	s = lp_svc_get(&b->dp->svcs, f->svc_id);
	if (s == NULL || s->gen != f->svc_gen) {
		lp_worker_flow_release(b->w, f);
		lp_flow_delete(sh, pos);
		return false;
	}
	if (m->key.proto == IPPROTO_TCP && (fl & (LP_TCP_SYN | LP_TCP_ACK)) == LP_TCP_SYN &&
	    (f->state == LP_FLOW_FIN || lp_flow_expired(sh, f, b->now))) {
		/* A new connection reusing a closed or expired 5-tuple:
		 * schedule it like any new connection. */
		lp_worker_flow_release(b->w, f);
		new_flow(b, mb, m, s, pos);
		return true;
	}
	if (unlikely(!lp_svc_backend_valid(s, f->be_id, f->be_gen))) {
		struct pick p;

		/* Backend down or removed: this flow, and only this, moves. */
		lp_worker_flow_release(b->w, f);
		if (!worker_pick_backend(b, s, m, &m->key, true, &p)) {
			lp_flow_delete(sh, pos);
			drop(b, mb, LP_DROP_NO_BACKEND);
			return true;
		}
		f->be_id = p.id;
		f->be_gen = s->be[p.id].gen;
		f->flags = p.flags;
		f->aff_pos = p.aff_pos;
		f->aff_serial = p.aff_serial;
		b->st->c[LP_WC_flow_rechosen]++;
	}
	if (m->key.proto == IPPROTO_TCP) {
		if (fl & (LP_TCP_FIN | LP_TCP_RST))
			f->state = LP_FLOW_FIN;
		else if (f->state == LP_FLOW_SYN && (fl & LP_TCP_ACK) && !(fl & LP_TCP_SYN)) {
			f->state = LP_FLOW_EST;
			b->st->be[s->be[f->be_id].gslot].est++;
		}
	}
	f->last_seen = b->now;
	if ((f->flags & LP_FLOW_F_AFF) && f->aff_sec != (uint16_t)b->now_s) {
		struct lp_aff_entry *e = &b->dp->aff->e[f->aff_pos];

		/* Keep the client's binding alive while it has traffic, at
		 * most one shared write per flow per second. */
		f->aff_sec = (uint16_t)b->now_s;
		if (lp_aff_serial(lp_aff_target(e)) == f->aff_serial)
			lp_aff_touch(e, b->now_s);
	}
	b->st->c[LP_WC_flow_hit]++;
	worker_to_backend(b, mb, m, s, f->be_id);
	return true;
}

/* Unfragmented TCP/UDP without a flow entry. */
static void
l4_miss(struct burst *b, struct rte_mbuf *mb, struct lp_pkt_meta *m)
{
	const struct lp_svc *s = b->vip_svc;
	uint32_t v;

	if (!b->vip_known) {
		v = lp_idx_lookup(b->ix, LP_IDX_VIP, m->key.dst, m->key.dport, m->key.proto);
		s = v != LP_IDX_NONE ? lp_svc_get(&b->dp->svcs, v) : NULL;
	}
	if (s != NULL) {
		new_flow(b, mb, m, s, -1);
		return;
	}
	/* Limpet's own address before reverse NAT: health-check answers come
	 * from a backend's address and port too, but are for limpet. */
	if (lp_idx_lookup(b->ix, LP_IDX_OWN, m->key.dst, 0, 0) != LP_IDX_NONE) {
		to_slowpath(b, mb);
		return;
	}
	v = lp_idx_lookup(b->ix, LP_IDX_REV, m->key.src, m->key.sport, m->key.proto);
	if (v != LP_IDX_NONE) {
		worker_handle_reply(b, mb, m, v);
		return;
	}
	drop(b, mb, LP_DROP_NO_SERVICE);
}

static inline bool
inserted_here(const struct burst *b, hash_sig_t sig)
{
	/* A burst of new connections misses every time: most of them leave
	 * after one bit test, not a scan of what the burst inserted. */
	if (!(b->inserted_bits[(sig >> 6) & 3] & (1ull << (sig & 63))))
		return false;
	for (uint32_t i = 0; i < b->inserted; i++)
		if (b->inserted_sig[i] == sig)
			return true;
	return false;
}

static void
rx_burst(struct lp_worker *w, uint16_t port, struct rte_mbuf **pkts, uint16_t n, uint64_t now)
{
	struct burst b = {
		.w = w,
		.dp = w->dp,
		.st = w->stats,
		.ix = lp_svc_index_get(&w->dp->svcs),
		.now = now,
		.now_s = lp_dp_seconds(w->dp, now),
	};
	struct lp_pkt_meta meta[LP_BURST];
	const void *keys[LP_BURST];
	hash_sig_t sigs[LP_BURST];
	int32_t pos[LP_BURST];
	int8_t slot[LP_BURST];	/* index into keys[]/pos[], or -1 */
	uint16_t key_pkt[LP_BURST];	/* by key index: the packet's index */
	const struct lp_svc *vip_svc[LP_BURST];	/* by key index, for misses */
	int8_t aff_slot[LP_BURST];	/* by key index: index into aff_*[], or -1 */
	struct lp_aff_key aff_keys[LP_BURST];
	const void *aff_kp[LP_BURST];
	hash_sig_t aff_sigs[LP_BURST];
	int32_t aff_pos[LP_BURST];
	uint32_t na = 0;
	uint64_t bytes = 0;
	uint32_t nk = 0;

	for (uint16_t i = 0; i < n && i < 4; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	/* Pass 1: parse; collect the keys of unfragmented TCP/UDP. */
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *mb = pkts[i];
		enum lp_drop why;

		if (i + 4 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 4], void *));
		bytes += mb->pkt_len;
		slot[i] = -1;
		/* The NIC's verdict on the IPv4 header checksum, where it gives
		 * one: a flag test on a cache line already loaded. */
		if (unlikely((mb->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_BAD))
			why = LP_DROP_BAD_CKSUM;
		else
			why = lp_pkt_parse(rte_pktmbuf_mtod(mb, const uint8_t *), mb->data_len, &meta[i]);
		if (unlikely(why != LP_DROP_NONE)) {
			drop(&b, mb, why);
			pkts[i] = NULL;
			continue;
		}
		if (likely(meta[i].cls == LP_PKT_L4 && meta[i].frag == LP_FRAG_NONE)) {
			keys[nk] = &meta[i].key;
			key_pkt[nk] = i;
			aff_slot[nk] = -1;
			slot[i] = (int8_t)nk++;
		}
	}
	w->stats->c[LP_WC_rx_pkts] += n;
	w->stats->c[LP_WC_rx_bytes] += bytes;
	w->stats->port[port].rx_pkts += n;
	w->stats->port[port].rx_bytes += bytes;
	if (b.ix == NULL) {	/* not configured yet */
		for (uint16_t i = 0; i < n; i++)
			if (pkts[i] != NULL)
				drop(&b, pkts[i], LP_DROP_NO_SERVICE);
		return;
	}
	/* One bulk lookup: the hash prefetches all buckets before comparing. */
	if (nk > 0) {
		lp_flow_lookup_bulk(w->flows, keys, nk, sigs, pos);
		/* Each hit reads and writes its flow entry in pass 2: start all
		 * those loads now, so a burst waits for memory once, not once
		 * per packet (the entries of a large table are never cached). */
		for (uint32_t k = 0; k < nk; k++)
			if (pos[k] >= 0)
				rte_prefetch0(&w->flows->e[pos[k]]);
	}
	/* Pass 1.5, for the packets without a flow: which service their VIP
	 * is, and for services with affinity their clients' bindings, looked
	 * up in bulk too. A burst of new connections then waits for the
	 * affinity table once, not once per packet. */
	for (uint32_t k = 0; k < nk; k++) {
		uint16_t i = key_pkt[k];
		const struct lp_pkt_meta *m = &meta[i];
		const struct lp_svc *s;
		uint32_t v;

		if (pos[k] >= 0)
			continue;
		v = lp_idx_lookup(b.ix, LP_IDX_VIP, m->key.dst, m->key.dport, m->key.proto);
		s = v != LP_IDX_NONE ? lp_svc_get(&w->dp->svcs, v) : NULL;
		vip_svc[k] = s;
		if (s != NULL && s->affinity) {
			unsigned int prefix = m->key.family == LP_AF_INET ? s->prefix_v4 : s->prefix_v6;

			lp_aff_key_make(&aff_keys[na], s->id, m->key.family, m->key.src, prefix);
			aff_kp[na] = &aff_keys[na];
			aff_sigs[na] = lp_aff_sig(w->dp->aff, &aff_keys[na]);
			aff_slot[k] = (int8_t)na++;
		}
	}
	if (na > 0) {
		lp_aff_lookup_bulk(w->dp->aff, aff_kp, aff_sigs, na, aff_pos);
		for (uint32_t a = 0; a < na; a++)
			if (aff_pos[a] >= 0)
				rte_prefetch0(&w->dp->aff->e[aff_pos[a]]);
	}
	/* Pass 2: in arrival order, so one flow's packets keep their order. */
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *mb = pkts[i];
		int8_t k = slot[i];

		if (mb == NULL)
			continue;
		if (k < 0) {
			b.vip_known = false;
			b.aff_svc = NULL;
			worker_handle_other(&b, mb, &meta[i]);
			continue;
		}
		b.sig = sigs[k];
		/* A SYN earlier in this burst may have created the flow this
		 * packet (its ACK, say) belongs to after the bulk lookup ran. */
		if (pos[k] < 0 && b.inserted > 0 && inserted_here(&b, sigs[k]))
			pos[k] = lp_flow_lookup_sig(w->flows, &meta[i].key, sigs[k]);
		if (pos[k] >= 0) {
			/* A stale entry sends the packet on as a miss, looked up afresh. */
			b.vip_known = false;
			b.aff_svc = NULL;
			if (flow_hit(&b, mb, &meta[i], pos[k]))
				continue;
		} else {
			b.vip_known = true;
			b.vip_svc = vip_svc[k];
			b.aff_svc = aff_slot[k] >= 0 ? vip_svc[k] : NULL;
			if (aff_slot[k] >= 0) {
				b.aff_key = &aff_keys[aff_slot[k]];
				b.aff_sig = aff_sigs[aff_slot[k]];
				b.aff_pos = aff_pos[aff_slot[k]];
			}
		}
		l4_miss(&b, mb, &meta[i]);
	}
}

void
lp_worker_rx(struct lp_worker *w, uint16_t port, struct rte_mbuf **pkts, uint16_t n, uint64_t now)
{
	while (n > 0) {
		uint16_t k = n > LP_BURST ? LP_BURST : n;

		rx_burst(w, port, pkts, k, now);
		pkts += k;
		n -= k;
	}
}
