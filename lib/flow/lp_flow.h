/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Per-worker flow shard: an rte_hash keyed by struct lp_flow_key whose
 * positions index a parallel array of struct lp_flow.
 *
 * One writer, the owning worker (RSS decides which worker sees a flow).
 * Other workers may look up a shard lock-free (RW_CONCURRENCY_LF): the NAT
 * reply path does so when a backend is shared by several services. Deleted
 * positions are reused only after an RCU grace period, so a reader that
 * found a position reads that flow's entry, never a successor's.
 *
 * The positions waiting for their grace period are queued through their
 * own dead entries (a FIFO linked by position, each stamped with its
 * grace-period token), not in the hash's defer queue: that queue is a ring
 * of 16 bytes per possible entry, a fifth of the table's memory, while a
 * dead entry has room to spare and the list never fills.
 *
 * Aging is incremental: the owner scans a few positions per loop pass.
 * An entry past its timeout but not yet swept may be revived by a packet of
 * the same connection (lazy expiry, as VPP's lb plugin does).
 */
#ifndef LP_FLOW_H
#define LP_FLOW_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_hash.h>
#include <rte_hash_crc.h>

#include "lp_pkt.h"

struct rte_rcu_qsbr;

/** Connection state as seen from the client side. */
enum lp_flow_state {
	LP_FLOW_FREE = 0,
	LP_FLOW_SYN,		/**< SYN seen, handshake not completed */
	LP_FLOW_EST,		/**< client sent an ACK after its SYN */
	LP_FLOW_FIN,		/**< FIN or RST seen */
	LP_FLOW_UDP,
	LP_FLOW_STATES
};

#define LP_FLOW_F_AFF 0x01	/**< pinned to an affinity binding (aff_pos valid) */
#define LP_FLOW_F_LOAD 0x02	/**< counted in its service's per-backend active flows */
#define LP_FLOW_F_AFF_OK 0x04	/**< its binding was confirmed through it (or found confirmed) */

/**
 * One flow (32 bytes: two per cache line). Once deleted (state FREE) an
 * entry links the shard's list of positions waiting for a grace period:
 * free_token and free_next overlay last_seen and aff_pos, which nothing
 * reads in a free entry (readers in other workers read svc_id, be_id and
 * be_gen, left as they were).
 */
struct lp_flow {
	union {
		uint64_t last_seen;	/**< TSC of the last packet */
		uint64_t free_token;	/**< FREE: grace-period token of the delete */
	};
	uint16_t svc_id;
	uint16_t svc_gen;
	uint16_t be_id;
	uint16_t be_gen;
	union {
		uint32_t aff_pos;	/**< affinity entry position, when LP_FLOW_F_AFF */
		uint32_t free_next;	/**< FREE: next position waiting, LP_FLOW_NO_POS at the end */
	};
	uint32_t aff_serial;	/**< that entry's serial when pinned */
	uint8_t state;		/**< enum lp_flow_state */
	uint8_t flags;		/**< LP_FLOW_F_* */
	uint16_t aff_sec;	/**< low bits of the second the binding was last refreshed */
	uint32_t reserved;
};
_Static_assert(sizeof(struct lp_flow) == 32, "two flows per cache line");

#define LP_FLOW_NO_POS UINT32_MAX

/** A worker's shard. */
/**
 * IPv4 flows are kept under a compact 16-byte key: with rte_hash's 8-byte
 * slot header a key then takes 32 bytes, two per cache line and never
 * straddling one, where the 40-byte key of lp_flow_key takes 48 (half of
 * them across two lines, of which the hash prefetches one). That is both
 * the faster lookup and the smaller table. IPv6 keeps the full key.
 */
struct lp_flow_key4 {
	uint64_t w[2];		/**< addresses; ports and protocol (lp_flow_key4_make()) */
};
_Static_assert(sizeof(struct lp_flow_key4) == 16, "compact IPv4 key");

/** Tables of a shard: IPv4 keys, everything else (IPv6). */
enum { LP_FLOW_T4 = 0, LP_FLOW_T6 = 1 };

/** A worker's shard. Positions of the IPv6 table follow the IPv4 ones in e[]. */
struct lp_flow_shard {
	struct rte_hash *h[2];	/**< [LP_FLOW_T4], [LP_FLOW_T6] */
	uint32_t base[2];	/**< first position of each table in e[] */
	struct lp_flow *e;	/**< indexed by position */
	uint32_t n_pos;		/**< entries in e[] */
	uint32_t capacity;	/**< IPv4 and IPv6 flows together */
	uint32_t age_cursor;
	struct rte_rcu_qsbr *qsbr;	/**< readers of the shard; NULL: positions free at once */
	uint32_t dead_head, dead_tail;	/**< deleted positions waiting, oldest first */
	uint32_t n_dead;
	uint64_t timeout[LP_FLOW_STATES]; /**< TSC cycles per state */
};

/**
 * Create a shard for @p capacity flows on NUMA @p socket. @p qsbr is the
 * RCU variable workers report to (for position reuse).
 * @return the shard or NULL with rte_errno set.
 */
struct lp_flow_shard *lp_flow_shard_create(const char *name, uint32_t capacity4, uint32_t capacity6,
					   int socket, struct rte_rcu_qsbr *qsbr);
void lp_flow_shard_free(struct lp_flow_shard *s);

/** Set per-state timeouts in seconds (syn, est, fin, udp) for a TSC of @p hz. */
void lp_flow_set_timeouts(struct lp_flow_shard *s, uint64_t hz, uint32_t syn_s, uint32_t est_s,
			  uint32_t fin_s, uint32_t udp_s);

/** Seed of the shards' CRC32C hash (the function the hash is created with). */
#define LP_FLOW_HASH_INIT 0x4c696d70u

/* The two words of an IPv4 flow's compact key, built in registers: a key
 * assembled from byte and half-word stores and then read back as words
 * would stall on store forwarding, once per packet. */
static inline uint64_t
lp_flow_key4_w0(const struct lp_flow_key *k)
{
	uint32_t src, dst;

	memcpy(&src, k->src, 4);
	memcpy(&dst, k->dst, 4);
	return (uint64_t)src | (uint64_t)dst << 32;
}

static inline uint64_t
lp_flow_key4_w1(const struct lp_flow_key *k)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t w;

	/* sport, dport and proto lie in this order from byte 32: one load,
	 * family and zone masked off. */
	memcpy(&w, &k->sport, 8);
	return w & 0xffffffffffull;
#else
	return (uint64_t)k->sport | (uint64_t)k->dport << 16 | (uint64_t)k->proto << 32;
#endif
}

/** The compact key of an IPv4 flow key. */
static inline void
lp_flow_key4_make(struct lp_flow_key4 *k4, const struct lp_flow_key *k)
{
	k4->w[0] = lp_flow_key4_w0(k);
	k4->w[1] = lp_flow_key4_w1(k);
}

/** The flow key of a compact one (for walks and views). */
static inline void
lp_flow_key4_expand(const struct lp_flow_key4 *k4, struct lp_flow_key *k)
{
	uint32_t src = (uint32_t)k4->w[0], dst = (uint32_t)(k4->w[0] >> 32);

	memset(k, 0, sizeof(*k));
	memcpy(k->src, &src, 4);
	memcpy(k->dst, &dst, 4);
	k->sport = (uint16_t)k4->w[1];
	k->dport = (uint16_t)(k4->w[1] >> 16);
	k->proto = (uint8_t)(k4->w[1] >> 32);
	k->family = LP_AF_INET;
}

/** Which table holds a key. */
static inline unsigned int
lp_flow_table_of(const struct lp_flow_key *k)
{
	return k->family == LP_AF_INET ? LP_FLOW_T4 : LP_FLOW_T6;
}

/* CRC is linear: keys that differ in a few bits (neighbouring addresses
 * and ports) differ in a few signature bits too, and the cuckoo table's
 * two buckets per key then collide in patterns that make inserts search
 * long. A multiply-xorshift spreads them. */
static inline hash_sig_t
lp_flow_mix(uint32_t crc)
{
	crc ^= crc >> 16;
	crc *= 0x7feb352du;
	crc ^= crc >> 15;
	crc *= 0x846ca68bu;
	crc ^= crc >> 16;
	return crc;
}

/*
 * Signature of @p len (a multiple of 8) bytes: CRC32C, then mixed. The key
 * is read through memcpy: a cast to uint64_t (as rte_hash_crc() does)
 * could read a key just built field by field in the same function before
 * its stores (strict aliasing), hashing garbage.
 */
static inline hash_sig_t
lp_flow_crc(const void *key, size_t len)
{
	const uint8_t *p = key;
	uint32_t crc = LP_FLOW_HASH_INIT;

	for (size_t i = 0; i < len; i += 8) {
		uint64_t w;

		memcpy(&w, p + i, 8);
		crc = rte_hash_crc_8byte(w, crc);
	}
	return lp_flow_mix(crc);
}

/* The signature of a compact key from its words (what lp_flow_crc() of
 * the key in memory gives). */
static inline hash_sig_t
lp_flow_sig4(uint64_t w0, uint64_t w1)
{
	return lp_flow_mix(rte_hash_crc_8byte(w1, rte_hash_crc_8byte(w0, LP_FLOW_HASH_INIT)));
}

/** The shards' hash function (rte_hash calls it where it hashes a key itself). */
uint32_t lp_flow_hash_fn(const void *key, uint32_t len, uint32_t init);

/**
 * Signature (hash) of a key as the shard computes it; equal for every
 * shard. Inline, not through the hash's function pointer: two CRC32
 * instructions for an IPv4 key, five for an IPv6 one, no indirect call.
 */
static inline hash_sig_t
lp_flow_sig(const struct lp_flow_shard *s, const struct lp_flow_key *k)
{
	(void)s;
	if (k->family != LP_AF_INET)
		return lp_flow_crc(k, sizeof(*k));
	return lp_flow_sig4(lp_flow_key4_w0(k), lp_flow_key4_w1(k));
}

/**
 * Look up to 64 keys (struct lp_flow_key); pos[i] is the position or
 * negative when absent, and sig[i] the key's signature (for
 * lp_flow_insert_sig()). Each table is searched in one bulk call, which
 * prefetches buckets and keys for the whole batch.
 */
static inline void
lp_flow_lookup_bulk(const struct lp_flow_shard *s, const void **keys, uint32_t n, hash_sig_t *sig,
		    int32_t *pos)
{
	struct lp_flow_key4 k4[64];
	const void *kp4[64], *kp6[64];
	hash_sig_t ks4[64], ks6[64];
	int32_t r[64];
	uint8_t at4[64], at6[64];
	uint32_t n4 = 0, n6 = 0;

	for (uint32_t i = 0; i < n; i++) {
		const struct lp_flow_key *k = keys[i];

		if (likely(k->family == LP_AF_INET)) {
			uint64_t w0 = lp_flow_key4_w0(k), w1 = lp_flow_key4_w1(k);

			k4[n4].w[0] = w0;
			k4[n4].w[1] = w1;
			kp4[n4] = &k4[n4];
			ks4[n4] = sig[i] = lp_flow_sig4(w0, w1);
			at4[n4++] = (uint8_t)i;
		} else {
			kp6[n6] = k;
			ks6[n6] = sig[i] = lp_flow_crc(k, sizeof(*k));
			at6[n6++] = (uint8_t)i;
		}
	}
	if (n6 == 0) {
		/* All IPv4, in order; IPv4 positions start at 0. */
		rte_hash_lookup_with_hash_bulk(s->h[LP_FLOW_T4], kp4, ks4, n4, pos);
		return;
	}
	if (n4 > 0) {
		rte_hash_lookup_with_hash_bulk(s->h[LP_FLOW_T4], kp4, ks4, n4, r);
		for (uint32_t j = 0; j < n4; j++)
			pos[at4[j]] = r[j];
	}
	rte_hash_lookup_with_hash_bulk(s->h[LP_FLOW_T6], kp6, ks6, n6, r);
	for (uint32_t j = 0; j < n6; j++)
		pos[at6[j]] = r[j] >= 0 ? r[j] + (int32_t)s->base[LP_FLOW_T6] : r[j];
}

/** Position of one key or negative. Safe from other workers (lock-free readers). */
static inline int32_t
lp_flow_lookup_sig(const struct lp_flow_shard *s, const struct lp_flow_key *k, hash_sig_t sig)
{
	struct lp_flow_key4 k4;
	int32_t pos;

	if (k->family != LP_AF_INET) {
		pos = rte_hash_lookup_with_hash(s->h[LP_FLOW_T6], k, sig);
		return pos >= 0 ? pos + (int32_t)s->base[LP_FLOW_T6] : pos;
	}
	lp_flow_key4_make(&k4, k);
	return rte_hash_lookup_with_hash(s->h[LP_FLOW_T4], &k4, sig);
}

/** Has flow @p f outlived its state's timeout at @p now? */
static inline bool
lp_flow_expired(const struct lp_flow_shard *s, const struct lp_flow *f, uint64_t now)
{
	return now - f->last_seen > s->timeout[f->state];
}

/* ---- the connection state machine (client side) ----
 *
 *   (none) ──SYN──► SYN ──ACK──► EST
 *                    │            │
 *                    └─FIN/RST────┴──► FIN ──SYN (or any state expired, SYN)──► new connection
 *   (none) ──UDP──► UDP
 *
 * A packet of the client's side only: the backend's answers (NAT replies)
 * reach limpet on any worker and change no state. Each state has its own
 * timeout (lp_flow_set_timeouts()).
 */

/** May a packet with these flags create a flow? TCP: only the client's first SYN (no ACK). UDP: any. */
static inline bool
lp_flow_opens(uint8_t proto, uint8_t tcp_flags)
{
	return proto != IPPROTO_TCP || (tcp_flags & (LP_TCP_SYN | LP_TCP_ACK)) == LP_TCP_SYN;
}

/** The state of a flow its first packet just created. */
static inline uint8_t
lp_flow_first_state(uint8_t proto)
{
	return proto == IPPROTO_TCP ? LP_FLOW_SYN : LP_FLOW_UDP;
}

/**
 * Does a TCP packet with @p tcp_flags start a new connection over flow
 * @p f, whose 5-tuple it reuses? Yes for a SYN when the flow is closed
 * (FIN/RST seen) or has outlived its timeout at @p now: the new connection
 * is placed afresh, like any other.
 */
static inline bool
lp_flow_tcp_reopens(const struct lp_flow_shard *s, const struct lp_flow *f, uint8_t tcp_flags, uint64_t now)
{
	return (tcp_flags & (LP_TCP_SYN | LP_TCP_ACK)) == LP_TCP_SYN &&
	       (f->state == LP_FLOW_FIN || lp_flow_expired(s, f, now));
}

/** The state of a TCP flow in @p state after a client packet with @p tcp_flags. */
static inline uint8_t
lp_flow_tcp_next(uint8_t state, uint8_t tcp_flags)
{
	if (tcp_flags & (LP_TCP_FIN | LP_TCP_RST))
		return LP_FLOW_FIN;
	if (state == LP_FLOW_SYN && (tcp_flags & (LP_TCP_SYN | LP_TCP_ACK)) == LP_TCP_ACK)
		return LP_FLOW_EST;
	return state;
}

/**
 * Insert a key (owner only). @return the position (its entry zeroed), or
 * -ENOSPC when the shard is full (deleted positions still in their grace
 * period count as used).
 */
int32_t lp_flow_insert(struct lp_flow_shard *s, const struct lp_flow_key *k);

/** As lp_flow_insert() for a key whose signature @p sig is known (lp_flow_sig()). */
int32_t lp_flow_insert_sig(struct lp_flow_shard *s, const struct lp_flow_key *k, hash_sig_t sig);

/**
 * Remove the flow at @p pos (owner only). The key goes at once; the
 * position is reused after a grace period of the shard's RCU variable.
 */
void lp_flow_delete(struct lp_flow_shard *s, int32_t pos);

/**
 * Return to the hash, oldest first, up to @p max deleted positions whose
 * grace period is over (owner only; never waits). @return how many.
 */
uint32_t lp_flow_reclaim(struct lp_flow_shard *s, uint32_t max);

/**
 * Sweep up to @p scan positions from the aging cursor; expired flows are
 * copied to @p out (up to @p max_out) and deleted. @return flows expired.
 */
uint32_t lp_flow_age(struct lp_flow_shard *s, uint64_t now, uint32_t scan, struct lp_flow *out,
		     uint32_t max_out);

/** Flows in the shard. */
uint32_t lp_flow_count(const struct lp_flow_shard *s);

/**
 * Visit every live flow (owner only, or while the owner is stopped).
 * @p fn returns non-zero to stop.
 */
void lp_flow_walk(struct lp_flow_shard *s,
		  int (*fn)(void *ctx, const struct lp_flow_key *k, const struct lp_flow *f), void *ctx);

#endif /* LP_FLOW_H */
