/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/config, the `cluster` section (replicated bindings): the schema,
 * every kind of problem with its exact "file:line:col: message",
 * lp_config_validate() on a section built in memory, the write -> parse
 * round trip, and lp_config_equal().
 */
#include <stdlib.h>
#include <string.h>

#include "config_check.h"
#include "lp_config.h"
#include "lp_test.h"

/* One port on lines 1-2; the cluster section on line 3. */
#define PORTS "ports:\n  - { name: wan, device: net_null0, address: 10.0.0.1/24 }\n"
#define CLUSTER(fields) PORTS "cluster: { " fields " }\n"

static void
test_valid(void)
{
	struct lp_config *c = cc_parse_ok(CLUSTER("redis: 10.0.0.5:6379, passwordFile: /etc/limpet/redis.pass, "
						  "name: prod-eu"));

	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT(c->cluster.enabled);
	CU_ASSERT_STRING_EQUAL(c->cluster.redis, "10.0.0.5:6379");
	CU_ASSERT_STRING_EQUAL(c->cluster.password_file, "/etc/limpet/redis.pass");
	CU_ASSERT_STRING_EQUAL(c->cluster.name, "prod-eu");
	CU_ASSERT_EQUAL(c->cluster.start_wait_s, LP_CFG_CLUSTER_START_WAIT_DEFAULT);
	CU_ASSERT_EQUAL(c->cluster.pos.line, 3);
	lp_config_free(c);

	c = cc_parse_ok(CLUSTER("redis: /run/redis/redis.sock, name: a_b.c-9, startWaitSeconds: 0"));
	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT_STRING_EQUAL(c->cluster.redis, "/run/redis/redis.sock");
	CU_ASSERT_STRING_EQUAL(c->cluster.password_file, "");
	CU_ASSERT_EQUAL(c->cluster.start_wait_s, 0);
	lp_config_free(c);

	c = cc_parse_ok(CLUSTER("redis: \"[fd00::5]:6380\", name: x, startWaitSeconds: 300"));
	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT_STRING_EQUAL(c->cluster.redis, "[fd00::5]:6380");
	CU_ASSERT_EQUAL(c->cluster.start_wait_s, 300);
	lp_config_free(c);

	c = cc_parse_ok(CLUSTER("redis: redis.example:6379, name: x"));
	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT_STRING_EQUAL(c->cluster.redis, "redis.example:6379");
	lp_config_free(c);

	/* Absent: off. */
	c = cc_parse_ok(PORTS);
	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT_FALSE(c->cluster.enabled);
	lp_config_free(c);
}

static void
test_problem_table(void)
{
	static const struct cc_problem_case cases[] = {
		{ "empty section", PORTS "cluster:\n",
		  { "t.yaml:3:9: missing key 'redis' in cluster", "t.yaml:3:9: missing key 'name' in cluster" } },
		{ "no redis", CLUSTER("name: x"), { "t.yaml:3:10: missing key 'redis' in cluster" } },
		{ "no name", CLUSTER("redis: /r.sock"), { "t.yaml:3:10: missing key 'name' in cluster" } },
		{ "not a mapping", PORTS "cluster: 7\n", { "t.yaml:3:10: cluster: expected a mapping, got '7'" } },
		{ "unknown key", CLUSTER("redis: /r.sock, name: x, nmae: y"),
		  { "t.yaml:3:37: unknown key 'nmae' in cluster, did you mean 'name'?" } },
		{ "no port", CLUSTER("redis: 10.0.0.5, name: x"),
		  { "t.yaml:3:19: redis: expected HOST:PORT, [IPV6]:PORT or an absolute socket path" } },
		{ "port 0", CLUSTER("redis: 10.0.0.5:0, name: x"),
		  { "t.yaml:3:19: redis: port is not a number from 1 to 65535" } },
		{ "port too big", CLUSTER("redis: 10.0.0.5:65536, name: x"),
		  { "t.yaml:3:19: redis: port is not a number from 1 to 65535" } },
		{ "port not a number", CLUSTER("redis: host:http, name: x"),
		  { "t.yaml:3:19: redis: port is not a number from 1 to 65535" } },
		{ "bare IPv6", CLUSTER("redis: \"fd00::5:6379\", name: x"),
		  { "t.yaml:3:19: redis: expected HOST:PORT, [IPV6]:PORT or an absolute socket path" } },
		{ "IPv6 without port", CLUSTER("redis: \"[fd00::5]\", name: x"),
		  { "t.yaml:3:19: redis: expected HOST:PORT, [IPV6]:PORT or an absolute socket path" } },
		{ "relative socket path", CLUSTER("redis: redis.sock, name: x"),
		  { "t.yaml:3:19: redis: expected HOST:PORT, [IPV6]:PORT or an absolute socket path" } },
		{ "socket path too long",
		  CLUSTER("redis: /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			  "aaaaaaaaaaaaaaa.sock, name: x"),
		  { "t.yaml:3:19: redis: socket path longer than 107 characters" } },
		{ "empty redis", CLUSTER("redis: \"\", name: x"), { "t.yaml:3:19: redis: must not be empty" } },
		{ "name with a space", CLUSTER("redis: /r.sock, name: \"a b\""),
		  { "t.yaml:3:34: name: may hold only letters, digits, '-', '_' and '.'" } },
		{ "name with a glob", CLUSTER("redis: /r.sock, name: \"a*\""),
		  { "t.yaml:3:34: name: may hold only letters, digits, '-', '_' and '.'" } },
		{ "name too long", CLUSTER("redis: /r.sock, name: abcdefghijklmnopqrstuvwxyz0123456"),
		  { "t.yaml:3:34: name: longer than 31 characters" } },
		{ "startWaitSeconds too big", CLUSTER("redis: /r.sock, name: x, startWaitSeconds: 301"),
		  { "t.yaml:3:55: startWaitSeconds: 301 is out of range 0..300" } },
		{ "passwordFile empty", CLUSTER("redis: /r.sock, name: x, passwordFile: \"\""),
		  { "t.yaml:3:51: passwordFile: must not be empty" } },
		{ NULL, NULL, { NULL } },
	};

	CU_ASSERT(cc_expect_problem_table(cases) > 15);
}

static struct lp_config *
build(void)
{
	struct lp_config *c = cc_parse_ok(CLUSTER("redis: /run/redis.sock, name: prod, passwordFile: /p"));

	CU_ASSERT_FATAL(c != NULL);
	return c;
}

static void
bad_redis(struct lp_config *c)
{
	strcpy(c->cluster.redis, "nowhere");
}

static void
bad_name(struct lp_config *c)
{
	strcpy(c->cluster.name, "a:b");
}

static void
bad_wait(struct lp_config *c)
{
	c->cluster.start_wait_s = 1000;
}

static void
off(struct lp_config *c)
{
	c->cluster.enabled = false;
	c->cluster.redis[0] = '\0';
}

static void
test_validate_in_memory(void)
{
	static const struct cc_memory_case cases[] = {
		{ "bad redis", bad_redis,
		  { "t.yaml:3:10: redis: expected HOST:PORT, [IPV6]:PORT or an absolute socket path" } },
		{ "bad name", bad_name, { "t.yaml:3:10: name: may hold only letters, digits, '-', '_' and '.'" } },
		{ "bad wait", bad_wait, { "t.yaml:3:10: startWaitSeconds: 1000 is out of range 0..300" } },
		{ "off is fine whatever the fields hold", off, { NULL } },
		{ NULL, NULL, { NULL } },
	};

	cc_expect_memory_table(cases, build);
}

static void
test_round_trip(void)
{
	struct lp_config *c = build();
	char *text = NULL;

	cc_check_round_trip(c, &text);
	CU_ASSERT_PTR_NOT_NULL(text != NULL ? strstr(text, "redis: /run/redis.sock") : NULL);
	CU_ASSERT_PTR_NULL(text != NULL ? strstr(text, "startWaitSeconds") : "x");	/* the default is not written */
	free(text);
	c->cluster.start_wait_s = 0;
	c->cluster.password_file[0] = '\0';
	cc_check_round_trip(c, NULL);
	c->cluster.enabled = false;
	cc_check_round_trip(c, &text);
	CU_ASSERT_PTR_NULL(text != NULL ? strstr(text, "cluster") : "x");
	free(text);
	lp_config_free(c);
}

static bool
mutate(struct lp_config *c, unsigned int n)
{
	switch (n) {
	case 0:
		c->cluster.enabled = false;
		return true;
	case 1:
		strcpy(c->cluster.redis, "/other.sock");
		return true;
	case 2:
		c->cluster.password_file[0] = '\0';
		return true;
	case 3:
		strcpy(c->cluster.name, "other");
		return true;
	case 4:
		c->cluster.start_wait_s = 9;
		return true;
	default:
		c->cluster.pos.line++;
		return false;
	}
}

static void
test_equal(void)
{
	struct lp_config *c = build();

	CU_ASSERT_EQUAL(cc_check_mutations(c, mutate), 5);
	lp_config_free(c);
}

int
main(void)
{
	static const struct lp_test_case cases[] = {
		{ "valid sections", test_valid },
		{ "one case per kind of problem", test_problem_table },
		{ "validate in memory", test_validate_in_memory },
		{ "round trip", test_round_trip },
		{ "equal sees every field", test_equal },
		{ NULL, NULL },
	};
	static const struct lp_test_suite suites[] = {
		{ "config_cluster", NULL, NULL, cases },
		{ NULL, NULL, NULL, NULL },
	};

	return lp_test_run(suites);
}
