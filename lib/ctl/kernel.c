/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The kernel exception path, control side (ports[].kernelInterface). Per
 * such port a net_tap device gives the kernel an interface of that name in
 * limpet's network namespace, with the port's MAC, addresses and MTU (set
 * through netlink, lp_announce_iface_set()). It is not a data-path port:
 * workers never poll it. The control thread
 *   - writes what workers put on their to_kernel rings into it (bounded per
 *     poll; what the ring cannot hold the worker drops and counts),
 *   - writes health-range TCP that is no probe reply into it too,
 *   - copies ARP replies and neighbor advertisements into it, so the
 *     kernel's own neighbor resolution works (limpet keeps answering ARP
 *     and ND for its addresses itself),
 *   - reads what the kernel sends on it and hands that to a worker's
 *     injection ring, to leave through the port.
 * A write the interface refuses is counted (kernel_tx_fail), logged once
 * until writes succeed again, and the next packets are tried as usual.
 * An interface deleted or renamed behind limpet's back (`ip link del`)
 * is noticed within a watch period (WATCH_MS) and made again, with the
 * same name, MAC, MTU and addresses (kernel_recreated); the VIP routes
 * follow it to its new index. A try that fails (the name taken by another
 * interface meanwhile) is logged once, counted (kernel_recreate_fail) and
 * retried with backoff; forwarding never waits for any of it.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_bus_vdev.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "ctl_priv.h"
#include "lp_announce.h"
#include "lp_health.h"
#include "lp_log.h"

_Static_assert(LP_PROBE_SPORT_BASE == LP_HEALTH_SPORT_BASE, "workers and health checks agree on probe ports");

#define KERNEL_RING_SIZE 1024u		/* per worker */
#define KERNEL_TX_PER_POLL 64u		/* per worker ring, per poll */
#define KERNEL_RX_PER_POLL 64u		/* per interface, per poll */
#define WATCH_MS 250u			/* is each interface still there? */
#define RETRY_MIN_MS 250u		/* recreation retries back off from here */
#define RETRY_MAX_MS 8000u		/* to here */

struct kport {
	bool on;
	uint16_t tap;			/* DPDK port id of the net_tap device */
	int ifindex;
	char name[LP_IFNAME_MAX];
	char vdev[RTE_DEV_NAME_MAX_LEN];
	bool failing;			/* writes fail: logged once until one succeeds */
	bool lost;			/* deleted behind our back: being made again */
	bool lost_logged;		/* this episode's failed tries were logged */
	uint32_t backoff_ms;
	uint64_t retry_at;		/* TSC */
};

struct lp_kernel {
	uint32_t n;			/* ports with a kernel interface */
	uint64_t next_watch;		/* TSC */
	struct kport p[LP_MAX_PORTS];
};

static int
port_index_of(const struct lp_ctl *c, uint16_t port_id)
{
	for (uint32_t i = 0; i < c->dp.n_ports; i++)
		if (c->dp.port[i].port_id == port_id)
			return (int)i;
	return -1;
}

/* Remove @p k's net_tap device (and with it the kernel interface). */
static void
tap_close(struct kport *k)
{
	if (!k->on)
		return;
	rte_eth_dev_stop(k->tap);
	rte_eth_dev_close(k->tap);
	rte_vdev_uninit(k->vdev);
	k->on = false;
}

bool
ctl_kernel_ll(const struct lp_ctl *c, uint32_t port, struct lp_ip *ll, bool *listed)
{
	const struct lp_cfg_port *cp;
	bool v6 = false;

	if (port >= c->cfg->n_ports || port >= c->dp.n_ports || c->cfg->ports[port].kernel_iface[0] == '\0')
		return false;
	cp = &c->cfg->ports[port];
	for (uint32_t i = 0; i < cp->n_addrs; i++)
		v6 = v6 || cp->addr[i].family == LP_AF_INET6;
	if (!v6)
		return false;
	lp_mac_to_ll6(&c->dp.port[port].mac, ll);
	*listed = false;
	for (uint32_t i = 0; i < cp->n_addrs; i++)
		*listed = *listed || lp_ip_equal(&cp->addr[i], ll);
	return true;
}

/* Make port @p idx's kernel interface: the net_tap device, then name, MAC,
 * MTU, addresses and link up through netlink. On failure what was made is
 * removed again (at start ctl_kernel_close() would too). */
static int
tap_open(struct lp_ctl *c, uint32_t idx, struct lp_diag *d)
{
	const struct lp_cfg_port *cp = &c->cfg->ports[idx];
	struct lp_dp_port *p = &c->dp.port[idx];
	struct kport *k = &c->kern->p[idx];
	struct lp_announce_addr addrs[LP_PORT_ADDRS_MAX + 1];
	struct lp_announce_iface s = { 0 };
	struct lp_ip ll;
	bool listed;
	struct rte_eth_conf conf = { 0 };
	char args[128], err[160];
	uint16_t nb = 512;
	int ret;

	snprintf(k->name, sizeof(k->name), "%s", cp->kernel_iface);
	if (if_nametoindex(k->name) != 0) {
		lp_diag_add(d, "%s:%u:%u: port '%s': kernelInterface '%s' is already taken: an interface of that name exists",
			c->cfg->path, cp->kernel_iface_pos.line, cp->kernel_iface_pos.col, cp->name, k->name);
		return -EEXIST;
	}
	if ((p->mac.b[0] & 1) != 0 || (p->mac.b[0] | p->mac.b[1] | p->mac.b[2] | p->mac.b[3] | p->mac.b[4] | p->mac.b[5]) == 0) {
		lp_diag_add(d, "%s:%u:%u: port '%s': kernelInterface needs a unicast MAC on the port, it has none (set ports[].mac)",
			c->cfg->path, cp->kernel_iface_pos.line, cp->kernel_iface_pos.col, cp->name);
		return -EINVAL;
	}
	snprintf(k->vdev, sizeof(k->vdev), "net_tap_lp%u", idx);
	snprintf(args, sizeof(args), "iface=%s,mac=%02x:%02x:%02x:%02x:%02x:%02x", k->name, p->mac.b[0], p->mac.b[1],
		 p->mac.b[2], p->mac.b[3], p->mac.b[4], p->mac.b[5]);
	ret = rte_vdev_init(k->vdev, args);
	if (ret != 0 || rte_eth_dev_get_port_by_name(k->vdev, &k->tap) != 0) {
		lp_diag_add(d, "port '%s': cannot create kernel interface '%s' (net_tap): %s", cp->name, k->name,
			strerror(ret < 0 ? -ret : ENODEV));
		return ret < 0 ? ret : -ENODEV;
	}
	k->on = true;	/* from here on ctl_kernel_close() removes it */
	if ((ret = rte_eth_dev_configure(k->tap, 1, 1, &conf)) != 0 ||
	    (ret = rte_eth_dev_adjust_nb_rx_tx_desc(k->tap, &nb, &nb)) != 0 ||
	    (ret = rte_eth_rx_queue_setup(k->tap, 0, nb, rte_eth_dev_socket_id(k->tap), NULL, c->pool)) != 0 ||
	    (ret = rte_eth_tx_queue_setup(k->tap, 0, nb, rte_eth_dev_socket_id(k->tap), NULL)) != 0 ||
	    (ret = rte_eth_dev_start(k->tap)) != 0) {
		lp_diag_add(d, "port '%s': kernel interface '%s': %s", cp->name, k->name, strerror(-ret));
		tap_close(k);
		return ret;
	}
	/* With IPv6, the port's link-local address (the one limpet answers
	 * ND for) and no other: the kernel's own choice could differ
	 * (stable-privacy addresses), and routers peer over link-local. */
	if (ctl_kernel_ll(c, idx, &ll, &listed)) {
		s.ll_manual = true;
		if (!listed)
			addrs[s.n_addrs++] = (struct lp_announce_addr){ .ip = ll, .prefix = 64 };
	}
	for (uint32_t i = 0; i < cp->n_addrs; i++)
		addrs[s.n_addrs++] = (struct lp_announce_addr){ .ip = cp->addr[i], .prefix = cp->prefix[i] };
	s.name = k->name;
	s.mac = &p->mac;
	s.mtu = cp->mtu;
	s.addrs = addrs;
	s.up = true;
	ret = lp_announce_iface_set(&s, 1000, err, sizeof(err));
	if (ret < 0) {
		lp_diag_add(d, "port '%s': kernel interface '%s': %s", cp->name, k->name, err);
		tap_close(k);
		return ret;
	}
	k->ifindex = ret;
	LP_LOG(INFO, ctl, "port '%s': kernel interface '%s' (ifindex %d, mtu %u, %u addresses)\n", cp->name, k->name,
	       k->ifindex, cp->mtu, cp->n_addrs);
	return 0;
}

static int
tap_create(struct lp_ctl *c, uint32_t idx, struct lp_diag *d)
{
	int ret = tap_open(c, idx, d);

	if (ret != 0)
		return ret;
	c->dp.port[idx].kernel = true;
	c->kern->n++;
	return 0;
}

int
ctl_kernel_setup(struct lp_ctl *c, struct lp_diag *d)
{
	char name[RTE_RING_NAMESIZE];
	int ret;

	c->kern = calloc(1, sizeof(*c->kern));
	if (c->kern == NULL) {
		lp_diag_add(d, "out of memory");
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < c->dp.n_ports; i++) {
		if (c->cfg->ports[i].kernel_iface[0] == '\0')
			continue;
		ret = tap_create(c, i, d);
		if (ret != 0)
			return ret;
	}
	if (c->kern->n == 0)
		return 0;
	for (uint32_t w = 0; w < c->dp.n_workers; w++) {
		struct lp_worker *wk = c->dp.worker[w];

		snprintf(name, sizeof(name), "lp_kernel_%u", w);
		wk->to_kernel = rte_ring_create(name, KERNEL_RING_SIZE, (int)rte_lcore_to_socket_id(wk->lcore),
						RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (wk->to_kernel == NULL) {
			lp_diag_add(d, "worker %u: cannot create its kernel ring: %s", w, rte_strerror(rte_errno));
			return -ENOMEM;
		}
	}
	return 0;
}

void
ctl_kernel_close(struct lp_ctl *c)
{
	struct rte_mbuf *m;

	if (c->kern == NULL)
		return;
	for (uint32_t w = 0; w < c->dp.n_workers; w++) {
		struct lp_worker *wk = c->dp.worker[w];

		while (wk->to_kernel != NULL && rte_ring_sc_dequeue(wk->to_kernel, (void **)&m) == 0)
			rte_pktmbuf_free(m);
		rte_ring_free(wk->to_kernel);
		wk->to_kernel = NULL;
	}
	for (uint32_t i = 0; i < LP_MAX_PORTS; i++) {
		struct kport *k = &c->kern->p[i];

		tap_close(k);
		if (i < c->dp.n_ports)
			c->dp.port[i].kernel = false;
	}
	free(c->kern);
	c->kern = NULL;
}

int
ctl_kernel_ifindex(const struct lp_ctl *c, uint32_t port)
{
	if (c->kern == NULL || port >= LP_MAX_PORTS || !c->kern->p[port].on)
		return -1;
	return c->kern->p[port].ifindex;
}

/* Write @n packets of port @idx into its kernel interface. */
static void
to_tap(struct lp_ctl *c, uint32_t idx, struct rte_mbuf **pkts, uint16_t n)
{
	struct kport *k = &c->kern->p[idx];
	uint16_t sent = rte_eth_tx_burst(k->tap, 0, pkts, n);

	if (sent < n) {
		if (!k->failing)
			LP_LOG(WARNING, ctl, "kernel interface '%s': %u packets not taken (counted as kernel_tx_fail)\n",
			       k->name, (unsigned int)(n - sent));
		k->failing = true;
		c->stats->drop[LP_DROP_KERNEL_TX_FAIL] += n - sent;
		for (uint16_t i = sent; i < n; i++)
			rte_pktmbuf_free(pkts[i]);
	} else if (k->failing && n > 0) {
		LP_LOG(NOTICE, ctl, "kernel interface '%s': takes packets again\n", k->name);
		k->failing = false;
	}
}

bool
ctl_kernel_input(struct lp_ctl *c, uint16_t port, struct rte_mbuf *m)
{
	if (c->kern == NULL || port >= LP_MAX_PORTS || !c->kern->p[port].on)
		return false;
	c->stats->c[LP_WC_to_kernel]++;
	to_tap(c, port, &m, 1);
	return true;
}

void
ctl_kernel_neigh(struct lp_ctl *c, uint16_t port, const struct rte_mbuf *m, const struct lp_pkt_meta *meta)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	struct rte_mbuf *copy;

	if (c->kern == NULL || port >= LP_MAX_PORTS || !c->kern->p[port].on)
		return;
	if (meta->cls == LP_PKT_ARP) {
		/* opcode at 6 of the ARP header: only replies, the kernel's own requests' answers */
		if (meta->l3_off + 8u > m->data_len || f[meta->l3_off + 6] != 0 || f[meta->l3_off + 7] != 2)
			return;
	} else if (meta->cls != LP_PKT_ND || meta->icmp_type != 136) {
		return;
	}
	copy = rte_pktmbuf_copy(m, c->pool, 0, UINT32_MAX);
	if (copy == NULL) {
		c->stats->drop[LP_DROP_KERNEL_TX_FAIL]++;
		return;
	}
	c->stats->c[LP_WC_to_kernel]++;
	to_tap(c, port, &copy, 1);
}

/* Make port @p idx's lost interface again (at its retry time). */
static void
tap_remake(struct lp_ctl *c, uint32_t idx, uint64_t now)
{
	struct kport *k = &c->kern->p[idx];
	struct lp_diag d = { 0 };

	if (now < k->retry_at)
		return;
	if (tap_open(c, idx, &d) == 0) {
		/* (announce.c moves the routes: it follows ctl_kernel_ifindex().) */
		c->stats->c[LP_WC_kernel_recreated]++;
		LP_LOG(NOTICE, ctl, "kernel interface '%s': made again (ifindex %d)\n", k->name, k->ifindex);
		k->lost = false;
		k->lost_logged = false;
		k->backoff_ms = 0;
	} else {
		c->stats->c[LP_WC_kernel_recreate_fail]++;
		if (!k->lost_logged) {
			for (uint32_t i = 0; i < d.n; i++)
				LP_LOG(WARNING, ctl, "kernel interface '%s' cannot be made again: %s (counted, retrying)\n",
				       k->name, d.msg[i]);
			k->lost_logged = true;
		}
		k->backoff_ms = k->backoff_ms == 0 ? RETRY_MIN_MS : k->backoff_ms * 2;
		if (k->backoff_ms > RETRY_MAX_MS)
			k->backoff_ms = RETRY_MAX_MS;
		k->retry_at = now + c->dp.hz * k->backoff_ms / 1000;
	}
	lp_diag_clear(&d);
}

/* Each kernel interface still there, under its name and index? One that
 * is not is removed on our side and made again. */
static void
watch(struct lp_ctl *c, uint64_t now)
{
	for (uint32_t i = 0; i < c->dp.n_ports; i++) {
		struct kport *k = &c->kern->p[i];

		if (!c->dp.port[i].kernel)
			continue;
		if (!k->lost && if_nametoindex(k->name) != (unsigned int)k->ifindex) {
			LP_LOG(WARNING, ctl, "kernel interface '%s' (ifindex %d) was deleted or renamed: making it again\n",
			       k->name, k->ifindex);
			tap_close(k);
			k->lost = true;
			k->retry_at = now;
		}
		if (k->lost)
			tap_remake(c, i, now);
	}
}

void
ctl_kernel_poll(struct lp_ctl *c, uint64_t now)
{
	struct rte_mbuf *pkts[KERNEL_TX_PER_POLL];

	if (c->kern == NULL || c->kern->n == 0)
		return;
	if (now >= c->kern->next_watch) {
		c->kern->next_watch = now + c->dp.hz * WATCH_MS / 1000;
		watch(c, now);
	}
	/* Workers to kernel: bounded per poll, so a flood waits in (and
	 * overflows) the workers' rings, not here. */
	for (uint32_t w = 0; w < c->dp.n_workers; w++) {
		unsigned int n = rte_ring_sc_dequeue_burst(c->dp.worker[w]->to_kernel, (void **)pkts,
							    KERNEL_TX_PER_POLL, NULL);
		unsigned int i = 0;

		c->work += n;

		/* Runs of one port at a time (usually the whole burst). */
		while (i < n) {
			int idx = port_index_of(c, pkts[i]->port);
			unsigned int j = i + 1;

			while (j < n && pkts[j]->port == pkts[i]->port)
				j++;
			if (idx < 0 || !c->kern->p[idx].on) {
				c->stats->drop[LP_DROP_KERNEL_TX_FAIL] += j - i;
				rte_pktmbuf_free_bulk(pkts + i, j - i);
			} else {
				to_tap(c, (uint32_t)idx, pkts + i, (uint16_t)(j - i));
			}
			i = j;
		}
	}
	/* Kernel to wire: through a worker's injection ring (no TX queue is shared). */
	for (uint32_t p = 0; p < c->dp.n_ports; p++) {
		struct kport *k = &c->kern->p[p];
		uint16_t n;

		if (!k->on)
			continue;
		n = rte_eth_rx_burst(k->tap, 0, pkts, KERNEL_RX_PER_POLL);
		c->work += n;
		for (uint16_t i = 0; i < n; i++) {
			c->stats->c[LP_WC_from_kernel]++;
			ctl_send(c, (uint16_t)p, pkts[i]);
		}
	}
}
