/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/config: the YAML schema, every kind of problem with its exact
 * "file:line:col: message", lp_config_validate() on configs built in
 * memory, and the write -> parse round trip.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_check.h"
#include "lp_config.h"
#include "lp_test.h"

/* One port, on lines 1-2, for cases about something else. */
#define PORTS "ports:\n  - { name: wan, device: net_null0, address: 10.0.0.1/24 }\n"

/* ---- a valid config ---- */

static const char full_yaml[] =
	"ports:\n"
	"  - name: wan\n"
	"    device: net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap\n"
	"    address: [10.0.0.1/24, \"fd00::1/64\"]\n"
	"    gateway: [10.0.0.254, \"fd00::fe\"]\n"
	"    mtu: 9000\n"
	"    mac: \"02:00:00:00:00:01\"\n"
	"  - name: lan\n"
	"    device: 0000:01:00.1\n"
	"    address: 10.1.0.1/16\n"
	"neighbors:\n"
	"  - { address: 10.1.0.11, mac: \"02:00:00:00:01:0b\", port: lan }\n"
	"flows: { capacity: 2048, tcp_timeout: 901, tcp_syn_timeout: 11, tcp_fin_timeout: 31, udp_timeout: 61 }\n"
	"affinity: { capacity: 4096 }\n"
	"services:\n"
	"  - name: web\n"
	"    vip: 10.0.0.100\n"
	"    port: 80\n"
	"    targetPort: 8080\n"
	"    protocol: TCP\n"
	"    forwarding: tunnel\n"
	"    scheduler: wrr\n"
	"    sessionAffinity: ClientIP\n"
	"    sessionAffinityConfig:\n"
	"      clientIP: { timeoutSeconds: 600, prefixV4: 24, prefixV6: 64 }\n"
	"    boundedLoad: 1.25\n"
	"    slowStartSeconds: 30\n"
	"    drainTimeoutSeconds: 300\n"
	"    rebalance: idle\n"
	"    rebalanceRate: 50\n"
	"    maglevSize: 251\n"
	"    tunnelSource: [172.20.0.0/16, \"fd00:1::/64\"]\n"
	"    healthCheck: { type: http, port: 8081, path: /healthz, interval: 0.5, timeout: 0.25, rise: 3, fall: 4 }\n"
	"    backends:\n"
	"      - { address: 10.1.0.11, weight: 2 }\n"
	"      - { address: \"fd00:1::12\", port: 9090, weight: 0, state: drain }\n"
	"      - address: 10.1.0.13\n"
	"        state: down\n"
	"  - name: dns\n"
	"    vip: \"fd00::100\"\n"
	"    port: 53\n"
	"    protocol: udp\n"
	"    forwarding: dsr\n"
	"    scheduler: least_conn\n"
	"    healthCheck: { type: tcp, interval: 3 }\n"
	"    backends:\n"
	"      - { address: \"fd00::21\" }\n";

static void
test_full_example(void)
{
	struct lp_config *c = cc_parse_ok(full_yaml);
	const struct lp_cfg_service *web, *dns;
	const struct lp_cfg_port *wan;
	struct lp_mac mac;
	char buf[128];

	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT_STRING_EQUAL(c->path, "t.yaml");
	CU_ASSERT_EQUAL_FATAL(c->n_ports, 2);
	wan = &c->ports[0];
	CU_ASSERT_STRING_EQUAL(wan->name, "wan");
	CU_ASSERT_STRING_EQUAL(wan->device, "net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap");
	CU_ASSERT_EQUAL(wan->n_addrs, 2);
	CU_ASSERT(lp_ip_equal(&wan->addr[0], &(struct lp_ip){ 0 }) == false);
	CU_ASSERT(lp_ip_equal(&wan->addr[0], &(struct lp_ip){ LP_AF_INET, { 10, 0, 0, 1 } }));
	CU_ASSERT_EQUAL(wan->prefix[0], 24);
	CU_ASSERT(wan->addr[1].family == LP_AF_INET6 && wan->prefix[1] == 64);
	CU_ASSERT(lp_ip_equal(&wan->gateway4, &(struct lp_ip){ LP_AF_INET, { 10, 0, 0, 254 } }));
	CU_ASSERT_STRING_EQUAL(lp_ip_format(&wan->gateway6, buf, sizeof(buf)), "fd00::fe");
	CU_ASSERT_EQUAL(wan->mtu, 9000);
	CU_ASSERT(wan->has_mac);
	CU_ASSERT_STRING_EQUAL(lp_mac_format(&wan->mac, buf, sizeof(buf)), "02:00:00:00:00:01");
	CU_ASSERT_EQUAL(wan->pos.line, 2);
	CU_ASSERT_EQUAL(wan->pos.col, 5);
	CU_ASSERT_STRING_EQUAL(c->ports[1].device, "0000:01:00.1");
	CU_ASSERT_EQUAL(c->ports[1].mtu, 1500);
	CU_ASSERT_FALSE(c->ports[1].has_mac);
	CU_ASSERT_EQUAL(c->ports[1].gateway4.family, 0);

	CU_ASSERT_EQUAL_FATAL(c->n_neighbors, 1);
	CU_ASSERT(lp_ip_equal(&c->neighbors[0].addr, &(struct lp_ip){ LP_AF_INET, { 10, 1, 0, 11 } }));
	CU_ASSERT(lp_mac_parse("02:00:00:00:01:0b", &mac) == 0 &&
		  memcmp(&mac, &c->neighbors[0].mac, sizeof(mac)) == 0);
	CU_ASSERT_EQUAL(c->neighbors[0].port, 1);
	CU_ASSERT_EQUAL(c->neighbors[0].pos.line, 12);
	CU_ASSERT_EQUAL(c->neighbors[0].pos.col, 5);

	CU_ASSERT_EQUAL(c->flows.capacity, 2048);
	CU_ASSERT_EQUAL(c->flows.tcp_timeout, 901);
	CU_ASSERT_EQUAL(c->flows.tcp_syn_timeout, 11);
	CU_ASSERT_EQUAL(c->flows.tcp_fin_timeout, 31);
	CU_ASSERT_EQUAL(c->flows.udp_timeout, 61);
	CU_ASSERT_EQUAL(c->affinity_capacity, 4096);

	CU_ASSERT_EQUAL_FATAL(c->n_services, 2);
	web = &c->services[0];
	CU_ASSERT_STRING_EQUAL(web->name, "web");
	CU_ASSERT_EQUAL(web->pos.line, 16);
	CU_ASSERT(lp_ip_equal(&web->vip, &(struct lp_ip){ LP_AF_INET, { 10, 0, 0, 100 } }));
	CU_ASSERT_EQUAL(web->port, 80);
	CU_ASSERT_EQUAL(web->target_port, 8080);
	CU_ASSERT_EQUAL(web->proto, IPPROTO_TCP);
	CU_ASSERT_EQUAL(web->forwarding, LP_FWD_TUNNEL);
	CU_ASSERT_EQUAL(web->scheduler, LP_SCHED_WRR);
	CU_ASSERT(web->affinity);
	CU_ASSERT_EQUAL(web->affinity_timeout_s, 600);
	CU_ASSERT_EQUAL(web->prefix_v4, 24);
	CU_ASSERT_EQUAL(web->prefix_v6, 64);
	CU_ASSERT_DOUBLE_EQUAL(web->bounded_load, 1.25, 0);
	CU_ASSERT_EQUAL(web->slow_start_s, 30);
	CU_ASSERT_EQUAL(web->drain_timeout_s, 300);
	CU_ASSERT_EQUAL(web->rebalance, LP_REBALANCE_IDLE);
	CU_ASSERT_EQUAL(web->rebalance_rate, 50);
	CU_ASSERT_EQUAL(web->maglev_size, 251);
	CU_ASSERT_STRING_EQUAL(lp_ip_format(&web->tunnel_src4, buf, sizeof(buf)), "172.20.0.0");
	CU_ASSERT_EQUAL(web->tunnel_src4_len, 16);
	CU_ASSERT_STRING_EQUAL(lp_ip_format(&web->tunnel_src6, buf, sizeof(buf)), "fd00:1::");
	CU_ASSERT_EQUAL(web->tunnel_src6_len, 64);
	CU_ASSERT_EQUAL(web->health.type, LP_HEALTH_HTTP);
	CU_ASSERT_EQUAL(web->health.port, 8081);
	CU_ASSERT_STRING_EQUAL(web->health.path, "/healthz");
	CU_ASSERT_EQUAL(web->health.interval_ms, 500);
	CU_ASSERT_EQUAL(web->health.timeout_ms, 250);
	CU_ASSERT_EQUAL(web->health.rise, 3);
	CU_ASSERT_EQUAL(web->health.fall, 4);
	CU_ASSERT_EQUAL_FATAL(web->n_backends, 3);
	CU_ASSERT(lp_ip_equal(&web->backends[0].addr, &(struct lp_ip){ LP_AF_INET, { 10, 1, 0, 11 } }));
	CU_ASSERT_EQUAL(web->backends[0].port, 8080); /* targetPort */
	CU_ASSERT_EQUAL(web->backends[0].weight, 2);
	CU_ASSERT_EQUAL(web->backends[0].state, LP_BACKEND_UP);
	CU_ASSERT_EQUAL(web->backends[0].pos.line, 35);
	CU_ASSERT_EQUAL(web->backends[0].pos.col, 9);
	CU_ASSERT_EQUAL(web->backends[1].addr.family, LP_AF_INET6);
	CU_ASSERT_EQUAL(web->backends[1].port, 9090);
	CU_ASSERT_EQUAL(web->backends[1].weight, 0);
	CU_ASSERT_EQUAL(web->backends[1].state, LP_BACKEND_DRAINING);
	CU_ASSERT_EQUAL(web->backends[2].weight, 1);
	CU_ASSERT_EQUAL(web->backends[2].state, LP_BACKEND_DOWN);
	CU_ASSERT_EQUAL(web->backends[2].pos.line, 37);

	dns = &c->services[1];
	CU_ASSERT_EQUAL(dns->vip.family, LP_AF_INET6);
	CU_ASSERT_EQUAL(dns->proto, IPPROTO_UDP);
	CU_ASSERT_EQUAL(dns->forwarding, LP_FWD_DSR);
	CU_ASSERT_EQUAL(dns->scheduler, LP_SCHED_LEAST_CONN);
	CU_ASSERT_FALSE(dns->affinity);
	CU_ASSERT_EQUAL(dns->target_port, 0);
	CU_ASSERT_EQUAL(dns->health.type, LP_HEALTH_TCP);
	CU_ASSERT_EQUAL(dns->health.interval_ms, 3000);
	CU_ASSERT_EQUAL(dns->health.timeout_ms, 1000);
	CU_ASSERT_STRING_EQUAL(dns->health.path, "/");
	CU_ASSERT_EQUAL_FATAL(dns->n_backends, 1);
	CU_ASSERT_EQUAL(dns->backends[0].port, 53); /* the service port */

	CU_ASSERT_EQUAL(lp_config_service_find(c, "dns"), 1);
	CU_ASSERT_EQUAL(lp_config_service_find(c, "nope"), -1);
	CU_ASSERT_EQUAL(lp_config_port_find(c, "lan"), 1);
	CU_ASSERT_EQUAL(lp_config_port_find(c, "wan0"), -1);
	CU_ASSERT_EQUAL(lp_config_summary(c, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "t.yaml: ok: 2 ports, 2 services, 4 backends, 1 neighbor");
	CU_ASSERT_EQUAL(lp_config_validate(c, NULL), 0);
	lp_config_free(c);
}

static void
test_defaults(void)
{
	struct lp_config *c = cc_parse_ok(PORTS "services:\n  - { name: web, vip: 10.0.0.100, port: 80, "
						"backends: [{ address: 10.1.0.11 }] }\n");
	const struct lp_cfg_service *s;
	char buf[LP_IP_STRLEN];

	CU_ASSERT_FATAL(c != NULL && c->n_services == 1 && c->n_ports == 1);
	CU_ASSERT_EQUAL(c->ports[0].mtu, 1500);
	CU_ASSERT_EQUAL(c->ports[0].n_addrs, 1);
	CU_ASSERT_EQUAL(c->n_neighbors, 0);
	CU_ASSERT_EQUAL(c->flows.capacity, 1048576);
	CU_ASSERT_EQUAL(c->flows.tcp_timeout, 900);
	CU_ASSERT_EQUAL(c->flows.tcp_syn_timeout, 10);
	CU_ASSERT_EQUAL(c->flows.tcp_fin_timeout, 30);
	CU_ASSERT_EQUAL(c->flows.udp_timeout, 60);
	CU_ASSERT_EQUAL(c->affinity_capacity, 1048576);
	s = &c->services[0];
	CU_ASSERT_EQUAL(s->proto, IPPROTO_TCP);
	CU_ASSERT_EQUAL(s->forwarding, LP_FWD_NAT);
	CU_ASSERT_EQUAL(s->scheduler, LP_SCHED_MAGLEV);
	CU_ASSERT_FALSE(s->affinity);
	CU_ASSERT_EQUAL(s->affinity_timeout_s, 10800);
	CU_ASSERT_EQUAL(s->prefix_v4, 32);
	CU_ASSERT_EQUAL(s->prefix_v6, 128);
	CU_ASSERT_DOUBLE_EQUAL(s->bounded_load, 0, 0);
	CU_ASSERT_EQUAL(s->slow_start_s, 0);
	CU_ASSERT_EQUAL(s->drain_timeout_s, 0);
	CU_ASSERT_EQUAL(s->rebalance, LP_REBALANCE_OFF);
	CU_ASSERT_EQUAL(s->rebalance_rate, 100);
	CU_ASSERT_EQUAL(s->maglev_size, 65537);
	CU_ASSERT_STRING_EQUAL(lp_ip_format(&s->tunnel_src4, buf, sizeof(buf)), "172.16.0.0");
	CU_ASSERT_EQUAL(s->tunnel_src4_len, 16);
	CU_ASSERT_STRING_EQUAL(lp_ip_format(&s->tunnel_src6, buf, sizeof(buf)), "fd00:7c::");
	CU_ASSERT_EQUAL(s->tunnel_src6_len, 64);
	CU_ASSERT_EQUAL(s->health.type, LP_HEALTH_NONE);
	CU_ASSERT_EQUAL(s->health.port, 0);
	CU_ASSERT_STRING_EQUAL(s->health.path, "/");
	CU_ASSERT_EQUAL(s->health.interval_ms, 2000);
	CU_ASSERT_EQUAL(s->health.timeout_ms, 1000);
	CU_ASSERT_EQUAL(s->health.rise, 2);
	CU_ASSERT_EQUAL(s->health.fall, 3);
	CU_ASSERT_EQUAL_FATAL(s->n_backends, 1);
	CU_ASSERT_EQUAL(s->backends[0].port, 80);
	CU_ASSERT_EQUAL(s->backends[0].weight, 1);
	CU_ASSERT_EQUAL(s->backends[0].state, LP_BACKEND_UP);
	lp_config_free(c);
}

/* Spellings the schema accepts besides the canonical ones. */
static void
test_alternate_forms(void)
{
	struct lp_config *c = cc_parse_ok("ports:\n"
					  "  - name: wan\n"
					  "    device: net_null0\n"
					  "    address: \"fd00::1/64\"\n"
					  "    gateway: \"fd00::fe\"\n"
					  "neighbors:\n"
					  "flows:\n"
					  "services:\n"
					  "  - name: a.b_c-1\n"
					  "    vip: \"fd00::100\"\n"
					  "    port: \"443\"\n"
					  "    protocol: tcp\n"
					  "    sessionAffinity: clientip\n"
					  "    tunnelSource: \"fd00:9::/48\"\n"
					  "    healthCheck: { type: HTTP, interval: 10, timeout: 9.999 }\n"
					  "    backends:\n"
					  "      - { address: \"fd00::11\", state: Drain }\n"
					  "  - name: empty\n"
					  "    vip: 10.0.0.1\n"
					  "    port: 1\n"
					  "    boundedLoad: 100\n"
					  "    maglevSize: 655373\n"
					  "    backends: []\n");
	char buf[LP_IP_STRLEN];

	CU_ASSERT_FATAL(c != NULL && c->n_services == 2);
	CU_ASSERT_EQUAL(c->ports[0].gateway4.family, 0);
	CU_ASSERT_EQUAL(c->ports[0].gateway6.family, LP_AF_INET6);
	CU_ASSERT_EQUAL(c->n_neighbors, 0);
	CU_ASSERT_EQUAL(c->flows.capacity, 1048576);
	CU_ASSERT_STRING_EQUAL(c->services[0].name, "a.b_c-1");
	CU_ASSERT_EQUAL(c->services[0].port, 443);
	CU_ASSERT(c->services[0].affinity);
	CU_ASSERT_STRING_EQUAL(lp_ip_format(&c->services[0].tunnel_src6, buf, sizeof(buf)), "fd00:9::");
	CU_ASSERT_EQUAL(c->services[0].tunnel_src6_len, 48);
	/* the IPv4 prefix not given keeps its default */
	CU_ASSERT_EQUAL(c->services[0].tunnel_src4_len, 16);
	CU_ASSERT_EQUAL(c->services[0].health.type, LP_HEALTH_HTTP);
	CU_ASSERT_EQUAL(c->services[0].health.interval_ms, 10000);
	CU_ASSERT_EQUAL(c->services[0].health.timeout_ms, 9999);
	CU_ASSERT_EQUAL(c->services[0].backends[0].state, LP_BACKEND_DRAINING);
	CU_ASSERT_DOUBLE_EQUAL(c->services[1].bounded_load, 100, 0);
	CU_ASSERT_EQUAL(c->services[1].maglev_size, 655373);
	CU_ASSERT_EQUAL(c->services[1].n_backends, 0);
	lp_config_free(c);
}

/* ---- every kind of problem, with its exact message ---- */

#define SVC(extra) PORTS "services:\n  - { name: web, vip: 10.0.0.100, port: 80" extra " }\n"

static const struct cc_problem_case problem_cases[] = {
	{ "yaml syntax error", "ports: [\n  a: b\n",
	  { "t.yaml:3:1: syntax error: did not find expected ',' or ']' (while parsing a flow sequence at 1:8)" } },
	{ "tab in indentation", "ports:\n  - name: a\n\tdevice: x\n",
	  { "t.yaml:3:1: syntax error: found a tab character that violates indentation "
	    "(while scanning a plain scalar at 2:11)" } },
	{ "invalid utf-8", "ports: \xff\n", { "t.yaml:1:8: unreadable input: invalid leading UTF-8 octet" } },
	{ "empty document", "# nothing\n", { "t.yaml:1:1: empty document" } },
	{ "two documents", PORTS "---\nports: []\n", { "t.yaml:3:1: only one YAML document is allowed" } },
	{ "top level not a mapping", "- wan\n", { "t.yaml:1:1: top level: expected a mapping, got a sequence" } },
	{ "no ports key", "services: []\n", { "t.yaml:1:1: at least one port is required" } },
	{ "empty ports", "ports: []\n", { "t.yaml:1:8: at least one port is required" } },
	{ "unknown key with suggestion", PORTS "servics: []\n",
	  { "t.yaml:3:1: unknown key 'servics' at top level, did you mean 'services'?" } },
	{ "unknown key, case and underscore", SVC(", target_port: 8080"),
	  { "t.yaml:4:45: unknown key 'target_port' in service, did you mean 'targetPort'?" } },
	{ "unknown key without suggestion", SVC(", colour: blue"), { "t.yaml:4:45: unknown key 'colour' in service" } },
	{ "unknown nested key", SVC(", sessionAffinityConfig: { clientIp: { timeoutSeconds: 5 } }"),
	  { "t.yaml:4:70: unknown key 'clientIp' in sessionAffinityConfig, did you mean 'clientIP'?" } },
	{ "duplicate key", "ports:\n  - name: wan\n    device: a\n    address: 10.0.0.1\n    device: b\n",
	  { "t.yaml:5:5: duplicate key 'device', first at 3:5" } },
	{ "expected a mapping", PORTS "flows: 5\n", { "t.yaml:3:8: flows: expected a mapping, got '5'" } },
	{ "expected a mapping item", "ports:\n  - wan\n", { "t.yaml:2:5: port: expected a mapping, got 'wan'" } },
	{ "expected a sequence", "ports: { name: wan }\n",
	  { "t.yaml:1:8: ports: expected a sequence, got a mapping" } },
	{ "expected a scalar", "ports:\n  - { name: [wan], device: x, address: 10.0.0.1 }\n",
	  { "t.yaml:2:13: name: expected a name, got a sequence" } },
	{ "expected an integer", "ports:\n  - { name: wan, device: x, address: 10.0.0.1, mtu: 1500.0 }\n",
	  { "t.yaml:2:53: mtu: expected an integer, got '1500.0'" } },
	{ "expected a number", SVC(", boundedLoad: high"), { "t.yaml:4:58: boundedLoad: expected a number, got 'high'" } },
	{ "empty value", PORTS "services:\n  - name: web\n    vip:\n    port: 80\n",
	  { "t.yaml:5:9: vip: expected an IP address, got an empty value" } },
	{ "NUL in a string", "ports:\n  - { name: \"w\\0n\", device: x, address: 10.0.0.1 }\n",
	  { "t.yaml:2:13: name: contains a NUL character" } },
	{ "integer out of range", "ports:\n  - { name: wan, device: x, address: 10.0.0.1, mtu: 100 }\n",
	  { "t.yaml:2:53: mtu: 100 is out of range 576..9000" } },
	{ "huge integer", SVC(", slowStartSeconds: 99999999999999999999999"),
	  { "t.yaml:4:63: slowStartSeconds: 99999999999999999999999 is out of range 0..3600" } },
	{ "negative integer", "ports:\n" "  - { name: wan, device: x, address: 10.0.0.1 }\nflows: { udp_timeout: -1 }\n",
	  { "t.yaml:3:23: udp_timeout: -1 is out of range 1..86400" } },
	{ "affinity timeout range",
	  SVC(", sessionAffinityConfig: { clientIP: { timeoutSeconds: 0, prefixV4: 33, prefixV6: 129 } }"),
	  { "t.yaml:4:98: timeoutSeconds: 0 is out of range 1..86400",
	    "t.yaml:4:111: prefixV4: 33 is out of range 0..32",
	    "t.yaml:4:125: prefixV6: 129 is out of range 0..128" } },
	{ "bounded load range", SVC(", boundedLoad: 1.0"),
	  { "t.yaml:4:58: boundedLoad: 1.0 is out of range, expected 0 (off) or more than 1 up to 100" } },
	{ "maglev size range", SVC(", maglevSize: 100"), { "t.yaml:4:57: maglevSize: 100 is out of range 251..655373" } },
	{ "maglev size not prime", SVC(", maglevSize: 65536"), { "t.yaml:4:57: maglevSize: 65536 is not prime" } },
	{ "rebalance rate range", SVC(", rebalance: idle, rebalanceRate: 0"),
	  { "t.yaml:4:77: rebalanceRate: 0 is out of range 1..1000000" } },
	{ "weight range", SVC(", backends: [{ address: 10.1.0.11, weight: 65536 }]"),
	  { "t.yaml:4:86: weight: 65536 is out of range 0..65535" } },
	{ "seconds finer than a millisecond", SVC(", healthCheck: { type: tcp, interval: 0.0005 }"),
	  { "t.yaml:4:81: interval: 0.0005 is finer than a millisecond" } },
	{ "seconds out of range", SVC(", healthCheck: { type: tcp, interval: 0.05, timeout: 3601 }"),
	  { "t.yaml:4:81: interval: 0.05 is out of range 0.1..3600",
	    "t.yaml:4:96: timeout: 3601 is out of range 0.1..3600" } },
	{ "seconds not a number", SVC(", healthCheck: { type: tcp, interval: 2s }"),
	  { "t.yaml:4:81: interval: expected seconds, got '2s'" } },
	{ "bad address", SVC(", backends: [{ address: 10.1.0.300 }]"),
	  { "t.yaml:4:67: address: expected an IP address, got '10.1.0.300'" } },
	{ "bad vip", PORTS "services:\n  - { name: web, vip: 10.0.0.1/32, port: 80 }\n",
	  { "t.yaml:4:23: vip: expected an IP address, got '10.0.0.1/32'" } },
	{ "multicast vip", PORTS "services:\n  - { name: web, vip: 224.0.0.1, port: 80 }\n",
	  { "t.yaml:4:23: vip: 224.0.0.1 is not a unicast address" } },
	{ "bad prefix", "ports:\n  - { name: wan, device: x, address: 10.0.0.1/33 }\n",
	  { "t.yaml:2:38: address: expected an IP address or prefix, got '10.0.0.1/33'" } },
	{ "bad mac", "ports:\n  - { name: wan, device: x, address: 10.0.0.1, mac: \"02:00\" }\n",
	  { "t.yaml:2:53: mac: expected a MAC address, got '02:00'" } },
	{ "group mac", "ports:\n  - { name: wan, device: x, address: 10.0.0.1, mac: \"01:00:5e:00:00:01\" }\n",
	  { "t.yaml:2:53: mac: 01:00:5e:00:00:01 is not a unicast MAC address" } },
	{ "bad enum protocol", SVC(", protocol: SCTP"), { "t.yaml:4:55: protocol: expected one of TCP, UDP, got 'SCTP'" } },
	{ "bad enum forwarding", SVC(", forwarding: proxy"),
	  { "t.yaml:4:57: forwarding: expected one of nat, dsr, tunnel, got 'proxy'" } },
	{ "bad enum scheduler", SVC(", scheduler: rr"),
	  { "t.yaml:4:56: scheduler: expected one of maglev, wrr, least_conn, got 'rr'" } },
	{ "bad enum affinity", SVC(", sessionAffinity: Cookie"),
	  { "t.yaml:4:62: sessionAffinity: expected one of None, ClientIP, got 'Cookie'" } },
	{ "bad enum state", SVC(", backends: [{ address: 10.1.0.11, state: sick }]"),
	  { "t.yaml:4:85: state: expected one of up, draining, down, got 'sick'" } },
	{ "bad enum health type", SVC(", healthCheck: { type: icmp }"),
	  { "t.yaml:4:66: type: expected one of none, tcp, http, got 'icmp'" } },
	{ "bad enum rebalance", SVC(", rebalance: busy"), { "t.yaml:4:56: rebalance: expected one of none, idle, got 'busy'" } },
	{ "missing service keys", PORTS "services:\n  - { name: web }\n",
	  { "t.yaml:4:5: missing key 'vip' in service", "t.yaml:4:5: missing key 'port' in service" } },
	{ "missing port keys", "ports:\n  - name: wan\n",
	  { "t.yaml:2:5: missing key 'device' in port", "t.yaml:2:5: missing key 'address' in port" } },
	{ "missing name", "ports:\n  - { device: x, address: 10.0.0.1 }\n", { "t.yaml:2:5: missing key 'name' in port" } },
	{ "missing backend address", SVC(", backends: [{ port: 8080 }]"),
	  { "t.yaml:4:56: missing key 'address' in backend" } },
	{ "missing neighbor keys", PORTS "neighbors:\n  - { address: 10.0.0.2 }\n",
	  { "t.yaml:4:5: missing key 'mac' in neighbor", "t.yaml:4:5: missing key 'port' in neighbor" } },
	{ "missing health type", SVC(", healthCheck: { port: 80 }"), { "t.yaml:4:58: missing key 'type' in healthCheck" } },
	{ "bad name", "ports:\n  - { name: \"w n\", device: x, address: 10.0.0.1 }\n",
	  { "t.yaml:2:13: name: may hold only letters, digits, '-', '_' and '.'" } },
	{ "long name", "ports:\n  - { name: abcdefghijabcdefghijabcdefghij012, device: x, address: 10.0.0.1 }\n",
	  { "t.yaml:2:13: name: longer than 31 characters" } },
	{ "empty device", "ports:\n  - { name: wan, device: \"\", address: 10.0.0.1 }\n",
	  { "t.yaml:2:26: device: must not be empty" } },
	{ "too many addresses",
	  "ports:\n  - { name: wan, device: x, address: [10.0.0.1, 10.0.0.2, 10.0.0.3, 10.0.0.4, 10.0.0.5] }\n",
	  { "t.yaml:2:79: address: at most 4 addresses per port" } },
	{ "no address", "ports:\n  - { name: wan, device: x, address: [] }\n",
	  { "t.yaml:2:38: address: expected at least one IP address" } },
	{ "two IPv4 gateways", "ports:\n  - { name: wan, device: x, address: 10.0.0.1/24, gateway: [10.0.0.2, 10.0.0.3] }\n",
	  { "t.yaml:2:71: gateway: more than one IPv4 gateway" } },
	{ "tunnel source host bits", SVC(", forwarding: tunnel, tunnelSource: 172.16.0.1/16"),
	  { "t.yaml:4:79: tunnelSource: 172.16.0.1/16 has host bits set" } },
	{ "two IPv6 tunnel sources", SVC(", tunnelSource: [\"fd00:1::/64\", \"fd00:2::/64\"]"),
	  { "t.yaml:4:75: tunnelSource: more than one IPv6 prefix" } },
	{ "path for tcp", SVC(", healthCheck: { type: tcp, path: /x }"),
	  { "t.yaml:4:77: path: only http health checks use a path" } },
	{ "relative path", SVC(", healthCheck: { type: http, path: healthz }"),
	  { "t.yaml:4:78: path: must start with '/'" } },
	{ "health timeout above interval", SVC(", healthCheck: { type: tcp, interval: 1, timeout: 1.001 }"),
	  { "t.yaml:4:93: healthCheck timeout 1.001s must not exceed interval 1s" } },
	{ "health default timeout above interval", SVC(", healthCheck: { type: tcp, interval: 0.5 }"),
	  { "t.yaml:4:58: healthCheck timeout 1s must not exceed interval 0.5s" } },
	{ "duplicate port name",
	  "ports:\n  - { name: wan, device: x, address: 10.0.0.1 }\n  - { name: wan, device: y, address: 10.0.1.1 }\n",
	  { "t.yaml:3:13: duplicate port name 'wan', first at 2:13" } },
	{ "duplicate address",
	  "ports:\n  - { name: wan, device: x, address: 10.0.0.1/24 }\n  - { name: lan, device: y, address: 10.0.0.1/16 }\n",
	  { "t.yaml:3:5: duplicate address 10.0.0.1, first in port 'wan'" } },
	{ "mtu below the IPv6 minimum", "ports:\n  - { name: wan, device: x, address: \"fd00::1/64\", mtu: 1000 }\n",
	  { "t.yaml:2:5: mtu 1000 is below 1280, the IPv6 minimum" } },
	{ "duplicate service name",
	  PORTS "services:\n  - { name: web, vip: 10.0.0.100, port: 80 }\n  - { name: web, vip: 10.0.0.101, port: 80 }\n",
	  { "t.yaml:5:13: duplicate service name 'web', first at 4:13" } },
	{ "vip clash",
	  PORTS "services:\n  - { name: web, vip: 10.0.0.100, port: 80 }\n  - { name: web2, vip: 10.0.0.100, port: 80 }\n",
	  { "t.yaml:5:24: service 'web2' clashes with service 'web' on 10.0.0.100:80/TCP" } },
	{ "same vip and port, other protocol",
	  PORTS "services:\n  - { name: dns, vip: 10.0.0.100, port: 53, protocol: UDP }\n"
	  "  - { name: dns-tcp, vip: 10.0.0.100, port: 53 }\n  - { name: dns2, vip: 10.0.0.100, port: 53, protocol: UDP }\n",
	  { "t.yaml:6:24: service 'dns2' clashes with service 'dns' on 10.0.0.100:53/UDP" } },
	{ "duplicate backend",
	  SVC(", targetPort: 8080, backends: [{ address: 10.1.0.11 }, { address: 10.1.0.12 }, { address: 10.1.0.11, port: 8080 }]"),
	  { "t.yaml:4:122: duplicate backend 10.1.0.11:8080, first at 4:74" } },
	{ "family mismatch nat", SVC(", backends: [{ address: \"fd00::11\" }]"),
	  { "t.yaml:4:56: backend fd00::11 is IPv6 but vip 10.0.0.100 is IPv4, only tunnel forwarding mixes families" } },
	{ "family mismatch dsr", PORTS "services:\n  - { name: web, vip: \"fd00::100\", port: 80, forwarding: dsr, "
				 "backends: [{ address: 10.1.0.11 }] }\n",
	  { "t.yaml:4:74: backend 10.1.0.11 is IPv4 but vip fd00::100 is IPv6, only tunnel forwarding mixes families" } },
	{ "undefined neighbor port", PORTS "neighbors:\n  - { address: 10.0.0.2, mac: \"02:00:00:00:00:02\", port: lan }\n",
	  { "t.yaml:4:58: port: undefined port 'lan'" } },
	{ "duplicate neighbor",
	  PORTS "neighbors:\n  - { address: 10.0.0.2, mac: \"02:00:00:00:00:02\", port: wan }\n"
	  "  - { address: 10.0.0.2, mac: \"02:00:00:00:00:03\", port: wan }\n",
	  { "t.yaml:5:5: duplicate neighbor 10.0.0.2 on port 'wan', first at 4:5" } },
	{ NULL, NULL, { NULL } },
};

static void
test_problem_table(void)
{
	CU_ASSERT(cc_expect_problem_table(problem_cases) >= 25);
}

/* One mistake per kind in one file: each is reported, in file order, nothing stops early. */
/* Like Kubernetes probes and HAProxy: a probe may take its whole interval. */
static void
test_health_timeout_equal_to_interval(void)
{
	struct lp_config *c = cc_parse_ok(SVC(", healthCheck: { type: tcp, interval: 1, timeout: 1 }"));

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->services[0].health.timeout_ms, 1000);
	CU_ASSERT_EQUAL(c->services[0].health.interval_ms, 1000);
	lp_config_free(c);
}

static void
test_many_problems_at_once(void)
{
	static const char yaml[] =
		"ports:\n"
		"  - name: wan\n"
		"    device: net_null0\n"
		"    address: 10.0.0.300/24\n"
		"    mtu: 100\n"
		"  - name: wan\n"
		"    devise: net_null1\n"
		"neighbors:\n"
		"  - { address: 10.1.0.11, mac: \"02:00:00:00:01:0b\", port: lan }\n"
		"services:\n"
		"  - name: web\n"
		"    vip: 10.0.0.100\n"
		"    port: 80\n"
		"    scheduler: round-robin\n"
		"    healthCheck: { type: tcp, interval: 1, timeout: 1.5 }\n"
		"    backends:\n"
		"      - { address: 10.1.0.11, port: 8080 }\n"
		"      - { address: 10.1.0.11, port: 8080, weigth: 3 }\n"
		"  - name: api\n"
		"    vip: 10.0.0.100\n"
		"    port: 80\n"
		"  - name: v6\n"
		"    vip: 10.0.0.101\n"
		"    port: 443\n"
		"    backends:\n"
		"      - { address: \"fd00::11\" }\n";
	static const char *const expect[] = {
		"t.yaml:4:14: address: expected an IP address or prefix, got '10.0.0.300/24'",
		"t.yaml:5:10: mtu: 100 is out of range 576..9000",
		"t.yaml:6:5: missing key 'device' in port",
		"t.yaml:6:5: missing key 'address' in port",
		"t.yaml:6:11: duplicate port name 'wan', first at 2:11",
		"t.yaml:7:5: unknown key 'devise' in port, did you mean 'device'?",
		"t.yaml:9:59: port: undefined port 'lan'",
		"t.yaml:14:16: scheduler: expected one of maglev, wrr, least_conn, got 'round-robin'",
		"t.yaml:15:53: healthCheck timeout 1.5s must not exceed interval 1s",
		"t.yaml:18:9: duplicate backend 10.1.0.11:8080, first at 17:9",
		"t.yaml:18:43: unknown key 'weigth' in backend, did you mean 'weight'?",
		"t.yaml:20:10: service 'api' clashes with service 'web' on 10.0.0.100:80/TCP",
		"t.yaml:26:9: backend fd00::11 is IPv6 but vip 10.0.0.101 is IPv4, only tunnel forwarding mixes families",
		NULL,
	};

	cc_expect_problems("many problems", yaml, expect);
}

/* Thousands of mistakes: the first CFG_DIAG_MAX are listed, the rest counted. */
static void
test_problem_cap(void)
{
	size_t len = 0, cap = 64 * 1024;
	char *yaml = malloc(cap);
	struct lp_diag d = { 0 };

	CU_ASSERT_FATAL(yaml != NULL);
	len += (size_t)snprintf(yaml + len, cap - len, PORTS "services:\n");
	for (int i = 0; i < 250; i++)
		len += (size_t)snprintf(yaml + len, cap - len, "  - { name: s%d, vip: 10.0.0.100, port: 0 }\n", i);
	CU_ASSERT_PTR_NULL(lp_config_parse(yaml, len, "t.yaml", &d));
	CU_ASSERT_EQUAL_FATAL(d.n, 201);
	CU_ASSERT_STRING_EQUAL(d.msg[0], "t.yaml:4:40: port: 0 is out of range 1..65535");
	CU_ASSERT_STRING_EQUAL(d.msg[199], "t.yaml:203:42: port: 0 is out of range 1..65535");
	CU_ASSERT_STRING_EQUAL(d.msg[200], "t.yaml: 50 more problems not listed");
	lp_diag_clear(&d);
	free(yaml);
}

/* More backends than maglevSize slots: the table could not hold them. */
static void
test_maglev_smaller_than_backends(void)
{
	size_t len = 0, cap = 32 * 1024;
	char *yaml = malloc(cap);
	struct lp_diag d = { 0 };
	const char *expect[] = { "t.yaml:4:5: maglevSize 251 is smaller than the 252 backends", NULL };

	CU_ASSERT_FATAL(yaml != NULL);
	len += (size_t)snprintf(yaml + len, cap - len,
				PORTS "services:\n  - name: big\n    vip: 10.0.0.100\n    port: 80\n"
				      "    maglevSize: 251\n    backends:\n");
	for (int i = 0; i < 252; i++)
		len += (size_t)snprintf(yaml + len, cap - len, "      - { address: 10.1.%d.%d }\n", i / 200,
					i % 200 + 1);
	CU_ASSERT_PTR_NULL(lp_config_parse(yaml, len, "t.yaml", &d));
	if (!cc_diag_is("maglev size", &d, expect))
		CU_FAIL("maglevSize smaller than the backends");
	lp_diag_clear(&d);
	free(yaml);
}

/* Aliases must not let a few kilobytes expand into millions of backends. */
static void
test_alias_expansion_bounded(void)
{
	size_t len = 0, cap = 256 * 1024;
	char *yaml = malloc(cap);
	struct lp_diag d = { 0 };

	CU_ASSERT_FATAL(yaml != NULL);
	len += (size_t)snprintf(yaml + len, cap - len, PORTS "services:\n  - &s\n    name: s\n    vip: 10.0.0.100\n"
							   "    port: 80\n    backends:\n");
	for (int i = 0; i < 2000; i++)
		len += (size_t)snprintf(yaml + len, cap - len, "      - { address: 10.1.%d.%d }\n", i / 200,
					i % 200 + 1);
	for (int i = 0; i < 600; i++)
		len += (size_t)snprintf(yaml + len, cap - len, "  - *s\n");
	CU_ASSERT_PTR_NULL(lp_config_parse(yaml, len, "t.yaml", &d));
	CU_ASSERT_EQUAL_FATAL(d.n, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.msg[0], "document too large: more than 1048576 nodes once aliases are expanded"));
	lp_diag_clear(&d);
	free(yaml);
}

/* ---- loading files ---- */

static void
test_load_missing_file(void)
{
	struct lp_diag d = { 0 };

	errno = 0;
	CU_ASSERT_PTR_NULL(lp_config_load("/nonexistent/limpet.yaml", &d));
	CU_ASSERT_EQUAL(errno, ENOENT);
	CU_ASSERT_EQUAL_FATAL(d.n, 1);
	CU_ASSERT_STRING_EQUAL(d.msg[0], "/nonexistent/limpet.yaml: cannot open: no such file or directory");
	lp_diag_clear(&d);

	CU_ASSERT_PTR_NULL(lp_config_load("/", &d));
	CU_ASSERT_EQUAL(errno, EISDIR);
	CU_ASSERT_EQUAL_FATAL(d.n, 1);
	CU_ASSERT_STRING_EQUAL(d.msg[0], "/: not a regular file (a directory), not read");
	lp_diag_clear(&d);
}

static void
test_load_file(void)
{
	char path[] = "/tmp/test_config_XXXXXX";
	struct lp_diag d = { 0 };
	struct lp_config *c;
	char line[256], expect[256];
	int fd = mkstemp(path);
	FILE *f;

	CU_ASSERT_FATAL(fd >= 0);
	f = fdopen(fd, "w");
	CU_ASSERT_FATAL(f != NULL);
	fputs(full_yaml, f);
	fclose(f);
	c = lp_config_load(path, &d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(d.n, 0);
	CU_ASSERT_STRING_EQUAL(c->path, path);
	CU_ASSERT_EQUAL(lp_config_summary(c, line, sizeof(line)), 0);
	snprintf(expect, sizeof(expect), "%s: ok: 2 ports, 2 services, 4 backends, 1 neighbor", path);
	CU_ASSERT_STRING_EQUAL(line, expect);
	CU_ASSERT_EQUAL(lp_config_summary(c, line, 10), -ENOSPC);
	CU_ASSERT_EQUAL(strlen(line), 9);
	lp_config_free(c);

	/* a problem in a file names the file */
	f = fopen(path, "w");
	CU_ASSERT_FATAL(f != NULL);
	fputs("ports: []\n", f);
	fclose(f);
	CU_ASSERT_PTR_NULL(lp_config_load(path, &d));
	snprintf(expect, sizeof(expect), "%s:1:8: at least one port is required", path);
	CU_ASSERT_EQUAL_FATAL(d.n, 1);
	CU_ASSERT_STRING_EQUAL(d.msg[0], expect);
	lp_diag_clear(&d);
	unlink(path);
}

/* ---- writing ---- */

static void
test_round_trip(void)
{
	struct lp_config *c = cc_parse_ok(full_yaml), *d;

	CU_ASSERT_FATAL(c != NULL);
	cc_check_round_trip(c, NULL);
	/* defaults only */
	d = cc_parse_ok(PORTS);
	CU_ASSERT_FATAL(d != NULL);
	cc_check_round_trip(d, NULL);
	lp_config_free(d);
	/* every optional setting away from its default, odd doubles included */
	c->services[1].bounded_load = 1.1;
	c->services[1].affinity_timeout_s = 1;
	c->services[1].prefix_v6 = 0;
	c->services[1].maglev_size = 655373;
	c->services[1].health.type = LP_HEALTH_NONE;
	c->services[1].health.port = 7;
	c->services[1].health.interval_ms = 3601;
	c->services[1].health.timeout_ms = 100;
	c->services[0].health.interval_ms = 3600000;
	c->services[0].rebalance = LP_REBALANCE_OFF;
	c->services[0].rebalance_rate = 1000000;
	memset(&c->ports[0].gateway4, 0, sizeof(c->ports[0].gateway4));
	CU_ASSERT_EQUAL(lp_config_validate(c, NULL), 0);
	cc_check_round_trip(c, NULL);
	lp_config_free(c);
}

static void
test_write_rejects_bad_neighbor(void)
{
	struct lp_config *c = cc_parse_ok(full_yaml);
	FILE *f = fopen("/dev/null", "w");

	CU_ASSERT_FATAL(c != NULL && f != NULL);
	c->neighbors[0].port = 2;
	CU_ASSERT_EQUAL(lp_config_write(c, f), -EINVAL);
	fclose(f);
	lp_config_free(c);
}

/* ---- configs in memory ---- */

/* A valid config built the way the CLI builds one: one port, one service, one backend. */
static struct lp_config *
build(void)
{
	struct lp_config *c = lp_config_new();

	CU_ASSERT_FATAL(c != NULL);
	c->ports = calloc(1, sizeof(*c->ports));
	c->services = calloc(2, sizeof(*c->services));
	c->neighbors = calloc(1, sizeof(*c->neighbors));
	CU_ASSERT_FATAL(c->ports != NULL && c->services != NULL && c->neighbors != NULL);
	c->n_ports = 1;
	lp_config_port_init(&c->ports[0]);
	strcpy(c->ports[0].name, "wan");
	strcpy(c->ports[0].device, "net_null0");
	c->ports[0].n_addrs = 1;
	c->ports[0].addr[0] = cc_ip("10.0.0.1");
	c->ports[0].prefix[0] = 24;
	c->n_neighbors = 1;
	c->neighbors[0].addr = cc_ip("10.0.0.2");
	c->neighbors[0].mac.b[0] = 2;
	c->n_services = 1;
	lp_config_service_init(&c->services[0]);
	strcpy(c->services[0].name, "web");
	c->services[0].vip = cc_ip("10.0.0.100");
	c->services[0].port = 80;
	c->services[0].backends = calloc(2, sizeof(struct lp_cfg_backend));
	CU_ASSERT_FATAL(c->services[0].backends != NULL);
	c->services[0].n_backends = 1;
	lp_config_backend_init(&c->services[0].backends[0]);
	c->services[0].backends[0].addr = cc_ip("10.1.0.11");
	c->services[0].backends[0].port = 8080;
	return c;
}

static void
test_new_and_init_defaults(void)
{
	struct lp_config *c = lp_config_new();
	struct lp_config *parsed = cc_parse_ok(PORTS "services:\n  - { name: web, vip: 10.0.0.100, port: 80 }\n");
	struct lp_cfg_service s;
	struct lp_cfg_backend b;
	struct lp_cfg_port p;

	CU_ASSERT_FATAL(c != NULL && parsed != NULL);
	CU_ASSERT_PTR_NULL(c->path);
	CU_ASSERT_EQUAL(c->n_ports + c->n_services + c->n_neighbors, 0);
	/* the in-memory defaults are the parser's defaults (test_defaults checks their values) */
	CU_ASSERT_EQUAL(memcmp(&c->flows, &parsed->flows, sizeof(c->flows)), 0);
	CU_ASSERT_EQUAL(c->affinity_capacity, parsed->affinity_capacity);
	lp_config_service_init(&s);
	strcpy(s.name, "web");
	s.vip = cc_ip("10.0.0.100");
	s.port = 80;
	s.pos = parsed->services[0].pos;
	s.health.pos = parsed->services[0].health.pos;
	CU_ASSERT_EQUAL(memcmp(&s, &parsed->services[0], sizeof(s)), 0);
	lp_config_port_init(&p);
	CU_ASSERT_EQUAL(p.mtu, 1500);
	CU_ASSERT_FALSE(p.has_mac);
	lp_config_backend_init(&b);
	CU_ASSERT_EQUAL(b.weight, 1);
	CU_ASSERT_EQUAL(b.state, LP_BACKEND_UP);
	lp_config_free(c);
	lp_config_free(parsed);
}

static void
test_dup_is_deep(void)
{
	struct lp_config *c = cc_parse_ok(full_yaml), *d;

	CU_ASSERT_FATAL(c != NULL);
	d = lp_config_dup(c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT(lp_config_equal(c, d));
	CU_ASSERT_STRING_EQUAL(d->path, "t.yaml");
	CU_ASSERT(d->path != c->path && d->ports != c->ports && d->services != c->services &&
		  d->neighbors != c->neighbors && d->services[0].backends != c->services[0].backends);
	d->services[0].backends[0].weight = 9;
	CU_ASSERT_EQUAL(c->services[0].backends[0].weight, 2);
	CU_ASSERT_FALSE(lp_config_equal(c, d));
	lp_config_free(c);
	lp_config_free(d);
}

/* Mutation n of a copy of full_yaml's config, one field each; false for the last, which changes no setting. */
static bool
mutate_config(struct lp_config *d, unsigned int n)
{
	struct lp_cfg_port *p = &d->ports[0];
	struct lp_cfg_service *s = &d->services[0];

	switch (n) {
	case 0: p->name[0] = 'x'; break;
	case 1: p->device[0] = 'x'; break;
	case 2: p->n_addrs = 1; break;
	case 3: p->addr[1].a[15] ^= 1; break;
	case 4: p->prefix[1] = 65; break;
	case 5: p->gateway4.a[3] ^= 1; break;
	case 6: p->gateway6.family = 0; break;
	case 7: p->mtu = 1500; break;
	case 8: p->has_mac = false; break;
	case 9: p->mac.b[5] ^= 1; break;
	case 10: d->neighbors[0].addr.a[3] ^= 1; break;
	case 11: d->neighbors[0].mac.b[5] ^= 1; break;
	case 12: d->neighbors[0].port = 0; break;
	case 13: d->flows.capacity++; break;
	case 14: d->flows.tcp_timeout++; break;
	case 15: d->flows.tcp_syn_timeout++; break;
	case 16: d->flows.tcp_fin_timeout++; break;
	case 17: d->flows.udp_timeout++; break;
	case 18: d->affinity_capacity++; break;
	case 19: s->name[0] = 'x'; break;
	case 20: s->vip.a[3] ^= 1; break;
	case 21: s->port++; break;
	case 22: s->target_port++; break;
	case 23: s->proto = IPPROTO_UDP; break;
	case 24: s->forwarding = LP_FWD_NAT; break;
	case 25: s->scheduler = LP_SCHED_MAGLEV; break;
	case 26: s->affinity = false; break;
	case 27: s->affinity_timeout_s++; break;
	case 28: s->prefix_v4++; break;
	case 29: s->prefix_v6++; break;
	case 30: s->bounded_load = 1.5; break;
	case 31: s->slow_start_s++; break;
	case 32: s->drain_timeout_s++; break;
	case 33: s->rebalance = LP_REBALANCE_OFF; break;
	case 34: s->rebalance_rate++; break;
	case 35: s->maglev_size = 257; break;
	case 36: s->tunnel_src4.a[1] ^= 1; break;
	case 37: s->tunnel_src4_len++; break;
	case 38: s->tunnel_src6.a[1] ^= 1; break;
	case 39: s->tunnel_src6_len++; break;
	case 40: s->health.type = LP_HEALTH_TCP; break;
	case 41: s->health.port++; break;
	case 42: s->health.path[1] = 'x'; break;
	case 43: s->health.interval_ms++; break;
	case 44: s->health.timeout_ms++; break;
	case 45: s->health.rise++; break;
	case 46: s->health.fall++; break;
	case 47: s->n_backends--; break;
	case 48: s->backends[1].addr.a[15] ^= 1; break;
	case 49: s->backends[1].port++; break;
	case 50: s->backends[1].weight++; break;
	case 51: s->backends[1].state = LP_BACKEND_UP; break;
	case 52: d->n_ports = 1; d->n_neighbors = 0; break;
	case 53: d->n_neighbors = 0; break;
	case 54: free(d->services[1].backends); d->n_services = 1; break;
	default:
		/* positions and the path are not settings */
		p->pos.line++;
		s->pos.col++;
		s->backends[0].pos.line++;
		free(d->path);
		d->path = NULL;
		return false;
	}
	return true;
}

/* lp_config_equal() must see a change in any field, or round-trip tests prove nothing. */
static void
test_equal_sees_every_field(void)
{
	struct lp_config *c = cc_parse_ok(full_yaml);

	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT_EQUAL(cc_check_mutations(c, mutate_config), 55);
	lp_config_free(c);
}

static void change_nothing(struct lp_config *c) { (void)c; }
static void change_no_ports(struct lp_config *c) { c->n_ports = 0; c->n_neighbors = 0; }
static void change_mtu(struct lp_config *c) { c->ports[0].mtu = 100; }
static void change_name(struct lp_config *c) { strcpy(c->ports[0].name, "a b"); }
static void change_prefix(struct lp_config *c) { c->ports[0].prefix[0] = 33; }
static void change_weight(struct lp_config *c) { c->services[0].backends[0].weight = 70000; }
static void change_state(struct lp_config *c) { c->services[0].backends[0].state = 9; }
static void change_proto(struct lp_config *c) { c->services[0].proto = 132; }
static void change_maglev(struct lp_config *c) { c->services[0].maglev_size = 65536; }
static void change_bounded(struct lp_config *c) { c->services[0].bounded_load = 0.5; }
static void change_vip(struct lp_config *c) { c->services[0].vip.family = 0; }
static void change_neighbor_port(struct lp_config *c) { c->neighbors[0].port = 5; }
static void change_health(struct lp_config *c) { c->services[0].health.timeout_ms = 2001; }
static void change_health_equal(struct lp_config *c) { c->services[0].health.timeout_ms = 2000; }
static void change_health_path(struct lp_config *c) { strcpy(c->services[0].health.path, "/x"); }
static void change_interval(struct lp_config *c) { c->services[0].health.interval_ms = 50; }
static void change_tunnel(struct lp_config *c) { c->services[0].tunnel_src4.a[3] = 1; }
static void change_flows(struct lp_config *c) { c->flows.udp_timeout = 0; c->affinity_capacity = 1; }

static void
change_family(struct lp_config *c)
{
	c->services[0].backends[0].addr = cc_ip("fd00::11");
}

static void
change_dup_backend(struct lp_config *c)
{
	c->services[0].n_backends = 2;
	c->services[0].backends[1] = c->services[0].backends[0];
}

static void
change_dup_service(struct lp_config *c)
{
	c->n_services = 2;
	c->services[1] = c->services[0];
	c->services[1].backends = NULL;
	c->services[1].n_backends = 0;
}

static void
change_clash(struct lp_config *c)
{
	change_dup_service(c);
	strcpy(c->services[1].name, "web2");
}

static void
change_clash_and_scheduler(struct lp_config *c)
{
	change_clash(c);
	c->services[1].scheduler = 7;
}

static const struct cc_memory_case memory_cases[] = {
	{ "valid", change_nothing, { NULL } },
	{ "no ports", change_no_ports, { "config: at least one port is required" } },
	{ "mtu", change_mtu, { "config: port 'wan': mtu: 100 is out of range 576..9000" } },
	{ "name", change_name,
	  { "config: port 'a b': name: may hold only letters, digits, '-', '_' and '.'" } },
	{ "prefix", change_prefix, { "config: port 'wan': prefix: 33 is out of range 0..32" } },
	{ "weight", change_weight,
	  { "config: service 'web' backend 10.1.0.11:8080: weight: 70000 is out of range 0..65535" } },
	{ "state", change_state,
	  { "config: service 'web' backend 10.1.0.11:8080: state: expected one of up, draining, down, got 9" } },
	{ "protocol", change_proto, { "config: service 'web': protocol: expected one of TCP, UDP, got 132" } },
	{ "maglev", change_maglev, { "config: service 'web': maglevSize: 65536 is not prime" } },
	{ "bounded load", change_bounded,
	  { "config: service 'web': boundedLoad: 0.5 is out of range, expected 0 (off) or more than 1 up to 100" } },
	{ "vip unset", change_vip, { "config: service 'web': vip: not set" } },
	{ "neighbor port", change_neighbor_port, { "config: neighbor 10.0.0.2: port: no port with index 5" } },
	{ "health timing", change_health,
	  { "config: service 'web': healthCheck timeout 2.001s must not exceed interval 2s" } },
	{ "health timeout equal to interval", change_health_equal, { NULL } },
	{ "health path", change_health_path, { "config: service 'web': path: only http health checks use a path" } },
	{ "health interval", change_interval, { "config: service 'web': interval: 0.05 is out of range 0.1..3600" } },
	{ "tunnel source", change_tunnel, { "config: service 'web': tunnelSource: 172.16.0.1/16 has host bits set" } },
	{ "tables", change_flows,
	  { "config: flows: udp_timeout: 0 is out of range 1..86400",
	    "config: affinity: capacity: 1 is out of range 16..1073741824" } },
	{ "family", change_family,
	  { "config: service 'web': backend fd00::11 is IPv6 but vip 10.0.0.100 is IPv4, only tunnel forwarding mixes families" } },
	{ "duplicate backend", change_dup_backend, { "config: service 'web': duplicate backend 10.1.0.11:8080" } },
	{ "duplicate service", change_dup_service,
	  { "config: duplicate service name 'web'", "config: service 'web' clashes with service 'web' on 10.0.0.100:80/TCP" } },
	{ "vip clash", change_clash, { "config: service 'web2' clashes with service 'web' on 10.0.0.100:80/TCP" } },
	/* a bad field the clash check does not use hides no clash */
	{ "vip clash and bad scheduler", change_clash_and_scheduler,
	  { "config: service 'web2': scheduler: expected one of maglev, wrr, least_conn, got 7",
	    "config: service 'web2' clashes with service 'web' on 10.0.0.100:80/TCP" } },
	{ NULL, NULL, { NULL } },
};

static void
test_validate_in_memory(void)
{
	cc_expect_memory_table(memory_cases, build);
}

/* A config read from a file and then changed points at the file's lines. */
static void
test_validate_keeps_positions(void)
{
	struct lp_config *c = cc_parse_ok(full_yaml);
	static const char *const expect[] = {
		"t.yaml:16:5: maglevSize: 1048576 is out of range 251..655373",
		"t.yaml:36:9: duplicate backend 10.1.0.11:8080, first at 35:9",
		NULL,
	};

	CU_ASSERT_FATAL(c != NULL);
	c->services[0].maglev_size = 65536 * 16;
	c->services[0].backends[1] = c->services[0].backends[0];
	c->services[0].backends[1].pos = (struct lp_cfg_pos){ 36, 9 };
	cc_expect_validate("positions", c, expect);
	lp_config_free(c);
}

static void
test_round_trip_built(void)
{
	struct lp_config *c = build();

	CU_ASSERT_EQUAL(lp_config_validate(c, NULL), 0);
	cc_check_round_trip(c, NULL);
	lp_config_free(c);
}

static void
test_enum_names(void)
{
	CU_ASSERT_STRING_EQUAL(lp_fwd_mode_name(LP_FWD_NAT), "nat");
	CU_ASSERT_STRING_EQUAL(lp_fwd_mode_name(LP_FWD_DSR), "dsr");
	CU_ASSERT_STRING_EQUAL(lp_fwd_mode_name(LP_FWD_TUNNEL), "tunnel");
	CU_ASSERT_STRING_EQUAL(lp_fwd_mode_name(7), "unknown");
	CU_ASSERT_STRING_EQUAL(lp_sched_name(LP_SCHED_MAGLEV), "maglev");
	CU_ASSERT_STRING_EQUAL(lp_sched_name(LP_SCHED_WRR), "wrr");
	CU_ASSERT_STRING_EQUAL(lp_sched_name(LP_SCHED_LEAST_CONN), "least_conn");
	CU_ASSERT_STRING_EQUAL(lp_backend_state_name(LP_BACKEND_UP), "up");
	CU_ASSERT_STRING_EQUAL(lp_backend_state_name(LP_BACKEND_DRAINING), "draining");
	CU_ASSERT_STRING_EQUAL(lp_backend_state_name(LP_BACKEND_DOWN), "down");
	CU_ASSERT_STRING_EQUAL(lp_proto_name(IPPROTO_TCP), "TCP");
	CU_ASSERT_STRING_EQUAL(lp_proto_name(IPPROTO_UDP), "UDP");
	CU_ASSERT_STRING_EQUAL(lp_proto_name(IPPROTO_SCTP), "unknown");
	CU_ASSERT_STRING_EQUAL(lp_rebalance_name(LP_REBALANCE_IDLE), "idle");
	CU_ASSERT_STRING_EQUAL(lp_rebalance_name(LP_REBALANCE_OFF), "none");
	CU_ASSERT_STRING_EQUAL(lp_health_type_name(LP_HEALTH_HTTP), "http");
	CU_ASSERT_STRING_EQUAL(lp_health_type_name(LP_HEALTH_NONE), "none");
}

static void
test_diag(void)
{
	struct lp_diag d = { 0 };
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	for (int i = 0; i < 40; i++)
		CU_ASSERT_EQUAL(lp_diag_add(&d, "line %d", i), 0);
	CU_ASSERT_EQUAL(d.n, 40);
	CU_ASSERT_STRING_EQUAL(d.msg[39], "line 39");
	f = open_memstream(&text, &len);
	CU_ASSERT_FATAL(f != NULL);
	lp_diag_clear(&d);
	lp_diag_add(&d, "a");
	lp_diag_add(&d, "b");
	lp_diag_print(&d, f);
	fclose(f);
	CU_ASSERT_STRING_EQUAL(text, "a\nb\n");
	free(text);
	lp_diag_clear(&d);
	CU_ASSERT_EQUAL(d.n, 0);
	CU_ASSERT_PTR_NULL(d.msg);
}

int
main(void)
{
	static const struct lp_test_case parse_cases[] = {
		{ "full example", test_full_example },
		{ "defaults", test_defaults },
		{ "alternate forms", test_alternate_forms },
		{ NULL, NULL },
	};
	static const struct lp_test_case problem_tests[] = {
		{ "one case per kind of problem", test_problem_table },
		{ "many problems at once", test_many_problems_at_once },
		{ "health timeout equal to interval", test_health_timeout_equal_to_interval },
		{ "problem cap", test_problem_cap },
		{ "maglev size smaller than backends", test_maglev_smaller_than_backends },
		{ "alias expansion bounded", test_alias_expansion_bounded },
		{ NULL, NULL },
	};
	static const struct lp_test_case load_cases[] = {
		{ "missing file", test_load_missing_file },
		{ "file", test_load_file },
		{ NULL, NULL },
	};
	static const struct lp_test_case write_cases[] = {
		{ "round trip", test_round_trip },
		{ "round trip of a built config", test_round_trip_built },
		{ "bad neighbor index", test_write_rejects_bad_neighbor },
		{ NULL, NULL },
	};
	static const struct lp_test_case memory_tests[] = {
		{ "new and init defaults", test_new_and_init_defaults },
		{ "dup is deep", test_dup_is_deep },
		{ "equal sees every field", test_equal_sees_every_field },
		{ "validate in memory", test_validate_in_memory },
		{ "validate keeps positions", test_validate_keeps_positions },
		{ "enum names", test_enum_names },
		{ "diag", test_diag },
		{ NULL, NULL },
	};
	static const struct lp_test_suite suites[] = {
		{ "config_parse", NULL, NULL, parse_cases },
		{ "config_problems", NULL, NULL, problem_tests },
		{ "config_load", NULL, NULL, load_cases },
		{ "config_write", NULL, NULL, write_cases },
		{ "config_memory", NULL, NULL, memory_tests },
		{ NULL, NULL, NULL, NULL },
	};

	return lp_test_run(suites);
}
