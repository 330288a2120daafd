/* SPDX-License-Identifier: BSD-3-Clause */
/* Control-thread internals shared by the files of lib/ctl. */
#ifndef LP_CTL_PRIV_H
#define LP_CTL_PRIV_H

#include <stdarg.h>

#include <rte_mempool.h>

#include "lp_ctl.h"


/** A backend in the model (the control thread's truth). */
struct mbe {
	struct lp_cfg_backend cfg;	/**< address, port, weight, administrative state */
	uint16_t id, gen;
	uint32_t gslot;
	uint16_t tx_port;
	uint32_t nbr;			/**< next-hop neighbor position or LP_NBR_NONE */
	bool healthy;			/**< health-check verdict (true without checks) */
	bool removing;			/**< deleted: draining until empty or drain timeout */
	uint64_t removing_since;	/**< TSC */
	uint64_t eligible_since;	/**< TSC it last became eligible (slow start) */
	uint64_t added_at;		/**< TSC it was added while running; 0 for the initial ones */
	uint32_t bindings;		/**< counted by the last full affinity scan */
	uint32_t scan_bindings;		/**< being counted by the current scan */
	uint32_t flows;			/**< live flows pinned to its bindings, by the last full scan */
	uint32_t scan_flows;		/**< being counted by the current scan */
	/* health checking (health.c) */
	uint8_t hc_state;		/**< probe in flight: 0 none, 1 SYN sent, 2 request sent */
	uint32_t hc_isn;		/**< our initial sequence number */
	uint32_t hc_nxt;		/**< our next sequence number (what a RST must carry) */
	bool hc_resent;			/**< this probe already reset a stale connection and resent its SYN */
	bool hc_unsent;			/**< SYN waiting for the next hop's MAC */
	uint64_t hc_sent;		/**< TSC the probe started */
	uint64_t hc_next;		/**< TSC of the next probe */
	uint32_t hc_ok, hc_fail;	/**< consecutive results */
	uint64_t hc_est, hc_synfail;	/**< passive counters at the last look */
	uint64_t hc_hint_next;		/**< TSC of the next look at the passive counters */
	char hc_last[40];		/**< last result, for `show backends` */
};

/** A service in the model. */
struct msvc {
	struct lp_cfg_service cfg;	/**< cfg.backends unused: be[] is authoritative */
	uint16_t id, gen;
	struct lp_svc_load *load;
	uint32_t n_be, cap_be;
	struct mbe *be;			/**< sorted by address:port */
	uint16_t id_gen[LP_SVC_MAX_BACKENDS];
	uint8_t id_used[LP_SVC_MAX_BACKENDS];
	bool ramping;			/**< some backend in slow start: republish periodically */
	uint64_t rebalance_until;	/**< TSC: rebalance idle bindings until then */
	uint32_t rebalance_budget;	/**< moves left in the current second */
	uint32_t rebalance_sec;
};

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
	uint64_t last_change_cycles;
	uint64_t max_change_cycles;	/**< largest last_change_cycles since start */
	uint64_t n_changes_visible;	/**< publishes measured until visible */
	uint64_t pending_token;		/**< grace period of the last publish */
	uint64_t pending_since;		/**< TSC of the last publish, 0 when measured */
	uint64_t last_poll;
	uint64_t next_second;		/**< TSC of the next once-a-second task */
	uint32_t scan_cursor;		/**< affinity scan position */
	uint32_t scan_per_poll;
	struct lp_slowpath *slow;	/**< ARP/ND/ICMP state */
};

/* model.c */
/** Install (or with NULL, clear) service slot @p id; marks the by-name order stale. */
void ctl_svc_set(struct lp_ctl *c, uint32_t id, struct msvc *s);
/** Services ordered by name (cached; valid until the next ctl_svc_set()). */
uint32_t ctl_svc_sorted(struct lp_ctl *c, struct msvc *const **list);
/** Service named @p name, by binary search of the by-name order. */
struct msvc *ctl_svc_find(struct lp_ctl *c, const char *name);
struct mbe *ctl_be_find(struct msvc *s, const struct lp_ip *addr, uint16_t port);
int ctl_publish(struct lp_ctl *c, struct msvc *s, uint64_t now);
int ctl_publish_index(struct lp_ctl *c);
/** Add a service already validated with the whole config it belongs to; its name is not in use. */
int ctl_svc_add(struct lp_ctl *c, const struct lp_cfg_service *cfg, uint64_t now, struct lp_diag *err);
uint8_t ctl_be_state(const struct msvc *s, const struct mbe *b);
uint32_t ctl_be_weight(struct lp_ctl *c, const struct msvc *s, const struct mbe *b, uint64_t now);
void ctl_model_tick(struct lp_ctl *c, uint64_t now);
void ctl_model_free(struct lp_ctl *c);
int ctl_be_resolve(struct lp_ctl *c, struct mbe *b);
void ctl_err(struct lp_diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* affinity scan (model.c) */
void ctl_affinity_scan(struct lp_ctl *c, uint64_t now, uint32_t budget);
/** Positions [from, to) to scan for bindings: the whole table, or @p only's one (false: not bound). */
bool ctl_aff_range(const struct lp_aff_table *t, const struct lp_aff_key *only, uint32_t *from, uint32_t *to);
/** Delete bindings of a service (of backend @p be_id when >= 0, of one key when @p only). */
int ctl_affinity_purge(struct lp_ctl *c, uint16_t svc_id, int be_id, const struct lp_aff_key *only,
		       enum lp_aff_reason why);
/** Wait until every worker has seen the last publish; records the latency. */
void ctl_wait_visible(struct lp_ctl *c);
/** Record the publish-to-visible latency of the pending publish, seen visible at TSC @p now. */
void ctl_note_visible(struct lp_ctl *c, uint64_t now);

/* port.c */
int ctl_ports_setup(struct lp_ctl *c, struct lp_diag *d);
void ctl_ports_close(struct lp_ctl *c);

/* slowpath.c */
int ctl_slowpath_init(struct lp_ctl *c);
void ctl_slowpath_poll(struct lp_ctl *c, uint64_t now);
void ctl_slowpath_free(struct lp_ctl *c);
/** Queue a frame the control thread built for transmit on port @p port. */
int ctl_send(struct lp_ctl *c, uint16_t port, struct rte_mbuf *m);

#endif /* LP_CTL_PRIV_H */
