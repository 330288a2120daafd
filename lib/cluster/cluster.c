/* SPDX-License-Identifier: BSD-3-Clause */
/* Replicated bindings: lifecycle, the workers' ring, the connection and its
 * handshake, the poll loop, status. The replication itself is in repl.c. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "cluster_priv.h"

#define DEF_RING 65536u
#define DEF_BATCH 512u
#define DEF_INFLIGHT 32768u
#define DEF_BACKLOG (4u << 20)
#define DEF_MAXLEN 10000u
#define DEF_IO_TIMEOUT_MS 2000u
#define DEF_CONNECT_TIMEOUT_MS 1000u
#define DEF_BACKOFF_MIN_MS 100u
#define DEF_BACKOFF_MAX_MS 2000u
#define DEF_READ_INTERVAL_US 1000u
#define DEF_HEARTBEAT_MS 1000u
#define DEF_FLUSH_DELAY_US 500u
/* Work bounds of one poll. */
#define POLL_READ_BYTES (4u << 20)
#define POLL_REPLIES 200000u

static const char *const state_names[LP_CLUSTER_STATE_MAX] = {
#define LP_CLUSTER_STATE_NAME(n, s) [LP_CLUSTER_##n] = s,
	LP_CLUSTER_STATES(LP_CLUSTER_STATE_NAME)
#undef LP_CLUSTER_STATE_NAME
};

static const char *const counter_names[LP_CLUSTER_C_MAX] = {
#define LP_CLUSTER_C_NAME(n, h) [LP_CLUSTER_C_##n] = #n,
	LP_CLUSTER_COUNTERS(LP_CLUSTER_C_NAME)
#undef LP_CLUSTER_C_NAME
};

static const char *const counter_helps[LP_CLUSTER_C_MAX] = {
#define LP_CLUSTER_C_HELP(n, h) [LP_CLUSTER_C_##n] = h,
	LP_CLUSTER_COUNTERS(LP_CLUSTER_C_HELP)
#undef LP_CLUSTER_C_HELP
};

const char *
lp_cluster_state_name(enum lp_cluster_state s)
{
	return (unsigned int)s < LP_CLUSTER_STATE_MAX ? state_names[s] : "unknown";
}

const char *
lp_cluster_counter_name(enum lp_cluster_counter c)
{
	return (unsigned int)c < LP_CLUSTER_C_MAX ? counter_names[c] : "unknown";
}

const char *
lp_cluster_counter_help(enum lp_cluster_counter c)
{
	return (unsigned int)c < LP_CLUSTER_C_MAX ? counter_helps[c] : "unknown";
}

/* ---- logging ---- */

static void
emit_line(struct lp_cluster *cl, int level, const char *line)
{
	if (cl->p.log != NULL)
		cl->p.log(cl->p.log_arg, level, line);
	else
		fprintf(stderr, "%s\n", line);
}

void
cl_log(struct lp_cluster *cl, int level, const char *fmt, ...)
{
	char line[320];
	int n = snprintf(line, sizeof(line), "cluster %s: ", cl->name);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	emit_line(cl, level, line);
}

/* An error: remembered for `show cluster`, counted, and logged unless the
 * same line was logged in the last minute (a Redis that stays down, or a
 * wrong password, is one line, not one per retry). */
void
cl_error(struct lp_cluster *cl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cl->last_error, sizeof(cl->last_error), fmt, ap);
	va_end(ap);
	cl->c[LP_CLUSTER_C_errors]++;
	if (strcmp(cl->last_error, cl->last_logged) != 0 || cl->now_us - cl->last_logged_us >= 60000000u) {
		snprintf(cl->last_logged, sizeof(cl->last_logged), "%s", cl->last_error);
		cl->last_logged_us = cl->now_us;
		cl_log(cl, 4, "%s", cl->last_error);
	}
}

/* ---- small helpers ---- */

uint64_t
cl_random(struct lp_cluster *cl)
{
	/* xorshift64*: jitter and ids, nothing secret */
	cl->rng ^= cl->rng >> 12;
	cl->rng ^= cl->rng << 25;
	cl->rng ^= cl->rng >> 27;
	return cl->rng * 0x2545f4914f6cdd1dull;
}

void
cl_new_epoch(struct lp_cluster *cl, char *out)
{
	snprintf(out, 33, "%016" PRIx64 "%016" PRIx64, cl_random(cl), cl_random(cl));
}

static uint32_t
name_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

const struct csvc *
cl_svc_by_name(const struct lp_cluster *cl, const char *name, size_t len)
{
	uint32_t mask = (uint32_t)(sizeof(cl->svc_slot) / sizeof(cl->svc_slot[0])) - 1;

	for (uint32_t i = name_hash(name, len) & mask;; i = (i + 1) & mask) {
		const struct csvc *s;

		if (cl->svc_slot[i] == 0)
			return NULL;
		s = &cl->svc[cl->svc_slot[i] - 1];
		if (s->name_len == len && memcmp(s->name, name, len) == 0)
			return s;
	}
}

static void
rebuild_slots(struct lp_cluster *cl)
{
	uint32_t mask = (uint32_t)(sizeof(cl->svc_slot) / sizeof(cl->svc_slot[0])) - 1;

	memset(cl->svc_slot, 0, sizeof(cl->svc_slot));
	for (uint32_t id = 0; id < LP_CLUSTER_MAX_SERVICES; id++) {
		const struct csvc *s = &cl->svc[id];
		uint32_t i;

		if (!s->used)
			continue;
		for (i = name_hash(s->name, s->name_len) & mask; cl->svc_slot[i] != 0; i = (i + 1) & mask)
			;
		cl->svc_slot[i] = (uint16_t)(id + 1);
	}
}

size_t
cl_key(const struct lp_cluster *cl, char *out, const struct lp_cluster_key *k)
{
	const struct csvc *s = &cl->svc[k->svc_id];

	memcpy(out, s->kpre, s->kpre_len);
	return s->kpre_len + codec_client(out + s->kpre_len, k);
}

const char *
lp_cluster_name_problem(const char *name)
{
	size_t len;

	if (name == NULL || name[0] == '\0')
		return "must not be empty";
	len = strnlen(name, LP_CLUSTER_NAME_MAX);
	if (len == LP_CLUSTER_NAME_MAX)
		return "longer than 31 characters";
	/* Names are parts of Redis keys and glob patterns: no separators or
	 * pattern characters. */
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '_' || c == '.'))
			return "may hold only letters, digits, '-', '_' and '.'";
	}
	return NULL;
}

int
lp_cluster_endpoint_check(const char *redis, char *err, size_t errlen)
{
	struct endpoint ep;

	return endpoint_parse(redis, &ep, false, err, errlen);
}

/* ---- lifecycle ---- */

#define DEF(field, value) \
	do { \
		if (cl->p.field == 0) \
			cl->p.field = (value); \
	} while (0)

struct lp_cluster *
lp_cluster_create(const struct lp_cluster_params *p, char *err, size_t errlen)
{
	struct lp_cluster *cl;
	const char *problem;
	ssize_t ringsz;
	uint64_t seed = 0;

	problem = lp_cluster_name_problem(p->name);
	if (problem != NULL) {
		snprintf(err, errlen, "name: %s", problem);
		return NULL;
	}
	if (p->apply == NULL || p->hz == 0 || p->n_producers == 0) {
		snprintf(err, errlen, "cluster: apply callback, hz and n_producers are required");
		return NULL;
	}
	if (p->ring_size != 0 && (p->ring_size & (p->ring_size - 1)) != 0) {
		snprintf(err, errlen, "cluster: ring size %u is not a power of two", p->ring_size);
		return NULL;
	}
	if (p->password_file != NULL && strlen(p->password_file) >= sizeof(cl->password_file)) {
		snprintf(err, errlen, "passwordFile: path too long");
		return NULL;
	}
	cl = calloc(1, sizeof(*cl));
	if (cl == NULL) {
		snprintf(err, errlen, "cluster: out of memory");
		return NULL;
	}
	cl->fd = -1;
	cl->p = *p;
	DEF(ring_size, DEF_RING);
	DEF(batch, DEF_BATCH);
	DEF(inflight_max, DEF_INFLIGHT);
	DEF(backlog_max, DEF_BACKLOG);
	DEF(stream_maxlen, DEF_MAXLEN);
	DEF(io_timeout_ms, DEF_IO_TIMEOUT_MS);
	DEF(connect_timeout_ms, DEF_CONNECT_TIMEOUT_MS);
	DEF(backoff_min_ms, DEF_BACKOFF_MIN_MS);
	DEF(backoff_max_ms, DEF_BACKOFF_MAX_MS);
	DEF(read_interval_us, DEF_READ_INTERVAL_US);
	DEF(heartbeat_ms, DEF_HEARTBEAT_MS);
	DEF(flush_delay_us, DEF_FLUSH_DELAY_US);
	if (cl->p.inflight_max < 4 * cl->p.batch)
		cl->p.inflight_max = 4 * cl->p.batch;
	snprintf(cl->name, sizeof(cl->name), "%s", p->name);
	if (p->password_file != NULL)
		snprintf(cl->password_file, sizeof(cl->password_file), "%s", p->password_file);
	if (p->instance != NULL && p->instance[0] != '\0') {
		snprintf(cl->instance, sizeof(cl->instance), "%s", p->instance);
	} else {
		char host[48] = "";

		gethostname(host, sizeof(host) - 1);
		snprintf(cl->instance, sizeof(cl->instance), "%s:%d", host, (int)getpid());
	}
	/* Spaces separate the fields of a heartbeat. */
	for (char *c = cl->instance; *c != '\0'; c++)
		if (*c == ' ')
			*c = '_';
	cl->p.name = cl->p.redis = cl->p.password_file = cl->p.instance = NULL;
	if (endpoint_parse(p->redis, &cl->ep, true, err, errlen) != 0)
		goto fail;
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	cl->rng = seed | 1;
	snprintf(cl->id, sizeof(cl->id), "%016" PRIx64, cl_random(cl));
	snprintf(cl->k_bind, sizeof(cl->k_bind), "lp:{%s}:b:", cl->name);
	cl->k_bind_len = strlen(cl->k_bind);
	snprintf(cl->k_match, sizeof(cl->k_match), "lp:{%s}:b:*", cl->name);
	snprintf(cl->k_log, sizeof(cl->k_log), "lp:{%s}:log", cl->name);
	snprintf(cl->k_epoch, sizeof(cl->k_epoch), "lp:{%s}:epoch", cl->name);
	snprintf(cl->k_peers, sizeof(cl->k_peers), "lp:{%s}:peers", cl->name);

	/* The ring lives in ordinary memory (no EAL needed): producers are
	 * workers and the control thread; RTS enqueue keeps a producer that is
	 * preempted mid-enqueue from stalling the others for long. */
	/* With RING_F_EXACT_SZ the ring's own size is the next power of two
	 * above ring_size (as rte_ring_create_elem() computes it). */
	ringsz = rte_ring_get_memsize_elem(sizeof(struct lp_cluster_event), rte_align32pow2(cl->p.ring_size + 1));
	if (ringsz < 0 || (cl->ring = aligned_alloc(64, ((size_t)ringsz + 63) & ~(size_t)63)) == NULL) {
		snprintf(err, errlen, "cluster: cannot allocate a ring of %u events", cl->p.ring_size);
		goto fail;
	}
	if (rte_ring_init(cl->ring, "lp_cluster", cl->p.ring_size,
			  RING_F_MP_RTS_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ) != 0) {
		snprintf(err, errlen, "cluster: cannot initialise the event ring");
		goto fail;
	}
	cl->prod = aligned_alloc(64, sizeof(*cl->prod) * cl->p.n_producers);
	if (cl->prod == NULL)
		goto oom;
	memset(cl->prod, 0, sizeof(*cl->prod) * cl->p.n_producers);
	if (ktab_init(&cl->kt, 4096) != 0)
		goto oom;
	cl->touch_mask = (1u << 16) - 1;
	cl->touch_seen = calloc(cl->touch_mask + 1, sizeof(*cl->touch_seen));
	cl->rq_cap = 1024;
	cl->rq = malloc(cl->rq_cap * sizeof(*cl->rq));
	if (cl->touch_seen == NULL || cl->rq == NULL)
		goto oom;
	cl->fe_free = NONE32;
	cl->state = LP_CLUSTER_DISCONNECTED;
	cl->backoff_ms = cl->p.backoff_min_ms;
	return cl;
oom:
	snprintf(err, errlen, "cluster: out of memory");
fail:
	lp_cluster_destroy(cl);
	return NULL;
}

static void
close_conn(struct lp_cluster *cl)
{
	if (cl->fd >= 0)
		close(cl->fd);
	cl->fd = -1;
	if (cl->reader != NULL)
		redisReaderFree(cl->reader);
	cl->reader = NULL;
	obuf_reset(&cl->out);
}

void
lp_cluster_destroy(struct lp_cluster *cl)
{
	if (cl == NULL)
		return;
	if (cl->fd >= 0)
		repl_lost(cl);	/* frees what in-flight commands hold */
	close_conn(cl);
	repl_free(cl);
	ktab_free(&cl->kt);
	obuf_free(&cl->out);
	obuf_free(&cl->blob);
	free(cl->touch_seen);
	free(cl->rq);
	free(cl->prod);
	free(cl->ring);
	free(cl);
}

int
lp_cluster_service_set(struct lp_cluster *cl, uint16_t svc_id, const char *name, uint32_t timeout_s)
{
	struct csvc *s;
	int n;

	if (svc_id >= LP_CLUSTER_MAX_SERVICES || lp_cluster_name_problem(name) != NULL || timeout_s == 0)
		return -EINVAL;
	s = &cl->svc[svc_id];
	memset(s, 0, sizeof(*s));
	s->used = true;
	s->timeout_s = timeout_s;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->name_len = (uint8_t)strlen(s->name);
	n = (int)cl->k_bind_len;
	memcpy(s->kpre, cl->k_bind, (size_t)n);
	memcpy(s->kpre + n, s->name, s->name_len);
	n += s->name_len;
	s->kpre[n++] = ':';
	s->kpre[n] = '\0';
	s->kpre_len = (uint8_t)n;
	s->suffix_off = (uint8_t)cl->k_bind_len;
	rebuild_slots(cl);
	return 0;
}

void
lp_cluster_service_del(struct lp_cluster *cl, uint16_t svc_id)
{
	if (svc_id >= LP_CLUSTER_MAX_SERVICES || !cl->svc[svc_id].used)
		return;
	memset(&cl->svc[svc_id], 0, sizeof(cl->svc[svc_id]));
	rebuild_slots(cl);
}

/* ---- workers → control ---- */

bool
lp_cluster_emit(struct lp_cluster *cl, unsigned int producer, const struct lp_cluster_event *ev)
{
	struct producer *pr = &cl->prod[producer];

	/* The ring's API takes a non-const pointer; it only reads it. */
	if (rte_ring_enqueue_elem(cl->ring, (void *)(uintptr_t)ev, sizeof(*ev)) != 0) {
		pr->ring_full++;
		return false;
	}
	pr->emitted++;
	return true;
}

unsigned int
lp_cluster_emit_burst(struct lp_cluster *cl, unsigned int producer, const struct lp_cluster_event *ev,
		      unsigned int n)
{
	struct producer *pr = &cl->prod[producer];
	unsigned int k = rte_ring_enqueue_burst_elem(cl->ring, ev, sizeof(*ev), n, NULL);

	pr->emitted += k;
	pr->ring_full += n - k;
	return k;
}

/* ---- the request FIFO ---- */

struct rq *
cl_rq_push(struct lp_cluster *cl, uint8_t type)
{
	struct rq *q;

	if (cl->rq_len == cl->rq_cap) {
		uint32_t cap = cl->rq_cap * 2;
		struct rq *n = malloc((size_t)cap * sizeof(*n));

		if (n == NULL) {
			cl->out.oom = true;	/* fails the connection in write_out() */
			return &cl->rq_spare;
		}
		for (uint32_t i = 0; i < cl->rq_len; i++)
			n[i] = cl->rq[(cl->rq_head + i) & (cl->rq_cap - 1)];
		free(cl->rq);
		cl->rq = n;
		cl->rq_cap = cap;
		cl->rq_head = 0;
	}
	if (cl->rq_len == 0)
		cl->last_progress_us = cl->now_us;
	q = &cl->rq[(cl->rq_head + cl->rq_len) & (cl->rq_cap - 1)];
	cl->rq_len++;
	memset(q, 0, sizeof(*q));
	q->type = type;
	return q;
}

/* ---- connection ---- */

/* Offer a new epoch (stored only if Redis has none: SET NX GET answers the
 * one that stands) and ask where the stream is; the replies come back
 * tagged @p rq_epoch and @p rq_xinfo. */
void
cl_ask_epoch(struct lp_cluster *cl, uint8_t rq_epoch, uint8_t rq_xinfo)
{
	cl_new_epoch(cl, cl->hs_epoch);
	resp_cmd(&cl->out, 5);
	resp_str(&cl->out, "SET");
	resp_str(&cl->out, cl->k_epoch);
	resp_str(&cl->out, cl->hs_epoch);
	resp_str(&cl->out, "NX");
	resp_str(&cl->out, "GET");
	cl_rq_push(cl, rq_epoch);
	resp_cmd(&cl->out, 3);
	resp_str(&cl->out, "XINFO");
	resp_str(&cl->out, "STREAM");
	resp_str(&cl->out, cl->k_log);
	cl_rq_push(cl, rq_xinfo);
}

static int
read_password(struct lp_cluster *cl, char *pw, size_t len)
{
	FILE *f = fopen(cl->password_file, "r");
	size_t n;

	if (f == NULL) {
		cl_error(cl, "cannot read passwordFile %s: %s", cl->password_file, strerror(errno));
		return -1;
	}
	if (fgets(pw, (int)len, f) == NULL)
		pw[0] = '\0';
	fclose(f);
	n = strcspn(pw, "\r\n");
	pw[n] = '\0';
	if (n == 0) {
		cl_error(cl, "passwordFile %s is empty", cl->password_file);
		return -1;
	}
	return 0;
}

static void
send_handshake(struct lp_cluster *cl)
{
	char name[96];

	if (cl->password_file[0] != '\0') {
		char pw[512];

		if (read_password(cl, pw, sizeof(pw)) != 0) {
			cl_fail(cl, NULL);
			return;
		}
		resp_cmd(&cl->out, 2);
		resp_str(&cl->out, "AUTH");
		resp_str(&cl->out, pw);
		memset(pw, 0, sizeof(pw));
		cl_rq_push(cl, RQ_AUTH);
	}
	snprintf(name, sizeof(name), "limpet:%s:%s", cl->name, cl->id);
	resp_cmd(&cl->out, 3);
	resp_str(&cl->out, "CLIENT");
	resp_str(&cl->out, "SETNAME");
	resp_str(&cl->out, name);
	cl_rq_push(cl, RQ_SETNAME);
	resp_cmd(&cl->out, 2);
	resp_str(&cl->out, "INFO");
	resp_str(&cl->out, "server");
	cl_rq_push(cl, RQ_INFO);
	/* The epoch: ours if Redis has none (it is new or lost its data). */
	cl_ask_epoch(cl, RQ_EPOCH, RQ_XINFO);
	resp_cmd(&cl->out, 1);
	resp_str(&cl->out, "TIME");
	cl_rq_push(cl, RQ_TIME);
	cl->state = LP_CLUSTER_HANDSHAKE;
}

static void
try_connect(struct lp_cluster *cl)
{
	bool in_progress;
	int fd = sock_connect(&cl->ep, &in_progress);

	cl->connect_start_us = cl->now_us;
	/* Nothing of an earlier connection may remain queued. */
	if (cl->rq_len > 0)
		repl_lost(cl);
	obuf_reset(&cl->out);
	if (fd < 0) {
		cl_error(cl, "cannot connect to Redis at %s: %s", cl->ep.text, strerror(-fd));
		cl_fail(cl, NULL);
		return;
	}
	cl->fd = fd;
	cl->reader = redisReaderCreate();
	if (cl->reader == NULL) {
		cl_error(cl, "out of memory");
		cl_fail(cl, NULL);
		return;
	}
	if (in_progress) {
		cl->state = LP_CLUSTER_CONNECTING;
		return;
	}
	send_handshake(cl);
}

static void
check_connecting(struct lp_cluster *cl)
{
	struct pollfd pfd = {.fd = cl->fd, .events = POLLOUT};
	int rc;

	if (poll(&pfd, 1, 0) <= 0) {
		if (cl->now_us - cl->connect_start_us >= (uint64_t)cl->p.connect_timeout_ms * 1000) {
			cl_error(cl, "cannot connect to Redis at %s: timed out after %u ms", cl->ep.text,
				 cl->p.connect_timeout_ms);
			cl_fail(cl, NULL);
		}
		return;
	}
	rc = sock_connect_done(cl->fd);
	if (rc != 0) {
		cl_error(cl, "cannot connect to Redis at %s: %s", cl->ep.text, strerror(-rc));
		cl_fail(cl, NULL);
		return;
	}
	send_handshake(cl);
}

/*
 * The connection is unusable (@p why, when not already reported): close
 * it, keep every change whose outcome is unknown for the next one, and
 * retry after a growing, jittered delay.
 */
void
cl_fail(struct lp_cluster *cl, const char *why)
{
	uint64_t delay;

	if (why != NULL)
		cl_error(cl, "Redis at %s: %s", cl->ep.text, why);
	if (cl->handshake_done) {
		cl->c[LP_CLUSTER_C_reconnects]++;
		if (!cl->outage_logged)
			cl_log(cl, 4, "lost Redis at %s; forwarding goes on, changes wait in the backlog",
			       cl->ep.text);
		cl->outage_logged = true;
	}
	repl_lost(cl);
	close_conn(cl);
	cl->handshake_done = false;
	cl->state = LP_CLUSTER_DISCONNECTED;
	delay = (uint64_t)cl->backoff_ms * 1000;
	delay = delay * 3 / 4 + cl_random(cl) % (delay / 2 + 1);	/* ±25% */
	cl->next_attempt_us = cl->now_us + delay;
	cl->backoff_ms = cl->backoff_ms * 2 > cl->p.backoff_max_ms ? cl->p.backoff_max_ms : cl->backoff_ms * 2;
}

static bool
starts_with(const redisReply *r, const char *prefix)
{
	size_t n = strlen(prefix);

	return r->len >= n && memcmp(r->str, prefix, n) == 0;
}

static void
auth_failed(struct lp_cluster *cl, const redisReply *r)
{
	cl->c[LP_CLUSTER_C_auth_errors]++;
	if (starts_with(r, "NOAUTH"))
		cl_error(cl, "Redis at %s requires a password (NOAUTH): set cluster.passwordFile", cl->ep.text);
	else if (cl->password_file[0] != '\0')
		cl_error(cl, "Redis at %s refused the password in %s: %.*s", cl->ep.text, cl->password_file,
			 (int)(r->len > 100 ? 100 : r->len), r->str);
	else
		cl_error(cl, "Redis at %s refused authentication: %.*s", cl->ep.text,
			 (int)(r->len > 100 ? 100 : r->len), r->str);
	cl_fail(cl, NULL);
}

static void
handshake_done(struct lp_cluster *cl)
{
	cl->handshake_done = true;
	cl->c[LP_CLUSTER_C_connects]++;
	cl->backoff_ms = cl->p.backoff_min_ms;
	cl->last_error[0] = '\0';
	cl->last_logged[0] = '\0';
	if (cl->outage_logged || cl->c[LP_CLUSTER_C_connects] == 1)
		cl_log(cl, 5, "connected to Redis %d.x at %s as %s (%s)", cl->redis_major, cl->ep.text, cl->id,
		       cl->instance);
	cl->outage_logged = false;
	cl->next_hb_us = cl->now_us;
	repl_plan(cl);
}

/* Handshake replies; the rest go to repl.c. */
static void
dispatch(struct lp_cluster *cl, const struct rq *q, redisReply *r, bool *keep)
{
	switch (q->type) {
	case RQ_AUTH:
	case RQ_SETNAME:
		if (r->type == REDIS_REPLY_ERROR)
			auth_failed(cl, r);
		return;
	case RQ_INFO: {
		const char *v;

		if (r->type == REDIS_REPLY_ERROR) {
			if (starts_with(r, "NOAUTH"))
				auth_failed(cl, r);
			else
				cl_fail(cl, "INFO failed");
			return;
		}
		v = r->type == REDIS_REPLY_STRING ? strstr(r->str, "redis_version:") : NULL;
		cl->redis_major = v != NULL ? atoi(v + 14) : 0;
		/* SET ... NX GET, XINFO's max-deleted-entry-id */
		if (cl->redis_major < 7) {
			cl_error(cl, "Redis at %s is version %d: 7.0 or later is needed", cl->ep.text,
				 cl->redis_major);
			cl_fail(cl, NULL);
		}
		return;
	}
	case RQ_TIME:
		if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[0]->type == REDIS_REPLY_STRING &&
		    r->element[1]->type == REDIS_REPLY_STRING) {
			int64_t us = strtoll(r->element[0]->str, NULL, 10) * 1000000 +
				     strtoll(r->element[1]->str, NULL, 10);

			cl->redis_off_us = us - (int64_t)cl->now_us;
			cl->have_off = true;
		}
		handshake_done(cl);
		return;
	default:
		repl_reply(cl, q, r, keep);
		return;
	}
}

static void
read_replies(struct lp_cluster *cl)
{
	char buf[65536];
	size_t got = 0;
	unsigned int replies = 0;

	while (cl->fd >= 0 && got < POLL_READ_BYTES) {
		ssize_t n = recv(cl->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n == 0) {
			cl_fail(cl, "connection closed by Redis");
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			cl_fail(cl, strerror(errno));
			return;
		}
		if (redisReaderFeed(cl->reader, buf, (size_t)n) != REDIS_OK) {
			cl_fail(cl, "out of memory reading replies");
			return;
		}
		got += (size_t)n;
		if ((size_t)n < sizeof(buf))
			break;
	}
	while (cl->fd >= 0 && replies < POLL_REPLIES) {
		void *reply = NULL;
		struct rq q;
		bool keep = false;

		if (redisReaderGetReply(cl->reader, &reply) != REDIS_OK) {
			cl_fail(cl, "malformed reply (protocol error)");
			return;
		}
		if (reply == NULL)
			break;
		if (cl->rq_len == 0) {
			freeReplyObject(reply);
			cl_fail(cl, "reply to no command");
			return;
		}
		q = cl->rq[cl->rq_head];
		cl->rq_head = (cl->rq_head + 1) & (cl->rq_cap - 1);
		cl->rq_len--;
		cl->last_progress_us = cl->now_us;
		replies++;
		dispatch(cl, &q, reply, &keep);
		if (!keep)
			freeReplyObject(reply);
	}
}

static void
write_out(struct lp_cluster *cl)
{
	int rc;

	if (cl->out.oom) {
		cl_fail(cl, "out of memory building commands");
		return;
	}
	if (cl->out.len == cl->out.off)
		return;
	rc = obuf_send(cl->fd, &cl->out);
	if (rc != 0)
		cl_fail(cl, strerror(-rc));
}

static uint64_t
ticks_to_us(const struct lp_cluster *cl, uint64_t now)
{
	uint64_t hz = cl->p.hz;

	return now / hz * 1000000u + now % hz * 1000000u / hz;
}

void
lp_cluster_poll(struct lp_cluster *cl, uint64_t now)
{
	cl->now_us = ticks_to_us(cl, now);
	if (cl->state == LP_CLUSTER_DISCONNECTED && cl->now_us >= cl->next_attempt_us)
		try_connect(cl);
	if (cl->state == LP_CLUSTER_CONNECTING)
		check_connecting(cl);
	/* The ring first: an event taken now is known as pending before any
	 * older value read from Redis below can overwrite it. */
	repl_drain(cl);
	if (cl->fd >= 0 && cl->state >= LP_CLUSTER_HANDSHAKE)
		read_replies(cl);
	if (cl->handshake_done)
		repl_step(cl);
	if (cl->fd >= 0 && cl->state >= LP_CLUSTER_HANDSHAKE)
		write_out(cl);
	if (cl->fd >= 0 && cl->state >= LP_CLUSTER_HANDSHAKE && cl->rq_len > 0 &&
	    cl->now_us - cl->last_progress_us >= (uint64_t)cl->p.io_timeout_ms * 1000) {
		char why[64];

		snprintf(why, sizeof(why), "no reply for %u ms", cl->p.io_timeout_ms);
		cl_fail(cl, why);
	}
	if (cl->now_us - cl->hist_rotate_us >= (uint64_t)cl->p.heartbeat_ms * 10000) {
		cl->lag_in[1] = cl->lag_in[0];
		cl->lag_out[1] = cl->lag_out[0];
		memset(&cl->lag_in[0], 0, sizeof(cl->lag_in[0]));
		memset(&cl->lag_out[0], 0, sizeof(cl->lag_out[0]));
		cl->hist_rotate_us = cl->now_us;
	}
}

int
lp_cluster_check(struct lp_cluster *cl, const struct lp_cluster_key *key)
{
	if (key->svc_id >= LP_CLUSTER_MAX_SERVICES || !cl->svc[key->svc_id].used)
		return -EINVAL;
	if (!cl->handshake_done)
		return -ENOTCONN;
	return repl_check(cl, key);
}

bool
lp_cluster_loaded(const struct lp_cluster *cl)
{
	return cl->loaded;
}

int
lp_cluster_fd(const struct lp_cluster *cl)
{
	return cl->fd;
}

int
lp_cluster_wait_loaded(struct lp_cluster *cl, uint32_t timeout_ms, uint64_t (*clock)(void))
{
	return lp_cluster_wait_loaded_or(cl, timeout_ms, clock, NULL);
}

int
lp_cluster_wait_loaded_or(struct lp_cluster *cl, uint32_t timeout_ms, uint64_t (*clock)(void), bool (*stop)(void))
{
	uint64_t start = clock(), limit = (uint64_t)timeout_ms * cl->p.hz / 1000;

	for (;;) {
		uint64_t now = clock();
		struct pollfd pfd;

		lp_cluster_poll(cl, now);
		if (cl->loaded)
			return 0;
		if (stop != NULL && stop())
			return -EINTR;
		if (now - start >= limit) {
			cl->c[LP_CLUSTER_C_start_unreachable]++;
			cl_log(cl, 4,
			       "bindings not loaded after %u ms (Redis at %s: %s): starting without them; they "
			       "are loaded when Redis answers",
			       timeout_ms, cl->ep.text, cl->last_error[0] ? cl->last_error : lp_cluster_state_name(cl->state));
			return -ETIMEDOUT;
		}
		pfd.fd = cl->fd;
		pfd.events = POLLIN | (cl->out.len > cl->out.off || cl->state == LP_CLUSTER_CONNECTING ? POLLOUT : 0);
		poll(&pfd, cl->fd >= 0 ? 1 : 0, 1);
	}
}

/* Changes of ours still unsent or unacknowledged. */
static bool
changes_pending(const struct lp_cluster *cl)
{
	if (cl->kt.q_len > 0 || cl->exec_n > 0)
		return true;
	for (uint32_t k = 0; k < cl->rq_len; k++)
		if (cl->rq[(cl->rq_head + k) & (cl->rq_cap - 1)].type == RQ_OP)
			return true;
	return false;
}

int
lp_cluster_flush(struct lp_cluster *cl, uint32_t timeout_ms, uint64_t (*clock)(void))
{
	uint64_t start = clock(), limit = (uint64_t)timeout_ms * cl->p.hz / 1000;
	uint32_t delay = cl->p.flush_delay_us;

	cl->p.flush_delay_us = 1;	/* nothing more is coming: send partial batches now */
	for (;;) {
		uint64_t now = clock();
		struct pollfd pfd;

		lp_cluster_poll(cl, now);
		if (rte_ring_count(cl->ring) == 0 && !changes_pending(cl)) {
			cl->p.flush_delay_us = delay;
			return 0;
		}
		if (now - start >= limit) {
			cl->p.flush_delay_us = delay;
			cl_log(cl, 4, "%u binding changes not written to Redis at shutdown (%s)", cl->kt.q_len,
			       cl->last_error[0] ? cl->last_error : lp_cluster_state_name(cl->state));
			return -ETIMEDOUT;
		}
		pfd.fd = cl->fd;
		pfd.events = POLLIN | (cl->out.len > cl->out.off || cl->state == LP_CLUSTER_CONNECTING ? POLLOUT : 0);
		poll(&pfd, cl->fd >= 0 ? 1 : 0, 1);
	}
}

/* ---- status ---- */

void
lp_cluster_status(const struct lp_cluster *cl, struct lp_cluster_status *st)
{
	memset(st, 0, sizeof(*st));
	st->state = cl->state;
	st->loaded = cl->loaded;
	snprintf(st->name, sizeof(st->name), "%s", cl->name);
	snprintf(st->redis, sizeof(st->redis), "%s", cl->ep.text);
	snprintf(st->id, sizeof(st->id), "%s", cl->id);
	snprintf(st->last_error, sizeof(st->last_error), "%s", cl->last_error);
	snprintf(st->epoch, sizeof(st->epoch), "%s", cl->epoch);
	if (cl->have_sid)
		snprintf(st->stream_id, sizeof(st->stream_id), "%" PRIu64 "-%" PRIu64, cl->sid.ms, cl->sid.seq);
	memcpy(st->counters, cl->c, sizeof(st->counters));
	for (unsigned int i = 0; i < cl->p.n_producers; i++)
		st->counters[LP_CLUSTER_C_ring_full] += cl->prod[i].ring_full;
	st->backlog = cl->kt.q_len;
	st->inflight = cl->rq_len;
	st->load_ms = cl->load_ms;
	st->load_progress = cl->load_count;
	st->backoff_ms = cl->state == LP_CLUSTER_DISCONNECTED ? cl->backoff_ms : 0;
	hist_summary(&cl->lag_in[0], &cl->lag_in[1], &st->lag_in);
	hist_summary(&cl->lag_out[0], &cl->lag_out[1], &st->lag_out);
	st->n_peers = cl->n_peers;
	memcpy(st->peers, cl->peers, sizeof(st->peers[0]) * cl->n_peers);
}

#define OUT(...) \
	do { \
		int n_ = snprintf(buf + (used < len ? used : len), used < len ? len - used : 0, __VA_ARGS__); \
		if (n_ > 0) \
			used += (size_t)n_; \
	} while (0)

size_t
lp_cluster_format(const struct lp_cluster_status *st, char *buf, size_t len)
{
	size_t used = 0;

	OUT("cluster %s: %s, Redis %s, instance %s\n", st->name, lp_cluster_state_name(st->state), st->redis,
	    st->id);
	if (st->last_error[0] != '\0')
		OUT("  last error: %s\n", st->last_error);
	if (st->backoff_ms != 0)
		OUT("  reconnecting with backoff %u ms\n", st->backoff_ms);
	OUT("  bindings: %s (last load %" PRIu64 " keys in %" PRIu64 " ms), backlog %u, in flight %u\n",
	    st->loaded ? "loaded" : "loading", st->load_progress, st->load_ms, st->backlog, st->inflight);
	OUT("  epoch %s, stream at %s\n", st->epoch[0] ? st->epoch : "-", st->stream_id[0] ? st->stream_id : "-");
	OUT("  replication lag in (peer write -> applied here): p50 %.1f ms, p99 %.1f ms, max %.1f ms (%" PRIu64
	    " samples)\n",
	    st->lag_in.p50_us / 1000.0, st->lag_in.p99_us / 1000.0, st->lag_in.max_us / 1000.0, st->lag_in.samples);
	OUT("  write lag out (event -> acknowledged by Redis): p50 %.1f ms, p99 %.1f ms, max %.1f ms (%" PRIu64
	    " samples)\n",
	    st->lag_out.p50_us / 1000.0, st->lag_out.p99_us / 1000.0, st->lag_out.max_us / 1000.0,
	    st->lag_out.samples);
	OUT("  peers: %u\n", st->n_peers);
	for (unsigned int i = 0; i < st->n_peers; i++) {
		const struct lp_cluster_peer *p = &st->peers[i];

		OUT("    %s %-24s %-12s seen %u ms ago, backlog %u, lag p99 %.1f ms%s\n", p->id, p->instance, p->state,
		    p->age_ms, p->backlog, p->lag_p99_us / 1000.0, p->self ? " (this instance)" : "");
	}
	OUT("  counters:\n");
	for (unsigned int i = 0; i < LP_CLUSTER_C_MAX; i++)
		OUT("    %-18s %" PRIu64 "\n", lp_cluster_counter_name(i), st->counters[i]);
	return used;
}

/* ---- lag histograms ---- */

static unsigned int
hist_bucket(uint64_t us)
{
	unsigned int k, b;

	if (us < 64)
		return (unsigned int)us;
	k = 63u - (unsigned int)__builtin_clzll(us);
	b = 64 + (k - 6) * 32 + (unsigned int)((us >> (k - 5)) & 31);
	return b < HIST_BUCKETS ? b : HIST_BUCKETS - 1;
}

static uint64_t
hist_value(unsigned int b)
{
	unsigned int k;

	if (b < 64)
		return b;
	k = 6 + (b - 64) / 32;
	return (uint64_t)(32 + (b - 64) % 32) << (k - 5);
}

void
hist_add(struct hist *h, uint64_t us)
{
	h->b[hist_bucket(us)]++;
	h->n++;
	if (us > h->max)
		h->max = us;
}

void
hist_summary(const struct hist *a, const struct hist *b, struct lp_cluster_lag *out)
{
	uint64_t n = a->n + b->n, seen = 0, p50 = (n + 1) / 2, p99 = n - n / 100;
	bool got50 = false;

	memset(out, 0, sizeof(*out));
	out->samples = n;
	if (n == 0)
		return;
	out->max_us = (uint32_t)(a->max > b->max ? a->max : b->max);
	for (unsigned int i = 0; i < HIST_BUCKETS; i++) {
		seen += (uint64_t)a->b[i] + b->b[i];
		if (!got50 && seen >= p50) {
			out->p50_us = (uint32_t)hist_value(i);
			got50 = true;
		}
		if (seen >= p99) {
			out->p99_us = (uint32_t)hist_value(i);
			break;
		}
	}
}
