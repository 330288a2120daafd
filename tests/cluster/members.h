/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Cluster members for the tests against a real redis-server: each plays
 * the control thread of one limpet instance, with a fake affinity table.
 */
#ifndef LP_TEST_MEMBERS_H
#define LP_TEST_MEMBERS_H

#include <stdbool.h>
#include <stdint.h>

#include "cluster_priv.h"
#include "fake_aff.h"
#include "redis_harness.h"

#define SVC_WEB 1	/* timeoutSeconds 60 */
#define SVC_API 2	/* timeoutSeconds 2: expiry tests */
#define SVC_OTHER 3	/* served by A only */

struct inst {
	struct lp_cluster *cl;
	struct fake_tab tab;
	char log[8][200];	/* the last lines it logged */
	unsigned int n_log;
};

struct tweak {
	const char *redis;
	const char *password_file;
	uint32_t read_interval_us;
	unsigned int batch;
	unsigned int stream_maxlen;
	uint32_t io_timeout_ms;
	bool other;		/* also serves SVC_OTHER */
	bool no_walk;
};

typedef bool (*pred_fn)(void *arg);

struct pair {
	struct inst *a, *b;
};

struct same {
	struct inst *a, *b;
	uint16_t svc;
	uint32_t from, to;	/* client numbers */
	redisContext *admin;	/* also compare with Redis when set */
};

extern struct redis_srv srv;
extern char redis_at[200];

void inst_log(void *arg, int level, const char *line);
bool logged(const struct inst *in, const char *what);
int inst_open(struct inst *in, const char *name, const char *instance, const struct tweak *tw);
void inst_close(struct inst *in);
void emit(struct inst *in, uint8_t kind, const struct lp_cluster_key *k, const struct lp_cluster_backend *be);
void w_bind(struct inst *in, const struct lp_cluster_key *k, const struct lp_cluster_backend *be);
void w_move(struct inst *in, const struct lp_cluster_key *k, const struct lp_cluster_backend *be);
void w_clear(struct inst *in, const struct lp_cluster_key *k);
void w_touch(struct inst *in, const struct lp_cluster_key *k);
bool pump(struct inst **in, unsigned int n, pred_fn pred, void *arg, unsigned int timeout_ms);
bool both_ready(void *arg);
bool settled(const struct inst *in);
bool fetch_backend(redisContext *c, const char *svc, const struct lp_cluster_key *k, struct lp_cluster_backend *be,
		   long long *pttl);
bool tables_agree(void *arg);
void assert_redis_matches(redisContext *admin, struct inst *in, uint16_t svc, const char *svc_name, uint32_t from,
			  uint32_t to);
int suite_init(void);
bool start_redis(const char *password, bool tcp);

#endif /* LP_TEST_MEMBERS_H */
