/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAT replies. A backend's reply hashes to another RSS queue than its
 * client's packets, so it usually arrives on another worker: the
 * classification index maps (backend address, port, protocol) to the NAT
 * service, which is all the reverse translation needs.
 */
#include "worker_priv.h"

/* A reply from a backend shared by several NAT services: find which
 * service's flow it answers by looking the forward key up in every
 * worker's shard (lock-free readers). Rare by configuration. */
static uint32_t
shared_reply_service(struct burst *b, const struct lp_pkt_meta *m, const struct lp_idx_multi *mu)
{
	b->st->c[LP_WC_nat_reply_shared]++;
	for (unsigned int i = 0; i < mu->n; i++) {
		const struct lp_svc *s = lp_svc_get(&b->dp->svcs, mu->id[i]);
		struct lp_flow_key k;
		hash_sig_t sig;

		if (s == NULL)
			continue;
		memset(&k, 0, sizeof(k));
		memcpy(k.src, m->key.dst, 16);
		memcpy(k.dst, s->vip, 16);
		k.sport = m->key.dport;
		k.dport = s->port;
		k.proto = m->key.proto;
		k.family = m->key.family;
		sig = lp_flow_sig(b->w->flows, &k);
		for (uint32_t wi = 0; wi < b->dp->n_workers; wi++) {
			const struct lp_flow_shard *sh = b->dp->worker[wi]->flows;
			int32_t pos = lp_flow_lookup_sig(sh, &k, sig);

			if (pos >= 0 && sh->e[pos].svc_id == s->id)
				return s->id;
		}
	}
	/* No flow remembers it (aged out): the first service is the best guess. */
	return mu->id[0];
}

void
reply_handle(struct burst *b, struct rte_mbuf *mb, struct lp_pkt_meta *m, uint32_t v)
{
	const struct lp_svc *s;

	if (v & LP_IDX_MULTI)
		v = shared_reply_service(b, m, &b->ix->multi[v & ~LP_IDX_MULTI]);
	s = lp_svc_get(&b->dp->svcs, v);
	if (s == NULL) {
		drop(b, mb, LP_DROP_NO_SERVICE);
		return;
	}
	fwd_reply(b, mb, m, s);
}
