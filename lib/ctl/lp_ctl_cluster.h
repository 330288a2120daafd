/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Replicated bindings on the control thread (`cluster:` in the config,
 * docs/scale-out.md "Replicated bindings"): lib/cluster driven by
 * lp_ctl_poll(), remote bindings applied into the affinity table, the
 * warm start, and what `show cluster` and the exporters read.
 */
#ifndef LP_CTL_CLUSTER_H
#define LP_CTL_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>

struct lp_ctl;
struct lp_cluster;

/** The cluster member, or NULL when the config has no `cluster` section. */
struct lp_cluster *lp_ctl_cluster(struct lp_ctl *c);

/**
 * Start-up, before the workers run and before VIPs are announced: load the
 * live bindings of every service with affinity, waiting at most
 * cluster.startWaitSeconds. @return 0 when loaded (or no cluster),
 * -ETIMEDOUT when Redis could not be read in time: limpet then starts on
 * local state, says so once, counts it (start_unreachable) and loads the
 * bindings in the background when Redis answers. -EINTR when @p stop
 * (may be NULL) returned true first: a stop was asked for meanwhile.
 */
int lp_ctl_cluster_warm_start(struct lp_ctl *c, bool (*stop)(void));

/** True when there is no cluster or its first load is complete. */
bool lp_ctl_cluster_loaded(struct lp_ctl *c);

/**
 * Shutdown, after the workers stopped: write every change taken so far, at
 * most @p timeout_ms. @return 0 or -ETIMEDOUT.
 */
int lp_ctl_cluster_flush(struct lp_ctl *c, uint32_t timeout_ms);

/** Where a binding came from, as `show affinity` says it (origin of struct lp_binding_view). */
const char *lp_ctl_binding_origin_name(uint8_t origin);

#endif /* LP_CTL_CLUSTER_H */
