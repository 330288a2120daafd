/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * A stand-in for the local affinity table: what lp_cluster's apply and
 * walk callbacks see. The wiring phase implements the same callbacks over
 * lp_aff; these tests pin down their contract.
 */
#ifndef LP_FAKE_AFF_H
#define LP_FAKE_AFF_H

#include <stdbool.h>
#include <stdint.h>

#include "lp_cluster.h"

#define FAKE_LOCAL 0	/**< origin of a binding a "worker" made here */

struct fake_ent {
	struct lp_cluster_key key;
	struct lp_cluster_backend be;
	uint8_t state;		/* 0 free, 1 used, 2 deleted */
	uint8_t origin;		/* FAKE_LOCAL or enum lp_cluster_origin */
	int64_t ttl_ms;		/* last ttl_ms given (LOAD, ALIVE) */
	uint64_t last_ns;	/* activity */
};

struct fake_tab {
	struct fake_ent *e;
	uint32_t cap, n;
	uint64_t ops[5];	/* by enum lp_cluster_op */
	struct lp_cluster_backend reject;	/* a backend this instance does not have */
	bool has_reject;
};

int fake_init(struct fake_tab *t, uint32_t cap);
void fake_free(struct fake_tab *t);
struct fake_ent *fake_find(struct fake_tab *t, const struct lp_cluster_key *k);
struct fake_ent *fake_put(struct fake_tab *t, const struct lp_cluster_key *k, const struct lp_cluster_backend *be,
			  uint8_t origin);
void fake_del(struct fake_tab *t, const struct lp_cluster_key *k);

enum lp_cluster_result fake_apply(void *arg, const struct lp_cluster_update *u);
unsigned int fake_walk(void *arg, uint64_t *cursor, struct lp_cluster_binding *out, unsigned int max);

struct lp_cluster_key mk_key(uint16_t svc, uint32_t client);	/**< 10.x.y.z/32 from client number */
struct lp_cluster_backend mk_be(uint8_t last, uint16_t port);	/**< 10.1.0.last:port */

#endif /* LP_FAKE_AFF_H */
