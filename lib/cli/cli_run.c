/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Running commands: the rte_cmdline context built from the command
 * tables, the one trampoline every command instance calls, and the lines
 * of a call (lp_cli_exec) or a file (lp_cli_run_file).
 *
 * Each command instance is a copy of its table entry whose `data` points
 * at the CLI, so handlers need no global to find it. The trampoline points
 * the handler at the running command's output and error list, which the
 * channel then presents its own way. Handlers (cli_show.c ...) and the
 * socket (cli_sock.c) call in here; this file calls only the tokens
 * (cli_tok.c) and is handed the command tables by cli.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cmdline.h>

#include "cli_priv.h"

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

int
cli_context_build(struct lp_cli *cli, const struct cli_cmd_group *const *groups, size_t n_groups)
{
	cmdline_parse_token_hdr_t *catchall[2] = { &cli->catchall_tok.hdr, NULL };
	unsigned int n = 0, k = 0;

	for (size_t g = 0; g < n_groups; g++)
		n += groups[g]->n;
	cli->bound = calloc(n, sizeof(*cli->bound));
	cli->real = calloc(n + 1, sizeof(*cli->real));
	cli->ctx = calloc(n + 2, sizeof(*cli->ctx));
	if (cli->bound == NULL || cli->real == NULL || cli->ctx == NULL)
		return -ENOMEM;
	for (size_t g = 0; g < n_groups; g++)
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

int
lp_cli_exec(struct lp_cli *cli, const char *line, FILE *out, struct lp_diag *err)
{
	return cli_exec(cli, line, out, err, false);
}

int
cli_exec(struct lp_cli *cli, const char *line, FILE *out, struct lp_diag *err, bool can_defer)
{
	struct cli_run run = { .out = out, .err = err, .can_defer = can_defer };
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
	return run.deferred && run.status == 0 ? -EINPROGRESS : run.status;
}

/* ---- a command that finishes later ---- */

void
cli_deferred_clear(struct cli_deferred *df)
{
	free(df->path);
	free(df->out);
	lp_diag_clear(&df->err);
	memset(df, 0, sizeof(*df));
}

bool
cli_deferred_reply(struct lp_cli *cli, char **out, struct lp_diag *err, int *status)
{
	struct cli_deferred *df = &cli->deferred;

	if (!df->done)
		return false;
	*out = df->out;
	df->out = NULL;
	*err = df->err;
	df->err = (struct lp_diag){ 0 };
	*status = df->status;
	cli_deferred_clear(df);
	return true;
}

void
cli_deferred_drop(struct lp_cli *cli)
{
	if (cli->deferred.done)
		cli_deferred_clear(&cli->deferred);
	else
		cli->deferred.dropped = true;
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
