/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Shared CUnit scaffolding: a test program lists its suites in one table
 * and calls lp_test_run(), which prints CUnit's summary and turns recorded
 * failures into the exit status (meson counts a non-zero exit as a fail).
 */
#ifndef LP_TEST_H
#define LP_TEST_H

#include <stdio.h>
#include <stdlib.h>

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

struct lp_test_case {
	const char *name;
	CU_TestFunc fn;
};

struct lp_test_suite {
	const char *name;
	CU_InitializeFunc init;
	CU_CleanupFunc cleanup;
	const struct lp_test_case *cases; /**< terminated by { NULL, NULL } */
};

/** Run the suites (terminated by { NULL }); returns the process exit status. */
static inline int
lp_test_run(const struct lp_test_suite *suites)
{
	unsigned int failures;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return EXIT_FAILURE;
	for (const struct lp_test_suite *s = suites; s->name != NULL; s++) {
		CU_pSuite suite = CU_add_suite(s->name, s->init, s->cleanup);

		if (suite == NULL)
			goto fail;
		for (const struct lp_test_case *c = s->cases; c->name != NULL; c++)
			if (CU_add_test(suite, c->name, c->fn) == NULL)
				goto fail;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failure_records();
	/* A suite whose init failed records no assertion failures; count it. */
	failures += CU_get_run_summary()->nSuitesFailed;
	CU_cleanup_registry();
	fflush(stdout);
	return failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
fail:
	fprintf(stderr, "CUnit registry: %s\n", CU_get_error_msg());
	CU_cleanup_registry();
	return EXIT_FAILURE;
}

#endif /* LP_TEST_H */
