/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Forwarding: a packet whose destination is decided leaves here, rewritten
 * (NAT, DSR, tunnel), with its next hop's MAC, into a transmit buffer (or
 * to the control thread while the next hop is unresolved). Nothing here
 * decides where a packet goes; classification and placement did.
 */
#include <rte_ethdev.h>

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

/* IPIP / IP6IP6 to backend @be; the frame's new start, or NULL (dropped). */
static uint8_t *
encap(struct burst *b, struct rte_mbuf *mb, const struct lp_pkt_meta *m, const struct lp_svc *s,
      const struct lp_svc_backend *be)
{
	unsigned int len = LP_ENCAP_LEN(be->family);
	bool v4 = be->family == LP_AF_INET;
	struct lp_ip src, dst = { .family = be->family };
	uint8_t *frame;
	uint32_t want, h;

	if (rte_pktmbuf_headroom(mb) < len) {
		drop(b, mb, LP_DROP_NO_HEADROOM);
		return NULL;
	}
	h = lp_pkt_tunnel_src(&m->key, v4 ? s->tunnel_src4 : s->tunnel_src6, v4 ? s->tunnel_mask4 : s->tunnel_mask6,
			      be->family, &src);
	memcpy(dst.a, be->addr, 16);
	frame = lp_pkt_encap(rte_pktmbuf_mtod(mb, uint8_t *), m, &src, &dst, 64, h);
	rte_pktmbuf_prepend(mb, (uint16_t)len);
	want = m->l3_off + len + m->l3_len;
	if (mb->data_len > want)
		rte_pktmbuf_trim(mb, (uint16_t)(mb->data_len - want));
	return frame;
}

/* Path MTU discovery: the sender learns the egress MTU (less the tunnel
 * header, @room) from an ICMP error the control thread builds. A packet
 * that may be fragmented (IPv4 without DF) is too big as well, but limpet
 * does not fragment: it drops it. */
static void
too_big(struct burst *b, struct rte_mbuf *mb, const struct lp_pkt_meta *m, uint16_t mtu, unsigned int room)
{
	if (m->key.family == LP_AF_INET6 || (m->flags & LP_PKT_F_DF))
		to_slowpath_why(b, mb, LP_SLOW_TOO_BIG, mtu - room);
	else
		drop(b, mb, LP_DROP_TOO_BIG);
}

/* The rewrite of @s's mode; the frame's start, or NULL when the packet was dropped. */
static uint8_t *
rewrite(struct burst *b, struct rte_mbuf *mb, struct lp_pkt_meta *m, const struct lp_svc *s,
	const struct lp_svc_backend *be, uint16_t mtu)
{
	uint8_t *frame = rte_pktmbuf_mtod(mb, uint8_t *);

	if (likely(s->mode == LP_FWD_NAT)) {
		if (unlikely(m->l3_len > mtu)) {
			too_big(b, mb, m, mtu, 0);
			return NULL;
		}
		if (unlikely(!lp_pkt_dnat_fwd(frame, m, be->addr, be->port))) {
			drop(b, mb, LP_DROP_TTL);
			return NULL;
		}
		return frame;
	}
	if (unlikely(m->l3_len + (s->mode == LP_FWD_TUNNEL ? LP_ENCAP_LEN(be->family) : 0) > mtu)) {
		too_big(b, mb, m, mtu, s->mode == LP_FWD_TUNNEL ? LP_ENCAP_LEN(be->family) : 0);
		return NULL;
	}
	if (unlikely(!lp_pkt_dec_ttl(frame, m))) {
		drop(b, mb, LP_DROP_TTL);
		return NULL;
	}
	/* DSR: the backend owns the VIP; only L2 changes. */
	return s->mode == LP_FWD_TUNNEL ? encap(b, mb, m, s, be) : frame;
}

void
fwd_to_backend(struct burst *b, struct rte_mbuf *mb, struct lp_pkt_meta *m, const struct lp_svc *s, uint16_t id)
{
	const struct lp_svc_backend *be = &s->be[id];
	const struct lp_dp_port *out = &b->dp->port[be->tx_port];
	struct lp_be_stats *bs = &b->st->be[be->gslot];
	struct lp_svc_stats *ss = &b->st->svc[s->id];
	struct lp_mac dmac;
	uint8_t *frame;
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
	frame = rewrite(b, mb, m, s, be, out->mtu);
	if (unlikely(frame == NULL))
		return;
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

void
fwd_icmp_error(struct burst *b, struct rte_mbuf *mb, struct lp_pkt_meta *m, const struct lp_svc *s, uint16_t id)
{
	const struct lp_svc_backend *be = &s->be[id];
	uint8_t *frame = rte_pktmbuf_mtod(mb, uint8_t *);
	struct lp_mac dmac;

	if (be->nbr == LP_NBR_NONE || !lp_nbr_mac(b->dp->nbr, be->nbr, &dmac)) {
		drop(b, mb, be->nbr == LP_NBR_NONE ? LP_DROP_NO_ROUTE : LP_DROP_NO_NEIGHBOR);
		return;
	}
	if (!lp_pkt_dec_ttl(frame, m)) {
		drop(b, mb, LP_DROP_TTL);
		return;
	}
	lp_pkt_icmp_error_dnat(frame, m, be->addr, be->port);
	lp_pkt_set_macs(frame, &dmac, &b->dp->port[be->tx_port].mac);
	tx_enqueue(b->w, be->tx_port, mb);
}

/* A packet whose destination is a client: route, next hop, transmit. */
static void
to_client(struct burst *b, struct rte_mbuf *mb, const struct lp_pkt_meta *m)
{
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
	lp_pkt_set_macs(rte_pktmbuf_mtod(mb, uint8_t *), &dmac, &b->dp->port[port].mac);
	tx_enqueue(b->w, (uint16_t)port, mb);
}

void
fwd_reply(struct burst *b, struct rte_mbuf *mb, struct lp_pkt_meta *m, const struct lp_svc *s)
{
	if (!lp_pkt_snat_fwd(rte_pktmbuf_mtod(mb, uint8_t *), m, s->vip, s->port)) {
		drop(b, mb, LP_DROP_TTL);
		return;
	}
	memcpy(m->key.src, s->vip, 16);
	m->key.sport = s->port;
	b->st->c[LP_WC_nat_reply]++;
	b->st->svc[s->id].replies++;
	to_client(b, mb, m);
}
