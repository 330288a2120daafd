/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/config, static routes: the `routes` schema, every kind of problem
 * with its exact "file:line:col: message", lp_config_validate() on routes
 * built in memory, the write -> parse round trip, dup and equal.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_check.h"
#include "lp_config.h"
#include "lp_test.h"

/* Two ports, on lines 1-3; routes start on line 4. */
#define PORTS \
	"ports:\n" \
	"  - { name: edge, device: net_null0, address: [10.0.0.1/24, \"fd00::1/64\"], gateway: 10.0.0.254 }\n" \
	"  - { name: core, device: net_null1, address: [10.1.0.1/24, \"fd00:1::1/64\"], gateway: 10.1.0.254 }\n"

/* One route on line 5: its mapping at column 5, the first key at column 7. */
#define ROUTE(fields) PORTS "routes:\n  - { " fields " }\n"

/* ---- valid routes ---- */

static const char routes_yaml[] =
	"routes:\n"
	"  - { prefix: 10.20.0.0/16, via: 10.1.0.254, port: core }\n"
	"  - { prefix: \"fd00:20::/48\", via: \"fd00:1::fe\", port: core }\n"
	"  - { prefix: 10.20.0.0/24, via: 10.0.0.2, port: edge }\n"
	"  - { prefix: 192.168.7.9, via: 10.0.0.3, port: edge }\n"
	"  - { prefix: 0.0.0.0/0, via: 10.1.0.253, port: core }\n"
	"  - prefix: \"::/0\"\n"
	"    via: \"fd00::fe\"\n"
	"    port: edge\n"
	/* ports after the routes that name them */
	"ports:\n"
	"  - { name: edge, device: net_null0, address: [10.0.0.1/24, \"fd00::1/64\"], gateway: 10.0.0.254 }\n"
	"  - { name: core, device: net_null1, address: [10.1.0.1/24, \"fd00:1::1/64\"], gateway: 10.1.0.254 }\n";

struct route_expect {
	const char *prefix;
	uint8_t len;
	const char *via;
	uint32_t port;
	uint32_t line;
};

static void
test_valid_routes(void)
{
	static const struct route_expect expect[] = {
		{ "10.20.0.0", 16, "10.1.0.254", 1, 2 },
		{ "fd00:20::", 48, "fd00:1::fe", 1, 3 },
		{ "10.20.0.0", 24, "10.0.0.2", 0, 4 },	 /* same prefix, longer: not a duplicate */
		{ "192.168.7.9", 32, "10.0.0.3", 0, 5 }, /* an address alone is a host route */
		{ "0.0.0.0", 0, "10.1.0.253", 1, 6 },	 /* a default route through one port */
		{ "::", 0, "fd00::fe", 0, 7 },
	};
	struct lp_config *c = cc_parse_ok(routes_yaml);
	char buf[128];

	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT_EQUAL_FATAL(c->n_routes, sizeof(expect) / sizeof(expect[0]));
	for (uint32_t i = 0; i < c->n_routes; i++) {
		const struct lp_cfg_route *r = &c->routes[i];
		struct lp_ip want = cc_ip(expect[i].prefix);

		CU_ASSERT(lp_ip_equal(&r->prefix, &want));
		CU_ASSERT_EQUAL(r->len, expect[i].len);
		want = cc_ip(expect[i].via);
		CU_ASSERT(lp_ip_equal(&r->via, &want));
		CU_ASSERT_EQUAL(r->port, expect[i].port);
		CU_ASSERT_EQUAL(r->pos.line, expect[i].line);
		CU_ASSERT_EQUAL(r->pos.col, 5);
	}
	CU_ASSERT_EQUAL(lp_config_validate(c, NULL), 0);
	CU_ASSERT_EQUAL(lp_config_summary(c, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "t.yaml: ok: 2 ports, 0 services, 0 backends, 0 neighbors, 6 routes");
	c->n_routes = 1;
	CU_ASSERT_EQUAL(lp_config_summary(c, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "t.yaml: ok: 2 ports, 0 services, 0 backends, 0 neighbors, 1 route");
	CU_ASSERT_EQUAL(lp_config_summary(c, buf, 64), -ENOSPC);
	CU_ASSERT_EQUAL(strlen(buf), 63);
	c->n_routes = 0;
	CU_ASSERT_EQUAL(lp_config_summary(c, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "t.yaml: ok: 2 ports, 0 services, 0 backends, 0 neighbors");
	lp_config_free(c);
}

/* Prefixes whose first address is not unicast, but which reach unicast addresses. */
static void
test_prefix_edges(void)
{
	static const char *const good[] = { "0.0.0.0/1", "128.0.0.0/1", "0.0.0.0/7", "::/1", "::/126", NULL };

	for (const char *const *g = good; *g != NULL; g++) {
		char yaml[512];
		struct lp_config *c;

		snprintf(yaml, sizeof(yaml), ROUTE("prefix: \"%s\", via: \"%s\", port: core"), *g,
			 strchr(*g, ':') != NULL ? "fd00:1::fe" : "10.1.0.254");
		c = cc_parse_ok(yaml);
		if (c == NULL)
			fprintf(stderr, "prefix %s refused\n", *g);
		lp_config_free(c);
	}
}

/* ---- every kind of problem, with its exact message ---- */

static const struct cc_problem_case problem_cases[] = {
	{ "unknown key with suggestion", ROUTE("prefix: 10.20.0.0/16, vai: 10.1.0.254, port: core"),
	  { "t.yaml:5:5: missing key 'via' in route",
	    "t.yaml:5:29: unknown key 'vai' in route, did you mean 'via'?" } },
	{ "unknown top-level key with suggestion", PORTS "route:\n  - { prefix: 10.20.0.0/16 }\n",
	  { "t.yaml:4:1: unknown key 'route' at top level, did you mean 'routes'?" } },
	{ "unknown key without suggestion", ROUTE("prefix: 10.20.0.0/16, via: 10.1.0.254, port: core, metric: 5"),
	  { "t.yaml:5:58: unknown key 'metric' in route" } },
	{ "missing keys", PORTS "routes:\n  - {}\n",
	  { "t.yaml:5:5: missing key 'prefix' in route", "t.yaml:5:5: missing key 'via' in route",
	    "t.yaml:5:5: missing key 'port' in route" } },
	{ "routes not a sequence", PORTS "routes: { prefix: 10.20.0.0/16 }\n",
	  { "t.yaml:4:9: routes: expected a sequence, got a mapping" } },
	{ "route not a mapping", PORTS "routes:\n  - 10.20.0.0/16\n",
	  { "t.yaml:5:5: route: expected a mapping, got '10.20.0.0/16'" } },
	{ "bad prefix", ROUTE("prefix: 10.20.0.0/33, via: 10.1.0.254, port: core"),
	  { "t.yaml:5:15: prefix: expected an IP prefix, got '10.20.0.0/33'" } },
	{ "prefix host bits", ROUTE("prefix: 10.20.0.1/16, via: 10.1.0.254, port: core"),
	  { "t.yaml:5:15: prefix: 10.20.0.1/16 has host bits set" } },
	{ "prefix host bits IPv6", ROUTE("prefix: \"fd00:20::1/48\", via: \"fd00:1::fe\", port: core"),
	  { "t.yaml:5:15: prefix: fd00:20::1/48 has host bits set" } },
	{ "multicast prefix", ROUTE("prefix: 224.0.0.0/4, via: 10.1.0.254, port: core"),
	  { "t.yaml:5:15: prefix: 224.0.0.0/4 holds no unicast address" } },
	{ "loopback prefix", ROUTE("prefix: 127.0.0.0/8, via: 10.1.0.254, port: core"),
	  { "t.yaml:5:15: prefix: 127.0.0.0/8 holds no unicast address" } },
	{ "this-network prefix", ROUTE("prefix: 0.0.0.0/8, via: 10.1.0.254, port: core"),
	  { "t.yaml:5:15: prefix: 0.0.0.0/8 holds no unicast address" } },
	{ "IPv6 multicast prefix", ROUTE("prefix: \"ff00::/8\", via: \"fd00:1::fe\", port: core"),
	  { "t.yaml:5:15: prefix: ff00::/8 holds no unicast address" } },
	{ "IPv6 unspecified and loopback", ROUTE("prefix: \"::/127\", via: \"fd00:1::fe\", port: core"),
	  { "t.yaml:5:15: prefix: ::/127 holds no unicast address" } },
	{ "via not an address", ROUTE("prefix: 10.20.0.0/16, via: router1, port: core"),
	  { "t.yaml:5:34: via: expected an IP address, got 'router1'" } },
	{ "via a prefix", ROUTE("prefix: 10.20.0.0/16, via: 10.1.0.254/24, port: core"),
	  { "t.yaml:5:34: via: expected an IP address, got '10.1.0.254/24'" } },
	{ "via multicast", ROUTE("prefix: 10.20.0.0/16, via: 224.0.0.1, port: core"),
	  { "t.yaml:5:34: via: 224.0.0.1 is not a unicast address" } },
	{ "families differ", ROUTE("prefix: 10.20.0.0/16, via: \"fd00:1::fe\", port: core"),
	  { "t.yaml:5:34: via fd00:1::fe is IPv6 but prefix 10.20.0.0/16 is IPv4" } },
	{ "families differ IPv6 prefix", ROUTE("prefix: \"fd00:20::/48\", via: 10.1.0.254, port: core"),
	  { "t.yaml:5:36: via 10.1.0.254 is IPv4 but prefix fd00:20::/48 is IPv6" } },
	{ "undefined port", ROUTE("prefix: 10.20.0.0/16, via: 10.1.0.254, port: lan"),
	  { "t.yaml:5:52: port: undefined port 'lan'" } },
	{ "bad port name", ROUTE("prefix: 10.20.0.0/16, via: 10.1.0.254, port: \"c o\""),
	  { "t.yaml:5:52: port: may hold only letters, digits, '-', '_' and '.'" } },
	{ "via not on-link", ROUTE("prefix: 10.20.0.0/16, via: 10.9.0.254, port: core"),
	  { "t.yaml:5:34: via 10.9.0.254 is not on-link on port 'core'" } },
	{ "via on-link on another port", ROUTE("prefix: 10.20.0.0/16, via: 10.0.0.254, port: core"),
	  { "t.yaml:5:34: via 10.0.0.254 is not on-link on port 'core'" } },
	{ "IPv6 via not on-link", ROUTE("prefix: \"fd00:20::/48\", via: \"fd00::fe\", port: core"),
	  { "t.yaml:5:36: via fd00::fe is not on-link on port 'core'" } },
	{ "via an own address", ROUTE("prefix: 10.20.0.0/16, via: 10.1.0.1, port: core"),
	  { "t.yaml:5:34: via 10.1.0.1 is an address of port 'core', not a router" } },
	{ "via an address of another port", ROUTE("prefix: 10.20.0.0/16, via: 10.0.0.1, port: core"),
	  { "t.yaml:5:34: via 10.0.0.1 is an address of port 'edge', not a router" } },
	{ "duplicate route",
	  PORTS "routes:\n  - { prefix: 10.20.0.0/16, via: 10.1.0.254, port: core }\n"
	  "  - { prefix: 10.20.0.0/16, via: 10.0.0.2, port: edge }\n",
	  { "t.yaml:6:5: duplicate route 10.20.0.0/16, first at 5:5" } },
	{ "route inside an on-link prefix", ROUTE("prefix: 10.1.0.128/25, via: 10.1.0.254, port: core"),
	  { "t.yaml:5:5: route 10.1.0.128/25 is never used: it lies inside 10.1.0.1/24, on-link on port 'core'" } },
	{ "route to an own address", ROUTE("prefix: \"fd00::1\", via: \"fd00:1::fe\", port: core"),
	  { "t.yaml:5:5: route fd00::1/128 is never used: it lies inside fd00::1/64, on-link on port 'edge'" } },
	/* one mistake, one message: a port already reported takes no part in the route checks */
	{ "port without addresses",
	  "ports:\n  - { name: core, device: net_null1 }\nroutes:\n  - { prefix: 10.20.0.0/16, via: 10.9.0.254, port: core }\n",
	  { "t.yaml:2:5: missing key 'address' in port" } },
	{ "ports not a sequence", "ports: 5\nroutes:\n  - { prefix: 10.20.0.0/16, via: 10.1.0.254, port: core }\n",
	  { "t.yaml:1:8: ports: expected a sequence, got '5'" } },
	{ "bad prefix hides no via problem", ROUTE("prefix: 10.20.0.1/16, via: 10.9.0.254, port: core"),
	  { "t.yaml:5:15: prefix: 10.20.0.1/16 has host bits set",
	    "t.yaml:5:34: via 10.9.0.254 is not on-link on port 'core'" } },
	{ "routes in file order",
	  PORTS "routes:\n  - { prefix: 10.20.0.0/16, via: 10.9.0.254, port: core }\n"
	  "  - { prefix: 10.30.0.0/16, via: 10.1.0.254, port: lan }\n"
	  "  - { prefix: 10.20.0.0/16, via: 10.1.0.254, port: core }\n",
	  { "t.yaml:5:34: via 10.9.0.254 is not on-link on port 'core'",
	    "t.yaml:6:52: port: undefined port 'lan'",
	    "t.yaml:7:5: duplicate route 10.20.0.0/16, first at 5:5" } },
	{ NULL, NULL, { NULL } },
};

static void
test_problem_table(void)
{
	CU_ASSERT(cc_expect_problem_table(problem_cases) >= 30);
}

/* ---- writing ---- */

static void
test_round_trip(void)
{
	struct lp_config *c = cc_parse_ok(routes_yaml);
	char *text;

	CU_ASSERT_FATAL(c != NULL);
	cc_check_round_trip(c, &text);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "routes:\n"
					    "- {prefix: 10.20.0.0/16, via: 10.1.0.254, port: core}\n"
					    "- {prefix: 'fd00:20::/48', via: 'fd00:1::fe', port: core}\n"));
	free(text);
	lp_config_free(c);
}

static void
test_write_rejects_bad_port(void)
{
	struct lp_config *c = cc_parse_ok(routes_yaml);
	FILE *f = fopen("/dev/null", "w");

	CU_ASSERT_FATAL(c != NULL && f != NULL);
	c->routes[3].port = 2;
	CU_ASSERT_EQUAL(lp_config_write(c, f), -EINVAL);
	fclose(f);
	lp_config_free(c);
}

/* ---- configs in memory ---- */

static void
test_dup_is_deep(void)
{
	struct lp_config *c = cc_parse_ok(routes_yaml), *d;

	CU_ASSERT_FATAL(c != NULL);
	d = lp_config_dup(c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL(d->n_routes, 6);
	CU_ASSERT(d->routes != NULL && d->routes != c->routes);
	CU_ASSERT(lp_config_equal(c, d));
	d->routes[0].via = cc_ip("10.1.0.253");
	CU_ASSERT(lp_ip_equal(&c->routes[0].via, &(struct lp_ip){ LP_AF_INET, { 10, 1, 0, 254 } }));
	CU_ASSERT_FALSE(lp_config_equal(c, d));
	lp_config_free(d);
	/* no routes, no array */
	c->n_routes = 0;
	d = lp_config_dup(c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_PTR_NULL(d->routes);
	lp_config_free(d);
	c->n_routes = 6;
	lp_config_free(c);
}

/* Mutation n of a copy of routes_yaml's config, one field each; false for the last, which changes no setting. */
static bool
mutate_route(struct lp_config *d, unsigned int n)
{
	struct lp_cfg_route *r = &d->routes[1];

	switch (n) {
	case 0: r->prefix.a[3] ^= 1; break;
	case 1: r->prefix.family = LP_AF_INET; break;
	case 2: r->len++; break;
	case 3: r->via.a[15] ^= 1; break;
	case 4: r->port = 0; break;
	case 5: d->n_routes--; break;
	default:
		/* positions are not settings */
		r->pos.line++;
		return false;
	}
	return true;
}

static void
test_equal_sees_every_field(void)
{
	struct lp_config *c = cc_parse_ok(routes_yaml);

	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT_EQUAL(cc_check_mutations(c, mutate_route), 6);
	lp_config_free(c);
}

/* One port core (10.1.0.1/24, fd00:1::1/64) and edge (10.0.0.1/24), one route, as the CLI would build them. */
static struct lp_config *
build(void)
{
	struct lp_config *c = lp_config_new();

	CU_ASSERT_FATAL(c != NULL);
	c->ports = calloc(2, sizeof(*c->ports));
	c->routes = calloc(2, sizeof(*c->routes));
	CU_ASSERT_FATAL(c->ports != NULL && c->routes != NULL);
	c->n_ports = 2;
	lp_config_port_init(&c->ports[0]);
	strcpy(c->ports[0].name, "core");
	strcpy(c->ports[0].device, "net_null0");
	c->ports[0].n_addrs = 2;
	c->ports[0].addr[0] = cc_ip("10.1.0.1");
	c->ports[0].prefix[0] = 24;
	c->ports[0].addr[1] = cc_ip("fd00:1::1");
	c->ports[0].prefix[1] = 64;
	lp_config_port_init(&c->ports[1]);
	strcpy(c->ports[1].name, "edge");
	strcpy(c->ports[1].device, "net_null1");
	c->ports[1].n_addrs = 1;
	c->ports[1].addr[0] = cc_ip("10.0.0.1");
	c->ports[1].prefix[0] = 24;
	c->n_routes = 1;
	c->routes[0].prefix = cc_ip("10.20.0.0");
	c->routes[0].len = 16;
	c->routes[0].via = cc_ip("10.1.0.254");
	c->routes[0].port = 0;
	return c;
}

static void change_nothing(struct lp_config *c) { (void)c; }
static void change_host_bits(struct lp_config *c) { c->routes[0].prefix.a[3] = 1; }
static void change_len(struct lp_config *c) { c->routes[0].len = 33; }
static void change_prefix_unset(struct lp_config *c) { c->routes[0].prefix.family = 0; }
static void change_multicast(struct lp_config *c) { c->routes[0].prefix = cc_ip("224.0.0.0"); c->routes[0].len = 4; }
static void change_via_unset(struct lp_config *c) { c->routes[0].via.family = 0; }
static void change_port(struct lp_config *c) { c->routes[0].port = 3; }
static void change_family(struct lp_config *c) { c->routes[0].via = cc_ip("fd00:1::fe"); }
static void change_not_onlink(struct lp_config *c) { c->routes[0].via = cc_ip("10.9.0.254"); }
static void change_own(struct lp_config *c) { c->routes[0].via = cc_ip("10.0.0.1"); }
static void change_inside(struct lp_config *c) { c->routes[0].prefix = cc_ip("10.0.0.0"); c->routes[0].len = 25; }
static void change_no_array(struct lp_config *c) { free(c->routes); c->routes = NULL; }

static void
change_duplicate(struct lp_config *c)
{
	c->n_routes = 2;
	c->routes[1] = c->routes[0];
	c->routes[1].via = cc_ip("10.0.0.254");
	c->routes[1].port = 1;
}

static const struct cc_memory_case memory_cases[] = {
	{ "valid", change_nothing, { NULL } },
	{ "host bits", change_host_bits, { "config: route 10.20.0.1/16: prefix: 10.20.0.1/16 has host bits set" } },
	{ "prefix length", change_len, { "config: route 10.20.0.0/33: prefix length: 33 is out of range 0..32" } },
	{ "prefix unset", change_prefix_unset, { "config: route -/16: prefix: not set" } },
	{ "multicast prefix", change_multicast,
	  { "config: route 224.0.0.0/4: prefix: 224.0.0.0/4 holds no unicast address" } },
	{ "via unset", change_via_unset, { "config: route 10.20.0.0/16: via: not set" } },
	{ "port index", change_port, { "config: route 10.20.0.0/16: port: no port with index 3" } },
	{ "families differ", change_family,
	  { "config: route 10.20.0.0/16: via fd00:1::fe is IPv6 but prefix 10.20.0.0/16 is IPv4" } },
	{ "not on-link", change_not_onlink, { "config: route 10.20.0.0/16: via 10.9.0.254 is not on-link on port 'core'" } },
	{ "own address", change_own,
	  { "config: route 10.20.0.0/16: via 10.0.0.1 is an address of port 'edge', not a router" } },
	{ "inside an on-link prefix", change_inside,
	  { "config: route 10.0.0.0/25 is never used: it lies inside 10.0.0.1/24, on-link on port 'edge'" } },
	{ "duplicate", change_duplicate, { "config: duplicate route 10.20.0.0/16" } },
	{ "count without array", change_no_array, { "config: element counts without arrays to hold them" } },
	{ NULL, NULL, { NULL } },
};

static void
test_validate_in_memory(void)
{
	cc_expect_memory_table(memory_cases, build);
}

/* A config read from a file and then changed points at the route's line. */
static void
test_validate_keeps_positions(void)
{
	struct lp_config *c = cc_parse_ok(routes_yaml);
	static const char *const expect[] = {
		"t.yaml:2:5: via 10.9.0.254 is not on-link on port 'core'",
		NULL,
	};

	CU_ASSERT_FATAL(c != NULL);
	c->routes[0].via = cc_ip("10.9.0.254");
	cc_expect_validate("positions", c, expect);
	lp_config_free(c);
}

int
main(void)
{
	static const struct lp_test_case parse_cases[] = {
		{ "valid routes", test_valid_routes },
		{ "prefix edges", test_prefix_edges },
		{ "one case per kind of problem", test_problem_table },
		{ NULL, NULL },
	};
	static const struct lp_test_case write_cases[] = {
		{ "round trip", test_round_trip },
		{ "bad port index", test_write_rejects_bad_port },
		{ NULL, NULL },
	};
	static const struct lp_test_case memory_tests[] = {
		{ "dup is deep", test_dup_is_deep },
		{ "equal sees every field", test_equal_sees_every_field },
		{ "validate in memory", test_validate_in_memory },
		{ "validate keeps positions", test_validate_keeps_positions },
		{ NULL, NULL },
	};
	static const struct lp_test_suite suites[] = {
		{ "routes_parse", NULL, NULL, parse_cases },
		{ "routes_write", NULL, NULL, write_cases },
		{ "routes_memory", NULL, NULL, memory_tests },
		{ NULL, NULL, NULL, NULL },
	};

	return lp_test_run(suites);
}
