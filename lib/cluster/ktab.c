/* SPDX-License-Identifier: BSD-3-Clause */
/* Per-binding replication state: a chained hash over a slab of entries
 * (stable indices, so the dirty FIFO and in-flight commands refer to an
 * entry by index), grown by doubling. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_priv.h"

static int
grow_buckets(struct ktab *t, uint32_t n)
{
	uint32_t *b = malloc((size_t)n * sizeof(*b));

	if (b == NULL)
		return -ENOMEM;
	memset(b, 0xff, (size_t)n * sizeof(*b));
	free(t->bucket);
	t->bucket = b;
	t->mask = n - 1;
	for (uint32_t i = 0; i < t->cap; i++) {
		struct kent *e = &t->e[i];
		uint32_t h;

		if (e->hnext == NONE32 - 1)	/* free */
			continue;
		h = (uint32_t)codec_key_hash(&e->key) & t->mask;
		e->hnext = b[h];
		b[h] = i;
	}
	return 0;
}

static int
grow_slab(struct ktab *t)
{
	uint32_t cap = t->cap * 2;
	struct kent *e = realloc(t->e, (size_t)cap * sizeof(*e));

	if (e == NULL)
		return -ENOMEM;
	t->e = e;
	/* New entries go on the free list, lowest first. */
	for (uint32_t i = cap; i-- > t->cap;) {
		e[i].hnext = NONE32 - 1;
		e[i].qnext = t->free_head;
		t->free_head = i;
	}
	t->cap = cap;
	return 0;
}

int
ktab_init(struct ktab *t, uint32_t cap)
{
	memset(t, 0, sizeof(*t));
	if (cap < 64)
		cap = 64;
	t->e = malloc((size_t)cap * sizeof(*t->e));
	if (t->e == NULL)
		return -ENOMEM;
	t->free_head = NONE32;
	for (uint32_t i = cap; i-- > 0;) {
		t->e[i].hnext = NONE32 - 1;
		t->e[i].qnext = t->free_head;
		t->free_head = i;
	}
	t->cap = cap;
	t->q_head = t->q_tail = NONE32;
	if (grow_buckets(t, cap) != 0) {
		free(t->e);
		return -ENOMEM;
	}
	return 0;
}

void
ktab_free(struct ktab *t)
{
	free(t->e);
	free(t->bucket);
	memset(t, 0, sizeof(*t));
}

uint32_t
ktab_find(const struct ktab *t, const struct lp_cluster_key *k)
{
	uint32_t i = t->bucket[(uint32_t)codec_key_hash(k) & t->mask];

	while (i != NONE32) {
		if (codec_key_eq(&t->e[i].key, k))
			return i;
		i = t->e[i].hnext;
	}
	return NONE32;
}

uint32_t
ktab_get(struct ktab *t, const struct lp_cluster_key *k)
{
	uint32_t i = ktab_find(t, k), h;
	struct kent *e;

	if (i != NONE32)
		return i;
	if (t->free_head == NONE32 && grow_slab(t) != 0)
		return NONE32;
	if (t->used + 1 > t->mask + 1 && grow_buckets(t, (t->mask + 1) * 2) != 0)
		return NONE32;
	i = t->free_head;
	e = &t->e[i];
	t->free_head = e->qnext;
	memset(e, 0, sizeof(*e));
	e->key = *k;
	e->qnext = NONE32;
	h = (uint32_t)codec_key_hash(k) & t->mask;
	e->hnext = t->bucket[h];
	t->bucket[h] = i;
	t->used++;
	return i;
}

void
ktab_release(struct ktab *t, uint32_t i)
{
	struct kent *e = &t->e[i];
	uint32_t *p;

	if (e->hnext == NONE32 - 1 || e->op != KOP_NONE || e->queued || e->inflight > 0 ||
	    e->unseen > 0)
		return;
	p = &t->bucket[(uint32_t)codec_key_hash(&e->key) & t->mask];
	while (*p != i)
		p = &t->e[*p].hnext;
	*p = e->hnext;
	e->hnext = NONE32 - 1;
	e->qnext = t->free_head;
	t->free_head = i;
	t->used--;
}

void
ktab_queue(struct ktab *t, uint32_t i)
{
	struct kent *e = &t->e[i];

	if (e->queued)
		return;
	e->queued = 1;
	e->qnext = NONE32;
	if (t->q_tail == NONE32)
		t->q_head = i;
	else
		t->e[t->q_tail].qnext = i;
	t->q_tail = i;
	t->q_len++;
}

uint32_t
ktab_dequeue(struct ktab *t)
{
	uint32_t i = t->q_head;

	if (i == NONE32)
		return NONE32;
	t->q_head = t->e[i].qnext;
	if (t->q_head == NONE32)
		t->q_tail = NONE32;
	t->e[i].queued = 0;
	t->e[i].qnext = NONE32;
	t->q_len--;
	return i;
}

int
ktab_shrink(struct ktab *t)
{
	struct ktab n;

	if (t->used != 0 || ktab_init(&n, 4096) != 0)
		return -ENOMEM;
	ktab_free(t);
	*t = n;
	return 0;
}
