/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Control-thread internals shared by the files of lib/ctl, one section per
 * file, lowest layer first. A file calls only into the sections above its
 * own (tools/file_cycles.py checks that no two files call each other in
 * a circle):
 *
 *   alloc.c     every allocation of the control path (test failure countdown)
 *   model.c     services and backends as the control thread knows them
 *   publish.c   snapshots and the index: build, publish, grace period, retire
 *   bindings.c  affinity maintenance: expiry, moves, rebalance, purge, counts
 *   change.c    one change, all or nothing: plan, build (big: on a helper thread), commit or abort
 *   edit.c      CLI and health-check changes; timed ones (drain end, slow start)
 *   reload.c    a whole config: validate, diff, apply (start-up and reload)
 *   port.c      DPDK ports; the control thread's own transmit
 *   kernel.c    kernel interfaces (kernelInterface): the exception path
 *   health.c    health checks (lp_health.h)
 *   slowpath.c  ARP/ND, ICMP echo and errors, held packets, probe replies
 *   announce.c  VIP routes in a kernel table (announce:, lib/announce)
 *   views.c     read-only views for the CLI and exporters
 *   ctl.c       create, start, stop, destroy, the poll loop
 *   log.c       log types (lp_log.h)
 */
#ifndef LP_CTL_PRIV_H
#define LP_CTL_PRIV_H

#include <rte_mempool.h>

#include "lp_ctl.h"

/* ================================ alloc.c ================================
 * Every allocation the control path makes goes through here, so that a
 * test can make the Nth one fail (lp_ctl_fail_alloc()) and check that
 * nothing changed. Each returns NULL with errno (and rte_errno) ENOMEM
 * when it fails.
 */
void *ctl_malloc(size_t size);
void *ctl_calloc(size_t n, size_t size);
void *ctl_realloc(void *p, size_t size);
/** rte_zmalloc_socket(), cache-line aligned. */
void *ctl_zmalloc(const char *type, size_t size, int socket);
/** Count one allocation another module makes for us; true when it must fail instead. */
bool ctl_alloc_fails(void);
/** Make @p call (an allocating call of another module) count, and fail it when due. */
#define CTL_ALLOC(call) (ctl_alloc_fails() ? NULL : (call))

/* ================================ model.c ================================
 * The model: services and backends, their configuration and states, the
 * ids and counter slots they hold, and where their packets go. A change
 * edits private copies of services (ctl_svc_copy()) and installs them at
 * commit, so the running model is never half changed.
 */

/** How many bindings and flows a backend holds, counted by the affinity scan (bindings.c). */
struct be_scan {
	uint32_t bindings;		/**< at the last full scan */
	uint32_t flows;			/**< live flows pinned to its bindings, at the last full scan */
	uint32_t cur_bindings;		/**< being counted by the current scan */
	uint32_t cur_flows;
};

/** A health-check conversation with a backend (health.c). */
struct be_probe {
	uint8_t state;			/**< probe in flight: 0 none, 1 SYN sent, 2 request sent */
	uint32_t isn;			/**< our initial sequence number */
	uint32_t nxt;			/**< our next sequence number (what a RST must carry) */
	uint32_t irs;			/**< the backend's initial sequence number (from its SYN-ACK) */
	bool resent;			/**< this probe already reset a stale connection and resent its SYN */
	bool unsent;			/**< SYN waiting for the next hop's MAC */
	uint64_t sent;			/**< TSC the probe started */
	uint64_t next;			/**< TSC of the next probe */
	uint32_t ok, fail;		/**< consecutive results */
	uint64_t est, synfail;		/**< passive counters at the last look */
	uint64_t hint_next;		/**< TSC of the next look at the passive counters */
	char last[40];			/**< last result */
};

/** A backend in the model (the control thread's truth). */
struct mbe {
	struct lp_cfg_backend cfg;	/**< address, port, weight, administrative state */
	uint16_t id, gen;
	uint32_t gslot;			/**< counter slot */
	uint16_t tx_port;
	uint32_t nbr;			/**< next-hop neighbor position or LP_NBR_NONE */
	bool healthy;			/**< health-check verdict (true without checks) */
	bool removing;			/**< deleted: draining until empty or drain timeout */
	uint64_t removing_since;	/**< TSC */
	uint64_t eligible_since;	/**< TSC it last became eligible (slow start) */
	uint64_t added_at;		/**< TSC it was added while running; 0 for the initial ones */
	/* Running state, not configuration: a change carries it over to the
	 * backend's new copy at commit (ctl_be_carry()). */
	struct be_scan scan;
	struct be_probe hc;
};

/** A service in the model. */
struct msvc {
	struct lp_cfg_service cfg;	/**< cfg.backends unused: be[] is authoritative */
	uint16_t id, gen;
	struct lp_svc_load *load;	/**< shared by every copy and snapshot of the service */
	uint32_t n_be, cap_be;
	struct mbe *be;			/**< sorted by address:port */
	uint16_t id_gen[LP_SVC_MAX_BACKENDS];
	uint8_t id_used[LP_SVC_MAX_BACKENDS];
	bool ramping;			/**< some backend in slow start: republish periodically */
	uint64_t rebalance_until;	/**< TSC: rebalance idle bindings until then */
	/* running state of the rebalance (bindings.c), carried over like a backend's */
	uint32_t rebalance_budget;	/**< moves left in the current second */
	uint32_t rebalance_sec;
	uint32_t provisional;		/**< provisional bindings, by the last full affinity scan */
	uint32_t scan_provisional;	/**< being counted by the current scan */
};

/** A change being built (change.c), at most one at a time. */
struct ctl_change;

struct lp_ctl {
	struct lp_dp dp;
	struct lp_ctl_opts opts;
	struct lp_config *cfg;		/**< ports, neighbors, tables as started; services rendered on demand */
	struct lp_config *rendered;	/**< last lp_ctl_config() result */
	struct rte_mempool *pool;
	struct lp_retire *retire;
	struct lp_stats *stats;		/**< the control thread's own counters */
	struct lp_stats *worker_stats[LP_MAX_WORKERS];
	struct msvc *svc[LP_MAX_SERVICES];	/**< by id; set only through ctl_svc_set() */
	struct msvc *svc_sorted[LP_MAX_SERVICES];	/**< by name, rebuilt when stale */
	uint32_t n_sorted;
	bool sorted_stale;
	uint16_t svc_gen[LP_MAX_SERVICES];
	uint8_t gslot_used[LP_STATS_BE_SLOTS];
	uint32_t gslot_hint;
	bool started;
	/* publish.c */
	uint64_t last_change_cycles;
	uint64_t max_change_cycles;	/**< largest last_change_cycles since start */
	uint64_t n_changes_visible;	/**< publishes measured until visible */
	uint64_t pending_token;		/**< grace period of the last publish */
	uint64_t pending_since;		/**< TSC of the last publish, 0 when measured */
	/* change.c, edit.c */
	struct ctl_change *change;	/**< being built by a helper thread, or NULL */
	uint64_t inline_build_ns;	/**< a reload building longer goes to the helper */
	uint32_t ramp_cursor;		/**< service the next slow-start republish starts at */
	/* ctl.c */
	uint64_t last_poll;
	uint64_t next_second;		/**< TSC of the next timed-change pass */
	/* bindings.c */
	uint32_t scan_cursor;		/**< affinity scan position */
	uint32_t scan_per_poll;
	uint64_t aff_full_seen;		/**< the workers' aff_full at the last look (affinity pressure) */
	uint64_t aff_room_retry;	/**< TSC before which making room is not tried again (nothing to reclaim) */
	/* port.c */
	uint32_t inject_rr;		/**< worker that injects the control thread's next packet */
	/* slowpath.c */
	struct lp_slowpath *slow;	/**< ARP/ND/ICMP state */
	struct lp_kernel *kern;		/**< kernel interfaces (kernel.c) */
	struct lp_ctl_announce *ann;	/**< VIP routes (announce.c), NULL without announce */
	/* cluster.c */
	struct ctl_cluster *cluster;	/**< replicated bindings, NULL without `cluster` */
	/* health.c */
	uint32_t hc_port_offset;	/**< probe source port = base + (gslot + this) % slots, drawn per start */
	/* Work done by the control thread (packets passed, probes sent, ...):
	 * lp_ctl_poll() reports whether a pass added to it. */
	uint64_t work;
};

/* After a backend is added to a service with `rebalance: idle`, idle
 * bindings may move to it for this long. */
#define REBALANCE_WINDOW_S 60u

/** Install (or with NULL, clear) service slot @p id; marks the by-name order stale. */
void ctl_svc_set(struct lp_ctl *c, uint32_t id, struct msvc *s);
/** Services ordered by name (cached; valid until the next ctl_svc_set()). */
uint32_t ctl_svc_sorted(struct lp_ctl *c, struct msvc *const **list);
/** Running service named @p name, by binary search of the by-name order. */
struct msvc *ctl_svc_find(struct lp_ctl *c, const char *name);
struct mbe *ctl_be_find(struct msvc *s, const struct lp_ip *addr, uint16_t port);
struct mbe *ctl_be_by_id(struct msvc *s, uint16_t id);
/** Does @p s hold backend (@p id, @p gen)? */
bool ctl_be_holds(const struct msvc *s, uint16_t id, uint16_t gen);
uint8_t ctl_be_state(const struct msvc *s, const struct mbe *b);
/** Effective weight at TSC @p now (slow start ramps it). */
uint32_t ctl_be_weight(const struct lp_ctl *c, const struct msvc *s, const struct mbe *b, uint64_t now);

/** A private copy of @p s for a change to edit (be[] copied, load shared). */
struct msvc *ctl_svc_copy(const struct msvc *s);
/** A new, empty service for @p cfg with id @p id and load @p load (backends not added). */
struct msvc *ctl_svc_new(const struct lp_cfg_service *cfg, uint16_t id, uint16_t gen, struct lp_svc_load *load);
/** Free a copy (its be[]; not its load). */
void ctl_svc_free(struct msvc *s);
/** The running state of @p from (scan counts, health checks, rebalance budget) into its copy @p to. */
void ctl_svc_carry(struct msvc *to, const struct msvc *from);

/**
 * Add a backend to the copy @p s: it takes an id and generation and a
 * counter slot; nothing a worker sees changes. 0 or -errno with one
 * message in @p err.
 */
int ctl_be_add(struct lp_ctl *c, struct msvc *s, const struct lp_cfg_backend *cfg, uint64_t now,
	       struct lp_diag *err);
/** Take a backend out of the copy @p s; what it holds stays taken (see ctl_be_release()). */
void ctl_be_drop(struct msvc *s, struct mbe *b);
/** A backend ctl_be_add() added to a change that is abandoned: give back its counter slot. */
void ctl_be_unadd(struct lp_ctl *c, struct mbe *b);
/** A backend that left the model, once no worker can use it: its slot, next hop and load count. */
void ctl_be_release(struct lp_ctl *c, struct lp_svc_load *load, struct mbe *b);
/**
 * A new backend of @p s going live: it takes its next-hop reference (port
 * and neighbor entry: set them in its snapshot too), its counters and load
 * count start from zero.
 */
void ctl_be_commit(struct lp_ctl *c, const struct msvc *s, struct mbe *b);
/** The configuration limpet runs, rendered from the model (NULL when out of memory). */
struct lp_config *ctl_model_render(struct lp_ctl *c);
/** Free every service (at destroy: workers are stopped). */
void ctl_model_free(struct lp_ctl *c);

/* =============================== publish.c ===============================
 * Snapshots and the classification index: built from the model, published
 * with one release store each, the old ones freed after a grace period.
 * Tracks when the last publish became visible to every worker.
 */

/** Build the snapshot of @p s at @p now (NULL when out of memory); @p ramping: some backend ramps. */
struct lp_svc *ctl_snapshot_build(struct lp_ctl *c, const struct msvc *s, uint64_t now, bool *ramping);
/** Would @p a and @p b give the same snapshot at @p now? */
bool ctl_snapshot_same(const struct lp_ctl *c, const struct msvc *a, const struct msvc *b, uint64_t now);
/** Build the index over @p snaps (by service id) and the ports' own addresses (NULL when out of memory). */
struct lp_svc_index *ctl_index_build(struct lp_ctl *c, struct lp_svc *const snaps[LP_MAX_SERVICES]);
/** Publish @p snap as service @p id (NULL removes it); the old one is retired. */
void ctl_publish_svc(struct lp_ctl *c, uint16_t id, struct lp_svc *snap);
/** Publish @p ix; the old index is retired. */
void ctl_publish_index(struct lp_ctl *c, struct lp_svc_index *ix);
/** Remember the last publish so lp_ctl_poll() can measure when every worker has seen it. */
void ctl_note_publish(struct lp_ctl *c);
/** Wait until every worker has seen the last publish; records the latency. */
void ctl_wait_visible(struct lp_ctl *c);
/** Record the latency of the pending publish if every worker has seen it by now (does not wait). */
void ctl_check_visible(struct lp_ctl *c);
/** Wait for a grace period: no worker holds what was unpublished before the call. */
void ctl_grace(struct lp_ctl *c);

/* =============================== bindings.c ===============================
 * Affinity maintenance: expiry, moving bindings off down or removed
 * backends, rebalance after scale-out, purges, and the per-backend counts.
 */

/** Scan @p budget positions of the affinity table. */
void ctl_affinity_scan(struct lp_ctl *c, uint64_t now, uint32_t budget);
/** Positions [from, to) to scan for bindings: the whole table, or @p only's one (false: not bound). */
bool ctl_aff_range(const struct lp_aff_table *t, const struct lp_aff_key *only, uint32_t *from, uint32_t *to);
/** Delete bindings of running service @p s (of backend @p be_id when >= 0, of one key when @p only). */
int ctl_affinity_purge(struct lp_ctl *c, struct msvc *s, int be_id, const struct lp_aff_key *only,
		       enum lp_aff_reason why);
/** Delete every binding of the services whose ids @p gone marks, in one pass (counted as cleared). */
void ctl_affinity_purge_services(struct lp_ctl *c, const uint8_t gone[LP_MAX_SERVICES]);

/* =============================== change.c ================================
 * One change of the model, all or nothing. Planning edits private copies
 * of services and takes ids, counter slots and next-hop references
 * tentatively; building makes every new snapshot and the index; only then
 * does commit install and publish everything, and it cannot fail. Abort
 * gives back whatever planning took, so a failure before the commit leaves
 * the running state exactly as it was.
 */

/** What the change logs for a service when it commits. */
enum edit_note { NOTE_NONE, NOTE_REMOVED, NOTE_REPLACED };

/** One service in a change. */
struct svc_edit {
	struct msvc *old;		/**< the running service, NULL for a new one */
	struct msvc *new;		/**< what it becomes, NULL when it goes */
	struct lp_svc *snap;		/**< new's snapshot once built; NULL: old's stays */
	int purge;			/**< reason to delete the bindings of backends that leave, -1: none */
	enum edit_note note;
};

/** A new change (NULL when out of memory). */
struct ctl_change *ctl_change_new(struct lp_ctl *c, uint64_t now);
/** TSC the change was planned at. */
uint64_t ctl_change_now(const struct ctl_change *ch);
/** The edit of running service @p old, with a private copy to edit (NULL when out of memory). */
struct svc_edit *ctl_change_edit(struct ctl_change *ch, struct msvc *old);
/** Remove running service @p old. 0 or -ENOMEM. */
int ctl_change_remove(struct ctl_change *ch, struct msvc *old, enum edit_note note);
/** Add a service (validated with the config it belongs to; its name is free). 0 or -errno with a message. */
int ctl_change_add(struct ctl_change *ch, const struct lp_cfg_service *cfg, struct lp_diag *err);
/** Settings of a reload, applied at commit: flow timeouts and static neighbors. 0 or -ENOMEM. */
int ctl_change_settings(struct ctl_change *ch, const struct lp_config *next);
/** Edits so far (for callers walking what they planned). */
uint32_t ctl_change_edits(const struct ctl_change *ch, struct svc_edit **edits);
/** Build every snapshot and the index. @return 0, -ENOMEM, or -ECANCELED (ctl_change_cancel()). */
int ctl_change_build(struct ctl_change *ch);
/** About how long building @p ch takes, in nanoseconds (its Maglev tables). */
uint64_t ctl_change_cost_ns(const struct ctl_change *ch);
/** Install and publish everything; frees @p ch. */
void ctl_change_commit(struct ctl_change *ch);
/** Give back what planning took; frees @p ch. */
void ctl_change_abort(struct ctl_change *ch);
/**
 * Build everything now, then commit (0) or abort (-ENOMEM, with a message
 * in @p err); frees @p ch. With @p visible, wait until every worker uses
 * the result (a command returns when its change is in force everywhere).
 */
int ctl_change_run(struct ctl_change *ch, bool visible, struct lp_diag *err);
/**
 * Build @p ch on a helper thread; lp_ctl_poll() commits it once built and
 * calls @p done. It becomes the change in flight (c->change).
 * @return 0, or -errno when no thread could start (@p ch is still yours).
 */
int ctl_change_defer(struct ctl_change *ch, lp_ctl_done_fn *done, void *arg);
/** Commit the change in flight if it is built (lp_ctl_poll()). */
void ctl_change_poll(struct lp_ctl *c);
/** Abandon the change in flight, if any: its callback gets -ECANCELED. */
void ctl_change_cancel(struct lp_ctl *c);
/** -EBUSY with a message while a change is in flight, else 0. */
int ctl_change_idle(struct lp_ctl *c, struct lp_diag *err);

/* ================================ edit.c =================================
 * The CLI's changes and the health checker's verdicts (public in lp_ctl.h),
 * and timed changes: drained backends leave, slow-start weights ramp.
 */
void ctl_timed_changes(struct lp_ctl *c, uint64_t now);

/* =============================== cluster.c ===============================
 * Replicated bindings (lib/cluster): each is a no-op without `cluster`.
 */
int ctl_cluster_create(struct lp_ctl *c, const struct lp_config *cfg, struct lp_diag *d);
void ctl_cluster_destroy(struct lp_ctl *c);
void ctl_cluster_poll(struct lp_ctl *c, uint64_t now);
/** The control thread changed a binding (@p kind: enum lp_cluster_ev_kind; @p target: its new target). */
void ctl_cluster_binding(struct lp_ctl *c, struct lp_aff_entry *e, uint64_t target, uint8_t kind);
/** A binding looks expired: true when Redis was asked whether it is alive elsewhere (keep it meanwhile). */
bool ctl_cluster_expiry(struct lp_ctl *c, struct lp_aff_entry *e);
/** A reload that changes the cluster section is refused. */
int ctl_cluster_restart_only(const struct lp_ctl *c, const struct lp_config *next, struct lp_diag *d);

/* ================================ port.c ================================= */
int ctl_ports_setup(struct lp_ctl *c, struct lp_diag *d);
void ctl_ports_close(struct lp_ctl *c);
/** Queue a frame the control thread built for transmit on port @p port (through a worker). */
int ctl_send(struct lp_ctl *c, uint16_t port, struct rte_mbuf *m);

/* ================================ kernel.c ================================
 * The exception path (ports[].kernelInterface). */
int ctl_kernel_setup(struct lp_ctl *c, struct lp_diag *d);
void ctl_kernel_close(struct lp_ctl *c);
void ctl_kernel_poll(struct lp_ctl *c, uint64_t now);
/** Interface index of port @p port's kernel interface, or -1. */
int ctl_kernel_ifindex(const struct lp_ctl *c, uint32_t port);
/**
 * The IPv6 link-local address of port @p port's kernel interface (modified
 * EUI-64 of the port's MAC) into @p ll: true when the port has a
 * kernelInterface and an IPv6 address; @p listed: the port's configured
 * addresses include it already.
 */
bool ctl_kernel_ll(const struct lp_ctl *c, uint32_t port, struct lp_ip *ll, bool *listed);
/** Give a packet for an own address to the port's kernel interface: false (packet untouched) without one. */
bool ctl_kernel_input(struct lp_ctl *c, uint16_t port, struct rte_mbuf *m);
/** Copy an ARP reply or neighbor advertisement to the port's kernel interface, if it has one. */
void ctl_kernel_neigh(struct lp_ctl *c, uint16_t port, const struct rte_mbuf *m, const struct lp_pkt_meta *meta);

/* =============================== announce.c ==============================
 * VIP routes in a kernel table (announce:). */
int ctl_announce_setup(struct lp_ctl *c, struct lp_diag *d);
void ctl_announce_poll(struct lp_ctl *c, uint64_t now);
void ctl_announce_free(struct lp_ctl *c);

/* =============================== slowpath.c ============================== */
int ctl_slowpath_init(struct lp_ctl *c);
void ctl_slowpath_poll(struct lp_ctl *c, uint64_t now);
void ctl_slowpath_free(struct lp_ctl *c);

#endif /* LP_CTL_PRIV_H */
