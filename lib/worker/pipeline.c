/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A burst, stage by stage (docs/architecture.md has the picture):
 *
 *   stage_parse → stage_classify → stage_flow_lookup → stage_aff_lookup → stage_dispatch
 *
 * Each stage runs over the whole burst before the next one starts and
 * leaves what it found in the packet's context (struct pkt_ctx), so the
 * two lookups see all their keys at once (one bulk call each: the hash
 * prefetches every bucket before it compares) and the entries they find
 * are prefetched while later packets are still being looked up. Dispatch
 * then takes the packets in arrival order, so a flow's packets keep their
 * order.
 */
#include <netinet/in.h>

#include <rte_ether.h>
#include <rte_prefetch.h>

#include "events.h"
#include "worker_priv.h"

/* Which packets of the burst a stage hands the next one (indices into ctx[]). */
struct pkt_list {
	uint16_t n;
	uint8_t at[LP_BURST];
};

/* ---- stage 1: parse ---- */

/*
 * Parse one packet. RFC 1812 5.2.2: the IPv4 header checksum is verified,
 * by the NIC where it gives a verdict (RX offload, enabled where the device
 * has it: GOOD, or NONE, "header integrity verified", pass; BAD drops),
 * else here in software: net_pcap, net_af_packet, net_tap, net_memif and
 * many NICs report UNKNOWN.
 */
static inline enum lp_drop
parse_one(struct rte_mbuf *mb, struct lp_pkt_meta *m)
{
	const uint8_t *frame = rte_pktmbuf_mtod(mb, const uint8_t *);
	uint64_t verdict = mb->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
	enum lp_drop why;

	if (unlikely(verdict == RTE_MBUF_F_RX_IP_CKSUM_BAD))
		return LP_DROP_BAD_CKSUM;
	why = lp_pkt_parse(frame, mb->data_len, m);
	if (verdict == RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN && likely(why == LP_DROP_NONE) &&
	    m->key.family == LP_AF_INET && m->cls != LP_PKT_ARP && unlikely(!lp_ipv4_cksum_ok(frame + m->l3_off)))
		return LP_DROP_BAD_CKSUM;
	return why;
}

/* A unicast frame whose destination is not @p mac. */
static inline bool
other_host(const struct rte_mbuf *mb, const struct lp_mac *mac)
{
	const struct rte_ether_hdr *eh = rte_pktmbuf_mtod(mb, const struct rte_ether_hdr *);

	return !rte_is_multicast_ether_addr(&eh->dst_addr) && memcmp(eh->dst_addr.addr_bytes, mac->b, 6) != 0;
}

/* Parse every packet; malformed ones are dropped (PATH_DONE), unfragmented
 * TCP/UDP go on to classification, the rest to special.c. */
static void
stage_parse(struct burst *b, uint16_t port, struct rte_mbuf **pkts, struct pkt_ctx *ctx, uint16_t n)
{
	struct lp_stats *st = b->st;
	const struct lp_dp_port *p = &b->dp->port[port];
	const bool filter = p->other_hosts;
	const struct lp_mac own = p->mac;
	uint64_t bytes = 0;

	for (uint16_t i = 0; i < n && i < 4; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (uint16_t i = 0; i < n; i++) {
		struct pkt_ctx *c = &ctx[i];
		struct rte_mbuf *mb = pkts[i];
		enum lp_drop why;

		if (i + 4 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 4], void *));
		bytes += mb->pkt_len;
		c->mb = mb;
		why = parse_one(mb, &c->m);
		if (unlikely(filter) && why == LP_DROP_NONE && other_host(mb, &own))
			why = LP_DROP_OTHER_HOST;
		if (unlikely(why != LP_DROP_NONE)) {
			drop(b, mb, why);
			c->path = PATH_DONE;
			continue;
		}
		c->path = likely(c->m.cls == LP_PKT_L4 && c->m.frag == LP_FRAG_NONE) ? PATH_NOVIP : PATH_OTHER;
	}
	st->c[LP_WC_rx_pkts] += n;
	st->c[LP_WC_rx_bytes] += bytes;
	st->port[port].rx_pkts += n;
	st->port[port].rx_bytes += bytes;
}

/* ---- stage 2: classify ---- */

/* The destination port and protocol of a key as one word (bytes 34..36). */
static inline uint64_t
dport_proto(const struct lp_flow_key *k)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t w;

	memcpy(&w, &k->sport, 8);
	return w & 0xffffff0000ull;
#else
	return (uint64_t)k->dport | (uint64_t)k->proto << 16;
#endif
}

/*
 * Which service each TCP/UDP packet's destination is: one lookup in the
 * classification index per run of packets to the same (address, port,
 * protocol), which is most of a burst. A packet to no VIP needs no flow
 * lookup (flows exist only for VIPs).
 */
static void
stage_classify(struct burst *b, struct pkt_ctx *ctx, uint16_t n, struct pkt_list *vip)
{
	const struct lp_svc *svc = NULL;
	uint64_t last0 = 0, last1 = 0, last_pp = UINT64_MAX;	/* dport_proto() never is */

	vip->n = 0;
	for (uint16_t i = 0; i < n; i++) {
		struct pkt_ctx *c = &ctx[i];
		const struct lp_flow_key *k = &c->m.key;
		uint64_t a0, a1, pp;
		uint32_t v;

		if (c->path != PATH_NOVIP)
			continue;
		memcpy(&a0, k->dst, 8);
		memcpy(&a1, k->dst + 8, 8);
		pp = dport_proto(k);
		if (unlikely(((a0 ^ last0) | (a1 ^ last1) | (pp ^ last_pp)) != 0)) {
			v = lp_idx_lookup(b->ix, LP_IDX_VIP, k->dst, k->dport, k->proto);
			svc = v != LP_IDX_NONE ? lp_svc_get(&b->dp->svcs, v) : NULL;
			last0 = a0;
			last1 = a1;
			last_pp = pp;
		}
		if (svc != NULL) {
			c->path = PATH_VIP;
			c->svc = svc;
			c->aff_pos = AFF_NOT_LOOKED_UP;
			vip->at[vip->n++] = (uint8_t)i;
		}
	}
}

/* ---- stage 3: flow lookup ---- */

/*
 * One bulk lookup of the flows of the packets to a VIP (@vip), then a
 * prefetch of every entry found: dispatch reads and writes them, and the
 * entries of a large table are never cached. Packets that missed, of
 * services with affinity, go on to the affinity stage (@miss).
 */
static void
stage_flow_lookup(struct burst *b, struct pkt_ctx *ctx, const struct pkt_list *vip, struct pkt_list *miss)
{
	const struct lp_flow_shard *sh = b->w->flows;
	const void *keys[LP_BURST];
	hash_sig_t sig[LP_BURST];
	int32_t pos[LP_BURST];

	miss->n = 0;
	if (vip->n == 0)
		return;
	for (uint16_t k = 0; k < vip->n; k++)
		keys[k] = &ctx[vip->at[k]].m.key;
	lp_flow_lookup_bulk(sh, keys, vip->n, sig, pos);
	for (uint16_t k = 0; k < vip->n; k++) {
		struct pkt_ctx *c = &ctx[vip->at[k]];

		c->flow_sig = sig[k];
		c->flow_pos = pos[k];
		if (pos[k] >= 0)
			rte_prefetch0(&sh->e[pos[k]]);
		else if (c->svc->affinity)
			miss->at[miss->n++] = vip->at[k];
	}
}

/* ---- stage 4: affinity lookup ---- */

/*
 * The bindings of the clients of packets without a flow (@miss: services
 * with affinity), in one bulk lookup: a burst of new connections waits
 * for the affinity table once, not once per packet.
 */
static void
stage_aff_lookup(struct burst *b, struct pkt_ctx *ctx, const struct pkt_list *miss)
{
	const struct lp_aff_table *aff = b->dp->aff;
	const void *keys[LP_BURST];
	hash_sig_t sig[LP_BURST];
	int32_t pos[LP_BURST];

	if (miss->n == 0)
		return;
	for (uint16_t a = 0; a < miss->n; a++) {
		struct pkt_ctx *c = &ctx[miss->at[a]];
		const struct lp_svc *s = c->svc;
		const struct lp_flow_key *k = &c->m.key;

		lp_aff_key_make(&c->aff_key, s->id, k->family, k->src,
				k->family == LP_AF_INET ? s->prefix_v4 : s->prefix_v6);
		c->aff_sig = lp_aff_sig(aff, &c->aff_key);
		keys[a] = &c->aff_key;
		sig[a] = c->aff_sig;
	}
	lp_aff_lookup_bulk(aff, keys, sig, miss->n, pos);
	for (uint16_t a = 0; a < miss->n; a++) {
		ctx[miss->at[a]].aff_pos = pos[a];
		if (pos[a] >= 0)
			rte_prefetch0(&aff->e[pos[a]]);
	}
}

/* ---- stage 5: dispatch ---- */

/* Insert the packet's flow; its position, or negative when the shard is full. */
static int32_t
flow_insert(struct burst *b, const struct pkt_ctx *c)
{
	hash_sig_t sig = c->flow_sig;
	int32_t pos = lp_flow_insert_sig(b->w->flows, &c->m.key, sig);

	if (pos < 0) {
		b->st->c[LP_WC_flow_full]++;
		return pos;
	}
	b->inserted_bits[(sig >> 6) & 3] |= 1ull << (sig & 63);
	b->inserted_sig[b->inserted++] = sig;
	return pos;
}

/* Did this burst create a flow with signature @sig (after the bulk lookup ran)? */
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

/* Remember placement @p of the packet's flow @f of service @s. */
static inline void
flow_pin(struct lp_flow *f, const struct lp_svc *s, const struct pick *p)
{
	f->be_id = p->id;
	f->be_gen = s->be[p->id].gen;
	f->flags = p->flags;
	f->aff_pos = p->aff_pos;
	f->aff_serial = p->aff_serial;
}

/*
 * Place a packet to a VIP without a usable flow entry. A packet that may
 * open a connection (SYN, UDP) gets an entry: @pos is one to reuse (a new
 * connection over a closed one's 5-tuple) or -1 for a new one.
 */
static void
new_flow(struct burst *b, struct pkt_ctx *c, int32_t pos)
{
	struct lp_flow_shard *sh = b->w->flows;
	const struct lp_svc *s = c->svc;
	bool create = lp_flow_opens(c->m.key.proto, c->m.tcp_flags);
	struct lp_flow *f;
	struct pick p;

	if (create && pos < 0) {
		pos = flow_insert(b, c);
		create = pos >= 0;
	}
	if (!sched_place(b, c, s, &c->m.key, create, &p)) {
		if (pos >= 0)
			lp_flow_delete(sh, pos);
		drop(b, c->mb, LP_DROP_NO_BACKEND);
		return;
	}
	if (create) {
		f = &sh->e[pos];
		f->last_seen = b->now;
		f->svc_id = s->id;
		f->svc_gen = s->gen;
		f->aff_sec = (uint16_t)b->now_s;
		f->state = lp_flow_first_state(c->m.key.proto);
		flow_pin(f, s, &p);
		b->st->c[LP_WC_flow_new]++;
		b->st->svc[s->id].flows++;
		b->st->be[s->be[p.id].gslot].flows++;
	} else {
		b->st->c[LP_WC_flow_stateless]++;
	}
	fwd_to_backend(b, c->mb, &c->m, s, p.id);
}

/* The flow's backend is down or gone: this flow, and only this, moves.
 * false when no backend is left (the packet is dropped). */
static bool
flow_move(struct burst *b, struct pkt_ctx *c, struct lp_flow *f)
{
	struct pick p;

	lp_worker_flow_release(b->w, f);
	if (!sched_place(b, c, c->svc, &c->m.key, true, &p)) {
		lp_flow_delete(b->w->flows, c->flow_pos);
		drop(b, c->mb, LP_DROP_NO_BACKEND);
		return false;
	}
	flow_pin(f, c->svc, &p);
	b->st->c[LP_WC_flow_rechosen]++;
	return true;
}

/* The TCP state machine (lib/flow) on a client packet; counts completed handshakes. */
static inline void
tcp_advance(struct burst *b, const struct lp_svc *s, struct lp_flow *f, uint8_t tcp_flags)
{
	uint8_t next = lp_flow_tcp_next(f->state, tcp_flags);

	if (unlikely(next != f->state)) {
		if (next == LP_FLOW_EST)
			b->st->be[s->be[f->be_id].gslot].est++;
		f->state = next;
	}
}

/* Keep the client's binding alive while it has traffic, at most one
 * shared write per flow per second. */
static void
binding_refresh(struct burst *b, const struct lp_svc *s, struct lp_flow *f)
{
	struct lp_aff_entry *e = &b->dp->aff->e[f->aff_pos];
	uint64_t t = lp_aff_target(e);

	f->aff_sec = (uint16_t)b->now_s;
	if (lp_aff_serial(t) == f->aff_serial)
		worker_aff_touch(b->w, s, e, t, b->now_s);
}

/* A packet whose flow entry was found. false when the entry is stale (its
 * service changed): it is deleted and the packet placed afresh. */
static bool
flow_hit(struct burst *b, struct pkt_ctx *c)
{
	struct lp_flow_shard *sh = b->w->flows;
	struct lp_flow *f = &sh->e[c->flow_pos];
	const struct lp_svc *s = c->svc;
	uint8_t fl = c->m.tcp_flags;
	bool tcp = c->m.key.proto == IPPROTO_TCP;

	if (unlikely(f->state == LP_FLOW_FREE))
		return false;
	if (unlikely(f->svc_id != s->id || f->svc_gen != s->gen)) {
		lp_worker_flow_release(b->w, f);
		lp_flow_delete(sh, c->flow_pos);
		return false;
	}
	if (tcp && unlikely(lp_flow_tcp_reopens(sh, f, fl, b->now))) {
		lp_worker_flow_release(b->w, f);
		new_flow(b, c, c->flow_pos);
		return true;
	}
	if (unlikely(!lp_svc_backend_valid(s, f->be_id, f->be_gen)) && !flow_move(b, c, f))
		return true;
	if (tcp)
		tcp_advance(b, s, f, fl);
	/* A completed handshake (or a UDP flow's second datagram) confirms the
	 * client's provisional binding; one flag test once it did. */
	if (unlikely((f->flags & (LP_FLOW_F_AFF | LP_FLOW_F_AFF_OK)) == LP_FLOW_F_AFF) &&
	    (f->state == LP_FLOW_EST || f->state == LP_FLOW_UDP))
		sched_binding_confirm(b, s, f);
	f->last_seen = b->now;
	if ((f->flags & LP_FLOW_F_AFF) && f->aff_sec != (uint16_t)b->now_s)
		binding_refresh(b, s, f);
	b->st->c[LP_WC_flow_hit]++;
	fwd_to_backend(b, c->mb, &c->m, s, f->be_id);
	return true;
}

/* A TCP/UDP packet to a VIP: its flow, or a new one. */
static void
to_vip(struct burst *b, struct pkt_ctx *c)
{
	/* A SYN earlier in this burst may have created the flow this packet
	 * (its ACK, say) belongs to after the bulk lookup ran. */
	if (c->flow_pos < 0 && b->inserted > 0 && inserted_here(b, c->flow_sig))
		c->flow_pos = lp_flow_lookup_sig(b->w->flows, &c->m.key, c->flow_sig);
	if (c->flow_pos >= 0 && flow_hit(b, c))
		return;
	new_flow(b, c, -1);
}

/* A TCP/UDP packet to no VIP. Limpet's own address comes before reverse
 * NAT: health-check answers come from a backend's address and port too,
 * but are for limpet. */
static void
to_novip(struct burst *b, struct pkt_ctx *c)
{
	const struct lp_flow_key *k = &c->m.key;
	uint32_t v;

	if (lp_idx_lookup(b->ix, LP_IDX_OWN, k->dst, 0, 0) != LP_IDX_NONE) {
		worker_to_own(b, c->mb, &c->m);
		return;
	}
	v = lp_idx_lookup(b->ix, LP_IDX_REV, k->src, k->sport, k->proto);
	if (v != LP_IDX_NONE)
		reply_handle(b, c->mb, &c->m, v);
	else
		drop(b, c->mb, LP_DROP_NO_SERVICE);
}

/* Every packet, in arrival order, to where the stages before sent it. */
static void
stage_dispatch(struct burst *b, struct pkt_ctx *ctx, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++) {
		struct pkt_ctx *c = &ctx[i];

		switch (c->path) {
		case PATH_VIP:
			to_vip(b, c);
			break;
		case PATH_NOVIP:
			to_novip(b, c);
			break;
		case PATH_OTHER:
			special_handle(b, c->mb, &c->m);
			break;
		default:	/* PATH_DONE */
			break;
		}
	}
}

/* ---- the burst ---- */

static void
rx_burst(struct lp_worker *w, uint16_t port, struct rte_mbuf **pkts, uint16_t n, uint64_t now)
{
	struct pkt_ctx ctx[LP_BURST];
	struct pkt_list vip, miss;
	struct burst b;

	/* Field by field: inserted_sig[] is read only below `inserted`. */
	b.w = w;
	b.dp = w->dp;
	b.st = w->stats;
	b.ix = lp_svc_index_get(&w->dp->svcs);
	b.now = now;
	b.now_s = lp_dp_seconds(w->dp, now);
	b.inserted = 0;
	memset(b.inserted_bits, 0, sizeof(b.inserted_bits));

	stage_parse(&b, port, pkts, ctx, n);
	if (unlikely(b.ix == NULL)) {	/* not configured yet */
		for (uint16_t i = 0; i < n; i++)
			if (ctx[i].path != PATH_DONE)
				drop(&b, ctx[i].mb, LP_DROP_NO_SERVICE);
		return;
	}
	stage_classify(&b, ctx, n, &vip);
	stage_flow_lookup(&b, ctx, &vip, &miss);
	stage_aff_lookup(&b, ctx, &miss);
	stage_dispatch(&b, ctx, n);
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
