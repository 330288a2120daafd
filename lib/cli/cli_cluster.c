/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `show cluster`: replicated bindings (docs/cli.md): connection state,
 * peers seen, replication lag, counters.
 */
#include <errno.h>
#include <stdlib.h>

#include "cli_priv.h"
#include "lp_cluster.h"
#include "lp_ctl_cluster.h"

static int
show_cluster(struct lp_cli *cli, const struct cli_res *r)
{
	struct lp_cluster *cl = lp_ctl_cluster(cli->ctl);
	struct lp_cluster_status *st;
	char probe[1];
	size_t need;
	char *buf;

	(void)r;
	if (cl == NULL) {
		fprintf(cli_out(cli), "cluster: not configured (no `cluster` section: bindings are local)\n");
		return 0;
	}
	st = malloc(sizeof(*st));
	if (st == NULL)
		return cli_fail(cli, -ENOMEM, "out of memory");
	lp_cluster_status(cl, st);
	need = lp_cluster_format(st, probe, sizeof(probe)) + 1;
	buf = malloc(need);
	if (buf == NULL) {
		free(st);
		return cli_fail(cli, -ENOMEM, "out of memory");
	}
	lp_cluster_format(st, buf, need);
	fputs(buf, cli_out(cli));
	free(buf);
	free(st);
	return 0;
}

static const struct cli_cmd cluster_cmds[] = {
	{ "show cluster", "replicated bindings: Redis connection, peers, lag, backlog, counters", show_cluster,
	  { CLI_KW(0, "show"), CLI_KW(1, "cluster"), NULL } },
};

const struct cli_cmd_group cli_cluster_group = { cluster_cmds, sizeof(cluster_cmds) / sizeof(cluster_cmds[0]) };
