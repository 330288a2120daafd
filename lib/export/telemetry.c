/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DPDK telemetry commands under /limpet/ (dpdk-telemetry.py, or any client
 * of the dpdk_telemetry.v2 socket).
 *
 * EAL runs telemetry callbacks on its own threads, one per connected
 * client, but the lp_ctl views belong to the control thread. So a
 * callback only posts its request in a mailbox and sleeps; the control
 * thread answers it on its next pass (exp_telemetry_poll) by filling the
 * callback's rte_tel_data, and wakes it. A request not taken within
 * TEL_TIMEOUT_S is withdrawn; one taken is always finished, so the
 * callback never returns while the control thread writes its data.
 *
 * 22.11's telemetry nests one level only (a dict may hold arrays, not
 * dicts), and dict keys are letters, digits and '_'. Lists of objects are
 * therefore columns: a dict of arrays, entry i of each describing object i.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_telemetry.h>

#include "export_priv.h"
#include "lp_cluster.h"
#include "lp_ctl_cluster.h"
#include "lp_log.h"

#define TEL_TIMEOUT_S 2

enum { TEL_PENDING, TEL_SERVING, TEL_DONE };

struct tel_req {
	const char *cmd;
	const char *params;
	struct rte_tel_data *d;
	int ret;
	int state;
};

/* One mailbox per process, as telemetry commands are. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* CLOCK_MONOTONIC, set up by the first open */
	struct lp_export *owner;	/* NULL: nobody answers */
	struct tel_req *req;		/* posted, or being answered */
	bool registered;
} mbox = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Set when a request is posted, so the control thread does not take the
 * lock on every pass for nothing. */
static _Atomic bool mbox_posted;

/* ---- building replies ---- */

static uint64_t
round_u64(double v)
{
	return v > 0 ? (uint64_t)llround(v) : 0;
}

/* Add array @p a under @p key, or free it. */
static int
add_column(struct rte_tel_data *d, const char *key, struct rte_tel_data *a)
{
	if (rte_tel_data_add_dict_container(d, key, a, 0) != 0) {
		rte_tel_data_free(a);
		return -E2BIG;
	}
	return 0;
}

/* A column of field @p f over @p n views @p stride bytes apart. */
static int
field_column(struct rte_tel_data *d, const struct exp_field *f, const void *views, size_t stride, uint32_t n)
{
	struct rte_tel_data *a = rte_tel_data_alloc();

	if (a == NULL)
		return -ENOMEM;
	rte_tel_data_start_array(a, RTE_TEL_U64_VAL);
	for (uint32_t i = 0; i < n; i++)
		rte_tel_data_add_array_u64(a, exp_field_get(f, (const uint8_t *)views + i * stride));
	return add_column(d, f->key, a);
}

static int
field_columns(struct rte_tel_data *d, const struct exp_field *list, const void *views, size_t stride, uint32_t n)
{
	int ret = 0;

	for (const struct exp_field *f = list; f->key != NULL && ret == 0; f++)
		ret = field_column(d, f, views, stride, n);
	return ret;
}

/* Columns of rates for @p n objects of @p scope, their indexes in @p index. */
static int
rate_columns(struct lp_export *x, struct rte_tel_data *d, enum lp_rate_scope scope, const uint32_t *index,
	     uint32_t n, bool tx)
{
	static const char *const keys[] = { "rx_pps", "rx_bps", "tx_pps", "tx_bps" };
	struct rte_tel_data *a[4];
	unsigned int na = tx ? 4 : 2;
	int ret = 0;

	for (unsigned int k = 0; k < na; k++) {
		a[k] = rte_tel_data_alloc();
		if (a[k] == NULL) {
			while (k-- > 0)
				rte_tel_data_free(a[k]);
			return -ENOMEM;
		}
		rte_tel_data_start_array(a[k], RTE_TEL_U64_VAL);
	}
	for (uint32_t i = 0; i < n; i++) {
		struct lp_rates r;
		double v[4];

		lp_export_rates(x, scope, index[i], &r);
		v[0] = r.rx_pps;
		v[1] = r.rx_bps;
		v[2] = r.tx_pps;
		v[3] = r.tx_bps;
		for (unsigned int k = 0; k < na; k++)
			rte_tel_data_add_array_u64(a[k], round_u64(v[k]));
	}
	for (unsigned int k = 0; k < na; k++)
		if (add_column(d, keys[k], a[k]) != 0)
			ret = -E2BIG;
	return ret;
}

static void
add_rates(struct rte_tel_data *d, const struct lp_rates *r)
{
	rte_tel_data_add_dict_u64(d, "rx_pps", round_u64(r->rx_pps));
	rte_tel_data_add_dict_u64(d, "rx_bps", round_u64(r->rx_bps));
	rte_tel_data_add_dict_u64(d, "tx_pps", round_u64(r->tx_pps));
	rte_tel_data_add_dict_u64(d, "tx_bps", round_u64(r->tx_bps));
	rte_tel_data_add_dict_u64(d, "drop_pps", round_u64(r->drop_pps));
	rte_tel_data_add_dict_u64(d, "busy_percent", round_u64(r->busy * 100.0));
	rte_tel_data_add_dict_u64(d, "rate_interval_ms", round_u64(r->interval_s * 1000.0));
}

/* ---- the commands ---- */

static int
cmd_stats(struct lp_export *x, const char *params, struct rte_tel_data *d)
{
	struct lp_stats *s = malloc(sizeof(*s));
	struct lp_table_view t;
	struct lp_rcu_view rcu;
	struct lp_rates r;

	(void)params;
	if (s == NULL)
		return -ENOMEM;
	lp_ctl_stats(x->ctl, s);
	lp_ctl_table_view(x->ctl, &t);
	lp_ctl_rcu_view(x->ctl, &rcu);
	lp_export_rates(x, LP_RATE_TOTAL, 0, &r);
	rte_tel_data_start_dict(d);
	for (unsigned int k = 0; k < LP_WC_MAX; k++)
		rte_tel_data_add_dict_u64(d, lp_wc_name(k), s->c[k]);
	rte_tel_data_add_dict_u64(d, "drops", lp_stats_drops(s));
	rte_tel_data_add_dict_u64(d, "flows", t.flows);
	rte_tel_data_add_dict_u64(d, "flow_capacity", t.flow_capacity);
	rte_tel_data_add_dict_u64(d, "bindings", t.bindings);
	rte_tel_data_add_dict_u64(d, "binding_capacity", t.binding_capacity);
	rte_tel_data_add_dict_u64(d, "workers", lp_ctl_worker_count(x->ctl));
	rte_tel_data_add_dict_u64(d, "ports", lp_ctl_port_count(x->ctl));
	rte_tel_data_add_dict_u64(d, "services", lp_ctl_service_count(x->ctl));
	rte_tel_data_add_dict_u64(d, "rcu_last_ns", rcu.last_cycles * 1000000000ull / rcu.hz);
	rte_tel_data_add_dict_u64(d, "rcu_max_ns", rcu.max_cycles * 1000000000ull / rcu.hz);
	rte_tel_data_add_dict_u64(d, "rcu_changes", rcu.changes);
	add_rates(d, &r);
	free(s);
	return 0;
}

static int
cmd_drops(struct lp_export *x, const char *params, struct rte_tel_data *d)
{
	struct lp_stats *s = malloc(sizeof(*s));

	(void)params;
	if (s == NULL)
		return -ENOMEM;
	lp_ctl_stats(x->ctl, s);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "total", lp_stats_drops(s));
	for (unsigned int r = 1; r < LP_DROP_MAX; r++)
		rte_tel_data_add_dict_u64(d, lp_drop_name(r), s->drop[r]);
	free(s);
	return 0;
}

static int
cmd_flows(struct lp_export *x, const char *params, struct rte_tel_data *d)
{
	static const enum lp_wc flow_counters[] = {
		LP_WC_flow_new, LP_WC_flow_hit, LP_WC_flow_expired, LP_WC_flow_full,
		LP_WC_flow_stateless, LP_WC_flow_rechosen, LP_WC_aff_hit, LP_WC_aff_full,
	};
	uint32_t nw = lp_ctl_worker_count(x->ctl);
	struct lp_stats *s = malloc(sizeof(*s));
	struct rte_tel_data *per;
	struct lp_table_view t;

	(void)params;
	if (s == NULL)
		return -ENOMEM;
	lp_ctl_stats(x->ctl, s);
	lp_ctl_table_view(x->ctl, &t);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "flows", t.flows);
	rte_tel_data_add_dict_u64(d, "flow_capacity", t.flow_capacity);
	rte_tel_data_add_dict_u64(d, "bindings", t.bindings);
	rte_tel_data_add_dict_u64(d, "binding_capacity", t.binding_capacity);
	for (size_t k = 0; k < sizeof(flow_counters) / sizeof(flow_counters[0]); k++)
		rte_tel_data_add_dict_u64(d, lp_wc_name(flow_counters[k]), s->c[flow_counters[k]]);
	free(s);
	per = rte_tel_data_alloc();
	if (per == NULL)
		return -ENOMEM;
	rte_tel_data_start_array(per, RTE_TEL_U64_VAL);
	for (uint32_t i = 0; i < nw; i++) {
		struct lp_worker_view v;

		lp_ctl_worker_view(x->ctl, i, &v);
		rte_tel_data_add_array_u64(per, v.flows);
	}
	return add_column(d, "flows_per_worker", per);
}

static int
cmd_workers(struct lp_export *x, const char *params, struct rte_tel_data *d)
{
	uint32_t nw = lp_ctl_worker_count(x->ctl), idx[LP_MAX_WORKERS];
	struct lp_worker_view wv[LP_MAX_WORKERS];
	struct rte_tel_data *a;
	int ret;

	(void)params;
	rte_tel_data_start_dict(d);
	for (uint32_t i = 0; i < nw; i++) {
		lp_ctl_worker_view(x->ctl, i, &wv[i]);
		idx[i] = i;
	}
	ret = field_columns(d, exp_worker_fields, wv, sizeof(wv[0]), nw);
	for (unsigned int k = 0; k < LP_WC_MAX + 1 && ret == 0; k++) {
		a = rte_tel_data_alloc();
		if (a == NULL)
			return -ENOMEM;
		rte_tel_data_start_array(a, RTE_TEL_U64_VAL);
		for (uint32_t i = 0; i < nw; i++) {
			const struct lp_stats *s = lp_ctl_worker_stats(x->ctl, i);

			rte_tel_data_add_array_u64(a, k < LP_WC_MAX ? s->c[k] : lp_stats_drops(s));
		}
		ret = add_column(d, k < LP_WC_MAX ? lp_wc_name(k) : "drops", a);
	}
	return ret == 0 ? rate_columns(x, d, LP_RATE_WORKER, idx, nw, true) : ret;
}

static int
cmd_ports(struct lp_export *x, const char *params, struct rte_tel_data *d)
{
	uint32_t np = lp_ctl_port_count(x->ctl), idx[LP_MAX_PORTS];
	struct lp_port_view pv[LP_MAX_PORTS];
	struct rte_tel_data *names = rte_tel_data_alloc(), *devs = rte_tel_data_alloc();
	int ret;

	(void)params;
	if (names == NULL || devs == NULL) {
		rte_tel_data_free(names);
		rte_tel_data_free(devs);
		return -ENOMEM;
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_start_array(names, RTE_TEL_STRING_VAL);
	rte_tel_data_start_array(devs, RTE_TEL_STRING_VAL);
	for (uint32_t i = 0; i < np; i++) {
		lp_ctl_port_view(x->ctl, i, &pv[i]);
		idx[i] = i;
		rte_tel_data_add_array_string(names, pv[i].name);
		rte_tel_data_add_array_string(devs, pv[i].device);
	}
	add_column(d, "name", names);
	add_column(d, "device", devs);
	ret = field_columns(d, exp_port_fields, pv, sizeof(pv[0]), np);
	return ret == 0 ? rate_columns(x, d, LP_RATE_PORT, idx, np, true) : ret;
}

static int
cmd_services(struct lp_export *x, const char *params, struct rte_tel_data *d)
{
	uint32_t ns = lp_ctl_service_count(x->ctl);
	struct lp_service_view *sv = calloc(ns ? ns : 1, sizeof(*sv));
	uint32_t *idx = calloc(ns ? ns : 1, sizeof(*idx));
	struct rte_tel_data *col[3];
	int ret = 0;

	(void)params;
	if (sv == NULL || idx == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	rte_tel_data_start_dict(d);
	for (int k = 0; k < 3; k++) {
		col[k] = rte_tel_data_alloc();
		if (col[k] == NULL) {
			while (k-- > 0)
				rte_tel_data_free(col[k]);
			ret = -ENOMEM;
			goto out;
		}
		rte_tel_data_start_array(col[k], RTE_TEL_STRING_VAL);
	}
	for (uint32_t i = 0; i < ns; i++) {
		char ep[LP_ENDPOINT_STRLEN];

		lp_ctl_service_view(x->ctl, i, &sv[i]);
		idx[i] = sv[i].id;
		rte_tel_data_add_array_string(col[0], sv[i].cfg->name);
		rte_tel_data_add_array_string(col[1], lp_endpoint_format(&sv[i].cfg->vip, sv[i].cfg->port, ep, sizeof(ep)));
		rte_tel_data_add_array_string(col[2], lp_fwd_mode_name(sv[i].cfg->forwarding));
	}
	add_column(d, "name", col[0]);
	add_column(d, "vip", col[1]);
	add_column(d, "forwarding", col[2]);
	ret = field_columns(d, exp_service_fields, sv, sizeof(sv[0]), ns);
	if (ret == 0)
		ret = rate_columns(x, d, LP_RATE_SERVICE, idx, ns, false);
out:
	free(sv);
	free(idx);
	return ret;
}

static int
cmd_service(struct lp_export *x, const char *params, struct rte_tel_data *d)
{
	struct lp_service_view v;
	struct lp_rates r;
	char key[48];

	if (params == NULL || lp_ctl_service_view_by_name(x->ctl, params, &v) != 0)
		return -EINVAL;
	lp_export_rates(x, LP_RATE_SERVICE, v.id, &r);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "name", v.cfg->name);
	rte_tel_data_add_dict_string(d, "forwarding", lp_fwd_mode_name(v.cfg->forwarding));
	for (const struct exp_field *f = exp_service_fields; f->key != NULL; f++)
		rte_tel_data_add_dict_u64(d, f->key, exp_field_get(f, &v));
	for (unsigned int k = 0; k < LP_AFF_REASON_MAX; k++) {
		snprintf(key, sizeof(key), "bindings_%s", lp_aff_reason_name(k));
		rte_tel_data_add_dict_u64(d, key, v.aff[k]);
	}
	rte_tel_data_add_dict_u64(d, "rx_pps", round_u64(r.rx_pps));
	rte_tel_data_add_dict_u64(d, "rx_bps", round_u64(r.rx_bps));
	return 0;
}

static int
cmd_backends(struct lp_export *x, const char *params, struct rte_tel_data *d)
{
	struct lp_service_view sv;
	struct lp_backend_view *bv;
	struct rte_tel_data *names, *states;
	uint32_t *idx;
	int n, ret;

	if (params == NULL || lp_ctl_service_view_by_name(x->ctl, params, &sv) != 0)
		return -EINVAL;
	bv = calloc(sv.n_backends ? sv.n_backends : 1, sizeof(*bv));
	idx = calloc(sv.n_backends ? sv.n_backends : 1, sizeof(*idx));
	names = rte_tel_data_alloc();
	states = rte_tel_data_alloc();
	if (bv == NULL || idx == NULL || names == NULL || states == NULL) {
		ret = -ENOMEM;
		rte_tel_data_free(names);
		rte_tel_data_free(states);
		goto out;
	}
	n = lp_ctl_backend_views(x->ctl, params, bv, sv.n_backends);
	rte_tel_data_start_dict(d);
	rte_tel_data_start_array(names, RTE_TEL_STRING_VAL);
	rte_tel_data_start_array(states, RTE_TEL_STRING_VAL);
	for (int i = 0; i < n; i++) {
		char ep[LP_ENDPOINT_STRLEN];

		idx[i] = bv[i].gslot;
		rte_tel_data_add_array_string(names, lp_endpoint_format(&bv[i].addr, bv[i].port, ep, sizeof(ep)));
		rte_tel_data_add_array_string(states, exp_backend_state(&bv[i]));
	}
	add_column(d, "backend", names);
	add_column(d, "state", states);
	ret = field_columns(d, exp_backend_fields, bv, sizeof(bv[0]), (uint32_t)(n > 0 ? n : 0));
	if (ret == 0)
		ret = rate_columns(x, d, LP_RATE_BACKEND, idx, (uint32_t)(n > 0 ? n : 0), false);
out:
	free(bv);
	free(idx);
	return ret;
}

static int
cmd_cluster(struct lp_export *x, const char *params, struct rte_tel_data *d)
{
	struct lp_cluster *cl = lp_ctl_cluster(x->ctl);
	struct lp_cluster_status *st;

	(void)params;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "configured", cl != NULL);
	if (cl == NULL)
		return 0;
	st = malloc(sizeof(*st));
	if (st == NULL)
		return -ENOMEM;
	lp_cluster_status(cl, st);
	rte_tel_data_add_dict_string(d, "name", st->name);
	rte_tel_data_add_dict_string(d, "redis", st->redis);
	rte_tel_data_add_dict_string(d, "state", lp_cluster_state_name(st->state));
	rte_tel_data_add_dict_u64(d, "loaded", st->loaded);
	rte_tel_data_add_dict_u64(d, "backlog", st->backlog);
	rte_tel_data_add_dict_u64(d, "inflight", st->inflight);
	rte_tel_data_add_dict_u64(d, "peers", st->n_peers);
	rte_tel_data_add_dict_u64(d, "lag_p50_us", st->lag_in.p50_us);
	rte_tel_data_add_dict_u64(d, "lag_p99_us", st->lag_in.p99_us);
	rte_tel_data_add_dict_u64(d, "lag_max_us", st->lag_in.max_us);
	rte_tel_data_add_dict_u64(d, "write_lag_p99_us", st->lag_out.p99_us);
	rte_tel_data_add_dict_u64(d, "load_ms", st->load_ms);
	for (unsigned int k = 0; k < LP_CLUSTER_C_MAX; k++)
		rte_tel_data_add_dict_u64(d, lp_cluster_counter_name(k), st->counters[k]);
	free(st);
	return 0;
}

static const struct tel_cmd {
	const char *name;
	int (*fn)(struct lp_export *x, const char *params, struct rte_tel_data *d);
	const char *help;
} tel_cmds[] = {
	{ "/limpet/stats", cmd_stats,
	  "Totals of every worker counter, drops, table occupancy, RCU change latency, rates. No parameters" },
	{ "/limpet/drops", cmd_drops, "Dropped packets by reason (all workers and the control thread). No parameters" },
	{ "/limpet/flows", cmd_flows, "Flow and affinity table occupancy, flow counters, flows per worker. No parameters" },
	{ "/limpet/workers", cmd_workers, "Per worker (one column each): counters, drops, flows, rates. No parameters" },
	{ "/limpet/ports", cmd_ports, "Per port (one column each): limpet's and the device's counters, rates. No parameters" },
	{ "/limpet/services", cmd_services, "Per service (one column each): counters, bindings, rates. No parameters" },
	{ "/limpet/service", cmd_service, "One service: counters, bindings by reason, rates. Parameters: service name" },
	{ "/limpet/backends", cmd_backends,
	  "Backends of a service (one column each): state, counters, flows, bindings, rates. Parameters: service name" },
	{ "/limpet/cluster", cmd_cluster,
	  "Replicated bindings: Redis connection state, backlog, peers, lag, counters. No parameters" },
};

/* ---- the mailbox ---- */

static int
serve(struct lp_export *x, struct tel_req *r)
{
	for (size_t i = 0; i < sizeof(tel_cmds) / sizeof(tel_cmds[0]); i++)
		if (strcmp(r->cmd, tel_cmds[i].name) == 0)
			return tel_cmds[i].fn(x, r->params != NULL && r->params[0] != '\0' ? r->params : NULL, r->d);
	return -EINVAL;
}

/* Telemetry thread. */
static int
tel_callback(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct tel_req r = { .cmd = cmd, .params = params, .d = d, .ret = -ENODEV, .state = TEL_PENDING };
	struct timespec deadline;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += TEL_TIMEOUT_S;
	pthread_mutex_lock(&mbox.lock);
	/* One request at a time: each telemetry client has its own thread. */
	while (mbox.owner != NULL && mbox.req != NULL)
		if (pthread_cond_timedwait(&mbox.cond, &mbox.lock, &deadline) == ETIMEDOUT)
			break;
	if (mbox.owner == NULL || mbox.req != NULL) {
		r.ret = mbox.owner == NULL ? -ENODEV : -EBUSY;
		pthread_mutex_unlock(&mbox.lock);
		return r.ret;
	}
	mbox.req = &r;
	atomic_store_explicit(&mbox_posted, true, memory_order_release);
	while (r.state != TEL_DONE) {
		int e = 0;

		if (r.state == TEL_SERVING) {
			/* Taken: the control thread finishes it promptly. */
			pthread_cond_wait(&mbox.cond, &mbox.lock);
			continue;
		}
		if (mbox.owner != NULL)
			e = pthread_cond_timedwait(&mbox.cond, &mbox.lock, &deadline);
		if (r.state == TEL_PENDING && (mbox.owner == NULL || e == ETIMEDOUT)) {
			/* Not taken: withdraw it before anyone can. */
			mbox.req = NULL;
			r.ret = mbox.owner == NULL ? -ENODEV : -ETIMEDOUT;
			pthread_cond_broadcast(&mbox.cond);
			break;
		}
	}
	pthread_mutex_unlock(&mbox.lock);
	return r.ret;
}

bool
exp_telemetry_poll(struct lp_export *x)
{
	struct tel_req *r;

	if (!atomic_load_explicit(&mbox_posted, memory_order_acquire))
		return false;
	/* Never wait for the lock: a telemetry thread holds it only briefly,
	 * and the next pass comes soon. */
	if (pthread_mutex_trylock(&mbox.lock) != 0)
		return true;	/* try again soon */
	r = mbox.req;
	if (r == NULL || r->state != TEL_PENDING || mbox.owner != x) {
		if (r == NULL)
			atomic_store_explicit(&mbox_posted, false, memory_order_relaxed);
		pthread_mutex_unlock(&mbox.lock);
		return false;
	}
	r->state = TEL_SERVING;
	pthread_mutex_unlock(&mbox.lock);
	r->ret = serve(x, r);
	pthread_mutex_lock(&mbox.lock);
	r->state = TEL_DONE;
	mbox.req = NULL;
	atomic_store_explicit(&mbox_posted, false, memory_order_relaxed);
	pthread_cond_broadcast(&mbox.cond);
	pthread_mutex_unlock(&mbox.lock);
	return true;
}

int
exp_telemetry_open(struct lp_export *x, struct lp_diag *err)
{
	pthread_mutex_lock(&mbox.lock);
	if (mbox.owner != NULL) {
		pthread_mutex_unlock(&mbox.lock);
		lp_diag_add(err, "telemetry: another exporter already answers /limpet/ commands");
		return -EBUSY;
	}
	if (!mbox.registered) {
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&mbox.cond, &ca);
		pthread_condattr_destroy(&ca);
		/* Commands cannot be unregistered: they stay for the process and
		 * answer -ENODEV while no exporter owns the mailbox. */
		for (size_t i = 0; i < sizeof(tel_cmds) / sizeof(tel_cmds[0]); i++)
			if (rte_telemetry_register_cmd(tel_cmds[i].name, tel_callback, tel_cmds[i].help) != 0)
				LP_LOG(WARNING, ctl, "telemetry: cannot register %s\n", tel_cmds[i].name);
		mbox.registered = true;
	}
	mbox.owner = x;
	pthread_mutex_unlock(&mbox.lock);
	return 0;
}

void
exp_telemetry_close(struct lp_export *x)
{
	pthread_mutex_lock(&mbox.lock);
	if (mbox.owner == x) {
		mbox.owner = NULL;
		pthread_cond_broadcast(&mbox.cond);
	}
	pthread_mutex_unlock(&mbox.lock);
}
