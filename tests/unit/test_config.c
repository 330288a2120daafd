/* SPDX-License-Identifier: BSD-3-Clause */
/* placeholder: replaced by the module's tests */
#include "lp_test.h"

int
main(void)
{
	static const struct lp_test_suite suites[] = { { NULL, NULL, NULL, NULL } };

	return lp_test_run(suites);
}
