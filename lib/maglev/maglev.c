/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Weighted Maglev table (Eisenbud et al., "Maglev: A Fast and Reliable
 * Software Network Load Balancer", NSDI'16, section 3.4) and the
 * bounded-load choice (Mirrokni, Thorup, Zadimoghaddam, "Consistent Hashing
 * with Bounded Loads", SODA'18).
 *
 * A fill pass works like this:
 *  - every participant walks its own permutation of the slots: offset,
 *    offset + skip, offset + 2 skip, ... (mod size). size is prime and
 *    1 <= skip < size, so a walk meets every slot once per size steps;
 *  - participants take turns in rounds. One of weight w takes its k-th slot
 *    in round ceil(k * wmax / w): the credit scheme "credit += w / wmax each
 *    round, take a slot whenever credit reaches 1" done in integers, so slot
 *    shares follow weights and no float rounding can make two machines build
 *    different tables. With equal weights this is classic Maglev;
 *  - on its turn a participant takes the next free slot of its permutation.
 * Pass 1 runs over every backend of nonzero weight, inactive ones included,
 * which makes its result independent of the flags. Pass 2 frees exactly the
 * slots the inactive backends took and lets the active ones continue their
 * permutations into them, so a flag change moves only that backend's slots.
 *
 * Everything depends only on the sorted backend set and integer arithmetic:
 * the same set builds the same bytes on any machine.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lp_maglev.h"

#define NIL UINT32_MAX
#define RECIPROCAL_SHIFT 44
_Static_assert(LP_MAGLEV_MAX_SIZE < (1u << 20), "mod_size() needs size < 2^20");

/* Hot state of one backend's permutation: 12 bytes, 5 per cache line. */
struct walker {
	uint32_t pos;	/* next slot of the permutation to try */
	uint32_t skip;
	uint32_t inv;	/* skip^-1 mod size, 0 until the tail phase needs it */
};

/*
 * Turn schedule of one pass participant. acc = k * wmax for the slot k it
 * takes next, kept as quotient and remainder by its weight so that the due
 * round ceil(k * wmax / w) advances by additions only.
 */
struct turn {
	uint64_t acc_q;
	uint64_t acc_r;
	uint64_t step_q;	/* wmax / w */
	uint64_t step_r;	/* wmax % w */
	uint32_t weight;
	uint32_t backend;	/* index into the sorted backend array */
	uint32_t next;		/* next participant due in the same round, or NIL */
};

struct fill_ctx {
	uint16_t *slot;
	uint32_t size;
	uint32_t tail_len;	/* free slots left when the tail phase starts */
	uint64_t reciprocal;	/* floor(2^RECIPROCAL_SHIFT / size), see mod_size() */
	struct walker *walk;	/* by backend index */
	struct turn *turn;	/* by participant */
	uint32_t *head;		/* round -> first participant due then; size + 1 entries */
	uint32_t *last;		/* round -> last participant due then (valid if head != NIL) */
	uint32_t *free_slot;	/* tail phase: the free slots, tail_len entries */
};

/* splitmix64's finaliser: a bijective 64-bit mix with full avalanche. */
static inline uint64_t
mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

/* FNV-1a step: byte-wise, so the key does not depend on host byte order. */
static inline uint64_t
fnv1a(uint64_t h, uint8_t byte)
{
	return (h ^ byte) * UINT64_C(0x100000001b3);
}

uint64_t
lp_maglev_key(const uint8_t *addr, size_t addr_len, uint16_t port)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	/* The length goes in first so 4-byte and 16-byte addresses never meet. */
	h = fnv1a(h, (uint8_t)addr_len);
	for (size_t i = 0; i < addr_len; i++)
		h = fnv1a(h, addr[i]);
	h = fnv1a(h, (uint8_t)(port >> 8));
	h = fnv1a(h, (uint8_t)port);
	return mix64(h);
}

bool
lp_maglev_size_valid(uint32_t n)
{
	if (n < 4)
		return n >= 2;
	if (n % 2 == 0 || n % 3 == 0)
		return false;
	for (uint32_t d = 5; (uint64_t)d * d <= n; d += 6)
		if (n % d == 0 || n % (d + 2) == 0)
			return false;
	return true;
}

struct sort_rec {
	uint64_t key;
	uint32_t idx;
};

/*
 * Copy @p src into @p dst in key order. LSD radix sort by key bytes:
 * qsort() with a comparator callback took ~8 ms for 65535 backends, more
 * than a third of that build. Copies field by field over zeroes: the
 * caller's padding bytes must not reach dst, which is part of the
 * byte-identical result. -EINVAL on a duplicate key.
 */
static int
copy_sorted(struct lp_maglev_backend *dst, const struct lp_maglev_backend *src, uint32_t n)
{
	struct sort_rec *rec, *other, *swap;

	rec = malloc(sizeof(*rec) * 2 * (size_t)n);
	if (rec == NULL)
		return -ENOMEM;
	other = rec + n;
	for (uint32_t i = 0; i < n; i++) {
		rec[i].key = src[i].key;
		rec[i].idx = i;
	}
	for (unsigned int shift = 0; shift < 64; shift += 8) {
		uint32_t count[256] = { 0 }, sum = 0;

		for (uint32_t i = 0; i < n; i++)
			count[(rec[i].key >> shift) & 0xff]++;
		/* All keys share this byte: the pass would not move anything. */
		if (count[(rec[0].key >> shift) & 0xff] == n)
			continue;
		for (unsigned int d = 0; d < 256; d++) {
			uint32_t c = count[d];

			count[d] = sum;
			sum += c;
		}
		for (uint32_t i = 0; i < n; i++)
			other[count[(rec[i].key >> shift) & 0xff]++] = rec[i];
		swap = rec;
		rec = other;
		other = swap;
	}

	memset(dst, 0, sizeof(*dst) * n);
	for (uint32_t i = 0; i < n; i++) {
		const struct lp_maglev_backend *b = &src[rec[i].idx];

		if (i > 0 && rec[i].key == rec[i - 1].key) {
			free(rec < other ? rec : other);
			return -EINVAL;
		}
		dst[i].key = b->key;
		dst[i].weight = b->weight;
		dst[i].flags = b->flags;
		dst[i].cookie = b->cookie;
	}
	free(rec < other ? rec : other);
	return 0;
}

/* Append participant j to the round it is due in: rounds are FIFO. */
static inline void
schedule(struct fill_ctx *ctx, uint64_t rounds, uint32_t j)
{
	struct turn *t = &ctx->turn[j];
	uint64_t due = t->acc_q + (t->acc_r != 0);

	/* Past the last round the table is full: the participant is done. */
	if (due > rounds)
		return;
	t->next = NIL;
	if (ctx->head[due] == NIL)
		ctx->head[due] = j;
	else
		ctx->turn[ctx->last[due]].next = j;
	ctx->last[due] = j;
}

/* a^-1 mod m (m prime, 0 < a < m), by the extended Euclidean algorithm. */
static uint32_t
inverse_mod(uint32_t a, uint32_t m)
{
	int64_t t = 0, t_next = 1, r = m, r_next = a;

	while (r_next != 0) {
		int64_t q = r / r_next, x;

		x = t - q * t_next;
		t = t_next;
		t_next = x;
		x = r - q * r_next;
		r = r_next;
		r_next = x;
	}
	return (uint32_t)(t < 0 ? t + m : t);
}

/*
 * x mod size for x < size^2: Barrett reduction in 64-bit integers, so no
 * division and no 128-bit type. With size < 2^20, x * floor(2^44 / size)
 * fits in 64 bits and the quotient it gives is at most one short, which one
 * subtraction fixes.
 */
static inline uint32_t
mod_size(const struct fill_ctx *ctx, uint64_t x)
{
	uint64_t q = (x * ctx->reciprocal) >> RECIPROCAL_SHIFT;
	uint64_t r = x - q * ctx->size;

	return (uint32_t)(r >= ctx->size ? r - ctx->size : r);
}

/*
 * Tail phase: the first free slot on w's permutation, found among the
 * n_free free slots instead of by probing. Slot s lies
 * (s - pos) * skip^-1 mod size steps ahead of pos, so the nearest free slot
 * is the one with the smallest such distance: the same slot probing finds,
 * at a cost of n_free instead of about size / n_free probes. Removes it from
 * the list.
 */
static uint32_t
take_nearest_free(const struct fill_ctx *ctx, struct walker *w, uint32_t n_free)
{
	const uint32_t size = ctx->size;
	uint32_t best = 0, best_dist = UINT32_MAX, s;

	if (w->inv == 0)
		w->inv = inverse_mod(w->skip, size);
	for (uint32_t i = 0; i < n_free; i++) {
		uint32_t ahead = ctx->free_slot[i] + (size - w->pos);
		uint32_t dist;

		if (ahead >= size)
			ahead -= size;
		dist = mod_size(ctx, (uint64_t)ahead * w->inv);

		if (dist < best_dist) {
			best_dist = dist;
			best = i;
		}
	}
	s = ctx->free_slot[best];
	ctx->free_slot[best] = ctx->free_slot[n_free - 1];
	return s;
}

/*
 * Take @p target free slots (LP_MAGLEV_NONE) for participants
 * turn[0..n_part-1], by weighted turns. A calendar of rounds holds who is
 * due when: looping over every participant every round would cost
 * n_part * rounds, which is n_part * size when one weight dwarfs the others;
 * the calendar costs O(size + n_part) whatever the weights. Within a round
 * participants go in the order they were scheduled: least recently served
 * first, key order at the start (so equal weights run in key order).
 *
 * Probing costs about size / free probes per slot, so the last few slots
 * cost most (size * ln(size) probes in all): once tail_len slots are left,
 * take_nearest_free() finds the same slots by arithmetic instead.
 */
static void
fill(struct fill_ctx *ctx, uint32_t n_part, uint32_t target)
{
	uint16_t *slot = ctx->slot;
	const uint32_t size = ctx->size;
	uint64_t wmax = 0, wsum = 0, rounds;
	uint32_t filled = 0, n_free = 0;

	for (uint32_t j = 0; j < n_part; j++) {
		if (ctx->turn[j].weight > wmax)
			wmax = ctx->turn[j].weight;
		wsum += ctx->turn[j].weight;
	}
	/*
	 * Through round R participant j has had floor(R * w_j / wmax) turns,
	 * more than R * wsum / wmax - n_part in all, so the table is full by
	 * R = (target + n_part) * wmax / wsum; and by R = target, since the
	 * heaviest participant has a turn every round.
	 */
	rounds = ((uint64_t)target + n_part) * wmax;
	rounds = rounds / wsum + (rounds % wsum != 0);
	if (rounds > target)
		rounds = target;
	for (uint64_t r = 1; r <= rounds; r++)
		ctx->head[r] = NIL;
	for (uint32_t j = 0; j < n_part; j++) {
		struct turn *t = &ctx->turn[j];

		t->step_q = wmax / t->weight;
		t->step_r = wmax % t->weight;
		t->acc_q = t->step_q;
		t->acc_r = t->step_r;
		schedule(ctx, rounds, j);
	}

	for (uint64_t r = 1; r <= rounds; r++) {
		uint32_t next;

		for (uint32_t j = ctx->head[r]; j != NIL; j = next) {
			struct turn *t = &ctx->turn[j];
			struct walker *w = &ctx->walk[t->backend];
			uint32_t pos = w->pos;
			const uint32_t skip = w->skip;

			next = t->next;
			if (target - filled > ctx->tail_len) {
				/*
				 * A free slot is always ahead: the permutation
				 * covers every slot and filled < target <= free.
				 */
				while (slot[pos] != LP_MAGLEV_NONE) {
					pos += skip;
					if (pos >= size)
						pos -= size;
				}
			} else {
				if (n_free == 0)
					for (uint32_t s = 0; s < size; s++)
						if (slot[s] == LP_MAGLEV_NONE)
							ctx->free_slot[n_free++] = s;
				pos = take_nearest_free(ctx, w, n_free--);
			}
			slot[pos] = (uint16_t)t->backend;
			pos += skip;
			if (pos >= size)
				pos -= size;
			w->pos = pos;
			if (++filled == target)
				return;

			t->acc_q += t->step_q;
			t->acc_r += t->step_r;
			if (t->acc_r >= t->weight) {
				t->acc_r -= t->weight;
				t->acc_q++;
			}
			schedule(ctx, rounds, j);
		}
	}
}

/* Both passes; the table's slots start all LP_MAGLEV_NONE. */
static int
populate(struct lp_maglev_table *t, uint32_t n_part, uint32_t n_live)
{
	const uint32_t size = t->size;
	const uint32_t n = t->n_backends;
	struct fill_ctx ctx;
	uint32_t freed = 0, j = 0;
	size_t bytes;
	void *scratch;

	ctx.slot = t->slot;
	ctx.size = size;
	/*
	 * Probing the last k slots costs about size * ln(k) probes, the tail
	 * phase k^2 / 2 distance computations: sqrt(size) is near the
	 * break-even (measured; anything from 0.25x to 1x sqrt(2 size) was
	 * within noise). Both find the same slots, so this only sets speed.
	 */
	ctx.tail_len = 1;
	while ((uint64_t)ctx.tail_len * ctx.tail_len < size)
		ctx.tail_len++;
	ctx.reciprocal = (UINT64_C(1) << RECIPROCAL_SHIFT) / size;
	bytes = sizeof(struct turn) * n_part + sizeof(struct walker) * n +
		sizeof(uint32_t) * (2 * ((size_t)size + 1) + ctx.tail_len);
	scratch = malloc(bytes);
	if (scratch == NULL)
		return -ENOMEM;
	ctx.turn = scratch;
	ctx.walk = (struct walker *)(ctx.turn + n_part);
	ctx.head = (uint32_t *)(ctx.walk + n);
	ctx.last = ctx.head + size + 1;
	ctx.free_slot = ctx.last + size + 1;

	/* Two independent mixes of the key, as the paper's h1 and h2. */
	for (uint32_t i = 0; i < n; i++) {
		uint64_t key = t->backend[i].key;

		if (t->backend[i].weight == 0)
			continue;
		ctx.walk[i].pos = (uint32_t)(mix64(key ^ UINT64_C(0x6a09e667f3bcc908)) % size);
		ctx.walk[i].skip =
			(uint32_t)(mix64(key ^ UINT64_C(0xbb67ae8584caa73b)) % (size - 1)) + 1;
		ctx.walk[i].inv = 0;
		ctx.turn[j].weight = t->backend[i].weight;
		ctx.turn[j].backend = i;
		j++;
	}
	fill(&ctx, n_part, size);

	if (n_live < n_part) {
		for (uint32_t s = 0; s < size; s++) {
			if (t->backend[t->slot[s]].flags & LP_MAGLEV_F_INACTIVE) {
				t->slot[s] = LP_MAGLEV_NONE;
				freed++;
			}
		}
		/* Walkers keep their positions: pass 2 continues the permutations. */
		j = 0;
		for (uint32_t i = 0; i < n; i++) {
			if (t->backend[i].weight == 0 ||
			    (t->backend[i].flags & LP_MAGLEV_F_INACTIVE))
				continue;
			ctx.turn[j].weight = t->backend[i].weight;
			ctx.turn[j].backend = i;
			j++;
		}
		if (freed > 0)
			fill(&ctx, n_live, freed);
	}
	free(scratch);
	return 0;
}

struct lp_maglev_table *
lp_maglev_build(uint32_t size, const struct lp_maglev_backend *backends, uint32_t n)
{
	struct lp_maglev_table *t;
	uint32_t n_part = 0, n_live = 0;
	size_t bytes;
	int ret;

	if (!lp_maglev_size_valid(size) || size > LP_MAGLEV_MAX_SIZE ||
	    n > LP_MAGLEV_MAX_BACKENDS || (n > 0 && backends == NULL)) {
		errno = EINVAL;
		return NULL;
	}
	/* One allocation: header, sorted backends, per-backend counts, slots. */
	bytes = sizeof(*t) + sizeof(*t->backend) * n + sizeof(*t->owned) * n +
		sizeof(*t->slot) * (size_t)size;
	t = malloc(bytes);
	if (t == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	t->size = size;
	t->n_backends = n;
	t->n_active = 0;
	t->weight_total = 0;
	t->backend = (struct lp_maglev_backend *)(t + 1);
	t->owned = (uint32_t *)(t->backend + n);
	t->slot = (uint16_t *)(t->owned + n);

	if (n > 0) {
		ret = copy_sorted(t->backend, backends, n);
		if (ret < 0) {
			free(t);
			errno = -ret;
			return NULL;
		}
	}
	for (uint32_t i = 0; i < n; i++) {
		if (t->backend[i].weight == 0)
			continue;
		n_part++;
		if (!(t->backend[i].flags & LP_MAGLEV_F_INACTIVE))
			n_live++;
	}

	memset(t->slot, 0xff, sizeof(*t->slot) * (size_t)size);
	memset(t->owned, 0, sizeof(*t->owned) * n);
	if (n_live == 0)
		return t;
	ret = populate(t, n_part, n_live);
	if (ret < 0) {
		free(t);
		errno = -ret;
		return NULL;
	}
	for (uint32_t s = 0; s < size; s++)
		if (t->slot[s] != LP_MAGLEV_NONE)
			t->owned[t->slot[s]]++;
	for (uint32_t i = 0; i < n; i++) {
		if (t->owned[i] == 0)
			continue;
		t->n_active++;
		t->weight_total += t->backend[i].weight;
	}
	return t;
}

void
lp_maglev_free(struct lp_maglev_table *t)
{
	free(t);
}

/*
 * c * (total + 1) / W, shared by lp_maglev_bound() and the pick so that
 * both round identically: a bound is ceil(per_weight * w).
 */
static inline double
bound_scale(const struct lp_maglev_table *t, uint64_t total, double c)
{
	return c * ((double)total + 1.0) / (double)t->weight_total;
}

static inline uint32_t
bound_of(double scale, uint32_t weight)
{
	double x = scale * (double)weight;
	uint64_t b;

	if (!(x < (double)UINT32_MAX))
		return UINT32_MAX;
	b = (uint64_t)x;
	if ((double)b < x)
		b++;
	return b > 0 ? (uint32_t)b : 1;
}

uint32_t
lp_maglev_bound(const struct lp_maglev_table *t, uint32_t idx, uint64_t total, double c)
{
	/* Backends the table never points at may take nothing new. */
	if (idx >= t->n_backends || t->owned[idx] == 0)
		return 0;
	if (!(c > 1.0))
		return UINT32_MAX;
	return bound_of(bound_scale(t, total, c), t->backend[idx].weight);
}

uint32_t
lp_maglev_pick_bounded(const struct lp_maglev_table *t, uint32_t hash, const uint32_t *load,
		       const uint32_t *load_index, uint64_t total, double c)
{
	const uint32_t start = lp_maglev_slot_of(t, hash);
	const uint32_t first = t->slot[start];
	uint32_t s = start;
	double scale;

	if (first == LP_MAGLEV_NONE || !(c > 1.0))
		return first;
	scale = bound_scale(t, total, c);
	/*
	 * If load only counts bindings to backends that own slots (each appears
	 * in the walk) and sums to total, the bounds add up to at least
	 * c * (total + 1) > total, so one is under its bound within size steps.
	 * Loads that break that (stale, or counting removed backends) can fill
	 * every bound; then the plain Maglev choice stands.
	 */
	for (uint32_t step = 0; step < t->size; step++) {
		uint32_t b = t->slot[s];
		uint32_t l = load[load_index != NULL ? load_index[b] : b];

		if (l < bound_of(scale, t->backend[b].weight))
			return b;
		if (++s == t->size)
			s = 0;
	}
	return first;
}
