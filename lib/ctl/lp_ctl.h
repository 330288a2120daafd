/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The control thread: owns the model (services, backends, their states),
 * sets up ports and workers, publishes snapshots, and does everything that
 * is not per packet: affinity expiry, drain completion, slow start, the
 * slow path (ARP/ND, ICMP echo), neighbor resolution, health checks.
 *
 * Every change, from the CLI, a reload or a health check, goes through
 * the same path: update the model, build a new snapshot, publish it with
 * one release store, retire the old one after a grace period. Workers
 * never stop and never drop a packet because of a change.
 *
 * Not thread safe: one control thread calls all of this.
 */
#ifndef LP_CTL_H
#define LP_CTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lp_config.h"
#include "lp_stats.h"
#include "lp_worker.h"

struct lp_ctl;

/** Options that are not part of the YAML config. */
struct lp_ctl_opts {
	uint32_t max_workers;	/**< 0: one worker per EAL worker lcore */
	uint32_t ring_size;	/**< rx/tx descriptors per queue, 0: 1024 */
	/** A reload whose snapshots (Maglev tables) take longer than this to
	 * build, in microseconds (estimated from their sizes), is built on a
	 * helper thread while the control thread goes on; 0: 20000. */
	uint32_t inline_build_us;
};

/**
 * Set up everything from a validated config: mbuf pool, ports (matched to
 * DPDK ports by device name), RSS, queues, tables, workers (not started),
 * and the initial snapshots. EAL must be initialised.
 * @return the control state, or NULL with one line per problem in @p diag.
 */
struct lp_ctl *lp_ctl_create(const struct lp_config *cfg, const struct lp_ctl_opts *opts,
			     struct lp_diag *diag);

/** Launch the workers on the EAL worker lcores. 0 or -errno. */
int lp_ctl_start(struct lp_ctl *c);

/** Stop the workers and wait for them; transmit what they buffered. */
void lp_ctl_stop(struct lp_ctl *c);

/** Stop, stop the ports, free everything. */
void lp_ctl_destroy(struct lp_ctl *c);

/**
 * One pass of control work at TSC @p now: slow-path packets, deferred
 * frees, affinity expiry and rebalancing, drain completion, slow-start
 * ramps, neighbor resolution, health checks. Never blocks for long; call
 * it every millisecond or so.
 * @return true when the pass did work (packets from the workers or the
 *   kernel interfaces, probes sent, objects freed, the timed pass, data
 *   from Redis waiting): the caller polls again soon rather than sleeping.
 */
bool lp_ctl_poll(struct lp_ctl *c, uint64_t now);

struct lp_announce;
/**
 * The VIP announcer (lib/announce) when the config has `announce:`, else
 * NULL. The control thread keeps its VIPs and their "can serve" flags and
 * the workers hold; callers raise the operator and shutdown holds
 * (`announce withdraw`, lp_announce_withdraw_all() before a stop) and read
 * its views and counters.
 */
struct lp_announce *lp_ctl_announcer(struct lp_ctl *c);
/** announce.withdrawDelaySeconds, 0 without announce. */
uint32_t lp_ctl_withdraw_delay_s(struct lp_ctl *c);

/** The shared data-path state (workers, tables, ports). */
struct lp_dp *lp_ctl_dp(struct lp_ctl *c);

/** The running configuration, rendered from the model (for `show config`, `save config`). */
const struct lp_config *lp_ctl_config(struct lp_ctl *c);

/**
 * Reload: validate @p next fully, diff it against the running model and
 * apply only the differences (a backend present before and after keeps its
 * id, flows and bindings). Changes that need a restart (ports, table
 * capacities) are refused with a message. All or nothing: every new
 * snapshot and the index are built before anything is published, so on
 * any error, running out of memory included, nothing changes. Returns when
 * every worker uses the new configuration.
 * @return 0, -EINVAL (bad file), -ENOMEM or -EBUSY (a reload in flight),
 *   with messages in @p diag.
 */
int lp_ctl_apply(struct lp_ctl *c, const struct lp_config *next, struct lp_diag *diag);

/** Called once when a reload started with lp_ctl_apply_start() is applied (0) or not (-errno, @p diag says why). */
typedef void lp_ctl_done_fn(void *arg, int ret, const struct lp_diag *diag);

/**
 * Reload without holding the control thread: as lp_ctl_apply(), but when
 * its snapshots take long to build (lp_ctl_opts.inline_build_us) they are
 * built on a helper thread, and the lp_ctl_poll() that finds them built
 * publishes them as a whole. Meanwhile the running configuration serves,
 * views show it, and other changes are refused with -EBUSY (health-check
 * verdicts wait for their next probe).
 * @return 0 when already applied (a small change), -EINPROGRESS when
 *   @p done will be called from lp_ctl_poll() (or with -ECANCELED from
 *   lp_ctl_apply_cancel(), lp_ctl_stop(), lp_ctl_destroy()), else -errno
 *   with messages in @p diag and nothing changed. @p done is not called
 *   unless -EINPROGRESS is returned.
 */
int lp_ctl_apply_start(struct lp_ctl *c, const struct lp_config *next, struct lp_diag *diag,
		       lp_ctl_done_fn *done, void *arg);

/** True while a reload started with lp_ctl_apply_start() is being built. */
bool lp_ctl_busy(const struct lp_ctl *c);

/** Abandon the reload being built, if any (its callback gets -ECANCELED); nothing changes. */
void lp_ctl_apply_cancel(struct lp_ctl *c);

/* ---- model operations (CLI). Each returns 0 or -errno and, on error,
 * one message in @p err (which may be NULL) naming the bad input; state is
 * then untouched. Each is a change of its own, all or nothing, that returns
 * once every worker uses it; -EBUSY while a reload is being built. */

int lp_ctl_service_add(struct lp_ctl *c, const struct lp_cfg_service *svc, struct lp_diag *err);
int lp_ctl_service_del(struct lp_ctl *c, const char *name, struct lp_diag *err);
int lp_ctl_backend_add(struct lp_ctl *c, const char *svc, const struct lp_cfg_backend *be,
		       struct lp_diag *err);
/** Remove a backend; drains first when the service has drainTimeoutSeconds > 0 and it holds bindings/flows. */
int lp_ctl_backend_del(struct lp_ctl *c, const char *svc, const struct lp_ip *addr, uint16_t port,
		       struct lp_diag *err);
int lp_ctl_backend_set_weight(struct lp_ctl *c, const char *svc, const struct lp_ip *addr, uint16_t port,
			      uint32_t weight, struct lp_diag *err);
/** Administrative state: up, draining or down. */
int lp_ctl_backend_set_state(struct lp_ctl *c, const char *svc, const struct lp_ip *addr, uint16_t port,
			     enum lp_backend_state state, struct lp_diag *err);
/** Health-check verdict (independent of the administrative state). */
int lp_ctl_backend_set_health(struct lp_ctl *c, const char *svc, const struct lp_ip *addr, uint16_t port,
			      bool healthy, struct lp_diag *err);
int lp_ctl_service_set_affinity(struct lp_ctl *c, const char *svc, int64_t timeout_s, int prefix,
				struct lp_diag *err);
/** Remove bindings of a service (all, or the one of @p client). @return how many. */
int lp_ctl_affinity_clear(struct lp_ctl *c, const char *svc, const struct lp_ip *client, struct lp_diag *err);
/** Zero every counter. */
void lp_ctl_stats_clear(struct lp_ctl *c);

/* ---- views (CLI, telemetry, Prometheus) ---- */

/** Sum of all workers' and the control thread's counters. */
void lp_ctl_stats(struct lp_ctl *c, struct lp_stats *out);
/** One worker's counters (NULL when out of range). */
const struct lp_stats *lp_ctl_worker_stats(struct lp_ctl *c, uint32_t worker);
/** The control thread's own counters: drops in the slow path, bindings it expired or moved. */
const struct lp_stats *lp_ctl_control_stats(struct lp_ctl *c);

/** A backend as `show backends` reports it. */
struct lp_backend_view {
	struct lp_ip addr;
	uint16_t port;
	uint16_t id;
	uint32_t weight;		/**< configured */
	uint32_t eff_weight;		/**< after slow start; 0 when not eligible */
	uint8_t admin;			/**< enum lp_backend_state */
	uint8_t state;			/**< enum lp_be_state as workers see it */
	bool healthy;
	bool removing;			/**< deleted, draining until it holds nothing */
	bool slow_start;		/**< ramping up */
	uint32_t active;		/**< bindings (affinity) or flows */
	uint32_t bindings;		/**< affinity bindings counted by the last scan */
	/** Flow entries pointing at it: with affinity, the flows its bindings
	 * pinned at the last scan; without, its load count. */
	uint32_t flows_active;
	/** Counters of LP_BE_COUNTERS (pkts, ..., syn_fail), summed over every worker. */
	LP_BE_COUNTERS(LP_COUNTER_FIELD)
	uint32_t gslot;
};

/** A service as `show services` reports it. */
struct lp_service_view {
	const struct lp_cfg_service *cfg; /**< its configuration (backends excluded) */
	uint16_t id;
	uint32_t n_backends;
	uint32_t n_up;
	/** Counters of LP_SVC_COUNTERS (pkts, ..., replies), summed over every thread. */
	LP_SVC_COUNTERS(LP_COUNTER_FIELD)
	uint64_t aff[LP_AFF_REASON_MAX];
	uint32_t bindings;
	uint32_t bindings_provisional;	/**< provisional bindings of the service, by the last full scan */
	uint32_t flows_active;		/**< sum of its backends' flows_active */
};

/** Number of services; their views by index 0..n-1 (ordered by name). */
uint32_t lp_ctl_service_count(struct lp_ctl *c);
int lp_ctl_service_view(struct lp_ctl *c, uint32_t i, struct lp_service_view *v);
int lp_ctl_service_view_by_name(struct lp_ctl *c, const char *name, struct lp_service_view *v);
/** Backends of a service, sorted by address:port; returns the count (up to @p max). */
int lp_ctl_backend_views(struct lp_ctl *c, const char *svc, struct lp_backend_view *out, uint32_t max);

/** A port as `show stats port` reports it. */
struct lp_port_view {
	const char *name;		/**< from the config */
	const char *device;
	uint16_t port_id;		/**< DPDK port id */
	uint16_t n_rxq, n_txq;
	struct lp_port_stats sw;	/**< limpet's counters, summed over the workers */
	/** The device's own counters (LP_PORT_DEVICE_COUNTERS: hw_ipackets, ...); 0 where the driver has none. */
#define LP_PORT_DEVICE_FIELD(member, key, help) uint64_t hw_##member;
	LP_PORT_DEVICE_COUNTERS(LP_PORT_DEVICE_FIELD)
#undef LP_PORT_DEVICE_FIELD
};

/** Number of ports; their views by config order (0 or -ENOENT). */
uint32_t lp_ctl_port_count(struct lp_ctl *c);
int lp_ctl_port_view(struct lp_ctl *c, uint32_t i, struct lp_port_view *v);

/** A worker as `show stats worker` reports it (its counters: lp_ctl_worker_stats()). */
struct lp_worker_view {
	uint32_t index;
	unsigned int lcore;
	uint32_t flows;			/**< entries in its flow shard */
	uint32_t flow_capacity;
};

/** Number of workers; a worker's view (0 or -ENOENT). */
uint32_t lp_ctl_worker_count(struct lp_ctl *c);
int lp_ctl_worker_view(struct lp_ctl *c, uint32_t i, struct lp_worker_view *v);

/** Occupancy of the shared tables. */
struct lp_table_view {
	uint64_t flows, flow_capacity;	/**< all shards */
	uint32_t bindings, binding_capacity;	/**< affinity table */
};
void lp_ctl_table_view(struct lp_ctl *c, struct lp_table_view *v);

/**
 * Publish-to-visible latency of model changes (an RCU grace period: the
 * release store of a snapshot until every worker passed a quiescent
 * state), in TSC cycles at @c hz.
 */
struct lp_rcu_view {
	uint64_t last_cycles;		/**< of the last change */
	uint64_t max_cycles;		/**< largest since start */
	uint64_t changes;		/**< changes measured */
	bool pending;			/**< a change is not yet visible to every worker */
	uint64_t hz;
};
void lp_ctl_rcu_view(struct lp_ctl *c, struct lp_rcu_view *v);

/** One binding as `show affinity` reports it. */
struct lp_binding_view {
	struct lp_ip client;		/**< masked client address */
	struct lp_ip backend;
	uint16_t backend_port;
	bool bound;
	bool provisional;		/**< no connection of the client completed a handshake yet */
	uint32_t age_s;			/**< since created */
	uint32_t idle_s;		/**< since the client's last packet */
	int64_t left_s;			/**< until it expires */
	uint32_t flows;			/**< live flows pinned to it */
	uint8_t origin;			/**< where it came from: lp_ctl_binding_origin_name() (lp_ctl_cluster.h) */
};

/**
 * Bindings of a service (or the one of @p client, masked by the service's
 * prefix); calls @p fn for each until it returns non-zero.
 * @return bindings visited, or -ENOENT for an unknown service.
 */
int lp_ctl_affinity_walk(struct lp_ctl *c, const char *svc, const struct lp_ip *client,
			 int (*fn)(void *ctx, const struct lp_binding_view *b), void *ctx);

/** One flow as `show flows` reports it. */
struct lp_flow_view {
	struct lp_flow_key key;
	uint32_t worker;
	const char *svc;
	struct lp_ip backend;
	uint16_t backend_port;
	uint8_t state;			/**< enum lp_flow_state */
	uint32_t idle_ms;
};

/**
 * Up to @p max flows (of service @p svc, or all when NULL), gathered by
 * each worker on its own thread. @return flows copied.
 */
int lp_ctl_flows(struct lp_ctl *c, const char *svc, struct lp_flow_view *out, uint32_t max);

/** Flows in all shards. */
uint64_t lp_ctl_flow_count(struct lp_ctl *c);

/** Seconds limpet's affinity clock reads at @p now. */
uint32_t lp_ctl_seconds(struct lp_ctl *c, uint64_t now);

/**
 * Publish-to-visible latency of the last model change: TSC cycles from
 * the release store until every worker had passed a quiescent state.
 */
uint64_t lp_ctl_last_change_cycles(struct lp_ctl *c);

/** Gratuitous ARP / unsolicited NA for own addresses and VIPs on every port. */
void lp_ctl_announce(struct lp_ctl *c);

/** Print the one-screen counter summary (replay mode prints it at exit). */
void lp_ctl_print_summary(struct lp_ctl *c, FILE *out);

/* ---- for tests: allocation failures ---- */

/**
 * Make the allocation @p n (0: the next one) of the control path fail, once,
 * and count allocations from zero; -1: disarm (the count and whether the
 * failure happened stay readable). Every allocation lib/ctl makes, or asks
 * another module to make (rings, tables, snapshots, the index), counts.
 */
void lp_ctl_fail_alloc(int64_t n);
/** Allocations the control path made since lp_ctl_fail_alloc(). */
uint64_t lp_ctl_alloc_count(void);
/** Whether the failure armed by lp_ctl_fail_alloc() happened. */
bool lp_ctl_alloc_failed(void);

#endif /* LP_CTL_H */
