/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Neighbors (IP → MAC per port) and the connected routes of limpet's ports.
 *
 * The control thread is the only writer: static entries from the config,
 * and entries it learns by ARP/ND. Workers look entries up lock-free and
 * read a resolved MAC with one atomic 64-bit load, so an ARP update never
 * needs a new snapshot or a grace period. Positions of deleted entries are
 * recycled through the hash's RCU defer queue.
 */
#ifndef LP_NBR_H
#define LP_NBR_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_hash.h>

#include "lp_pkt.h"

struct rte_rcu_qsbr;

#define LP_MAX_PORTS 8u
#define LP_NBR_NONE 0xffffffffu

/** MAC word: MAC in bits 0..47 (byte 0 lowest), this flag when resolved. */
#define LP_NBR_RESOLVED (1ull << 63)

/** Neighbor states (control thread's view). */
enum lp_nbr_state {
	LP_NBR_INCOMPLETE = 0,	/**< resolution in progress */
	LP_NBR_REACHABLE,	/**< answered recently */
	LP_NBR_STALE,		/**< past its reachable time: used, re-probed */
	LP_NBR_FAILED,		/**< no answer to the last probes */
	LP_NBR_STATIC,		/**< from the config: never aged or overwritten */
};

struct lp_nbr_key {
	uint8_t addr[16];
	uint8_t family;
	uint8_t pad[7];
} __attribute__((aligned(8)));	/* the hash reads it 8 bytes at a time */

struct lp_nbr_entry {
	_Atomic uint64_t mac;	/**< workers read this only */
	uint16_t port;		/**< port index the neighbor is on */
	uint8_t state;		/**< enum lp_nbr_state (control) */
	uint8_t probes;		/**< unanswered probes (control) */
	uint32_t refs;		/**< backends/gateways referring to it (control) */
	uint64_t confirmed;	/**< TSC of the last answer (control) */
	uint64_t next_probe;	/**< TSC (control) */
	struct lp_nbr_key key;
	_Atomic uint32_t wanted;	/**< set by workers that found it unresolved */
};

struct lp_nbr_table {
	struct rte_hash *h;
	struct lp_nbr_entry *e;
	uint32_t n_pos;
};

struct lp_nbr_table *lp_nbr_create(const char *name, uint32_t capacity, int socket,
				   struct rte_rcu_qsbr *qsbr);
void lp_nbr_free(struct lp_nbr_table *t);

static inline void
lp_nbr_key_make(struct lp_nbr_key *k, uint8_t family, const uint8_t *addr)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->addr, addr, family == LP_AF_INET ? 4 : 16);
	k->family = family;
}

/** Lock-free lookup; position or LP_NBR_NONE. */
static inline uint32_t
lp_nbr_lookup(const struct lp_nbr_table *t, uint8_t family, const uint8_t *addr)
{
	struct lp_nbr_key k;
	int32_t pos;

	lp_nbr_key_make(&k, family, addr);
	pos = rte_hash_lookup(t->h, &k);
	return pos < 0 ? LP_NBR_NONE : (uint32_t)pos;
}

/** Resolved MAC of entry @p pos into @p mac; false when unresolved. */
static inline bool
lp_nbr_mac(const struct lp_nbr_table *t, uint32_t pos, struct lp_mac *mac)
{
	uint64_t w = atomic_load_explicit(&t->e[pos].mac, memory_order_relaxed);

	if (!(w & LP_NBR_RESOLVED))
		return false;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* Byte 0 lowest is the word's memory order here: two stores, not six
	 * shifts (every forwarded packet reads a MAC). */
	memcpy(mac->b, &w, 6);
#else
	for (int i = 0; i < 6; i++)
		mac->b[i] = (uint8_t)(w >> (8 * i));
#endif
	return true;
}

/** Worker: ask the control thread to resolve entry @p pos. */
static inline void
lp_nbr_want(struct lp_nbr_table *t, uint32_t pos)
{
	if (!atomic_load_explicit(&t->e[pos].wanted, memory_order_relaxed))
		atomic_store_explicit(&t->e[pos].wanted, 1, memory_order_relaxed);
}

/**
 * Control: find or create the entry for @p ip on port @p port (created
 * INCOMPLETE). @return position or -ENOSPC.
 */
int32_t lp_nbr_get(struct lp_nbr_table *t, const struct lp_ip *ip, uint16_t port);

/**
 * Control: record a MAC. A STATIC entry changes only with @p state
 * LP_NBR_STATIC. @return position or -ENOSPC.
 */
int32_t lp_nbr_set(struct lp_nbr_table *t, const struct lp_ip *ip, uint16_t port, const struct lp_mac *mac,
		   enum lp_nbr_state state);

/** Control: forget the MAC (unresolved again) keeping the entry. */
void lp_nbr_invalidate(struct lp_nbr_table *t, uint32_t pos, enum lp_nbr_state state);

/** Control: delete an entry. */
void lp_nbr_delete(struct lp_nbr_table *t, uint32_t pos);

/** Connected prefixes and gateways of one port. */
struct lp_route_port {
	uint32_t n_addrs;
	struct lp_ip addr[4];
	uint8_t prefix[4];
	uint32_t gw_nbr[2];	/**< neighbor position of the IPv4 [0] / IPv6 [1] gateway, or LP_NBR_NONE */
};

/** A static route: @p prefix/@p len via a neighbor on a port. */
struct lp_route {
	struct lp_ip prefix;
	uint8_t len;
	uint16_t port;		/**< port index */
	uint32_t nbr;		/**< neighbor position of the next hop */
};

#define LP_MAX_ROUTES 64u

/** The routes of all ports; fixed for limpet's lifetime. */
struct lp_routes {
	uint32_t n_ports;
	struct lp_route_port port[LP_MAX_PORTS];
	uint32_t n_routes;	/**< sorted longest prefix first */
	struct lp_route route[LP_MAX_ROUTES];
};

/**
 * Where to send a packet for @p addr: on-link on a port (then *nbr is
 * LP_NBR_NONE: look the destination itself up), else by the longest
 * matching static route, else via a port's default gateway (*nbr is the
 * next hop's entry). @return the port index, or -1 (no route).
 */
static inline bool
lp_route_on_link(const struct lp_ip *ip, const struct lp_ip *net, unsigned int prefix)
{
	uint32_t a, n, mask;

	if (ip->family != LP_AF_INET || net->family != LP_AF_INET)
		return lp_ip_in_prefix(ip, net, prefix);
	/* IPv4 inline: every NAT reply asks this of each port address. The
	 * bytes after an IPv4 address are zero in both. */
	memcpy(&a, ip->a, 4);
	memcpy(&n, net->a, 4);
	mask = prefix == 0 ? 0 : prefix >= 32 ? UINT32_MAX : ~(UINT32_MAX >> prefix);
	return (rte_be_to_cpu_32(a ^ n) & mask) == 0;
}

static inline int
lp_route_lookup(const struct lp_routes *r, uint8_t family, const uint8_t *addr, uint32_t *nbr)
{
	struct lp_ip ip = { .family = family };

	memcpy(ip.a, addr, family == LP_AF_INET ? 4 : 16);
	for (uint32_t p = 0; p < r->n_ports; p++)
		for (uint32_t i = 0; i < r->port[p].n_addrs; i++)
			if (lp_route_on_link(&ip, &r->port[p].addr[i], r->port[p].prefix[i])) {
				*nbr = LP_NBR_NONE;
				return (int)p;
			}
	for (uint32_t i = 0; i < r->n_routes; i++)
		if (lp_ip_in_prefix(&ip, &r->route[i].prefix, r->route[i].len)) {
			*nbr = r->route[i].nbr;
			return r->route[i].port;
		}
	for (uint32_t p = 0; p < r->n_ports; p++) {
		uint32_t gw = r->port[p].gw_nbr[family == LP_AF_INET ? 0 : 1];

		if (gw != LP_NBR_NONE) {
			*nbr = gw;
			return (int)p;
		}
	}
	return -1;
}

#endif /* LP_NBR_H */
