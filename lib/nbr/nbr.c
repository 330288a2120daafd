/* SPDX-License-Identifier: BSD-3-Clause */
/* Neighbor table: single writer (control thread), lock-free readers. */
#include <errno.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "lp_nbr.h"

struct lp_nbr_table *
lp_nbr_create(const char *name, uint32_t capacity, int socket, struct rte_rcu_qsbr *qsbr)
{
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = capacity < 64 ? 64 : capacity,
		.key_len = sizeof(struct lp_nbr_key),
		.hash_func = rte_hash_crc,
		.hash_func_init_val = 0x6e6272,
		.socket_id = socket,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF,
	};
	struct rte_hash_rcu_config rcu = { .v = qsbr, .mode = RTE_HASH_QSBR_MODE_DQ };
	struct lp_nbr_table *t;
	int32_t max_id;

	t = rte_zmalloc_socket("lp_nbr_table", sizeof(*t), RTE_CACHE_LINE_SIZE, socket);
	if (t == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	t->h = rte_hash_create(&hp);
	if (t->h == NULL)
		goto fail;
	if (qsbr != NULL && rte_hash_rcu_qsbr_add(t->h, &rcu) != 0)
		goto fail;
	max_id = rte_hash_max_key_id(t->h);
	t->n_pos = (uint32_t)max_id + 1;
	t->e = rte_zmalloc_socket("lp_nbr_entries", (size_t)t->n_pos * sizeof(*t->e), RTE_CACHE_LINE_SIZE,
				  socket);
	if (t->e == NULL) {
		rte_errno = ENOMEM;
		goto fail;
	}
	return t;
fail:
	lp_nbr_free(t);
	return NULL;
}

void
lp_nbr_free(struct lp_nbr_table *t)
{
	int err = rte_errno;

	if (t == NULL)
		return;
	rte_hash_free(t->h);
	rte_free(t->e);
	rte_free(t);
	rte_errno = err;
}

int32_t
lp_nbr_get(struct lp_nbr_table *t, const struct lp_ip *ip, uint16_t port)
{
	struct lp_nbr_key k;
	int32_t pos;

	lp_nbr_key_make(&k, ip->family, ip->a);
	pos = rte_hash_lookup(t->h, &k);
	if (pos >= 0)
		return pos;
	pos = rte_hash_add_key(t->h, &k);
	if (pos < 0)
		return -ENOSPC;
	/* Fields before the key is findable would be nicer, but the position
	 * is known only after the add; a worker that finds the key this early
	 * sees mac == 0, i.e. unresolved, which is the truth. */
	memset(&t->e[pos], 0, sizeof(t->e[pos]));
	t->e[pos].key = k;
	t->e[pos].port = port;
	t->e[pos].state = LP_NBR_INCOMPLETE;
	return pos;
}

int32_t
lp_nbr_set(struct lp_nbr_table *t, const struct lp_ip *ip, uint16_t port, const struct lp_mac *mac,
	   enum lp_nbr_state state)
{
	int32_t pos = lp_nbr_get(t, ip, port);
	struct lp_nbr_entry *e;
	uint64_t w = LP_NBR_RESOLVED;

	if (pos < 0)
		return pos;
	e = &t->e[pos];
	if (e->state == LP_NBR_STATIC && state != LP_NBR_STATIC)
		return pos;
	for (int i = 0; i < 6; i++)
		w |= (uint64_t)mac->b[i] << (8 * i);
	e->port = port;
	e->state = (uint8_t)state;
	e->probes = 0;
	atomic_store_explicit(&e->mac, w, memory_order_release);
	return pos;
}

void
lp_nbr_invalidate(struct lp_nbr_table *t, uint32_t pos, enum lp_nbr_state state)
{
	t->e[pos].state = (uint8_t)state;
	atomic_store_explicit(&t->e[pos].mac, 0, memory_order_release);
}

void
lp_nbr_delete(struct lp_nbr_table *t, uint32_t pos)
{
	atomic_store_explicit(&t->e[pos].mac, 0, memory_order_release);
	rte_hash_del_key(t->h, &t->e[pos].key);
}
