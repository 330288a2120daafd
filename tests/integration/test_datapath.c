/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The data path end to end in one process: two workers polling ring ports,
 * packets injected on the queue RSS would pick, outputs checked byte by
 * byte. Properties: ClientIP affinity pins each client to one backend
 * whatever worker its connections land on; placement spreads evenly; NAT
 * replies are translated on any worker; DSR and tunnel outputs are exact;
 * flows survive unrelated backend changes; removing a backend moves only
 * its own clients; bindings expire.
 */
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "itest.h"
#include "lp_test.h"

#define N_CLIENTS 1000
#define N_CONNS 10
#define N_BACKENDS 4

static const char config_yaml[] =
	"ports:\n"
	"  - { name: wan, device: net_ring_wan, address: [ 10.0.0.1/24, \"fd00::1/64\" ],\n"
	"      gateway: [ 10.0.0.254, \"fd00::fe\" ] }\n"
	"  - { name: lan, device: net_ring_lan, address: [ 10.1.0.1/24, \"fd00:1::1/64\" ] }\n"
	"neighbors:\n"
	"  - { address: 10.0.0.254, mac: \"02:00:00:00:00:fe\", port: wan }\n"
	"  - { address: \"fd00::fe\", mac: \"02:00:00:00:06:fe\", port: wan }\n"
	"  - { address: \"fd00:1::11\", mac: \"02:00:00:00:06:11\", port: lan }\n"
	"  - { address: 10.1.0.254, mac: \"02:00:00:00:01:fe\", port: lan }\n"

	"  - { address: 10.1.0.11, mac: \"02:00:00:00:01:0b\", port: lan }\n"
	"  - { address: 10.1.0.12, mac: \"02:00:00:00:01:0c\", port: lan }\n"
	"  - { address: 10.1.0.13, mac: \"02:00:00:00:01:0d\", port: lan }\n"
	"  - { address: 10.1.0.14, mac: \"02:00:00:00:01:0e\", port: lan }\n"
	"  - { address: 10.1.0.15, mac: \"02:00:00:00:01:0f\", port: lan }\n"
	"  - { address: 10.1.0.16, mac: \"02:00:00:00:01:10\", port: lan }\n"
	"routes:\n"
	"  - { prefix: 10.50.0.0/16, via: 10.1.0.254, port: lan }\n"
	"flows: { capacity: 200000 }\n"
	"services:\n"
	"  - name: sticky\n"
	"    vip: 10.0.0.100\n"
	"    port: 80\n"
	"    forwarding: nat\n"
	"    sessionAffinity: ClientIP\n"
	"    boundedLoad: 1.25\n"
	"    backends:\n"
	"      - { address: 10.1.0.11, port: 8080 }\n"
	"      - { address: 10.1.0.12, port: 8080 }\n"
	"      - { address: 10.1.0.13, port: 8080 }\n"
	"      - { address: 10.1.0.14, port: 8080 }\n"
	"  - name: plain\n"
	"    vip: 10.0.0.101\n"
	"    port: 80\n"
	"    forwarding: nat\n"
	"    backends:\n"
	"      - { address: 10.1.0.11, port: 8081 }\n"
	"      - { address: 10.1.0.12, port: 8081 }\n"
	"      - { address: 10.1.0.13, port: 8081 }\n"
	"      - { address: 10.1.0.14, port: 8081 }\n"
	"  - name: direct\n"
	"    vip: 10.0.0.102\n"
	"    port: 80\n"
	"    forwarding: dsr\n"
	"    backends: [ { address: 10.1.0.11, port: 80 } ]\n"
	"  - name: tun\n"
	"    vip: 10.0.0.103\n"
	"    port: 80\n"
	"    forwarding: tunnel\n"
	"    tunnelSource: 172.31.0.0/16\n"
	"    backends: [ { address: 10.1.0.11, port: 80 } ]\n"
	"  - name: short\n"
	"    vip: 10.0.0.104\n"
	"    port: 80\n"
	"    sessionAffinity: ClientIP\n"
	"    sessionAffinityConfig: { clientIP: { timeoutSeconds: 1 } }\n"
	"    backends: [ { address: 10.1.0.11, port: 8080 }, { address: 10.1.0.12, port: 8080 } ]\n"
	"  - { name: web6, vip: \"fd00::100\", port: 80, sessionAffinity: ClientIP,\n"
	"      backends: [ { address: \"fd00:1::11\", port: 8080 } ] }\n"
	"  - { name: routed, vip: 10.0.0.105, port: 80, backends: [ { address: 10.50.0.5, port: 8080 } ] }\n"
	"  - { name: tun6, vip: \"fd00::103\", port: 80, forwarding: tunnel, tunnelSource: \"fd00:7c::/64\",\n"
	"      backends: [ { address: \"fd00:1::11\", port: 80 } ] }\n"
	"  - { name: reuse, vip: 10.0.0.107, port: 80,\n"
	"      backends: [ { address: 10.1.0.11, port: 8083 }, { address: 10.1.0.12, port: 8083 } ] }\n"
	"  - { name: again, vip: 10.0.0.108, port: 80,\n"
	"      backends: [ { address: 10.1.0.11, port: 8084 }, { address: 10.1.0.12, port: 8084 } ] }\n"
	"  - { name: grow, vip: 10.0.0.106, port: 80, sessionAffinity: ClientIP,\n"
	"      backends: [ { address: 10.1.0.11, port: 8082 }, { address: 10.1.0.12, port: 8082 } ] }\n";

static struct itest_port wan, lan;
static struct lp_ctl *ctl;
static uint8_t (*out)[2048];
static uint32_t *lens;
/* backend (last address byte - 11) of each sticky client after test 1 */
static int sticky_of[N_CLIENTS];

/* Checksums of an output frame against a full recomputation. */
static void
assert_checksums(const uint8_t *f, uint32_t len, struct lp_pkt_meta *m)
{
	uint16_t stored;

	CU_ASSERT_FATAL(lp_pkt_parse(f, len, m) == LP_DROP_NONE);
	if (m->key.family == LP_AF_INET)
		CU_ASSERT(lp_csum_fold(lp_csum_partial(f + m->l3_off, (size_t)(f[m->l3_off] & 0xf) * 4, 0)) == 0xffff);
	if (m->cls == LP_PKT_L4 && m->frag == LP_FRAG_NONE) {
		memcpy(&stored, f + m->l4_off + (m->key.proto == IPPROTO_TCP ? 16 : 6), 2);
		CU_ASSERT(stored == lp_l4_cksum(f, m));
	}
}

static int
suite_init(void)
{
	if (itest_port_create(&wan, "wan", 2) != 0 || itest_port_create(&lan, "lan", 2) != 0)
		return -1;
	ctl = itest_start(config_yaml);
	if (ctl == NULL)
		return -1;
	out = calloc(N_CLIENTS * N_CONNS + 64, sizeof(*out));
	lens = calloc(N_CLIENTS * N_CONNS + 64, sizeof(*lens));
	return out == NULL || lens == NULL ? -1 : 0;
}

static int
suite_cleanup(void)
{
	itest_stop(ctl);
	free(out);
	free(lens);
	return 0;
}

static void
send_syns(const char *vip, unsigned int clients, unsigned int conns, uint16_t sport0)
{
	uint8_t f[256];
	char ip[32];

	for (unsigned int i = 0; i < clients; i++)
		for (unsigned int j = 0; j < conns; j++) {
			int len;

			itest_client_ip(ip, sizeof(ip), 16, i);
			len = itest_frame(f, sizeof(f), NULL, ip, (uint16_t)(sport0 + j), vip, 80, IPPROTO_TCP,
					  LP_TCP_SYN);
			CU_ASSERT_FATAL(len > 0);
			CU_ASSERT_FATAL(itest_inject(&wan, f, (uint32_t)len) == 0);
		}
}

/*
 * Service sticky has bounded load on: a client's later connections would
 * land wherever the load allows at that moment (or, without the binding,
 * wherever Maglev puts their 5-tuple), so one backend per client holds
 * only through the binding. The binding counters say it too: one new
 * binding per client, a hit for every later connection.
 */
static void
test_affinity_pins_client_on_every_worker(void)
{
	unsigned int total = N_CLIENTS * N_CONNS, got, per[N_BACKENDS] = { 0 };
	const struct lp_stats *w0 = lp_ctl_worker_stats(ctl, 0), *w1 = lp_ctl_worker_stats(ctl, 1);
	uint64_t rx0 = w0->c[LP_WC_rx_pkts], rx1 = w1->c[LP_WC_rx_pkts];
	uint64_t hit0 = w0->c[LP_WC_aff_hit] + w1->c[LP_WC_aff_hit];
	struct lp_service_view v;

	for (unsigned int i = 0; i < N_CLIENTS; i++)
		sticky_of[i] = -1;
	send_syns("10.0.0.100", N_CLIENTS, N_CONNS, 20000);
	got = itest_collect(ctl, &lan, total, 30000, out, lens);
	CU_ASSERT_FATAL(got == total);
	for (unsigned int k = 0; k < got; k++) {
		struct lp_pkt_meta m;
		unsigned int ci, be;

		assert_checksums(out[k], lens[k], &m);
		CU_ASSERT(m.key.dport == htons(8080));
		ci = itest_client_index(m.key.src);
		be = m.key.dst[3] - 11u;
		CU_ASSERT_FATAL(ci < N_CLIENTS && be < N_BACKENDS);
		if (sticky_of[ci] < 0)
			sticky_of[ci] = (int)be;
		/* every connection of a client, on whichever worker, to one backend */
		CU_ASSERT(sticky_of[ci] == (int)be);
	}
	/* Both workers carried the clients' connections. */
	CU_ASSERT(w0->c[LP_WC_rx_pkts] - rx0 > total / 4);
	CU_ASSERT(w1->c[LP_WC_rx_pkts] - rx1 > total / 4);
	for (unsigned int i = 0; i < N_CLIENTS; i++)
		per[sticky_of[i]]++;
	printf("\n    clients per backend:");
	for (unsigned int b = 0; b < N_BACKENDS; b++) {
		printf(" %u", per[b]);
		CU_ASSERT(per[b] >= N_CLIENTS / N_BACKENDS * 85 / 100 && per[b] <= N_CLIENTS / N_BACKENDS * 115 / 100);
		/* bounded load: at most ceil(1.25 * mean) bindings each */
		CU_ASSERT(per[b] <= (N_CLIENTS * 5 + 4 * N_BACKENDS - 1) / (4 * N_BACKENDS));
	}
	CU_ASSERT_FATAL(lp_ctl_service_view_by_name(ctl, "sticky", &v) == 0);
	printf("\n    bindings: %" PRIu64 " new, %" PRIu64 " spilled, %" PRIu64 " hits\n", v.aff[LP_AFF_NEW],
	       v.aff[LP_AFF_SPILLED], w0->c[LP_WC_aff_hit] + w1->c[LP_WC_aff_hit] - hit0);
	CU_ASSERT(v.aff[LP_AFF_NEW] == N_CLIENTS);
	CU_ASSERT(v.aff[LP_AFF_SPILLED] > 0);
	CU_ASSERT(w0->c[LP_WC_aff_hit] + w1->c[LP_WC_aff_hit] - hit0 == N_CLIENTS * (N_CONNS - 1));
}

/* The backend Maglev now chooses for a new client at @client of service @vip. */
static unsigned int
maglev_choice(const char *vip, const char *client)
{
	struct lp_dp *dp = lp_ctl_dp(ctl);
	const struct lp_svc_index *ix = lp_svc_index_get(&dp->svcs);
	const struct lp_svc *s;
	struct lp_aff_key k;
	struct lp_ip v, c;
	uint32_t id;

	lp_ip_parse(vip, &v);
	lp_ip_parse(client, &c);
	id = lp_idx_lookup(ix, LP_IDX_VIP, v.a, htons(80), IPPROTO_TCP);
	CU_ASSERT_FATAL(id != LP_IDX_NONE);
	s = lp_svc_get(&dp->svcs, id);
	CU_ASSERT_FATAL(s != NULL);
	lp_aff_key_make(&k, s->id, c.family, c.a, s->prefix_v4);
	return s->be[s->mg_id[lp_maglev_lookup(s->mg, lp_aff_client_hash(&k))]].addr[3];
}

/* First connections of @n clients (net 17) to service grow; their backends' last byte in @be. */
static void
grow_connections(unsigned int first, unsigned int n, uint16_t sport, uint8_t *be)
{
	uint8_t f[256];
	char ip[32];

	for (unsigned int i = first; i < first + n; i++) {
		int len;

		itest_client_ip(ip, sizeof(ip), 17, i);
		len = itest_frame(f, sizeof(f), NULL, ip, sport, "10.0.0.106", 80, IPPROTO_TCP, LP_TCP_SYN);
		CU_ASSERT_FATAL(itest_inject(&wan, f, (uint32_t)len) == 0);
	}
	CU_ASSERT_FATAL(itest_collect(ctl, &lan, n, 10000, out, lens) == n);
	for (unsigned int k = 0; k < n; k++) {
		struct lp_pkt_meta m;

		CU_ASSERT_FATAL(lp_pkt_parse(out[k], lens[k], &m) == LP_DROP_NONE);
		be[itest_client_index(m.key.src) - first] = m.key.dst[3];
	}
}

/* One packet of each of @n flows (net 18, port @sport) to service reuse; backends' last byte in @be. */
static void
reuse_packets(unsigned int n, uint16_t sport, uint8_t flags, uint8_t *be)
{
	uint8_t f[256];
	char ip[32];

	for (unsigned int i = 0; i < n; i++) {
		int len;

		itest_client_ip(ip, sizeof(ip), 18, i);
		len = itest_frame(f, sizeof(f), NULL, ip, sport, "10.0.0.107", 80, IPPROTO_TCP, flags);
		CU_ASSERT_FATAL(itest_inject(&wan, f, (uint32_t)len) == 0);
	}
	CU_ASSERT_FATAL(itest_collect(ctl, &lan, n, 10000, out, lens) == n);
	for (unsigned int k = 0; k < n; k++) {
		struct lp_pkt_meta m;

		CU_ASSERT_FATAL(lp_pkt_parse(out[k], lens[k], &m) == LP_DROP_NONE);
		be[itest_client_index(m.key.src)] = m.key.dst[3];
	}
}

/*
 * A backend id is reused by the next backend added; its generation tells
 * them apart. The flows of the removed backend are placed afresh (each
 * counted as re-chosen), never silently carried to the newcomer in its
 * slot; the other backend's flows stay.
 */
static void
test_removed_backends_flows_do_not_follow_its_id(void)
{
	enum { N = 200 };
	static uint8_t first[N], later[N];
	struct lp_cfg_backend nb = { .port = 8083, .weight = 1 };
	const struct lp_stats *w0 = lp_ctl_worker_stats(ctl, 0), *w1 = lp_ctl_worker_stats(ctl, 1);
	struct lp_diag d = { 0 };
	unsigned int on12 = 0;
	uint64_t moved;

	reuse_packets(N, 42000, LP_TCP_SYN, first);
	moved = w0->c[LP_WC_flow_rechosen] + w1->c[LP_WC_flow_rechosen];
	lp_ip_parse("10.1.0.12", &nb.addr);
	CU_ASSERT_FATAL(lp_ctl_backend_del(ctl, "reuse", &nb.addr, 8083, &d) == 0);
	lp_ip_parse("10.1.0.15", &nb.addr);	/* takes .12's id */
	CU_ASSERT_FATAL(lp_ctl_backend_add(ctl, "reuse", &nb, &d) == 0);
	lp_diag_clear(&d);
	reuse_packets(N, 42000, LP_TCP_ACK, later);
	for (unsigned int i = 0; i < N; i++) {
		on12 += first[i] == 12;
		if (first[i] == 11)
			CU_ASSERT(later[i] == 11);
	}
	moved = w0->c[LP_WC_flow_rechosen] + w1->c[LP_WC_flow_rechosen] - moved;
	printf("\n    %u flows on the removed backend, %" PRIu64 " re-chosen\n", on12, moved);
	CU_ASSERT(on12 > N / 4);
	CU_ASSERT(moved == on12);
}

/* One packet with @flags of each of @n flows (net 20) to service again. */
static void
again_packets(unsigned int n, uint8_t flags)
{
	uint8_t f[256];
	char ip[32];

	for (unsigned int i = 0; i < n; i++) {
		int len;

		itest_client_ip(ip, sizeof(ip), 20, i);
		len = itest_frame(f, sizeof(f), NULL, ip, 43000, "10.0.0.108", 80, IPPROTO_TCP, flags);
		CU_ASSERT_FATAL(itest_inject(&wan, f, (uint32_t)len) == 0);
	}
	CU_ASSERT_FATAL(itest_collect(ctl, &lan, n, 10000, NULL, NULL) == n);
}

/*
 * A service deleted and created again (the same name, VIP and likely the
 * same id, a new generation) starts without the old one's flows: their
 * packets are placed afresh (an ACK then goes out without state), not
 * taken for flows of the new service.
 */
static void
test_recreated_service_starts_without_old_flows(void)
{
	enum { N = 100 };
	const struct lp_stats *w0 = lp_ctl_worker_stats(ctl, 0), *w1 = lp_ctl_worker_stats(ctl, 1);
	struct lp_config *cfg = itest_config(config_yaml);
	const struct lp_cfg_service *again = NULL;
	struct lp_diag d = { 0 };
	uint64_t hit, stateless;

	CU_ASSERT_FATAL(cfg != NULL);
	for (uint32_t i = 0; i < cfg->n_services; i++)
		if (strcmp(cfg->services[i].name, "again") == 0)
			again = &cfg->services[i];
	CU_ASSERT_FATAL(again != NULL);
	again_packets(N, LP_TCP_SYN);
	CU_ASSERT_FATAL(lp_ctl_service_del(ctl, "again", &d) == 0);
	CU_ASSERT_FATAL(lp_ctl_service_add(ctl, again, &d) == 0);
	lp_diag_print(&d, stderr);
	lp_diag_clear(&d);
	lp_config_free(cfg);
	hit = w0->c[LP_WC_flow_hit] + w1->c[LP_WC_flow_hit];
	stateless = w0->c[LP_WC_flow_stateless] + w1->c[LP_WC_flow_stateless];
	again_packets(N, LP_TCP_ACK);
	CU_ASSERT(w0->c[LP_WC_flow_hit] + w1->c[LP_WC_flow_hit] == hit);
	CU_ASSERT(w0->c[LP_WC_flow_stateless] + w1->c[LP_WC_flow_stateless] == stateless + N);
}

/*
 * Scale-out keeps sessions: clients bound before a backend was added keep
 * their backend, also those for whom Maglev now chooses the new one (new
 * clients do get it, at once).
 */
static void
test_affinity_survives_backend_add(void)
{
	enum { N = 300 };
	static uint8_t first[N], second[N], fresh[N];
	struct lp_cfg_backend nb = { .port = 8082, .weight = 1 };
	struct lp_diag d = { 0 };
	unsigned int would_move = 0, to_new = 0;
	char ip[32];

	grow_connections(0, N, 41000, first);
	lp_ip_parse("10.1.0.13", &nb.addr);
	CU_ASSERT_FATAL(lp_ctl_backend_add(ctl, "grow", &nb, &d) == 0);
	lp_diag_clear(&d);
	grow_connections(0, N, 41001, second);
	for (unsigned int i = 0; i < N; i++) {
		itest_client_ip(ip, sizeof(ip), 17, i);
		if (maglev_choice("10.0.0.106", ip) == 13) {
			would_move++;
			CU_ASSERT(second[i] == first[i]);
		}
		CU_ASSERT(second[i] == first[i] && second[i] != 13);
	}
	/* New clients reach the new backend by Maglev's share. */
	grow_connections(N, N, 41000, fresh);
	for (unsigned int i = 0; i < N; i++)
		to_new += fresh[i] == 13;
	printf("\n    %u of %u bound clients would now be placed on the new backend; %u of %u new clients are\n",
	       would_move, N, to_new, N);
	CU_ASSERT(would_move >= N / 5);
	CU_ASSERT(to_new >= N / 5);
}

static void
test_connections_spread_without_affinity(void)
{
	unsigned int total = N_CLIENTS * N_CONNS, got, per[N_BACKENDS] = { 0 };

	send_syns("10.0.0.101", N_CLIENTS, N_CONNS, 30000);
	got = itest_collect(ctl, &lan, total, 30000, out, lens);
	CU_ASSERT_FATAL(got == total);
	for (unsigned int k = 0; k < got; k++) {
		struct lp_pkt_meta m;

		assert_checksums(out[k], lens[k], &m);
		CU_ASSERT(m.key.dport == htons(8081));
		per[m.key.dst[3] - 11u]++;
	}
	printf("\n    connections per backend:");
	for (unsigned int b = 0; b < N_BACKENDS; b++) {
		printf(" %u", per[b]);
		CU_ASSERT(per[b] >= total / N_BACKENDS * 85 / 100 && per[b] <= total / N_BACKENDS * 115 / 100);
	}
	printf("\n");
}

static void
test_nat_replies_translated_on_any_worker(void)
{
	static const struct lp_mac gw = { { 0x02, 0, 0, 0, 0, 0xfe } };
	unsigned int n = 200, got;
	uint8_t f[256];
	char cip[32], bip[32];

	/* Replies of the sticky clients' first connections, deliberately put
	 * on both queues regardless of RSS. */
	for (unsigned int i = 0; i < n; i++) {
		int len;

		itest_client_ip(cip, sizeof(cip), 16, i);
		snprintf(bip, sizeof(bip), "10.1.0.%d", 11 + sticky_of[i]);
		len = itest_frame(f, sizeof(f), NULL, bip, 8080, cip, 20000, IPPROTO_TCP, LP_TCP_SYN | LP_TCP_ACK);
		CU_ASSERT_FATAL(len > 0);
		CU_ASSERT_FATAL(itest_inject_q(&lan, i % 2, f, (uint32_t)len) == 0);
	}
	got = itest_collect(ctl, &wan, n, 10000, out, lens);
	CU_ASSERT_FATAL(got == n);
	for (unsigned int k = 0; k < got; k++) {
		struct lp_pkt_meta m;
		static const uint8_t vip[4] = { 10, 0, 0, 100 };

		assert_checksums(out[k], lens[k], &m);
		CU_ASSERT(memcmp(m.key.src, vip, 4) == 0);
		CU_ASSERT(m.key.sport == htons(80));
		CU_ASSERT(m.key.dport == htons(20000));
		CU_ASSERT(itest_client_index(m.key.dst) < n);
		CU_ASSERT(memcmp(out[k], gw.b, 6) == 0);
		CU_ASSERT(m.ttl == 63);
	}
}

static void
test_dsr_output_bytes(void)
{
	static const uint8_t be_mac[6] = { 0x02, 0, 0, 0, 0x01, 0x0b };
	struct rte_ether_addr lan_mac;
	uint8_t f[256];
	int len;

	rte_eth_macaddr_get(lan.port_id, &lan_mac);
	len = itest_frame(f, sizeof(f), NULL, "172.16.9.9", 4444, "10.0.0.102", 80, IPPROTO_TCP, LP_TCP_SYN);
	CU_ASSERT_FATAL(itest_inject(&wan, f, (uint32_t)len) == 0);
	CU_ASSERT_FATAL(itest_collect(ctl, &lan, 1, 5000, out, lens) == 1);
	CU_ASSERT_FATAL(lens[0] == (uint32_t)len);
	CU_ASSERT(memcmp(out[0], be_mac, 6) == 0);
	CU_ASSERT(memcmp(out[0] + 6, lan_mac.addr_bytes, 6) == 0);
	/* Only TTL and the header checksum change in the IP packet. */
	f[14 + 8]--;
	f[14 + 10] = f[14 + 11] = 0;
	{
		uint16_t ck = lp_ipv4_cksum(f + 14);

		memcpy(f + 14 + 10, &ck, 2);
	}
	CU_ASSERT(memcmp(out[0] + 12, f + 12, (size_t)len - 12) == 0);
}

static void
test_tunnel_output_bytes(void)
{
	static const uint8_t be_mac[6] = { 0x02, 0, 0, 0, 0x01, 0x0b };
	uint8_t f[256];
	uint32_t srcs[50];
	unsigned int distinct = 0;

	for (unsigned int i = 0; i < 50; i++) {
		char cip[32];
		int len;
		const uint8_t *o, *outer;

		itest_client_ip(cip, sizeof(cip), 16, 500 + i);
		len = itest_frame(f, sizeof(f), NULL, cip, 5555, "10.0.0.103", 80, IPPROTO_TCP, LP_TCP_SYN);
		CU_ASSERT_FATAL(itest_inject(&wan, f, (uint32_t)len) == 0);
		CU_ASSERT_FATAL(itest_collect(ctl, &lan, 1, 5000, out, lens) == 1);
		o = out[0];
		outer = o + 14;
		CU_ASSERT_FATAL(lens[0] == (uint32_t)len + 20);
		CU_ASSERT(memcmp(o, be_mac, 6) == 0);
		CU_ASSERT(o[12] == 0x08 && o[13] == 0x00);
		CU_ASSERT(outer[0] == 0x45);
		CU_ASSERT(outer[9] == 4);		/* IPIP */
		CU_ASSERT(outer[8] == 64);
		CU_ASSERT((outer[2] << 8 | outer[3]) == len - 14 + 20);
		CU_ASSERT(outer[12] == 172 && outer[13] == 31);
		CU_ASSERT(outer[16] == 10 && outer[17] == 1 && outer[18] == 0 && outer[19] == 11);
		CU_ASSERT(lp_csum_fold(lp_csum_partial(outer, 20, 0)) == 0xffff);
		memcpy(&srcs[i], outer + 12, 4);
		/* The inner packet is the client's, TTL one lower. */
		f[14 + 8]--;
		f[14 + 10] = f[14 + 11] = 0;
		{
			uint16_t ck = lp_ipv4_cksum(f + 14);

			memcpy(f + 14 + 10, &ck, 2);
		}
		CU_ASSERT(memcmp(o + 34, f + 14, (size_t)len - 14) == 0);
	}
	/* Clients spread over outer sources: the backend's RSS sees entropy. */
	for (unsigned int i = 0; i < 50; i++) {
		bool seen = false;

		for (unsigned int k = 0; k < i; k++)
			seen |= srcs[k] == srcs[i];
		distinct += !seen;
	}
	printf("\n    distinct outer sources for 50 clients: %u\n", distinct);
	CU_ASSERT(distinct >= 45);
}

/* Send one non-SYN packet of each of @n flows of service plain and return
 * their backends. */
static void
plain_backends(unsigned int n, uint16_t sport, int *be)
{
	uint8_t f[256];
	char cip[32];

	for (unsigned int i = 0; i < n; i++) {
		int len;

		itest_client_ip(cip, sizeof(cip), 16, i);
		len = itest_frame(f, sizeof(f), NULL, cip, sport, "10.0.0.101", 80, IPPROTO_TCP, LP_TCP_ACK);
		CU_ASSERT_FATAL(itest_inject(&wan, f, (uint32_t)len) == 0);
	}
	CU_ASSERT_FATAL(itest_collect(ctl, &lan, n, 10000, out, lens) == n);
	for (unsigned int k = 0; k < n; k++) {
		struct lp_pkt_meta m;

		CU_ASSERT_FATAL(lp_pkt_parse(out[k], lens[k], &m) == LP_DROP_NONE);
		be[itest_client_index(m.key.src)] = m.key.dst[3];
	}
}

static void
test_flow_survives_unrelated_snapshot_swaps(void)
{
	static int before[N_CLIENTS], after[N_CLIENTS];
	struct lp_cfg_backend nb = { .port = 8081, .weight = 1 };
	struct lp_diag d = { 0 };
	struct lp_ip a15, a16, a11;
	unsigned int n = 300;

	/* Flows of test 2 (sport 30000): their backends now. */
	plain_backends(n, 30000, before);
	lp_ip_parse("10.1.0.15", &a15);
	lp_ip_parse("10.1.0.16", &a16);
	lp_ip_parse("10.1.0.11", &a11);
	for (int round = 0; round < 20; round++) {
		nb.addr = round % 2 ? a16 : a15;
		CU_ASSERT(lp_ctl_backend_add(ctl, "plain", &nb, &d) == 0);
		CU_ASSERT(lp_ctl_backend_set_weight(ctl, "plain", &a11, 8081, 1 + round % 3, &d) == 0);
		CU_ASSERT(lp_ctl_backend_del(ctl, "plain", &nb.addr, 8081, &d) == 0);
	}
	lp_diag_print(&d, stderr);
	lp_diag_clear(&d);
	plain_backends(n, 30000, after);
	for (unsigned int i = 0; i < n; i++)
		CU_ASSERT(before[i] == after[i]);
}

static void
test_removed_backend_moves_only_its_clients(void)
{
	struct lp_diag d = { 0 };
	struct lp_ip gone;
	uint8_t f[256];
	char cip[32];
	unsigned int moved_to[N_BACKENDS] = { 0 }, victims = 0, got;

	lp_ip_parse("10.1.0.12", &gone);
	CU_ASSERT_FATAL(lp_ctl_backend_del(ctl, "sticky", &gone, 8080, &d) == 0);
	lp_diag_clear(&d);
	/* A new connection of every client, and a packet of its old flow. */
	for (unsigned int i = 0; i < N_CLIENTS; i++) {
		int len;

		itest_client_ip(cip, sizeof(cip), 16, i);
		len = itest_frame(f, sizeof(f), NULL, cip, 40000, "10.0.0.100", 80, IPPROTO_TCP, LP_TCP_SYN);
		CU_ASSERT_FATAL(itest_inject(&wan, f, (uint32_t)len) == 0);
		len = itest_frame(f, sizeof(f), NULL, cip, 20000, "10.0.0.100", 80, IPPROTO_TCP, LP_TCP_ACK);
		CU_ASSERT_FATAL(itest_inject(&wan, f, (uint32_t)len) == 0);
	}
	got = itest_collect(ctl, &lan, 2 * N_CLIENTS, 20000, out, lens);
	CU_ASSERT_FATAL(got == 2 * N_CLIENTS);
	{
		static int seen[N_CLIENTS];

		for (unsigned int i = 0; i < N_CLIENTS; i++)
			seen[i] = -1;
		for (unsigned int k = 0; k < got; k++) {
			struct lp_pkt_meta m;
			unsigned int ci;
			int be;

			CU_ASSERT_FATAL(lp_pkt_parse(out[k], lens[k], &m) == LP_DROP_NONE);
			ci = itest_client_index(m.key.src);
			be = m.key.dst[3] - 11;
			CU_ASSERT(be != 1);	/* nobody reaches the removed backend */
			if (sticky_of[ci] != 1)
				CU_ASSERT(be == sticky_of[ci]);	/* nobody else moved */
			/* old flow and new connection of a client agree */
			if (seen[ci] >= 0)
				CU_ASSERT(seen[ci] == be);
			seen[ci] = be;
		}
		for (unsigned int i = 0; i < N_CLIENTS; i++)
			if (sticky_of[i] == 1) {
				victims++;
				moved_to[seen[i]]++;
			}
	}
	printf("\n    clients of the removed backend: %u, now on .11/.13/.14: %u/%u/%u\n", victims, moved_to[0],
	       moved_to[2], moved_to[3]);
	CU_ASSERT(victims > 0);
	/* spread over the survivors, not piled on one */
	CU_ASSERT(moved_to[0] > 0 && moved_to[2] > 0 && moved_to[3] > 0);
	CU_ASSERT(moved_to[0] < victims * 2 / 3 && moved_to[2] < victims * 2 / 3 && moved_to[3] < victims * 2 / 3);
}

static int
count_binding(void *ctx, const struct lp_binding_view *b)
{
	(void)b;
	(*(int *)ctx)++;
	return 0;
}

static void
test_affinity_expires_after_timeout(void)
{
	struct lp_service_view v;
	struct lp_ip client;
	uint8_t f[256];
	int len, n = 0;
	uint64_t later;

	/* A completed handshake: the binding is confirmed (a bare SYN's would
	 * be provisional, and expire as `unconfirmed`). */
	len = itest_frame(f, sizeof(f), NULL, "172.16.200.7", 1234, "10.0.0.104", 80, IPPROTO_TCP, LP_TCP_SYN);
	CU_ASSERT_FATAL(itest_inject(&wan, f, (uint32_t)len) == 0);
	len = itest_frame(f, sizeof(f), NULL, "172.16.200.7", 1234, "10.0.0.104", 80, IPPROTO_TCP, LP_TCP_ACK);
	CU_ASSERT_FATAL(itest_inject(&wan, f, (uint32_t)len) == 0);
	CU_ASSERT_FATAL(itest_collect(ctl, &lan, 2, 5000, NULL, NULL) == 2);
	lp_ip_parse("172.16.200.7", &client);
	CU_ASSERT(lp_ctl_affinity_walk(ctl, "short", &client, count_binding, &n) == 1);
	CU_ASSERT(n == 1);
	/* Three seconds later (timeoutSeconds: 1): a full scan expires it. */
	later = rte_rdtsc() + 3 * rte_get_tsc_hz();
	for (int i = 0; i < 4000; i++)
		lp_ctl_poll(ctl, later);
	n = 0;
	CU_ASSERT(lp_ctl_affinity_walk(ctl, "short", &client, count_binding, &n) == 0);
	CU_ASSERT(lp_ctl_service_view_by_name(ctl, "short", &v) == 0);
	CU_ASSERT(v.aff[LP_AFF_CONFIRMED] == 1);
	CU_ASSERT(v.aff[LP_AFF_EXPIRED] == 1);
	CU_ASSERT(v.aff[LP_AFF_NEW] == 1);
}

static void
test_ipv6_nat_reply_and_tunnel(void)
{
	static const uint8_t be6[16] = { 0xfd, 0, 0, 1, [15] = 0x11 };
	static const uint8_t vip6[16] = { 0xfd, [14] = 0x01 };	/* fd00::100 */
	struct lp_pkt_meta m;
	uint8_t f[256];
	int len;

	/* NAT: client → VIP goes to the backend, addresses and checksum right. */
	len = itest_frame(f, sizeof(f), NULL, "fd00:99::7", 4321, "fd00::100", 80, IPPROTO_TCP, LP_TCP_SYN);
	CU_ASSERT_FATAL(len > 0 && itest_inject(&wan, f, (uint32_t)len) == 0);
	CU_ASSERT_FATAL(itest_collect(ctl, &lan, 1, 5000, out, lens) == 1);
	assert_checksums(out[0], lens[0], &m);
	CU_ASSERT(m.key.family == LP_AF_INET6);
	CU_ASSERT(memcmp(m.key.dst, be6, 16) == 0);
	CU_ASSERT(m.key.dport == htons(8080));
	CU_ASSERT(m.ttl == 63);
	CU_ASSERT(out[0][5] == 0x11);
	/* The reply goes back from the VIP to the IPv6 gateway. */
	len = itest_frame(f, sizeof(f), NULL, "fd00:1::11", 8080, "fd00:99::7", 4321, IPPROTO_TCP,
			  LP_TCP_SYN | LP_TCP_ACK);
	CU_ASSERT_FATAL(itest_inject_q(&lan, 1, f, (uint32_t)len) == 0);
	CU_ASSERT_FATAL(itest_collect(ctl, &wan, 1, 5000, out, lens) == 1);
	assert_checksums(out[0], lens[0], &m);
	CU_ASSERT(m.key.sport == htons(80));
	CU_ASSERT(memcmp(m.key.src, vip6, 16) == 0);
	CU_ASSERT(out[0][5] == 0xfe);
	/* IP6IP6: a 40-byte outer header from the tunnel prefix. */
	len = itest_frame(f, sizeof(f), NULL, "fd00:99::8", 4321, "fd00::103", 80, IPPROTO_TCP, LP_TCP_SYN);
	CU_ASSERT_FATAL(itest_inject(&wan, f, (uint32_t)len) == 0);
	CU_ASSERT_FATAL(itest_collect(ctl, &lan, 1, 5000, out, lens) == 1);
	CU_ASSERT_FATAL(lens[0] == (uint32_t)len + 40);
	CU_ASSERT(out[0][12] == 0x86 && out[0][13] == 0xdd);
	CU_ASSERT(out[0][14 + 6] == 41);	/* next header: IPv6 */
	CU_ASSERT(out[0][14 + 8] == 0xfd && out[0][14 + 9] == 0x00 && out[0][14 + 10] == 0x00 &&
		  out[0][14 + 11] == 0x7c);
	CU_ASSERT(memcmp(out[0] + 14 + 24, be6, 16) == 0);
	f[14 + 7]--;	/* inner hop limit */
	CU_ASSERT(memcmp(out[0] + 14 + 40, f + 14, (size_t)len - 14) == 0);
}

static void
test_backend_behind_a_static_route(void)
{
	static const uint8_t router[6] = { 0x02, 0, 0, 0, 0x01, 0xfe };
	struct lp_pkt_meta m;
	uint8_t f[256];
	int len;

	/* 10.50.0.5 is not on-link: the route's next hop on `lan` gets it,
	 * although `wan` has the default gateway. */
	len = itest_frame(f, sizeof(f), NULL, "172.16.3.3", 3333, "10.0.0.105", 80, IPPROTO_TCP, LP_TCP_SYN);
	CU_ASSERT_FATAL(itest_inject(&wan, f, (uint32_t)len) == 0);
	CU_ASSERT_FATAL(itest_collect(ctl, &lan, 1, 5000, out, lens) == 1);
	assert_checksums(out[0], lens[0], &m);
	CU_ASSERT(memcmp(out[0], router, 6) == 0);
	CU_ASSERT(m.key.dst[0] == 10 && m.key.dst[1] == 50 && m.key.dst[3] == 5);
}

int
main(int argc, char **argv)
{
	static const struct lp_test_case cases[] = {
		{ "affinity pins each client on every worker", test_affinity_pins_client_on_every_worker },
		{ "connections spread without affinity", test_connections_spread_without_affinity },
		{ "NAT replies translated on any worker", test_nat_replies_translated_on_any_worker },
		{ "DSR output bytes", test_dsr_output_bytes },
		{ "tunnel output bytes", test_tunnel_output_bytes },
		{ "flow survives unrelated snapshot swaps", test_flow_survives_unrelated_snapshot_swaps },
		{ "removed backend moves only its clients", test_removed_backend_moves_only_its_clients },
		{ "affinity expires after its timeout", test_affinity_expires_after_timeout },
		{ "IPv6 NAT, reply and tunnel", test_ipv6_nat_reply_and_tunnel },
		{ "affinity survives a backend add", test_affinity_survives_backend_add },
		{ "a removed backend's flows do not follow its id", test_removed_backends_flows_do_not_follow_its_id },
		{ "a re-created service starts without the old one's flows",
		  test_recreated_service_starts_without_old_flows },
		{ "backend behind a static route", test_backend_behind_a_static_route },
		{ NULL, NULL },
	};
	static const struct lp_test_suite suites[] = {
		{ "datapath", suite_init, suite_cleanup, cases },
		{ NULL, NULL, NULL, NULL },
	};

	(void)argc;
	return itest_main(argv[0], 2, suites);
}
