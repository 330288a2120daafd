/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `show stats [port [NAME] | worker [N] | service NAME | backend SVC
 * ADDR:PORT]`: the texts come from lib/export, which also feeds telemetry
 * and Prometheus from the same field lists, so the three never disagree.
 */
#include <errno.h>

#include "cli_priv.h"
#include "lp_export.h"

static int
shown(struct lp_cli *cli, int ret, const char *what, const char *name)
{
	if (ret == -ENOENT)
		return cli_fail(cli, ret, "no %s '%s'", what, name);
	if (ret != 0)
		return cli_fail(cli, ret, "out of memory");
	return 0;
}

static int
show_stats(struct lp_cli *cli, const struct cli_res *r)
{
	(void)r;
	return shown(cli, lp_export_show_stats(cli->ctl, cli->export, cli_out(cli)), "", "");
}

static int
show_ports(struct lp_cli *cli, const struct cli_res *r)
{
	(void)r;
	return shown(cli, lp_export_show_port(cli->ctl, cli->export, NULL, cli_out(cli)), "port", "");
}

static int
show_port(struct lp_cli *cli, const struct cli_res *r)
{
	return shown(cli, lp_export_show_port(cli->ctl, cli->export, r->v[3].str, cli_out(cli)), "port", r->v[3].str);
}

static int
show_workers(struct lp_cli *cli, const struct cli_res *r)
{
	(void)r;
	return shown(cli, lp_export_show_worker(cli->ctl, cli->export, -1, cli_out(cli)), "worker", "");
}

static int
show_worker(struct lp_cli *cli, const struct cli_res *r)
{
	char n[24];

	snprintf(n, sizeof(n), "%llu", (unsigned long long)r->v[3].u);
	return shown(cli, lp_export_show_worker(cli->ctl, cli->export, (int)r->v[3].u, cli_out(cli)), "worker", n);
}

static int
show_service(struct lp_cli *cli, const struct cli_res *r)
{
	return shown(cli, lp_export_show_service(cli->ctl, cli->export, r->v[3].str, cli_out(cli)), "service",
		     r->v[3].str);
}

static int
show_backend(struct lp_cli *cli, const struct cli_res *r)
{
	const struct cli_backend *b = &r->v[4].be;
	char ep[LP_ENDPOINT_STRLEN];
	int ret;

	ret = lp_export_show_backend(cli->ctl, cli->export, r->v[3].str, &b->addr, b->port, cli_out(cli));
	if (ret == -ENOENT)
		return cli_fail(cli, ret, "service '%s' has no backend %s", r->v[3].str,
				lp_endpoint_format(&b->addr, b->port, ep, sizeof(ep)));
	return shown(cli, ret, "", "");
}

static const struct cli_cmd stats_cmds[] = {
	{ "show stats", "counters: packets, drops by reason, flows, bindings by reason, per service, rates",
	  show_stats, { CLI_KW(0, "show"), CLI_KW(1, "stats"), NULL } },
	{ "show stats port [NAME]", "a port's counters, its device's counters and rates", show_ports,
	  { CLI_KW(0, "show"), CLI_KW(1, "stats"), CLI_KW(2, "port"), NULL } },
	{ NULL, "one port", show_port,
	  { CLI_KW(0, "show"), CLI_KW(1, "stats"), CLI_KW(2, "port"), CLI_NAME_TOK(3, "port name"), NULL } },
	{ "show stats worker [N]", "a worker's counters, busy share and flow table", show_workers,
	  { CLI_KW(0, "show"), CLI_KW(1, "stats"), CLI_KW(2, "worker"), NULL } },
	{ NULL, "one worker", show_worker,
	  { CLI_KW(0, "show"), CLI_KW(1, "stats"), CLI_KW(2, "worker"), CLI_UINT_TOK(3, "worker number", 0, 63),
	    NULL } },
	{ "show stats service NAME", "a service's counters, bindings by reason, one line per backend", show_service,
	  { CLI_KW(0, "show"), CLI_KW(1, "stats"), CLI_KW(2, "service"), CLI_NAME_TOK(3, "service name"), NULL } },
	{ "show stats backend SVC ADDR:PORT", "one backend's counters and rates", show_backend,
	  { CLI_KW(0, "show"), CLI_KW(1, "stats"), CLI_KW(2, "backend"), CLI_NAME_TOK(3, "service name"),
	    CLI_BACKEND_TOK(4), NULL } },
};

const struct cli_cmd_group cli_stats_group = { stats_cmds, sizeof(stats_cmds) / sizeof(stats_cmds[0]) };
