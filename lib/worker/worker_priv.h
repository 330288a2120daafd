/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Worker internals shared by the files of lib/worker: the per-burst
 * context, the small helpers every path uses (inline), and the functions
 * one file calls in another. worker.c holds the hot path, sched.c the
 * placement of new flows and clients, special.c fragments and ICMP
 * errors, loop.c the poll loop and housekeeping.
 */
#ifndef LP_WORKER_PRIV_H
#define LP_WORKER_PRIV_H

#include <rte_mbuf.h>
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
	/* Signatures of the flows this burst created: a later packet that
	 * missed in the bulk lookup and has one of them looks again. */
	uint32_t inserted;
	uint64_t inserted_bits[4];	/* sig & 255: a quick "certainly not" */
	hash_sig_t inserted_sig[LP_BURST];
};

/* A backend choice and what the flow entry must remember of it. */
struct pick {
	uint16_t id;
	uint8_t flags;		/* LP_FLOW_F_* */
	uint32_t aff_pos;
	uint32_t aff_serial;
};

void worker_tx_flush_port(struct lp_worker *w, uint16_t port);

static inline void
drop(struct burst *b, struct rte_mbuf *mb, enum lp_drop why)
{
	b->st->drop[why]++;
	rte_pktmbuf_free(mb);
}

static inline void
tx_enqueue(struct lp_worker *w, uint16_t port, struct rte_mbuf *mb)
{
	struct lp_tx_buf *t = &w->tx[port];

	t->pkts[t->n++] = mb;
	if (unlikely(t->n == LP_TX_BUF))
		worker_tx_flush_port(w, port);
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

/* sched.c: a backend for a packet without a usable flow entry. @key: the
 * flow key to hash (L3-only for fragments). @create: a flow entry will
 * hold it. */
bool worker_pick_backend(struct burst *b, const struct lp_svc *s, const struct lp_pkt_meta *m,
			 const struct lp_flow_key *key, bool create, struct pick *p);

/* worker.c: rewrite a client's packet for backend @id of @s and queue it. */
void worker_to_backend(struct burst *b, struct rte_mbuf *mb, struct lp_pkt_meta *m, const struct lp_svc *s,
		       uint16_t id);
/* worker.c: a reply from a NAT backend (@v: the index's value for it). */
void worker_handle_reply(struct burst *b, struct rte_mbuf *mb, struct lp_pkt_meta *m, uint32_t v);

/* special.c: everything that is not unfragmented TCP/UDP. */
void worker_handle_other(struct burst *b, struct rte_mbuf *mb, struct lp_pkt_meta *m);

#endif /* LP_WORKER_PRIV_H */
