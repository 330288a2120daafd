/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Replicated bindings on the control thread: the glue between lib/cluster
 * and the affinity table.
 *
 * - Workers emit their own events (lib/worker/events.c); the control
 *   thread emits the changes it makes itself (moves off a down backend,
 *   rebalance, clears) with producer id n_workers.
 * - lp_cluster_poll() runs in every control pass; what other instances
 *   changed comes back through apply(), which installs it in the table
 *   with a compare-and-swap like any worker's change: flows already open
 *   keep the backend their flow entry holds, new connections take the new
 *   binding.
 * - Services are registered by name (the identity shared across
 *   instances) and their affinity timeout (the TTL in Redis); the list is
 *   brought up to date four times a second and before the warm start.
 * - An expired-looking binding is removed only once Redis says the client
 *   was idle on every instance (lp_cluster_check()).
 */
#include <errno.h>
#include <poll.h>
#include <string.h>

#include <arpa/inet.h>

#include <rte_cycles.h>
#include <rte_lcore.h>

#include "ctl_priv.h"
#include "lp_cluster.h"
#include "lp_ctl_cluster.h"
#include "lp_log.h"

struct ctl_cluster {
	struct lp_cluster *cl;
	uint32_t start_wait_s;
	uint64_t next_sync;		/* TSC of the next service registration check */
	struct {
		bool on;		/* registered with lib/cluster */
		bool refused;		/* its name cannot be a cluster name (said once) */
		uint16_t gen;
		uint32_t timeout_s;
	} reg[LP_MAX_SERVICES];
};

struct lp_cluster *
lp_ctl_cluster(struct lp_ctl *c)
{
	return c->cluster != NULL ? c->cluster->cl : NULL;
}

const char *
lp_ctl_binding_origin_name(uint8_t origin)
{
	switch (origin) {
	case LP_AFF_ORIGIN_LOCAL:
		return "local";
	case LP_CLUSTER_FROM_PEER:
		return "peer";
	case LP_CLUSTER_FROM_LOAD:
		return "loaded";
	case LP_CLUSTER_FROM_CONFLICT:
		return "conflict";
	default:
		return "peer";
	}
}

static uint64_t
tsc_clock(void)
{
	return rte_rdtsc();
}

static void
log_line(void *arg, int level, const char *line)
{
	(void)arg;
	/* syslog numbers (3 error .. 6 info) are rte_log's less one. */
	rte_log((uint32_t)level + 1, lp_logtype_ctl, "limpet: %s\n", line);
}

/* ---- bindings in and out ---- */

static uint8_t
svc_prefix(const struct lp_svc *s, uint8_t family)
{
	return family == LP_AF_INET ? s->prefix_v4 : s->prefix_v6;
}

/* Is (id, gen) a backend of this snapshot? Load counted for it may be given back. */
static bool
holds(const struct lp_svc *s, uint16_t id, uint16_t gen)
{
	return id < s->n_ids && s->be[id].gen == gen && s->be[id].state != LP_BE_ABSENT;
}

static void
load_add(struct lp_svc_load *l, uint16_t id)
{
	atomic_fetch_add_explicit(&l->active[id], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&l->total, 1, memory_order_relaxed);
}

static void
load_sub(struct lp_svc_load *l, uint16_t id)
{
	uint32_t v = atomic_load_explicit(&l->active[id], memory_order_relaxed);

	while (v > 0)
		if (atomic_compare_exchange_weak_explicit(&l->active[id], &v, v - 1, memory_order_relaxed,
							  memory_order_relaxed)) {
			atomic_fetch_sub_explicit(&l->total, 1, memory_order_relaxed);
			return;
		}
}

/* The backend named by address and port, or LP_SVC_ID_NONE. */
static uint16_t
backend_find(const struct lp_svc *s, const struct lp_cluster_backend *be)
{
	uint16_t port = htons(be->port);
	size_t len = be->family == LP_AF_INET ? 4 : 16;

	for (uint32_t id = 0; id < s->n_ids; id++) {
		const struct lp_svc_backend *b = &s->be[id];

		if (b->state != LP_BE_ABSENT && b->port == port && b->family == be->family &&
		    memcmp(b->addr, be->addr, len) == 0)
			return (uint16_t)id;
	}
	return LP_SVC_ID_NONE;
}

static void
backend_fill(const struct lp_svc *s, uint16_t id, struct lp_cluster_backend *be)
{
	memset(be, 0, sizeof(*be));
	memcpy(be->addr, s->be[id].addr, sizeof(be->addr));
	be->port = ntohs(s->be[id].port);
	be->family = s->be[id].family;
}

static void
key_fill(const struct lp_svc *s, const struct lp_aff_key *k, struct lp_cluster_key *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->addr, k->addr, sizeof(out->addr));
	out->svc_id = k->svc_id;
	out->family = k->family;
	out->prefix = svc_prefix(s, k->family);
}

/* A binding's time left in Redis, as the local clock's last activity:
 * never earlier than activity seen here, unless the entry is new here
 * (@p fresh: Redis's time is all there is). */
static void
set_seen(struct lp_aff_entry *e, const struct lp_svc *s, int64_t ttl_ms, uint32_t now_s, bool fresh)
{
	uint32_t seen = now_s, cur;

	if (ttl_ms >= 0) {
		uint64_t left_s = ((uint64_t)ttl_ms + 999) / 1000;

		seen = left_s >= s->aff_timeout_s ? now_s : now_s - (uint32_t)(s->aff_timeout_s - left_s);
	}
	cur = atomic_load_explicit(&e->last_seen, memory_order_relaxed);
	if (fresh) {
		atomic_store_explicit(&e->created, seen, memory_order_relaxed);
		atomic_store_explicit(&e->last_seen, seen, memory_order_relaxed);
	} else if ((int32_t)(seen - cur) > 0) {
		atomic_store_explicit(&e->last_seen, seen, memory_order_relaxed);
	}
}

/* Point the entry at backend @p id, as a worker would: compare-and-swap,
 * load moved from the old backend to the new one. */
static enum lp_cluster_result
bind_to(const struct lp_svc *s, struct lp_aff_entry *e, uint16_t id)
{
	uint16_t gen = s->be[id].gen;
	uint64_t t = lp_aff_target(e);

	for (int tries = 0; tries < 8; tries++) {
		uint64_t old = t;

		if (lp_aff_bound(t) && lp_aff_be_id(t) == id && lp_aff_be_gen(t) == gen)
			return LP_CLUSTER_UNCHANGED;
		if (!lp_aff_set(e, &t, id, gen))
			continue;	/* a worker changed it meanwhile: look again */
		if (lp_aff_bound(old) && holds(s, lp_aff_be_id(old), lp_aff_be_gen(old)))
			load_sub(s->load, lp_aff_be_id(old));
		load_add(s->load, id);
		return LP_CLUSTER_APPLIED;
	}
	return LP_CLUSTER_REJECTED;
}

static enum lp_cluster_result
apply(void *arg, const struct lp_cluster_update *u)
{
	struct lp_ctl *c = arg;
	struct lp_aff_table *t = c->dp.aff;
	const struct lp_svc *s = u->key.svc_id < LP_MAX_SERVICES ? lp_svc_get(&c->dp.svcs, u->key.svc_id) : NULL;
	uint32_t now_s = lp_dp_seconds(&c->dp, rte_rdtsc());
	enum lp_cluster_result r;
	struct lp_aff_entry *e;
	struct lp_aff_key k;
	bool fresh = false;
	hash_sig_t sig;
	uint16_t id;
	int32_t pos;

	/* A binding of a service this instance does not serve the same way
	 * (configurations differ during a rolling change) is refused. */
	if (s == NULL || !s->affinity || u->key.family != s->family || u->key.prefix != svc_prefix(s, u->key.family))
		return LP_CLUSTER_REJECTED;
	lp_aff_key_make(&k, u->key.svc_id, u->key.family, u->key.addr, u->key.prefix);
	sig = lp_aff_sig(t, &k);
	pos = lp_aff_lookup(t, &k, sig);
	if (u->op == LP_CLUSTER_DEL || u->op == LP_CLUSTER_GONE) {
		uint64_t tg;

		if (pos < 0)
			return LP_CLUSTER_UNCHANGED;
		e = &t->e[pos];
		tg = lp_aff_target(e);
		if (lp_aff_delete(t, (uint32_t)pos) != 0)
			return LP_CLUSTER_UNCHANGED;
		if (lp_aff_bound(tg) && holds(s, lp_aff_be_id(tg), lp_aff_be_gen(tg)))
			load_sub(s->load, lp_aff_be_id(tg));
		if (u->op == LP_CLUSTER_GONE)
			c->stats->svc[s->id].aff[LP_AFF_EXPIRED]++;
		return LP_CLUSTER_APPLIED;
	}
	/* Another instance's create: the first one Redis executed won (SET
	 * NX), so a bound, confirmed binding here stands. */
	if (u->op == LP_CLUSTER_ADD && pos >= 0 && lp_aff_bound(lp_aff_target(&t->e[pos])) &&
	    !lp_aff_provisional(&t->e[pos]))
		return LP_CLUSTER_UNCHANGED;
	id = backend_find(s, &u->be);
	if (id == LP_SVC_ID_NONE)
		return LP_CLUSTER_REJECTED;
	if (pos < 0) {
		pos = lp_aff_insert(t, &k, sig, now_s);
		if (pos < 0)
			return LP_CLUSTER_REJECTED;	/* table full */
		fresh = true;
	}
	e = &t->e[pos];
	r = bind_to(s, e, id);
	/* A worker that bound it first (between the insert and the swap) saw
	 * the client itself: its times stand. */
	fresh = fresh && r == LP_CLUSTER_APPLIED;
	if (r == LP_CLUSTER_APPLIED && (u->op == LP_CLUSTER_SET || u->op == LP_CLUSTER_ADD))
		atomic_store_explicit(&e->origin, u->origin, memory_order_relaxed);
	if (r != LP_CLUSTER_REJECTED) {
		/* Only confirmed bindings are replicated: one from Redis is
		 * confirmed here too (this thread is the only one that dooms). */
		if (lp_aff_provisional(e))
			atomic_store_explicit(&e->state, LP_AFF_ST_CONFIRMED, memory_order_relaxed);
		set_seen(e, s, u->ttl_ms, now_s, fresh);
	}
	return r;
}

/* Every bound local binding, for writing them all again when Redis lost its data. */
static unsigned int
walk(void *arg, uint64_t *cursor, struct lp_cluster_binding *out, unsigned int max)
{
	struct lp_ctl *c = arg;
	struct lp_aff_table *t = c->dp.aff;
	uint32_t now_s = lp_dp_seconds(&c->dp, rte_rdtsc());
	uint64_t pos = *cursor, end = pos + (uint64_t)max * 8;
	unsigned int n = 0;

	if (end > t->n_pos)
		end = t->n_pos;
	for (; pos < end && n < max; pos++) {
		struct lp_aff_entry *e = &t->e[pos];
		const struct lp_svc *s;
		uint64_t tg;

		if (!atomic_load_explicit(&e->used, memory_order_acquire) || e->key.svc_id >= LP_MAX_SERVICES)
			continue;
		s = lp_svc_get(&c->dp.svcs, e->key.svc_id);
		tg = lp_aff_target(e);
		if (s == NULL || !s->affinity || !lp_aff_bound(tg) || !holds(s, lp_aff_be_id(tg), lp_aff_be_gen(tg)) ||
		    lp_aff_provisional(e))
			continue;
		key_fill(s, &e->key, &out[n].key);
		backend_fill(s, lp_aff_be_id(tg), &out[n].be);
		out[n].idle_s = now_s - atomic_load_explicit(&e->last_seen, memory_order_relaxed);
		n++;
	}
	*cursor = pos >= t->n_pos ? 0 : pos;
	return n;
}

void
ctl_cluster_binding(struct lp_ctl *c, struct lp_aff_entry *e, uint64_t target, uint8_t kind)
{
	const struct lp_svc *s;
	struct lp_cluster_event ev;

	/* A provisional binding never left this instance. */
	if (c->cluster == NULL || e->key.svc_id >= LP_MAX_SERVICES || lp_aff_provisional(e))
		return;
	s = lp_svc_get(&c->dp.svcs, e->key.svc_id);
	if (s == NULL || !s->affinity)
		return;
	memset(&ev, 0, sizeof(ev));
	key_fill(s, &e->key, &ev.key);
	if (kind != LP_CLUSTER_EV_CLEAR) {
		if (!lp_aff_bound(target) || !holds(s, lp_aff_be_id(target), lp_aff_be_gen(target)))
			return;
		backend_fill(s, lp_aff_be_id(target), &ev.be);
		atomic_store_explicit(&e->origin, LP_AFF_ORIGIN_LOCAL, memory_order_relaxed);
	}
	ev.kind = kind;
	lp_cluster_emit(c->cluster->cl, c->dp.n_workers, &ev);
}

bool
ctl_cluster_expiry(struct lp_ctl *c, struct lp_aff_entry *e)
{
	const struct lp_svc *s;
	struct lp_cluster_key k;

	if (c->cluster == NULL || e->key.svc_id >= LP_MAX_SERVICES || lp_aff_provisional(e))
		return false;
	s = lp_svc_get(&c->dp.svcs, e->key.svc_id);
	if (s == NULL)
		return false;
	key_fill(s, &e->key, &k);
	/* Asked: the answer (alive elsewhere, or gone) comes through apply().
	 * Redis unreachable: expire on local knowledge. */
	return lp_cluster_check(c->cluster->cl, &k) == 0;
}

/* ---- services ---- */

static void
sync_services(struct lp_ctl *c)
{
	struct ctl_cluster *cc = c->cluster;

	for (uint32_t i = 0; i < LP_MAX_SERVICES; i++) {
		const struct msvc *s = c->svc[i];
		bool want = s != NULL && s->cfg.affinity;

		if (!want) {
			if (cc->reg[i].on)
				lp_cluster_service_del(cc->cl, (uint16_t)i);
			cc->reg[i].on = false;
			cc->reg[i].refused = false;
			continue;
		}
		if (cc->reg[i].on && cc->reg[i].gen == s->gen && cc->reg[i].timeout_s == s->cfg.affinity_timeout_s)
			continue;
		if (cc->reg[i].refused && cc->reg[i].gen == s->gen)
			continue;
		cc->reg[i].gen = s->gen;
		cc->reg[i].timeout_s = s->cfg.affinity_timeout_s;
		if (lp_cluster_service_set(cc->cl, (uint16_t)i, s->cfg.name, s->cfg.affinity_timeout_s) != 0) {
			LP_LOG(WARNING, ctl,
			       "cluster: service '%s' is not replicated: its name is not usable in Redis keys (%s)\n",
			       s->cfg.name, lp_cluster_name_problem(s->cfg.name));
			cc->reg[i].on = false;
			cc->reg[i].refused = true;
			continue;
		}
		cc->reg[i].on = true;
		cc->reg[i].refused = false;
	}
}

/* ---- lifecycle ---- */

int
ctl_cluster_create(struct lp_ctl *c, const struct lp_config *cfg, struct lp_diag *d)
{
	const struct lp_cfg_cluster *cc = &cfg->cluster;
	struct lp_cluster_params p = {
		.name = cc->name,
		.redis = cc->redis,
		.password_file = cc->password_file[0] != '\0' ? cc->password_file : NULL,
		.hz = c->dp.hz,
		.n_producers = c->dp.n_workers + 1,
		.apply = apply,
		.apply_arg = c,
		.walk = walk,
		.walk_arg = c,
		.log = log_line,
	};
	char err[256];

	if (!cc->enabled)
		return 0;
	c->cluster = calloc(1, sizeof(*c->cluster));
	if (c->cluster == NULL) {
		lp_diag_add(d, "cluster: out of memory");
		return -ENOMEM;
	}
	c->cluster->start_wait_s = cc->start_wait_s;
	c->cluster->cl = lp_cluster_create(&p, err, sizeof(err));
	if (c->cluster->cl == NULL) {
		lp_diag_add(d, "%s:%u:%u: cluster: %s", cfg->path != NULL ? cfg->path : "config", cc->pos.line,
			cc->pos.col, err);
		free(c->cluster);
		c->cluster = NULL;
		return -EINVAL;
	}
	c->dp.cluster = c->cluster->cl;
	sync_services(c);
	LP_LOG(INFO, ctl, "cluster '%s': bindings replicated through Redis at %s\n", cc->name, cc->redis);
	return 0;
}

void
ctl_cluster_destroy(struct lp_ctl *c)
{
	if (c->cluster == NULL)
		return;
	c->dp.cluster = NULL;
	lp_cluster_destroy(c->cluster->cl);
	free(c->cluster);
	c->cluster = NULL;
}

void
ctl_cluster_poll(struct lp_ctl *c, uint64_t now)
{
	struct ctl_cluster *cc = c->cluster;
	int fd;

	if (cc == NULL)
		return;
	if (now >= cc->next_sync) {
		sync_services(c);
		cc->next_sync = now + c->dp.hz / 4;
	}
	lp_cluster_poll(cc->cl, now);
	fd = lp_cluster_fd(cc->cl);
	if (fd >= 0) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 0) > 0 && (p.revents & POLLIN))
			c->work++;	/* Redis has more to say: poll again soon */
	}
}

int
ctl_cluster_restart_only(const struct lp_ctl *c, const struct lp_config *next, struct lp_diag *d)
{
	if (lp_config_cluster_equal(&c->cfg->cluster, &next->cluster))
		return 0;
	if (next->cluster.enabled)
		lp_diag_add(d, "%s:%u:%u: cluster changed: the cluster section changes only with a restart", next->path,
			next->cluster.pos.line, next->cluster.pos.col);
	else
		lp_diag_add(d, "%s: cluster removed: the cluster section changes only with a restart", next->path);
	return -EINVAL;
}

int
lp_ctl_cluster_warm_start(struct lp_ctl *c, bool (*stop)(void))
{
	if (c->cluster == NULL)
		return 0;
	sync_services(c);
	return lp_cluster_wait_loaded_or(c->cluster->cl, c->cluster->start_wait_s * 1000u, tsc_clock, stop);
}

bool
lp_ctl_cluster_loaded(struct lp_ctl *c)
{
	return c->cluster == NULL || lp_cluster_loaded(c->cluster->cl);
}

int
lp_ctl_cluster_flush(struct lp_ctl *c, uint32_t timeout_ms)
{
	if (c->cluster == NULL)
		return 0;
	return lp_cluster_flush(c->cluster->cl, timeout_ms, tsc_clock);
}
