/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Counter rates: a sample of every counter per interval (exp_sample_take,
 * from the exporter's poll) and the rates between the last two
 * (lp_export_rates, for telemetry and `show stats`). Calls only lib/ctl.
 */
#include <errno.h>
#include <string.h>

#include "export_priv.h"

/* Two samples are all a rate over the last interval needs. A sample is
 * the whole summed counter block (every backend slot), about 650 KB, so
 * a longer history would cost memory for no reader. */
void
exp_sample_take(struct lp_export *x, uint64_t now)
{
	struct sample *s;
	uint32_t nw = lp_ctl_worker_count(x->ctl);

	x->cur ^= 1;
	s = &x->s[x->cur];
	lp_ctl_stats(x->ctl, s->sum);
	memset(s->w, 0, sizeof(s->w));
	for (uint32_t i = 0; i < nw && i < LP_MAX_WORKERS; i++) {
		const volatile struct lp_stats *w = lp_ctl_worker_stats(x->ctl, i);
		struct worker_sample *ws = &s->w[i];

		ws->rx_pkts = w->c[LP_WC_rx_pkts];
		ws->rx_bytes = w->c[LP_WC_rx_bytes];
		ws->tx_pkts = w->c[LP_WC_tx_pkts];
		ws->tx_bytes = w->c[LP_WC_tx_bytes];
		ws->busy = w->c[LP_WC_busy_cycles];
		ws->idle = w->c[LP_WC_idle_cycles];
		for (unsigned int r = 1; r < LP_DROP_MAX; r++)
			ws->drops += w->drop[r];
	}
	s->tsc = now;
	s->seq = ++x->samples;
}

/* Increase of a counter between samples; one that went backwards was
 * cleared in between and counts from zero. */
static inline uint64_t
delta(uint64_t cur, uint64_t prev)
{
	return cur >= prev ? cur - prev : cur;
}

static void
rate(double *pps, double *bps, uint64_t pkts, uint64_t bytes, double secs)
{
	*pps = (double)pkts / secs;
	*bps = (double)bytes * 8.0 / secs;
}

static double
busy_share(const struct worker_sample *a, const struct worker_sample *b)
{
	uint64_t busy = delta(a->busy, b->busy), idle = delta(a->idle, b->idle);

	return busy + idle ? (double)busy / (double)(busy + idle) : 0.0;
}

int
lp_export_rates(const struct lp_export *x, enum lp_rate_scope scope, uint32_t index, struct lp_rates *out)
{
	const struct sample *a = &x->s[x->cur], *b = &x->s[x->cur ^ 1];
	const struct lp_stats *sa = a->sum, *sb = b->sum;
	uint32_t nw = lp_ctl_worker_count(x->ctl);
	double secs;

	memset(out, 0, sizeof(*out));
	switch (scope) {
	case LP_RATE_TOTAL:
		break;
	case LP_RATE_PORT:
		if (index >= lp_ctl_port_count(x->ctl))
			return -ENOENT;
		break;
	case LP_RATE_WORKER:
		if (index >= nw || index >= LP_MAX_WORKERS)
			return -ENOENT;
		break;
	case LP_RATE_SERVICE:
		if (index >= LP_MAX_SERVICES)
			return -ENOENT;
		break;
	case LP_RATE_BACKEND:
		if (index >= LP_STATS_BE_SLOTS)
			return -ENOENT;
		break;
	default:
		return -EINVAL;
	}
	if (b->tsc == 0 || a->tsc <= b->tsc)
		return 0;	/* one sample so far */
	secs = (double)(a->tsc - b->tsc) / (double)x->hz;
	out->interval_s = secs;
	out->seq = a->seq;
	switch (scope) {
	case LP_RATE_TOTAL:
		rate(&out->rx_pps, &out->rx_bps, delta(sa->c[LP_WC_rx_pkts], sb->c[LP_WC_rx_pkts]),
		     delta(sa->c[LP_WC_rx_bytes], sb->c[LP_WC_rx_bytes]), secs);
		rate(&out->tx_pps, &out->tx_bps, delta(sa->c[LP_WC_tx_pkts], sb->c[LP_WC_tx_pkts]),
		     delta(sa->c[LP_WC_tx_bytes], sb->c[LP_WC_tx_bytes]), secs);
		out->drop_pps = (double)delta(lp_stats_drops(sa), lp_stats_drops(sb)) / secs;
		for (uint32_t i = 0; i < nw && i < LP_MAX_WORKERS; i++)
			out->busy += busy_share(&a->w[i], &b->w[i]) / nw;
		break;
	case LP_RATE_PORT: {
		const struct lp_port_stats *pa = &sa->port[index], *pb = &sb->port[index];

		rate(&out->rx_pps, &out->rx_bps, delta(pa->rx_pkts, pb->rx_pkts), delta(pa->rx_bytes, pb->rx_bytes),
		     secs);
		rate(&out->tx_pps, &out->tx_bps, delta(pa->tx_pkts, pb->tx_pkts), delta(pa->tx_bytes, pb->tx_bytes),
		     secs);
		break;
	}
	case LP_RATE_WORKER: {
		const struct worker_sample *wa = &a->w[index], *wb = &b->w[index];

		rate(&out->rx_pps, &out->rx_bps, delta(wa->rx_pkts, wb->rx_pkts), delta(wa->rx_bytes, wb->rx_bytes),
		     secs);
		rate(&out->tx_pps, &out->tx_bps, delta(wa->tx_pkts, wb->tx_pkts), delta(wa->tx_bytes, wb->tx_bytes),
		     secs);
		out->drop_pps = (double)delta(wa->drops, wb->drops) / secs;
		out->busy = busy_share(wa, wb);
		break;
	}
	case LP_RATE_SERVICE:
		rate(&out->rx_pps, &out->rx_bps, delta(sa->svc[index].pkts, sb->svc[index].pkts),
		     delta(sa->svc[index].bytes, sb->svc[index].bytes), secs);
		break;
	case LP_RATE_BACKEND:
		rate(&out->rx_pps, &out->rx_bps, delta(sa->be[index].pkts, sb->be[index].pkts),
		     delta(sa->be[index].bytes, sb->be[index].bytes), secs);
		break;
	}
	return 0;
}
