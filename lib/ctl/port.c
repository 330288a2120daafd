/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DPDK ports: queues per worker, symmetric RSS where the device has it;
 * and the control thread's own transmit, through a worker's injection
 * ring (no transmit queue is shared with the workers).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/if_packet.h>

#include <rte_ethdev.h>
#include <rte_ring.h>

#include "ctl_priv.h"
#include "lp_log.h"

/* A Toeplitz key made of one repeated 16-bit pattern hashes (a, b) and
 * (b, a) alike, so both directions of a connection land on one queue. */
static const uint8_t symmetric_rss_key[52] = {
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d,
	0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d,
	0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
};

/* Whether the device is a window on a kernel interface whose own stack goes
 * on receiving every frame (net_af_packet). */
static bool
kernel_shared(const struct rte_eth_dev_info *info)
{
	return info->driver_name != NULL && strcmp(info->driver_name, "net_af_packet") == 0;
}

/*
 * The file descriptor that turns readable when queue @p q of a net_af_packet
 * port has packets, or -1: its AF_PACKET socket. The PMD has no interrupt
 * mode; it opens one socket per queue pair, in queue order, bound to the
 * interface, which is how they are found here. A wrong or missing answer
 * only makes idle sleeps last their step, as on any other device.
 */
static int
afp_queue_fd(const struct rte_eth_dev_info *info, uint16_t q)
{
	uint16_t seen = 0;

	if (!kernel_shared(info) || info->if_index == 0)
		return -1;
	for (int fd = 0; fd < 4096; fd++) {
		struct sockaddr_ll sll;
		socklen_t len;
		int dom;

		len = sizeof(dom);
		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &len) != 0 || dom != AF_PACKET)
			continue;
		len = sizeof(sll);
		if (getsockname(fd, (struct sockaddr *)&sll, &len) != 0 || sll.sll_ifindex != (int)info->if_index)
			continue;
		if (seen++ == q)
			return fd;
	}
	return -1;
}

static int
port_setup(struct lp_ctl *c, uint32_t idx, struct lp_diag *d)
{
	const struct lp_cfg_port *cp = &c->cfg->ports[idx];
	struct lp_dp_port *p = &c->dp.port[idx];
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	uint16_t pid, nrx, ntx, nb_rxd, nb_txd;
	struct rte_ether_addr ea;
	bool soft_mac;
	int ret;

	if (rte_eth_dev_get_port_by_name(cp->device, &pid) != 0) {
		lp_diag_add(d, "%s:%u:%u: port '%s': no DPDK device '%s' (give it to EAL with --vdev or -a)",
			c->cfg->path, cp->pos.line, cp->pos.col, cp->name, cp->device);
		return -ENODEV;
	}
	ret = rte_eth_dev_info_get(pid, &info);
	if (ret != 0) {
		lp_diag_add(d, "port '%s': cannot query device '%s': %s", cp->name, cp->device, strerror(-ret));
		return ret;
	}
	nrx = (uint16_t)RTE_MIN(c->dp.n_workers, info.max_rx_queues);
	ntx = (uint16_t)RTE_MIN(c->dp.n_workers, info.max_tx_queues);
	if (nrx == 0 || ntx == 0) {
		lp_diag_add(d, "port '%s': device '%s' has no queues", cp->name, cp->device);
		return -EINVAL;
	}
	memset(&conf, 0, sizeof(conf));
	if (nrx > 1 && (info.flow_type_rss_offloads & RTE_ETH_RSS_IP) != 0) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_key = (uint8_t *)(uintptr_t)symmetric_rss_key;
		conf.rx_adv_conf.rss_conf.rss_key_len =
			info.hash_key_size > 0 && info.hash_key_size <= sizeof(symmetric_rss_key)
				? info.hash_key_size : 40;
		conf.rx_adv_conf.rss_conf.rss_hf =
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;
	}
	/* Where the device checks IPv4 header checksums, workers drop what it
	 * flags bad (LP_DROP_BAD_CKSUM); where it gives no verdict, they verify
	 * the header in software (RFC 1812 5.2.2). */
	conf.rxmode.offloads |= info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
	/* Without RSS (ring, pcap, af_packet) the device decides which queue a
	 * packet arrives on; limpet still polls every queue it got. */
	ret = rte_eth_dev_configure(pid, nrx, ntx, &conf);
	if (ret != 0) {
		lp_diag_add(d, "port '%s': configure %u rx / %u tx queues: %s", cp->name, nrx, ntx, strerror(-ret));
		return ret;
	}
	nb_rxd = nb_txd = (uint16_t)(c->opts.ring_size ? c->opts.ring_size : 1024);
	rte_eth_dev_adjust_nb_rx_tx_desc(pid, &nb_rxd, &nb_txd);
	for (uint16_t q = 0; q < nrx; q++) {
		ret = rte_eth_rx_queue_setup(pid, q, nb_rxd, rte_eth_dev_socket_id(pid), NULL, c->pool);
		if (ret != 0) {
			lp_diag_add(d, "port '%s': rx queue %u: %s", cp->name, q, strerror(-ret));
			return ret;
		}
	}
	for (uint16_t q = 0; q < ntx; q++) {
		ret = rte_eth_tx_queue_setup(pid, q, nb_txd, rte_eth_dev_socket_id(pid), NULL);
		if (ret != 0) {
			lp_diag_add(d, "port '%s': tx queue %u: %s", cp->name, q, strerror(-ret));
			return ret;
		}
	}
	soft_mac = false;
	if (cp->has_mac && kernel_shared(&info)) {
		/* The kernel sees every frame of this interface too. It keeps its
		 * own MAC; limpet listens promiscuously for the configured one, so
		 * the kernel takes limpet's frames for another host's and drops
		 * them at once, instead of routing each one (and, with forwarding
		 * on, sending it a second time). */
		memcpy(ea.addr_bytes, cp->mac.b, 6);
		LP_LOG(INFO, ctl, "port '%s': MAC %02x:%02x:%02x:%02x:%02x:%02x is limpet's own; "
		       "the kernel interface keeps its MAC\n", cp->name, ea.addr_bytes[0], ea.addr_bytes[1],
		       ea.addr_bytes[2], ea.addr_bytes[3], ea.addr_bytes[4], ea.addr_bytes[5]);
		soft_mac = true;
	} else if (cp->has_mac) {
		memcpy(ea.addr_bytes, cp->mac.b, 6);
		ret = rte_eth_dev_default_mac_addr_set(pid, &ea);
		if (ret != 0) {
			/* The device keeps its own address (pcap, some vdevs):
			 * limpet still uses the configured one as its source and
			 * listens promiscuously so frames to it arrive. */
			LP_LOG(NOTICE, ctl, "port '%s': device cannot take MAC %02x:%02x:%02x:%02x:%02x:%02x (%s); "
			       "using it in software, promiscuous\n", cp->name, ea.addr_bytes[0], ea.addr_bytes[1],
			       ea.addr_bytes[2], ea.addr_bytes[3], ea.addr_bytes[4], ea.addr_bytes[5],
			       strerror(-ret));
			soft_mac = true;
		}
	}
	/* Virtual devices often cannot change their MTU; limpet enforces the
	 * configured one itself where it matters (tunnel headers). */
	rte_eth_dev_set_mtu(pid, cp->mtu);
	ret = rte_eth_dev_start(pid);
	if (ret != 0) {
		lp_diag_add(d, "port '%s': start: %s", cp->name, strerror(-ret));
		return ret;
	}
	/* IPv6 neighbor discovery arrives on solicited-node multicast groups. */
	rte_eth_allmulticast_enable(pid);
	if (soft_mac)
		rte_eth_promiscuous_enable(pid);
	else
		rte_eth_macaddr_get(pid, &ea);
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", cp->name);
	p->port_id = pid;
	p->n_rxq = nrx;
	p->n_txq = ntx;
	p->mtu = cp->mtu;
	memcpy(p->mac.b, ea.addr_bytes, 6);
	p->other_hosts = kernel_shared(&info);
	p->tx_shared = ntx < c->dp.n_workers;
	for (uint32_t q = 0; q < LP_MAX_WORKERS; q++)
		rte_spinlock_init(&p->txq_lock[q]);
	for (uint32_t w = 0; w < c->dp.n_workers; w++) {
		struct lp_worker *wk = c->dp.worker[w];

		if (w < nrx) {
			int fd = afp_queue_fd(&info, (uint16_t)w);

			wk->rxq[wk->n_rxq].port_index = (uint16_t)idx;
			wk->rxq[wk->n_rxq].port_id = pid;
			wk->rxq[wk->n_rxq].queue = (uint16_t)w;
			if (fd >= 0 && wk->n_wait == wk->n_rxq)
				wk->wait[wk->n_wait++] = (struct pollfd){ .fd = fd, .events = POLLIN };
			wk->n_rxq++;
		}
		wk->txq[idx] = (uint16_t)(w % ntx);
	}
	if (p->tx_shared)
		LP_LOG(NOTICE, ctl,
			"port '%s': %u tx queues for %u workers: workers share queues under a lock\n", cp->name,
			ntx, c->dp.n_workers);
	return 0;
}

int
ctl_ports_setup(struct lp_ctl *c, struct lp_diag *d)
{
	int ret;

	for (uint32_t i = 0; i < c->cfg->n_ports; i++) {
		ret = port_setup(c, i, d);
		if (ret != 0)
			return ret;
		c->dp.n_ports = i + 1;
	}
	return 0;
}

void
ctl_ports_close(struct lp_ctl *c)
{
	/* Closing flushes what some drivers buffer (net_pcap's output file). */
	for (uint32_t i = 0; i < c->dp.n_ports; i++) {
		rte_eth_dev_stop(c->dp.port[i].port_id);
		rte_eth_dev_close(c->dp.port[i].port_id);
	}
	c->dp.n_ports = 0;
}

int
ctl_send(struct lp_ctl *c, uint16_t port, struct rte_mbuf *m)
{
	struct lp_worker *w;

	if (c->dp.n_workers == 0 || port >= c->dp.n_ports) {
		rte_pktmbuf_free(m);
		return -EINVAL;
	}
	w = c->dp.worker[c->inject_rr++ % c->dp.n_workers];
	m->port = port;
	if (rte_ring_sp_enqueue(w->from_ctl, m) != 0) {
		c->stats->drop[LP_DROP_SLOWPATH_FULL]++;
		rte_pktmbuf_free(m);
		return -ENOBUFS;
	}
	lp_worker_wake(w);
	return 0;
}
