/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The worker: one per lcore, poll mode, run to completion.
 *
 *   burst → stage_parse → stage_classify → stage_flow_lookup → stage_aff_lookup → stage_dispatch
 *           (checksum)      (VIP index)      (bulk, prefetch)    (bulk, prefetch)   hit: forward
 *                                                                                   miss: place, insert
 *                                                                                   reply, own, special
 *
 * Each worker owns one RX and one TX queue on every port, its flow shard
 * and its counters. It shares, read-only or lock-free, the endpoint array,
 * the affinity table and the neighbor table (struct lp_dp). It reports an
 * RCU quiescent state once per loop pass, after its burst is done; nothing
 * it loaded during the burst is used after that point.
 */
#ifndef LP_WORKER_H
#define LP_WORKER_H

#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_spinlock.h>

#include "lp_affinity.h"
#include "lp_flow.h"
#include "lp_nbr.h"
#include "lp_stats.h"
#include "lp_svc.h"

struct lp_cluster;
struct rte_ring;
struct rte_rcu_qsbr;

#define LP_BURST 32u
#define LP_MAX_WORKERS 64u
#define LP_TX_BUF 64u		/**< packets buffered per port before a forced transmit */

/** A port as the data path sees it (fixed once workers run). */
struct lp_dp_port {
	char name[32];
	uint16_t port_id;	/**< DPDK port id */
	uint16_t n_rxq;		/**< queues 0..n_rxq-1 polled by workers 0..n_rxq-1 */
	uint16_t n_txq;
	uint16_t mtu;
	struct lp_mac mac;
	/** Set when the port has fewer TX queues than workers: workers then
	 * share queue (index % n_txq) under this lock, per burst. */
	bool tx_shared;
	/** The port has a kernel interface (ports[].kernelInterface): what
	 * limpet does not handle of the traffic to its own addresses goes
	 * there, through the workers' to_kernel rings. */
	bool kernel;
	/** Frames for other stations reach this port (net_af_packet sees the
	 * whole segment, promiscuous or not): workers drop unicast frames whose
	 * destination is not @ref mac (LP_DROP_OTHER_HOST), as the kernel does. */
	bool other_hosts;
	rte_spinlock_t txq_lock[LP_MAX_WORKERS];
};

/** Source ports of health-check probes (lib/ctl, LP_HEALTH_SPORT_BASE): TCP
 * to an own address and one of these ports stays with the control thread,
 * even on a port with a kernel interface. */
#define LP_PROBE_SPORT_BASE 40000u

struct lp_worker;

/** State shared by all workers and the control thread. */
struct lp_dp {
	struct lp_svc_table svcs;	/**< endpoint array (RCU) */
	struct lp_aff_table *aff;
	struct lp_nbr_table *nbr;
	struct lp_cluster *cluster;	/**< replicated bindings: where workers emit binding events; NULL: none */
	struct lp_routes routes;
	struct rte_rcu_qsbr *qsbr;
	uint32_t n_ports;
	struct lp_dp_port port[LP_MAX_PORTS];
	uint32_t n_workers;
	struct lp_worker *worker[LP_MAX_WORKERS];
	uint64_t hz;			/**< TSC frequency */
	uint64_t tsc0;			/**< TSC at limpet's second 0 */
	/** workers.poll: the bound of an idle worker's sleep step in
	 * microseconds, 0 for busy polling (workers.poll: busy). Live. */
	_Atomic uint32_t idle_sleep_us;
	_Atomic bool stop;
};

/** Limpet seconds (affinity clock) at TSC @p now. */
static inline uint32_t
lp_dp_seconds(const struct lp_dp *dp, uint64_t now)
{
	return (uint32_t)((now - dp->tsc0) / dp->hz);
}

/** Why a worker handed a packet to the control thread (mbuf hash.fdir.hi). */
enum lp_slow_reason {
	LP_SLOW_LOCAL = 1,	/**< for limpet itself: ARP, ND, echo, probe replies */
	LP_SLOW_RESOLVE,	/**< rewritten packet whose next hop is unresolved (fdir.lo: its neighbor position, or LP_NBR_NONE: route by destination) */
	LP_SLOW_TOO_BIG,	/**< needs an ICMP "too big" to its sender (fdir.lo: MTU) */
};

/** A request the control thread runs on a worker's own thread. */
struct lp_worker_req {
	void (*fn)(struct lp_worker *w, void *arg);
	void *arg;
	_Atomic bool done;
};

struct lp_tx_buf {
	uint16_t n;
	struct rte_mbuf *pkts[LP_TX_BUF];
};

struct lp_worker {
	struct lp_dp *dp;
	struct lp_flow_shard *flows;
	struct lp_stats *stats;
	uint32_t index;			/**< 0..n_workers-1, also the QSBR thread id */
	unsigned int lcore;
	uint32_t n_rxq;
	struct {
		uint16_t port_index;
		uint16_t port_id;
		uint16_t queue;
	} rxq[LP_MAX_PORTS];
	/** Where every queue this worker polls has a file descriptor that
	 * turns readable when packets arrive (net_af_packet's sockets), an idle
	 * sleep waits on them: n_wait == n_rxq; wait[n_wait] is wake_fd. */
	struct pollfd wait[LP_MAX_PORTS + 1];
	uint32_t n_wait;
	/** An eventfd the control thread writes when it gives a sleeping
	 * worker work (lp_worker_wake()), or -1. */
	int wake_fd;
	_Atomic bool asleep;		/**< in a wait lp_worker_wake() ends */
	uint16_t txq[LP_MAX_PORTS];	/**< this worker's TX queue on each port */
	struct rte_ring *to_ctl;	/**< slow path: packets for the control thread */
	struct rte_ring *from_ctl;	/**< packets the control thread wants sent (mbuf->port = port index) */
	struct rte_ring *to_kernel;	/**< exception path: packets for a kernel interface (NULL: none) */
	_Atomic(struct lp_worker_req *) req;
	_Atomic bool running;
	uint64_t passes;
	uint64_t idle_since;		/**< TSC of the last pass that had work (adaptive polling) */
	uint32_t sleep_us;		/**< current sleep step, 0 while busy */
	uint64_t age_last;		/**< TSC of the last aging step */
	uint64_t age_step_tsc;		/**< TSC between aging steps */
	uint64_t age_pos_tsc;		/**< TSC per flow position aged (lib/worker/loop.c) */
	uint32_t wrr_cursor[LP_MAX_SERVICES];
	struct lp_tx_buf tx[LP_MAX_PORTS];
};

/**
 * Process a burst received on port index @p port at TSC @p now: every
 * packet is queued for transmit, handed to the control thread, or freed
 * and counted as a drop. Call lp_worker_flush() to transmit.
 */
void lp_worker_rx(struct lp_worker *w, uint16_t port, struct rte_mbuf **pkts, uint16_t n, uint64_t now);

/** Transmit everything buffered. */
void lp_worker_flush(struct lp_worker *w);

/**
 * Periodic work between bursts: age @p scan flow positions, run a pending
 * control request.
 */
void lp_worker_housekeep(struct lp_worker *w, uint64_t now, uint32_t scan);

/**
 * Control thread, after it queued packets on @p w's from_ctl ring, posted a
 * request or set dp->stop: end the worker's sleep if it waits on its ports
 * (a syscall only then).
 */
void lp_worker_wake(struct lp_worker *w);

/** The lcore entry point: poll until dp->stop. @p arg is the struct lp_worker. */
int lp_worker_main(void *arg);

/**
 * Control thread: run @p fn(w, arg) on the worker's thread and wait for
 * it (or run it here when the worker is not running). Returns 0 or
 * -ETIMEDOUT after @p timeout_ms.
 */
int lp_worker_call(struct lp_worker *w, void (*fn)(struct lp_worker *, void *), void *arg,
		   unsigned int timeout_ms);

/** Release what a flow holds (binding reference, load count); used by aging and re-choice. */
void lp_worker_flow_release(struct lp_worker *w, const struct lp_flow *f);

#endif /* LP_WORKER_H */
