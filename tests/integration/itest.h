/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Integration-test harness: EAL without hugepages, ports made of rte_rings
 * (net_ring) that the test feeds and drains itself, packets injected on the
 * queue a NIC's RSS would pick (rte_softrss with limpet's symmetric key),
 * and a running limpet (lp_ctl + workers on oversubscribed lcores).
 */
#ifndef LP_ITEST_H
#define LP_ITEST_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "lp_config.h"
#include "lp_ctl.h"
#include "lp_pkt.h"

#define ITEST_MAX_Q 8

struct lp_test_suite;

/** A ring-backed port: the test writes rx[q], limpet transmits into tx[q]. */
struct itest_port {
	char name[32];
	uint16_t port_id;
	uint32_t nq;
	struct rte_ring *rx[ITEST_MAX_Q];
	struct rte_ring *tx[ITEST_MAX_Q];
	struct lp_mac mac;	/**< limpet's MAC on it (after start) */
};

/**
 * Initialise EAL once per process with @p workers worker lcores on the
 * machine's CPUs (oversubscribed when needed), no hugepages.
 */
int itest_eal_init(const char *prog, unsigned int workers);

/**
 * The same with its own --file-prefix, so the process has a runtime
 * directory (telemetry socket) no other test shares.
 */
int itest_eal_init_prefix(const char *prog, unsigned int workers, const char *file_prefix);

/**
 * A test program's main(): initialise EAL with @p workers worker lcores
 * (itest_eal_init()), then run @p suites (lp_test_run()). Returns the
 * process exit status.
 */
int itest_main(const char *prog, unsigned int workers, const struct lp_test_suite *suites);

/** Create a ring port with @p nq queue pairs; its DPDK device name is "net_ring_" + @p name. */
int itest_port_create(struct itest_port *p, const char *name, uint32_t nq);

/**
 * Open @p p's port again after limpet closed it (a stop, a failed
 * start-up): its net_ring device is made anew on the same rings.
 * @return 0 (also when it is still open) or -1.
 */
int itest_port_reopen(struct itest_port *p);

/** Parse YAML text into a config (asserting success). */
struct lp_config *itest_config(const char *yaml);

/** Create and start limpet over the ports named in @p yaml. */
struct lp_ctl *itest_start(const char *yaml);
/** Stop limpet and free it. */
void itest_stop(struct lp_ctl *c);

/** Queue RSS would pick for a frame on a port with @p nq queues. */
uint32_t itest_rss_queue(const uint8_t *frame, uint32_t len, uint32_t nq);

/** Inject one frame on the RSS queue of port @p p. Returns 0 or -ENOBUFS. */
int itest_inject(struct itest_port *p, const uint8_t *frame, uint32_t len);
/** Inject on a given queue. */
int itest_inject_q(struct itest_port *p, uint32_t q, const uint8_t *frame, uint32_t len);

/**
 * Collect frames limpet transmitted on @p p until @p want arrived or
 * @p timeout_ms passed (polling the control thread meanwhile). Frames are
 * copied to @p out (each up to 2048 bytes) when non-NULL. Returns the count.
 */
uint32_t itest_collect(struct lp_ctl *c, struct itest_port *p, uint32_t want, unsigned int timeout_ms,
		       uint8_t (*out)[2048], uint32_t *lens);

/** Drop whatever is waiting in @p p's tx rings. */
void itest_drain(struct itest_port *p);

/** Run the control loop for @p ms milliseconds. */
void itest_poll(struct lp_ctl *c, unsigned int ms);

/**
 * Assert that each worker's counters add up as lp_stats.h promises,
 * rx_pkts + injected = tx_pkts + drops + slowpath + to_kernel, printing each worker's.
 */
void itest_assert_workers_balance(struct lp_ctl *c);

/** The test mbuf pool (for leak checks: rte_mempool_avail_count). */
struct rte_mempool *itest_pool(void);

/**
 * Write client @p i's address to @p buf: 172.@p net.(i / 200).(i % 200 + 1),
 * 200 clients to a /24, so that itest_client_index() can number them back.
 */
void itest_client_ip(char *buf, size_t len, unsigned int net, unsigned int i);

/** The number i of the client whose IPv4 address (network order) is @p a. */
unsigned int itest_client_index(const uint8_t *a);

/** Build a TCP/UDP frame from a client to a destination (host-order ports). */
int itest_frame(uint8_t *buf, size_t cap, const struct lp_mac *dst_mac, const char *src, uint16_t sport,
		const char *dst, uint16_t dport, uint8_t proto, uint8_t tcp_flags);

#endif /* LP_ITEST_H */
