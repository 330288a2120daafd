/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The kernel exception path, worker side. A packet for one of limpet's own
 * addresses that limpet does not answer itself (ARP, ND, echo requests and
 * health-check replies stay with the control thread) goes to the kernel
 * interface of the port it came in on, through this worker's to_kernel
 * ring: BGP, BFD, SSH, whatever the kernel serves there. The control thread
 * writes the ring into the interface (lib/ctl/kernel.c). The ring is
 * bounded: a flood is dropped here, counted, and never reaches the control
 * thread's own ring, so ARP and health checking go on.
 *
 * Only packets already found to be for an own address come here; VIP
 * traffic never does, so a burst without exception traffic pays nothing.
 */
#include <netinet/in.h>

#include <rte_ring.h>

#include "worker_priv.h"

/* Packets limpet itself answers or consumes. */
static bool
limpets_own(const struct lp_pkt_meta *m)
{
	uint16_t dport;

	switch (m->cls) {
	case LP_PKT_ARP:
	case LP_PKT_ND:
		return true;
	case LP_PKT_ICMP:
		return m->icmp_type == (m->key.family == LP_AF_INET ? 8 : 128);	/* echo request */
	case LP_PKT_L4:
		if (m->key.proto != IPPROTO_TCP || m->frag != LP_FRAG_NONE)
			return false;
		dport = rte_be_to_cpu_16(m->key.dport);
		return dport >= LP_PROBE_SPORT_BASE && dport < LP_PROBE_SPORT_BASE + LP_STATS_BE_SLOTS;
	default:
		return false;
	}
}

static bool
has_kernel(const struct lp_dp *dp, uint16_t port_id)
{
	for (uint32_t i = 0; i < dp->n_ports; i++)
		if (dp->port[i].port_id == port_id)
			return dp->port[i].kernel;
	return false;
}

void
worker_to_own(struct burst *b, struct rte_mbuf *mb, const struct lp_pkt_meta *m)
{
	struct lp_worker *w = b->w;

	if (w->to_kernel == NULL || limpets_own(m) || !has_kernel(b->dp, mb->port)) {
		to_slowpath(b, mb);
		return;
	}
	if (rte_ring_sp_enqueue(w->to_kernel, mb) != 0) {
		drop(b, mb, LP_DROP_KERNEL_RING_FULL);
		return;
	}
	b->st->c[LP_WC_to_kernel]++;
}
