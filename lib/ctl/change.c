/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One change of the model, all or nothing.
 *
 *   plan    callers (edit.c, reload.c) edit private copies of the services
 *           a change touches; new backends take ids, counter slots and
 *           next-hop references, new services take an id and a load
 *           block. The running model and every snapshot stay as they are.
 *   build   every new snapshot (Maglev table included), then the index.
 *           A big build runs on a helper thread while the control thread
 *           goes on serving; it reads only the change and what no one
 *           changes meanwhile (the running model's configuration, the
 *           published snapshots).
 *   commit  install the copies, publish, give back what left once no
 *           worker can use it. Allocates nothing, so it cannot fail.
 *   abort   give back what planning took. A failure anywhere before the
 *           commit leaves the running state as it was.
 *
 * At most one change is in flight (c->change); while it is, other changes
 * are refused with -EBUSY, so what it planned stays true until it commits.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "ctl_priv.h"
#include "lp_log.h"

struct ctl_change {
	struct lp_ctl *c;
	uint64_t now;			/* TSC the change was planned at */
	uint32_t n_edits, cap_edits;
	struct svc_edit *edit;
	_Atomic uint32_t built;		/* edits whose snapshot is built */
	bool need_index;
	struct lp_svc_index *index;	/* built after the snapshots */
	uint8_t id_taken[LP_MAX_SERVICES];	/* service ids new services of this change take */
	uint8_t id_freed[LP_MAX_SERVICES];	/* service ids removed services of this change give up */
	uint32_t gslot_hint;		/* to restore on abort */
	/* reload settings */
	bool settings;
	struct lp_cfg_flows flows;
	struct lp_cfg_workers workers;		/* workers.*: live */
	uint32_t withdraw_delay_s;		/* announce.withdrawDelaySeconds: live */
	uint32_t n_neighbors;
	struct lp_cfg_neighbor *neighbors;
	/* in flight: built by a helper thread */
	pthread_t thread;
	_Atomic bool cancel;		/* control thread: stop building */
	_Atomic bool finished;		/* helper: done building (result in ret) */
	int ret;
	lp_ctl_done_fn *done;
	void *arg;
	struct lp_diag diag;
};

struct ctl_change *
ctl_change_new(struct lp_ctl *c, uint64_t now)
{
	struct ctl_change *ch = ctl_calloc(1, sizeof(*ch));

	if (ch == NULL)
		return NULL;
	ch->c = c;
	ch->now = now;
	ch->gslot_hint = c->gslot_hint;
	return ch;
}

uint64_t
ctl_change_now(const struct ctl_change *ch)
{
	return ch->now;
}

uint32_t
ctl_change_edits(const struct ctl_change *ch, struct svc_edit **edits)
{
	*edits = ch->edit;
	return ch->n_edits;
}

static struct svc_edit *
edit_append(struct ctl_change *ch, struct msvc *old, struct msvc *new)
{
	struct svc_edit *e;

	if (ch->n_edits == ch->cap_edits) {
		uint32_t cap = ch->cap_edits ? ch->cap_edits * 2 : 8;
		struct svc_edit *ne = ctl_realloc(ch->edit, cap * sizeof(*ne));

		if (ne == NULL)
			return NULL;
		ch->edit = ne;
		ch->cap_edits = cap;
	}
	e = &ch->edit[ch->n_edits++];
	memset(e, 0, sizeof(*e));
	e->old = old;
	e->new = new;
	e->purge = -1;
	return e;
}

struct svc_edit *
ctl_change_edit(struct ctl_change *ch, struct msvc *old)
{
	struct msvc *copy;
	struct svc_edit *e;

	for (uint32_t i = 0; i < ch->n_edits; i++)
		if (ch->edit[i].old == old && ch->edit[i].new != NULL)
			return &ch->edit[i];
	copy = ctl_svc_copy(old);
	if (copy == NULL)
		return NULL;
	e = edit_append(ch, old, copy);
	if (e == NULL)
		ctl_svc_free(copy);
	return e;
}

int
ctl_change_remove(struct ctl_change *ch, struct msvc *old, enum edit_note note)
{
	struct svc_edit *e = edit_append(ch, old, NULL);

	if (e == NULL)
		return -ENOMEM;
	e->note = note;
	ch->id_freed[old->id] = 1;
	return 0;
}

/* The lowest service id that is free, or that a service this change
 * removes gives up (commit unpublishes those before it publishes new
 * ones), and that no new service of this change took. */
static int
take_svc_id(struct ctl_change *ch)
{
	struct lp_ctl *c = ch->c;

	for (uint32_t i = 0; i < LP_MAX_SERVICES; i++) {
		if (ch->id_taken[i])
			continue;
		if (ch->id_freed[i] || (c->svc[i] == NULL && lp_svc_get(&c->dp.svcs, i) == NULL)) {
			ch->id_taken[i] = 1;
			return (int)i;
		}
	}
	return -ENOSPC;
}

int
ctl_change_add(struct ctl_change *ch, const struct lp_cfg_service *cfg, struct lp_diag *err)
{
	struct lp_ctl *c = ch->c;
	struct lp_svc_load *load;
	struct svc_edit *e;
	struct msvc *s;
	int id, ret;

	id = take_svc_id(ch);
	if (id < 0) {
		lp_diag_add(err, "at most %u services", LP_MAX_SERVICES);
		return id;
	}
	load = ctl_zmalloc("lp_svc_load", sizeof(*load), (int)rte_socket_id());
	s = load != NULL ? ctl_svc_new(cfg, (uint16_t)id, (uint16_t)(c->svc_gen[id] + 1), load) : NULL;
	e = s != NULL ? edit_append(ch, NULL, s) : NULL;
	if (e == NULL) {
		ctl_svc_free(s);
		rte_free(load);
		ch->id_taken[id] = 0;
		lp_diag_add(err, "out of memory");
		return -ENOMEM;
	}
	/* From here abort gives back what the backends took. */
	for (uint32_t i = 0; i < cfg->n_backends; i++) {
		ret = ctl_be_add(c, s, &cfg->backends[i], ch->now, err);
		if (ret != 0)
			return ret;
	}
	/* Backends listed in the config start at full weight: slow start is
	 * for backends that come up or are added while limpet runs. */
	for (uint32_t i = 0; i < s->n_be; i++) {
		s->be[i].eligible_since = 0;
		s->be[i].added_at = 0;
	}
	return 0;
}

int
ctl_change_settings(struct ctl_change *ch, const struct lp_config *next)
{
	if (next->n_neighbors > 0) {
		ch->neighbors = ctl_calloc(next->n_neighbors, sizeof(*ch->neighbors));
		if (ch->neighbors == NULL)
			return -ENOMEM;
		memcpy(ch->neighbors, next->neighbors, next->n_neighbors * sizeof(*ch->neighbors));
	}
	ch->n_neighbors = next->n_neighbors;
	ch->flows = next->flows;
	ch->workers = next->workers;
	ch->withdraw_delay_s = next->announce.withdraw_delay_s;
	ch->settings = true;
	return 0;
}

/* ---- build ---- */

static int
build_index(struct ctl_change *ch)
{
	struct lp_ctl *c = ch->c;
	static struct lp_svc *snaps[LP_MAX_SERVICES];	/* control thread only */

	for (uint32_t i = 0; i < LP_MAX_SERVICES; i++)
		snaps[i] = lp_svc_get(&c->dp.svcs, i);
	for (uint32_t k = 0; k < ch->n_edits; k++) {
		const struct svc_edit *e = &ch->edit[k];

		if (e->new == NULL)
			snaps[e->old->id] = NULL;
	}
	for (uint32_t k = 0; k < ch->n_edits; k++) {
		const struct svc_edit *e = &ch->edit[k];

		if (e->new != NULL && e->snap != NULL)
			snaps[e->new->id] = e->snap;
	}
	ch->index = ctl_index_build(c, snaps);
	return ch->index != NULL ? 0 : -ENOMEM;
}

int
ctl_change_build(struct ctl_change *ch)
{
	uint32_t k;

	while ((k = atomic_load(&ch->built)) < ch->n_edits) {
		struct svc_edit *e = &ch->edit[k];

		if (atomic_load_explicit(&ch->cancel, memory_order_relaxed))
			return -ECANCELED;
		if (e->new != NULL && (e->old == NULL || !ctl_snapshot_same(ch->c, e->old, e->new, ch->now))) {
			e->snap = ctl_snapshot_build(ch->c, e->new, ch->now, &e->new->ramping);
			if (e->snap == NULL)
				return -ENOMEM;
		}
		atomic_store(&ch->built, k + 1);
	}
	/* The index changes only with the snapshots it is built from. */
	for (k = 0; k < ch->n_edits && !ch->need_index; k++)
		ch->need_index = ch->edit[k].new == NULL || ch->edit[k].snap != NULL;
	if (ch->need_index && ch->index == NULL)
		return build_index(ch);
	return 0;
}

/* A Maglev table is built in about 25 ns a slot (bench_maglev). */
#define BUILD_NS_PER_SLOT 25u

uint64_t
ctl_change_cost_ns(const struct ctl_change *ch)
{
	uint64_t slots = 0;

	for (uint32_t k = 0; k < ch->n_edits; k++) {
		const struct svc_edit *e = &ch->edit[k];

		if (e->new != NULL && (e->old == NULL || !ctl_snapshot_same(ch->c, e->old, e->new, ch->now)))
			slots += e->new->cfg.maglev_size + e->new->n_be;
	}
	return slots * BUILD_NS_PER_SLOT;
}

/* ---- commit ---- */

static void
log_note(const struct svc_edit *e)
{
	if (e->note == NOTE_REMOVED)
		LP_LOG(INFO, ctl, "service '%s' removed\n", e->old->cfg.name);
	else if (e->note == NOTE_REPLACED)
		LP_LOG(INFO, ctl, "service '%s' replaced\n", e->old->cfg.name);
}

/* Services that go: unpublished first, their bindings purged once no
 * worker can add one behind the purge, what they held given back. */
static void
commit_removals(struct ctl_change *ch)
{
	static uint8_t gone[LP_MAX_SERVICES];	/* control thread only */
	struct lp_ctl *c = ch->c;
	bool any = false;

	memset(gone, 0, sizeof(gone));
	for (uint32_t k = 0; k < ch->n_edits; k++) {
		struct svc_edit *e = &ch->edit[k];

		if (e->new != NULL)
			continue;
		log_note(e);
		ctl_publish_svc(c, e->old->id, NULL);
		gone[e->old->id] = 1;
		any = true;
	}
	if (!any)
		return;
	ctl_note_publish(c);
	ctl_grace(c);
	ctl_affinity_purge_services(c, gone);
	for (uint32_t k = 0; k < ch->n_edits; k++) {
		struct svc_edit *e = &ch->edit[k];
		struct msvc *s = e->old;

		if (e->new != NULL)
			continue;
		for (uint32_t i = 0; i < s->n_be; i++)
			ctl_be_release(c, s->load, &s->be[i]);
		ctl_svc_set(c, s->id, NULL);
		/* Past the grace period: no worker holds a snapshot using it. */
		rte_free(s->load);
		ctl_svc_free(s);
		e->old = NULL;
	}
}

/* Backends of @p e that are new go live: their next hop, known only now,
 * goes into the snapshot, which no worker has seen yet. */
static void
commit_new_backends(struct lp_ctl *c, const struct svc_edit *e)
{
	for (uint32_t i = 0; i < e->new->n_be; i++) {
		struct mbe *b = &e->new->be[i];

		if (ctl_be_holds(e->old, b->id, b->gen))
			continue;
		ctl_be_commit(c, e->new, b);
		if (e->snap != NULL && b->id < e->snap->n_ids) {
			e->snap->be[b->id].tx_port = b->tx_port;
			e->snap->be[b->id].nbr = b->nbr;
		}
	}
}

static bool
has_leavers(const struct svc_edit *e)
{
	for (uint32_t i = 0; i < e->old->n_be; i++)
		if (!ctl_be_holds(e->new, e->old->be[i].id, e->old->be[i].gen))
			return true;
	return false;
}

static void
commit_settings(struct ctl_change *ch)
{
	struct lp_ctl *c = ch->c;
	struct lp_config *cfg = c->cfg;

	if (!ch->settings)
		return;
	/* Flow timeouts: plain stores the workers pick up on their next
	 * comparison; no snapshot needed. */
	cfg->flows = ch->flows;
	c->dp.aff->provisional_s = ch->flows.tcp_syn_timeout;
	/* Polling and the withdraw delay are live too. */
	cfg->workers = ch->workers;
	cfg->announce.withdraw_delay_s = ch->withdraw_delay_s;
	atomic_store(&c->dp.idle_sleep_us, ch->workers.poll == LP_POLL_BUSY ? 0 : ch->workers.idle_sleep_us);
	for (uint32_t i = 0; i < c->dp.n_workers; i++)
		lp_flow_set_timeouts(c->dp.worker[i]->flows, c->dp.hz, ch->flows.tcp_syn_timeout,
				     ch->flows.tcp_timeout, ch->flows.tcp_fin_timeout, ch->flows.udp_timeout);
	/* Static neighbors: set the new ones; ones no longer listed become
	 * ordinary entries that ARP/ND keeps fresh. */
	for (uint32_t i = 0; i < cfg->n_neighbors; i++) {
		const struct lp_cfg_neighbor *o = &cfg->neighbors[i];
		bool kept = false;

		for (uint32_t k = 0; k < ch->n_neighbors && !kept; k++)
			kept = lp_ip_equal(&ch->neighbors[k].addr, &o->addr);
		if (!kept) {
			uint32_t pos = lp_nbr_lookup(c->dp.nbr, o->addr.family, o->addr.a);

			if (pos != LP_NBR_NONE)
				lp_nbr_invalidate(c->dp.nbr, pos, LP_NBR_INCOMPLETE);
		}
	}
	for (uint32_t k = 0; k < ch->n_neighbors; k++)
		lp_nbr_set(c->dp.nbr, &ch->neighbors[k].addr, (uint16_t)ch->neighbors[k].port,
			   &ch->neighbors[k].mac, LP_NBR_STATIC);
	free(cfg->neighbors);
	cfg->neighbors = ch->neighbors;
	cfg->n_neighbors = ch->n_neighbors;
	ch->neighbors = NULL;
}

static void
change_free(struct ctl_change *ch)
{
	lp_diag_clear(&ch->diag);
	free(ch->neighbors);
	free(ch->edit);
	free(ch);
}

void
ctl_change_commit(struct ctl_change *ch)
{
	struct lp_ctl *c = ch->c;
	bool published = false, leavers = false;

	/* Static neighbors first: new backends resolve through them. */
	commit_settings(ch);
	commit_removals(ch);
	/* Services that change: the model first, then their snapshots. */
	for (uint32_t k = 0; k < ch->n_edits; k++) {
		struct svc_edit *e = &ch->edit[k];

		if (e->old == NULL || e->new == NULL)
			continue;
		ctl_svc_carry(e->new, e->old);
		commit_new_backends(c, e);
		if (e->purge >= 0)	/* drained: their bindings go with them, counted */
			for (uint32_t i = 0; i < e->old->n_be; i++) {
				const struct mbe *b = &e->old->be[i];

				if (!ctl_be_holds(e->new, b->id, b->gen))
					ctl_affinity_purge(c, e->old, b->id, NULL, (enum lp_aff_reason)e->purge);
			}
		ctl_svc_set(c, e->new->id, e->new);
		if (e->snap != NULL) {
			ctl_publish_svc(c, e->new->id, e->snap);
			published = true;
		}
		leavers |= has_leavers(e);
	}
	/* The index before new services' snapshots: an id a removed service
	 * gave up must not be reached through that service's old VIP. */
	if (ch->index != NULL) {
		ctl_publish_index(c, ch->index);
		ch->index = NULL;
		published = true;
	}
	for (uint32_t k = 0; k < ch->n_edits; k++) {
		struct svc_edit *e = &ch->edit[k];
		uint16_t id;

		if (e->old != NULL || e->new == NULL)
			continue;
		id = e->new->id;
		/* A reused id starts from zero for its new service. */
		for (uint32_t w = 0; w < c->dp.n_workers; w++)
			memset(&c->worker_stats[w]->svc[id], 0, sizeof(struct lp_svc_stats));
		memset(&c->stats->svc[id], 0, sizeof(struct lp_svc_stats));
		c->svc_gen[id] = e->new->gen;
		commit_new_backends(c, e);
		ctl_svc_set(c, id, e->new);
		ctl_publish_svc(c, id, e->snap);
		published = true;
	}
	if (published)
		ctl_note_publish(c);
	/* Backends that left, once no worker can use them. */
	if (leavers)
		ctl_grace(c);
	for (uint32_t k = 0; k < ch->n_edits; k++) {
		struct svc_edit *e = &ch->edit[k];

		if (e->old == NULL || e->new == NULL)
			continue;
		for (uint32_t i = 0; i < e->old->n_be; i++)
			if (!ctl_be_holds(e->new, e->old->be[i].id, e->old->be[i].gen))
				ctl_be_release(c, e->old->load, &e->old->be[i]);
		ctl_svc_free(e->old);
	}
	change_free(ch);
}

/* ---- abort ---- */

void
ctl_change_abort(struct ctl_change *ch)
{
	struct lp_ctl *c = ch->c;

	for (uint32_t k = 0; k < ch->n_edits; k++) {
		struct svc_edit *e = &ch->edit[k];

		lp_svc_free(e->snap);
		if (e->new == NULL)
			continue;
		for (uint32_t i = 0; i < e->new->n_be; i++)
			if (!ctl_be_holds(e->old, e->new->be[i].id, e->new->be[i].gen))
				ctl_be_unadd(c, &e->new->be[i]);
		if (e->old == NULL)
			rte_free(e->new->load);
		ctl_svc_free(e->new);
	}
	lp_svc_index_free(ch->index);
	c->gslot_hint = ch->gslot_hint;
	change_free(ch);
}

/* ---- running it ---- */

int
ctl_change_run(struct ctl_change *ch, bool visible, struct lp_diag *err)
{
	struct lp_ctl *c = ch->c;
	int ret = ctl_change_build(ch);

	if (ret != 0) {
		ctl_change_abort(ch);
		lp_diag_add(err, "out of memory building the change: nothing changed");
		return ret;
	}
	ctl_change_commit(ch);
	if (visible)
		ctl_wait_visible(c);
	return 0;
}

static void *
build_main(void *arg)
{
	struct ctl_change *ch = arg;

	ch->ret = ctl_change_build(ch);
	/* Release: the control thread that sees finished sees what was built. */
	atomic_store_explicit(&ch->finished, true, memory_order_release);
	return NULL;
}

int
ctl_change_defer(struct ctl_change *ch, lp_ctl_done_fn *done, void *arg)
{
	int ret;

	ch->done = done;
	ch->arg = arg;
	/* A control thread of DPDK's: it runs on the CPUs EAL leaves to
	 * control work, not on a worker's. */
	ret = rte_ctrl_thread_create(&ch->thread, "lp-build", NULL, build_main, ch);
	if (ret != 0)
		return -ret;
	ch->c->change = ch;
	return 0;
}

/* The change in flight is built (or abandoned): commit it or give it back,
 * then tell whoever started it. */
static void
finish(struct ctl_change *ch, int ret)
{
	struct lp_ctl *c = ch->c;
	lp_ctl_done_fn *done = ch->done;
	void *arg = ch->arg;
	struct lp_diag diag = ch->diag;

	pthread_join(ch->thread, NULL);
	/* The callback may start the next change. */
	c->change = NULL;
	ch->diag = (struct lp_diag){ 0 };
	if (ret == 0) {
		ctl_change_commit(ch);
		ctl_wait_visible(c);
	} else {
		ctl_change_abort(ch);
	}
	if (done != NULL)
		done(arg, ret, &diag);
	lp_diag_clear(&diag);
}

void
ctl_change_poll(struct lp_ctl *c)
{
	struct ctl_change *ch = c->change;

	if (ch == NULL || !atomic_load_explicit(&ch->finished, memory_order_acquire))
		return;
	if (ch->ret != 0)
		lp_diag_add(&ch->diag, "out of memory building the new configuration: nothing changed");
	finish(ch, ch->ret);
}

void
ctl_change_cancel(struct lp_ctl *c)
{
	struct ctl_change *ch = c->change;

	if (ch == NULL)
		return;
	/* The helper stops after the snapshot it is building. */
	atomic_store(&ch->cancel, true);
	lp_diag_add(&ch->diag, "canceled before it was applied: nothing changed");
	finish(ch, -ECANCELED);
}

int
ctl_change_idle(struct lp_ctl *c, struct lp_diag *err)
{
	if (c->change == NULL)
		return 0;
	lp_diag_add(err, "a reload is being applied (%u of %u services built): try again when it is done",
		    atomic_load(&c->change->built), c->change->n_edits);
	return -EBUSY;
}

bool
lp_ctl_busy(const struct lp_ctl *c)
{
	return c->change != NULL;
}
