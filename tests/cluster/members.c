/* SPDX-License-Identifier: BSD-3-Clause */
/* Cluster members for the tests against a real redis-server (members.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lp_test.h"
#include "members.h"

struct redis_srv srv;
char redis_at[200];

void
inst_log(void *arg, int level, const char *line)
{
	struct inst *in = arg;

	(void)level;
	snprintf(in->log[in->n_log++ % 8], sizeof(in->log[0]), "%s", line);
	if (getenv("CLUSTER_TEST_VERBOSE") != NULL)
		fprintf(stderr, "%s\n", line);
}

bool
logged(const struct inst *in, const char *what)
{
	for (unsigned int i = 0; i < 8; i++)
		if (strstr(in->log[i], what) != NULL)
			return true;
	return false;
}

int
inst_open(struct inst *in, const char *name, const char *instance, const struct tweak *tw)
{
	static const struct tweak none;
	struct lp_cluster_params p;
	char err[256];

	if (tw == NULL)
		tw = &none;
	memset(in, 0, sizeof(*in));
	if (fake_init(&in->tab, 1 << 16) != 0)
		return -1;
	memset(&p, 0, sizeof(p));
	p.name = name;
	p.redis = tw->redis != NULL ? tw->redis : redis_at;
	p.password_file = tw->password_file;
	p.instance = instance;
	p.hz = 1000000000u;
	p.n_producers = 2;
	p.apply = fake_apply;
	p.apply_arg = &in->tab;
	p.walk = tw->no_walk ? NULL : fake_walk;
	p.walk_arg = &in->tab;
	p.log = inst_log;
	p.log_arg = in;
	p.read_interval_us = tw->read_interval_us;
	p.batch = tw->batch;
	p.stream_maxlen = tw->stream_maxlen;
	p.io_timeout_ms = tw->io_timeout_ms;
	p.backoff_max_ms = 300;
	p.heartbeat_ms = 200;
	in->cl = lp_cluster_create(&p, err, sizeof(err));
	if (in->cl == NULL) {
		fprintf(stderr, "lp_cluster_create: %s\n", err);
		return -1;
	}
	lp_cluster_service_set(in->cl, SVC_WEB, "web", 60);
	lp_cluster_service_set(in->cl, SVC_API, "api", 2);
	if (tw->other)
		lp_cluster_service_set(in->cl, SVC_OTHER, "other", 60);
	return 0;
}

void
inst_close(struct inst *in)
{
	lp_cluster_destroy(in->cl);
	fake_free(&in->tab);
	in->cl = NULL;
}

/* ---- what a worker does ---- */

void
emit(struct inst *in, uint8_t kind, const struct lp_cluster_key *k, const struct lp_cluster_backend *be)
{
	struct lp_cluster_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.key = *k;
	if (be != NULL)
		ev.be = *be;
	ev.kind = kind;
	CU_ASSERT_FATAL(lp_cluster_emit(in->cl, 0, &ev));
}

/* A new client: bound here unless a binding exists. */
void
w_bind(struct inst *in, const struct lp_cluster_key *k, const struct lp_cluster_backend *be)
{
	if (fake_find(&in->tab, k) != NULL)
		return;
	fake_put(&in->tab, k, be, FAKE_LOCAL);
	emit(in, LP_CLUSTER_EV_CREATE, k, be);
}

void
w_move(struct inst *in, const struct lp_cluster_key *k, const struct lp_cluster_backend *be)
{
	fake_put(&in->tab, k, be, FAKE_LOCAL);
	emit(in, LP_CLUSTER_EV_MOVE, k, be);
}

void
w_clear(struct inst *in, const struct lp_cluster_key *k)
{
	emit(in, LP_CLUSTER_EV_CLEAR, k, NULL);
	fake_del(&in->tab, k);
}

void
w_touch(struct inst *in, const struct lp_cluster_key *k)
{
	struct fake_ent *e = fake_find(&in->tab, k);

	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	e->last_ns = now_ns();
	emit(in, LP_CLUSTER_EV_TOUCH, k, &e->be);
}

/* ---- driving the control loops ---- */

bool
pump(struct inst **in, unsigned int n, pred_fn pred, void *arg, unsigned int timeout_ms)
{
	uint64_t end = now_ns() + (uint64_t)timeout_ms * 1000000u;

	for (;;) {
		for (unsigned int i = 0; i < n; i++)
			lp_cluster_poll(in[i]->cl, now_ns());
		if (pred != NULL && pred(arg))
			return true;
		if (now_ns() >= end)
			return pred == NULL;
		usleep(200);
	}
}

bool
both_ready(void *arg)
{
	struct pair *p = arg;

	return p->a->cl->state == LP_CLUSTER_READY && (p->b == NULL || p->b->cl->state == LP_CLUSTER_READY);
}

/* Nothing of A's or B's own changes is waiting or in flight (a binding
 * held only until the reader passes its stream entry does not count). */
bool
settled(const struct inst *in)
{
	const struct lp_cluster *cl = in->cl;

	if (cl->state != LP_CLUSTER_READY || cl->kt.q_len > 0 || cl->exec_n > 0 || cl->fetch_keys > 0)
		return false;
	for (uint32_t k = 0; k < cl->rq_len; k++)
		if (cl->rq[(cl->rq_head + k) & (cl->rq_cap - 1)].type == RQ_OP)
			return false;
	return true;
}

bool
fetch_backend(redisContext *c, const char *svc, const struct lp_cluster_key *k, struct lp_cluster_backend *be,
	      long long *pttl)
{
	char key[200], client[CODEC_CLIENT_MAX + 1];
	redisReply *r;
	bool ok;

	client[codec_client(client, k)] = '\0';
	snprintf(key, sizeof(key), "lp:{%s}:b:%s:%s", "t", svc, client);
	r = redis_cmd(c, "GET %s", key);
	ok = r != NULL && r->type == REDIS_REPLY_STRING && codec_parse_backend(r->str, r->len, be) == 0;
	if (r != NULL)
		freeReplyObject(r);
	if (pttl != NULL)
		*pttl = redis_int(c, "PTTL %s", key);
	return ok;
}

/* Both tables hold the same bindings, and so does Redis. */

bool
tables_agree(void *arg)
{
	struct same *s = arg;

	if (!settled(s->a) || !settled(s->b))
		return false;
	for (uint32_t c = s->from; c < s->to; c++) {
		struct lp_cluster_key k = mk_key(s->svc, c);
		struct fake_ent *ea = fake_find(&s->a->tab, &k), *eb = fake_find(&s->b->tab, &k);

		if ((ea == NULL) != (eb == NULL))
			return false;
		if (ea != NULL && memcmp(&ea->be, &eb->be, sizeof(ea->be)) != 0)
			return false;
	}
	return true;
}

void
assert_redis_matches(redisContext *admin, struct inst *in, uint16_t svc, const char *svc_name, uint32_t from,
		     uint32_t to)
{
	unsigned int bad = 0;

	for (uint32_t c = from; c < to; c++) {
		struct lp_cluster_key k = mk_key(svc, c);
		struct fake_ent *e = fake_find(&in->tab, &k);
		struct lp_cluster_backend be;
		bool in_redis = fetch_backend(admin, svc_name, &k, &be, NULL);

		if ((e != NULL) != in_redis || (e != NULL && memcmp(&e->be, &be, sizeof(be)) != 0))
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
}

int
suite_init(void)
{
	if (redis_available() != 0)
		return -1;
	return 0;
}

bool
start_redis(const char *password, bool tcp)
{
	if (redis_start(&srv, password, tcp) != 0)
		return false;
	snprintf(redis_at, sizeof(redis_at), "%s", tcp ? srv.addr : srv.sock);
	return true;
}
