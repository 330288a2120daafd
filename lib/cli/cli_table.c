/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tables for `show` output: an UPPERCASE header, then rows, columns
 * aligned and two spaces apart. Cells never hold spaces, so scripts split
 * a row on whitespace whatever the widths.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli_priv.h"

static int
add_cells(struct cli_table *t, char **cells)
{
	if (t->n_rows == t->cap_rows) {
		unsigned int cap = t->cap_rows ? t->cap_rows * 2 : 16;
		char **c = realloc(t->cells, (size_t)cap * t->n_cols * sizeof(*c));

		if (c == NULL)
			return -ENOMEM;
		t->cells = c;
		t->cap_rows = cap;
	}
	for (unsigned int i = 0; i < t->n_cols; i++) {
		size_t w = strlen(cells[i]);

		t->cells[(size_t)t->n_rows * t->n_cols + i] = cells[i];
		if (w > t->width[i])
			t->width[i] = w;
	}
	t->n_rows++;
	return 0;
}

int
cli_table_init(struct cli_table *t, unsigned int n_cols, const char *const *header)
{
	char **cells = calloc(n_cols, sizeof(*cells));

	memset(t, 0, sizeof(*t));
	t->n_cols = n_cols;
	t->width = calloc(n_cols, sizeof(*t->width));
	if (cells == NULL || t->width == NULL)
		goto oom;
	for (unsigned int i = 0; i < n_cols; i++) {
		cells[i] = strdup(header[i]);
		if (cells[i] == NULL)
			goto oom;
	}
	if (add_cells(t, cells) != 0)
		goto oom;
	free(cells);
	return 0;
oom:
	for (unsigned int i = 0; cells != NULL && i < n_cols; i++)
		free(cells[i]);
	free(cells);
	t->oom = true;
	return -ENOMEM;
}

int
cli_table_row(struct cli_table *t, const char *fmt, ...)
{
	char *line = NULL, **cells = NULL, *save = NULL, *cell;
	unsigned int n = 0;
	va_list ap;
	int ret;

	if (t->oom)
		return -ENOMEM;
	va_start(ap, fmt);
	ret = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (ret < 0)
		goto oom;
	cells = calloc(t->n_cols, sizeof(*cells));
	if (cells == NULL)
		goto oom;
	for (cell = strtok_r(line, "\t", &save); cell != NULL && n < t->n_cols; cell = strtok_r(NULL, "\t", &save)) {
		cells[n] = strdup(cell);
		if (cells[n++] == NULL)
			goto oom;
	}
	/* A short row is padded with "-" so the columns stay in step. */
	while (n < t->n_cols) {
		cells[n] = strdup("-");
		if (cells[n++] == NULL)
			goto oom;
	}
	if (add_cells(t, cells) != 0)
		goto oom;
	free(cells);
	free(line);
	return 0;
oom:
	for (unsigned int i = 0; cells != NULL && i < n; i++)
		free(cells[i]);
	free(cells);
	free(line);
	t->oom = true;
	return -ENOMEM;
}

void
cli_table_print(struct cli_table *t, FILE *out)
{
	if (t->oom) {
		fprintf(out, "(out of memory)\n");
	} else {
		for (unsigned int r = 0; r < t->n_rows; r++) {
			for (unsigned int i = 0; i < t->n_cols; i++) {
				const char *c = t->cells[(size_t)r * t->n_cols + i];

				if (i + 1 == t->n_cols)
					fprintf(out, "%s\n", c);
				else
					fprintf(out, "%-*s  ", (int)t->width[i], c);
			}
		}
	}
	cli_table_free(t);
}

void
cli_table_free(struct cli_table *t)
{
	for (size_t i = 0; t->cells != NULL && i < (size_t)t->n_rows * t->n_cols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->width);
	memset(t, 0, sizeof(*t));
}
