/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The slow path, on the control thread: ARP and IPv6 neighbor discovery
 * (answering for own addresses and VIPs, resolving next hops), ICMP echo,
 * ICMP errors limpet originates (fragmentation needed for tunnels), packets
 * held while their next hop resolves, and dispatch of probe replies to the
 * health checker. Workers hand packets over through their rings; packets
 * built here go out through a worker's injection ring.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "ctl_priv.h"
#include "lp_health.h"
#include "lp_log.h"

#define HOLD_MAX 256u		/* packets waiting for a neighbor, all together */
#define HOLD_PER_NBR 8u		/* and per neighbor */
#define HOLD_TIMEOUT_MS 3000u
#define PROBE_INTERVAL_MS 1000u
#define PROBES_MAX 3u
#define REACHABLE_MS 30000u
#define IDLE_DELETE_MS 300000u
#define NBR_SCAN_PER_POLL 512u

struct held {
	struct rte_mbuf *m;
	uint32_t nbr;
	uint16_t port;
	uint64_t since;
};

struct lp_slowpath {
	uint64_t icmp_tokens_at;	/* TSC the ICMP error budget was last refilled */
	uint32_t icmp_tokens;
	struct held hold[HOLD_MAX];
	uint32_t n_hold;
	uint32_t nbr_cursor;
	uint64_t last_used_scan;
};

static const struct lp_mac bcast = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };

int
ctl_slowpath_init(struct lp_ctl *c)
{
	c->slow = ctl_calloc(1, sizeof(*c->slow));
	return c->slow == NULL ? -ENOMEM : 0;
}

void
ctl_slowpath_free(struct lp_ctl *c)
{
	if (c->slow == NULL)
		return;
	for (uint32_t i = 0; i < c->slow->n_hold; i++)
		rte_pktmbuf_free(c->slow->hold[i].m);
	/* Packets still in the rings belong to no one else now. */
	for (uint32_t w = 0; w < c->dp.n_workers; w++) {
		struct rte_mbuf *m;

		while (c->dp.worker[w]->to_ctl != NULL &&
		       rte_ring_sc_dequeue(c->dp.worker[w]->to_ctl, (void **)&m) == 0)
			rte_pktmbuf_free(m);
		while (c->dp.worker[w]->from_ctl != NULL &&
		       rte_ring_sc_dequeue(c->dp.worker[w]->from_ctl, (void **)&m) == 0)
			rte_pktmbuf_free(m);
	}
	free(c->slow);
	c->slow = NULL;
}

static int
port_index_of(struct lp_ctl *c, uint16_t port_id)
{
	for (uint32_t i = 0; i < c->dp.n_ports; i++)
		if (c->dp.port[i].port_id == port_id)
			return (int)i;
	return -1;
}

/* An own address of @port in the family, preferably in @dst's prefix. */
static const struct lp_ip *
own_addr(struct lp_ctl *c, uint16_t port, const struct lp_ip *dst)
{
	const struct lp_cfg_port *cp = &c->cfg->ports[port];
	const struct lp_ip *any = NULL;

	for (uint32_t i = 0; i < cp->n_addrs; i++) {
		if (cp->addr[i].family != dst->family)
			continue;
		if (lp_ip_in_prefix(dst, &cp->addr[i], cp->prefix[i]))
			return &cp->addr[i];
		if (any == NULL)
			any = &cp->addr[i];
	}
	return any;
}

static bool
is_own(struct lp_ctl *c, uint8_t family, const uint8_t *addr)
{
	struct lp_svc_index *ix = lp_svc_index_get(&c->dp.svcs);
	uint8_t a[16] = { 0 };

	memcpy(a, addr, family == LP_AF_INET ? 4 : 16);
	return ix != NULL && lp_idx_lookup(ix, LP_IDX_OWN, a, 0, 0) != LP_IDX_NONE;
}

static bool
is_vip(struct lp_ctl *c, uint8_t family, const uint8_t *addr)
{
	struct lp_svc_index *ix = lp_svc_index_get(&c->dp.svcs);
	uint8_t a[16] = { 0 };

	memcpy(a, addr, family == LP_AF_INET ? 4 : 16);
	return ix != NULL && lp_idx_lookup(ix, LP_IDX_VIPADDR, a, 0, 0) != LP_IDX_NONE;
}

static struct rte_mbuf *
alloc_frame(struct lp_ctl *c, uint8_t **data)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(c->pool);

	if (m != NULL)
		*data = rte_pktmbuf_mtod(m, uint8_t *);
	return m;
}

static void
send_built(struct lp_ctl *c, uint16_t port, struct rte_mbuf *m, int len)
{
	if (len <= 0) {
		rte_pktmbuf_free(m);
		return;
	}
	m->data_len = (uint16_t)len;
	m->pkt_len = (uint32_t)len;
	ctl_send(c, port, m);
}

/* ---- neighbor resolution ---- */

static void
send_solicit(struct lp_ctl *c, struct lp_nbr_entry *e, bool unicast)
{
	struct lp_ip target = { .family = e->key.family };
	const struct lp_dp_port *p = &c->dp.port[e->port];
	const struct lp_ip *src;
	struct rte_mbuf *m;
	struct lp_mac mac;
	uint8_t *buf;
	int len;

	memcpy(target.a, e->key.addr, 16);
	src = own_addr(c, e->port, &target);
	if (src == NULL)
		return;		/* no address of that family on the port */
	m = alloc_frame(c, &buf);
	if (m == NULL)
		return;
	unicast = unicast && lp_nbr_mac(c->dp.nbr, (uint32_t)(e - c->dp.nbr->e), &mac);
	if (target.family == LP_AF_INET) {
		len = lp_pkt_build_arp(buf, rte_pktmbuf_tailroom(m), LP_ARP_REQUEST, &p->mac, src->a,
				       unicast ? &mac : &bcast, target.a);
		/* A unicast refresh goes to the neighbor's MAC, not broadcast. */
		if (len > 0 && unicast)
			memcpy(buf, mac.b, 6);
	} else {
		struct lp_nd_spec nd = { .src_mac = p->mac };

		memcpy(nd.src, src->a, 16);
		memcpy(nd.target, target.a, 16);
		if (unicast) {
			nd.dst_mac = mac;
			memcpy(nd.dst, target.a, 16);
		}
		len = lp_pkt_build_ns(buf, rte_pktmbuf_tailroom(m), &nd);
	}
	send_built(c, e->port, m, len);
}

static void
release_held(struct lp_ctl *c, uint32_t nbr)
{
	struct lp_slowpath *sp = c->slow;
	struct lp_mac mac;

	if (!lp_nbr_mac(c->dp.nbr, nbr, &mac))
		return;
	for (uint32_t i = 0; i < sp->n_hold;) {
		struct held *h = &sp->hold[i];

		if (h->nbr != nbr) {
			i++;
			continue;
		}
		lp_pkt_set_macs(rte_pktmbuf_mtod(h->m, uint8_t *), &mac, &c->dp.port[h->port].mac);
		ctl_send(c, h->port, h->m);
		*h = sp->hold[--sp->n_hold];
	}
}

/* The neighbor answered (ARP, NA, or its own request/solicitation). Only
 * entries limpet asked about are updated: a stranger's ARP creates
 * nothing, so an ARP flood cannot fill the table. */
static void
learn(struct lp_ctl *c, uint8_t family, const uint8_t *addr, const struct lp_mac *mac, uint16_t port)
{
	struct lp_ip ip = { .family = family };
	uint32_t pos = lp_nbr_lookup(c->dp.nbr, family, addr);
	struct lp_nbr_entry *e;

	if (pos == LP_NBR_NONE)
		return;
	e = &c->dp.nbr->e[pos];
	if (e->state == LP_NBR_STATIC)
		return;
	memcpy(ip.a, addr, family == LP_AF_INET ? 4 : 16);
	lp_nbr_set(c->dp.nbr, &ip, port, mac, LP_NBR_REACHABLE);
	e->confirmed = rte_rdtsc();
	e->probes = 0;
	release_held(c, pos);
}

/* The neighbor says it is still there without repeating its address: a
 * solicited NA without a target link-layer address option, which is how
 * Linux answers a unicast solicitation. RFC 4861 7.2.5: an entry that has
 * an address becomes REACHABLE, its MAC unchanged. */
static void
confirm(struct lp_ctl *c, uint8_t family, const uint8_t *addr)
{
	uint32_t pos = lp_nbr_lookup(c->dp.nbr, family, addr);
	struct lp_nbr_entry *e;
	struct lp_mac mac;

	if (pos == LP_NBR_NONE)
		return;
	e = &c->dp.nbr->e[pos];
	if (e->state == LP_NBR_STATIC || !lp_nbr_mac(c->dp.nbr, pos, &mac))
		return;
	e->state = LP_NBR_REACHABLE;
	e->confirmed = rte_rdtsc();
	e->probes = 0;
}

/* A packet rewritten by a worker but for its MACs: @nbr is its next hop's
 * neighbor entry, or LP_NBR_NONE to route by its destination. */
static void
hold_for_neighbor(struct lp_ctl *c, struct rte_mbuf *m, const struct lp_pkt_meta *meta, uint32_t nbr,
		  uint64_t now)
{
	struct lp_slowpath *sp = c->slow;
	struct lp_ip dst = { .family = meta->key.family };
	uint32_t per = 0;
	int32_t pos;
	int port;

	if (nbr != LP_NBR_NONE && nbr < c->dp.nbr->n_pos) {
		port = c->dp.nbr->e[nbr].port;
		goto hold;
	}
	memcpy(dst.a, meta->key.dst, 16);
	port = lp_route_lookup(&c->dp.routes, dst.family, dst.a, &nbr);
	if (port < 0) {
		c->stats->drop[LP_DROP_NO_ROUTE]++;
		rte_pktmbuf_free(m);
		return;
	}
	if (nbr == LP_NBR_NONE) {
		pos = lp_nbr_get(c->dp.nbr, &dst, (uint16_t)port);
		if (pos < 0) {
			c->stats->drop[LP_DROP_NO_NEIGHBOR]++;
			rte_pktmbuf_free(m);
			return;
		}
		nbr = (uint32_t)pos;
	}
hold:
	if (lp_nbr_mac(c->dp.nbr, nbr, &(struct lp_mac){ { 0 } })) {
		/* Resolved meanwhile. */
		struct lp_mac mac;

		lp_nbr_mac(c->dp.nbr, nbr, &mac);
		lp_pkt_set_macs(rte_pktmbuf_mtod(m, uint8_t *), &mac, &c->dp.port[port].mac);
		ctl_send(c, (uint16_t)port, m);
		return;
	}
	for (uint32_t i = 0; i < sp->n_hold; i++)
		per += sp->hold[i].nbr == nbr;
	if (sp->n_hold == HOLD_MAX || per >= HOLD_PER_NBR) {
		c->stats->drop[LP_DROP_HOLD_FULL]++;
		rte_pktmbuf_free(m);
		return;
	}
	sp->hold[sp->n_hold++] = (struct held){ .m = m, .nbr = nbr, .port = (uint16_t)port, .since = now };
	if (c->dp.nbr->e[nbr].next_probe <= now) {
		send_solicit(c, &c->dp.nbr->e[nbr], false);
		c->dp.nbr->e[nbr].probes++;
		c->dp.nbr->e[nbr].next_probe = now + c->dp.hz * PROBE_INTERVAL_MS / 1000;
	}
}

/* Walk part of the neighbor table: probe what is wanted or referenced and
 * unresolved, refresh what is getting old, forget what nobody uses. */
static void
resolve_tick(struct lp_ctl *c, uint64_t now)
{
	struct lp_nbr_table *t = c->dp.nbr;
	uint64_t ms = c->dp.hz / 1000;

	for (uint32_t k = 0; k < NBR_SCAN_PER_POLL; k++) {
		uint32_t pos = c->slow->nbr_cursor;
		struct lp_nbr_entry *e = &t->e[pos];
		bool wanted;

		c->slow->nbr_cursor = (pos + 1) % t->n_pos;
		if (e->key.family == 0 || e->state == LP_NBR_STATIC)
			continue;
		if (lp_nbr_lookup(t, e->key.family, e->key.addr) != pos) {
			e->key.family = 0;	/* deleted */
			continue;
		}
		wanted = atomic_exchange_explicit(&e->wanted, 0, memory_order_relaxed) != 0;
		switch (e->state) {
		case LP_NBR_INCOMPLETE:
		case LP_NBR_FAILED:
			if ((wanted || e->refs > 0) && now >= e->next_probe) {
				send_solicit(c, e, false);
				if (++e->probes >= PROBES_MAX)
					e->state = LP_NBR_FAILED;
				/* Failed neighbors are retried, more slowly. */
				e->next_probe = now + ms * PROBE_INTERVAL_MS * (e->state == LP_NBR_FAILED ? 5 : 1);
			} else if (!wanted && e->refs == 0 && now - e->next_probe > ms * IDLE_DELETE_MS) {
				lp_nbr_delete(t, pos);
			}
			break;
		case LP_NBR_REACHABLE:
			if (now - e->confirmed > ms * REACHABLE_MS) {
				e->state = LP_NBR_STALE;
				e->probes = 0;
				e->next_probe = now;
			}
			break;
		case LP_NBR_STALE:
			if (e->refs == 0 && !wanted && now - e->confirmed > ms * IDLE_DELETE_MS) {
				lp_nbr_delete(t, pos);
				break;
			}
			if (now >= e->next_probe) {
				if (e->probes >= PROBES_MAX) {
					LP_LOG(INFO, nbr, "neighbor lost after %u unanswered probes\n", e->probes);
					lp_nbr_invalidate(t, pos, LP_NBR_FAILED);
					e->next_probe = now + ms * PROBE_INTERVAL_MS;
					break;
				}
				send_solicit(c, e, true);
				e->probes++;
				e->next_probe = now + ms * PROBE_INTERVAL_MS;
			}
			break;
		default:
			break;
		}
	}
	/* Held packets whose neighbor never answered. */
	for (uint32_t i = 0; i < c->slow->n_hold;) {
		struct held *h = &c->slow->hold[i];

		if (now - h->since > ms * HOLD_TIMEOUT_MS) {
			c->stats->drop[LP_DROP_NO_NEIGHBOR]++;
			rte_pktmbuf_free(h->m);
			*h = c->slow->hold[--c->slow->n_hold];
			continue;
		}
		i++;
	}
}

/* ---- ARP, ND, ICMP echo ---- */

static void
handle_arp(struct lp_ctl *c, uint16_t port, struct rte_mbuf *m)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	const uint8_t *arp;
	struct lp_mac sha;
	uint16_t op;
	uint32_t l2 = 14;

	if (f[12] == 0x81 && f[13] == 0x00)
		l2 = 18;
	arp = f + l2;
	op = (uint16_t)(arp[6] << 8 | arp[7]);
	memcpy(sha.b, arp + 8, 6);
	/* RFC 826: whoever talks to us tells us its address. */
	learn(c, LP_AF_INET, arp + 14, &sha, port);
	if (op == LP_ARP_REQUEST && (is_own(c, LP_AF_INET, arp + 24) || is_vip(c, LP_AF_INET, arp + 24)) &&
	    memcmp(arp + 14, arp + 24, 4) != 0) {
		uint8_t *buf;
		struct rte_mbuf *r = alloc_frame(c, &buf);

		if (r != NULL)
			send_built(c, port,
				   r, lp_pkt_build_arp(buf, rte_pktmbuf_tailroom(r), LP_ARP_REPLY, &c->dp.port[port].mac,
						       arp + 24, &sha, arp + 14));
	}
	rte_pktmbuf_free(m);
}

static void
handle_nd(struct lp_ctl *c, uint16_t port, struct rte_mbuf *m, const struct lp_pkt_meta *meta)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	struct lp_nd_info nd;

	if (lp_pkt_nd_parse(f, meta, &nd) != 0) {
		rte_pktmbuf_free(m);
		return;
	}
	if (meta->icmp_type == 135) {		/* neighbor solicitation */
		static const uint8_t unspec[16];
		bool dad = memcmp(meta->key.src, unspec, 16) == 0;

		if (nd.has_lladdr && !dad)
			learn(c, LP_AF_INET6, meta->key.src, &nd.lladdr, port);
		if (is_own(c, LP_AF_INET6, nd.target) || is_vip(c, LP_AF_INET6, nd.target)) {
			struct lp_nd_spec na = { .src_mac = c->dp.port[port].mac };
			uint8_t *buf;
			struct rte_mbuf *r = alloc_frame(c, &buf);

			if (r == NULL)
				goto out;
			memcpy(na.src, nd.target, 16);
			memcpy(na.target, nd.target, 16);
			na.na_flags = LP_ND_NA_OVERRIDE;
			if (!dad) {
				memcpy(na.dst, meta->key.src, 16);
				memcpy(na.dst_mac.b, nd.has_lladdr ? nd.lladdr.b : f + 6, 6);
				na.na_flags |= LP_ND_NA_SOLICITED;
			}
			send_built(c, port, r, lp_pkt_build_na(buf, rte_pktmbuf_tailroom(r), &na));
		}
	} else if (meta->icmp_type == 136) {	/* neighbor advertisement */
		if (nd.has_lladdr)
			learn(c, LP_AF_INET6, nd.target, &nd.lladdr, port);
		else if (nd.na_flags & LP_ND_NA_SOLICITED)
			confirm(c, LP_AF_INET6, nd.target);
	}
out:
	rte_pktmbuf_free(m);
}

/* Echo reply in place: swap addresses, change the type, fix checksums. */
static void
handle_echo(struct lp_ctl *c, uint16_t port, struct rte_mbuf *m, const struct lp_pkt_meta *meta)
{
	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	uint8_t *ip = f + meta->l3_off;
	uint8_t *icmp = f + meta->l4_off;
	uint8_t tmp[16];
	bool v4 = meta->key.family == LP_AF_INET;
	uint16_t ck, old, new;

	if (meta->icmp_type != (v4 ? 8 : 128) || meta->l4_off == 0) {
		c->stats->drop[LP_DROP_ICMP_UNHANDLED]++;
		rte_pktmbuf_free(m);
		return;
	}
	/* Back to the hop it came from. */
	memcpy(f, f + 6, 6);
	memcpy(f + 6, c->dp.port[port].mac.b, 6);
	if (v4) {
		memcpy(tmp, ip + 12, 4);
		memcpy(ip + 12, ip + 16, 4);
		memcpy(ip + 16, tmp, 4);
		ip[8] = 64;
		ip[10] = ip[11] = 0;
		ck = lp_ipv4_cksum(ip);
		memcpy(ip + 10, &ck, 2);
	} else {
		memcpy(tmp, ip + 8, 16);
		memcpy(ip + 8, ip + 24, 16);
		memcpy(ip + 24, tmp, 16);
		ip[7] = 64;
	}
	/* Only the type byte changes (the ICMPv6 pseudo header sums the same
	 * addresses swapped), so the checksum update is incremental. */
	old = (uint16_t)(icmp[0] << 8 | icmp[1]);
	icmp[0] = v4 ? 0 : 129;
	new = (uint16_t)(icmp[0] << 8 | icmp[1]);
	memcpy(&ck, icmp + 2, 2);
	{
		uint8_t ob[2] = { (uint8_t)(old >> 8), (uint8_t)old }, nb[2] = { (uint8_t)(new >> 8), (uint8_t)new };

		ck = lp_csum_replace(ck, ob, nb, 2);
	}
	memcpy(icmp + 2, &ck, 2);
	ctl_send(c, port, m);
}

#define ICMP_ERRORS_PER_SEC 200u

/* Tell a client its packet does not fit the tunnel (fragmentation needed,
 * packet too big), from limpet's address on the port it came in on, back
 * to the hop it came from. Rate limited as RFC 1812 / 4443 ask. */
static void
send_too_big(struct lp_ctl *c, uint16_t port, struct rte_mbuf *m, const struct lp_pkt_meta *meta,
	     uint32_t mtu, uint64_t now)
{
	struct lp_slowpath *sp = c->slow;
	struct lp_icmp_err_spec e = { 0 };
	struct lp_ip client = { .family = meta->key.family };
	const struct lp_ip *src;
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	struct rte_mbuf *r;
	uint8_t *buf;

	if (now - sp->icmp_tokens_at >= c->dp.hz) {
		sp->icmp_tokens_at = now;
		sp->icmp_tokens = ICMP_ERRORS_PER_SEC;
	}
	memcpy(client.a, meta->key.src, 16);
	src = own_addr(c, port, &client);
	if (sp->icmp_tokens == 0 || src == NULL || (r = alloc_frame(c, &buf)) == NULL) {
		c->stats->drop[LP_DROP_TOO_BIG]++;
		rte_pktmbuf_free(m);
		return;
	}
	sp->icmp_tokens--;
	memcpy(e.dst_mac.b, f + 6, 6);
	e.src_mac = c->dp.port[port].mac;
	e.src = *src;
	e.type = meta->key.family == LP_AF_INET ? 3 : 2;
	e.code = meta->key.family == LP_AF_INET ? 4 : 0;
	e.info = mtu;
	send_built(c, port, r, lp_pkt_build_icmp_error(buf, rte_pktmbuf_tailroom(r), &e, f, meta));
	/* The packet itself is not forwarded. */
	c->stats->drop[LP_DROP_TOO_BIG]++;
	rte_pktmbuf_free(m);
}

void
ctl_slowpath_poll(struct lp_ctl *c, uint64_t now)
{
	struct rte_mbuf *pkts[32];

	for (uint32_t w = 0; w < c->dp.n_workers; w++) {
		unsigned int n = rte_ring_sc_dequeue_burst(c->dp.worker[w]->to_ctl, (void **)pkts, 32, NULL);

		c->work += n;
		for (unsigned int i = 0; i < n; i++) {
			struct rte_mbuf *m = pkts[i];
			struct lp_pkt_meta meta;
			int port = port_index_of(c, m->port);

			if (port < 0 || lp_pkt_parse(rte_pktmbuf_mtod(m, const uint8_t *), m->data_len, &meta) !=
						LP_DROP_NONE) {
				rte_pktmbuf_free(m);
				continue;
			}
			if (m->hash.fdir.hi == LP_SLOW_TOO_BIG) {
				send_too_big(c, (uint16_t)port, m, &meta, m->hash.fdir.lo, now);
				continue;
			}
			if (m->hash.fdir.hi == LP_SLOW_RESOLVE) {
				hold_for_neighbor(c, m, &meta, m->hash.fdir.lo, now);
				continue;
			}
			switch (meta.cls) {
			case LP_PKT_ARP:
				ctl_kernel_neigh(c, (uint16_t)port, m, &meta);
				handle_arp(c, (uint16_t)port, m);
				continue;
			case LP_PKT_ND:
				ctl_kernel_neigh(c, (uint16_t)port, m, &meta);
				handle_nd(c, (uint16_t)port, m, &meta);
				continue;
			default:
				break;
			}
			if (meta.cls == LP_PKT_ICMP)
				handle_echo(c, (uint16_t)port, m, &meta);
			else if (lp_health_input(c, m, &meta, now) != 0 && !ctl_kernel_input(c, (uint16_t)port, m))
				rte_pktmbuf_free(m);	/* nothing of limpet's listens there, no kernel interface */
		}
	}
	resolve_tick(c, now);
}

static void
announce_addr(struct lp_ctl *c, uint16_t port, const struct lp_ip *addr)
{
	struct rte_mbuf *m;
	uint8_t *buf;

	m = alloc_frame(c, &buf);
	if (m == NULL)
		return;
	if (addr->family == LP_AF_INET) {
		send_built(c, port, m, lp_pkt_build_arp(buf, rte_pktmbuf_tailroom(m), LP_ARP_REQUEST,
							 &c->dp.port[port].mac, addr->a, &bcast, addr->a));
	} else {
		struct lp_nd_spec na = { .src_mac = c->dp.port[port].mac, .na_flags = LP_ND_NA_OVERRIDE };

		memcpy(na.src, addr->a, 16);
		memcpy(na.target, addr->a, 16);
		send_built(c, port, m, lp_pkt_build_na(buf, rte_pktmbuf_tailroom(m), &na));
	}
}

void
lp_ctl_announce(struct lp_ctl *c)
{
	/* Gratuitous ARP / unsolicited NA for the port's own addresses and
	 * every VIP, so switches and neighbors learn limpet at once. */
	for (uint16_t p = 0; p < c->dp.n_ports; p++) {
		const struct lp_cfg_port *cp = &c->cfg->ports[p];

		for (uint32_t i = 0; i < cp->n_addrs; i++)
			announce_addr(c, p, &cp->addr[i]);
		for (uint32_t i = 0; i < LP_MAX_SERVICES; i++) {
			bool seen = false;

			if (c->svc[i] == NULL)
				continue;
			/* One announcement per VIP, however many ports it serves. */
			for (uint32_t k = 0; k < i && !seen; k++)
				seen = c->svc[k] != NULL && lp_ip_equal(&c->svc[k]->cfg.vip, &c->svc[i]->cfg.vip);
			if (!seen)
				announce_addr(c, p, &c->svc[i]->cfg.vip);
		}
	}
}
