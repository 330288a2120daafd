/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Client affinity table (sessionAffinity: ClientIP).
 *
 * One table for all services, keyed by {service, masked client address}:
 * RSS spreads one client's connections over every worker, and each of them
 * must find the same binding. Readers are lock-free
 * (RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF); workers insert (the hash's
 * multi-writer lock, taken only when a client is first seen); the control
 * thread expires and deletes.
 *
 * A binding's target is one 64-bit word {serial, backend id + 1, backend
 * generation} changed only by compare-and-swap, so two workers re-choosing
 * a binding at once agree on one winner. The serial changes whenever a
 * position is recycled; a worker still holding the old position (it looked
 * the key up just before the delete) fails its CAS instead of binding a
 * stranger. Positions are recycled only after an RCU grace period.
 *
 * last_seen is refreshed at most once a second per entry, so the shared
 * cache line is written rarely even when many workers carry the client.
 *
 * A binding is born provisional: the packet that created it (a bare SYN,
 * or a UDP datagram) proves nothing about its source, and a flood of
 * spoofed SYNs would otherwise fill the table with bindings that live
 * timeoutSeconds each and lock later clients out. It is confirmed when one
 * of its connections shows the client is real (lp_aff_confirm(): the TCP
 * handshake completed, or a UDP flow's second packet). Until then it lives
 * only `provisional_s` after its last use (the SYN-state flow timeout), and
 * when the table nears full the control thread reclaims provisional
 * bindings to make room (lp_aff_reclaim_provisional()), never confirmed
 * ones. The state byte goes provisional -> confirmed (a worker) or
 * provisional -> doomed (the control thread, just before deleting) by
 * compare-and-swap, so a binding confirmed at the moment it is reclaimed
 * is either kept or counted as reclaimed, never both.
 */
#ifndef LP_AFFINITY_H
#define LP_AFFINITY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>

#include "lp_pkt.h"

struct rte_rcu_qsbr;

/** Key: a service and a client address masked by the service's prefix. */
struct lp_aff_key {
	uint8_t addr[16];
	uint16_t svc_id;
	uint8_t family;
	uint8_t pad[5];		/**< always 0 */
} __attribute__((aligned(8)));	/* the hash reads it 8 bytes at a time */

/** Why a binding was created, moved or removed (per-service counters). */
#define LP_AFF_REASONS(X) \
	X(NEW,        "new",        "binding created for a client seen the first time") \
	X(EXPIRED,    "expired",    "binding removed after timeoutSeconds without traffic") \
	X(DOWN,       "down",       "binding moved because its backend went down or was removed") \
	X(DRAINED,    "drained",    "binding removed when its draining backend was removed") \
	X(SPILLED,    "spilled",    "new binding sent past a backend over its bounded-load share") \
	X(REBALANCED, "rebalanced", "idle binding moved to its new Maglev choice after scale-out") \
	X(CLEARED,    "cleared",    "binding removed by `clear affinity`") \
	X(CONFIRMED,  "confirmed",  "provisional binding confirmed: a connection of its client completed a handshake") \
	X(UNCONFIRMED, "unconfirmed", "provisional binding removed after its short life without a completed handshake") \
	X(RECLAIMED,  "reclaimed",  "provisional binding removed to make room while the affinity table was nearly full")

enum lp_aff_reason {
#define LP_AFF_ENUM(name, str, help) LP_AFF_##name,
	LP_AFF_REASONS(LP_AFF_ENUM)
#undef LP_AFF_ENUM
	LP_AFF_REASON_MAX
};

const char *lp_aff_reason_name(enum lp_aff_reason r);
const char *lp_aff_reason_help(enum lp_aff_reason r);

/** One binding; a cache line of its own because several workers touch it. */
struct lp_aff_entry {
	_Atomic uint64_t target;	/**< serial:32 | (backend id + 1):16 | backend gen:16 */
	_Atomic uint32_t last_seen;	/**< limpet seconds */
	_Atomic uint32_t flows;		/**< live flows pinned to this binding */
	_Atomic uint32_t created;	/**< limpet seconds */
	_Atomic uint8_t used;		/**< key present (set by the inserter) */
	_Atomic uint8_t state;		/**< enum lp_aff_state */
	_Atomic uint8_t origin;		/**< LP_AFF_ORIGIN_LOCAL, or where a replicated binding came from (enum lp_cluster_origin) */
	uint8_t pad[1];
	struct lp_aff_key key;		/**< copy for the control thread's scans */
	uint8_t pad2[64 - 48];
} __attribute__((aligned(64)));

/** lp_aff_entry.origin of a binding this instance chose (values above: lib/cluster's enum lp_cluster_origin). */
#define LP_AFF_ORIGIN_LOCAL 0

_Static_assert(sizeof(struct lp_aff_entry) == 64, "one cache line per binding");
_Static_assert(sizeof(struct lp_aff_key) == 24, "three words: lp_aff_key_make(), lp_aff_sig()");

/** A binding's standing (struct lp_aff_entry's state). */
enum lp_aff_state {
	LP_AFF_ST_PROVISIONAL = 0,	/**< created by a connection that has not completed a handshake */
	LP_AFF_ST_CONFIRMED = 1,	/**< one of its connections completed a handshake */
	LP_AFF_ST_DOOMED = 2,	/**< being reclaimed by the control thread */
};

static inline uint32_t
lp_aff_serial(uint64_t t)
{
	return (uint32_t)(t >> 32);
}

/** True when the target names a backend. */
static inline bool
lp_aff_bound(uint64_t t)
{
	return ((t >> 16) & 0xffff) != 0;
}

static inline uint16_t
lp_aff_be_id(uint64_t t)
{
	return (uint16_t)(((t >> 16) & 0xffff) - 1);
}

static inline uint16_t
lp_aff_be_gen(uint64_t t)
{
	return (uint16_t)(t & 0xffff);
}

static inline uint64_t
lp_aff_make(uint32_t serial, uint16_t id, uint16_t gen)
{
	return (uint64_t)serial << 32 | (uint64_t)(uint16_t)(id + 1) << 16 | gen;
}

/** Life of a provisional binding until the control thread sets one (flows.tcp_syn_timeout's default). */
#define LP_AFF_PROVISIONAL_S_DEFAULT 10u

struct lp_aff_table {
	struct rte_hash *h;
	struct lp_aff_entry *e;		/**< by position */
	uint32_t n_pos;
	uint32_t capacity;
	/* control thread only */
	struct rte_rcu_qsbr *qsbr;
	uint32_t provisional_s;		/**< life of a provisional binding after its last use */
	uint32_t reclaim_cursor;	/**< where lp_aff_reclaim_provisional() goes on */
	uint32_t scan_cursor;
	uint32_t n_dead, dead_cap;
	struct lp_aff_dead *dead;	/**< deleted, waiting for a grace period */
};

/**
 * Create the table for @p capacity bindings. @return it or NULL with
 * rte_errno set.
 */
struct lp_aff_table *lp_aff_create(const char *name, uint32_t capacity, int socket,
				   struct rte_rcu_qsbr *qsbr);
void lp_aff_free(struct lp_aff_table *t);

/* The first @p bits bits (0..64) of a 64-bit word as loaded from memory. */
static inline uint64_t
lp_aff_mask64(unsigned int bits)
{
	return rte_cpu_to_be_64(bits >= 64 ? UINT64_MAX : bits == 0 ? 0 : ~(UINT64_MAX >> bits));
}

/**
 * Build the key for a client of a service: @p addr (16 bytes, IPv4 in the
 * first 4, the rest zero) masked to @p prefix bits. Built in registers and
 * stored as whole words (the hash reads it 8 bytes at a time right after).
 */
static inline void
lp_aff_key_make(struct lp_aff_key *k, uint16_t svc_id, uint8_t family, const uint8_t *addr,
		unsigned int prefix)
{
	unsigned int max = family == LP_AF_INET ? 32 : 128, bits = prefix < max ? prefix : max;
	uint64_t w[3];

	memcpy(&w[0], addr, 8);
	memcpy(&w[1], addr + 8, 8);
	w[0] &= lp_aff_mask64(bits);
	w[1] &= lp_aff_mask64(bits > 64 ? bits - 64 : 0);
#if RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN
	w[2] = (uint64_t)svc_id | (uint64_t)family << 16;	/* svc_id, family, pad: bytes 16..23 */
#else
	w[2] = (uint64_t)svc_id << 48 | (uint64_t)family << 40;
#endif
	memcpy(k, w, sizeof(w));
}

/**
 * The hash Maglev places a client by: its masked address alone (not the
 * service id, which is local to one limpet), so every worker and every
 * limpet instance with the same config puts a new client on one backend.
 */
static inline uint32_t
lp_aff_client_hash(const struct lp_aff_key *k)
{
	return lp_hash_bytes(k->addr, sizeof(k->addr), 0x636c6e74u ^ k->family);
}

/** Seed of the table's hash (rte_hash_crc over the key). */
#define LP_AFF_HASH_INIT 0x61666631u

/**
 * Signature of a key: what the table's own hash function (rte_hash_crc,
 * LP_AFF_HASH_INIT) gives, inline rather than through the hash's function
 * pointer: three CRC32 instructions.
 */
static inline hash_sig_t
lp_aff_sig(const struct lp_aff_table *t, const struct lp_aff_key *k)
{
	uint64_t w[3];

	(void)t;
	memcpy(w, k, sizeof(w));
	return rte_hash_crc_8byte(w[2], rte_hash_crc_8byte(w[1], rte_hash_crc_8byte(w[0], LP_AFF_HASH_INIT)));
}

/** Lock-free lookup: position or negative. */
static inline int32_t
lp_aff_lookup(const struct lp_aff_table *t, const struct lp_aff_key *k, hash_sig_t sig)
{
	return rte_hash_lookup_with_hash(t->h, k, sig);
}

/**
 * Lock-free lookup of @p n keys (at most 64) with their signatures:
 * pos[i] is the position or negative. The hash prefetches all their
 * buckets first, so a burst of new connections waits for memory once.
 */
static inline void
lp_aff_lookup_bulk(const struct lp_aff_table *t, const void **keys, hash_sig_t *sig, uint32_t n,
		   int32_t *pos)
{
	rte_hash_lookup_with_hash_bulk(t->h, keys, sig, n, pos);
}

/**
 * Find or add the key (workers; takes the hash's writer lock on a miss).
 * A new entry starts unbound and provisional with last_seen = created = @p now_s.
 * @return position, or -ENOSPC when the table is full.
 */
int32_t lp_aff_insert(struct lp_aff_table *t, const struct lp_aff_key *k, hash_sig_t sig, uint32_t now_s);

/** Refresh last_seen at most once a second. */
static inline void
lp_aff_touch(struct lp_aff_entry *e, uint32_t now_s)
{
	if (atomic_load_explicit(&e->last_seen, memory_order_relaxed) != now_s)
		atomic_store_explicit(&e->last_seen, now_s, memory_order_relaxed);
}

/** Read the target. */
static inline uint64_t
lp_aff_target(struct lp_aff_entry *e)
{
	return atomic_load_explicit(&e->target, memory_order_acquire);
}

/**
 * Replace target @p expected by backend (id, gen) keeping the serial.
 * @return true when this caller's CAS won; else @p expected holds the current target.
 */
static inline bool
lp_aff_set(struct lp_aff_entry *e, uint64_t *expected, uint16_t id, uint16_t gen)
{
	uint64_t next = lp_aff_make(lp_aff_serial(*expected), id, gen);

	return atomic_compare_exchange_strong_explicit(&e->target, expected, next, memory_order_acq_rel,
						       memory_order_acquire);
}

/**
 * Confirm the binding at @p e if it still is the one a flow pinned
 * (@p serial) and still provisional (workers, lock-free).
 * @return true when this call confirmed it (count it once).
 */
static inline bool
lp_aff_confirm(struct lp_aff_entry *e, uint32_t serial)
{
	uint8_t want = LP_AFF_ST_PROVISIONAL;

	if (atomic_load_explicit(&e->state, memory_order_relaxed) != LP_AFF_ST_PROVISIONAL ||
	    lp_aff_serial(lp_aff_target(e)) != serial)
		return false;
	return atomic_compare_exchange_strong_explicit(&e->state, &want, LP_AFF_ST_CONFIRMED, memory_order_relaxed,
						       memory_order_relaxed);
}

/** True while the binding at @p e awaits confirmation. */
static inline bool
lp_aff_provisional(const struct lp_aff_entry *e)
{
	return atomic_load_explicit(&e->state, memory_order_relaxed) == LP_AFF_ST_PROVISIONAL;
}

/**
 * Control thread: has the binding at @p e, last used at @p seen, outlived
 * its life at @p now_s? A confirmed binding lives @p timeout_s (its
 * service's timeoutSeconds), a provisional one the shorter of that and the
 * table's provisional_s.
 */
static inline bool
lp_aff_expired(const struct lp_aff_table *t, const struct lp_aff_entry *e, uint32_t seen, uint32_t now_s,
	       uint32_t timeout_s)
{
	uint32_t life = timeout_s;

	if (lp_aff_provisional(e) && t->provisional_s < life)
		life = t->provisional_s;
	return (int32_t)(now_s - seen) > 0 && now_s - seen > life;
}

/**
 * Control thread: delete the binding at @p pos. The position is reset and
 * recycled by lp_aff_reclaim() after a grace period.
 * @return 0, or -ENOENT when not in use.
 */
int lp_aff_delete(struct lp_aff_table *t, uint32_t pos);

/**
 * Control thread: claim the provisional binding at @p pos for removal
 * (provisional -> doomed), so that no worker confirms it meanwhile.
 * @return true when claimed; the caller then deletes it.
 */
bool lp_aff_doom(struct lp_aff_table *t, uint32_t pos);

/**
 * Control thread: make room by deleting up to @p want provisional bindings,
 * visiting at most @p budget positions from where the last call stopped.
 * Bindings idle at least @p min_idle_s seconds at @p now_s go first: a
 * pass takes only those, and a second pass (when the first found too few)
 * takes younger ones too. Confirmed bindings are never taken. For each one
 * deleted, @p fn (when not NULL) gets its entry and its target as they
 * were before the delete.
 * @return bindings deleted.
 */
uint32_t lp_aff_reclaim_provisional(struct lp_aff_table *t, uint32_t want, uint32_t budget, uint32_t now_s,
				    uint32_t min_idle_s,
				    void (*fn)(void *ctx, const struct lp_aff_entry *e, uint64_t target), void *ctx);

/** Control thread: recycle deleted positions past their grace period (non-blocking). */
unsigned int lp_aff_reclaim(struct lp_aff_table *t, bool wait);

/** Bindings in the table (including ones waiting to be recycled). */
uint32_t lp_aff_count(const struct lp_aff_table *t);

#endif /* LP_AFFINITY_H */
