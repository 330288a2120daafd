/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The kernel exception path (ports[].kernelInterface) with two workers over
 * net_ring ports, in a network namespace of the test's own (root; exit 77
 * otherwise): the kernel interface's setup; a datagram for limpet's address
 * reaches a kernel socket; the kernel's own ARP leaves through the port and
 * the answer is copied back, so a datagram the kernel sends leaves through
 * the port to the right MAC; the interface's IPv6 link-local address is
 * answered for (ND) and reaches the kernel; TCP in the health-check port range that is no
 * probe reply reaches the kernel (which answers RST); VIP traffic, and
 * traffic of a port without a kernel interface, never go there; a flood
 * while the control thread does not poll is cut at the worker's ring
 * (kernel_ring_full) while VIP traffic goes on; a kernel interface that
 * refuses packets (down) counts kernel_tx_fail; a kernel interface deleted
 * behind limpet's back is made again (also after its name was taken for a
 * while); the workers' counters add up with to_kernel.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "itest.h"
#include "lp_test.h"
#include "lp_worker.h"

#define KIF "lpx-wan"
#define KLL "fe80::ff:fe00:1"	/* modified EUI-64 of the port's MAC, 02:00:00:00:00:01 */
#define ROUTER_LL "fe80::fe"

static const char config_yaml[] =
	"ports:\n"
	"  - { name: wan, device: net_ring_wan, address: [10.0.0.1/24, \"fd00:a::1/64\"], mac: \"02:00:00:00:00:01\",\n"
	"      kernelInterface: " KIF " }\n"
	"  - { name: lan, device: net_ring_lan, address: 10.1.0.1/24 }\n"
	"neighbors:\n"
	"  - { address: 10.1.0.11, mac: \"02:00:00:00:01:0b\", port: lan }\n"
	"services:\n"
	"  - { name: web, vip: 10.0.0.100, port: 80, forwarding: dsr, backends: [ { address: 10.1.0.11 } ] }\n"
	"announce: { table: 100 }\n";

static const struct lp_mac router_mac = { { 0x02, 0, 0, 0, 0, 0xfe } };

static struct itest_port wan, lan;
static struct lp_ctl *ctl;
static struct lp_mac wan_mac, lan_mac;

static uint64_t
counter(enum lp_wc k)
{
	struct lp_stats s;

	lp_ctl_stats(ctl, &s);
	return s.c[k];
}

static uint64_t
drops(enum lp_drop r)
{
	struct lp_stats s;

	lp_ctl_stats(ctl, &s);
	return s.drop[r];
}

static int
sh(const char *cmd)
{
	int rc = system(cmd);

	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static int
suite_init(void)
{
	if (itest_port_create(&wan, "wan", 2) != 0 || itest_port_create(&lan, "lan", 2) != 0)
		return -1;
	ctl = itest_start(config_yaml);
	if (ctl == NULL)
		return -1;
	wan_mac = lp_ctl_dp(ctl)->port[0].mac;
	lan_mac = lp_ctl_dp(ctl)->port[1].mac;
	return 0;
}

static int
suite_cleanup(void)
{
	itest_stop(ctl);
	return 0;
}

static int
udp_socket(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = 0, .tv_usec = 1000 };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	inet_pton(AF_INET, "10.0.0.1", &a.sin_addr);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		perror("udp socket");
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Poll the control thread until the socket has a datagram (or @p ms pass). */
static ssize_t
recv_polling(int fd, char *buf, size_t len, unsigned int ms)
{
	for (unsigned int i = 0; i < ms; i++) {
		ssize_t n = recv(fd, buf, len, MSG_DONTWAIT);

		if (n >= 0)
			return n;
		itest_poll(ctl, 1);
	}
	return -1;
}

static void
test_interface(void)
{
	char cmd[640];

	/* The VIP is announced on it (announce: table 100). */
	for (int i = 0; i < 200 && sh("ip -o route show table 100 2>/dev/null | grep -q '^10.0.0.100 dev " KIF "'") != 0; i++)
		itest_poll(ctl, 10);
	CU_ASSERT(sh("ip -o route show table 100 2>/dev/null | grep -q '^10.0.0.100 dev " KIF "'") == 0);

	CU_ASSERT(if_nametoindex(KIF) != 0);
	snprintf(cmd, sizeof(cmd),
		 "ip -o link show " KIF " | grep -q 'mtu 1500.*state UNKNOWN\\|mtu 1500.*state UP' && "
		 "ip -o link show " KIF " | grep -qi 'link/ether %02x:%02x:%02x:%02x:%02x:%02x' && "
		 "ip -o -4 addr show dev " KIF " | grep -q 'inet 10.0.0.1/24' && "
		 "ip -o -6 addr show dev " KIF " scope global | grep -q 'inet6 fd00:a::1/64' && "
		 /* the link-local address limpet answers ND for, and no other */
		 "[ \"$(ip -o -6 addr show dev " KIF " scope link | awk '{ print $4 }')\" = " KLL "/64 ]",
		 wan_mac.b[0], wan_mac.b[1], wan_mac.b[2], wan_mac.b[3], wan_mac.b[4], wan_mac.b[5]);
	CU_ASSERT(sh(cmd) == 0);
	if (sh(cmd) != 0)
		sh("ip addr show " KIF);
}

static void
test_to_kernel_socket(void)
{
	uint8_t f[256];
	char buf[64];
	int fd = udp_socket(5000), len;
	uint64_t before = counter(LP_WC_to_kernel);

	CU_ASSERT_FATAL(fd >= 0);
	len = itest_frame(f, sizeof(f), &wan_mac, "10.0.0.50", 4000, "10.0.0.1", 5000, IPPROTO_UDP, 0);
	CU_ASSERT_FATAL(len > 0);
	CU_ASSERT(itest_inject(&wan, f, (uint32_t)len) == 0);
	CU_ASSERT(recv_polling(fd, buf, sizeof(buf), 2000) >= 0);
	CU_ASSERT(counter(LP_WC_to_kernel) == before + 1);
	close(fd);
}

/* The kernel resolves the router with its own ARP through limpet, then its
 * datagram leaves through the port to the router's MAC. */
static void
test_from_kernel(void)
{
	static uint8_t out[64][2048];
	uint32_t lens[64], n, got_arp = 0;
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(6000) };
	uint8_t f[256], router[4] = { 10, 0, 0, 254 }, me[4] = { 10, 0, 0, 1 };
	int fd = udp_socket(5001), len;
	bool sent = false;

	CU_ASSERT_FATAL(fd >= 0);
	itest_drain(&wan);
	inet_pton(AF_INET, "10.0.0.254", &to.sin_addr);
	CU_ASSERT(sendto(fd, "hello", 5, 0, (struct sockaddr *)&to, sizeof(to)) == 5);
	for (int tries = 0; tries < 20 && got_arp == 0; tries++) {
		n = itest_collect(ctl, &wan, 1, 100, out, lens);
		for (uint32_t i = 0; i < n; i++)
			if (lens[i] >= 42 && out[i][12] == 0x08 && out[i][13] == 0x06 && out[i][21] == 1 &&
			    memcmp(out[i] + 38, router, 4) == 0 && memcmp(out[i] + 6, wan_mac.b, 6) == 0)
				got_arp++;
	}
	CU_ASSERT(got_arp >= 1);
	/* The router answers the kernel's request. */
	len = lp_pkt_build_arp(f, sizeof(f), LP_ARP_REPLY, &router_mac, router, &wan_mac, me);
	CU_ASSERT_FATAL(len > 0);
	CU_ASSERT(itest_inject(&wan, f, (uint32_t)len) == 0);
	for (int tries = 0; tries < 20 && !sent; tries++) {
		n = itest_collect(ctl, &wan, 1, 100, out, lens);
		for (uint32_t i = 0; i < n; i++)
			if (lens[i] >= 47 && out[i][12] == 0x08 && out[i][13] == 0x00 && out[i][23] == IPPROTO_UDP &&
			    memcmp(out[i], router_mac.b, 6) == 0 && memcmp(out[i] + 6, wan_mac.b, 6) == 0 &&
			    memcmp(out[i] + 42, "hello", 5) == 0)
				sent = true;
	}
	CU_ASSERT(sent);
	CU_ASSERT(counter(LP_WC_from_kernel) >= 2);
	close(fd);
}

/* TCP to a port of the probes' range that is no probe reply: limpet's
 * health checker does not claim it, the kernel answers with a RST. */
static void
test_health_range_to_kernel(void)
{
	static uint8_t out[16][2048];
	uint32_t lens[16], n;
	uint8_t f[256];
	bool rst = false;
	int len = itest_frame(f, sizeof(f), &wan_mac, "10.0.0.254", 179, "10.0.0.1", 45000, IPPROTO_TCP,
			      LP_TCP_SYN);

	itest_drain(&wan);
	CU_ASSERT(itest_inject(&wan, f, (uint32_t)len) == 0);
	for (int tries = 0; tries < 20 && !rst; tries++) {
		n = itest_collect(ctl, &wan, 1, 100, out, lens);
		for (uint32_t i = 0; i < n; i++)
			if (lens[i] >= 54 && out[i][23] == IPPROTO_TCP && (out[i][47] & LP_TCP_RST))
				rst = true;
	}
	CU_ASSERT(rst);
}

/* The kernel interface's IPv6 link-local address: limpet answers the
 * router's neighbor solicitation for it, and a datagram to it (BGP over
 * link-local would be TCP) reaches a kernel socket bound to it. */
static void
test_link_local(void)
{
	static uint8_t out[16][2048];
	uint32_t lens[16], n;
	struct lp_nd_spec ns = { .src_mac = router_mac };
	struct lp_ip ll, router;
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(5003) };
	struct timeval tv = { .tv_sec = 0, .tv_usec = 1000 };
	uint8_t f[256];
	char buf[64];
	bool na = false;
	uint64_t before = counter(LP_WC_to_kernel);
	int len, fd, rc;

	CU_ASSERT_FATAL(lp_ip_parse(KLL, &ll) == 0 && lp_ip_parse(ROUTER_LL, &router) == 0);
	memcpy(ns.src, router.a, 16);
	memcpy(ns.target, ll.a, 16);	/* dst :: : the target's solicited-node group */
	len = lp_pkt_build_ns(f, sizeof(f), &ns);
	CU_ASSERT_FATAL(len > 0);
	itest_drain(&wan);
	CU_ASSERT(itest_inject(&wan, f, (uint32_t)len) == 0);
	for (int tries = 0; tries < 20 && !na; tries++) {
		n = itest_collect(ctl, &wan, 1, 100, out, lens);
		for (uint32_t i = 0; i < n; i++)
			if (lens[i] >= 78 && out[i][12] == 0x86 && out[i][13] == 0xdd && out[i][20] == IPPROTO_ICMPV6 &&
			    out[i][54] == 136 && memcmp(out[i] + 62, ll.a, 16) == 0 &&
			    memcmp(out[i] + 22, ll.a, 16) == 0 && memcmp(out[i], router_mac.b, 6) == 0 &&
			    memcmp(out[i] + 6, wan_mac.b, 6) == 0)
				na = true;
	}
	CU_ASSERT(na);

	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	CU_ASSERT_FATAL(fd >= 0);
	memcpy(&a.sin6_addr, ll.a, 16);
	a.sin6_scope_id = if_nametoindex(KIF);
	rc = bind(fd, (struct sockaddr *)&a, sizeof(a));
	if (rc != 0) {
		perror("bind " KLL);	/* e.g. still tentative: show why */
		sh("ip -6 addr show dev " KIF);
	}
	CU_ASSERT_FATAL(rc == 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	len = itest_frame(f, sizeof(f), &wan_mac, ROUTER_LL, 4000, KLL, 5003, IPPROTO_UDP, 0);
	CU_ASSERT_FATAL(len > 0);
	CU_ASSERT(itest_inject(&wan, f, (uint32_t)len) == 0);
	CU_ASSERT(recv_polling(fd, buf, sizeof(buf), 2000) >= 0);
	CU_ASSERT(counter(LP_WC_to_kernel) == before + 1);
	close(fd);
}

/* VIP traffic and a port without a kernel interface never reach the kernel. */
static void
test_not_to_kernel(void)
{
	uint8_t f[256];
	uint64_t before = counter(LP_WC_to_kernel);
	int len;

	itest_drain(&lan);
	len = itest_frame(f, sizeof(f), &wan_mac, "10.0.0.60", 4001, "10.0.0.100", 80, IPPROTO_TCP, LP_TCP_SYN);
	CU_ASSERT(itest_inject(&wan, f, (uint32_t)len) == 0);
	CU_ASSERT(itest_collect(ctl, &lan, 1, 2000, NULL, NULL) == 1);
	len = itest_frame(f, sizeof(f), &lan_mac, "10.1.0.50", 4000, "10.1.0.1", 5000, IPPROTO_UDP, 0);
	CU_ASSERT(itest_inject(&lan, f, (uint32_t)len) == 0);
	itest_poll(ctl, 50);
	CU_ASSERT(counter(LP_WC_to_kernel) == before);
}

/* 1M SYNs to TCP 179 are too many for a test; 20000 while the control
 * thread does not poll fill the rings (1024 per worker): the rest is
 * dropped and counted at the workers, and VIP SYNs sent among them are
 * all forwarded. */
static void
test_flood(void)
{
	uint8_t f[256];
	char ip[32];
	uint64_t full = drops(LP_DROP_KERNEL_RING_FULL), fwd, queued = counter(LP_WC_to_kernel), q_now;
	uint32_t vip = 0, got = 0;
	uint64_t deadline;

	itest_drain(&lan);
	for (uint32_t i = 0; i < 20000; i++) {
		int len;

		itest_client_ip(ip, sizeof(ip), 30, i % 4000);
		len = itest_frame(f, sizeof(f), &wan_mac, ip, (uint16_t)(1024 + i), "10.0.0.1", 179, IPPROTO_TCP,
				  LP_TCP_SYN);
		while (itest_inject(&wan, f, (uint32_t)len) != 0)
			rte_pause();
		if (i % 100 == 0) {
			len = itest_frame(f, sizeof(f), &wan_mac, ip, 5555, "10.0.0.100", 80, IPPROTO_TCP, LP_TCP_SYN);
			while (itest_inject(&wan, f, (uint32_t)len) != 0)
				rte_pause();
			vip++;
		}
	}
	/* Read lan's rings without polling the control thread. */
	deadline = rte_get_tsc_cycles() + 5 * rte_get_tsc_hz();
	while (got < vip && rte_get_tsc_cycles() < deadline) {
		for (uint32_t q = 0; q < lan.nq; q++) {
			struct rte_mbuf *m;

			while (rte_ring_dequeue(lan.tx[q], (void **)&m) == 0) {
				got++;
				rte_pktmbuf_free(m);
			}
		}
	}
	/* The SYNs after the last VIP SYN may still be on their way through
	 * the workers: wait (bounded) until every one is accounted for. */
	do {
		fwd = drops(LP_DROP_KERNEL_RING_FULL) - full;
		q_now = counter(LP_WC_to_kernel) - queued;
	} while (q_now + fwd < 20000 && rte_get_tsc_cycles() < deadline);
	queued = q_now;
	printf("\n    flood: 20000 SYNs to 10.0.0.1:179: %lu queued for the kernel, %lu dropped kernel_ring_full; "
	       "%u of %u VIP SYNs forwarded\n", (unsigned long)queued, (unsigned long)fwd, got, vip);
	/* Each SYN either waited in a ring (two workers, 1024 each) or was dropped and counted. */
	CU_ASSERT(queued + fwd == 20000);
	CU_ASSERT(queued <= 2 * 1024);
	CU_ASSERT(got == vip);
	itest_poll(ctl, 200);	/* the control thread passes what the rings held */
	itest_assert_workers_balance(ctl);
}

static void
test_tx_fail(void)
{
	uint8_t f[256];
	uint64_t before = drops(LP_DROP_KERNEL_TX_FAIL);
	int len = itest_frame(f, sizeof(f), &wan_mac, "10.0.0.50", 4000, "10.0.0.1", 5000, IPPROTO_UDP, 0);

	CU_ASSERT_FATAL(sh("ip link set " KIF " down") == 0);
	for (int i = 0; i < 10; i++)
		CU_ASSERT(itest_inject(&wan, f, (uint32_t)len) == 0);
	itest_poll(ctl, 200);
	CU_ASSERT(drops(LP_DROP_KERNEL_TX_FAIL) >= before + 10);
	CU_ASSERT(sh("ip link set " KIF " up") == 0);
	/* Taken again once it is up. */
	before = drops(LP_DROP_KERNEL_TX_FAIL);
	CU_ASSERT(itest_inject(&wan, f, (uint32_t)len) == 0);
	itest_poll(ctl, 200);
	CU_ASSERT(drops(LP_DROP_KERNEL_TX_FAIL) == before);
}

/* Poll the control thread until @p cond holds (or @p ms pass). */
#define POLL_UNTIL(cond, ms) \
	do { \
		for (unsigned int i_ = 0; i_ < (ms) / 10 && !(cond); i_++) \
			itest_poll(ctl, 10); \
	} while (0)

/* A datagram for limpet's address reaches a socket bound on the (new)
 * kernel interface. */
static bool
kernel_gets_datagram(void)
{
	uint8_t f[256];
	char buf[64];
	int fd = udp_socket(5001), len;
	bool ok;

	if (fd < 0)
		return false;
	len = itest_frame(f, sizeof(f), &wan_mac, "10.0.0.50", 4000, "10.0.0.1", 5001, IPPROTO_UDP, 0);
	ok = len > 0 && itest_inject(&wan, f, (uint32_t)len) == 0 && recv_polling(fd, buf, sizeof(buf), 2000) >= 0;
	close(fd);
	return ok;
}

static void
test_deleted_interface_made_again(void)
{
	unsigned int old = if_nametoindex(KIF), now;
	uint64_t made = counter(LP_WC_kernel_recreated), failed = counter(LP_WC_kernel_recreate_fail);

	CU_ASSERT_FATAL(old != 0);
	CU_ASSERT_FATAL(sh("ip link del " KIF) == 0);
	POLL_UNTIL(counter(LP_WC_kernel_recreated) > made, 3000);
	now = if_nametoindex(KIF);
	CU_ASSERT(counter(LP_WC_kernel_recreated) == made + 1);
	CU_ASSERT(counter(LP_WC_kernel_recreate_fail) == failed);
	CU_ASSERT(now != 0 && now != old);
	test_interface();	/* name, MAC, MTU, address, up: as at start */
	CU_ASSERT(kernel_gets_datagram());
	/* The VIP's route is back, on the new interface. */
	POLL_UNTIL(sh("ip -o route show table 100 2>/dev/null | grep -q '^10.0.0.100 dev " KIF "'") == 0, 2000);
	CU_ASSERT(sh("ip -o route show table 100 2>/dev/null | grep -q '^10.0.0.100 dev " KIF "'") == 0);

	/* Someone takes the name meanwhile: counted, retried, made once free. */
	old = now;
	CU_ASSERT_FATAL(sh("ip link del " KIF " && ip link add " KIF " type veth peer name lpx-other") == 0);
	POLL_UNTIL(counter(LP_WC_kernel_recreate_fail) >= failed + 2, 3000);
	CU_ASSERT(counter(LP_WC_kernel_recreate_fail) >= failed + 2);
	CU_ASSERT(counter(LP_WC_kernel_recreated) == made + 1);
	CU_ASSERT(sh("ip -o link show " KIF " | grep -q 'lpx-other'") == 0);	/* the squatter, untouched */
	CU_ASSERT_FATAL(sh("ip link del " KIF) == 0);
	POLL_UNTIL(counter(LP_WC_kernel_recreated) > made + 1, 12000);
	CU_ASSERT(counter(LP_WC_kernel_recreated) == made + 2);
	now = if_nametoindex(KIF);
	CU_ASSERT(now != 0 && now != old);
	test_interface();
	CU_ASSERT(kernel_gets_datagram());
}

int
main(int argc, char **argv)
{
	static const struct lp_test_case cases[] = {
		{ "kernel interface: name, MAC, MTU, address, up", test_interface },
		{ "a datagram for limpet's address reaches a kernel socket", test_to_kernel_socket },
		{ "the kernel's ARP and datagram leave through the port", test_from_kernel },
		{ "TCP in the probe port range that is no probe reply: the kernel answers", test_health_range_to_kernel },
		{ "IPv6 link-local: ND answered, a datagram reaches the kernel", test_link_local },
		{ "VIP traffic and a port without kernelInterface stay out", test_not_to_kernel },
		{ "a flood is cut at the workers, VIP traffic goes on", test_flood },
		{ "a kernel interface that refuses packets: kernel_tx_fail", test_tx_fail },
		{ "a deleted kernel interface is made again", test_deleted_interface_made_again },
		{ NULL, NULL },
	};
	static const struct lp_test_suite suites[] = {
		{ "exception", suite_init, suite_cleanup, cases },
		{ NULL, NULL, NULL, NULL },
	};

	(void)argc;
	if (geteuid() != 0) {
		printf("SKIP: needs root (a network namespace of its own)\n");
		return 77;
	}
	if (unshare(CLONE_NEWNET) != 0) {
		perror("unshare(CLONE_NEWNET)");
		return 77;
	}
	/* IPv6 on (the port has an IPv6 address), without router solicitations. */
	if (sh("ip link set lo up && sysctl -qw net.ipv6.conf.all.router_solicitations=0 "
	       "net.ipv6.conf.default.router_solicitations=0 net.ipv6.conf.default.accept_ra=0") != 0)
		return EXIT_FAILURE;
	return itest_main(argv[0], 2, suites);
}
