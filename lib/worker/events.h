/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Binding events for replicated bindings (lib/cluster): a worker that
 * creates, moves or refreshes a binding hands an event to the cluster's
 * lock-free ring. Only when `cluster` is configured; a full ring is
 * counted there, never waited on. Only confirmed bindings are replicated
 * (a provisional one stays local until lp_aff_confirm()). A refresh is emitted when the binding's
 * last_seen changes second, so at most once a second per binding.
 */
#ifndef LP_WORKER_EVENTS_H
#define LP_WORKER_EVENTS_H

#include "lp_cluster.h"
#include "lp_worker.h"

/** Emit @p kind (enum lp_cluster_ev_kind) for the binding of @p k in @p s, bound to backend @p be_id. */
void worker_binding_event(struct lp_worker *w, const struct lp_svc *s, const struct lp_aff_key *k, uint16_t be_id,
			  uint8_t kind);

/** lp_aff_touch(), and the refresh event when the second changed and the binding is replicated. */
static inline void
worker_aff_touch(struct lp_worker *w, const struct lp_svc *s, struct lp_aff_entry *e, uint64_t target,
		 uint32_t now_s)
{
	if (atomic_load_explicit(&e->last_seen, memory_order_relaxed) == now_s)
		return;
	atomic_store_explicit(&e->last_seen, now_s, memory_order_relaxed);
	if (unlikely(w->dp->cluster != NULL) && !lp_aff_provisional(e))
		worker_binding_event(w, s, &e->key, lp_aff_be_id(target), LP_CLUSTER_EV_TOUCH);
}

#endif /* LP_WORKER_EVENTS_H */
