/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * limpet's command line: one set of rte_cmdline commands (testpmd style),
 * served on three channels that all run on the control thread:
 *  - the terminal (`limpet ... -- -i`), polled without blocking,
 *  - a file of commands (`--cmdline-file F`), run once at start,
 *  - a unix socket (`--ctl-socket PATH`) that `limpetctl` speaks to.
 *
 * A line no command matches is explained: the closest command names the
 * bad token and what it expected (`bad argument 'wieght' (argument 5):
 * expected weight|up|down|drain`). Errors from the model come back as its
 * lp_diag messages (`no service 'x'`); a failed command changes nothing.
 * docs/cli.md is the reference, with the socket protocol.
 *
 * Not thread safe: the control thread calls all of this.
 */
#ifndef LP_CLI_H
#define LP_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lp_config.h"

struct lp_ctl;
struct lp_cli;
struct lp_export;

/** How the CLI is served. */
struct lp_cli_opts {
	const char *config_path;	/**< the file a bare `reload` re-reads (NULL: `reload FILE` only) */
	bool interactive;		/**< prompt on the terminal (stdin / stdout) */
	const char *socket_path;	/**< control socket to listen on, NULL for none */
	struct lp_export *export;	/**< rates for `show stats ...` (NULL: counters only) */
	bool test_hooks;		/**< add the `test ...` commands (limpet --test-hooks; tests only) */
};

/**
 * Build the command set over @p ctl and open the channels @p opts asks
 * for: put the terminal in raw mode, replace a stale socket file and
 * listen (mode 0600). @return the CLI, or NULL with one message in
 * @p diag and errno set.
 */
struct lp_cli *lp_cli_create(struct lp_ctl *ctl, const struct lp_cli_opts *opts, struct lp_diag *diag);

/**
 * Run one command line. Output goes to @p out, each error message to
 * @p err (one entry each). A blank line or a comment does nothing.
 * @return 0, or -errno when the command failed.
 */
int lp_cli_exec(struct lp_cli *cli, const char *line, FILE *out, struct lp_diag *err);

/**
 * Run every line of @p path: output to @p out, each error as
 * "PATH:LINE: message" on @p err, going on after errors. Stops after a
 * `quit`. @return the number of lines that failed, or -errno when the
 * file cannot be read.
 */
int lp_cli_run_file(struct lp_cli *cli, const char *path, FILE *out, FILE *err);

/**
 * Serve the terminal and the socket without blocking: take what input is
 * there, run complete lines, send what replies fit. @p now is the TSC
 * (idle connections time out). Call it from the control loop.
 * @return true once `quit` was entered (or the terminal closed).
 */
bool lp_cli_poll(struct lp_cli *cli, uint64_t now);

/** Grows with every input read, line run, reply sent and connection
 * accepted: the control loop polls again soon after a pass that moved it. */
uint64_t lp_cli_activity(const struct lp_cli *cli);

/** True once a `quit` ran on any channel. */
bool lp_cli_quit_requested(const struct lp_cli *cli);

/**
 * Send pending replies (briefly), close connections, remove the socket
 * file, restore the terminal, free everything. NULL is a no-op.
 */
void lp_cli_destroy(struct lp_cli *cli);

#endif /* LP_CLI_H */
