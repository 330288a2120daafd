/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Test hooks: commands that break limpet on purpose, for tests of what
 * watches it. They exist only when limpet runs with --test-hooks; without
 * it the words are unknown commands, so production cannot reach them.
 */
#include <errno.h>
#include <inttypes.h>

#include "cli_priv.h"
#include "lp_notify.h"

static int
stall_worker(struct lp_cli *cli, const struct cli_res *r)
{
	struct lp_dp *dp = lp_ctl_dp(cli->ctl);
	uint64_t idx = r->v[3].u;
	int ret;

	if (idx >= dp->n_workers)
		return cli_fail(cli, -EINVAL, "no worker %" PRIu64 " (limpet runs %u)", idx, dp->n_workers);
	ret = lp_test_stall_worker(dp->worker[idx], (uint32_t)r->v[4].u);
	if (ret == -EBUSY)
		return cli_fail(cli, ret, "worker %" PRIu64 " is busy with a stall or a request", idx);
	if (ret != 0)
		return cli_fail(cli, ret, "worker %" PRIu64 " does not run", idx);
	fprintf(cli_out(cli), "worker %" PRIu64 " stalled for %" PRIu64 " ms\n", idx, r->v[4].u);
	return 0;
}

static const struct cli_cmd test_cmds[] = {
	{ "test stall worker N MS", "(--test-hooks) hold worker N in a loop without quiescent states for MS ms",
	  stall_worker,
	  { CLI_KW(0, "test"), CLI_KW(1, "stall"), CLI_KW(2, "worker"), CLI_UINT_TOK(3, "worker", 0, LP_MAX_WORKERS - 1),
	    CLI_UINT_TOK(4, "milliseconds", 1, 600000), NULL } },
};

const struct cli_cmd_group cli_test_group = { test_cmds, sizeof(test_cmds) / sizeof(test_cmds[0]) };
