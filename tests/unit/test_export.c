/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/export without EAL: the --metrics address. Loopback unless an
 * address is given; IPv6 needs brackets so its colons are not the port's.
 */
#include <errno.h>
#include <string.h>

#include "lp_export.h"
#include "lp_test.h"

static void
test_metrics_address_forms(void)
{
	static const struct {
		const char *desc, *in;
		int ret;
		const char *addr;
		uint16_t port;
	} cases[] = {
		{ "a port alone is on loopback", "9102", 0, "127.0.0.1", 9102 },
		{ "IPv4 address and port", "10.0.0.1:9100", 0, "10.0.0.1", 9100 },
		{ "every address, explicitly", "0.0.0.0:9102", 0, "0.0.0.0", 9102 },
		{ "IPv6 in brackets", "[::1]:9102", 0, "::1", 9102 },
		{ "port 0: any free one", "127.0.0.1:0", 0, "127.0.0.1", 0 },
		{ "IPv6 without brackets", "::1:9102", -EINVAL, NULL, 0 },
		{ "a host name", "localhost:9102", -EINVAL, NULL, 0 },
		{ "no address before the colon", ":9102", -EINVAL, NULL, 0 },
		{ "no port", "127.0.0.1:", -EINVAL, NULL, 0 },
		{ "port too large", "127.0.0.1:65536", -EINVAL, NULL, 0 },
		{ "port not a number", "127.0.0.1:http", -EINVAL, NULL, 0 },
		{ "negative port", "-1", -EINVAL, NULL, 0 },
		{ "unclosed bracket", "[::1:9102", -EINVAL, NULL, 0 },
		{ "empty", "", -EINVAL, NULL, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lp_ip got = { 0 }, want = { 0 };
		uint16_t port = 0;
		int ret = lp_export_parse_addr(cases[i].in, &got, &port);

		if (ret != cases[i].ret)
			printf("\n    case: %s (%s): %d", cases[i].desc, cases[i].in, ret);
		CU_ASSERT(ret == cases[i].ret);
		if (ret != 0 || cases[i].addr == NULL)
			continue;
		CU_ASSERT_FATAL(lp_ip_parse(cases[i].addr, &want) == 0);
		CU_ASSERT(lp_ip_equal(&got, &want));
		CU_ASSERT(port == cases[i].port);
	}
}

int
main(void)
{
	static const struct lp_test_case cases[] = {
		{ "metrics address forms", test_metrics_address_forms },
		{ NULL, NULL },
	};
	static const struct lp_test_suite suites[] = {
		{ "export", NULL, NULL, cases },
		{ NULL, NULL, NULL, NULL },
	};

	return lp_test_run(suites);
}
