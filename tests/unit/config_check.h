/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Checks shared by the lib/config unit tests (test_config,
 * test_config_routes): parse text that must be valid, compare diagnostics
 * with the exact messages expected, run a table of broken files or of
 * configs changed in memory, and write -> parse -> write round trips.
 *
 * Every parse names its input "t.yaml", so expected messages read
 * "t.yaml:line:col: message". A check that fails prints what it got and
 * what it expected before failing the test, so a table case names itself.
 */
#ifndef LP_TEST_CONFIG_CHECK_H
#define LP_TEST_CONFIG_CHECK_H

#include <stdbool.h>

#include <CUnit/CUnit.h>

#include "lp_config.h"

/** One file that must be refused, with every message it must give. */
struct cc_problem_case {
	const char *what;
	const char *yaml;
	const char *expect[4]; /**< in order, NULL-terminated */
};

/** One change to a valid config built in memory, with what validation must say. */
struct cc_memory_case {
	const char *what;
	void (*change)(struct lp_config *c);
	const char *expect[3]; /**< in order, NULL-terminated; none: the config stays valid */
};

/** The address s, which must parse (fails the test fatally otherwise). */
struct lp_ip cc_ip(const char *s);

/** Parse yaml, which must be valid; fails the test and prints the messages otherwise. */
struct lp_config *cc_parse_ok(const char *yaml);

/**
 * True if d holds exactly the messages in expect, in order (NULL-terminated);
 * otherwise prints both lists under the heading what and returns false.
 */
bool cc_diag_is(const char *what, const struct lp_diag *d, const char *const *expect);

/** Parsing yaml must fail with EINVAL and exactly the messages in expect. */
void cc_expect_problems(const char *what, const char *yaml, const char *const *expect);

/** cc_expect_problems() on each case up to the { NULL } one; returns how many ran. */
unsigned int cc_expect_problem_table(const struct cc_problem_case *cases);

/**
 * lp_config_validate() on c must give exactly the messages in expect, in
 * order (NULL-terminated), and -EINVAL; or, when expect is empty, none and 0.
 */
void cc_expect_validate(const char *what, const struct lp_config *c, const char *const *expect);

/**
 * For each case up to the { NULL } one: build() a fresh valid config, apply
 * the change, and cc_expect_validate() it.
 */
void cc_expect_memory_table(const struct cc_memory_case *cases, struct lp_config *(*build)(void));

/**
 * Apply mutate(copy, n) for n = 0, 1, ... to fresh copies of c:
 * lp_config_equal() must see each change for which mutate returns true, and
 * must not see the first for which it returns false (a change to something
 * that is not a setting, such as a position), which ends the run. Returns
 * that last n: the number of mutations that change a setting.
 */
unsigned int cc_check_mutations(const struct lp_config *c, bool (*mutate)(struct lp_config *copy, unsigned int n));

/**
 * Write c, parse the text back: the result must equal c and write the same
 * text again. If text is not NULL, *text gets the written text (caller frees)
 * for checks of its own.
 */
void cc_check_round_trip(const struct lp_config *c, char **text);

#endif /* LP_TEST_CONFIG_CHECK_H */
