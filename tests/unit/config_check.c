/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The lib/config tests' shared checks (see config_check.h). They assert
 * through CUnit, so a fatal assertion here ends the calling test.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_check.h"

static void
print_diag(const char *what, const struct lp_diag *d)
{
	fprintf(stderr, "\n%s: got %u message(s):\n", what, d->n);
	for (uint32_t i = 0; i < d->n; i++)
		fprintf(stderr, "  %s\n", d->msg[i]);
}

/* The text lp_config_write() gives for c (caller frees). */
static char *
write_text(const struct lp_config *c)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT_EQUAL(lp_config_write(c, f), 0);
	fclose(f);
	return text;
}

struct lp_ip
cc_ip(const char *s)
{
	struct lp_ip a;

	CU_ASSERT_FATAL(lp_ip_parse(s, &a) == 0);
	return a;
}

struct lp_config *
cc_parse_ok(const char *yaml)
{
	struct lp_diag d = { 0 };
	struct lp_config *c = lp_config_parse(yaml, strlen(yaml), "t.yaml", &d);

	if (c == NULL || d.n != 0)
		print_diag("parse_ok", &d);
	CU_ASSERT_PTR_NOT_NULL(c);
	CU_ASSERT_EQUAL(d.n, 0);
	lp_diag_clear(&d);
	return c;
}

bool
cc_diag_is(const char *what, const struct lp_diag *d, const char *const *expect)
{
	uint32_t n = 0;
	bool same;

	while (expect[n] != NULL)
		n++;
	same = d->n == n;
	for (uint32_t i = 0; same && i < n; i++)
		same = strcmp(d->msg[i], expect[i]) == 0;
	if (!same) {
		print_diag(what, d);
		fprintf(stderr, "expected:\n");
		for (uint32_t i = 0; i < n; i++)
			fprintf(stderr, "  %s\n", expect[i]);
	}
	return same;
}

void
cc_expect_problems(const char *what, const char *yaml, const char *const *expect)
{
	struct lp_diag d = { 0 };
	struct lp_config *c;

	errno = 0;
	c = lp_config_parse(yaml, strlen(yaml), "t.yaml", &d);
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_EQUAL(errno, EINVAL);
	if (!cc_diag_is(what, &d, expect))
		CU_FAIL(what);
	lp_config_free(c);
	lp_diag_clear(&d);
}

unsigned int
cc_expect_problem_table(const struct cc_problem_case *cases)
{
	unsigned int n = 0;

	for (const struct cc_problem_case *pc = cases; pc->what != NULL; pc++, n++)
		cc_expect_problems(pc->what, pc->yaml, pc->expect);
	return n;
}

void
cc_expect_validate(const char *what, const struct lp_config *c, const char *const *expect)
{
	struct lp_diag d = { 0 };
	int rc = lp_config_validate(c, &d);

	CU_ASSERT_EQUAL(rc, expect[0] != NULL ? -EINVAL : 0);
	if (!cc_diag_is(what, &d, expect))
		CU_FAIL(what);
	lp_diag_clear(&d);
}

void
cc_expect_memory_table(const struct cc_memory_case *cases, struct lp_config *(*build)(void))
{
	for (const struct cc_memory_case *mc = cases; mc->what != NULL; mc++) {
		struct lp_config *c = build();

		mc->change(c);
		cc_expect_validate(mc->what, c, mc->expect);
		lp_config_free(c);
	}
}

unsigned int
cc_check_mutations(const struct lp_config *c, bool (*mutate)(struct lp_config *copy, unsigned int n))
{
	unsigned int n;

	for (n = 0;; n++) {
		struct lp_config *d = lp_config_dup(c);
		bool changed;

		CU_ASSERT_FATAL(d != NULL);
		changed = mutate(d, n);
		if (lp_config_equal(c, d) == changed)
			fprintf(stderr, "\nmutation %u not seen\n", n);
		CU_ASSERT_NOT_EQUAL(lp_config_equal(c, d), changed);
		lp_config_free(d);
		if (!changed)
			return n;
	}
}

void
cc_check_round_trip(const struct lp_config *c, char **text)
{
	char *written = write_text(c), *again;
	struct lp_config *back = cc_parse_ok(written);

	CU_ASSERT_PTR_NOT_NULL_FATAL(back);
	if (!lp_config_equal(c, back))
		fprintf(stderr, "\nround trip changed the config; written text:\n%s", written);
	CU_ASSERT(lp_config_equal(c, back));
	/* writing what was read gives the same text again */
	again = write_text(back);
	CU_ASSERT_STRING_EQUAL(again, written);
	free(again);
	lp_config_free(back);
	if (text != NULL)
		*text = written;
	else
		free(written);
}
