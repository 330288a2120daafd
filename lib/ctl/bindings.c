/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Affinity maintenance on the control thread: a scan walks the binding
 * table a slice per poll and expires bindings past their timeout, moves
 * bindings whose backend is down or gone, rebalances idle bindings after a
 * scale-out, and counts bindings and pinned flows per backend. Purges
 * delete the bindings of a backend, a client or whole services.
 *
 * Workers change a binding's target only by compare-and-swap, so the scan
 * races them safely: whoever swaps first wins, the other sees the new
 * target.
 */
#include <string.h>

#include "ctl_priv.h"
#include "lp_cluster.h"

/* Give back the load a binding counted for its backend, if that backend
 * (id and generation) is still the service's. */
static void
unbind_load(struct msvc *s, uint64_t t)
{
	uint16_t id = lp_aff_be_id(t);

	if (!lp_aff_bound(t) || !ctl_be_holds(s, id, lp_aff_be_gen(t)))
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
ctl_affinity_purge(struct lp_ctl *c, struct msvc *s, int be_id, const struct lp_aff_key *only,
		   enum lp_aff_reason why)
{
	struct lp_aff_table *t = c->dp.aff;
	uint32_t from, to;
	int n = 0;

	if (!ctl_aff_range(t, only, &from, &to))
		return 0;
	for (uint32_t pos = from; pos < to; pos++) {
		struct lp_aff_entry *e = &t->e[pos];
		uint64_t tg;

		if (!atomic_load_explicit(&e->used, memory_order_acquire) || e->key.svc_id != s->id)
			continue;
		if (only != NULL && memcmp(&e->key, only, sizeof(*only)) != 0)
			continue;
		tg = lp_aff_target(e);
		if (be_id >= 0 && (!lp_aff_bound(tg) || lp_aff_be_id(tg) != be_id))
			continue;
		if (lp_aff_delete(t, pos) != 0)
			continue;
		unbind_load(s, tg);
		/* Cleared, or its backend removed: every instance forgets it.
		 * (Bindings of services that go are not: purge_services.) */
		ctl_cluster_binding(c, e, tg, LP_CLUSTER_EV_CLEAR);
		c->stats->svc[s->id].aff[why]++;
		n++;
	}
	return n;
}

void
ctl_affinity_purge_services(struct lp_ctl *c, const uint8_t gone[LP_MAX_SERVICES])
{
	struct lp_aff_table *t = c->dp.aff;

	/* Bindings must not outlive their service: a later service with the
	 * same id would otherwise inherit them. Their load goes with the
	 * service, so only the counters change. */
	for (uint32_t pos = 0; pos < t->n_pos; pos++) {
		struct lp_aff_entry *e = &t->e[pos];
		uint16_t sid;

		if (!atomic_load_explicit(&e->used, memory_order_acquire))
			continue;
		sid = e->key.svc_id;
		if (sid < LP_MAX_SERVICES && gone[sid] && lp_aff_delete(t, pos) == 0)
			c->stats->svc[sid].aff[LP_AFF_CLEARED]++;
	}
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
	ctl_cluster_binding(c, e, lp_aff_target(e), LP_CLUSTER_EV_MOVE);
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
	nb = ctl_be_by_id(s, id);
	if (nb == NULL || nb->added_at == 0 || s->rebalance_until - nb->added_at > REBALANCE_WINDOW_S * c->dp.hz)
		return;
	if (!lp_aff_set(e, &expect, id, snap->be[id].gen))
		return;
	ctl_cluster_binding(c, e, lp_aff_target(e), LP_CLUSTER_EV_MOVE);
	unbind_load(s, t);
	atomic_fetch_add(&s->load->active[id], 1);
	atomic_fetch_add(&s->load->total, 1);
	c->stats->svc[s->id].aff[LP_AFF_REBALANCED]++;
	s->rebalance_budget--;
}

/* A full pass ended: what it counted becomes what `show backends` says. */
static void
publish_counts(struct lp_ctl *c)
{
	for (uint32_t i = 0; i < LP_MAX_SERVICES; i++) {
		struct msvc *s = c->svc[i];

		if (s != NULL) {
			s->provisional = s->scan_provisional;
			s->scan_provisional = 0;
		}
		for (uint32_t k = 0; s != NULL && k < s->n_be; k++) {
			struct be_scan *sc = &s->be[k].scan;

			sc->bindings = sc->cur_bindings;
			sc->cur_bindings = 0;
			sc->flows = sc->cur_flows;
			sc->cur_flows = 0;
		}
	}
}

/* A provisional binding reclaimed to make room: what lp_aff_delete's caller owes. */
static void
reclaimed_one(void *ctx, const struct lp_aff_entry *e, uint64_t tg)
{
	struct lp_ctl *c = ctx;
	uint16_t sid = e->key.svc_id;
	struct msvc *s = sid < LP_MAX_SERVICES ? c->svc[sid] : NULL;

	if (s == NULL)
		return;
	unbind_load(s, tg);
	c->stats->svc[sid].aff[LP_AFF_RECLAIMED]++;
}

/*
 * Keep room in the affinity table for new clients: when it is nearly full
 * (above 15/16 of its capacity), or a worker could not add a binding since
 * the last look (the cuckoo hash may refuse a key a little before it is
 * full), delete provisional bindings, idle ones first, down to 7/8. A
 * flood of spoofed SYNs then only churns provisional bindings among
 * themselves, and a real client arriving after it finds room. Confirmed
 * bindings are never taken: when they fill the table, new clients go
 * without one (aff_full) as before. Bounded per poll (AFF_RECLAIM_SCAN
 * positions), so a large table is worked through over several polls.
 */
#define AFF_RECLAIM_SCAN 65536u

static void
affinity_make_room(struct lp_ctl *c, uint64_t now, uint32_t now_s)
{
	struct lp_aff_table *t = c->dp.aff;
	uint32_t cap = t->capacity, high = cap - cap / 16, low = cap - cap / 8, count;
	uint64_t full = 0;
	uint32_t want = 0;

	/* Deleted positions wait out a grace period before they are free
	 * again; they hold no key, so they are no binding to count. */
	lp_aff_reclaim(t, false);
	count = lp_aff_count(t) - t->n_dead;
	for (uint32_t i = 0; i < c->dp.n_workers; i++)
		full += c->worker_stats[i]->c[LP_WC_aff_full];
	if (count >= high)
		want = count - low;
	if (full != c->aff_full_seen && want < cap / 16)
		want = cap / 16;
	c->aff_full_seen = full;
	if (want == 0 || now < c->aff_room_retry)
		return;
	/* A table full of confirmed bindings has nothing to give: look again
	 * in a tenth of a second, not on every poll. */
	if (lp_aff_reclaim_provisional(t, want, AFF_RECLAIM_SCAN, now_s, 1, reclaimed_one, c) == 0)
		c->aff_room_retry = now + c->dp.hz / 10;
}

void
ctl_affinity_scan(struct lp_ctl *c, uint64_t now, uint32_t budget)
{
	struct lp_aff_table *t = c->dp.aff;
	uint32_t now_s = lp_dp_seconds(&c->dp, now);

	while (budget-- > 0) {
		uint32_t pos = c->scan_cursor;
		struct lp_aff_entry *e = &t->e[pos];
		uint16_t sid;
		struct msvc *s;
		const struct lp_svc *snap;
		uint64_t tg;
		uint32_t seen;

		if (++c->scan_cursor == t->n_pos) {
			c->scan_cursor = 0;
			publish_counts(c);
		}
		if (!atomic_load_explicit(&e->used, memory_order_acquire))
			continue;
		sid = e->key.svc_id;
		s = sid < LP_MAX_SERVICES ? c->svc[sid] : NULL;
		snap = s != NULL ? lp_svc_get(&c->dp.svcs, sid) : NULL;
		tg = lp_aff_target(e);
		seen = atomic_load_explicit(&e->last_seen, memory_order_relaxed);
		if (s == NULL || snap == NULL) {
			lp_aff_delete(t, pos);
			continue;
		}
		if (lp_aff_expired(t, e, seen, now_s, snap->aff_timeout_s)) {
			/* A provisional one is claimed first, so that a worker
			 * confirming it meanwhile keeps it instead. */
			bool provisional = lp_aff_provisional(e);

			if (provisional && !lp_aff_doom(t, pos))
				continue;
			/* Replicated (confirmed ones only; a provisional binding
			 * never left this instance): the client may be active on
			 * another instance. */
			if (!provisional && ctl_cluster_expiry(c, e))
				continue;
			if (lp_aff_delete(t, pos) == 0) {
				unbind_load(s, tg);
				c->stats->svc[sid].aff[provisional ? LP_AFF_UNCONFIRMED : LP_AFF_EXPIRED]++;
			}
			continue;
		}
		if (lp_aff_provisional(e))
			s->scan_provisional++;
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
			struct mbe *b = ctl_be_by_id(s, lp_aff_be_id(lp_aff_target(e)));

			if (b != NULL) {
				b->scan.cur_bindings++;
				b->scan.cur_flows += atomic_load_explicit(&e->flows, memory_order_relaxed);
			}
		}
	}
	affinity_make_room(c, now, now_s);
	lp_aff_reclaim(t, false);
}
