/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The model: services and backends as the control thread knows them, and
 * the one path every change takes to the workers: update the model, build
 * a snapshot, publish it, retire the old one after a grace period.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "ctl_priv.h"
#include "lp_log.h"

/* After a backend is added to a service with `rebalance: idle`, idle
 * bindings may move to it for this long. */
#define REBALANCE_WINDOW_S 60u

void
ctl_err(struct lp_diag *d, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (d == NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (msg == NULL)
		return;
	if (d->n == d->cap) {
		uint32_t cap = d->cap ? d->cap * 2 : 8;
		char **m = realloc(d->msg, cap * sizeof(*m));

		if (m == NULL) {
			free(msg);
			return;
		}
		d->msg = m;
		d->cap = cap;
	}
	d->msg[d->n++] = msg;
}

static const char *
ipstr(const struct lp_ip *ip, char *buf)
{
	return lp_ip_format(ip, buf, LP_IP_STRLEN);
}

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
ctl_be_weight(struct lp_ctl *c, const struct msvc *s, const struct mbe *b, uint64_t now)
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

/* Where a backend's packets go: out of the port whose prefix holds it (its
 * own neighbor entry), else via a gateway. Neighbor entries are counted so
 * the last backend using one frees it. */
int
ctl_be_resolve(struct lp_ctl *c, struct mbe *b)
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

static void
svc_snapshot_free(void *p)
{
	lp_svc_free(p);
}

static void
index_free(void *p)
{
	lp_svc_index_free(p);
}

static void
load_free(void *p)
{
	rte_free(p);
}

/* Remember the publish so lp_ctl_poll() can measure when every worker has
 * seen it (a grace period after the store). */
static void
note_publish(struct lp_ctl *c)
{
	c->pending_token = rte_rcu_qsbr_start(c->dp.qsbr);
	c->pending_since = rte_rdtsc();
}

int
ctl_publish_index(struct lp_ctl *c)
{
	struct lp_svc *snaps[LP_MAX_SERVICES];
	struct lp_idx_own own[LP_MAX_PORTS * LP_PORT_ADDRS_MAX];
	struct lp_svc_index *ix, *old;
	uint32_t n_own = 0;

	for (uint32_t i = 0; i < LP_MAX_SERVICES; i++)
		snaps[i] = lp_svc_get(&c->dp.svcs, i);
	for (uint32_t p = 0; p < c->cfg->n_ports; p++)
		for (uint32_t a = 0; a < c->cfg->ports[p].n_addrs; a++) {
			own[n_own].addr = c->cfg->ports[p].addr[a];
			own[n_own].port_index = p;
			n_own++;
		}
	ix = lp_svc_index_build(snaps, LP_MAX_SERVICES, own, n_own);
	if (ix == NULL)
		return -ENOMEM;
	old = lp_svc_index_publish(&c->dp.svcs, ix);
	if (old != NULL)
		lp_retire_defer(c->retire, index_free, old);
	return 0;
}

/* Build and publish service @s from the model. */
int
ctl_publish(struct lp_ctl *c, struct msvc *s, uint64_t now)
{
	struct lp_svc_backend_spec *bs;
	struct lp_svc_spec spec;
	struct lp_svc *snap, *old;

	bs = calloc(s->n_be ? s->n_be : 1, sizeof(*bs));
	if (bs == NULL)
		return -ENOMEM;
	s->ramping = false;
	for (uint32_t i = 0; i < s->n_be; i++) {
		const struct mbe *b = &s->be[i];

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
			s->ramping = true;
	}
	memset(&spec, 0, sizeof(spec));
	spec.name = s->cfg.name;
	spec.id = s->id;
	spec.gen = s->gen;
	spec.proto = s->cfg.proto;
	spec.mode = s->cfg.forwarding;
	spec.sched = s->cfg.scheduler;
	spec.affinity = s->cfg.affinity;
	spec.prefix_v4 = s->cfg.prefix_v4;
	spec.prefix_v6 = s->cfg.prefix_v6;
	spec.vip = s->cfg.vip;
	spec.port = s->cfg.port;
	spec.aff_timeout_s = s->cfg.affinity_timeout_s;
	spec.bounded_load = s->cfg.bounded_load;
	spec.tunnel_src4 = s->cfg.tunnel_src4;
	spec.tunnel_src4_len = s->cfg.tunnel_src4_len;
	spec.tunnel_src6 = s->cfg.tunnel_src6;
	spec.tunnel_src6_len = s->cfg.tunnel_src6_len;
	spec.maglev_size = s->cfg.maglev_size;
	spec.n_backends = s->n_be;
	spec.backends = bs;
	spec.load = s->load;
	snap = lp_svc_build(&spec);
	free(bs);
	if (snap == NULL)
		return -errno;
	old = lp_svc_publish(&c->dp.svcs, s->id, snap);
	note_publish(c);
	if (old != NULL)
		lp_retire_defer(c->retire, svc_snapshot_free, old);
	return ctl_publish_index(c);
}

/* Publish, then wait until every worker uses the new snapshot: when a
 * command returns, its change is in force everywhere. */
static int
publish_visible(struct lp_ctl *c, struct msvc *s, uint64_t now)
{
	int ret = ctl_publish(c, s, now);

	if (ret == 0)
		ctl_wait_visible(c);
	return ret;
}

static int
alloc_gslot(struct lp_ctl *c)
{
	for (uint32_t k = 0; k < LP_STATS_BE_SLOTS; k++) {
		uint32_t g = (c->gslot_hint + k) % LP_STATS_BE_SLOTS;

		if (!c->gslot_used[g]) {
			c->gslot_used[g] = 1;
			c->gslot_hint = g + 1;
			/* A reused slot starts from zero for its new backend. */
			for (uint32_t w = 0; w < c->dp.n_workers; w++)
				memset(&c->worker_stats[w]->be[g], 0, sizeof(struct lp_be_stats));
			memset(&c->stats->be[g], 0, sizeof(struct lp_be_stats));
			return (int)g;
		}
	}
	return -ENOSPC;
}

/* Add a backend to the model (not published). */
static int
model_be_add(struct lp_ctl *c, struct msvc *s, const struct lp_cfg_backend *cfg, uint64_t now,
	     struct lp_diag *err)
{
	char a[LP_IP_STRLEN + 8];
	uint32_t id, i;
	struct mbe *b;
	int g;

	if (ctl_be_find(s, &cfg->addr, cfg->port) != NULL) {
		ctl_err(err, "service '%s': backend %s exists", s->cfg.name,
			lp_endpoint_format(&cfg->addr, cfg->port, a, sizeof(a)));
		return -EEXIST;
	}
	if (cfg->weight > 65535) {
		ctl_err(err, "weight %u out of range 0..65535", cfg->weight);
		return -ERANGE;
	}
	if (cfg->addr.family != LP_AF_INET && cfg->addr.family != LP_AF_INET6) {
		ctl_err(err, "service '%s': backend address missing", s->cfg.name);
		return -EINVAL;
	}
	if (s->cfg.forwarding != LP_FWD_TUNNEL && cfg->addr.family != s->cfg.vip.family) {
		ctl_err(err, "service '%s': backend %s is not of the VIP's address family", s->cfg.name,
			ipstr(&cfg->addr, a));
		return -EINVAL;
	}
	for (id = 0; id < LP_SVC_MAX_BACKENDS && s->id_used[id]; id++)
		;
	if (id == LP_SVC_MAX_BACKENDS) {
		ctl_err(err, "service '%s': at most %u backends", s->cfg.name, LP_SVC_MAX_BACKENDS);
		return -ENOSPC;
	}
	if (s->n_be == s->cap_be) {
		uint32_t cap = s->cap_be ? s->cap_be * 2 : 8;
		struct mbe *nb = realloc(s->be, cap * sizeof(*nb));

		if (nb == NULL)
			return -ENOMEM;
		s->be = nb;
		s->cap_be = cap;
	}
	g = alloc_gslot(c);
	if (g < 0) {
		ctl_err(err, "at most %u backends in all services", LP_STATS_BE_SLOTS);
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
	atomic_store(&s->load->active[id], 0);
	if (ctl_be_resolve(c, b) != 0)
		LP_LOG(WARNING, ctl, "service '%s': no route to backend %s\n", s->cfg.name, ipstr(&cfg->addr, a));
	return 0;
}

/* Drop a backend from the model for good (not published). */
static void
model_be_remove(struct lp_ctl *c, struct msvc *s, struct mbe *b)
{
	uint32_t i = (uint32_t)(b - s->be);
	uint32_t left = atomic_exchange(&s->load->active[b->id], 0);

	/* Its bindings/flows are no longer counted anywhere: they are
	 * re-chosen when next used (or purged by the caller). */
	atomic_fetch_sub(&s->load->total, left);
	be_unresolve(c, b);
	s->id_used[b->id] = 0;
	c->gslot_used[b->gslot] = 0;
	memmove(&s->be[i], &s->be[i + 1], (s->n_be - i - 1) * sizeof(*b));
	s->n_be--;
}

static int
alloc_svc_id(struct lp_ctl *c)
{
	for (uint32_t i = 0; i < LP_MAX_SERVICES; i++)
		if (c->svc[i] == NULL && lp_svc_get(&c->dp.svcs, i) == NULL) {
			/* A reused id starts from zero for its new service, as a
			 * reused backend slot does (alloc_gslot). */
			for (uint32_t w = 0; w < c->dp.n_workers; w++)
				memset(&c->worker_stats[w]->svc[i], 0, sizeof(struct lp_svc_stats));
			memset(&c->stats->svc[i], 0, sizeof(struct lp_svc_stats));
			return (int)i;
		}
	return -ENOSPC;
}

static void
msvc_free(struct msvc *s)
{
	if (s == NULL)
		return;
	free(s->be);
	free(s);
}

/* Create a service in the model and publish it. */
int
ctl_svc_add(struct lp_ctl *c, const struct lp_cfg_service *cfg, uint64_t now, struct lp_diag *err)
{
	struct msvc *s;
	int id, ret;

	id = alloc_svc_id(c);
	if (id < 0) {
		ctl_err(err, "at most %u services", LP_MAX_SERVICES);
		return id;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->load = rte_zmalloc("lp_svc_load", sizeof(*s->load), RTE_CACHE_LINE_SIZE);
	if (s->load == NULL) {
		free(s);
		return -ENOMEM;
	}
	s->cfg = *cfg;
	s->cfg.backends = NULL;
	s->cfg.n_backends = 0;
	s->id = (uint16_t)id;
	s->gen = ++c->svc_gen[id];
	for (uint32_t i = 0; i < cfg->n_backends; i++) {
		ret = model_be_add(c, s, &cfg->backends[i], now, err);
		if (ret != 0)
			goto fail;
	}
	/* Backends listed in the config start at full weight: slow start is
	 * for backends that come up or are added while limpet runs. */
	for (uint32_t i = 0; i < s->n_be; i++) {
		s->be[i].eligible_since = 0;
		s->be[i].added_at = 0;
	}
	ctl_svc_set(c, id, s);
	ret = ctl_publish(c, s, now);
	if (ret != 0) {
		ctl_svc_set(c, id, NULL);
		goto fail;
	}
	return 0;
fail:
	while (s->n_be > 0)
		model_be_remove(c, s, &s->be[s->n_be - 1]);
	rte_free(s->load);
	msvc_free(s);
	return ret;
}

static void
model_svc_del(struct lp_ctl *c, struct msvc *s)
{
	struct lp_svc *old;

	ctl_svc_set(c, s->id, NULL);
	old = lp_svc_publish(&c->dp.svcs, s->id, NULL);
	note_publish(c);
	if (old != NULL)
		lp_retire_defer(c->retire, svc_snapshot_free, old);
	ctl_publish_index(c);
	/* Bindings must not outlive their service: a later service with the
	 * same id would otherwise inherit them. */
	ctl_affinity_purge(c, s->id, -1, NULL, LP_AFF_CLEARED);
	while (s->n_be > 0)
		model_be_remove(c, s, &s->be[s->n_be - 1]);
	lp_retire_defer(c->retire, load_free, s->load);
	msvc_free(s);
}

void
ctl_model_free(struct lp_ctl *c)
{
	for (uint32_t i = 0; i < LP_MAX_SERVICES; i++) {
		struct lp_svc *old = lp_svc_publish(&c->dp.svcs, i, NULL);

		lp_svc_free(old);
		if (c->svc[i] != NULL) {
			rte_free(c->svc[i]->load);
			msvc_free(c->svc[i]);
			ctl_svc_set(c, i, NULL);
		}
	}
	lp_svc_index_free(lp_svc_index_publish(&c->dp.svcs, NULL));
}

/* ---- public model operations ---- */

static struct msvc *
need_svc(struct lp_ctl *c, const char *name, struct lp_diag *err)
{
	struct msvc *s = ctl_svc_find(c, name);

	if (s == NULL)
		ctl_err(err, "no service '%s'", name);
	return s;
}

static struct mbe *
need_be(struct msvc *s, const struct lp_ip *addr, uint16_t port, struct lp_diag *err)
{
	struct mbe *b = ctl_be_find(s, addr, port);
	char a[LP_IP_STRLEN + 8];

	if (b == NULL)
		ctl_err(err, "service '%s' has no backend %s", s->cfg.name,
			lp_endpoint_format(addr, port, a, sizeof(a)));
	return b;
}

/* Check a service definition with the config's own rules against the
 * running services. */
static int
validate_with(struct lp_ctl *c, const struct lp_cfg_service *add, const char *replace, struct lp_diag *err)
{
	struct lp_config *cfg = lp_config_dup(lp_ctl_config(c));
	struct lp_cfg_service *sv;
	int ret;

	if (cfg == NULL)
		return -ENOMEM;
	if (replace != NULL) {
		int i = lp_config_service_find(cfg, replace);

		if (i >= 0)
			cfg->services[i].name[0] = '\0';
	}
	sv = realloc(cfg->services, (cfg->n_services + 1) * sizeof(*sv));
	if (sv == NULL) {
		lp_config_free(cfg);
		return -ENOMEM;
	}
	cfg->services = sv;
	/* Shallow copy: the backends belong to the caller; detach before free. */
	cfg->services[cfg->n_services++] = *add;
	if (replace != NULL) {
		/* Remove the replaced one entirely so it cannot clash. */
		for (uint32_t i = 0; i + 1 < cfg->n_services; i++)
			if (cfg->services[i].name[0] == '\0') {
				free(cfg->services[i].backends);
				memmove(&cfg->services[i], &cfg->services[i + 1],
					(cfg->n_services - i - 1) * sizeof(*sv));
				cfg->n_services--;
				break;
			}
	}
	ret = lp_config_validate(cfg, err);
	cfg->services[cfg->n_services - 1].backends = NULL;
	cfg->services[cfg->n_services - 1].n_backends = 0;
	lp_config_free(cfg);
	return ret;
}

int
lp_ctl_service_add(struct lp_ctl *c, const struct lp_cfg_service *svc, struct lp_diag *err)
{
	int ret;

	/* Said before validation, which would call it a duplicate "first at"
	 * a line of the file limpet started with. */
	if (ctl_svc_find(c, svc->name) != NULL) {
		ctl_err(err, "service '%s' exists", svc->name);
		return -EEXIST;
	}
	ret = validate_with(c, svc, NULL, err);
	if (ret != 0)
		return ret;
	ret = ctl_svc_add(c, svc, rte_rdtsc(), err);
	if (ret == 0)
		ctl_wait_visible(c);
	return ret;
}

int
lp_ctl_service_del(struct lp_ctl *c, const char *name, struct lp_diag *err)
{
	struct msvc *s = need_svc(c, name, err);

	if (s == NULL)
		return -ENOENT;
	model_svc_del(c, s);
	ctl_wait_visible(c);
	return 0;
}

int
lp_ctl_backend_add(struct lp_ctl *c, const char *svc, const struct lp_cfg_backend *be, struct lp_diag *err)
{
	struct msvc *s = need_svc(c, svc, err);
	uint64_t now = rte_rdtsc();
	int ret;

	if (s == NULL)
		return -ENOENT;
	ret = model_be_add(c, s, be, now, err);
	if (ret != 0)
		return ret;
	/* Scale-out: give idle bindings a chance to move to the newcomer. */
	if (s->cfg.rebalance == LP_REBALANCE_IDLE)
		s->rebalance_until = now + REBALANCE_WINDOW_S * c->dp.hz;
	return publish_visible(c, s, now);
}

static void
finish_removal(struct lp_ctl *c, struct msvc *s, struct mbe *b, enum lp_aff_reason why)
{
	ctl_affinity_purge(c, s->id, b->id, NULL, why);
	model_be_remove(c, s, b);
}

int
lp_ctl_backend_del(struct lp_ctl *c, const char *svc, const struct lp_ip *addr, uint16_t port,
		   struct lp_diag *err)
{
	struct msvc *s = need_svc(c, svc, err);
	uint64_t now = rte_rdtsc();
	struct mbe *b;

	if (s == NULL)
		return -ENOENT;
	b = need_be(s, addr, port, err);
	if (b == NULL)
		return -ENOENT;
	if (s->cfg.drain_timeout_s > 0 && ctl_be_state(s, b) != LP_BE_DOWN &&
	    atomic_load(&s->load->active[b->id]) > 0) {
		/* Terminating: keep its flows and bindings, send it nothing
		 * new; ctl_model_tick() removes it once it holds nothing or
		 * drainTimeoutSeconds have passed. */
		if (!b->removing) {
			b->removing = true;
			b->removing_since = now;
		}
		return publish_visible(c, s, now);
	}
	/* Removed at once: its bindings are not deleted but moved, by the
	 * next packet of their client or by the affinity scan (reason down). */
	model_be_remove(c, s, b);
	return publish_visible(c, s, now);
}

int
lp_ctl_backend_set_weight(struct lp_ctl *c, const char *svc, const struct lp_ip *addr, uint16_t port,
			  uint32_t weight, struct lp_diag *err)
{
	struct msvc *s = need_svc(c, svc, err);
	struct mbe *b;

	if (s == NULL)
		return -ENOENT;
	b = need_be(s, addr, port, err);
	if (b == NULL)
		return -ENOENT;
	if (weight > 65535) {
		ctl_err(err, "weight %u out of range 0..65535", weight);
		return -ERANGE;
	}
	b->cfg.weight = weight;
	return publish_visible(c, s, rte_rdtsc());
}

static void
set_eligibility(struct msvc *s, struct mbe *b, uint8_t before, uint64_t now)
{
	if (before != LP_BE_UP && ctl_be_state(s, b) == LP_BE_UP)
		b->eligible_since = now;
}

int
lp_ctl_backend_set_state(struct lp_ctl *c, const char *svc, const struct lp_ip *addr, uint16_t port,
			 enum lp_backend_state state, struct lp_diag *err)
{
	struct msvc *s = need_svc(c, svc, err);
	uint64_t now = rte_rdtsc();
	struct mbe *b;
	uint8_t before;

	if (s == NULL)
		return -ENOENT;
	b = need_be(s, addr, port, err);
	if (b == NULL)
		return -ENOENT;
	before = ctl_be_state(s, b);
	b->cfg.state = (uint8_t)state;
	if (state == LP_BACKEND_UP)
		b->removing = false;
	set_eligibility(s, b, before, now);
	return publish_visible(c, s, now);
}

int
lp_ctl_backend_set_health(struct lp_ctl *c, const char *svc, const struct lp_ip *addr, uint16_t port,
			  bool healthy, struct lp_diag *err)
{
	struct msvc *s = need_svc(c, svc, err);
	uint64_t now = rte_rdtsc();
	struct mbe *b;
	uint8_t before;

	if (s == NULL)
		return -ENOENT;
	b = need_be(s, addr, port, err);
	if (b == NULL)
		return -ENOENT;
	if (b->healthy == healthy)
		return 0;
	before = ctl_be_state(s, b);
	b->healthy = healthy;
	set_eligibility(s, b, before, now);
	return publish_visible(c, s, now);
}

int
lp_ctl_service_set_affinity(struct lp_ctl *c, const char *svc, int64_t timeout_s, int prefix,
			    struct lp_diag *err)
{
	struct msvc *s = need_svc(c, svc, err);

	if (s == NULL)
		return -ENOENT;
	if (!s->cfg.affinity) {
		ctl_err(err, "service '%s' has no session affinity (sessionAffinity: None)", svc);
		return -EINVAL;
	}
	if (timeout_s >= 0 && (timeout_s < 1 || timeout_s > 86400)) {
		ctl_err(err, "timeout %lld out of range 1..86400", (long long)timeout_s);
		return -ERANGE;
	}
	if (prefix >= 0 && prefix > (s->cfg.vip.family == LP_AF_INET ? 32 : 128)) {
		ctl_err(err, "prefix %d out of range 0..%d", prefix, s->cfg.vip.family == LP_AF_INET ? 32 : 128);
		return -ERANGE;
	}
	if (timeout_s >= 0)
		s->cfg.affinity_timeout_s = (uint32_t)timeout_s;
	if (prefix >= 0) {
		if (s->cfg.vip.family == LP_AF_INET)
			s->cfg.prefix_v4 = (uint8_t)prefix;
		else
			s->cfg.prefix_v6 = (uint8_t)prefix;
	}
	return publish_visible(c, s, rte_rdtsc());
}

int
lp_ctl_affinity_clear(struct lp_ctl *c, const char *svc, const struct lp_ip *client, struct lp_diag *err)
{
	struct msvc *s = need_svc(c, svc, err);
	struct lp_aff_key k;

	if (s == NULL)
		return -ENOENT;
	if (client == NULL)
		return ctl_affinity_purge(c, s->id, -1, NULL, LP_AFF_CLEARED);
	if (client->family != s->cfg.vip.family) {
		char a[LP_IP_STRLEN];

		ctl_err(err, "client %s is not of the service's address family", ipstr(client, a));
		return -EINVAL;
	}
	lp_aff_key_make(&k, s->id, client->family, client->a,
			client->family == LP_AF_INET ? s->cfg.prefix_v4 : s->cfg.prefix_v6);
	return ctl_affinity_purge(c, s->id, -1, &k, LP_AFF_CLEARED);
}

/* ---- periodic model work ---- */

void
ctl_model_tick(struct lp_ctl *c, uint64_t now)
{
	for (uint32_t i = 0; i < LP_MAX_SERVICES; i++) {
		struct msvc *s = c->svc[i];
		bool changed = s != NULL && s->ramping;

		if (s == NULL)
			continue;
		for (uint32_t k = 0; k < s->n_be;) {
			struct mbe *b = &s->be[k];
			bool timed_out = now - b->removing_since >= (uint64_t)s->cfg.drain_timeout_s * c->dp.hz;

			if (b->removing && (atomic_load(&s->load->active[b->id]) == 0 || timed_out ||
					    ctl_be_state(s, b) == LP_BE_DOWN)) {
				LP_LOG(INFO, ctl, "service '%s': drained backend removed%s\n", s->cfg.name,
				       timed_out ? " (drain timeout)" : "");
				finish_removal(c, s, b, LP_AFF_DRAINED);
				changed = true;
				continue;
			}
			k++;
		}
		if (changed)
			ctl_publish(c, s, now);
	}
}

/* ---- affinity: expiry, purge, rebalance, counting ---- */

static void
unbind_load(struct msvc *s, uint64_t t)
{
	uint16_t id = lp_aff_be_id(t);

	if (!lp_aff_bound(t) || id >= LP_SVC_MAX_BACKENDS || !s->id_used[id] ||
	    s->id_gen[id] != lp_aff_be_gen(t))
		return;
	for (;;) {
		uint32_t v = atomic_load(&s->load->active[id]);

		if (v == 0)
			return;
		if (atomic_compare_exchange_weak(&s->load->active[id], &v, v - 1)) {
			atomic_fetch_sub(&s->load->total, 1);
			return;
		}
	}
}

static struct mbe *
be_by_id(struct msvc *s, uint16_t id)
{
	for (uint32_t i = 0; i < s->n_be; i++)
		if (s->be[i].id == id)
			return &s->be[i];
	return NULL;
}

bool
ctl_aff_range(const struct lp_aff_table *t, const struct lp_aff_key *only, uint32_t *from, uint32_t *to)
{
	int32_t pos;

	*from = 0;
	*to = t->n_pos;
	if (only == NULL)
		return true;
	/* One client: its position, not a scan of the table. */
	pos = lp_aff_lookup(t, only, lp_aff_sig(t, only));
	if (pos < 0)
		return false;
	*from = (uint32_t)pos;
	*to = *from + 1;
	return true;
}

int
ctl_affinity_purge(struct lp_ctl *c, uint16_t svc_id, int be_id, const struct lp_aff_key *only,
		   enum lp_aff_reason why)
{
	struct lp_aff_table *t = c->dp.aff;
	struct msvc *s = c->svc[svc_id];
	uint32_t from, to;
	int n = 0;

	if (!ctl_aff_range(t, only, &from, &to))
		return 0;
	for (uint32_t pos = from; pos < to; pos++) {
		struct lp_aff_entry *e = &t->e[pos];
		uint64_t tg;

		if (!atomic_load_explicit(&e->used, memory_order_acquire) || e->key.svc_id != svc_id)
			continue;
		if (only != NULL && memcmp(&e->key, only, sizeof(*only)) != 0)
			continue;
		tg = lp_aff_target(e);
		if (be_id >= 0 && (!lp_aff_bound(tg) || lp_aff_be_id(tg) != be_id))
			continue;
		if (lp_aff_delete(t, pos) != 0)
			continue;
		if (s != NULL)
			unbind_load(s, tg);
		c->stats->svc[svc_id].aff[why]++;
		n++;
	}
	return n;
}

/* Re-choose a binding whose backend is down or removed, as a worker would. */
static void
move_binding(struct lp_ctl *c, struct msvc *s, const struct lp_svc *snap, struct lp_aff_entry *e, uint64_t t)
{
	uint32_t hash = lp_aff_client_hash(&e->key), idx;
	uint64_t expect = t;
	uint16_t id;

	if (snap->mg->n_active == 0)
		return;
	if (snap->bounded_load > 1.0)
		idx = lp_maglev_pick_bounded(snap->mg, hash, (const uint32_t *)s->load->active, snap->mg_id,
					     atomic_load(&s->load->total), snap->bounded_load);
	else
		idx = lp_maglev_lookup(snap->mg, hash);
	if (idx == LP_MAGLEV_NONE)
		return;
	id = (uint16_t)snap->mg_id[idx];
	if (!lp_aff_set(e, &expect, id, snap->be[id].gen))
		return;	/* a worker moved it first */
	unbind_load(s, t);
	atomic_fetch_add(&s->load->active[id], 1);
	atomic_fetch_add(&s->load->total, 1);
	c->stats->svc[s->id].aff[LP_AFF_DOWN]++;
}

/* Move an idle binding to its current Maglev choice after scale-out. */
static void
rebalance_one(struct lp_ctl *c, struct msvc *s, const struct lp_svc *snap, struct lp_aff_entry *e,
	      uint64_t t, uint32_t now_s)
{
	uint32_t hash, idx;
	uint16_t id;
	uint64_t expect = t;
	struct mbe *nb;

	if (s->rebalance_sec != now_s) {
		s->rebalance_sec = now_s;
		s->rebalance_budget = s->cfg.rebalance_rate;
	}
	if (s->rebalance_budget == 0 || atomic_load(&e->flows) != 0)
		return;
	hash = lp_aff_client_hash(&e->key);
	idx = lp_maglev_lookup(snap->mg, hash);
	if (idx == LP_MAGLEV_NONE)
		return;
	id = (uint16_t)snap->mg_id[idx];
	if (id == lp_aff_be_id(t))
		return;
	/* Only towards a backend added in the rebalance window: weights that
	 * ramp (slow start) change the table every second, and following
	 * every change would move a client back and forth between old
	 * backends for nothing. */
	nb = be_by_id(s, id);
	if (nb == NULL || nb->added_at == 0 || s->rebalance_until - nb->added_at > REBALANCE_WINDOW_S * c->dp.hz)
		return;
	if (!lp_aff_set(e, &expect, id, snap->be[id].gen))
		return;
	unbind_load(s, t);
	atomic_fetch_add(&s->load->active[id], 1);
	atomic_fetch_add(&s->load->total, 1);
	c->stats->svc[s->id].aff[LP_AFF_REBALANCED]++;
	s->rebalance_budget--;
}

void
ctl_affinity_scan(struct lp_ctl *c, uint64_t now, uint32_t budget)
{
	struct lp_aff_table *t = c->dp.aff;
	uint32_t now_s = lp_dp_seconds(&c->dp, now);

	while (budget-- > 0) {
		uint32_t pos = c->scan_cursor;
		struct lp_aff_entry *e = &t->e[pos];

		if (++c->scan_cursor == t->n_pos) {
			c->scan_cursor = 0;
			/* A full pass: publish the binding counts per backend. */
			for (uint32_t i = 0; i < LP_MAX_SERVICES; i++) {
				struct msvc *s = c->svc[i];

				for (uint32_t k = 0; s != NULL && k < s->n_be; k++) {
					s->be[k].bindings = s->be[k].scan_bindings;
					s->be[k].scan_bindings = 0;
					s->be[k].flows = s->be[k].scan_flows;
					s->be[k].scan_flows = 0;
				}
			}
		}
		if (atomic_load_explicit(&e->used, memory_order_acquire)) {
			uint16_t sid = e->key.svc_id;
			struct msvc *s = sid < LP_MAX_SERVICES ? c->svc[sid] : NULL;
			const struct lp_svc *snap = lp_svc_get(&c->dp.svcs, sid);
			uint64_t tg = lp_aff_target(e);
			uint32_t seen = atomic_load_explicit(&e->last_seen, memory_order_relaxed);

			if (s == NULL || snap == NULL) {
				lp_aff_delete(t, pos);
				continue;
			}
			if (now_s - seen > snap->aff_timeout_s && (int32_t)(now_s - seen) > 0) {
				if (lp_aff_delete(t, pos) == 0) {
					unbind_load(s, tg);
					c->stats->svc[sid].aff[LP_AFF_EXPIRED]++;
				}
				continue;
			}
			if (lp_aff_bound(tg) && !lp_svc_backend_valid(snap, lp_aff_be_id(tg), lp_aff_be_gen(tg))) {
				/* Its backend is down or gone: move the binding now, so a
				 * client that is quiet meanwhile does not return to a
				 * backend that comes back later. */
				move_binding(c, s, snap, e, tg);
				continue;
			}
			if (s->rebalance_until > now && lp_aff_bound(tg))
				rebalance_one(c, s, snap, e, tg, now_s);
			if (lp_aff_bound(tg)) {
				struct mbe *b = be_by_id(s, lp_aff_be_id(lp_aff_target(e)));

				if (b != NULL) {
					b->scan_bindings++;
					b->scan_flows += atomic_load_explicit(&e->flows, memory_order_relaxed);
				}
			}
		}
	}
	lp_aff_reclaim(t, false);
}
