/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The kernel exception path, measured: a DPDK port whose other end is a
 * kernel interface (net_tap, or virtio_user on /dev/vhost-net), and a UDP
 * socket on that interface standing in for BIRD, BFD or sshd.
 *
 *   bench_exception [EAL options with one --vdev] -- --iface NAME [--seconds S]
 *
 * Prints `name value unit` lines:
 *   idle_rx_cycles      one rx_burst on the port with nothing to receive
 *   idle_ring_cycles    one dequeue from an empty rte_ring (the alternative:
 *                       workers hand exception packets to a ring, and only
 *                       the control thread touches the kernel interface)
 *   to_kernel_*         DPDK → kernel: packets offered/delivered to the
 *                       socket per second, TX cycles per packet
 *   from_kernel_*       kernel → DPDK: datagrams sent by the socket and
 *                       received by DPDK per second, RX cycles per packet
 *   rtt_p50/p99_us      DPDK → kernel socket → DPDK, one packet at a time
 *
 * The kernel interface gets its address, MTU and state from
 * lp_announce_iface_set() (netlink), as limpet would set them; the peer
 * (DPDK's side) is 10.99.0.2 with a static neighbor entry. Run it in a
 * network namespace of its own: tools/bench/exception_path.sh does.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_udp.h>

#include "lp_announce.h"

#define BURST 32
#define KERNEL_IP "10.99.0.1"
#define PEER_IP "10.99.0.2"
#define PEER_MAC "02:00:00:00:99:02"
#define KPORT 9000	/* the kernel socket */
#define DPORT 9001	/* DPDK's side */
#define PAYLOAD 64

static struct rte_mempool *pool;
static uint16_t port;
static struct rte_ether_addr kmac;	/* the kernel interface's (the port's) */
static int sock;

static int
cmp_sort(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* A UDP datagram from the peer to the kernel socket. */
static struct rte_mbuf *
make_pkt(uint32_t seq)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *udp;
	uint16_t len = sizeof(*eth) + sizeof(*ip) + sizeof(*udp) + PAYLOAD;

	if (m == NULL)
		return NULL;
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, len);
	memset(eth, 0, len);
	rte_ether_unformat_addr(PEER_MAC, &eth->src_addr);
	eth->dst_addr = kmac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16(len - sizeof(*eth));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	inet_pton(AF_INET, PEER_IP, &ip->src_addr);
	inet_pton(AF_INET, KERNEL_IP, &ip->dst_addr);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp = (struct rte_udp_hdr *)(ip + 1);
	udp->src_port = rte_cpu_to_be_16(DPORT);
	udp->dst_port = rte_cpu_to_be_16(KPORT);
	udp->dgram_len = rte_cpu_to_be_16(sizeof(*udp) + PAYLOAD);
	memcpy(udp + 1, &seq, sizeof(seq));
	return m;
}

/* Received datagrams for DPDK's port; frees everything. */
static unsigned int
rx_count(uint64_t *cycles)
{
	struct rte_mbuf *pkts[BURST];
	uint64_t t0 = rte_rdtsc();
	uint16_t n = rte_eth_rx_burst(port, 0, pkts, BURST);
	unsigned int got = 0;

	*cycles += rte_rdtsc() - t0;
	for (uint16_t i = 0; i < n; i++) {
		const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(pkts[i], const struct rte_ether_hdr *);
		const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(eth + 1);
		const struct rte_udp_hdr *udp = (const struct rte_udp_hdr *)(ip + 1);

		if (pkts[i]->data_len >= sizeof(*eth) + sizeof(*ip) + sizeof(*udp) &&
		    eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) && ip->next_proto_id == IPPROTO_UDP &&
		    udp->dst_port == rte_cpu_to_be_16(DPORT))
			got++;
		rte_pktmbuf_free(pkts[i]);
	}
	return got;
}

static unsigned int
sock_drain(void)
{
	char buf[2048];
	unsigned int n = 0;

	while (recv(sock, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		n++;
	return n;
}

static void
idle_costs(void)
{
	struct rte_mbuf *pkts[BURST];
	struct rte_ring *r = rte_ring_create("exc_idle", 1024, rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
	enum { N = 200000 };
	uint64_t t0, c = 0;
	unsigned int got = 0;

	sock_drain();
	t0 = rte_rdtsc();
	for (int i = 0; i < N; i++) {
		uint16_t n = rte_eth_rx_burst(port, 0, pkts, BURST);

		got += n;
		for (uint16_t k = 0; k < n; k++)
			rte_pktmbuf_free(pkts[k]);
	}
	c = rte_rdtsc() - t0;
	printf("idle_rx_cycles %.0f cycles/call (%u stray packets)\n", (double)c / N, got);
	if (r != NULL) {
		t0 = rte_rdtsc();
		for (int i = 0; i < N; i++)
			got += rte_ring_sc_dequeue_burst(r, (void **)pkts, BURST, NULL);
		c = rte_rdtsc() - t0;
		printf("idle_ring_cycles %.1f cycles/call\n", (double)c / N);
		rte_ring_free(r);
	}
}

static void
to_kernel(double seconds)
{
	uint64_t hz = rte_get_tsc_hz(), end, t0, tx_cycles = 0, sent = 0, delivered = 0;
	struct rte_mbuf *pkts[BURST];

	sock_drain();
	t0 = rte_rdtsc();
	end = t0 + (uint64_t)(seconds * hz);
	while (rte_rdtsc() < end) {
		uint16_t n = 0, k;
		uint64_t t;

		while (n < BURST && (pkts[n] = make_pkt((uint32_t)(sent + n))) != NULL)
			n++;
		t = rte_rdtsc();
		k = rte_eth_tx_burst(port, 0, pkts, n);
		tx_cycles += rte_rdtsc() - t;
		sent += k;
		for (uint16_t i = k; i < n; i++)
			rte_pktmbuf_free(pkts[i]);
		delivered += sock_drain();
	}
	usleep(10000);
	delivered += sock_drain();
	double secs = (double)(rte_rdtsc() - t0) / hz;
	printf("to_kernel_offered %.0f pkt/s\n", sent / secs);
	printf("to_kernel_delivered %.0f pkt/s\n", delivered / secs);
	printf("to_kernel_tx_cycles %.0f cycles/pkt\n", sent ? (double)tx_cycles / sent : 0.0);
}

static void
from_kernel(double seconds)
{
	uint64_t hz = rte_get_tsc_hz(), end, t0, rx_cycles = 0, sent = 0, got = 0;
	struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons(DPORT) };
	struct mmsghdr msgs[BURST];
	struct iovec iov[BURST];
	char payload[PAYLOAD] = { 0 };

	inet_pton(AF_INET, PEER_IP, &peer.sin_addr);
	for (int i = 0; i < BURST; i++) {
		iov[i] = (struct iovec){ .iov_base = payload, .iov_len = sizeof(payload) };
		msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_name = &peer, .msg_namelen = sizeof(peer),
							  .msg_iov = &iov[i], .msg_iovlen = 1 } };
	}
	t0 = rte_rdtsc();
	end = t0 + (uint64_t)(seconds * hz);
	while (rte_rdtsc() < end) {
		int n = sendmmsg(sock, msgs, BURST, MSG_DONTWAIT);

		if (n > 0)
			sent += (uint64_t)n;
		for (int i = 0; i < 4; i++)
			got += rx_count(&rx_cycles);
	}
	for (int i = 0; i < 1000; i++)
		got += rx_count(&rx_cycles);
	double secs = (double)(rte_rdtsc() - t0) / hz;
	printf("from_kernel_sent %.0f pkt/s\n", sent / secs);
	printf("from_kernel_received %.0f pkt/s\n", got / secs);
	printf("from_kernel_rx_cycles %.0f cycles/pkt\n", got ? (double)rx_cycles / got : 0.0);
}

static void
round_trips(unsigned int count)
{
	uint64_t hz = rte_get_tsc_hz(), *rtt = calloc(count, sizeof(*rtt)), ignore = 0;
	struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons(DPORT) };
	char buf[2048];
	unsigned int done = 0;

	if (rtt == NULL)
		return;
	inet_pton(AF_INET, PEER_IP, &peer.sin_addr);
	sock_drain();
	while (rx_count(&ignore) > 0)
		;
	for (unsigned int i = 0; i < count; i++) {
		struct rte_mbuf *m = make_pkt(i);
		uint64_t t0 = rte_rdtsc(), deadline = t0 + hz / 10;
		bool answered = false;

		if (m == NULL || rte_eth_tx_burst(port, 0, &m, 1) != 1) {
			rte_pktmbuf_free(m);
			continue;
		}
		/* The kernel side answers as a daemon would: recv, then send. */
		while (rte_rdtsc() < deadline) {
			if (recv(sock, buf, sizeof(buf), MSG_DONTWAIT) > 0) {
				sendto(sock, buf, PAYLOAD, 0, (struct sockaddr *)&peer, sizeof(peer));
				break;
			}
		}
		while (rte_rdtsc() < deadline) {
			if (rx_count(&ignore) > 0) {
				answered = true;
				break;
			}
		}
		if (answered)
			rtt[done++] = rte_rdtsc() - t0;
	}
	qsort(rtt, done, sizeof(*rtt), cmp_sort);
	if (done > 0) {
		printf("rtt_p50 %.1f us\n", (double)rtt[done / 2] * 1e6 / hz);
		printf("rtt_p99 %.1f us\n", (double)rtt[done * 99 / 100] * 1e6 / hz);
	}
	printf("rtt_answered %u of %u\n", done, count);
	free(rtt);
}

static int
setup_kernel_side(const char *iface)
{
	struct lp_announce_addr addr = { .prefix = 24 };
	struct lp_announce_iface s = { .name = iface, .mtu = 1500, .addrs = &addr, .n_addrs = 1, .up = true };
	struct sockaddr_in local = { .sin_family = AF_INET, .sin_port = htons(KPORT) };
	char err[256], cmd[256];
	int rcvbuf = 4 << 20;

	lp_ip_parse(KERNEL_IP, &addr.ip);
	if (lp_announce_iface_set(&s, 1000, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench_exception: %s\n", err);
		return -1;
	}
	snprintf(cmd, sizeof(cmd), "ip neigh replace %s lladdr %s dev %s nud permanent", PEER_IP, PEER_MAC, iface);
	if (system(cmd) != 0)
		return -1;
	sock = socket(AF_INET, SOCK_DGRAM, 0);
	inet_pton(AF_INET, KERNEL_IP, &local.sin_addr);
	setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (sock < 0 || bind(sock, (struct sockaddr *)&local, sizeof(local)) != 0) {
		perror("bench_exception: socket");
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "iface", required_argument, NULL, 'i' },
		{ "seconds", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct rte_eth_conf conf = { 0 };
	const char *iface = NULL;
	double seconds = 2;
	int ret, opt;

	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "bench_exception: EAL: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= ret;
	argv += ret;
	while ((opt = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		if (opt == 'i')
			iface = optarg;
		else if (opt == 's')
			seconds = atof(optarg);
		else
			return 2;
	}
	if (iface == NULL || rte_eth_dev_count_avail() != 1) {
		fprintf(stderr, "usage: bench_exception [EAL options, one --vdev] -- --iface NAME [--seconds S]\n");
		return 2;
	}
	port = 0;
	pool = rte_pktmbuf_pool_create("exc", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	if (pool == NULL || rte_eth_dev_configure(port, 1, 1, &conf) != 0 ||
	    rte_eth_rx_queue_setup(port, 0, 1024, rte_socket_id(), NULL, pool) != 0 ||
	    rte_eth_tx_queue_setup(port, 0, 1024, rte_socket_id(), NULL) != 0 || rte_eth_dev_start(port) != 0) {
		fprintf(stderr, "bench_exception: port setup failed\n");
		return 1;
	}
	rte_eth_macaddr_get(port, &kmac);
	{
		char cmd[160], mac[RTE_ETHER_ADDR_FMT_SIZE];

		/* What the PMD did to the kernel interface by itself. */
		rte_ether_format_addr(mac, sizeof(mac), &kmac);
		printf("# port MAC %s; the kernel interface as the PMD left it:\n", mac);
		fflush(stdout);
		snprintf(cmd, sizeof(cmd), "ip -o link show %s | sed 's/^/#   /'; ip -o addr show %s | sed 's/^/#   /'",
			 iface, iface);
		if (system(cmd) != 0)
			return 1;
	}
	printf("# TSC %.2f GHz\n", rte_get_tsc_hz() / 1e9);
	if (setup_kernel_side(iface) != 0)
		return 1;
	usleep(100000);
	idle_costs();
	to_kernel(seconds);
	from_kernel(seconds);
	round_trips(20000);
	rte_eth_dev_stop(port);
	rte_eth_dev_close(port);
	rte_eal_cleanup();
	return 0;
}
