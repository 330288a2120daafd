/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The problem list: lp_diag for callers, and cfg_report(), which holds the
 * parser's and validator's messages back and hands them over in document
 * order. Leaf of lib/config: it calls nothing else in it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config_priv.h"

static int
diag_push(struct lp_diag *d, char *msg)
{
	if (d->n == d->cap) {
		uint32_t cap = d->cap != 0 ? d->cap * 2 : 16;
		char **msgs = realloc(d->msg, cap * sizeof(*msgs));

		if (msgs == NULL)
			return -ENOMEM;
		d->msg = msgs;
		d->cap = cap;
	}
	d->msg[d->n++] = msg;
	return 0;
}

/* malloc'ed printf result (vasprintf is a GNU extension; the fuzz build is plain C). */
static char *
vformat(const char *fmt, va_list ap)
{
	va_list again;
	char *s;
	int n;

	va_copy(again, ap);
	n = vsnprintf(NULL, 0, fmt, again);
	va_end(again);
	if (n < 0 || (s = malloc((size_t)n + 1)) == NULL)
		return NULL;
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

static int
diag_vadd(struct lp_diag *d, const char *fmt, va_list ap)
{
	char *msg = vformat(fmt, ap);

	if (msg == NULL)
		return -ENOMEM;
	if (diag_push(d, msg) < 0) {
		free(msg);
		return -ENOMEM;
	}
	return 0;
}

static char *
format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
format(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = vformat(fmt, ap);
	va_end(ap);
	return s;
}

int
lp_diag_add(struct lp_diag *d, const char *fmt, ...)
{
	va_list ap;
	int rc;

	if (d == NULL)
		return 0;
	va_start(ap, fmt);
	rc = diag_vadd(d, fmt, ap);
	va_end(ap);
	return rc;
}

void
lp_diag_clear(struct lp_diag *d)
{
	for (uint32_t i = 0; i < d->n; i++)
		free(d->msg[i]);
	free(d->msg);
	d->msg = NULL;
	d->n = 0;
	d->cap = 0;
}

void
lp_diag_print(const struct lp_diag *d, FILE *out)
{
	for (uint32_t i = 0; i < d->n; i++)
		fprintf(out, "%s\n", d->msg[i]);
}

void
cfg_report(struct cfg_diag *d, struct lp_cfg_pos pos, const char *subject, const char *fmt, ...)
{
	char *what, *line;
	va_list ap;

	d->errors++;
	if (d->out == NULL || d->errors > CFG_DIAG_MAX)
		return;
	if (d->pending == NULL && (d->pending = calloc(CFG_DIAG_MAX, sizeof(*d->pending))) == NULL) {
		d->oom = true;
		return;
	}
	va_start(ap, fmt);
	what = vformat(fmt, ap);
	va_end(ap);
	if (what == NULL)
		line = NULL;
	else if (pos.line != 0)
		line = format("%s:%u:%u: %s", d->file, pos.line, pos.col, what);
	else if (subject != NULL)
		line = format("%s: %s: %s", d->file, subject, what);
	else
		line = format("%s: %s", d->file, what);
	free(what);
	if (line == NULL) {
		d->oom = true;
		return;
	}
	d->pending[d->n_pending] = (struct cfg_msg){ pos, d->n_pending, line };
	d->n_pending++;
}

static int
cmp_msg(const void *x, const void *y)
{
	const struct cfg_msg *a = x, *b = y;

	if (a->pos.line != b->pos.line)
		return a->pos.line < b->pos.line ? -1 : 1;
	if (a->pos.col != b->pos.col)
		return a->pos.col < b->pos.col ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void
cfg_diag_flush(struct cfg_diag *d)
{
	if (d->n_pending != 0)
		qsort(d->pending, d->n_pending, sizeof(*d->pending), cmp_msg);
	for (uint32_t i = 0; i < d->n_pending; i++) {
		if (diag_push(d->out, d->pending[i].text) < 0) {
			free(d->pending[i].text);
			d->oom = true;
		}
	}
	if (d->out != NULL && d->errors > CFG_DIAG_MAX &&
	    lp_diag_add(d->out, "%s: %u more problems not listed", d->file, d->errors - CFG_DIAG_MAX) < 0)
		d->oom = true;
	free(d->pending);
	d->pending = NULL;
	d->n_pending = 0;
}
