/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Health checks, run by the control thread over the data ports: probes
 * leave and return through DPDK exactly as client traffic does, so a check
 * tests the path the traffic takes (an appliance's kernel often has no
 * route to the backends at all).
 *
 * tcp: SYN → SYN-ACK is healthy, RST or silence is not; limpet then resets
 * the half-open connection. http: after the handshake limpet sends one GET
 * and reads the status line of the first data segment (2xx/3xx healthy).
 * `rise` consecutive successes mark a backend up (with slow start), `fall`
 * consecutive failures mark it down. Passive signal: when connections of
 * clients to a backend never complete their handshake (answered with RST
 * or not at all) and none completes, the next probe is brought forward;
 * only probes give verdicts (abandoned handshakes are easy to forge).
 */
#ifndef LP_HEALTH_H
#define LP_HEALTH_H

#include <stdint.h>

#include <rte_mbuf.h>

#include "lp_pkt.h"

struct lp_ctl;

/**
 * Source ports of probes: the range [LP_HEALTH_SPORT_BASE,
 * LP_HEALTH_SPORT_BASE + LP_STATS_BE_SLOTS), one port per backend counter
 * slot: LP_HEALTH_SPORT_BASE + (slot + offset) % LP_STATS_BE_SLOTS, with an
 * offset drawn at random each time limpet starts. A restarted limpet thus
 * does not send its first probes on the 4-tuples of the connections the
 * previous process may have left open at the backends.
 */
#define LP_HEALTH_SPORT_BASE 40000u

/** Draw this start's probe source-port offset (lp_ctl_create()). */
void lp_health_init(struct lp_ctl *c);

/** The source port of the probes of the backend in counter slot @p gslot. */
uint16_t lp_health_sport(const struct lp_ctl *c, uint32_t gslot);

/**
 * A packet addressed to limpet itself: consume it when it answers a probe.
 * @return 0 when consumed (the mbuf is freed), -ENOENT when it is not a
 *   probe reply (the caller still owns it).
 */
int lp_health_input(struct lp_ctl *c, struct rte_mbuf *m, const struct lp_pkt_meta *meta, uint64_t now);

/** Send due probes (and early ones on a passive signal), time out unanswered ones. */
void lp_health_tick(struct lp_ctl *c, uint64_t now);

/** Before the workers stop: reset the probes in flight (their connections
 * would otherwise linger at the backends and meet the next run's probes). */
void lp_health_abort(struct lp_ctl *c);

#endif /* LP_HEALTH_H */
