/* SPDX-License-Identifier: BSD-3-Clause */
/* The worker's burst processing and poll loop. */
#include <errno.h>
#include <netinet/in.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_pause.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "lp_config.h"
#include "lp_worker.h"

/* Seeds of the deterministic hashes that feed Maglev: every limpet instance
 * uses the same ones, so instances agree on new flows and new clients. */
#define FLOW_SEED 0x6c696d70u

/* Per-burst context: loaded once, used for every packet of the burst. */
struct burst {
	struct lp_worker *w;
	struct lp_dp *dp;
	struct lp_stats *st;
	struct lp_svc_index *ix;
	uint64_t now;
	uint32_t now_s;
	hash_sig_t sig;		/* flow-table signature of the packet in hand (unfragmented L4) */
	/* What pass 1.5 found for the packet in hand when it missed the flow
	 * table: its VIP's service, and for a service with affinity, its
	 * client's binding (key, signature, position or negative). */
	bool vip_known;
	const struct lp_svc *vip_svc;
	const struct lp_svc *aff_svc;	/* service the affinity fields are for, or NULL */
	const struct lp_aff_key *aff_key;
	hash_sig_t aff_sig;
	int32_t aff_pos;
	uint32_t inserted;	/* flows this burst created: later misses look again */
};

/* A backend choice and what the flow entry must remember of it. */
struct pick {
	uint16_t id;
	uint8_t flags;		/* LP_FLOW_F_* */
	uint32_t aff_pos;
	uint32_t aff_serial;
};

static inline void
drop(struct burst *b, struct rte_mbuf *mb, enum lp_drop why)
{
	b->st->drop[why]++;
	rte_pktmbuf_free(mb);
}

static void
tx_port_flush(struct lp_worker *w, uint16_t port)
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

static inline void
tx_enqueue(struct lp_worker *w, uint16_t port, struct rte_mbuf *mb)
{
	struct lp_tx_buf *t = &w->tx[port];

	t->pkts[t->n++] = mb;
	if (unlikely(t->n == LP_TX_BUF))
		tx_port_flush(w, port);
}

void
lp_worker_flush(struct lp_worker *w)
{
	for (uint16_t p = 0; p < w->dp->n_ports; p++)
		tx_port_flush(w, p);
}

/* Hand a packet to the control thread, saying why in the mbuf's hash.usr
 * (the RSS hash is of no use to it). */
static inline void
to_slowpath_why(struct burst *b, struct rte_mbuf *mb, uint32_t why, uint32_t arg)
{
	mb->hash.fdir.hi = why;
	mb->hash.fdir.lo = arg;
	if (rte_ring_sp_enqueue(b->w->to_ctl, mb) != 0) {
		drop(b, mb, LP_DROP_SLOWPATH_FULL);
		return;
	}
	b->st->c[LP_WC_slowpath]++;
}

static inline void
to_slowpath(struct burst *b, struct rte_mbuf *mb)
{
	to_slowpath_why(b, mb, LP_SLOW_LOCAL, 0);
}

/* ---- load accounting (bounded load, least_conn) ---- */

static inline void
load_inc(struct lp_svc_load *l, uint16_t id)
{
	atomic_fetch_add_explicit(&l->active[id], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&l->total, 1, memory_order_relaxed);
}

/* Never below zero: the control thread zeroes the count of a removed
 * backend, and a late decrement for it must not wrap. */
static inline void
load_dec(struct lp_svc_load *l, uint16_t id)
{
	uint32_t v = atomic_load_explicit(&l->active[id], memory_order_relaxed);

	while (v > 0)
		if (atomic_compare_exchange_weak_explicit(&l->active[id], &v, v - 1, memory_order_relaxed,
							  memory_order_relaxed)) {
			atomic_fetch_sub_explicit(&l->total, 1, memory_order_relaxed);
			return;
		}
}

/* Is (id, gen) still the backend the snapshot has under that id? Load
 * counted for it may be given back; a removed backend's was discarded. */
static inline bool
same_backend(const struct lp_svc *s, uint16_t id, uint16_t gen)
{
	return id < s->n_ids && s->be[id].gen == gen && s->be[id].state != LP_BE_ABSENT;
}

/* ---- schedulers ---- */

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
static bool
pick_backend(struct burst *b, const struct lp_svc *s, const struct lp_pkt_meta *m,
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
static void
to_backend(struct burst *b, struct rte_mbuf *mb, struct lp_pkt_meta *m, const struct lp_svc *s, uint16_t id)
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
	if (unlikely(s->mode == LP_FWD_TUNNEL && m->l3_len + LP_ENCAP_LEN(be->family) > out->mtu)) {
		/* Path MTU discovery: the client learns the tunnel's smaller
		 * MTU from an ICMP error the control thread builds. A packet
		 * that may be fragmented (IPv4 without DF) is too, but limpet
		 * does not fragment: it drops it. */
		if (m->key.family == LP_AF_INET6 || (m->flags & LP_PKT_F_DF))
			to_slowpath_why(b, mb, LP_SLOW_TOO_BIG, out->mtu - LP_ENCAP_LEN(be->family));
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
to_client(struct burst *b, struct rte_mbuf *mb, const struct lp_pkt_meta *m)
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

static void
handle_reply(struct burst *b, struct rte_mbuf *mb, struct lp_pkt_meta *m, uint32_t v)
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
	to_client(b, mb, m);
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
		b->inserted += pos >= 0;
		if (pos < 0) {
			b->st->c[LP_WC_flow_full]++;
			create = false;
		}
	}
	if (!pick_backend(b, s, m, &m->key, create, &p)) {
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
	to_backend(b, mb, m, s, p.id);
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
		if (!pick_backend(b, s, m, &m->key, true, &p)) {
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
	to_backend(b, mb, m, s, f->be_id);
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
		handle_reply(b, mb, m, v);
		return;
	}
	drop(b, mb, LP_DROP_NO_SERVICE);
}

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
		if (!pick_backend(b, s, m, &l3, false, &p)) {
			drop(b, mb, LP_DROP_NO_BACKEND);
			return;
		}
		b->st->c[LP_WC_flow_stateless]++;
		to_backend(b, mb, m, s, p.id);
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
		handle_reply(b, mb, m, v);
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
		if (!pick_backend(b, s, &client, &fwd, false, &p)) {
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
	to_backend(b, mb, m, s, id);
}

/* Everything that is not unfragmented TCP/UDP. */
static void
handle_other(struct burst *b, struct rte_mbuf *mb, struct lp_pkt_meta *m)
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
			handle_other(&b, mb, &meta[i]);
			continue;
		}
		b.sig = sigs[k];
		/* A SYN earlier in this burst may have created the flow this
		 * packet (its ACK, say) belongs to after the bulk lookup ran. */
		if (pos[k] < 0 && b.inserted > 0)
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

struct expired_batch {
	struct lp_flow f[32];
};

void
lp_worker_housekeep(struct lp_worker *w, uint64_t now, uint32_t scan)
{
	struct lp_worker_req *req;
	struct expired_batch x;
	uint32_t n;

	n = lp_flow_age(w->flows, now, scan, x.f, 32);
	for (uint32_t i = 0; i < n; i++) {
		const struct lp_flow *f = &x.f[i];

		lp_worker_flow_release(w, f);
		if (f->state == LP_FLOW_SYN) {
			/* A handshake that never completed: a passive health signal. */
			const struct lp_svc *s = lp_svc_get(&w->dp->svcs, f->svc_id);

			if (s != NULL && s->gen == f->svc_gen && f->be_id < s->n_ids &&
			    s->be[f->be_id].gen == f->be_gen)
				w->stats->be[s->be[f->be_id].gslot].syn_fail++;
		}
	}
	w->stats->c[LP_WC_flow_expired] += n;
	if (atomic_load_explicit(&w->req, memory_order_relaxed) != NULL) {
		/* Taking it with an exchange tells the caller we own it now. */
		req = atomic_exchange_explicit(&w->req, NULL, memory_order_acq_rel);
		if (req != NULL) {
			req->fn(w, req->arg);
			atomic_store_explicit(&req->done, true, memory_order_release);
		}
	}
}

/* Packets the control thread asked this worker to send (ARP replies,
 * probes, held packets). */
static void
drain_injected(struct lp_worker *w)
{
	struct rte_mbuf *pkts[LP_BURST];
	unsigned int n = rte_ring_sc_dequeue_burst(w->from_ctl, (void **)pkts, LP_BURST, NULL);

	for (unsigned int i = 0; i < n; i++) {
		uint16_t port = pkts[i]->port;

		w->stats->c[LP_WC_injected]++;
		if (port >= w->dp->n_ports) {
			w->stats->drop[LP_DROP_NO_ROUTE]++;
			rte_pktmbuf_free(pkts[i]);
			continue;
		}
		tx_enqueue(w, port, pkts[i]);
	}
}

int
lp_worker_main(void *arg)
{
	struct lp_worker *w = arg;
	struct lp_dp *dp = w->dp;
	struct rte_mbuf *pkts[LP_BURST];

	rte_rcu_qsbr_thread_online(dp->qsbr, w->index);
	atomic_store_explicit(&w->running, true, memory_order_release);
	while (!atomic_load_explicit(&dp->stop, memory_order_relaxed)) {
		uint64_t t0 = rte_rdtsc();
		uint32_t got = 0;

		for (uint32_t q = 0; q < w->n_rxq; q++) {
			uint16_t n = rte_eth_rx_burst(w->rxq[q].port_id, w->rxq[q].queue, pkts, LP_BURST);

			if (n > 0) {
				lp_worker_rx(w, w->rxq[q].port_index, pkts, n, t0);
				got += n;
			}
		}
		if (w->from_ctl != NULL && !rte_ring_empty(w->from_ctl))
			drain_injected(w);
		lp_worker_flush(w);
		/* Nothing loaded during the burst is used past this point. */
		rte_rcu_qsbr_quiescent(dp->qsbr, w->index);
		w->passes++;
		w->stats->c[LP_WC_loop_passes]++;
		/* Aging: a little every 16 busy passes, more when idle. */
		if (got == 0)
			lp_worker_housekeep(w, t0, 256);
		else if ((w->passes & 15) == 0)
			lp_worker_housekeep(w, t0, 64);
		if (got > 0)
			w->stats->c[LP_WC_busy_cycles] += rte_rdtsc() - t0;
		else
			w->stats->c[LP_WC_idle_cycles] += rte_rdtsc() - t0;
	}
	lp_worker_flush(w);
	atomic_store_explicit(&w->running, false, memory_order_release);
	rte_rcu_qsbr_thread_offline(dp->qsbr, w->index);
	return 0;
}

int
lp_worker_call(struct lp_worker *w, void (*fn)(struct lp_worker *, void *), void *arg,
	       unsigned int timeout_ms)
{
	struct lp_worker_req req = { .fn = fn, .arg = arg };
	struct lp_worker_req *expected;
	uint64_t deadline;

	if (!atomic_load_explicit(&w->running, memory_order_acquire)) {
		fn(w, arg);
		return 0;
	}
	atomic_store_explicit(&w->req, &req, memory_order_release);
	deadline = rte_get_tsc_cycles() + (uint64_t)timeout_ms * rte_get_tsc_hz() / 1000;
	for (;;) {
		if (atomic_load_explicit(&req.done, memory_order_acquire))
			return 0;
		if (!atomic_load_explicit(&w->running, memory_order_acquire) ||
		    rte_get_tsc_cycles() > deadline) {
			/* Withdraw it if the worker has not taken it yet; once
			 * taken, it finishes promptly and we wait for that. */
			expected = &req;
			if (atomic_compare_exchange_strong(&w->req, &expected, NULL)) {
				if (atomic_load_explicit(&w->running, memory_order_acquire))
					return -ETIMEDOUT;
				fn(w, arg);
				return 0;
			}
		}
		rte_pause();
	}
}
