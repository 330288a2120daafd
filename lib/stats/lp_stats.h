/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Counters. Each worker (and the control thread) owns one struct
 * lp_stats, written by that thread alone with plain stores, on cache lines
 * no other writer touches; readers sum all blocks. No atomics: a reader may
 * see a counter one increment old, never a torn or lost one (64-bit aligned
 * stores are single instructions on the platforms DPDK supports).
 *
 * Invariant, per worker, once its transmit buffers are flushed:
 *   rx_pkts + injected = tx_pkts + sum(drop[]) + slowpath + to_kernel
 * Every received packet is transmitted, dropped for exactly one reason,
 * handed to the control thread, or passed to its port's kernel interface
 * (to_kernel, 0 without kernelInterface); `injected` counts packets the control
 * thread gave the worker to send (ARP replies, probes). test_counters
 * checks it after mixed traffic.
 */
#ifndef LP_STATS_H
#define LP_STATS_H

#include <stdint.h>

#include "lp_affinity.h"
#include "lp_drop.h"
#include "lp_nbr.h"
#include "lp_svc.h"

/** Worker-wide counters: X(name, help). */
#define LP_WORKER_COUNTERS(X) \
	X(rx_pkts,          "packets received") \
	X(rx_bytes,         "bytes received") \
	X(tx_pkts,          "packets transmitted") \
	X(tx_bytes,         "bytes transmitted") \
	X(injected,         "packets the control thread asked this worker to transmit") \
	X(slowpath,         "packets handed to the control thread (ARP, ND, ICMP echo, probe replies, next hop unresolved, too big)") \
	X(flow_hit,         "packets that matched a flow entry") \
	X(flow_new,         "flow entries created") \
	X(flow_expired,     "flow entries removed by aging") \
	X(flow_full,        "new flows forwarded without an entry because the shard was full") \
	X(flow_stateless,   "packets forwarded without a flow entry (mid-stream TCP, fragments, full shard)") \
	X(flow_rechosen,    "flows whose backend was down or removed, moved to another backend") \
	X(nat_reply,        "NAT replies translated back to the VIP") \
	X(nat_reply_shared, "NAT replies from a backend shared by several services (searched all shards)") \
	X(aff_hit,          "new flows that found their client's binding") \
	X(aff_full,         "bindings not created because the affinity table was full") \
	X(icmp_steered,     "ICMP errors about a flow sent to that flow's backend") \
	X(loop_passes,      "poll loop passes") \
	X(busy_cycles,      "TSC cycles spent on passes that received packets") \
	X(idle_cycles,      "TSC cycles spent on passes that received nothing") \
	X(idle_sleeps,      "sleeps of an idle worker (workers.poll: adaptive)") \
	X(idle_wakes,       "sleeps a packet ended before their step was over (net_af_packet ports)") \
	X(ctl_wakes,        "sleeps the control thread ended (packets to send, a request, stop; net_af_packet ports)") \
	X(sleep_cycles,     "TSC cycles idle workers spent asleep") \
	X(to_kernel,        "packets for limpet's own addresses passed to the kernel interface (exception path)") \
	X(from_kernel,      "packets the kernel sent on a kernel interface, passed to the port") \
	X(kernel_recreated, "kernel interfaces made again after they were deleted or renamed behind limpet's back (control thread)") \
	X(kernel_recreate_fail, "tries to make a deleted kernel interface again that failed, retried with backoff (control thread)")

enum lp_wc {
#define LP_WC_ENUM(name, help) LP_WC_##name,
	LP_WORKER_COUNTERS(LP_WC_ENUM)
#undef LP_WC_ENUM
	LP_WC_MAX
};

/*
 * The other counter families, one X-macro list each: X(member, key, help).
 * member names the field in the worker's block (what the data path writes,
 * `st->svc[id].pkts++`) and in the view lib/ctl sums it into (struct
 * lp_port_view, lp_service_view, lp_backend_view); key is its name in
 * `show stats`, telemetry and Prometheus (limpet_<family>_<key>_total);
 * help is its Prometheus HELP text. Adding a counter is one line here: the
 * fields, the summing (lib/ctl/views.c), `show stats`, telemetry and
 * Prometheus (lib/export/fields.c) follow, and the documentation check
 * (tests/integration/test_export.c) fails until docs/observability.md
 * describes it.
 */

/** Per-port counters of one worker. */
#define LP_PORT_COUNTERS(X) \
	X(rx_pkts,  rx_packets, "packets the workers received on the port") \
	X(rx_bytes, rx_bytes,   "bytes the workers received on the port (frames without FCS)") \
	X(tx_pkts,  tx_packets, "packets the device accepted for transmission from the workers") \
	X(tx_bytes, tx_bytes,   "bytes the device accepted for transmission from the workers")

/**
 * A port's own counters, as the device keeps them: member names the field
 * of struct rte_eth_stats; the view holds it as hw_<member>.
 */
#define LP_PORT_DEVICE_COUNTERS(X) \
	X(ipackets,  device_rx_packets, "packets received, as the device counts them") \
	X(opackets,  device_tx_packets, "packets transmitted, as the device counts them") \
	X(ibytes,    device_rx_bytes,   "bytes received, as the device counts them") \
	X(obytes,    device_tx_bytes,   "bytes transmitted, as the device counts them") \
	X(imissed,   device_rx_missed,  "packets the device dropped because a receive queue was full (workers behind)") \
	X(ierrors,   device_rx_errors,  "erroneous packets the device received") \
	X(oerrors,   device_tx_errors,  "packets the device failed to transmit") \
	X(rx_nombuf, device_rx_nombuf,  "receive failures for want of an mbuf")

/** Per-service counters (bindings by reason: aff[], from LP_AFF_REASONS). */
#define LP_SVC_COUNTERS(X) \
	X(pkts,    packets,     "client packets forwarded to the service's backends") \
	X(bytes,   bytes,       "bytes of client packets forwarded to the service's backends") \
	X(flows,   flows,       "flow entries created for the service") \
	X(replies, nat_replies, "backend replies translated back to the VIP (nat)")

/** Per-backend counters, indexed by the backend's global slot. */
#define LP_BE_COUNTERS(X) \
	X(pkts,     packets,            "client packets forwarded to the backend") \
	X(bytes,    bytes,              "bytes of client packets forwarded to the backend") \
	X(flows,    flows,              "flow entries created for the backend") \
	X(est,      handshakes,         "client TCP handshakes that completed (SYN state to established)") \
	X(syn_fail, handshake_failures, "client TCP handshakes that never completed (flow aged in SYN state)")

/** One field of a counter list: `uint64_t member;`. */
#define LP_COUNTER_FIELD(member, key, help) uint64_t member;

/** Per-port counters of one worker. */
struct lp_port_stats {
	LP_PORT_COUNTERS(LP_COUNTER_FIELD)
};

/** Per-service counters of one worker. */
struct lp_svc_stats {
	LP_SVC_COUNTERS(LP_COUNTER_FIELD)
	uint64_t aff[LP_AFF_REASON_MAX];	/**< bindings created/moved/removed by reason */
};

/** Per-backend counters of one worker, indexed by the backend's global slot. */
struct lp_be_stats {
	LP_BE_COUNTERS(LP_COUNTER_FIELD)
};

/** Global per-backend counter slots (smaller than LP_MAX_BACKEND_SLOTS would waste memory). */
#define LP_STATS_BE_SLOTS 16384u

/** One thread's counters. */
struct lp_stats {
	uint64_t c[LP_WC_MAX];
	uint64_t drop[LP_DROP_MAX];
	struct lp_port_stats port[LP_MAX_PORTS];
	struct lp_svc_stats svc[LP_MAX_SERVICES];
	struct lp_be_stats be[LP_STATS_BE_SLOTS];
} __attribute__((aligned(64)));

/** Name and help of a worker counter. */
const char *lp_wc_name(enum lp_wc c);
const char *lp_wc_help(enum lp_wc c);

/** Sum of drops over all reasons. */
uint64_t lp_stats_drops(const struct lp_stats *s);

/** out = sum of the @p n blocks (out may not be one of them). */
void lp_stats_sum(struct lp_stats *out, struct lp_stats *const *blocks, unsigned int n);

#endif /* LP_STATS_H */
