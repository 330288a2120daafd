/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Changes one at a time: the CLI's commands and the health checker's
 * verdicts, each a change of one service (change.c) that returns once
 * every worker uses it; and the timed ones, from the control loop:
 * drained backends leave, slow-start weights ramp.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>

#include "ctl_priv.h"
#include "lp_log.h"

/* Slow-start republishes per timed pass, in Maglev slots (a table of the
 * largest size is built in ~15 ms): the rest wait for the next pass. */
#define RAMP_SLOTS_PER_PASS (1u << 21)

static struct msvc *
need_svc(struct lp_ctl *c, const char *name, struct lp_diag *err)
{
	struct msvc *s = ctl_svc_find(c, name);

	if (s == NULL)
		lp_diag_add(err, "no service '%s'", name);
	return s;
}

static struct mbe *
need_be(struct msvc *s, const struct lp_ip *addr, uint16_t port, struct lp_diag *err)
{
	struct mbe *b = ctl_be_find(s, addr, port);
	char a[LP_ENDPOINT_STRLEN];

	if (b == NULL)
		lp_diag_add(err, "service '%s' has no backend %s", s->cfg.name, lp_endpoint_format(addr, port, a, sizeof(a)));
	return b;
}

/* A change of one running service: its copy to edit in @p e. NULL (the
 * reason in @p err, -errno in @p ret) when no change can start now. */
static struct ctl_change *
begin(struct lp_ctl *c, struct msvc *s, struct svc_edit **e, int *ret, struct lp_diag *err)
{
	struct ctl_change *ch;

	*ret = ctl_change_idle(c, err);
	if (*ret != 0)
		return NULL;
	ch = ctl_change_new(c, rte_rdtsc());
	*e = ch != NULL && s != NULL ? ctl_change_edit(ch, s) : NULL;
	if (ch == NULL || (s != NULL && *e == NULL)) {
		if (ch != NULL)
			ctl_change_abort(ch);
		lp_diag_add(err, "out of memory: nothing changed");
		*ret = -ENOMEM;
		return NULL;
	}
	return ch;
}

/* The edit is planned (@p ret 0) or not: build, publish, wait until every
 * worker uses it; or give everything back. */
static int
end(struct ctl_change *ch, int ret, struct lp_diag *err)
{
	if (ret != 0) {
		ctl_change_abort(ch);
		return ret;
	}
	return ctl_change_run(ch, true, err);
}

/* Check a service definition with the config's own rules against the
 * running services (one of which, @p replace, it may replace). */
static int
validate_with(struct lp_ctl *c, const struct lp_cfg_service *add, struct lp_diag *err)
{
	struct lp_config *cfg = ctl_model_render(c);
	struct lp_cfg_service *sv;
	int ret;

	if (cfg == NULL) {
		lp_diag_add(err, "out of memory: nothing changed");
		return -ENOMEM;
	}
	sv = ctl_realloc(cfg->services, (cfg->n_services + 1) * sizeof(*sv));
	if (sv == NULL) {
		lp_config_free(cfg);
		lp_diag_add(err, "out of memory: nothing changed");
		return -ENOMEM;
	}
	cfg->services = sv;
	/* Shallow copy: the backends belong to the caller; detach before free. */
	cfg->services[cfg->n_services++] = *add;
	ret = lp_config_validate(cfg, err);
	cfg->services[cfg->n_services - 1].backends = NULL;
	cfg->services[cfg->n_services - 1].n_backends = 0;
	lp_config_free(cfg);
	return ret;
}

int
lp_ctl_service_add(struct lp_ctl *c, const struct lp_cfg_service *svc, struct lp_diag *err)
{
	struct ctl_change *ch;
	struct svc_edit *e;
	int ret;

	/* Said before validation, which would call it a duplicate "first at"
	 * a line of the file limpet started with. */
	if (ctl_svc_find(c, svc->name) != NULL) {
		lp_diag_add(err, "service '%s' exists", svc->name);
		return -EEXIST;
	}
	ret = ctl_change_idle(c, err);
	if (ret == 0)
		ret = validate_with(c, svc, err);
	if (ret != 0)
		return ret;
	ch = begin(c, NULL, &e, &ret, err);
	if (ch == NULL)
		return ret;
	return end(ch, ctl_change_add(ch, svc, err), err);
}

int
lp_ctl_service_del(struct lp_ctl *c, const char *name, struct lp_diag *err)
{
	struct msvc *s = need_svc(c, name, err);
	struct ctl_change *ch;
	struct svc_edit *e;
	int ret;

	if (s == NULL)
		return -ENOENT;
	ch = begin(c, NULL, &e, &ret, err);
	if (ch == NULL)
		return ret;
	ret = ctl_change_remove(ch, s, NOTE_NONE);
	if (ret != 0)
		lp_diag_add(err, "out of memory: nothing changed");
	return end(ch, ret, err);
}

int
lp_ctl_backend_add(struct lp_ctl *c, const char *svc, const struct lp_cfg_backend *be, struct lp_diag *err)
{
	struct msvc *s = need_svc(c, svc, err);
	struct ctl_change *ch;
	struct svc_edit *e;
	int ret;

	if (s == NULL)
		return -ENOENT;
	ch = begin(c, s, &e, &ret, err);
	if (ch == NULL)
		return ret;
	ret = ctl_be_add(c, e->new, be, ctl_change_now(ch), err);
	/* Scale-out: give idle bindings a chance to move to the newcomer. */
	if (ret == 0 && s->cfg.rebalance == LP_REBALANCE_IDLE)
		e->new->rebalance_until = ctl_change_now(ch) + REBALANCE_WINDOW_S * c->dp.hz;
	return end(ch, ret, err);
}

int
lp_ctl_backend_del(struct lp_ctl *c, const char *svc, const struct lp_ip *addr, uint16_t port,
		   struct lp_diag *err)
{
	struct msvc *s = need_svc(c, svc, err);
	struct ctl_change *ch;
	struct svc_edit *e;
	struct mbe *b;
	int ret;

	if (s == NULL)
		return -ENOENT;
	if (need_be(s, addr, port, err) == NULL)
		return -ENOENT;
	ch = begin(c, s, &e, &ret, err);
	if (ch == NULL)
		return ret;
	b = ctl_be_find(e->new, addr, port);
	if (s->cfg.drain_timeout_s > 0 && ctl_be_state(e->new, b) != LP_BE_DOWN &&
	    atomic_load(&s->load->active[b->id]) > 0) {
		/* Terminating: keep its flows and bindings, send it nothing
		 * new; ctl_timed_changes() removes it once it holds nothing or
		 * drainTimeoutSeconds have passed. */
		if (!b->removing) {
			b->removing = true;
			b->removing_since = ctl_change_now(ch);
		}
	} else {
		/* Removed at once: its bindings are not deleted but moved, by
		 * the next packet of their client or by the affinity scan
		 * (reason down). */
		ctl_be_drop(e->new, b);
	}
	return end(ch, 0, err);
}

int
lp_ctl_backend_set_weight(struct lp_ctl *c, const char *svc, const struct lp_ip *addr, uint16_t port,
			  uint32_t weight, struct lp_diag *err)
{
	struct msvc *s = need_svc(c, svc, err);
	struct ctl_change *ch;
	struct svc_edit *e;
	int ret;

	if (s == NULL)
		return -ENOENT;
	if (need_be(s, addr, port, err) == NULL)
		return -ENOENT;
	if (weight > 65535) {
		lp_diag_add(err, "weight %u out of range 0..65535", weight);
		return -ERANGE;
	}
	ch = begin(c, s, &e, &ret, err);
	if (ch == NULL)
		return ret;
	ctl_be_find(e->new, addr, port)->cfg.weight = weight;
	return end(ch, 0, err);
}

static void
set_eligibility(const struct msvc *s, struct mbe *b, uint8_t before, uint64_t now)
{
	if (before != LP_BE_UP && ctl_be_state(s, b) == LP_BE_UP)
		b->eligible_since = now;
}

int
lp_ctl_backend_set_state(struct lp_ctl *c, const char *svc, const struct lp_ip *addr, uint16_t port,
			 enum lp_backend_state state, struct lp_diag *err)
{
	struct msvc *s = need_svc(c, svc, err);
	struct ctl_change *ch;
	struct svc_edit *e;
	struct mbe *b;
	uint8_t before;
	int ret;

	if (s == NULL)
		return -ENOENT;
	if (need_be(s, addr, port, err) == NULL)
		return -ENOENT;
	ch = begin(c, s, &e, &ret, err);
	if (ch == NULL)
		return ret;
	b = ctl_be_find(e->new, addr, port);
	before = ctl_be_state(e->new, b);
	b->cfg.state = (uint8_t)state;
	if (state == LP_BACKEND_UP)
		b->removing = false;
	set_eligibility(e->new, b, before, ctl_change_now(ch));
	return end(ch, 0, err);
}

int
lp_ctl_backend_set_health(struct lp_ctl *c, const char *svc, const struct lp_ip *addr, uint16_t port,
			  bool healthy, struct lp_diag *err)
{
	struct msvc *s = need_svc(c, svc, err);
	struct ctl_change *ch;
	struct svc_edit *e;
	struct mbe *b;
	uint8_t before;
	int ret;

	if (s == NULL)
		return -ENOENT;
	b = need_be(s, addr, port, err);
	if (b == NULL)
		return -ENOENT;
	if (b->healthy == healthy)
		return 0;
	ch = begin(c, s, &e, &ret, err);
	if (ch == NULL)
		return ret;
	b = ctl_be_find(e->new, addr, port);
	before = ctl_be_state(e->new, b);
	b->healthy = healthy;
	set_eligibility(e->new, b, before, ctl_change_now(ch));
	return end(ch, 0, err);
}

int
lp_ctl_service_set_affinity(struct lp_ctl *c, const char *svc, int64_t timeout_s, int prefix,
			    struct lp_diag *err)
{
	struct msvc *s = need_svc(c, svc, err);
	int max_prefix = s != NULL && s->cfg.vip.family == LP_AF_INET ? 32 : 128;
	struct ctl_change *ch;
	struct svc_edit *e;
	int ret;

	if (s == NULL)
		return -ENOENT;
	if (!s->cfg.affinity) {
		lp_diag_add(err, "service '%s' has no session affinity (sessionAffinity: None)", svc);
		return -EINVAL;
	}
	if (timeout_s >= 0 && (timeout_s < 1 || timeout_s > 86400)) {
		lp_diag_add(err, "timeout %lld out of range 1..86400", (long long)timeout_s);
		return -ERANGE;
	}
	if (prefix >= 0 && prefix > max_prefix) {
		lp_diag_add(err, "prefix %d out of range 0..%d", prefix, max_prefix);
		return -ERANGE;
	}
	ch = begin(c, s, &e, &ret, err);
	if (ch == NULL)
		return ret;
	if (timeout_s >= 0)
		e->new->cfg.affinity_timeout_s = (uint32_t)timeout_s;
	if (prefix >= 0) {
		if (s->cfg.vip.family == LP_AF_INET)
			e->new->cfg.prefix_v4 = (uint8_t)prefix;
		else
			e->new->cfg.prefix_v6 = (uint8_t)prefix;
	}
	return end(ch, 0, err);
}

int
lp_ctl_affinity_clear(struct lp_ctl *c, const char *svc, const struct lp_ip *client, struct lp_diag *err)
{
	struct msvc *s = need_svc(c, svc, err);
	struct lp_aff_key k;

	if (s == NULL)
		return -ENOENT;
	if (client == NULL)
		return ctl_affinity_purge(c, s, -1, NULL, LP_AFF_CLEARED);
	if (client->family != s->cfg.vip.family) {
		char a[LP_IP_STRLEN];

		lp_diag_add(err, "client %s is not of the service's address family", lp_ip_format(client, a, sizeof(a)));
		return -EINVAL;
	}
	lp_aff_key_make(&k, s->id, client->family, client->a,
			client->family == LP_AF_INET ? s->cfg.prefix_v4 : s->cfg.prefix_v6);
	return ctl_affinity_purge(c, s, -1, &k, LP_AFF_CLEARED);
}

/* ---- timed changes ---- */

/* A removing backend is done draining: it holds nothing, its drain
 * timeout passed, or it went down. */
static bool
drained(const struct lp_ctl *c, const struct msvc *s, const struct mbe *b, uint64_t now, bool *timed_out)
{
	*timed_out = now - b->removing_since >= (uint64_t)s->cfg.drain_timeout_s * c->dp.hz;
	return b->removing &&
	       (atomic_load(&s->load->active[b->id]) == 0 || *timed_out || ctl_be_state(s, b) == LP_BE_DOWN);
}

void
ctl_timed_changes(struct lp_ctl *c, uint64_t now)
{
	struct ctl_change *ch = NULL;
	uint64_t ramp_slots = 0;
	uint32_t cursor = c->ramp_cursor;

	if (c->change != NULL)
		return;		/* a reload in flight: next pass */
	for (uint32_t n = 0; n < LP_MAX_SERVICES; n++) {
		uint32_t i = (cursor + n) % LP_MAX_SERVICES;
		struct msvc *s = c->svc[i];
		struct svc_edit *e = NULL;
		bool ramp, timed_out;

		if (s == NULL)
			continue;
		ramp = s->ramping && ramp_slots < RAMP_SLOTS_PER_PASS;
		for (uint32_t k = 0; k < s->n_be && !ramp; k++)
			ramp = drained(c, s, &s->be[k], now, &timed_out);
		if (!ramp)
			continue;
		if (ch == NULL)
			ch = ctl_change_new(c, now);
		e = ch != NULL ? ctl_change_edit(ch, s) : NULL;
		if (e == NULL)
			break;	/* out of memory: the next pass tries again */
		e->purge = LP_AFF_DRAINED;
		for (uint32_t k = e->new->n_be; k-- > 0;) {
			struct mbe *b = &e->new->be[k];

			if (drained(c, e->new, b, now, &timed_out)) {
				LP_LOG(INFO, ctl, "service '%s': drained backend removed%s\n", s->cfg.name,
				       timed_out ? " (drain timeout)" : "");
				ctl_be_drop(e->new, b);
			}
		}
		if (s->ramping) {
			ramp_slots += s->cfg.maglev_size;
			c->ramp_cursor = (i + 1) % LP_MAX_SERVICES;
		}
	}
	if (ch != NULL)
		ctl_change_run(ch, false, NULL);
}
