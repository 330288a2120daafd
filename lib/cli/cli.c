/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The CLI's channels: the command set (one table per file), the terminal
 * and the control socket (cli_sock.c), opened and polled here. Commands
 * run through cli_run.c.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmdline.h>
#include <cmdline_rdline.h>
#include <cmdline_socket.h>

#include "cli_priv.h"
#include "lp_log.h"

#define PROMPT "limpet> "
#define TERM_BYTES_PER_POLL 256	/* keystrokes taken per control-loop pass */

static const struct cli_cmd_group *const groups[] = {
	&cli_show_group,
	&cli_stats_group,
	&cli_edit_group,
	&cli_announce_group,
	&cli_admin_group,
	&cli_cluster_group,
	&cli_test_group,	/* last: in only with the test hooks */
};

struct lp_cli *
lp_cli_create(struct lp_ctl *ctl, const struct lp_cli_opts *opts, struct lp_diag *diag)
{
	struct lp_cli *cli = calloc(1, sizeof(*cli));
	int ret;

	if (cli == NULL) {
		lp_diag_add(diag, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	cli->ctl = ctl;
	cli->export = opts->export;
	if (opts->config_path != NULL && (cli->config_path = strdup(opts->config_path)) == NULL) {
		ret = -ENOMEM;
		goto fail;
	}
	/* The test hooks' commands exist only when asked for. */
	ret = cli_context_build(cli, groups, sizeof(groups) / sizeof(groups[0]) - (opts->test_hooks ? 0 : 1));
	if (ret != 0)
		goto fail;
	/* No descriptors: lines from files and the socket are handed to
	 * cmdline_parse() directly, never typed into its line editor. */
	cli->exec_cl = cmdline_new(cli->ctx, "", -1, -1);
	if (cli->exec_cl == NULL) {
		ret = -ENOMEM;
		goto fail;
	}
	if (opts->socket_path != NULL) {
		ret = cli_sock_open(cli, opts->socket_path, diag);
		if (ret != 0) {
			lp_cli_destroy(cli);
			errno = -ret;
			return NULL;
		}
	}
	/* The prompt opens on the first poll, after a --cmdline-file ran,
	 * so its output does not land behind the prompt. */
	cli->term_wanted = opts->interactive;
	return cli;
fail:
	lp_diag_add(diag, "cannot set up the command line: %s", strerror(-ret));
	lp_cli_destroy(cli);
	errno = -ret;
	return NULL;
}

void
lp_cli_destroy(struct lp_cli *cli)
{
	if (cli == NULL)
		return;
	/* A reload still being built for one of our channels: abandoned
	 * (its callback runs now, while we are still here). */
	if (cli->deferred.pending && !cli->deferred.done)
		lp_ctl_apply_cancel(cli->ctl);
	cli_deferred_clear(&cli->deferred);
	cli_sock_close(cli);
	if (cli->term_cl != NULL) {
		/* Restores the terminal settings cmdline_stdin_new() saved. */
		cmdline_stdin_exit(cli->term_cl);
		printf("\n");
		fflush(stdout);
	}
	if (cli->exec_cl != NULL)
		cmdline_free(cli->exec_cl);
	for (unsigned int i = 0; cli->ctx != NULL && cli->ctx[i] != NULL; i++)
		free(cli->ctx[i]);
	free(cli->ctx);
	free(cli->real);
	free(cli->bound);
	free(cli->config_path);
	free(cli);
}

static void
term_close(struct lp_cli *cli)
{
	cmdline_stdin_exit(cli->term_cl);
	cli->term_cl = NULL;
	printf("\n");
	fflush(stdout);
}

/* Take the keystrokes that are there, never waiting for more. */
static void
term_poll(struct lp_cli *cli)
{
	if (cli->term_wanted) {
		cli->term_wanted = false;
		cli->term_cl = cmdline_stdin_new(cli->ctx, PROMPT);
		if (cli->term_cl == NULL)
			LP_LOG(ERR, cli, "cannot open the interactive prompt\n");
	}
	for (int k = 0; k < TERM_BYTES_PER_POLL && cli->term_cl != NULL && !cli->quit; k++) {
		struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
		int st;

		if (poll(&p, 1, 0) <= 0)
			return;
		cli->activity++;
		/* A terminal that went away ends the session like `quit`.
		 * Input still there is read first: cmdline_poll() itself
		 * ends the session when the read finds the end of it. */
		if ((p.revents & (POLLERR | POLLNVAL)) || (p.revents & (POLLHUP | POLLIN)) == POLLHUP) {
			term_close(cli);
			cli->quit = true;
			return;
		}
		st = cmdline_poll(cli->term_cl);
		if (st < 0 || st == RDLINE_EXITED) {
			/* Ctrl-D on an empty line, or end of input. */
			term_close(cli);
			cli->quit = true;
			return;
		}
	}
}

uint64_t
lp_cli_activity(const struct lp_cli *cli)
{
	return cli->activity;
}

bool
lp_cli_poll(struct lp_cli *cli, uint64_t now)
{
	if (cli->term_wanted || cli->term_cl != NULL)
		term_poll(cli);
	if (cli->sock != NULL && !cli->quit)
		cli_sock_poll(cli, now);
	return cli->quit;
}
