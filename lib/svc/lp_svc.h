/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Services, backends and the RCU-protected endpoint array.
 *
 * The control thread owns the model; workers only read immutable
 * snapshots. A change is: build a complete new snapshot, publish it with
 * one release store, wait for a grace period (rte_rcu_qsbr), free the old
 * one. Workers load a service pointer while processing a burst and report
 * a quiescent state once per loop pass, after the burst, so a snapshot a
 * worker holds cannot be freed under it.
 *
 * Backends carry a service-local id that never changes while the backend
 * exists, plus a generation bumped whenever an id is reused, so a flow or
 * binding that remembers (id, generation) can tell "my backend" from "a
 * new backend in my old slot".
 */
#ifndef LP_SVC_H
#define LP_SVC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "lp_maglev.h"
#include "lp_pkt.h"
#include "lp_svc_enum.h"

struct rte_rcu_qsbr;

#define LP_MAX_SERVICES 1024u		/**< service ids 0..1023 */
#define LP_SVC_MAX_BACKENDS 4096u	/**< backend ids per service */
#define LP_MAX_BACKEND_SLOTS 65536u	/**< global per-backend counter slots */
#define LP_SVC_ID_NONE 0xffffu

/** One backend in a snapshot, indexed by its id. */
struct lp_svc_backend {
	uint8_t addr[16];	/**< network order, IPv4 in addr[0..3] */
	uint16_t port;		/**< network order */
	uint8_t family;		/**< LP_AF_INET / LP_AF_INET6 */
	uint8_t state;		/**< enum lp_be_state */
	uint16_t gen;		/**< generation of this id */
	uint16_t tx_port;	/**< DPDK port towards the backend */
	uint32_t nbr;		/**< neighbor slot of the next hop (see lp_nbr.h) */
	uint32_t gslot;		/**< global counter slot */
	uint32_t weight;	/**< effective weight (after slow start) */
	uint32_t mg_idx;	/**< index in the Maglev table's backend[], LP_MAGLEV_NONE if absent */
};

/**
 * Mutable per-service load, shared by all workers and all snapshots of the
 * service (ids are stable across snapshots). active[id] counts bindings for
 * services with affinity, flows otherwise; bounded load reads it.
 */
struct lp_svc_load {
	_Atomic uint32_t active[LP_SVC_MAX_BACKENDS];
	_Atomic uint64_t total;
};

/** An immutable service snapshot. */
struct lp_svc {
	char name[32];
	uint16_t id;
	uint16_t gen;		/**< bumped when a service id is reused */
	uint8_t proto;
	uint8_t mode;		/**< enum lp_fwd_mode */
	uint8_t family;		/**< VIP family */
	uint8_t affinity;	/**< sessionAffinity: ClientIP */
	uint8_t sched;		/**< enum lp_sched */
	uint8_t prefix_v4, prefix_v6;
	uint8_t vip[16];
	uint16_t port;		/**< network order */
	uint32_t aff_timeout_s;
	double bounded_load;	/**< c; 0 = off */
	uint8_t tunnel_src4[4], tunnel_mask4[4];   /**< outer source = prefix | (hash & ~mask) */
	uint8_t tunnel_src6[16], tunnel_mask6[16];
	struct lp_maglev_table *mg;
	uint32_t *mg_id;	/**< Maglev index → backend id */
	uint32_t n_ids;		/**< entries in be[] */
	struct lp_svc_backend *be;
	struct lp_svc_load *load;
};

/**
 * Backend (@p id, @p gen) of @p s, or NULL when the snapshot no longer has
 * it: the id is out of range, not in use, or reused by a newer backend
 * (another generation). This is what "the same backend" means everywhere:
 * a flow, a binding or a load count that remembers (id, gen) refers to
 * this backend, whatever its state.
 */
static inline const struct lp_svc_backend *
lp_svc_backend(const struct lp_svc *s, uint32_t id, uint16_t gen)
{
	const struct lp_svc_backend *b;

	if (id >= s->n_ids)
		return NULL;
	b = &s->be[id];
	return b->gen == gen && b->state != LP_BE_ABSENT ? b : NULL;
}

/** Is backend (@p id, @p gen) of @p s still usable for an existing flow or binding (up or draining)? */
static inline bool
lp_svc_backend_valid(const struct lp_svc *s, uint32_t id, uint16_t gen)
{
	const struct lp_svc_backend *b = lp_svc_backend(s, id, gen);

	return b != NULL && b->state <= LP_BE_DRAINING;
}

/* ---- load accounting and the scheduler (workers; pick.c) ---- */

/** Count one more flow or binding on backend @p id. */
static inline void
lp_svc_load_inc(struct lp_svc_load *l, uint16_t id)
{
	atomic_fetch_add_explicit(&l->active[id], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&l->total, 1, memory_order_relaxed);
}

/**
 * Count one less on backend @p id, never below zero: the control thread
 * zeroes the count of a removed backend, and a late decrement for it must
 * not wrap.
 */
static inline void
lp_svc_load_dec(struct lp_svc_load *l, uint16_t id)
{
	uint32_t v = atomic_load_explicit(&l->active[id], memory_order_relaxed);

	while (v > 0)
		if (atomic_compare_exchange_weak_explicit(&l->active[id], &v, v - 1, memory_order_relaxed,
							  memory_order_relaxed)) {
			atomic_fetch_sub_explicit(&l->total, 1, memory_order_relaxed);
			return;
		}
}

/**
 * The scheduler: a backend of @p s for a new client (services with
 * affinity) or a new flow (without), by the service's scheduler:
 *  - maglev: the Maglev choice for @p hash; with bounded load (c > 1) and
 *    @p count, the first backend of the hash's preference order whose load
 *    is under its bound (*@p spilled tells when that is not the plain
 *    choice);
 *  - wrr: the next slot of the Maglev table from @p wrr_cursor (one per
 *    worker and service), a weighted round robin;
 *  - least_conn: the active backend with the least load per weight,
 *    starting at a hash-chosen one so ties spread.
 * @p count: the caller holds the choice (a binding, or a flow of a service
 * without affinity), so it is added to the backend's load.
 * @return the backend id, or LP_SVC_ID_NONE when no backend is active.
 */
uint16_t lp_svc_pick(const struct lp_svc *s, uint32_t hash, bool count, uint32_t *wrr_cursor, bool *spilled);

/** What the control thread hands lp_svc_build() for one backend. */
struct lp_svc_backend_spec {
	uint32_t id;
	uint16_t gen;
	struct lp_ip addr;
	uint16_t port;		/**< host order */
	uint8_t state;		/**< enum lp_be_state except ABSENT */
	uint32_t weight;	/**< effective weight */
	uint32_t maglev_weight;	/**< weight in the table's first pass (see lp_svc_build()) */
	uint16_t tx_port;
	uint32_t nbr;
	uint32_t gslot;
};

/** Everything a service snapshot is built from. */
struct lp_svc_spec {
	const char *name;
	uint16_t id, gen;
	uint8_t proto, mode, sched, affinity, prefix_v4, prefix_v6;
	struct lp_ip vip;
	uint16_t port;		/**< host order */
	uint32_t aff_timeout_s;
	double bounded_load;
	struct lp_ip tunnel_src4, tunnel_src6;
	uint8_t tunnel_src4_len, tunnel_src6_len;
	uint32_t maglev_size;
	uint32_t n_backends;
	const struct lp_svc_backend_spec *backends;
	struct lp_svc_load *load;
};

/**
 * Build an immutable snapshot (Maglev table included). Draining and down
 * backends are inactive in the table: they keep their first-pass slots
 * reserved, so toggling one moves only its own slots.
 * @return the snapshot or NULL with errno set.
 */
struct lp_svc *lp_svc_build(const struct lp_svc_spec *spec);
void lp_svc_free(struct lp_svc *s);

/** Kinds of keys in the classification index. */
enum lp_idx_kind {
	LP_IDX_VIP = 1,		/**< (vip, port, proto) → service id */
	LP_IDX_VIP_ANYPORT,	/**< (vip, proto) → service id, or LP_IDX_AMBIGUOUS (fragments) */
	LP_IDX_REV,		/**< (backend addr, port, proto) of NAT services → service(s) */
	LP_IDX_REV_ANYPORT,	/**< (backend addr, proto) of NAT services → service(s) (reply fragments) */
	LP_IDX_OWN,		/**< own address → port index */
	LP_IDX_VIPADDR,		/**< a VIP address (any port) → first service id */
};

#define LP_IDX_AMBIGUOUS 0xfffffffeu
#define LP_IDX_MULTI 0x80000000u	/**< value | MULTI: index into multi[] */
#define LP_IDX_NONE 0xffffffffu

/** One slot of the open-addressing index (24 bytes). */
struct lp_idx_slot {
	uint8_t addr[16];
	uint16_t port;		/**< network order; 0 for *_ANYPORT, OWN, VIPADDR */
	uint8_t proto;		/**< 0 for OWN, VIPADDR */
	uint8_t kind;		/**< enum lp_idx_kind; 0 = empty slot */
	uint32_t value;
};

/** Services sharing one reverse key: count then ids. */
struct lp_idx_multi {
	uint16_t n;
	uint16_t id[7];
};

/**
 * Immutable classification index: which service a packet is for (VIP),
 * which NAT service a reply comes from, which addresses are limpet's own.
 * Rebuilt and republished when services, backends or ports change.
 */
struct lp_svc_index {
	uint32_t mask;		/**< slots - 1 (power of two) */
	uint32_t n_multi;
	struct lp_idx_multi *multi;
	struct lp_idx_slot slot[];
};

/** Hash of an index key; the same for build and lookup. */
static inline uint32_t
lp_idx_hash(const uint8_t *addr, uint16_t port, uint8_t proto, uint8_t kind)
{
	uint8_t k[20];

	memcpy(k, addr, 16);
	memcpy(k + 16, &port, 2);
	k[18] = proto;
	k[19] = kind;
	return lp_hash_bytes(k, sizeof(k), 0x1dc5);
}

/** Look a key up; LP_IDX_NONE when absent. addr is 16 bytes (IPv4 zero-padded). */
static inline uint32_t
lp_idx_lookup(const struct lp_svc_index *ix, uint8_t kind, const uint8_t *addr, uint16_t port,
	      uint8_t proto)
{
	uint32_t i = lp_idx_hash(addr, port, proto, kind) & ix->mask;

	for (;;) {
		const struct lp_idx_slot *s = &ix->slot[i];

		if (s->kind == 0)
			return LP_IDX_NONE;
		if (s->kind == kind && s->port == port && s->proto == proto &&
		    memcmp(s->addr, addr, 16) == 0)
			return s->value;
		i = (i + 1) & ix->mask;
	}
}

/** Own addresses of one DPDK port, for the index. */
struct lp_idx_own {
	struct lp_ip addr;
	uint32_t port_index;
};

/**
 * Build the index from the current snapshots (NULL entries skipped) and
 * own addresses. @return the index (free with lp_svc_index_free()) or NULL
 * with errno set.
 */
struct lp_svc_index *lp_svc_index_build(struct lp_svc *const *svcs, uint32_t n_svcs,
					const struct lp_idx_own *own, uint32_t n_own);
void lp_svc_index_free(struct lp_svc_index *ix);

/**
 * The endpoint array: every worker reads service snapshots and the index
 * through it; only the control thread stores.
 */
struct lp_svc_table {
	struct lp_svc *_Atomic svc[LP_MAX_SERVICES];
	struct lp_svc_index *_Atomic index;
};

/** Worker side: the current snapshot of service @p id (NULL when none). */
static inline struct lp_svc *
lp_svc_get(struct lp_svc_table *t, uint32_t id)
{
	/* Acquire pairs with the release in lp_svc_publish(): a worker that
	 * sees the new pointer sees the snapshot's contents as built. */
	return atomic_load_explicit(&t->svc[id], memory_order_acquire);
}

static inline struct lp_svc_index *
lp_svc_index_get(struct lp_svc_table *t)
{
	return atomic_load_explicit(&t->index, memory_order_acquire);
}

/** Control side: publish @p s as service @p id (NULL removes); returns the old snapshot to retire. */
struct lp_svc *lp_svc_publish(struct lp_svc_table *t, uint32_t id, struct lp_svc *s);
/** Control side: publish a new index; returns the old one to retire. */
struct lp_svc_index *lp_svc_index_publish(struct lp_svc_table *t, struct lp_svc_index *ix);

/**
 * Deferred frees after a grace period, for the control thread: objects
 * retired here are freed by lp_retire_poll() once every registered worker
 * has reported a quiescent state since their retirement.
 */
struct lp_retire;
struct lp_retire *lp_retire_create(struct rte_rcu_qsbr *qsbr);
/** Queue obj for free_fn(obj) after a grace period. Returns 0 or -ENOMEM. */
int lp_retire_defer(struct lp_retire *r, void (*free_fn)(void *), void *obj);
/** Free what is past its grace period without blocking; returns how many were freed. */
unsigned int lp_retire_poll(struct lp_retire *r);
/** Wait for a grace period and free everything queued. */
void lp_retire_sync(struct lp_retire *r);
/** Objects waiting. */
unsigned int lp_retire_pending(const struct lp_retire *r);
void lp_retire_destroy(struct lp_retire *r);

#endif /* LP_SVC_H */
