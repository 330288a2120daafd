/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The CLI: builds the rte_cmdline context from the command tables, runs
 * lines, and serves the terminal and command files (the socket is in
 * cli_sock.c).
 *
 * Each command instance is a copy of its table entry whose `data` points
 * at the CLI, so handlers need no global to find it. One trampoline runs
 * them all: it points the handler at the running command's output and
 * error list, which the channel then presents its own way.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
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
	&cli_admin_group,
};

FILE *
cli_out(struct lp_cli *cli)
{
	return cli->cur->out;
}

struct lp_diag *
cli_diag(struct lp_cli *cli)
{
	return cli->cur->err;
}

int
cli_fail(struct lp_cli *cli, int ret, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	lp_diag_add(cli->cur->err, "%s", msg != NULL ? msg : "out of memory");
	free(msg);
	return ret;
}

const struct cli_cmd *
cli_cmd_at(const struct lp_cli *cli, unsigned int i)
{
	return i < cli->n_cmds ? cli->bound[i].cmd : NULL;
}

bool
lp_cli_quit_requested(const struct lp_cli *cli)
{
	return cli->quit;
}

static void run_bound(void *res, struct cmdline *cl, void *data);

/* The prompt called a command: run it with the terminal as its output. */
static void
run_on_terminal(struct lp_cli *cli, void *res, struct cmdline *cl, struct cli_bound *b)
{
	struct lp_diag err = { 0 };
	struct cli_run run = { .out = stdout, .err = &err };

	cli->cur = &run;
	run_bound(res, cl, b);
	cli->cur = NULL;
	fflush(stdout);
	for (uint32_t i = 0; i < err.n; i++)
		printf("%s\n", err.msg[i]);
	fflush(stdout);
	lp_diag_clear(&err);
}

/* Every instance's callback: run the command (or explain the line). */
static void
run_bound(void *res, struct cmdline *cl, void *data)
{
	struct cli_bound *b = data;
	struct lp_cli *cli = b->cli;
	struct cli_run *run = cli->cur;

	if (run == NULL) {
		run_on_terminal(cli, res, cl, b);
		return;
	}
	run->ran = true;
	if (b->cmd == NULL) {
		/* The catch-all: its one token kept the whole line. */
		cli_diagnose(cli, res, run->err);
		run->status = -EINVAL;
		return;
	}
	run->status = b->cmd->run(cli, res);
	if (run->status != 0 && run->err->n == 0)
		lp_diag_add(run->err, "%s", strerror(-run->status));
}

static cmdline_parse_inst_t *
make_inst(struct cli_bound *b, cmdline_parse_token_hdr_t *const *tokens, const char *help)
{
	cmdline_parse_inst_t *inst;
	unsigned int n = 0;

	while (tokens[n] != NULL)
		n++;
	inst = calloc(1, sizeof(*inst) + (n + 1) * sizeof(inst->tokens[0]));
	if (inst == NULL)
		return NULL;
	inst->f = run_bound;
	inst->data = b;
	inst->help_str = help;
	memcpy(inst->tokens, tokens, n * sizeof(inst->tokens[0]));
	return inst;
}

static int
build_context(struct lp_cli *cli)
{
	cmdline_parse_token_hdr_t *catchall[2] = { &cli->catchall_tok.hdr, NULL };
	unsigned int n = 0, k = 0;

	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
		n += groups[g]->n;
	cli->bound = calloc(n, sizeof(*cli->bound));
	cli->real = calloc(n + 1, sizeof(*cli->real));
	cli->ctx = calloc(n + 2, sizeof(*cli->ctx));
	if (cli->bound == NULL || cli->real == NULL || cli->ctx == NULL)
		return -ENOMEM;
	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
		for (unsigned int i = 0; i < groups[g]->n; i++, k++) {
			const struct cli_cmd *cmd = &groups[g]->cmds[i];

			cli->bound[k].cli = cli;
			cli->bound[k].cmd = cmd;
			cli->real[k] = make_inst(&cli->bound[k], cmd->tokens, cmd->help);
			if (cli->real[k] == NULL)
				return -ENOMEM;
			cli->ctx[k] = cli->real[k];
			cli->n_cmds = k + 1;
		}
	/* Last, so that rte_cmdline reaches it only for lines no command
	 * took (its token refuses lines a real command matches). */
	cli->catchall_tok.hdr.ops = &cli_tok_ops;
	cli->catchall_tok.hdr.offset = 0;
	cli->catchall_tok.kind = CLI_CATCHALL;
	cli->catchall_tok.what = "command";
	cli->catchall_tok.cli = cli;
	cli->catchall_bound.cli = cli;
	cli->ctx[n] = make_inst(&cli->catchall_bound, catchall, "explain a line no command matches");
	return cli->ctx[n] != NULL ? 0 : -ENOMEM;
}

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
	ret = build_context(cli);
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

int
lp_cli_exec(struct lp_cli *cli, const char *line, FILE *out, struct lp_diag *err)
{
	struct cli_run run = { .out = out, .err = err };
	size_t n = strcspn(line, "\r\n");
	char *buf = malloc(n + 2);
	int ret;

	if (buf == NULL) {
		lp_diag_add(err, "out of memory");
		return -ENOMEM;
	}
	/* rte_cmdline parses a line only once it sees its end. */
	memcpy(buf, line, n);
	buf[n] = '\n';
	buf[n + 1] = '\0';
	cli->cur = &run;
	ret = cmdline_parse(cli->exec_cl, buf);
	cli->cur = NULL;
	if (ret < 0 && !run.ran) {
		/* Too long for the catch-all's buffer: explain it here. */
		cli_diagnose(cli, buf, err);
		if (err->n == 0)
			lp_diag_add(err, "cannot parse the line");
		run.status = -EINVAL;
	}
	free(buf);
	fflush(out);
	return run.status;
}

int
lp_cli_run_file(struct lp_cli *cli, const char *path, FILE *out, FILE *err)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	unsigned int lineno = 0;
	int failed = 0;

	if (f == NULL) {
		int e = errno;

		fprintf(err, "%s: %s\n", path, strerror(e));
		return -e;
	}
	while (!cli->quit && getline(&line, &cap, f) >= 0) {
		struct lp_diag d = { 0 };

		lineno++;
		if (lp_cli_exec(cli, line, out, &d) != 0) {
			failed++;
			fflush(out);
			for (uint32_t i = 0; i < d.n; i++)
				fprintf(err, "%s:%u: %s\n", path, lineno, d.msg[i]);
			fflush(err);
		}
		lp_diag_clear(&d);
	}
	free(line);
	fclose(f);
	return failed;
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

bool
lp_cli_poll(struct lp_cli *cli, uint64_t now)
{
	if (cli->term_wanted || cli->term_cl != NULL)
		term_poll(cli);
	if (cli->sock != NULL && !cli->quit)
		cli_sock_poll(cli, now);
	return cli->quit;
}
