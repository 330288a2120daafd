/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Worker internals shared by the files of lib/worker.
 *
 * Who owns what; calls only go down this list, never up:
 *   loop.c      the poll loop, housekeeping, requests from the control thread
 *   pipeline.c  a burst, stage by stage: parse → classify → flow lookup →
 *               affinity lookup → dispatch; flow hits and new flows
 *   special.c   what is not unfragmented TCP/UDP: fragments, ICMP errors,
 *               ARP, ND, echo
 *   reply.c     NAT replies: which service a backend's packet answers
 *   exception.c packets for an own address: limpet's, or the kernel
 *               interface's (kernelInterface)
 *   sched.c     placing new flows and clients (affinity bindings, the
 *               scheduler of lib/svc) and giving back what a flow held
 *   fwd.c       forwarding: rewrite, encapsulation, next hop, transmit
 *               buffers
 * The inline helpers below (drop, slow path, transmit buffer) are leaves.
 */
#ifndef LP_WORKER_PRIV_H
#define LP_WORKER_PRIV_H

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "lp_worker.h"

/* Seeds of the deterministic hashes that feed Maglev: every limpet instance
 * uses the same ones, so instances agree on new flows and new clients. */
#define FLOW_SEED 0x6c696d70u

/* What the burst's stages decided a packet is (pkt_ctx.path). */
enum pkt_path {
	PATH_DONE = 0,		/* dropped by the parse stage: nothing left to do */
	PATH_OTHER,		/* not unfragmented TCP/UDP: special.c */
	PATH_NOVIP,		/* TCP/UDP to no VIP: limpet itself, a NAT reply, or a drop */
	PATH_VIP,		/* TCP/UDP to a VIP: the flow table, then placement */
};

/* pkt_ctx.aff_pos of a packet whose binding was not looked up in bulk. */
#define AFF_NOT_LOOKED_UP INT32_MIN

/*
 * What the stages of a burst found out about one packet. Each stage fills
 * its own fields and reads those of the stages before it:
 *   parse     mb, m, path (PATH_DONE, PATH_OTHER or PATH_NOVIP)
 *   classify  svc; path PATH_VIP when the destination is a VIP
 *   flow      flow_sig, flow_pos (PATH_VIP)
 *   affinity  aff_key, aff_sig, aff_pos (PATH_VIP without a flow, service
 *             with affinity; AFF_NOT_LOOKED_UP otherwise)
 */
struct pkt_ctx {
	struct rte_mbuf *mb;
	uint8_t path;			/* enum pkt_path */
	struct lp_pkt_meta m;
	const struct lp_svc *svc;	/* the VIP's service snapshot */
	hash_sig_t flow_sig;
	int32_t flow_pos;		/* flow entry position; negative when none */
	hash_sig_t aff_sig;
	int32_t aff_pos;		/* binding position; negative when none */
	struct lp_aff_key aff_key;
};

/* What one burst shares: loaded once, used for every packet. */
struct burst {
	struct lp_worker *w;
	struct lp_dp *dp;
	struct lp_stats *st;
	const struct lp_svc_index *ix;
	uint64_t now;
	uint32_t now_s;
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

/* ---- leaves: drop, slow path, transmit buffer ---- */

static inline void
drop(struct burst *b, struct rte_mbuf *mb, enum lp_drop why)
{
	b->st->drop[why]++;
	rte_pktmbuf_free(mb);
}

void worker_tx_flush_port(struct lp_worker *w, uint16_t port);

static inline void
tx_enqueue(struct lp_worker *w, uint16_t port, struct rte_mbuf *mb)
{
	struct lp_tx_buf *t = &w->tx[port];

	t->pkts[t->n++] = mb;
	if (unlikely(t->n == LP_TX_BUF))
		worker_tx_flush_port(w, port);
}

/* Hand a packet to the control thread, saying why in the mbuf's hash.fdir
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

/* ---- fwd.c: forwarding ---- */

/* Rewrite a client's packet for backend @id of @s (by its mode) and queue it. */
void fwd_to_backend(struct burst *b, struct rte_mbuf *mb, struct lp_pkt_meta *m, const struct lp_svc *s,
		    uint16_t id);
/* An ICMP error about a flow of NAT service @s, to its backend @id (lp_pkt_icmp_error_dnat()). */
void fwd_icmp_error(struct burst *b, struct rte_mbuf *mb, struct lp_pkt_meta *m, const struct lp_svc *s,
		    uint16_t id);
/* A NAT backend's reply: source back to @s's VIP:port, then to the client. */
void fwd_reply(struct burst *b, struct rte_mbuf *mb, struct lp_pkt_meta *m, const struct lp_svc *s);

/* ---- sched.c: placement ---- */

/*
 * A backend of @s for a packet without a usable flow entry. @key: the
 * flow key to hash (L3-only for fragments); its source is the client.
 * @c: the packet's context when its binding may have been looked up in
 * bulk (NULL otherwise). @create: a flow entry will hold the choice.
 */
bool sched_place(struct burst *b, struct pkt_ctx *c, const struct lp_svc *s, const struct lp_flow_key *key,
		 bool create, struct pick *p);
/* Flow @f showed its client is real (TCP handshake completed, or a second
 * UDP datagram): confirm the provisional binding it pinned, once per flow. */
void sched_binding_confirm(struct burst *b, const struct lp_svc *s, struct lp_flow *f);

/* ---- reply.c: NAT replies ---- */

/* A reply from a NAT backend; @v: the classification index's value for its source. */
void reply_handle(struct burst *b, struct rte_mbuf *mb, struct lp_pkt_meta *m, uint32_t v);

/* ---- exception.c ---- */

/* A packet for an own address: the control thread, or the port's kernel
 * interface when it has one and limpet does not handle the packet itself. */
void worker_to_own(struct burst *b, struct rte_mbuf *mb, const struct lp_pkt_meta *m);

/* ---- special.c ---- */

/* Everything that is not unfragmented TCP/UDP. */
void special_handle(struct burst *b, struct rte_mbuf *mb, struct lp_pkt_meta *m);

#endif /* LP_WORKER_PRIV_H */
