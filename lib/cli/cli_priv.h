/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * CLI internals shared by the files of lib/cli: the result layout every
 * command parses into, limpet's own token types, the command tables, and
 * the helpers handlers print and fail through.
 *
 * Files, each calling only files listed after it (no circle):
 *   cli.c        the channels: builds the CLI, terminal, socket, poll
 *   cli_sock.c   the control socket
 *   cli_show.c, cli_stats.c, cli_edit.c, cli_announce.c, cli_admin.c   command tables
 *   cli_run.c    runs commands: context, trampoline, lines, files
 *   cli_tok.c    token types and the diagnosis of lines no command matches
 *   cli_opts.c   service option lists
 *   cli_table.c  aligned tables
 *   cli_word.c   decimal numbers, unicast addresses
 */
#ifndef LP_CLI_PRIV_H
#define LP_CLI_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmdline_parse.h>
#include <cmdline_parse_string.h>

#include "lp_cli.h"
#include "lp_config.h"
#include "lp_ctl.h"

/*
 * Every command parses into the same layout: token i writes slot v[i].
 * Tokens are then shared by position across commands, and one trampoline
 * serves them all. 512 bytes hold the longest value, the option list of
 * `add service`; 12 slots stay inside CMDLINE_PARSE_RESULT_BUFSIZE.
 */
#define CLI_SLOT 512
#define CLI_MAX_TOKENS 12

/** A backend as written on the command line: ADDR[:PORT] or [ADDR6][:PORT]. */
struct cli_backend {
	struct lp_ip addr;
	uint16_t port;		/**< 0 when not written: the service's targetPort */
};

union cli_val {
	char str[CLI_SLOT];	/**< keywords, names, file names, option lists */
	uint64_t u;		/**< CLI_UINT */
	struct lp_ip ip;	/**< CLI_ADDR */
	struct cli_backend be;	/**< CLI_BACKEND */
};

/** What a command line parsed into. */
struct cli_res {
	union cli_val v[CLI_MAX_TOKENS];
};

_Static_assert(sizeof(struct cli_res) <= CMDLINE_PARSE_RESULT_BUFSIZE, "result fits rte_cmdline's buffer");

/** limpet's token kinds (keywords use rte_cmdline's string token). */
enum cli_kind {
	CLI_NAME,		/**< a service name: 1-31 of [A-Za-z0-9._-] */
	CLI_ADDR,		/**< an IPv4 or IPv6 address */
	CLI_BACKEND,		/**< ADDR[:PORT], [ADDR6][:PORT], unicast */
	CLI_UINT,		/**< a decimal number in min..max */
	CLI_WORD,		/**< any word (a file name) */
	CLI_SVC_OPTS,		/**< the rest of the line: service options (cli_opts.c) */
	CLI_NAME_OR_COUNT,	/**< `show flows X`: a service name or a count */
	CLI_CATCHALL,		/**< any line no command matches: explains why */
};

/** One of limpet's tokens: rte_cmdline's header first, so cmdline can call our ops. */
struct cli_tok {
	struct cmdline_token_hdr hdr;
	uint8_t kind;		/**< enum cli_kind */
	const char *what;	/**< what the token stands for, in messages: "weight", "ADDR[:PORT]" */
	uint64_t min, max;	/**< CLI_UINT range */
	struct lp_cli *cli;	/**< CLI_CATCHALL: whose commands to try */
};

extern struct cmdline_token_ops cli_tok_ops;

/* File-scope compound literals have static storage, so a command table
 * can name its tokens in place, testpmd style, without one variable each. */
#define CLI_KW(pos, words)                                                                           \
	((cmdline_parse_token_hdr_t *)&(cmdline_parse_token_string_t)TOKEN_STRING_INITIALIZER(        \
		struct cli_res, v[pos], words))
#define CLI_TOKEN(pos, kind_, what_, min_, max_)                                                     \
	((cmdline_parse_token_hdr_t *)&(struct cli_tok){                                             \
		.hdr = { .ops = &cli_tok_ops, .offset = offsetof(struct cli_res, v[pos]) },           \
		.kind = (kind_), .what = (what_), .min = (min_), .max = (max_) })
#define CLI_NAME_TOK(pos, what) CLI_TOKEN(pos, CLI_NAME, what, 0, 0)
#define CLI_ADDR_TOK(pos, what) CLI_TOKEN(pos, CLI_ADDR, what, 0, 0)
#define CLI_BACKEND_TOK(pos) CLI_TOKEN(pos, CLI_BACKEND, "ADDR[:PORT]", 0, 0)
#define CLI_UINT_TOK(pos, what, min, max) CLI_TOKEN(pos, CLI_UINT, what, min, max)
#define CLI_WORD_TOK(pos, what) CLI_TOKEN(pos, CLI_WORD, what, 0, 0)

/** One command: its tokens, what `help` says, and the handler. */
struct cli_cmd {
	const char *syntax;	/**< "show backends NAME" */
	const char *help;	/**< one line */
	/** Run with the parsed line; 0 or -errno with messages via cli_fail(). */
	int (*run)(struct lp_cli *cli, const struct cli_res *r);
	cmdline_parse_token_hdr_t *tokens[CLI_MAX_TOKENS + 1];
};

/** A table of commands (one per source file). */
struct cli_cmd_group {
	const struct cli_cmd *cmds;
	unsigned int n;
};

extern const struct cli_cmd_group cli_show_group;
extern const struct cli_cmd_group cli_stats_group;
extern const struct cli_cmd_group cli_edit_group;
extern const struct cli_cmd_group cli_announce_group;
extern const struct cli_cmd_group cli_admin_group;
extern const struct cli_cmd_group cli_cluster_group;
extern const struct cli_cmd_group cli_test_group;	/**< only with lp_cli_opts.test_hooks */

/** The command being run: where its output and errors go. */
struct cli_run {
	FILE *out;
	struct lp_diag *err;
	int status;
	bool ran;		/**< some handler (or the catch-all) ran */
	bool can_defer;		/**< the channel can take the reply later (the socket) */
	bool deferred;		/**< the command finishes later (cli_deferred_reply()) */
};

/**
 * A command that finishes later (a reload built on a helper thread): its reply,
 * once there. At most one at a time (lp_ctl runs one reload at a time).
 */
struct cli_deferred {
	bool pending;		/**< a command is waiting for its result */
	bool done;		/**< the result is there */
	bool dropped;		/**< its channel went away: discard the result */
	int status;
	char *path;		/**< reload: the file */
	char *out;		/**< output text */
	struct lp_diag err;
};

/** A command instance handed to rte_cmdline, bound to its CLI. */
struct cli_bound {
	struct lp_cli *cli;
	const struct cli_cmd *cmd;
};

struct cli_sock;

struct lp_cli {
	struct lp_ctl *ctl;
	struct lp_export *export;	/**< rates and the `show stats ...` texts, or NULL */
	char *config_path;		/**< what a bare `reload` re-reads */
	unsigned int n_cmds;
	struct cli_bound *bound;	/**< n_cmds */
	cmdline_parse_inst_t **real;	/**< the commands, NULL-terminated */
	cmdline_parse_inst_t **ctx;	/**< the commands, then the catch-all */
	struct cli_bound catchall_bound;
	struct cli_tok catchall_tok;
	struct cmdline *exec_cl;	/**< runs lines from files and the socket */
	struct cmdline *term_cl;	/**< the interactive prompt, or NULL */
	bool term_wanted;		/**< open the prompt on the first poll */
	uint64_t activity;		/**< input read, replies sent, connections accepted (lp_cli_activity()) */
	struct cli_sock *sock;		/**< the control socket, or NULL */
	struct cli_run *cur;		/**< the command being run */
	struct cli_deferred deferred;	/**< the command that finishes later */
	bool quit;			/**< `quit` was entered */
};

/* ---- cli_run.c ---- */

/**
 * Build the rte_cmdline context: one instance per command of @p groups,
 * then the catch-all. 0 or -ENOMEM.
 */
int cli_context_build(struct lp_cli *cli, const struct cli_cmd_group *const *groups, size_t n_groups);
/** Where the running command prints. */
FILE *cli_out(struct lp_cli *cli);
/** Where lp_ctl calls report (the running command's messages). */
struct lp_diag *cli_diag(struct lp_cli *cli);
/** Add one message to the running command's errors; returns @p ret. */
int cli_fail(struct lp_cli *cli, int ret, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/** Every command, in `help` order (for `help` and the diagnosis). */
const struct cli_cmd *cli_cmd_at(const struct lp_cli *cli, unsigned int i);
/**
 * Run one line as lp_cli_exec(); with @p can_defer a command may finish
 * later: then -EINPROGRESS, and the channel takes the reply from
 * cli_deferred_reply() once it is there.
 */
int cli_exec(struct lp_cli *cli, const char *line, FILE *out, struct lp_diag *err, bool can_defer);
/** The deferred command's reply, once there (true): its output, messages and status move to the caller. */
bool cli_deferred_reply(struct lp_cli *cli, char **out, struct lp_diag *err, int *status);
/** The channel waiting for the deferred command went away. */
void cli_deferred_drop(struct lp_cli *cli);
/** Free what @p df holds and zero it. */
void cli_deferred_clear(struct cli_deferred *df);

/* ---- cli_sock.c ---- */

/** Listen on @p path (mode 0600), replacing a stale socket file. 0 or -errno with a message. */
int cli_sock_open(struct lp_cli *cli, const char *path, struct lp_diag *diag);
/** Accept, read, run complete lines, write replies; never blocks. */
void cli_sock_poll(struct lp_cli *cli, uint64_t now);
/** Send what is pending (for a second at most), close, remove the socket file. */
void cli_sock_close(struct lp_cli *cli);

/* ---- cli_tok.c ---- */

/** True when some command matches @p line entirely (up to its end or a '#'). */
bool cli_line_matches(struct lp_cli *cli, const char *line);
/** Explain why no command matches @p line: one message in @p err. */
void cli_diagnose(struct lp_cli *cli, const char *line, struct lp_diag *err);

/* ---- cli_word.c ---- */

/** @p n decimal digits (no sign, no hex: "0x10" is a typo here) into @p v; false otherwise. */
bool cli_decimal(const char *s, size_t n, uint64_t *v);
/** True for an address a backend or VIP may have (not loopback, multicast, ...). */
bool cli_ip_unicast(const struct lp_ip *ip);

/* ---- cli_opts.c ---- */

/** Where an option list went wrong: word @p word (0-based) of the list. */
struct cli_opt_err {
	unsigned int word;
	bool missing;		/**< the list ended where a value was due */
	char expect[320];	/**< "expected ..." text, or a reason */
};

/**
 * Apply the option list @p text (`tcp nat scheduler wrr affinity clientip
 * timeout 60 ...`) to @p svc, whose VIP (when set) decides the range of
 * `prefix`. @return 0, or -EINVAL with @p err filled.
 */
int cli_svc_opts_parse(const char *text, struct lp_cfg_service *svc, struct cli_opt_err *err);
/** The option keywords, "|"-separated, for messages and `help`. */
extern const char cli_svc_opts_keys[];

/* ---- cli_table.c ---- */

/** Rows of space-separated cells, printed with aligned columns. */
struct cli_table {
	unsigned int n_cols;
	unsigned int n_rows, cap_rows;
	char **cells;		/**< n_rows * n_cols, malloc()ed */
	size_t *width;		/**< per column */
	bool oom;
};

/** Start a table with its header row (n_cols UPPERCASE names). */
int cli_table_init(struct cli_table *t, unsigned int n_cols, const char *const *header);
/** Add a row of n_cols printf-formatted cells, separated by '\t' in @p fmt. */
int cli_table_row(struct cli_table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Print the rows, columns two spaces apart, then free the table. */
void cli_table_print(struct cli_table *t, FILE *out);
void cli_table_free(struct cli_table *t);

#endif /* LP_CLI_PRIV_H */
