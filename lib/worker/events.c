/* SPDX-License-Identifier: BSD-3-Clause */
/* Binding events from the workers to the control thread (replicated bindings). */
#include <string.h>

#include "events.h"

void
worker_binding_event(struct lp_worker *w, const struct lp_svc *s, const struct lp_aff_key *k, uint16_t be_id,
		     uint8_t kind)
{
	const struct lp_svc_backend *b = &s->be[be_id];
	struct lp_cluster_event ev;

	memcpy(ev.key.addr, k->addr, sizeof(ev.key.addr));
	ev.key.svc_id = k->svc_id;
	ev.key.family = k->family;
	ev.key.prefix = k->family == LP_AF_INET ? s->prefix_v4 : s->prefix_v6;
	memcpy(ev.be.addr, b->addr, sizeof(ev.be.addr));
	ev.be.port = rte_be_to_cpu_16(b->port);
	ev.be.family = b->family;
	ev.be.pad = 0;
	ev.kind = kind;
	memset(ev.pad, 0, sizeof(ev.pad));
	/* Never waits: a full ring is counted by lp_cluster_emit(). */
	lp_cluster_emit(w->dp->cluster, w->index, &ev);
}
