/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The model: services and backends as the control thread knows them. It
 * answers questions (which service, which backend, what state and weight)
 * and edits private copies for a change; it publishes nothing and calls
 * nothing else of lib/ctl but the allocator. What a backend holds outside
 * the model (a counter slot, a next-hop reference, a load count) is taken
 * when a change adds it and given back when the change is abandoned or,
 * once no worker can use it any more, when it left.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_malloc.h>

#include "ctl_priv.h"
#include "lp_log.h"

void
ctl_svc_set(struct lp_ctl *c, uint32_t id, struct msvc *s)
{
	c->svc[id] = s;
	c->sorted_stale = true;
}

static int
svc_name_cmp(const void *a, const void *b)
{
	const struct msvc *x = *(const struct msvc *const *)a, *y = *(const struct msvc *const *)b;

	return strcmp(x->cfg.name, y->cfg.name);
}

uint32_t
ctl_svc_sorted(struct lp_ctl *c, struct msvc *const **list)
{
	if (c->sorted_stale) {
		uint32_t n = 0;

		for (uint32_t i = 0; i < LP_MAX_SERVICES; i++)
			if (c->svc[i] != NULL)
				c->svc_sorted[n++] = c->svc[i];
		qsort(c->svc_sorted, n, sizeof(c->svc_sorted[0]), svc_name_cmp);
		c->n_sorted = n;
		c->sorted_stale = false;
	}
	*list = c->svc_sorted;
	return c->n_sorted;
}

static int
svc_key_cmp(const void *key, const void *elem)
{
	return strcmp(key, (*(const struct msvc *const *)elem)->cfg.name);
}

struct msvc *
ctl_svc_find(struct lp_ctl *c, const char *name)
{
	struct msvc *const *list;
	uint32_t n = ctl_svc_sorted(c, &list);
	struct msvc *const *hit = bsearch(name, list, n, sizeof(list[0]), svc_key_cmp);

	return hit != NULL ? *hit : NULL;
}

static int
be_cmp(const struct lp_ip *a, uint16_t ap, const struct lp_ip *b, uint16_t bp)
{
	int r = lp_ip_cmp(a, b);

	return r != 0 ? r : (ap > bp) - (ap < bp);
}

struct mbe *
ctl_be_find(struct msvc *s, const struct lp_ip *addr, uint16_t port)
{
	for (uint32_t i = 0; i < s->n_be; i++)
		if (be_cmp(&s->be[i].cfg.addr, s->be[i].cfg.port, addr, port) == 0)
			return &s->be[i];
	return NULL;
}

struct mbe *
ctl_be_by_id(struct msvc *s, uint16_t id)
{
	for (uint32_t i = 0; i < s->n_be; i++)
		if (s->be[i].id == id)
			return &s->be[i];
	return NULL;
}

bool
ctl_be_holds(const struct msvc *s, uint16_t id, uint16_t gen)
{
	return s != NULL && id < LP_SVC_MAX_BACKENDS && s->id_used[id] && s->id_gen[id] == gen;
}

uint8_t
ctl_be_state(const struct msvc *s, const struct mbe *b)
{
	(void)s;
	if (b->cfg.state == LP_BACKEND_DOWN || !b->healthy)
		return LP_BE_DOWN;
	if (b->removing || b->cfg.state == LP_BACKEND_DRAINING)
		return LP_BE_DRAINING;
	return LP_BE_UP;
}

/* Slow start: the effective weight of a backend that became eligible less
 * than slowStartSeconds ago grows linearly from 1 to its weight. */
uint32_t
ctl_be_weight(const struct lp_ctl *c, const struct msvc *s, const struct mbe *b, uint64_t now)
{
	uint64_t span = (uint64_t)s->cfg.slow_start_s * c->dp.hz;
	uint64_t el;
	uint32_t w;

	if (span == 0 || b->cfg.weight == 0 || now < b->eligible_since)
		return b->cfg.weight;
	el = now - b->eligible_since;
	if (el >= span)
		return b->cfg.weight;
	w = (uint32_t)((uint64_t)b->cfg.weight * el / span);
	return w == 0 ? 1 : w;
}

/* ---- copies for a change ---- */

struct msvc *
ctl_svc_copy(const struct msvc *s)
{
	struct msvc *n = ctl_malloc(sizeof(*n));

	if (n == NULL)
		return NULL;
	*n = *s;
	n->cap_be = s->n_be > 8 ? s->n_be : 8;
	n->be = ctl_calloc(n->cap_be, sizeof(*n->be));
	if (n->be == NULL) {
		free(n);
		return NULL;
	}
	if (s->n_be > 0)
		memcpy(n->be, s->be, s->n_be * sizeof(*n->be));
	return n;
}

struct msvc *
ctl_svc_new(const struct lp_cfg_service *cfg, uint16_t id, uint16_t gen, struct lp_svc_load *load)
{
	struct msvc *s = ctl_calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->cfg = *cfg;
	s->cfg.backends = NULL;
	s->cfg.n_backends = 0;
	s->id = id;
	s->gen = gen;
	s->load = load;
	return s;
}

void
ctl_svc_free(struct msvc *s)
{
	if (s == NULL)
		return;
	free(s->be);
	free(s);
}

void
ctl_svc_carry(struct msvc *to, const struct msvc *from)
{
	uint32_t k = 0;

	to->rebalance_budget = from->rebalance_budget;
	to->rebalance_sec = from->rebalance_sec;
	/* Both sorted by address:port: one merge walk. */
	for (uint32_t i = 0; i < to->n_be; i++) {
		struct mbe *b = &to->be[i];

		while (k < from->n_be &&
		       be_cmp(&from->be[k].cfg.addr, from->be[k].cfg.port, &b->cfg.addr, b->cfg.port) < 0)
			k++;
		if (k < from->n_be && from->be[k].id == b->id && from->be[k].gen == b->gen) {
			b->scan = from->be[k].scan;
			b->hc = from->be[k].hc;
		}
	}
}

/* ---- what a backend holds outside the model ---- */

static int
gslot_take(struct lp_ctl *c)
{
	for (uint32_t k = 0; k < LP_STATS_BE_SLOTS; k++) {
		uint32_t g = (c->gslot_hint + k) % LP_STATS_BE_SLOTS;

		if (!c->gslot_used[g]) {
			c->gslot_used[g] = 1;
			c->gslot_hint = g + 1;
			return (int)g;
		}
	}
	return -ENOSPC;
}

/* Where a backend's packets go: out of the port whose prefix holds it (its
 * own neighbor entry), else via a gateway. Neighbor entries are counted so
 * the last backend using one frees it. Taken when the backend goes live,
 * so a change that is abandoned never touched the neighbor table. */
static int
be_resolve(struct lp_ctl *c, struct mbe *b)
{
	uint32_t gw;
	int port = lp_route_lookup(&c->dp.routes, b->cfg.addr.family, b->cfg.addr.a, &gw);
	int32_t pos;

	b->nbr = LP_NBR_NONE;
	if (port < 0)
		return -ENETUNREACH;
	b->tx_port = (uint16_t)port;
	if (gw != LP_NBR_NONE) {
		b->nbr = gw;
		c->dp.nbr->e[gw].refs++;
		return 0;
	}
	pos = lp_nbr_get(c->dp.nbr, &b->cfg.addr, (uint16_t)port);
	if (pos < 0)
		return pos;
	b->nbr = (uint32_t)pos;
	c->dp.nbr->e[pos].refs++;
	return 0;
}

/* Drop a backend's reference to its next hop; the last reference of an
 * entry that is neither static nor a gateway deletes it. */
static void
be_unresolve(struct lp_ctl *c, struct mbe *b)
{
	struct lp_nbr_entry *e;

	if (b->nbr == LP_NBR_NONE)
		return;
	e = &c->dp.nbr->e[b->nbr];
	if (e->refs > 0 && --e->refs == 0 && e->state != LP_NBR_STATIC) {
		bool gateway = false;

		for (uint32_t p = 0; p < c->dp.routes.n_ports; p++)
			gateway |= c->dp.routes.port[p].gw_nbr[0] == b->nbr ||
				   c->dp.routes.port[p].gw_nbr[1] == b->nbr;
		if (!gateway)
			lp_nbr_delete(c->dp.nbr, b->nbr);
	}
	b->nbr = LP_NBR_NONE;
}

int
ctl_be_add(struct lp_ctl *c, struct msvc *s, const struct lp_cfg_backend *cfg, uint64_t now,
	   struct lp_diag *err)
{
	char a[LP_ENDPOINT_STRLEN];
	uint32_t id, i;
	struct mbe *b;
	int g;

	if (ctl_be_find(s, &cfg->addr, cfg->port) != NULL) {
		lp_diag_add(err, "service '%s': backend %s exists", s->cfg.name,
			    lp_endpoint_format(&cfg->addr, cfg->port, a, sizeof(a)));
		return -EEXIST;
	}
	if (cfg->weight > 65535) {
		lp_diag_add(err, "weight %u out of range 0..65535", cfg->weight);
		return -ERANGE;
	}
	if (cfg->addr.family != LP_AF_INET && cfg->addr.family != LP_AF_INET6) {
		lp_diag_add(err, "service '%s': backend address missing", s->cfg.name);
		return -EINVAL;
	}
	if (s->cfg.forwarding != LP_FWD_TUNNEL && cfg->addr.family != s->cfg.vip.family) {
		lp_diag_add(err, "service '%s': backend %s is not of the VIP's address family", s->cfg.name,
			    lp_ip_format(&cfg->addr, a, sizeof(a)));
		return -EINVAL;
	}
	for (id = 0; id < LP_SVC_MAX_BACKENDS && s->id_used[id]; id++)
		;
	if (id == LP_SVC_MAX_BACKENDS) {
		lp_diag_add(err, "service '%s': at most %u backends", s->cfg.name, LP_SVC_MAX_BACKENDS);
		return -ENOSPC;
	}
	if (s->n_be == s->cap_be) {
		uint32_t cap = s->cap_be ? s->cap_be * 2 : 8;
		struct mbe *nb = ctl_realloc(s->be, cap * sizeof(*nb));

		if (nb == NULL) {
			lp_diag_add(err, "out of memory");
			return -ENOMEM;
		}
		s->be = nb;
		s->cap_be = cap;
	}
	g = gslot_take(c);
	if (g < 0) {
		lp_diag_add(err, "at most %u backends in all services", LP_STATS_BE_SLOTS);
		return g;
	}
	for (i = 0; i < s->n_be && be_cmp(&s->be[i].cfg.addr, s->be[i].cfg.port, &cfg->addr, cfg->port) < 0; i++)
		;
	memmove(&s->be[i + 1], &s->be[i], (s->n_be - i) * sizeof(*b));
	s->n_be++;
	b = &s->be[i];
	memset(b, 0, sizeof(*b));
	b->cfg = *cfg;
	b->id = (uint16_t)id;
	b->gen = ++s->id_gen[id];
	s->id_used[id] = 1;
	b->gslot = (uint32_t)g;
	b->healthy = true;
	b->eligible_since = now;
	b->added_at = now;
	b->nbr = LP_NBR_NONE;	/* resolved when it goes live (ctl_be_commit()) */
	return 0;
}

void
ctl_be_drop(struct msvc *s, struct mbe *b)
{
	uint32_t i = (uint32_t)(b - s->be);

	s->id_used[b->id] = 0;
	memmove(&s->be[i], &s->be[i + 1], (s->n_be - i - 1) * sizeof(*b));
	s->n_be--;
}

void
ctl_be_unadd(struct lp_ctl *c, struct mbe *b)
{
	c->gslot_used[b->gslot] = 0;
}

void
ctl_be_release(struct lp_ctl *c, struct lp_svc_load *load, struct mbe *b)
{
	uint32_t left = atomic_exchange(&load->active[b->id], 0);

	/* Its bindings/flows are no longer counted anywhere: they are
	 * re-chosen when next used (or were purged). */
	atomic_fetch_sub(&load->total, left);
	be_unresolve(c, b);
	c->gslot_used[b->gslot] = 0;
}

void
ctl_be_commit(struct lp_ctl *c, const struct msvc *s, struct mbe *b)
{
	char a[LP_IP_STRLEN];

	if (be_resolve(c, b) != 0)
		LP_LOG(WARNING, ctl, "service '%s': no route to backend %s\n", s->cfg.name,
		       lp_ip_format(&b->cfg.addr, a, sizeof(a)));
	/* A reused slot starts from zero for its new backend. */
	for (uint32_t w = 0; w < c->dp.n_workers; w++)
		memset(&c->worker_stats[w]->be[b->gslot], 0, sizeof(struct lp_be_stats));
	memset(&c->stats->be[b->gslot], 0, sizeof(struct lp_be_stats));
	atomic_store(&s->load->active[b->id], 0);
}

/* ---- the running configuration ---- */

struct lp_config *
ctl_model_render(struct lp_ctl *c)
{
	struct lp_config *r = CTL_ALLOC(lp_config_dup(c->cfg));
	uint32_t n = 0;

	if (r == NULL)
		return NULL;
	for (uint32_t i = 0; i < LP_MAX_SERVICES; i++)
		n += c->svc[i] != NULL;
	r->services = ctl_calloc(n, sizeof(*r->services));
	if (r->services == NULL) {
		lp_config_free(r);
		return NULL;
	}
	for (uint32_t i = 0; i < LP_MAX_SERVICES; i++) {
		const struct msvc *s = c->svc[i];
		struct lp_cfg_service *o;
		uint32_t nb = 0;

		if (s == NULL)
			continue;
		o = &r->services[r->n_services++];
		*o = s->cfg;
		o->backends = ctl_calloc(s->n_be, sizeof(*o->backends));
		if (o->backends == NULL) {
			lp_config_free(r);
			return NULL;
		}
		for (uint32_t k = 0; k < s->n_be; k++)
			if (!s->be[k].removing)
				o->backends[nb++] = s->be[k].cfg;
		o->n_backends = nb;
	}
	return r;
}

void
ctl_model_free(struct lp_ctl *c)
{
	for (uint32_t i = 0; i < LP_MAX_SERVICES; i++) {
		struct msvc *s = c->svc[i];

		if (s == NULL)
			continue;
		rte_free(s->load);
		ctl_svc_free(s);
		ctl_svc_set(c, i, NULL);
	}
}
