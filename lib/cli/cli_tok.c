/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * limpet's token types for rte_cmdline, and the diagnosis of lines no
 * command matches.
 *
 * rte_cmdline only says "Bad arguments". To name the bad token, a
 * catch-all command sits after the real ones: its one token takes any
 * line that no real command matches in full, and its handler replays the
 * match over every command to find the one that got furthest, then says
 * which argument broke it and what that command expected there. The
 * matching below follows rte_cmdline's own (blanks, '#' comments, tokens
 * in order, nothing left over), so both agree on what matches.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli_priv.h"

#define WORD_SHOWN 64		/* characters of a bad word quoted in a message */

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool
is_end_of_command(char c)
{
	return c == '\0' || c == '#' || c == '\n' || c == '\r';
}

static size_t
word_len(const char *buf)
{
	size_t n = 0;

	while (!cmdline_isendoftoken(buf[n]))
		n++;
	return n;
}

static size_t
command_len(const char *buf)
{
	size_t n = 0;

	while (!is_end_of_command(buf[n]))
		n++;
	return n;
}

/* Copy a word into a NUL-terminated buffer; false when it does not fit. */
static bool
copy_word(const char *buf, size_t n, char *dst, size_t len)
{
	if (n >= len)
		return false;
	memcpy(dst, buf, n);
	dst[n] = '\0';
	return true;
}

static const char *
name_problem(const char *s, size_t n)
{
	if (n == 0 || n >= LP_NAME_MAX)
		return "a name is 1-31 characters";
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '_' || c == '.'))
			return "a name holds only letters, digits, '-', '_' and '.'";
	}
	return NULL;
}

/* ADDR, ADDR:PORT (IPv4), ADDR6, [ADDR6], [ADDR6]:PORT. Returns NULL or why not. */
static const char *
parse_backend(const char *s, size_t n, struct cli_backend *be)
{
	char a[LP_IP_STRLEN + 2];
	const char *port = NULL, *close, *colon;
	size_t alen;
	uint64_t p;

	memset(be, 0, sizeof(*be));
	if (n > 0 && s[0] == '[') {
		close = memchr(s, ']', n);
		if (close == NULL)
			return "'[' without ']'";
		alen = (size_t)(close - s - 1);
		if (!copy_word(s + 1, alen, a, sizeof(a)) || lp_ip_parse(a, &be->addr) != 0 ||
		    be->addr.family != LP_AF_INET6)
			return "not an IPv6 address inside [ ]";
		if ((size_t)(close - s) + 1 < n) {
			if (close[1] != ':')
				return "expected ':PORT' after ']'";
			port = close + 2;
		}
	} else {
		colon = memchr(s, ':', n);
		if (colon != NULL && memchr(colon + 1, ':', n - (size_t)(colon - s) - 1) == NULL) {
			alen = (size_t)(colon - s);
			port = colon + 1;
		} else {
			alen = n;	/* no colon, or an IPv6 address without a port */
		}
		if (!copy_word(s, alen, a, sizeof(a)) || lp_ip_parse(a, &be->addr) != 0)
			return "not an IP address (IPv6 with a port: [ADDR]:PORT)";
	}
	if (port != NULL) {
		if (!cli_decimal(port, n - (size_t)(port - s), &p) || p < 1 || p > 65535)
			return "port must be 1..65535";
		be->port = (uint16_t)p;
	}
	if (!cli_ip_unicast(&be->addr))
		return "not a unicast address";
	return NULL;
}

/* Why word @p s (length @p n) is no good for token @p t; NULL when it is. */
static const char *
token_problem(const struct cli_tok *t, const char *s, size_t n, char *why, size_t len)
{
	struct cli_backend be;
	struct lp_ip ip;
	char a[LP_IP_STRLEN + 2];
	uint64_t v;

	switch (t->kind) {
	case CLI_NAME:
		return name_problem(s, n);
	case CLI_NAME_OR_COUNT:
		return name_problem(s, n);
	case CLI_ADDR:
		if (!copy_word(s, n, a, sizeof(a)) || lp_ip_parse(a, &ip) != 0)
			return "not an IP address";
		return NULL;
	case CLI_BACKEND:
		return parse_backend(s, n, &be);
	case CLI_UINT:
		if (!cli_decimal(s, n, &v) || v < t->min || v > t->max) {
			snprintf(why, len, "expected %s %" PRIu64 "..%" PRIu64, t->what, t->min, t->max);
			return why;
		}
		return NULL;
	case CLI_WORD:
		return n < CLI_SLOT ? NULL : "too long";
	default:
		return n > 0 ? NULL : "empty";
	}
}

/* The token parser rte_cmdline calls: how much of @p buf the token takes, or -1. */
static int
tok_parse(cmdline_parse_token_hdr_t *hdr, const char *buf, void *res, unsigned int ressize)
{
	const struct cli_tok *t = (const struct cli_tok *)hdr;
	size_t n = word_len(buf);
	union cli_val *v = res;
	char why[96];

	if (t->kind == CLI_CATCHALL) {
		n = command_len(buf);
		/* Completion probes tokens without a result: never offer this one. */
		if (res == NULL || n == 0 || n >= ressize || cli_line_matches(t->cli, buf))
			return -1;
		memcpy(res, buf, n);
		((char *)res)[n] = '\0';
		return (int)n;
	}
	if (t->kind == CLI_SVC_OPTS) {
		struct lp_cfg_service scratch;
		struct cli_opt_err err;
		char text[CLI_SLOT];

		n = command_len(buf);
		while (n > 0 && is_blank(buf[n - 1]))
			n--;
		if (n == 0 || !copy_word(buf, n, text, sizeof(text)))
			return -1;
		lp_config_service_init(&scratch);
		if (cli_svc_opts_parse(text, &scratch, &err) != 0)
			return -1;
		if (res != NULL) {
			if (ressize < sizeof(v->str))
				return -1;
			memcpy(v->str, text, n + 1);
		}
		return (int)n;
	}
	if (n == 0 || token_problem(t, buf, n, why, sizeof(why)) != NULL)
		return -1;
	if (res == NULL)
		return (int)n;
	if (ressize < sizeof(*v))
		return -1;
	switch (t->kind) {
	case CLI_ADDR: {
		char a[LP_IP_STRLEN + 2];

		copy_word(buf, n, a, sizeof(a));
		lp_ip_parse(a, &v->ip);
		break;
	}
	case CLI_BACKEND:
		parse_backend(buf, n, &v->be);
		break;
	case CLI_UINT:
		cli_decimal(buf, n, &v->u);
		break;
	default:
		copy_word(buf, n, v->str, sizeof(v->str));
		break;
	}
	return (int)n;
}

static int
tok_help(cmdline_parse_token_hdr_t *hdr, char *buf, unsigned int size)
{
	const struct cli_tok *t = (const struct cli_tok *)hdr;

	snprintf(buf, size, "%s", t->kind == CLI_CATCHALL ? "anything else" : t->what);
	return 0;
}

struct cmdline_token_ops cli_tok_ops = {
	.parse = tok_parse,
	.get_help = tok_help,
};

/* ---- matching and diagnosis ---- */

enum miss {
	MISS_NONE,		/* matched in full */
	MISS_BAD,		/* a token refused its word */
	MISS_MISSING,		/* the line ended before the tokens did */
	MISS_EXTRA,		/* words left after the last token */
};

/* How far one command got with a line. */
struct attempt {
	enum miss miss;
	unsigned int arg;	/* 1-based argument where it broke */
	const char *word;	/* that argument */
	size_t wlen;
	char alts[320];		/* what it expected there, "a|b|c" */
	char reason[320];	/* or why the word is wrong, when the token knows */
};

static unsigned int
words_before(const char *line, const char *pos)
{
	unsigned int n = 0;

	for (const char *p = line; p < pos; p++)
		if (!is_blank(*p) && (p == line || is_blank(p[-1])))
			n++;
	return n;
}

/* Keywords "up#down#drain" read "up|down|drain" in messages. */
static void
keyword_alts(const cmdline_parse_token_string_t *t, char *buf, size_t len)
{
	const char *s = t->string_data.str;

	snprintf(buf, len, "%s", s != NULL && s[0] != '\0' ? s : "a word");
	for (char *p = buf; *p != '\0'; p++)
		if (*p == '#')
			*p = '|';
}

static void
token_expects(cmdline_parse_token_hdr_t *hdr, struct attempt *a)
{
	const struct cli_tok *t = (const struct cli_tok *)hdr;

	if (hdr->ops != &cli_tok_ops)
		keyword_alts((const cmdline_parse_token_string_t *)hdr, a->alts, sizeof(a->alts));
	else if (t->kind == CLI_UINT)
		snprintf(a->alts, sizeof(a->alts), "%s %" PRIu64 "..%" PRIu64, t->what, t->min, t->max);
	else if (t->kind == CLI_SVC_OPTS)
		snprintf(a->alts, sizeof(a->alts), "%s", cli_svc_opts_keys);
	else
		snprintf(a->alts, sizeof(a->alts), "%s", t->what);
}

/* Why a token refused @p word, in the terms of the token. */
static void
token_reason(cmdline_parse_token_hdr_t *hdr, const char *line, const char *word, struct attempt *a)
{
	const struct cli_tok *t = (const struct cli_tok *)hdr;
	char why[96];
	const char *p;

	if (hdr->ops != &cli_tok_ops)
		return;
	if (t->kind == CLI_SVC_OPTS) {
		struct lp_cfg_service scratch;
		struct cli_opt_err err;
		char text[CLI_SLOT];
		size_t n = command_len(word);

		/* Point at the option that broke the list, not at the list. */
		if (!copy_word(word, n, text, sizeof(text))) {
			snprintf(a->reason, sizeof(a->reason), "option list longer than %d characters", CLI_SLOT - 1);
			return;
		}
		lp_config_service_init(&scratch);
		if (cli_svc_opts_parse(text, &scratch, &err) == 0)
			return;
		a->arg = words_before(line, word) + 1 + err.word;
		a->miss = err.missing ? MISS_MISSING : MISS_BAD;
		a->word = word;
		for (unsigned int k = 0; k < err.word; k++) {
			a->word += word_len(a->word);
			while (is_blank(*a->word))
				a->word++;
		}
		a->wlen = word_len(a->word);
		if (strncmp(err.expect, "expected ", 9) == 0)
			snprintf(a->alts, sizeof(a->alts), "%s", err.expect + 9);
		else
			snprintf(a->reason, sizeof(a->reason), "%s", err.expect);
		return;
	}
	if (t->kind == CLI_UINT)
		return;		/* "expected weight 0..65535" says it all */
	p = token_problem(t, word, word_len(word), why, sizeof(why));
	if (p != NULL)
		snprintf(a->reason, sizeof(a->reason), "%s", p);
}

/* Replay rte_cmdline's match of @p inst over @p line; @p a says where it stopped. */
static void
try_command(cmdline_parse_inst_t *inst, const char *line, struct attempt *a)
{
	union {
		char buf[CMDLINE_PARSE_RESULT_BUFSIZE];
		long double align;
	} scratch;
	const char *p = line;
	unsigned int i;

	memset(a, 0, sizeof(*a));
	for (i = 0; inst->tokens[i] != NULL; i++) {
		cmdline_parse_token_hdr_t *t = inst->tokens[i];
		int n;

		while (is_blank(*p))
			p++;
		if (is_end_of_command(*p)) {
			a->miss = MISS_MISSING;
			a->arg = words_before(line, p) + 1;
			token_expects(t, a);
			return;
		}
		n = t->ops->parse(t, p, scratch.buf + t->offset, (unsigned int)(sizeof(scratch.buf) - t->offset));
		if (n < 0) {
			a->miss = MISS_BAD;
			a->arg = words_before(line, p) + 1;
			a->word = p;
			a->wlen = word_len(p);
			token_expects(t, a);
			token_reason(t, line, p, a);
			return;
		}
		p += n;
	}
	while (is_blank(*p))
		p++;
	if (!is_end_of_command(*p)) {
		a->miss = MISS_EXTRA;
		a->arg = words_before(line, p) + 1;
		a->word = p;
		a->wlen = word_len(p);
		return;
	}
	a->miss = MISS_NONE;
}

bool
cli_line_matches(struct lp_cli *cli, const char *line)
{
	struct attempt a;

	for (unsigned int i = 0; cli->real[i] != NULL; i++) {
		try_command(cli->real[i], line, &a);
		if (a.miss == MISS_NONE)
			return true;
	}
	return false;
}

/* Append the alternatives of @p add to @p alts, each once. */
static void
merge_alts(char *alts, size_t len, const char *add)
{
	char copy[320], *save = NULL;

	snprintf(copy, sizeof(copy), "%s", add);
	for (char *w = strtok_r(copy, "|", &save); w != NULL; w = strtok_r(NULL, "|", &save)) {
		size_t wl = strlen(w);
		bool seen = false;

		for (const char *p = alts; *p != '\0' && !seen;) {
			size_t pl = strcspn(p, "|");

			seen = pl == wl && strncmp(p, w, wl) == 0;
			p += pl + (p[pl] == '|');
		}
		if (!seen && strlen(alts) + wl + 2 < len) {
			if (alts[0] != '\0')
				strcat(alts, "|");
			strcat(alts, w);
		}
	}
}

/* Levenshtein distance, for "did you mean" on the first word. */
static unsigned int
distance(const char *a, size_t la, const char *b)
{
	size_t lb = strlen(b);
	unsigned int row[32];

	if (la >= 31 || lb >= 31)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned int)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned int diag = row[0];

		row[0] = (unsigned int)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned int up = row[j];
			unsigned int best = diag + (a[i - 1] != b[j - 1]);

			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static void
unknown_command(struct lp_cli *cli, const char *word, size_t wlen, struct lp_diag *err)
{
	const char *best = NULL;
	unsigned int best_d = 3;

	for (unsigned int i = 0; cli->real[i] != NULL; i++) {
		const cmdline_parse_token_string_t *t = (const void *)cli->real[i]->tokens[0];
		char first[64];
		unsigned int d;

		keyword_alts(t, first, sizeof(first));
		d = distance(word, wlen, first);
		if (d < best_d && wlen > 1) {
			best_d = d;
			best = t->string_data.str;
		}
	}
	if (wlen > WORD_SHOWN)
		wlen = WORD_SHOWN;
	if (best != NULL)
		lp_diag_add(err, "unknown command '%.*s', did you mean '%s'? (try 'help')", (int)wlen, word, best);
	else
		lp_diag_add(err, "unknown command '%.*s' (try 'help')", (int)wlen, word);
}

void
cli_diagnose(struct lp_cli *cli, const char *line, struct lp_diag *err)
{
	struct attempt best, a;
	bool have = false;

	while (is_blank(*line))
		line++;
	memset(&best, 0, sizeof(best));
	for (unsigned int i = 0; cli->real[i] != NULL; i++) {
		bool better;

		try_command(cli->real[i], line, &a);
		if (a.miss == MISS_NONE) {
			lp_diag_add(err, "ambiguous command");
			return;
		}
		/* Furthest first; at the same argument, a bad or missing
		 * token says more than "one word too many". */
		better = !have || a.arg > best.arg || (a.arg == best.arg && best.miss == MISS_EXTRA && a.miss != MISS_EXTRA);
		if (better) {
			best = a;
			have = true;
		} else if (a.arg == best.arg && a.miss != MISS_EXTRA && best.miss != MISS_EXTRA) {
			merge_alts(best.alts, sizeof(best.alts), a.alts);
			if (best.reason[0] == '\0')
				memcpy(best.reason, a.reason, sizeof(best.reason));
		}
	}
	if (!have)
		return;
	if (best.arg == 1 && best.miss == MISS_BAD) {
		unknown_command(cli, best.word, best.wlen, err);
		return;
	}
	if (best.wlen > WORD_SHOWN)
		best.wlen = WORD_SHOWN;
	switch (best.miss) {
	case MISS_MISSING:
		lp_diag_add(err, "missing argument %u: expected %s", best.arg, best.alts);
		break;
	case MISS_EXTRA:
		lp_diag_add(err, "unexpected argument '%.*s' (argument %u)", (int)best.wlen, best.word, best.arg);
		break;
	default:
		if (best.reason[0] != '\0')
			lp_diag_add(err, "bad argument '%.*s' (argument %u): %s", (int)best.wlen, best.word, best.arg,
				    best.reason);
		else
			lp_diag_add(err, "bad argument '%.*s' (argument %u): expected %s", (int)best.wlen, best.word,
				    best.arg, best.alts);
		break;
	}
}
