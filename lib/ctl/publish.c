/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Publishing: a service snapshot and the classification index are built
 * from the model, published with one release store each, and the old ones
 * freed once every worker has passed a quiescent state (a grace period).
 * Also measures how long a publish takes to become visible everywhere.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_rcu_qsbr.h>

#include "ctl_priv.h"

/* What lp_svc_build() takes from the model; @p bs has room for s->n_be. */
static void
make_spec(const struct lp_ctl *c, const struct msvc *s, uint64_t now, struct lp_svc_spec *spec,
	  struct lp_svc_backend_spec *bs, bool *ramping)
{
	*ramping = false;
	for (uint32_t i = 0; i < s->n_be; i++) {
		const struct mbe *b = &s->be[i];

		memset(&bs[i], 0, sizeof(bs[i]));
		bs[i].id = b->id;
		bs[i].gen = b->gen;
		bs[i].addr = b->cfg.addr;
		bs[i].port = b->cfg.port;
		bs[i].state = ctl_be_state(s, b);
		bs[i].weight = ctl_be_weight(c, s, b, now);
		/* Up backends are placed by their effective weight, which a slow
		 * start ramps; draining and down ones keep their configured
		 * weight in the table's first pass, so marking them inactive
		 * moves only their own slots. */
		bs[i].maglev_weight = bs[i].state == LP_BE_UP ? bs[i].weight : b->cfg.weight;
		bs[i].tx_port = b->tx_port;
		bs[i].nbr = b->nbr;
		bs[i].gslot = b->gslot;
		if (bs[i].state == LP_BE_UP && bs[i].weight != b->cfg.weight)
			*ramping = true;
	}
	memset(spec, 0, sizeof(*spec));
	spec->name = s->cfg.name;
	spec->id = s->id;
	spec->gen = s->gen;
	spec->proto = s->cfg.proto;
	spec->mode = s->cfg.forwarding;
	spec->sched = s->cfg.scheduler;
	spec->affinity = s->cfg.affinity;
	spec->prefix_v4 = s->cfg.prefix_v4;
	spec->prefix_v6 = s->cfg.prefix_v6;
	spec->vip = s->cfg.vip;
	spec->port = s->cfg.port;
	spec->aff_timeout_s = s->cfg.affinity_timeout_s;
	spec->bounded_load = s->cfg.bounded_load;
	spec->tunnel_src4 = s->cfg.tunnel_src4;
	spec->tunnel_src4_len = s->cfg.tunnel_src4_len;
	spec->tunnel_src6 = s->cfg.tunnel_src6;
	spec->tunnel_src6_len = s->cfg.tunnel_src6_len;
	spec->maglev_size = s->cfg.maglev_size;
	spec->n_backends = s->n_be;
	spec->backends = bs;
	spec->load = s->load;
}

struct lp_svc *
ctl_snapshot_build(struct lp_ctl *c, const struct msvc *s, uint64_t now, bool *ramping)
{
	struct lp_svc_backend_spec *bs = ctl_calloc(s->n_be, sizeof(*bs));
	struct lp_svc_spec spec;
	struct lp_svc *snap;

	if (bs == NULL)
		return NULL;
	make_spec(c, s, now, &spec, bs, ramping);
	snap = CTL_ALLOC(lp_svc_build(&spec));
	free(bs);
	return snap;
}

static bool
backend_spec_same(const struct lp_ctl *c, const struct msvc *sa, const struct mbe *a, const struct msvc *sb,
		  const struct mbe *b, uint64_t now)
{
	uint8_t st = ctl_be_state(sa, a);

	return a->id == b->id && a->gen == b->gen && lp_ip_equal(&a->cfg.addr, &b->cfg.addr) &&
	       a->cfg.port == b->cfg.port && st == ctl_be_state(sb, b) &&
	       ctl_be_weight(c, sa, a, now) == ctl_be_weight(c, sb, b, now) &&
	       (st == LP_BE_UP || a->cfg.weight == b->cfg.weight) && a->tx_port == b->tx_port &&
	       a->nbr == b->nbr && a->gslot == b->gslot;
}

bool
ctl_snapshot_same(const struct lp_ctl *c, const struct msvc *a, const struct msvc *b, uint64_t now)
{
	const struct lp_cfg_service *x = &a->cfg, *y = &b->cfg;

	if (a->id != b->id || a->gen != b->gen || a->load != b->load || a->n_be != b->n_be ||
	    strcmp(x->name, y->name) != 0 || x->proto != y->proto || x->forwarding != y->forwarding ||
	    x->scheduler != y->scheduler || x->affinity != y->affinity || x->prefix_v4 != y->prefix_v4 ||
	    x->prefix_v6 != y->prefix_v6 || !lp_ip_equal(&x->vip, &y->vip) || x->port != y->port ||
	    x->affinity_timeout_s != y->affinity_timeout_s || x->bounded_load != y->bounded_load ||
	    !lp_ip_equal(&x->tunnel_src4, &y->tunnel_src4) || x->tunnel_src4_len != y->tunnel_src4_len ||
	    !lp_ip_equal(&x->tunnel_src6, &y->tunnel_src6) || x->tunnel_src6_len != y->tunnel_src6_len ||
	    x->maglev_size != y->maglev_size)
		return false;
	for (uint32_t i = 0; i < a->n_be; i++)
		if (!backend_spec_same(c, a, &a->be[i], b, &b->be[i], now))
			return false;
	return true;
}

struct lp_svc_index *
ctl_index_build(struct lp_ctl *c, struct lp_svc *const snaps[LP_MAX_SERVICES])
{
	struct lp_idx_own own[LP_MAX_PORTS * (LP_PORT_ADDRS_MAX + 1)];
	uint32_t n_own = 0;

	for (uint32_t p = 0; p < c->cfg->n_ports; p++) {
		bool listed;

		for (uint32_t a = 0; a < c->cfg->ports[p].n_addrs; a++) {
			own[n_own].addr = c->cfg->ports[p].addr[a];
			own[n_own].port_index = p;
			n_own++;
		}
		/* The kernel interface's link-local address: limpet answers ND
		 * for it, and what else comes to it goes to the kernel (BGP
		 * over link-local, the router's probes). */
		if (p < c->dp.n_ports && c->dp.port[p].kernel && ctl_kernel_ll(c, p, &own[n_own].addr, &listed) &&
		    !listed) {
			own[n_own].port_index = p;
			n_own++;
		}
	}
	return CTL_ALLOC(lp_svc_index_build(snaps, LP_MAX_SERVICES, own, n_own));
}

static void
snapshot_free(void *p)
{
	lp_svc_free(p);
}

static void
index_free(void *p)
{
	lp_svc_index_free(p);
}

/* Free @p obj after a grace period: queued, or when the queue cannot grow,
 * right after waiting for one (publishing must not fail half-way). */
static void
retire(struct lp_ctl *c, void (*free_fn)(void *), void *obj)
{
	if (obj == NULL)
		return;
	if (lp_retire_defer(c->retire, free_fn, obj) != 0) {
		ctl_grace(c);
		free_fn(obj);
	}
}

void
ctl_publish_svc(struct lp_ctl *c, uint16_t id, struct lp_svc *snap)
{
	retire(c, snapshot_free, lp_svc_publish(&c->dp.svcs, id, snap));
}

void
ctl_publish_index(struct lp_ctl *c, struct lp_svc_index *ix)
{
	retire(c, index_free, lp_svc_index_publish(&c->dp.svcs, ix));
}

void
ctl_grace(struct lp_ctl *c)
{
	/* Workers pass a quiescent state once per loop pass, so this waits
	 * for about one pass of the slowest worker; stopped ones count as
	 * quiescent. */
	rte_rcu_qsbr_check(c->dp.qsbr, rte_rcu_qsbr_start(c->dp.qsbr), true);
}

/* ---- publish-to-visible latency ---- */

void
ctl_note_publish(struct lp_ctl *c)
{
	c->pending_token = rte_rcu_qsbr_start(c->dp.qsbr);
	c->pending_since = rte_rdtsc();
}

static void
note_visible(struct lp_ctl *c, uint64_t now)
{
	c->last_change_cycles = now - c->pending_since;
	if (c->last_change_cycles > c->max_change_cycles)
		c->max_change_cycles = c->last_change_cycles;
	c->n_changes_visible++;
	c->pending_since = 0;
}

void
ctl_wait_visible(struct lp_ctl *c)
{
	if (c->pending_since == 0)
		return;
	rte_rcu_qsbr_check(c->dp.qsbr, c->pending_token, true);
	note_visible(c, rte_rdtsc());
}

void
ctl_check_visible(struct lp_ctl *c)
{
	/* Seen here, the latency is at most one control pass late. */
	if (c->pending_since != 0 && rte_rcu_qsbr_check(c->dp.qsbr, c->pending_token, false) == 1)
		note_visible(c, rte_rdtsc());
}

uint64_t
lp_ctl_last_change_cycles(struct lp_ctl *c)
{
	return c->last_change_cycles;
}

void
lp_ctl_rcu_view(struct lp_ctl *c, struct lp_rcu_view *v)
{
	v->last_cycles = c->last_change_cycles;
	v->max_cycles = c->max_change_cycles;
	v->changes = c->n_changes_visible;
	v->pending = c->pending_since != 0;
	v->hz = c->dp.hz;
}
