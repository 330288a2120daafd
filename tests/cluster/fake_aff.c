/* SPDX-License-Identifier: BSD-3-Clause */
/* A fake local affinity table: open addressing on the binding key. */
#include <stdlib.h>
#include <string.h>

#include "fake_aff.h"
#include "redis_harness.h"

static uint32_t
hash_key(const struct lp_cluster_key *k)
{
	uint32_t h = 2166136261u;
	const uint8_t *p = (const uint8_t *)k;

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

int
fake_init(struct fake_tab *t, uint32_t cap)
{
	uint32_t c = 64;

	memset(t, 0, sizeof(*t));
	while (c < cap * 2)
		c *= 2;
	t->e = calloc(c, sizeof(*t->e));
	t->cap = c;
	return t->e == NULL ? -1 : 0;
}

void
fake_free(struct fake_tab *t)
{
	free(t->e);
	memset(t, 0, sizeof(*t));
}

static struct fake_ent *
slot(struct fake_tab *t, const struct lp_cluster_key *k, bool add)
{
	struct fake_ent *tomb = NULL;

	for (uint32_t i = hash_key(k) & (t->cap - 1), n = 0; n < t->cap; i = (i + 1) & (t->cap - 1), n++) {
		struct fake_ent *e = &t->e[i];

		if (e->state == 0)
			return add ? (tomb != NULL ? tomb : e) : NULL;
		if (e->state == 2) {
			if (tomb == NULL)
				tomb = e;
			continue;
		}
		if (memcmp(&e->key, k, sizeof(*k)) == 0)
			return e;
	}
	return add ? tomb : NULL;
}

struct fake_ent *
fake_find(struct fake_tab *t, const struct lp_cluster_key *k)
{
	return slot(t, k, false);
}

struct fake_ent *
fake_put(struct fake_tab *t, const struct lp_cluster_key *k, const struct lp_cluster_backend *be, uint8_t origin)
{
	struct fake_ent *e = slot(t, k, true);

	if (e == NULL)
		return NULL;
	if (e->state != 1)
		t->n++;
	e->state = 1;
	e->key = *k;
	e->be = *be;
	e->origin = origin;
	e->ttl_ms = -1;
	e->last_ns = now_ns();
	return e;
}

void
fake_del(struct fake_tab *t, const struct lp_cluster_key *k)
{
	struct fake_ent *e = slot(t, k, false);

	if (e != NULL) {
		e->state = 2;
		t->n--;
	}
}

static bool
be_eq(const struct lp_cluster_backend *a, const struct lp_cluster_backend *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

enum lp_cluster_result
fake_apply(void *arg, const struct lp_cluster_update *u)
{
	struct fake_tab *t = arg;
	struct fake_ent *e = fake_find(t, &u->key);

	if (u->op < 5)
		t->ops[u->op]++;
	switch (u->op) {
	case LP_CLUSTER_ADD:
		/* another instance's create: a binding here stands */
		if (e != NULL)
			return LP_CLUSTER_UNCHANGED;
		/* fall through */
	case LP_CLUSTER_SET:
	case LP_CLUSTER_ALIVE:
		if (t->has_reject && be_eq(&u->be, &t->reject))
			return LP_CLUSTER_REJECTED;
		if (e != NULL && be_eq(&e->be, &u->be)) {
			if (u->ttl_ms >= 0)
				e->ttl_ms = u->ttl_ms;
			if (u->op == LP_CLUSTER_ALIVE)
				e->last_ns = now_ns();
			return LP_CLUSTER_UNCHANGED;
		}
		e = fake_put(t, &u->key, &u->be, u->origin);
		if (e == NULL)
			return LP_CLUSTER_REJECTED;
		e->ttl_ms = u->ttl_ms;
		return LP_CLUSTER_APPLIED;
	default:	/* DEL, GONE */
		if (e == NULL)
			return LP_CLUSTER_UNCHANGED;
		fake_del(t, &u->key);
		return LP_CLUSTER_APPLIED;
	}
}

unsigned int
fake_walk(void *arg, uint64_t *cursor, struct lp_cluster_binding *out, unsigned int max)
{
	struct fake_tab *t = arg;
	unsigned int n = 0;
	uint64_t i = *cursor;
	uint64_t now = now_ns();

	while (i < t->cap && n < max) {
		struct fake_ent *e = &t->e[i++];

		if (e->state != 1)
			continue;
		out[n].key = e->key;
		out[n].be = e->be;
		out[n].idle_s = (uint32_t)((now - e->last_ns) / 1000000000u);
		n++;
	}
	*cursor = i >= t->cap ? 0 : i;
	return n;
}

struct lp_cluster_key
mk_key(uint16_t svc, uint32_t client)
{
	struct lp_cluster_key k;

	memset(&k, 0, sizeof(k));
	k.svc_id = svc;
	k.family = 4;
	k.prefix = 32;
	k.addr[0] = 10;
	k.addr[1] = (uint8_t)(client >> 16);
	k.addr[2] = (uint8_t)(client >> 8);
	k.addr[3] = (uint8_t)client;
	return k;
}

struct lp_cluster_backend
mk_be(uint8_t last, uint16_t port)
{
	struct lp_cluster_backend b;

	memset(&b, 0, sizeof(b));
	b.family = 4;
	b.addr[0] = 10;
	b.addr[1] = 1;
	b.addr[3] = last;
	b.port = port;
	return b;
}
