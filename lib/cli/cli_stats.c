/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `show stats`: limpet-wide counters as "name value" lines, in the order
 * of the X-macro lists they come from (lp_stats.h, lp_drop.h,
 * lp_affinity.h), then a per-service table. Views of one port, worker,
 * service or backend belong here too, as more `show stats ...` entries in
 * the table at the end.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "cli_priv.h"

/* Per-pass bookkeeping of each worker: it moves while limpet idles, so
 * it says nothing summed up (and `clear stats` could never show it 0). */
static bool
worker_only(enum lp_wc c)
{
	return c == LP_WC_loop_passes || c == LP_WC_busy_cycles || c == LP_WC_idle_cycles;
}

static void
print_totals(struct lp_cli *cli, const struct lp_stats *s, FILE *o)
{
	uint64_t bindings[LP_AFF_REASON_MAX] = { 0 };
	uint32_t n = lp_ctl_service_count(cli->ctl);

	for (unsigned int c = 0; c < LP_WC_MAX; c++)
		if (!worker_only(c))
			fprintf(o, "%-24s %" PRIu64 "\n", lp_wc_name(c), s->c[c]);
	fprintf(o, "%-24s %" PRIu64 "\n", "drops", lp_stats_drops(s));
	fprintf(o, "%-24s %" PRIu64 "\n", "flows", lp_ctl_flow_count(cli->ctl));
	/* Bindings of services since removed are gone with their counters. */
	for (uint32_t i = 0; i < n; i++) {
		struct lp_service_view v;

		if (lp_ctl_service_view(cli->ctl, i, &v) != 0)
			continue;
		for (unsigned int r = 0; r < LP_AFF_REASON_MAX; r++)
			bindings[r] += v.aff[r];
	}
	for (unsigned int r = 0; r < LP_AFF_REASON_MAX; r++)
		fprintf(o, "bindings_%-15s %" PRIu64 "\n", lp_aff_reason_name(r), bindings[r]);
	for (unsigned int d = 1; d < LP_DROP_MAX; d++)
		if (s->drop[d] != 0)
			fprintf(o, "drop_%-19s %" PRIu64 "\n", lp_drop_name(d), s->drop[d]);
}

static int
print_services(struct lp_cli *cli, FILE *o)
{
	static const char *const head[] = { "SERVICE", "PACKETS", "BYTES", "FLOWS", "NAT_REPLIES", "BINDINGS_NEW" };
	uint32_t n = lp_ctl_service_count(cli->ctl);
	struct cli_table t;

	if (cli_table_init(&t, 6, head) != 0)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		struct lp_service_view v;

		if (lp_ctl_service_view(cli->ctl, i, &v) != 0)
			continue;
		cli_table_row(&t, "%s\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64, v.cfg->name, v.pkts,
			      v.bytes, v.flows, v.replies, v.aff[LP_AFF_NEW]);
	}
	cli_table_print(&t, o);
	return 0;
}

static int
show_stats(struct lp_cli *cli, const struct cli_res *r)
{
	/* Too big for the stack: every backend slot of every service. */
	struct lp_stats *s = malloc(sizeof(*s));
	FILE *o = cli_out(cli);

	(void)r;
	if (s == NULL)
		return cli_fail(cli, -ENOMEM, "out of memory");
	lp_ctl_stats(cli->ctl, s);
	print_totals(cli, s, o);
	free(s);
	if (print_services(cli, o) != 0)
		return cli_fail(cli, -ENOMEM, "out of memory");
	return 0;
}

static const struct cli_cmd stats_cmds[] = {
	{ "show stats", "counters: packets, drops by reason, flows, bindings by reason, per service", show_stats,
	  { CLI_KW(0, "show"), CLI_KW(1, "stats"), NULL } },
};

const struct cli_cmd_group cli_stats_group = { stats_cmds, sizeof(stats_cmds) / sizeof(stats_cmds[0]) };
