/* SPDX-License-Identifier: BSD-3-Clause */
/* `clear stats`, `reload [FILE]`, `save config FILE`, `quit`, `help`. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_priv.h"

static int
clear_stats(struct lp_cli *cli, const struct cli_res *r)
{
	(void)r;
	lp_ctl_stats_clear(cli->ctl);
	return 0;
}

/* Load, validate and apply a whole file; lp_ctl_apply() changes nothing
 * unless the file is good and needs no restart. */
static int
reload(struct lp_cli *cli, const char *path)
{
	struct lp_diag *d = cli_diag(cli);
	struct lp_config *next;
	int ret;

	if (path == NULL) {
		if (cli->config_path == NULL)
			return cli_fail(cli, -EINVAL, "limpet was started without a config file: reload FILE");
		path = cli->config_path;
	}
	next = lp_config_load(path, d);
	if (next == NULL) {
		ret = errno != 0 ? -errno : -EINVAL;
		if (d->n == 0)
			lp_diag_add(d, "%s: %s", path, strerror(-ret));
		return cli_fail(cli, ret, "reload of %s refused, running configuration unchanged", path);
	}
	ret = lp_ctl_apply(cli->ctl, next, d);
	lp_config_free(next);
	if (ret != 0)
		return cli_fail(cli, ret, "reload of %s refused, running configuration unchanged", path);
	fprintf(cli_out(cli), "reloaded %s\n", path);
	return 0;
}

static int
reload_running(struct lp_cli *cli, const struct cli_res *r)
{
	(void)r;
	return reload(cli, NULL);
}

static int
reload_file(struct lp_cli *cli, const struct cli_res *r)
{
	return reload(cli, r->v[1].str);
}

/* Write to a temporary file beside @p path and rename it over: readers
 * see the old file or the new one, never half of one. */
static int
save_config(struct lp_cli *cli, const struct cli_res *r)
{
	const char *path = r->v[2].str;
	const struct lp_config *c = lp_ctl_config(cli->ctl);
	char *tmp = NULL;
	FILE *f = NULL;
	int fd, ret;

	if (c == NULL)
		return cli_fail(cli, -ENOMEM, "cannot render the running configuration");
	if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
		return cli_fail(cli, -ENOMEM, "out of memory");
	fd = mkstemp(tmp);
	if (fd < 0) {
		ret = -errno;
		cli_fail(cli, ret, "cannot create %s: %s", tmp, strerror(-ret));
		goto free_name;
	}
	/* mkstemp() makes it 0600; a config file is read by tools too. */
	if (fchmod(fd, 0644) != 0 || (f = fdopen(fd, "w")) == NULL) {
		ret = -errno;
		close(fd);
		cli_fail(cli, ret, "cannot write %s: %s", tmp, strerror(-ret));
		goto unlink_tmp;
	}
	ret = lp_config_write(c, f);
	if (ret == 0 && (fflush(f) != 0 || fsync(fileno(f)) != 0))
		ret = -errno;
	if (fclose(f) != 0 && ret == 0)
		ret = -errno;
	if (ret != 0) {
		cli_fail(cli, ret, "cannot write %s: %s", tmp, strerror(-ret));
		goto unlink_tmp;
	}
	if (rename(tmp, path) != 0) {
		ret = -errno;
		cli_fail(cli, ret, "cannot rename %s to %s: %s", tmp, path, strerror(-ret));
		goto unlink_tmp;
	}
	fprintf(cli_out(cli), "saved %s\n", path);
	free(tmp);
	return 0;
unlink_tmp:
	unlink(tmp);
free_name:
	free(tmp);
	return ret;
}

static int
quit(struct lp_cli *cli, const struct cli_res *r)
{
	(void)r;
	cli->quit = true;
	return 0;
}

static int
help(struct lp_cli *cli, const struct cli_res *r)
{
	FILE *o = cli_out(cli);
	int width = 0;

	(void)r;
	for (unsigned int i = 0; cli_cmd_at(cli, i) != NULL; i++) {
		const struct cli_cmd *cmd = cli_cmd_at(cli, i);

		if (cmd->syntax != NULL && (int)strlen(cmd->syntax) > width)
			width = (int)strlen(cmd->syntax);
	}
	/* Variants of a command (no syntax of their own) share its line. */
	for (unsigned int i = 0; cli_cmd_at(cli, i) != NULL; i++) {
		const struct cli_cmd *cmd = cli_cmd_at(cli, i);

		if (cmd->syntax != NULL)
			fprintf(o, "%-*s  %s\n", width, cmd->syntax, cmd->help);
	}
	fprintf(o, "\nadd service OPTIONS, in any order: tcp|udp nat|dsr|tunnel scheduler maglev|wrr|least_conn\n"
		   "  affinity clientip|none timeout SECONDS prefix LEN target-port PORT bounded FACTOR\n"
		   "  slow-start SECONDS drain-timeout SECONDS rebalance idle|none rebalance-rate N maglev-size PRIME\n"
		   "  health tcp|http|none health-port PORT health-path PATH health-interval SECONDS\n"
		   "  health-timeout SECONDS rise N fall N tunnel-source PREFIX\n"
		   "Backends: 10.1.0.11:8080, [fd00::11]:8080; without a port, the service's target port.\n");
	return 0;
}

static const struct cli_cmd admin_cmds[] = {
	{ "clear stats", "zero every counter", clear_stats, { CLI_KW(0, "clear"), CLI_KW(1, "stats"), NULL } },
	{ "reload [FILE]", "apply the start-up config file again, or FILE; a bad file changes nothing",
	  reload_running, { CLI_KW(0, "reload"), NULL } },
	{ NULL, "apply FILE", reload_file, { CLI_KW(0, "reload"), CLI_WORD_TOK(1, "FILE"), NULL } },
	{ "save config FILE", "write the running configuration to FILE (atomically)", save_config,
	  { CLI_KW(0, "save"), CLI_KW(1, "config"), CLI_WORD_TOK(2, "FILE"), NULL } },
	{ "quit", "stop limpet (as SIGTERM does)", quit, { CLI_KW(0, "quit"), NULL } },
	{ "help", "this list", help, { CLI_KW(0, "help"), NULL } },
};

const struct cli_cmd_group cli_admin_group = { admin_cmds, sizeof(admin_cmds) / sizeof(admin_cmds[0]) };
