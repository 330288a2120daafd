/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Prometheus text exposition format (0.0.4): every metric family is
 * one HELP line, one TYPE line and its samples, contiguous as the format
 * requires. Families come from the X-macro lists (worker counters, drop
 * reasons, binding reasons) and the field lists of fields.c.
 *
 * A scrape is gathered on the control thread (copies of the views, the
 * names they carry included) and rendered from that copy alone, so the
 * rendering may run on another thread (http.c) while the control thread
 * changes the model. The only live data it reads are the counter blocks,
 * which outlive the exporter and which every reader reads racily anyway
 * (lp_stats.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>

#include "export_priv.h"
#include "lp_announce.h"
#include "lp_cluster.h"
#include "lp_ctl_cluster.h"

/* Everything one scrape reports, gathered first: each family walks it. */
struct exp_scrape {
	FILE *o;
	uint32_t nw, np, ns, nb;
	const struct lp_stats *ws[LP_MAX_WORKERS];
	const struct lp_stats *ctl;
	struct lp_worker_view wv[LP_MAX_WORKERS];
	struct lp_port_view pv[LP_MAX_PORTS];
	struct lp_service_view *sv;
	struct lp_backend_view *bv;
	uint32_t *bsvc;			/* service (index into sv) of each backend */
	char (*bname)[LP_ENDPOINT_STRLEN];	/* "addr:port" of each backend */
	char (*sname)[LP_NAME_MAX];	/* name of each service (sv[i].cfg is the model's) */
	char pname[LP_MAX_PORTS][LP_NAME_MAX];	/* name of each port */
	struct lp_table_view tables;
	struct lp_rcu_view rcu;
	double uptime_s;
	bool announce;			/* the config has announce: */
	struct lp_announce_stats ann;
	unsigned int holds;
	uint32_t nv;			/* VIPs the announcer knows */
	struct lp_announce_view *vv;
	struct lp_cluster_status *cluster;	/* NULL without `cluster` */
};

enum scope { S_WORKER, S_PORT, S_SERVICE, S_BACKEND };

static void
escaped(FILE *o, const char *s, bool label)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			fputs("\\\\", o);
		else if (*s == '\n')
			fputs("\\n", o);
		else if (label && *s == '"')
			fputs("\\\"", o);
		else
			fputc(*s, o);
	}
}

static void
family(FILE *o, const char *name, bool counter, const char *help)
{
	fprintf(o, "# HELP %s ", name);
	escaped(o, help, false);
	fprintf(o, "\n# TYPE %s %s\n", name, counter ? "counter" : "gauge");
}

static void
label(FILE *o, bool first, const char *key, const char *value)
{
	fprintf(o, "%s%s=\"", first ? "" : ",", key);
	escaped(o, value, true);
	fputc('"', o);
}

/* Sample name{scope labels[,extra="value"]} value */
static void
sample(struct exp_scrape *s, const char *name, enum scope sc, uint32_t i, const char *extra_key,
       const char *extra_value, uint64_t value)
{
	FILE *o = s->o;
	char num[16];

	fprintf(o, "%s{", name);
	switch (sc) {
	case S_WORKER:
		if (i == UINT32_MAX) {
			label(o, true, "worker", "control");
		} else {
			snprintf(num, sizeof(num), "%u", i);
			label(o, true, "worker", num);
		}
		break;
	case S_PORT:
		label(o, true, "port", s->pname[i]);
		break;
	case S_SERVICE:
		label(o, true, "service", s->sname[i]);
		break;
	case S_BACKEND:
		label(o, true, "service", s->sname[s->bsvc[i]]);
		label(o, false, "backend", s->bname[i]);
		break;
	}
	if (extra_key != NULL)
		label(o, false, extra_key, extra_value);
	fprintf(o, "} %" PRIu64 "\n", value);
}

static void
plain(FILE *o, const char *name, bool counter, const char *help, const char *fmt, double value)
{
	family(o, name, counter, help);
	fprintf(o, "%s ", name);
	fprintf(o, fmt, value);
	fputc('\n', o);
}

/* One family per field, one sample per object of the scope. */
static void
fields(struct exp_scrape *s, const char *prefix, const struct exp_field *list, enum scope sc, const void *views,
       size_t stride, uint32_t n)
{
	char name[96];

	for (const struct exp_field *f = list; f->key != NULL; f++) {
		snprintf(name, sizeof(name), "limpet_%s_%s%s", prefix, f->key, f->counter ? "_total" : "");
		family(s->o, name, f->counter, f->help);
		for (uint32_t i = 0; i < n; i++)
			sample(s, name, sc, i, NULL, NULL, exp_field_get(f, (const uint8_t *)views + i * stride));
	}
}

static int
gather(struct exp_scrape *s, struct lp_export *x, struct lp_ctl *c)
{
	uint32_t cap = 0;

	lp_ctl_table_view(c, &s->tables);
	lp_ctl_rcu_view(c, &s->rcu);
	s->uptime_s = (double)(rte_rdtsc() - x->started) / (double)x->hz;
	if (lp_ctl_cluster(c) != NULL) {
		s->cluster = malloc(sizeof(*s->cluster));
		if (s->cluster == NULL)
			return -ENOMEM;
		lp_cluster_status(lp_ctl_cluster(c), s->cluster);
	}

	s->nw = lp_ctl_worker_count(c);
	s->np = lp_ctl_port_count(c);
	s->ns = lp_ctl_service_count(c);
	for (uint32_t i = 0; i < s->nw; i++) {
		s->ws[i] = lp_ctl_worker_stats(c, i);
		lp_ctl_worker_view(c, i, &s->wv[i]);
	}
	s->ctl = lp_ctl_control_stats(c);
	for (uint32_t i = 0; i < s->np; i++) {
		lp_ctl_port_view(c, i, &s->pv[i]);
		snprintf(s->pname[i], sizeof(s->pname[i]), "%s", s->pv[i].name);
	}
	s->sv = calloc(s->ns ? s->ns : 1, sizeof(*s->sv));
	s->sname = calloc(s->ns ? s->ns : 1, sizeof(*s->sname));
	if (s->sv == NULL || s->sname == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->ns; i++) {
		if (lp_ctl_service_view(c, i, &s->sv[i]) != 0)
			return -EAGAIN;
		snprintf(s->sname[i], sizeof(s->sname[i]), "%s", s->sv[i].cfg->name);
		cap += s->sv[i].n_backends;
	}
	if (lp_ctl_announcer(c) != NULL) {
		struct lp_announce *a = lp_ctl_announcer(c);

		s->announce = true;
		s->ann = *lp_announce_stats(a);
		s->holds = lp_announce_holds(a);
		s->nv = lp_announce_count(a);
		s->vv = calloc(s->nv ? s->nv : 1, sizeof(*s->vv));
		if (s->vv == NULL)
			return -ENOMEM;
		for (uint32_t i = 0; i < s->nv; i++)
			lp_announce_view(a, i, &s->vv[i]);
	}
	s->bv = calloc(cap ? cap : 1, sizeof(*s->bv));
	s->bsvc = calloc(cap ? cap : 1, sizeof(*s->bsvc));
	s->bname = calloc(cap ? cap : 1, sizeof(*s->bname));
	if (s->bv == NULL || s->bsvc == NULL || s->bname == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->ns; i++) {
		int n = lp_ctl_backend_views(c, s->sv[i].cfg->name, s->bv + s->nb, cap - s->nb);

		for (int k = 0; k < n; k++) {
			const struct lp_backend_view *b = &s->bv[s->nb];

			lp_endpoint_format(&b->addr, b->port, s->bname[s->nb], sizeof(s->bname[0]));
			s->bsvc[s->nb++] = i;
		}
	}
	return 0;
}

void
exp_prom_free(struct exp_scrape *s)
{
	if (s == NULL)
		return;
	free(s->sv);
	free(s->bv);
	free(s->bsvc);
	free(s->bname);
	free(s->sname);
	free(s->vv);
	free(s->cluster);
	free(s);
}

/* VIP announcement (announce:): lib/announce's counters, the holds, and
 * per VIP whether its route is in the kernel table. */
static void
announce_families(struct exp_scrape *s)
{
	static const struct {
		unsigned int bit;
		const char *name;
	} holds[] = {
		{ LP_ANNOUNCE_HOLD_SHUTDOWN, "shutdown" },
		{ LP_ANNOUNCE_HOLD_OPERATOR, "operator" },
		{ LP_ANNOUNCE_HOLD_WORKERS, "workers" },
		{ LP_ANNOUNCE_HOLD_LOADING, "loading" },
	};
	FILE *o = s->o;
	char a[LP_IP_STRLEN];

	if (!s->announce)
		return;
#define X(n, h) plain(o, "limpet_announce_" #n "_total", true, h, "%.0f", (double)s->ann.n);
	LP_ANNOUNCE_COUNTER_LIST(X)
#undef X
	family(o, "limpet_announce_hold", false, "1 while a hold withdraws every VIP route (shutdown, operator, workers, loading)");
	for (size_t i = 0; i < sizeof(holds) / sizeof(holds[0]); i++)
		fprintf(o, "limpet_announce_hold{reason=\"%s\"} %u\n", holds[i].name, (s->holds & holds[i].bit) != 0);
	family(o, "limpet_announce_vip_announced", false,
	       "1 while the VIP's route is in the kernel table; reason: why not (as show announce says)");
	for (uint32_t i = 0; i < s->nv; i++) {
		fprintf(o, "limpet_announce_vip_announced{vip=\"%s\",reason=\"",
			lp_ip_format(&s->vv[i].addr, a, sizeof(a)));
		escaped(o, s->vv[i].announced ? "" : lp_announce_why_name(s->vv[i].why), true);
		fprintf(o, "\"} %u\n", s->vv[i].announced);
	}
}

static void
global_families(struct exp_scrape *s)
{
	const struct lp_table_view t = s->tables;
	const struct lp_rcu_view r = s->rcu;
	FILE *o = s->o;

	plain(o, "limpet_uptime_seconds", false, "seconds since the exporter started", "%.3f", s->uptime_s);
	plain(o, "limpet_tsc_hz", false, "TSC cycles per second (busy_cycles and idle_cycles count them)", "%.0f",
	      (double)r.hz);
	plain(o, "limpet_workers", false, "worker lcores", "%.0f", s->nw);
	plain(o, "limpet_services", false, "services configured", "%.0f", s->ns);
	plain(o, "limpet_flows", false, "flow entries in all shards", "%.0f", (double)t.flows);
	plain(o, "limpet_flow_capacity", false, "flow entries all shards hold at most", "%.0f", (double)t.flow_capacity);
	plain(o, "limpet_affinity_bindings", false, "bindings in the affinity table (deleted ones awaiting reuse included)",
	      "%.0f", t.bindings);
	plain(o, "limpet_affinity_capacity", false, "bindings the affinity table holds at most", "%.0f",
	      t.binding_capacity);
	plain(o, "limpet_rcu_change_visible_seconds", false,
	      "last model change: from its publication until every worker passed a quiescent state", "%.9f",
	      (double)r.last_cycles / (double)r.hz);
	plain(o, "limpet_rcu_change_visible_max_seconds", false,
	      "largest publication-to-visible time of a model change since start", "%.9f",
	      (double)r.max_cycles / (double)r.hz);
	plain(o, "limpet_rcu_changes_total", true, "model changes published and measured until visible", "%.0f",
	      (double)r.changes);
}

static void
worker_families(struct exp_scrape *s)
{
	char name[96];

	for (unsigned int k = 0; k < LP_WC_MAX; k++) {
		snprintf(name, sizeof(name), "limpet_%s_total", lp_wc_name(k));
		family(s->o, name, true, lp_wc_help(k));
		for (uint32_t i = 0; i < s->nw; i++)
			sample(s, name, S_WORKER, i, NULL, NULL, s->ws[i]->c[k]);
	}
	/* Drops by the control thread (slow path) under worker="control". */
	family(s->o, "limpet_drops_total", true, "packets dropped, by worker and reason (see limpet_drop_reason_info)");
	for (uint32_t i = 0; i <= s->nw; i++)
		for (unsigned int r = 1; r < LP_DROP_MAX; r++)
			sample(s, "limpet_drops_total", S_WORKER, i == s->nw ? UINT32_MAX : i, "reason", lp_drop_name(r),
			       (i == s->nw ? s->ctl : s->ws[i])->drop[r]);
	/* The reasons' meanings, so a dashboard can show them. */
	family(s->o, "limpet_drop_reason_info", false, "1 for each drop reason; label help says what it means");
	for (unsigned int r = 1; r < LP_DROP_MAX; r++) {
		fputs("limpet_drop_reason_info{", s->o);
		label(s->o, true, "reason", lp_drop_name(r));
		label(s->o, false, "help", lp_drop_help(r));
		fputs("} 1\n", s->o);
	}
	fields(s, "worker", exp_worker_fields, S_WORKER, s->wv, sizeof(s->wv[0]), s->nw);
}

static void
service_families(struct exp_scrape *s)
{
	fields(s, "service", exp_service_fields, S_SERVICE, s->sv, sizeof(s->sv[0]), s->ns);
	family(s->o, "limpet_service_binding_events_total", true,
	       "affinity bindings created, moved or removed, by reason");
	for (uint32_t i = 0; i < s->ns; i++)
		for (unsigned int r = 0; r < LP_AFF_REASON_MAX; r++)
			sample(s, "limpet_service_binding_events_total", S_SERVICE, i, "reason", lp_aff_reason_name(r),
			       s->sv[i].aff[r]);
	fields(s, "backend", exp_backend_fields, S_BACKEND, s->bv, sizeof(s->bv[0]), s->nb);
	family(s->o, "limpet_backend_state", false, "1 for the state the data path sees (up, draining, down), else 0");
	for (uint32_t i = 0; i < s->nb; i++)
		for (unsigned int st = LP_BE_UP; st <= LP_BE_DOWN; st++)
			sample(s, "limpet_backend_state", S_BACKEND, i, "state", lp_backend_state_name(st),
			       s->bv[i].state == st);
}

/* Replicated bindings: the counters of LP_CLUSTER_COUNTERS, the state and the lag. */
static void
cluster_families(struct exp_scrape *s)
{
	const struct lp_cluster_status *st = s->cluster;
	char name[96];
	FILE *o = s->o;

	if (st == NULL)
		return;
	for (unsigned int k = 0; k < LP_CLUSTER_C_MAX; k++) {
		snprintf(name, sizeof(name), "limpet_cluster_%s_total", lp_cluster_counter_name(k));
		plain(o, name, true, lp_cluster_counter_help(k), "%.0f", (double)st->counters[k]);
	}
	family(o, "limpet_cluster_state", false, "1 for the state of the connection to Redis, else 0");
	for (unsigned int k = 0; k < LP_CLUSTER_STATE_MAX; k++) {
		fputs("limpet_cluster_state{", o);
		label(o, true, "state", lp_cluster_state_name(k));
		fprintf(o, "} %d\n", st->state == k);
	}
	plain(o, "limpet_cluster_loaded", false, "1 once the live bindings were loaded from Redis (warm start)", "%.0f",
	      st->loaded ? 1.0 : 0.0);
	plain(o, "limpet_cluster_backlog", false, "bindings with changes not yet written to Redis", "%.0f",
	      (double)st->backlog);
	plain(o, "limpet_cluster_inflight", false, "Redis commands awaiting their replies", "%.0f", (double)st->inflight);
	plain(o, "limpet_cluster_peers", false, "instances of the cluster seen in Redis (this one included)", "%.0f",
	      (double)st->n_peers);
	plain(o, "limpet_cluster_lag_p50_seconds", false,
	      "replication lag, median: a peer's change written to Redis until applied here", "%.6f",
	      st->lag_in.p50_us / 1e6);
	plain(o, "limpet_cluster_lag_p99_seconds", false,
	      "replication lag, 99th percentile: a peer's change written to Redis until applied here", "%.6f",
	      st->lag_in.p99_us / 1e6);
	plain(o, "limpet_cluster_lag_max_seconds", false, "replication lag, largest of the last window", "%.6f",
	      st->lag_in.max_us / 1e6);
	plain(o, "limpet_cluster_write_lag_p99_seconds", false,
	      "99th percentile: a local change taken from the ring until Redis acknowledged it", "%.6f",
	      st->lag_out.p99_us / 1e6);
}

struct exp_scrape *
exp_prom_gather(struct lp_export *x)
{
	struct exp_scrape *s = calloc(1, sizeof(*s));

	if (s != NULL && gather(s, x, x->ctl) != 0) {
		exp_prom_free(s);
		s = NULL;
	}
	return s;
}

int
exp_prom_render(struct exp_scrape *s, FILE *out)
{
	s->o = out;
	global_families(s);
	worker_families(s);
	fields(s, "port", exp_port_fields, S_PORT, s->pv, sizeof(s->pv[0]), s->np);
	service_families(s);
	announce_families(s);
	cluster_families(s);
	s->o = NULL;
	return ferror(out) ? -EIO : 0;
}

int
lp_export_prometheus(struct lp_export *x, FILE *out)
{
	struct exp_scrape *s = exp_prom_gather(x);
	int ret = s != NULL ? exp_prom_render(s, out) : -ENOMEM;

	exp_prom_free(s);
	return ret;
}
