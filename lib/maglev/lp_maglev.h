/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Weighted Maglev lookup table and bounded-load choice.
 *
 * The table maps a 32-bit key hash to a backend. It is a pure function of
 * the backend *set* (keys, weights, active flags): lp_maglev_build() sorts
 * its input by key, so N limpet instances given one config build
 * byte-identical tables whatever order backends were listed or added in,
 * and agree on every new client without sharing state.
 *
 * Inactive backends (down, draining) keep the slots they would own in the
 * first fill pass; a second pass hands exactly those slots to the active
 * backends. Marking one backend inactive therefore moves only its own
 * slots, spread evenly over the rest, and marking it active again moves
 * them back.
 */
#ifndef LP_MAGLEV_H
#define LP_MAGLEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Default table size (prime). */
#define LP_MAGLEV_DEFAULT_SIZE 65537u
/** Largest table size accepted (prime, ~10x the default). */
#define LP_MAGLEV_MAX_SIZE 655373u
/** Backends per table: slots are 16-bit indices, 0xffff means "none". */
#define LP_MAGLEV_MAX_BACKENDS 65535u
#define LP_MAGLEV_NONE 0xffffu

/** Backend is in the table's first pass but receives no slots. */
#define LP_MAGLEV_F_INACTIVE 0x1u

/** One backend as the table builder sees it. */
struct lp_maglev_backend {
	uint64_t key;		/**< stable identity, unique in the set (see lp_maglev_key()) */
	uint32_t weight;	/**< relative weight; 0 takes no slots */
	uint32_t flags;		/**< LP_MAGLEV_F_* */
	uint32_t cookie;	/**< caller's value, carried through the sort (e.g. a backend id) */
};

/** A built table: slot[] holds indices into the sorted backend array. */
struct lp_maglev_table {
	uint32_t size;		/**< prime number of slots */
	uint32_t n_backends;	/**< entries in backend[] (active or not) */
	uint32_t n_active;	/**< backends that own slots */
	uint64_t weight_total;	/**< sum of weights of active backends */
	struct lp_maglev_backend *backend; /**< sorted by key; points into the table's allocation */
	uint16_t *slot;		/**< size entries; LP_MAGLEV_NONE when no backend is active */
	/**
	 * n_backends entries: slots each backend owns (its share is
	 * owned[i] / size). n_active counts the nonzero ones and weight_total
	 * sums their weights; that is every active backend of nonzero weight
	 * unless the table has fewer slots than such backends.
	 */
	uint32_t *owned;
};

/**
 * Stable key of a backend from its address bytes (4 or 16) and port (any
 * fixed byte order): equal inputs give equal keys on every machine.
 */
uint64_t lp_maglev_key(const uint8_t *addr, size_t addr_len, uint16_t port);

/** True when n is prime (table sizes must be). */
bool lp_maglev_size_valid(uint32_t n);

/**
 * Build a table of @p size slots (prime, <= LP_MAGLEV_MAX_SIZE) for @p n
 * backends (<= LP_MAGLEV_MAX_BACKENDS, unique keys). Slot shares follow the
 * weights of the active backends.
 *
 * @return the table (free with lp_maglev_free()), or NULL with errno set:
 *   EINVAL (size not prime, n too large, duplicate key), ENOMEM.
 */
struct lp_maglev_table *lp_maglev_build(uint32_t size, const struct lp_maglev_backend *backends,
					 uint32_t n);

/** Free a table built by lp_maglev_build(); NULL is a no-op. */
void lp_maglev_free(struct lp_maglev_table *t);

/** Slot a hash falls in (multiply-shift range reduction, no division). */
static inline uint32_t
lp_maglev_slot_of(const struct lp_maglev_table *t, uint32_t hash)
{
	return (uint32_t)(((uint64_t)hash * t->size) >> 32);
}

/** Backend index for a hash, or LP_MAGLEV_NONE when no backend is active. */
static inline uint32_t
lp_maglev_lookup(const struct lp_maglev_table *t, uint32_t hash)
{
	return t->slot[lp_maglev_slot_of(t, hash)];
}

/**
 * Most load backend @p idx may hold under bounded load with factor @p c
 * (> 1.0) when @p total bindings exist: ceil(c * (total + 1) * w / W), at
 * least 1. With equal weights this is ceil(c * mean) after the new binding.
 * A backend that owns no slot gets 0; @p c <= 1.0 gives UINT32_MAX (no bound).
 */
uint32_t lp_maglev_bound(const struct lp_maglev_table *t, uint32_t idx, uint64_t total, double c);

/**
 * Bounded-load choice (consistent hashing with bounded loads): walk the
 * key's preference order, starting at its Maglev slot and continuing with
 * the following slots, and return the first backend whose load is below
 * lp_maglev_bound(). @p load is indexed by @p load_index[idx] when
 * load_index is non-NULL (e.g. stable backend ids), else by idx.
 * @p c <= 1.0 disables the bound (plain lookup). At most size slots are
 * visited; when @p load sums to @p total over backends that own slots, one
 * is always under its bound, otherwise (stale loads) the walk may find none
 * and the plain Maglev choice is returned.
 *
 * @return backend index, or LP_MAGLEV_NONE when no backend is active.
 */
uint32_t lp_maglev_pick_bounded(const struct lp_maglev_table *t, uint32_t hash, const uint32_t *load,
				const uint32_t *load_index, uint64_t total, double c);

#endif /* LP_MAGLEV_H */
