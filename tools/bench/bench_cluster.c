/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Replicated bindings (lib/cluster) against a real redis-server: two
 * members in one process (A writes, B reads), as the control threads of
 * two limpet instances would. Prints "name value unit" lines.
 *
 *   bench_cluster --redis /path/redis.sock [--changes N] [--rate R] [--mode create|move|mix] [--trace]
 *                 [--warm N [--load-only]] [--emit N [--burst B]]
 *
 * - throughput: A's worker emits N binding changes as fast as the ring
 *   takes them (--rate 0) or at R per second; reported: changes per second
 *   from the first event to the last one applied on B, and the lag of each
 *   change from its emission on A to its application on B (p50/p99/max).
 *   create: N new clients into an empty Redis (its keyspace grows from
 *   nothing: Redis doubles its hash tables at 2^17, 2^18, 2^19... keys).
 *   move: N clients exist first (backend 1), then each moves once.
 *   mix: the steady state of a long-running cluster. N clients exist
 *   first; then every third change moves an existing client, clears one,
 *   or binds a new one, so Redis keeps N live bindings throughout.
 * - --warm N: A writes N bindings, then a new member C loads them; the
 *   time from C's creation to "loaded".
 * - --emit N: only lp_cluster_emit() N times (for callgrind, see
 *   tools/bench/cluster.sh).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/resource.h>

#include "lp_cluster.h"

#define SVC 1

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A table indexed by client number: the bench's keys are 10.x.y.z/32. */
struct table {
	uint32_t n;
	uint8_t *be;		/* backend last octet, 0 = none */
	uint64_t *t_emit;	/* when the latest change of the client was emitted (A) */
	uint32_t *lag_us;	/* samples (B) */
	uint64_t n_lag;
	uint64_t applied;
	const struct table *src;	/* B: A's table, for the emission times */
};

static uint32_t
client_of(const struct lp_cluster_key *k)
{
	return (uint32_t)k->addr[1] << 16 | (uint32_t)k->addr[2] << 8 | k->addr[3];
}

static struct lp_cluster_key
key_of(uint32_t c)
{
	struct lp_cluster_key k;

	memset(&k, 0, sizeof(k));
	k.svc_id = SVC;
	k.family = 4;
	k.prefix = 32;
	k.addr[0] = 10;
	k.addr[1] = (uint8_t)(c >> 16);
	k.addr[2] = (uint8_t)(c >> 8);
	k.addr[3] = (uint8_t)c;
	return k;
}

static struct lp_cluster_backend
be_of(uint8_t last)
{
	struct lp_cluster_backend b;

	memset(&b, 0, sizeof(b));
	b.family = 4;
	b.addr[0] = 10;
	b.addr[1] = 1;
	b.addr[3] = last;
	b.port = 8080;
	return b;
}

static enum lp_cluster_result
apply(void *arg, const struct lp_cluster_update *u)
{
	struct table *t = arg;
	uint32_t c = client_of(&u->key);

	if (c >= t->n)
		return LP_CLUSTER_REJECTED;
	if (u->op == LP_CLUSTER_DEL || u->op == LP_CLUSTER_GONE) {
		if (t->be[c] == 0)
			return LP_CLUSTER_UNCHANGED;
		t->be[c] = 0;
		t->applied++;
		if (t->src != NULL && t->lag_us != NULL && t->src->be[c] == 0 && t->src->t_emit[c] != 0) {
			t->lag_us[t->n_lag++] = (uint32_t)((now_ns() - t->src->t_emit[c]) / 1000);
			((struct table *)t->src)->t_emit[c] = 0;
		}
		return LP_CLUSTER_APPLIED;
	}
	if (u->op == LP_CLUSTER_ADD && t->be[c] != 0)
		return LP_CLUSTER_UNCHANGED;	/* a binding here stands */
	if (t->be[c] == u->be.addr[3])
		return LP_CLUSTER_UNCHANGED;
	t->be[c] = u->be.addr[3];
	t->applied++;
	/* A change is visible on B when B holds A's latest value. */
	if (t->src != NULL && t->lag_us != NULL && t->src->be[c] == u->be.addr[3] && t->src->t_emit[c] != 0) {
		t->lag_us[t->n_lag++] = (uint32_t)((now_ns() - t->src->t_emit[c]) / 1000);
		((struct table *)t->src)->t_emit[c] = 0;
	}
	return LP_CLUSTER_APPLIED;
}

static int
table_init(struct table *t, uint32_t n, bool lag)
{
	memset(t, 0, sizeof(*t));
	t->n = n;
	t->be = calloc(n, 1);
	t->t_emit = calloc(n, sizeof(*t->t_emit));
	t->lag_us = lag ? calloc(n, sizeof(*t->lag_us)) : NULL;
	return t->be == NULL || t->t_emit == NULL || (lag && t->lag_us == NULL) ? -1 : 0;
}

static void
table_free(struct table *t)
{
	free(t->be);
	free(t->t_emit);
	free(t->lag_us);
}

static void
quiet(void *arg, int level, const char *line)
{
	(void)arg;
	if (level <= 4)
		fprintf(stderr, "%s\n", line);
}

static struct lp_cluster *
member(const char *redis, const char *inst, struct table *t, unsigned int ring)
{
	struct lp_cluster_params p = {
		.name = "bench",
		.redis = redis,
		.instance = inst,
		.hz = 1000000000u,
		.n_producers = 1,
		.ring_size = ring,
		.apply = apply,
		.apply_arg = t,
		.log = quiet,
	};
	char err[256];
	struct lp_cluster *cl = lp_cluster_create(&p, err, sizeof(err));

	if (cl == NULL) {
		fprintf(stderr, "bench_cluster: %s\n", err);
		exit(1);
	}
	lp_cluster_service_set(cl, SVC, "web", 3600);
	return cl;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static bool
ready(struct lp_cluster *cl)
{
	struct lp_cluster_status st;

	lp_cluster_status(cl, &st);
	return st.state == LP_CLUSTER_READY;
}

static void
wait_ready(struct lp_cluster **cl, int n)
{
	uint64_t end = now_ns() + 10000000000ull;

	for (;;) {
		bool all = true;

		for (int i = 0; i < n; i++) {
			lp_cluster_poll(cl[i], now_ns());
			all = all && ready(cl[i]);
		}
		if (all)
			return;
		if (now_ns() > end) {
			fprintf(stderr, "bench_cluster: Redis not ready within 10 s\n");
			exit(1);
		}
		usleep(100);
	}
}

/* Between passes, sleep as limpet's control loop does (it sleeps 200 µs),
 * but wake at once when a reply arrives: the benchmark must not take the
 * CPU Redis needs by spinning. */
static void
idle(struct lp_cluster *a, struct lp_cluster *b)
{
	struct pollfd p[2] = {{.fd = lp_cluster_fd(a), .events = POLLIN}, {.fd = lp_cluster_fd(b), .events = POLLIN}};
	struct timespec ts = {.tv_sec = 0, .tv_nsec = 100000};

	ppoll(p, 2, &ts, NULL);
}

/* Drive A and B until B has applied @p want changes or @p limit_ns passed. */
/* CPU time of this process (user + system), microseconds. */
static uint64_t
cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u + (uint64_t)ru.ru_utime.tv_usec +
	       (uint64_t)ru.ru_stime.tv_usec;
}

enum mode { MODE_CREATE, MODE_MOVE, MODE_MIX };

/* Change @p i of a run: the client, its new backend (0: cleared), the kind. */
static uint32_t
change_of(enum mode mode, uint32_t n, uint32_t i, uint8_t *be, enum lp_cluster_ev_kind *kind)
{
	switch (mode) {
	case MODE_MOVE:
		*be = 2;
		*kind = LP_CLUSTER_EV_MOVE;
		return i;
	case MODE_MIX:
		switch (i % 3) {
		case 0:
			*be = 2;
			*kind = LP_CLUSTER_EV_MOVE;
			return i;
		case 1:
			*be = 0;
			*kind = LP_CLUSTER_EV_CLEAR;
			return i;
		default:
			*be = 1;
			*kind = LP_CLUSTER_EV_CREATE;
			return n + i;
		}
	default:
		*be = 1;
		*kind = LP_CLUSTER_EV_CREATE;
		return i;
	}
}

static void
run_changes(const char *redis, uint32_t n, double rate, enum mode mode, const char *tag, bool trace)
{
	struct table ta, tb;
	struct lp_cluster *a, *b, *both[2];
	uint64_t t0, t_end, emitted = 0, last_emit = 0, deadline, cpu0, cpu1;
	struct lp_cluster_status sa, sb;
	bool prefill = mode != MODE_CREATE;
	uint32_t size = mode == MODE_MIX ? 2 * n : n;

	if (table_init(&ta, size, false) != 0 || table_init(&tb, size, true) != 0) {
		fprintf(stderr, "bench_cluster: out of memory\n");
		exit(1);
	}
	tb.src = &ta;
	a = member(redis, "bench-a", &ta, 1u << 20);
	b = member(redis, "bench-b", &tb, 1u << 20);
	both[0] = a;
	both[1] = b;
	wait_ready(both, 2);
	if (prefill) {
		/* the clients exist first (bound to backend 1) */
		for (uint32_t c = 0; c < n; c++) {
			struct lp_cluster_event ev = {.key = key_of(c), .be = be_of(1), .kind = LP_CLUSTER_EV_CREATE};

			ta.be[c] = 1;
			while (!lp_cluster_emit(a, 0, &ev)) {
				lp_cluster_poll(a, now_ns());
				lp_cluster_poll(b, now_ns());
			}
		}
		while (tb.applied < n) {
			lp_cluster_poll(a, now_ns());
			lp_cluster_poll(b, now_ns());
		}
		tb.applied = 0;
	}
	cpu0 = cpu_us();
	t0 = now_ns();
	deadline = t0 + 120000000000ull;
	while (tb.applied < n && now_ns() < deadline) {
		uint64_t now = now_ns();
		uint64_t due = rate > 0 ? (uint64_t)((double)(now - t0) * rate / 1e9) + 1 : n;

		if (due > n)
			due = n;
		/* emit what is due, in bursts as a worker would */
		while (emitted < due) {
			uint8_t be;
			enum lp_cluster_ev_kind kind;
			uint32_t c = change_of(mode, n, (uint32_t)emitted, &be, &kind);
			struct lp_cluster_event ev = {.key = key_of(c), .be = be_of(be), .kind = kind};

			ta.be[c] = be;
			ta.t_emit[c] = now_ns();
			if (!lp_cluster_emit(a, 0, &ev)) {
				ta.t_emit[c] = 0;
				break;	/* ring full: poll first */
			}
			emitted++;
			if (emitted - last_emit >= 1024) {
				last_emit = emitted;
				break;
			}
		}
		lp_cluster_poll(a, now_ns());
		lp_cluster_poll(b, now_ns());
		if (emitted == due)
			idle(a, b);
	}
	t_end = now_ns();
	cpu1 = cpu_us();
	lp_cluster_status(a, &sa);
	lp_cluster_status(b, &sb);
	printf("# %s: %u changes, rate %s, A sent %" PRIu64 " (conflicts %" PRIu64 "), B received %" PRIu64
	       " applied %" PRIu64 ", errors A %" PRIu64 " B %" PRIu64 "\n",
	       tag, n, rate > 0 ? "paced" : "unpaced", sa.counters[LP_CLUSTER_C_sent],
	       sa.counters[LP_CLUSTER_C_conflicts], sb.counters[LP_CLUSTER_C_received], tb.applied,
	       sa.counters[LP_CLUSTER_C_errors], sb.counters[LP_CLUSTER_C_errors]);
	printf("# %s: module's own view: A write lag (ring -> Redis ack) p50 %.2f p99 %.2f max %.2f ms; "
	       "B read lag (Redis write -> applied) p50 %.2f p99 %.2f max %.2f ms\n",
	       tag, sa.lag_out.p50_us / 1e3, sa.lag_out.p99_us / 1e3, sa.lag_out.max_us / 1e3, sb.lag_in.p50_us / 1e3,
	       sb.lag_in.p99_us / 1e3, sb.lag_in.max_us / 1e3);
	if (tb.applied < n)
		printf("# %s: only %" PRIu64 " of %u changes reached B within 120 s\n", tag, tb.applied, n);
	if (rate > 0)
		printf("cluster_%s_offered %.0f changes/s\n", tag, rate);
	printf("cluster_%s_replicated %.0f changes/s\n", tag, (double)tb.applied * 1e9 / (double)(t_end - t0));
	/* CPU, whatever else the machine runs: the writer and the reader together. */
	if (tb.applied > 0)
		printf("cluster_%s_members_cpu %.2f us/change\n", tag, (double)(cpu1 - cpu0) / (double)tb.applied);
	/* --trace: the worst lag of each 20,000 changes, in the order B applied them. */
	for (uint64_t i = 0; trace && i < tb.n_lag; i += 20000) {
		uint32_t mx = 0;

		for (uint64_t j = i; j < i + 20000 && j < tb.n_lag; j++)
			mx = tb.lag_us[j] > mx ? tb.lag_us[j] : mx;
		printf("# %s: trace: changes %" PRIu64 "..%" PRIu64 " worst lag %.1f ms\n", tag, i,
		       i + 20000 < tb.n_lag ? i + 19999 : tb.n_lag - 1, mx / 1000.0);
	}
	/* Unpaced, every change is queued at once: its "lag" is queueing. */
	if (tb.n_lag > 0 && rate > 0) {
		qsort(tb.lag_us, tb.n_lag, sizeof(tb.lag_us[0]), cmp_u32);
		printf("cluster_%s_lag_p50 %.2f ms\n", tag, tb.lag_us[tb.n_lag / 2] / 1000.0);
		printf("cluster_%s_lag_p99 %.2f ms\n", tag, tb.lag_us[tb.n_lag - tb.n_lag / 100 - 1] / 1000.0);
		printf("cluster_%s_lag_max %.2f ms\n", tag, tb.lag_us[tb.n_lag - 1] / 1000.0);
		printf("cluster_%s_lag_samples %" PRIu64 " changes\n", tag, tb.n_lag);
	}
	lp_cluster_destroy(a);
	lp_cluster_destroy(b);
	table_free(&ta);
	table_free(&tb);
}

static void
run_warm(const char *redis, uint32_t n, bool write)
{
	struct table ta, tc;
	struct lp_cluster *a, *c;
	uint64_t t0, t1;
	struct lp_cluster_status st;
	uint32_t have = 0;

	if (table_init(&ta, n, false) != 0 || table_init(&tc, n, false) != 0)
		exit(1);
	if (!write)
		goto load;
	a = member(redis, "bench-a", &ta, 1u << 20);
	wait_ready(&a, 1);
	t0 = now_ns();
	for (uint32_t i = 0; i < n;) {
		struct lp_cluster_event ev = {.key = key_of(i), .be = be_of((uint8_t)(1 + i % 200)),
					      .kind = LP_CLUSTER_EV_CREATE};

		if (lp_cluster_emit(a, 0, &ev))
			i++;
		else
			lp_cluster_poll(a, now_ns());
	}
	for (;;) {
		lp_cluster_poll(a, now_ns());
		lp_cluster_status(a, &st);
		if (st.backlog == 0 && st.counters[LP_CLUSTER_C_events] == n && st.inflight < 16)
			break;
	}
	t1 = now_ns();
	printf("# warm: %u bindings written by A in %.2f s\n", n, (double)(t1 - t0) / 1e9);
	lp_cluster_destroy(a);
load:
	t0 = now_ns();
	c = member(redis, "bench-c", &tc, 1024);
	while (!lp_cluster_loaded(c)) {
		lp_cluster_poll(c, now_ns());
		if (now_ns() - t0 > 60000000000ull) {
			fprintf(stderr, "bench_cluster: warm start did not finish in 60 s\n");
			exit(1);
		}
	}
	t1 = now_ns();
	for (uint32_t i = 0; i < n; i++)
		have += tc.be[i] == (uint8_t)(1 + i % 200);
	lp_cluster_status(c, &st);
	printf("# warm: C loaded %u of %u bindings (%" PRIu64 " read)\n", have, n, st.load_progress);
	printf("cluster_warm_start_%u %.0f ms\n", n, (double)(t1 - t0) / 1e6);
	printf("cluster_warm_start_rate %.0f bindings/s\n", (double)have * 1e9 / (double)(t1 - t0));
	lp_cluster_destroy(c);
	table_free(&ta);
	table_free(&tc);
}

/* Only the workers' side, for callgrind: instructions per emitted event. */
__attribute__((noinline)) void bench_emit_loop(struct lp_cluster *cl, const struct lp_cluster_event *ev, uint32_t n,
					      uint32_t burst);

/* A worker emits one event at a time (burst 1) or collects a burst's
 * events and hands them over at its end. */
__attribute__((noinline)) void
bench_emit_loop(struct lp_cluster *cl, const struct lp_cluster_event *ev, uint32_t n, uint32_t burst)
{
	if (burst <= 1) {
		for (uint32_t i = 0; i < n; i++)
			lp_cluster_emit(cl, 0, &ev[i]);
		return;
	}
	for (uint32_t i = 0; i < n; i += burst)
		lp_cluster_emit_burst(cl, 0, &ev[i], n - i < burst ? n - i : burst);
}

static void
run_emit(uint32_t n, uint32_t burst)
{
	struct table t;
	struct lp_cluster *cl;
	struct lp_cluster_event *ev = calloc(n, sizeof(*ev));
	unsigned int ring = 1;

	while (ring < n)
		ring *= 2;
	if (ev == NULL || table_init(&t, 16, false) != 0)
		exit(1);
	for (uint32_t i = 0; i < n; i++)
		ev[i] = (struct lp_cluster_event){.key = key_of(i), .be = be_of(1), .kind = LP_CLUSTER_EV_CREATE};
	cl = member("/nonexistent/bench.sock", "bench-emit", &t, ring);
	bench_emit_loop(cl, ev, n, burst);
	printf("cluster_emit_packets %u\n", n);
	lp_cluster_destroy(cl);
	table_free(&t);
	free(ev);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"redis", required_argument, NULL, 'r'}, {"changes", required_argument, NULL, 'n'},
		{"rate", required_argument, NULL, 'R'},	 {"mode", required_argument, NULL, 'm'},
		{"warm", required_argument, NULL, 'w'},	 {"emit", required_argument, NULL, 'e'},
		{"load-only", no_argument, NULL, 'L'},	 {"burst", required_argument, NULL, 'b'},
		{"trace", no_argument, NULL, 't'},	 {NULL, 0, NULL, 0},
	};
	const char *redis = NULL, *mode = "create";
	uint32_t n = 1000000, warm = 0, emit = 0, burst = 1;
	double rate = 0;
	bool write = true, trace = false;
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'r':
			redis = optarg;
			break;
		case 'n':
			n = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'R':
			rate = strtod(optarg, NULL);
			break;
		case 'm':
			mode = optarg;
			break;
		case 'w':
			warm = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'e':
			emit = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'b':
			burst = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 't':
			trace = true;
			break;
		case 'L':
			write = false;	/* --warm N: the bindings are in Redis already */
			break;
		default:
			fprintf(stderr, "usage: bench_cluster --redis PATH|HOST:PORT [--changes N] [--rate R] "
					"[--mode create|move|mix] [--trace] [--warm N] [--emit N]\n");
			return 2;
		}
	}
	if (emit > 0) {
		run_emit(emit, burst);
		return 0;
	}
	if (redis == NULL || n == 0 || n > (1u << 24)) {
		fprintf(stderr, "bench_cluster: --redis is required; --changes 1..16M\n");
		return 2;
	}
	if (warm > 0) {
		if (warm > (1u << 24)) {
			fprintf(stderr, "bench_cluster: --warm at most 16M\n");
			return 2;
		}
		run_warm(redis, warm, write);
		return 0;
	}
	{
		enum mode m = strcmp(mode, "move") == 0 ? MODE_MOVE : strcmp(mode, "mix") == 0 ? MODE_MIX : MODE_CREATE;
		char tag[32];

		if (m == MODE_CREATE && strcmp(mode, "create") != 0) {
			fprintf(stderr, "bench_cluster: --mode create, move or mix\n");
			return 2;
		}
		snprintf(tag, sizeof(tag), "%s%s", mode, rate > 0 ? "_paced" : "");
		run_changes(redis, n, rate, m, tag, trace);
	}
	return 0;
}
