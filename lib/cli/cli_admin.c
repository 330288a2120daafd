/* SPDX-License-Identifier: BSD-3-Clause */
/* `clear stats`, `reload [FILE]`, `save config FILE`, `quit`, `help`. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_priv.h"
#include "lp_log.h"

static int
clear_stats(struct lp_cli *cli, const struct cli_res *r)
{
	(void)r;
	lp_ctl_stats_clear(cli->ctl);
	return 0;
}

/* A reload built on the helper thread finished: the reply for the waiting channel. */
static void
reload_done(void *arg, int ret, const struct lp_diag *d)
{
	struct lp_cli *cli = arg;
	struct cli_deferred *df = &cli->deferred;

	if (df->dropped) {
		free(df->path);
		memset(df, 0, sizeof(*df));
		return;
	}
	df->done = true;
	df->status = ret;
	for (uint32_t i = 0; i < d->n; i++)
		lp_diag_add(&df->err, "%s", d->msg[i]);
	if (ret == 0) {
		if (asprintf(&df->out, "reloaded %s\n", df->path) < 0)
			df->out = NULL;
	} else {
		lp_diag_add(&df->err, "reload of %s refused, running configuration unchanged", df->path);
	}
}

/* Load, validate and apply a whole file; lp_ctl_apply() changes nothing
 * unless the file is good and needs no restart. On the socket a reload
 * that takes long to build answers when it is applied, and the control
 * thread goes on serving meanwhile. */
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
	if (cli->cur->can_defer && !cli->deferred.pending) {
		cli->deferred.path = strdup(path);
		if (cli->deferred.path == NULL) {
			lp_config_free(next);
			return cli_fail(cli, -ENOMEM, "out of memory");
		}
		ret = lp_ctl_apply_start(cli->ctl, next, d, reload_done, cli);
		if (ret == -EINPROGRESS) {
			lp_config_free(next);
			cli->deferred.pending = true;
			cli->cur->deferred = true;
			return 0;
		}
		free(cli->deferred.path);
		cli->deferred.path = NULL;
	} else {
		ret = lp_ctl_apply(cli->ctl, next, d);
	}
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

static const char *
file_kind(mode_t mode)
{
	return S_ISFIFO(mode)	? "a FIFO"
	       : S_ISDIR(mode)	? "a directory"
	       : S_ISCHR(mode)	? "a character device"
	       : S_ISBLK(mode)	? "a block device"
	       : S_ISSOCK(mode) ? "a socket"
				: "not a file";
}

/*
 * Where `save config PATH` writes: PATH when it does not exist or is a
 * regular file; when PATH is a symbolic link, the regular file it names,
 * provided that lies in the same directory. Anything else is refused:
 * limpet runs as root, and renaming over /dev/null or following a link
 * planted to /etc would replace what is there. *st: the target's status
 * (st_mode 0 when it does not exist). @return the target (malloc()ed) or
 * NULL after cli_fail().
 */
static char *
save_target(struct lp_cli *cli, const char *path, struct stat *st)
{
	char *real = NULL, *dir = NULL, *real_dir = NULL, *link_dir = NULL, *target = NULL;

	memset(st, 0, sizeof(*st));
	if (lstat(path, st) != 0) {
		if (errno != ENOENT) {
			cli_fail(cli, -errno, "cannot save to %s: %s", path, strerror(errno));
			return NULL;
		}
		st->st_mode = 0;
		target = strdup(path);
	} else if (S_ISREG(st->st_mode)) {
		target = strdup(path);
	} else if (!S_ISLNK(st->st_mode)) {
		cli_fail(cli, -EINVAL, "%s is not a regular file (%s): not replaced", path, file_kind(st->st_mode));
		return NULL;
	} else if ((real = realpath(path, NULL)) == NULL || (dir = strdup(path)) == NULL ||
		   (real_dir = realpath(dirname(dir), NULL)) == NULL || (link_dir = strdup(real)) == NULL) {
		cli_fail(cli, -EINVAL, "%s is a symbolic link to nothing: not followed", path);
	} else if (strcmp(dirname(link_dir), real_dir) != 0) {
		cli_fail(cli, -EINVAL, "%s is a symbolic link out of its directory (to %s): not followed", path, real);
	} else if (lstat(real, st) != 0 || !S_ISREG(st->st_mode)) {
		cli_fail(cli, -EINVAL, "%s is a symbolic link to %s, not a regular file: not followed", path, real);
	} else {
		target = real;
		real = NULL;
	}
	free(real);
	free(dir);
	free(real_dir);
	free(link_dir);
	return target;
}

/* Make a saved file durable: its directory entry too. */
static void
sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd = copy != NULL ? open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

/*
 * Write to a temporary file beside the target and rename it over: readers
 * see the old file or the new one, never half of one (a reload never
 * waits for it). A new file is mode 0640; one replaced keeps its mode and
 * owner.
 */
static int
save_config(struct lp_cli *cli, const struct cli_res *r)
{
	const char *path = r->v[2].str;
	const struct lp_config *c = lp_ctl_config(cli->ctl);
	char *target, *tmp = NULL;
	struct stat st, now;
	FILE *f = NULL;
	int fd, ret;

	if (c == NULL)
		return cli_fail(cli, -ENOMEM, "cannot render the running configuration");
	target = save_target(cli, path, &st);
	if (target == NULL)
		return -EINVAL;
	if (asprintf(&tmp, "%s.XXXXXX", target) < 0) {
		tmp = NULL;
		ret = cli_fail(cli, -ENOMEM, "out of memory");
		goto free_names;
	}
	/* mkstemp(): O_EXCL and mode 0600, so it never follows a link an attacker planted. */
	fd = mkstemp(tmp);
	if (fd < 0) {
		ret = -errno;
		cli_fail(cli, ret, "cannot create %s: %s", tmp, strerror(-ret));
		goto free_names;
	}
	if (st.st_mode != 0 && fchown(fd, st.st_uid, st.st_gid) != 0 && errno != EPERM)
		LP_LOG(NOTICE, cli, "save config: cannot give %s the owner of %s: %s\n", tmp, target, strerror(errno));
	if (fchmod(fd, st.st_mode != 0 ? st.st_mode & 0777 : 0640) != 0 || (f = fdopen(fd, "w")) == NULL) {
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
	/* Whatever took the target's place meanwhile is not replaced either. */
	if (lstat(target, &now) == 0 && !S_ISREG(now.st_mode)) {
		ret = cli_fail(cli, -EINVAL, "%s is not a regular file (%s): not replaced", target,
			       file_kind(now.st_mode));
		goto unlink_tmp;
	}
	if (rename(tmp, target) != 0) {
		ret = -errno;
		cli_fail(cli, ret, "cannot rename %s to %s: %s", tmp, target, strerror(-ret));
		goto unlink_tmp;
	}
	sync_dir(target);
	fprintf(cli_out(cli), "saved %s\n", target);
	free(tmp);
	free(target);
	return 0;
unlink_tmp:
	unlink(tmp);
free_names:
	free(tmp);
	free(target);
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
	{ "save config FILE", "write the running configuration to FILE (atomically; a new file is mode 0640)",
	  save_config, { CLI_KW(0, "save"), CLI_KW(1, "config"), CLI_WORD_TOK(2, "FILE"), NULL } },
	{ "quit", "stop limpet (as SIGTERM does)", quit, { CLI_KW(0, "quit"), NULL } },
	{ "help", "this list", help, { CLI_KW(0, "help"), NULL } },
};

const struct cli_cmd_group cli_admin_group = { admin_cmds, sizeof(admin_cmds) / sizeof(admin_cmds[0]) };
