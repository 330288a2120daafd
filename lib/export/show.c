/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The text of `show stats [port|worker|service|backend]`: counters as
 * "name value" lines in the order of their lists, rates on one line in
 * SI units, tables where there is one row per object.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "export_priv.h"

#define COL "  %-24s %" PRIu64 "\n"

/* 1234567 → "1.23 M"; below 1000 as is. */
static const char *
si(double v, char *buf, size_t len)
{
	static const char prefix[] = " kMGTP";
	unsigned int p = 0;

	while (v >= 999.5 && p + 1 < sizeof(prefix) - 1) {
		v /= 1000.0;
		p++;
	}
	/* No space inside: tables stay one word per cell. */
	if (p == 0)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.*f%c", v < 9.995 ? 2 : v < 99.95 ? 1 : 0, v, prefix[p]);
	return buf;
}

static void
rates_line(FILE *o, const struct lp_export *x, enum lp_rate_scope scope, uint32_t index, bool forwarded)
{
	struct lp_rates r;
	char a[16], b[16], c[16], d[16];

	if (x == NULL || lp_export_rates(x, scope, index, &r) != 0)
		return;
	if (r.interval_s == 0) {
		fprintf(o, "  rates: not measured yet (one sample so far)\n");
		return;
	}
	if (forwarded) {
		fprintf(o, "  rates over %.2f s: forwarded %s pps %s bit/s\n", r.interval_s, si(r.rx_pps, a, sizeof(a)),
			si(r.rx_bps, b, sizeof(b)));
		return;
	}
	fprintf(o, "  rates over %.2f s: rx %s pps %s bit/s, tx %s pps %s bit/s", r.interval_s, si(r.rx_pps, a, sizeof(a)),
		si(r.rx_bps, b, sizeof(b)), si(r.tx_pps, c, sizeof(c)), si(r.tx_bps, d, sizeof(d)));
	if (scope == LP_RATE_TOTAL || scope == LP_RATE_WORKER)
		fprintf(o, ", drops %s pps, busy %.1f%%", si(r.drop_pps, a, sizeof(a)), r.busy * 100.0);
	fputc('\n', o);
}

static void
field_lines(FILE *o, const struct exp_field *list, const void *view)
{
	for (const struct exp_field *f = list; f->key != NULL; f++)
		fprintf(o, COL, f->key, exp_field_get(f, view));
}

static void
drop_lines(FILE *o, const struct lp_stats *s)
{
	bool any = false;

	for (unsigned int r = 1; r < LP_DROP_MAX; r++)
		if (s->drop[r] != 0) {
			fprintf(o, "  drop_%-19s %" PRIu64 "\n", lp_drop_name(r), s->drop[r]);
			any = true;
		}
	if (!any)
		fprintf(o, "  no drops\n");
}

static double
percent(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* Per-pass bookkeeping of each worker: it moves while limpet idles, so
 * summed up it says nothing (`show stats worker` has it). */
static bool
worker_only(enum lp_wc k)
{
	return k == LP_WC_loop_passes || k == LP_WC_busy_cycles || k == LP_WC_idle_cycles || k == LP_WC_idle_sleeps ||
	       k == LP_WC_idle_wakes || k == LP_WC_ctl_wakes || k == LP_WC_sleep_cycles;
}

int
lp_export_show_stats(struct lp_ctl *c, const struct lp_export *x, FILE *out)
{
	struct lp_stats *s = malloc(sizeof(*s));
	uint32_t ns = lp_ctl_service_count(c);
	uint64_t bindings[LP_AFF_REASON_MAX] = { 0 };
	struct lp_table_view t;
	struct lp_rcu_view rcu;

	if (s == NULL)
		return -ENOMEM;
	lp_ctl_stats(c, s);
	/* Counters first, one "name value" line each, so scripts and
	 * `clear stats` checks read them alike; gauges and rates come last. */
	for (unsigned int k = 0; k < LP_WC_MAX; k++)
		if (!worker_only(k))
			fprintf(out, "%-24s %" PRIu64 "\n", lp_wc_name(k), s->c[k]);
	fprintf(out, "%-24s %" PRIu64 "\n", "drops", lp_stats_drops(s));
	for (uint32_t i = 0; i < ns; i++) {
		struct lp_service_view v;

		if (lp_ctl_service_view(c, i, &v) == 0)
			for (unsigned int r = 0; r < LP_AFF_REASON_MAX; r++)
				bindings[r] += v.aff[r];
	}
	for (unsigned int r = 0; r < LP_AFF_REASON_MAX; r++)
		fprintf(out, "bindings_%-15s %" PRIu64 "\n", lp_aff_reason_name(r), bindings[r]);
	for (unsigned int r = 1; r < LP_DROP_MAX; r++)
		if (s->drop[r] != 0)
			fprintf(out, "drop_%-19s %" PRIu64 "\n", lp_drop_name(r), s->drop[r]);
	free(s);
	fprintf(out, "%-20s %12s %14s %10s %10s %10s %12s %12s %10s\n", "SERVICE", "PACKETS", "BYTES", "FLOWS",
		"ACTIVE", "BINDINGS", "NAT_REPLIES", "BINDINGS_NEW", "PPS");
	for (uint32_t i = 0; i < ns; i++) {
		struct lp_service_view v;
		struct lp_rates r = { 0 };
		char pps[16];

		if (lp_ctl_service_view(c, i, &v) != 0)
			continue;
		if (x != NULL)
			lp_export_rates(x, LP_RATE_SERVICE, v.id, &r);
		fprintf(out, "%-20s %12" PRIu64 " %14" PRIu64 " %10" PRIu64 " %10u %10u %12" PRIu64 " %12" PRIu64 " %10s\n",
			v.cfg->name, v.pkts, v.bytes, v.flows, v.flows_active, v.bindings, v.replies, v.aff[LP_AFF_NEW],
			si(r.rx_pps, pps, sizeof(pps)));
	}
	lp_ctl_table_view(c, &t);
	lp_ctl_rcu_view(c, &rcu);
	fprintf(out, "limpet: %u workers, %u ports, %u services\n", lp_ctl_worker_count(c), lp_ctl_port_count(c), ns);
	rates_line(out, x, LP_RATE_TOTAL, 0, false);
	fprintf(out, "  flows %" PRIu64 " of %" PRIu64 " (%.1f%%), bindings %u of %u (%.1f%%)\n", t.flows,
		t.flow_capacity, percent(t.flows, t.flow_capacity), t.bindings, t.binding_capacity,
		percent(t.bindings, t.binding_capacity));
	fprintf(out, "  model changes visible to every worker after %.1f us (max %.1f us, %" PRIu64 " changes)\n",
		(double)rcu.last_cycles * 1e6 / (double)rcu.hz, (double)rcu.max_cycles * 1e6 / (double)rcu.hz,
		rcu.changes);
	return 0;
}

static void
one_port(struct lp_ctl *c, const struct lp_export *x, uint32_t i, FILE *out)
{
	struct lp_port_view v;

	if (lp_ctl_port_view(c, i, &v) != 0)
		return;
	fprintf(out, "port %s: device %s, DPDK port %u, %u rx / %u tx queues\n", v.name, v.device, v.port_id, v.n_rxq,
		v.n_txq);
	rates_line(out, x, LP_RATE_PORT, i, false);
	field_lines(out, exp_port_fields, &v);
}

int
lp_export_show_port(struct lp_ctl *c, const struct lp_export *x, const char *name, FILE *out)
{
	uint32_t np = lp_ctl_port_count(c);

	for (uint32_t i = 0; i < np; i++) {
		struct lp_port_view v;

		if (lp_ctl_port_view(c, i, &v) != 0 || (name != NULL && strcmp(v.name, name) != 0))
			continue;
		one_port(c, x, i, out);
		if (name != NULL)
			return 0;
	}
	return name != NULL ? -ENOENT : 0;
}

static void
one_worker(struct lp_ctl *c, const struct lp_export *x, uint32_t i, FILE *out)
{
	const struct lp_stats *s = lp_ctl_worker_stats(c, i);
	struct lp_worker_view v;

	if (s == NULL || lp_ctl_worker_view(c, i, &v) != 0)
		return;
	fprintf(out, "worker %u: lcore %u, flows %u of %u (%.1f%%)\n", i, v.lcore, v.flows, v.flow_capacity,
		percent(v.flows, v.flow_capacity));
	rates_line(out, x, LP_RATE_WORKER, i, false);
	for (unsigned int k = 0; k < LP_WC_MAX; k++)
		fprintf(out, COL, lp_wc_name(k), s->c[k]);
	fprintf(out, COL, "drops", lp_stats_drops(s));
	drop_lines(out, s);
}

int
lp_export_show_worker(struct lp_ctl *c, const struct lp_export *x, int worker, FILE *out)
{
	uint32_t nw = lp_ctl_worker_count(c);

	if (worker >= 0) {
		if ((uint32_t)worker >= nw)
			return -ENOENT;
		one_worker(c, x, (uint32_t)worker, out);
		return 0;
	}
	for (uint32_t i = 0; i < nw; i++)
		one_worker(c, x, i, out);
	return 0;
}

static void
backend_row(FILE *out, const struct lp_export *x, const struct lp_backend_view *b)
{
	struct lp_rates r = { 0 };
	char ep[LP_ENDPOINT_STRLEN], pps[16];

	if (x != NULL)
		lp_export_rates(x, LP_RATE_BACKEND, b->gslot, &r);
	fprintf(out, "  %-28s %-8s %6u %12" PRIu64 " %10s %10" PRIu64 " %10u %10u\n",
		lp_endpoint_format(&b->addr, b->port, ep, sizeof(ep)), exp_backend_state(b), b->eff_weight, b->pkts,
		si(r.rx_pps, pps, sizeof(pps)), b->flows, b->flows_active, b->bindings);
}

int
lp_export_show_service(struct lp_ctl *c, const struct lp_export *x, const char *name, FILE *out)
{
	struct lp_backend_view *bv;
	struct lp_service_view v;
	char ep[LP_ENDPOINT_STRLEN];
	int n;

	if (lp_ctl_service_view_by_name(c, name, &v) != 0)
		return -ENOENT;
	bv = calloc(v.n_backends ? v.n_backends : 1, sizeof(*bv));
	if (bv == NULL)
		return -ENOMEM;
	fprintf(out, "service %s: %s %s %s, %u backends (%u up)\n", v.cfg->name,
		lp_endpoint_format(&v.cfg->vip, v.cfg->port, ep, sizeof(ep)), lp_proto_name(v.cfg->proto),
		lp_fwd_mode_name(v.cfg->forwarding), v.n_backends, v.n_up);
	rates_line(out, x, LP_RATE_SERVICE, v.id, true);
	field_lines(out, exp_service_fields, &v);
	for (unsigned int r = 0; r < LP_AFF_REASON_MAX; r++)
		fprintf(out, "  bindings_%-15s %" PRIu64 "\n", lp_aff_reason_name(r), v.aff[r]);
	n = lp_ctl_backend_views(c, name, bv, v.n_backends);
	if (n > 0)
		fprintf(out, "  %-28s %-8s %6s %12s %10s %10s %10s %10s\n", "BACKEND", "STATE", "WEIGHT", "PACKETS",
			"PPS", "FLOWS", "ACTIVE", "BINDINGS");
	for (int i = 0; i < n; i++)
		backend_row(out, x, &bv[i]);
	free(bv);
	return 0;
}

int
lp_export_show_backend(struct lp_ctl *c, const struct lp_export *x, const char *svc, const struct lp_ip *addr,
		       uint16_t port, FILE *out)
{
	struct lp_backend_view *bv;
	struct lp_service_view v;
	int n, ret = -ENOENT;

	if (lp_ctl_service_view_by_name(c, svc, &v) != 0)
		return -ENOENT;
	bv = calloc(v.n_backends ? v.n_backends : 1, sizeof(*bv));
	if (bv == NULL)
		return -ENOMEM;
	n = lp_ctl_backend_views(c, svc, bv, v.n_backends);
	for (int i = 0; i < n; i++) {
		const struct lp_backend_view *b = &bv[i];
		char ep[LP_ENDPOINT_STRLEN];

		if (!lp_ip_equal(&b->addr, addr) || b->port != port)
			continue;
		fprintf(out, "backend %s of %s: %s%s, weight %u (effective %u), %s\n",
			lp_endpoint_format(&b->addr, b->port, ep, sizeof(ep)), svc, exp_backend_state(b),
			b->removing ? " (removed, draining)" : "", b->weight, b->eff_weight,
			b->healthy ? "healthy" : "failing health checks");
		rates_line(out, x, LP_RATE_BACKEND, b->gslot, true);
		field_lines(out, exp_backend_fields, b);
		ret = 0;
		break;
	}
	free(bv);
	return ret;
}
