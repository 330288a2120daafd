/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/config, scale-out keys: ports[].kernelInterface, announce: { table,
 * withdrawDelaySeconds, interface } and workers: { poll,
 * idleSleepMicroseconds }. Defaults, every problem with its exact
 * "file:line:col: message", the same rules on configs built in memory,
 * lp_config_announce_port(), the summary, write -> parse round trips and
 * lp_config_equal().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_check.h"
#include "lp_config.h"
#include "lp_test.h"

/* Two ports on lines 2 and 3; the kernelInterface keys start at column 75. */
#define PORT_A "  - { name: wan, device: net_null0, address: 10.0.0.1/24, kernelInterface: "
#define PORT_B "  - { name: lan, device: net_null1, address: 10.1.0.1/24, kernelInterface: "
#define PLAIN_B "  - { name: lan, device: net_null1, address: 10.1.0.1/24 }\n"

static const char good_yaml[] =
	"ports:\n"
	PORT_A "lp-wan }\n"
	PLAIN_B
	"announce: { table: 100, withdrawDelaySeconds: 2 }\n"
	"workers: { poll: busy, idleSleepMicroseconds: 250 }\n";

static void
test_defaults(void)
{
	struct lp_config *c = cc_parse_ok("ports:\n" PLAIN_B);

	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT_STRING_EQUAL(c->ports[0].kernel_iface, "");
	CU_ASSERT_FALSE(c->announce.enabled);
	CU_ASSERT_EQUAL(c->announce.withdraw_delay_s, 5);
	CU_ASSERT_EQUAL(c->workers.poll, LP_POLL_ADAPTIVE);
	CU_ASSERT_EQUAL(c->workers.idle_sleep_us, 500);
	CU_ASSERT_EQUAL(lp_config_announce_port(c), -1);
	CU_ASSERT_STRING_EQUAL(lp_poll_name(c->workers.poll), "adaptive");
	lp_config_free(c);
}

static void
test_valid(void)
{
	struct lp_config *c = cc_parse_ok(good_yaml);
	char buf[160];

	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT_STRING_EQUAL(c->ports[0].kernel_iface, "lp-wan");
	CU_ASSERT_EQUAL(c->ports[0].kernel_iface_pos.line, 2);
	CU_ASSERT_EQUAL(c->ports[0].kernel_iface_pos.col, 76);
	CU_ASSERT_TRUE(c->announce.enabled);
	CU_ASSERT_EQUAL(c->announce.table, 100);
	CU_ASSERT_EQUAL(c->announce.withdraw_delay_s, 2);
	CU_ASSERT_EQUAL(c->workers.poll, LP_POLL_BUSY);
	CU_ASSERT_EQUAL(c->workers.idle_sleep_us, 250);
	CU_ASSERT_EQUAL(lp_config_announce_port(c), 0);
	CU_ASSERT_EQUAL(lp_config_validate(c, NULL), 0);
	CU_ASSERT_EQUAL(lp_config_summary(c, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "t.yaml: ok: 2 ports, 0 services, 0 backends, 0 neighbors, announce table 100");
	lp_config_free(c);
}

static void
test_edges(void)
{
	/* 15 characters, the largest tables around the kernel's own, the bounds. */
	struct lp_config *c = cc_parse_ok("ports:\n" PORT_A "abcdefghijklmno }\n" PORT_B "x.y-z_1@2 }\n"
					  "announce: { table: 4294967295, withdrawDelaySeconds: 0, interface: x.y-z_1@2 }\n"
					  "workers: { idleSleepMicroseconds: 10000 }\n");

	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT_EQUAL(c->announce.table, 4294967295u);
	CU_ASSERT_EQUAL(lp_config_announce_port(c), 1);
	lp_config_free(c);
	c = cc_parse_ok("ports:\n" PORT_A "a }\nannounce: { table: 252 }\nworkers: { idleSleepMicroseconds: 1 }\n");
	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT_EQUAL(lp_config_announce_port(c), 0);
	lp_config_free(c);
	c = cc_parse_ok("ports:\n" PORT_A "a }\nannounce: { table: 256 }\n");
	CU_ASSERT(c != NULL);
	lp_config_free(c);
}

static void
test_problem_table(void)
{
	static const struct cc_problem_case cases[] = {
		{ "name too long", "ports:\n" PORT_A "abcdefghijklmnop }\n",
		  { "t.yaml:2:76: kernelInterface: 'abcdefghijklmnop' longer than 15 characters (IFNAMSIZ)", NULL } },
		{ "slash", "ports:\n" PORT_A "a/b }\n",
		  { "t.yaml:2:76: kernelInterface: 'a/b' may not hold '/', ':', blanks or other than printable ASCII", NULL } },
		{ "colon", "ports:\n" PORT_A "eth0:1 }\n",
		  { "t.yaml:2:76: kernelInterface: 'eth0:1' may not hold '/', ':', blanks or other than printable ASCII", NULL } },
		{ "blank", "ports:\n" PORT_A "\"a b\" }\n",
		  { "t.yaml:2:76: kernelInterface: 'a b' may not hold '/', ':', blanks or other than printable ASCII", NULL } },
		{ "dot", "ports:\n" PORT_A "\"..\" }\n",
		  { "t.yaml:2:76: kernelInterface: '..' '.' and '..' are not interface names", NULL } },
		{ "empty", "ports:\n" PORT_A "\"\" }\n",
		  { "t.yaml:2:76: kernelInterface: '' must not be empty", NULL } },
		{ "not a string", "ports:\n" PORT_A "[a] }\n",
		  { "t.yaml:2:76: kernelInterface: expected an interface name, got a sequence", NULL } },
		{ "taken by another port", "ports:\n" PORT_A "lp0 }\n" PORT_B "lp0 }\n",
		  { "t.yaml:3:76: kernelInterface 'lp0' is already taken by port 'wan', first at 2:76", NULL } },
		{ "table 0", "ports:\n" PORT_A "lp0 }\nannounce: { table: 0 }\n",
		  { "t.yaml:3:20: table: 0 is out of range 1..4294967295", NULL } },
		{ "table too big", "ports:\n" PORT_A "lp0 }\nannounce: { table: 4294967296 }\n",
		  { "t.yaml:3:20: table: 4294967296 is out of range 1..4294967295", NULL } },
		{ "table main", "ports:\n" PORT_A "lp0 }\nannounce: { table: 254 }\n",
		  { "t.yaml:3:20: table: 254 is the kernel's own (253 default, 254 main, 255 local); use 1..252 or 256..4294967295",
		    NULL } },
		{ "table missing", "ports:\n" PORT_A "lp0 }\nannounce: { withdrawDelaySeconds: 3 }\n",
		  { "t.yaml:3:11: missing key 'table' in announce", NULL } },
		{ "announce without kernelInterface", "ports:\n" PLAIN_B "announce: { table: 100 }\n",
		  { "t.yaml:3:11: announce needs a port with a kernelInterface to put its routes on (ports[].kernelInterface)",
		    NULL } },
		{ "interface unknown", "ports:\n" PORT_A "lp0 }\nannounce: { table: 100, interface: lp1 }\n",
		  { "t.yaml:3:36: interface: no port has kernelInterface 'lp1'", NULL } },
		{ "interface needed", "ports:\n" PORT_A "lp0 }\n" PORT_B "lp1 }\nannounce: { table: 100 }\n",
		  { "t.yaml:4:11: interface: required when several ports have a kernelInterface (first: 'lp0')",
		    NULL } },
		{ "delay too long", "ports:\n" PORT_A "lp0 }\nannounce: { table: 1, withdrawDelaySeconds: 3601 }\n",
		  { "t.yaml:3:45: withdrawDelaySeconds: 3601 is out of range 0..3600", NULL } },
		{ "unknown announce key", "ports:\n" PORT_A "lp0 }\nannounce: { table: 1, tabel: 2 }\n",
		  { "t.yaml:3:23: unknown key 'tabel' in announce, did you mean 'table'?", NULL } },
		{ "poll", "ports:\n" PLAIN_B "workers: { poll: lazy }\n",
		  { "t.yaml:3:18: poll: expected one of adaptive, busy, got 'lazy'", NULL } },
		{ "sleep 0", "ports:\n" PLAIN_B "workers: { idleSleepMicroseconds: 0 }\n",
		  { "t.yaml:3:35: idleSleepMicroseconds: 0 is out of range 1..10000", NULL } },
		{ "sleep too long", "ports:\n" PLAIN_B "workers: { idleSleepMicroseconds: 10001 }\n",
		  { "t.yaml:3:35: idleSleepMicroseconds: 10001 is out of range 1..10000", NULL } },
		{ NULL, NULL, { NULL } },
	};

	CU_ASSERT(cc_expect_problem_table(cases) > 0);
}

static struct lp_config *
build(void)
{
	return cc_parse_ok(good_yaml);
}

static void change_nothing(struct lp_config *c) { (void)c; }
static void change_iface_long(struct lp_config *c) { strcpy(c->ports[0].kernel_iface, "x/y"); }
static void change_iface_dup(struct lp_config *c) { strcpy(c->ports[1].kernel_iface, "lp-wan"); }
static void change_table(struct lp_config *c) { c->announce.table = 255; }
static void change_no_iface(struct lp_config *c) { c->ports[0].kernel_iface[0] = '\0'; }
static void change_poll(struct lp_config *c) { c->workers.poll = 7; c->workers.idle_sleep_us = 0; }

static void
test_memory_table(void)
{
	static const struct cc_memory_case cases[] = {
		{ "valid", change_nothing, { NULL } },
		{ "bad name", change_iface_long,
		  { "t.yaml:2:5: kernelInterface: may not hold '/', ':', blanks or other than printable ASCII", NULL } },
		{ "duplicate", change_iface_dup,
		  { "t.yaml:3:5: kernelInterface 'lp-wan' is already taken by port 'wan', first at 2:76",
		    "t.yaml:4:11: interface: required when several ports have a kernelInterface (first: 'lp-wan')", NULL } },
		{ "table", change_table,
		  { "t.yaml:4:20: table: 255 is the kernel's own (253 default, 254 main, 255 local); use 1..252 or 256..4294967295",
		    NULL } },
		{ "no kernel interface", change_no_iface,
		  { "t.yaml:4:11: announce needs a port with a kernelInterface to put its routes on (ports[].kernelInterface)",
		    NULL } },
		{ "workers", change_poll,
		  { "t.yaml: workers: poll: expected one of adaptive, busy, got 7",
		    "t.yaml: workers: idleSleepMicroseconds: 0 is out of range 1..10000", NULL } },
		{ NULL, NULL, { NULL } },
	};

	cc_expect_memory_table(cases, build);
}

static void
test_round_trip(void)
{
	struct lp_config *c = cc_parse_ok(good_yaml);
	char *text = NULL;

	CU_ASSERT_FATAL(c != NULL);
	cc_check_round_trip(c, &text);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "kernelInterface: lp-wan"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "announce:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "poll: busy"));
	free(text);
	/* Defaults are not written: older files read back the same text. */
	lp_config_free(c);
	c = cc_parse_ok("ports:\n" PLAIN_B);
	CU_ASSERT_FATAL(c != NULL);
	cc_check_round_trip(c, &text);
	CU_ASSERT_PTR_NULL(strstr(text, "workers"));
	CU_ASSERT_PTR_NULL(strstr(text, "announce"));
	CU_ASSERT_PTR_NULL(strstr(text, "kernelInterface"));
	free(text);
	lp_config_free(c);
}

static bool
mutate(struct lp_config *c, unsigned int n)
{
	switch (n) {
	case 0: strcpy(c->ports[0].kernel_iface, "lp-x"); return true;
	case 1: c->announce.table++; return true;
	case 2: c->announce.withdraw_delay_s++; return true;
	case 3: strcpy(c->announce.iface, "lp-wan"); return true;
	case 4: c->announce.enabled = false; return true;
	case 5: c->workers.poll = LP_POLL_ADAPTIVE; return true;
	case 6: c->workers.idle_sleep_us++; return true;
	default: c->announce.table_pos.line++; return false;
	}
}

static void
test_equal(void)
{
	struct lp_config *c = cc_parse_ok(good_yaml);

	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT_EQUAL(cc_check_mutations(c, mutate), 7);
	lp_config_free(c);
}

int
main(void)
{
	static const struct lp_test_case cases[] = {
		{ "defaults", test_defaults },
		{ "valid", test_valid },
		{ "edges", test_edges },
		{ "one case per kind of problem", test_problem_table },
		{ "validate in memory", test_memory_table },
		{ "round trip", test_round_trip },
		{ "equal sees every field", test_equal },
		{ NULL, NULL },
	};
	static const struct lp_test_suite suites[] = {
		{ "config_scale", NULL, NULL, cases },
		{ NULL, NULL, NULL, NULL },
	};

	return lp_test_run(suites);
}
