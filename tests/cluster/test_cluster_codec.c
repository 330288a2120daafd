/* SPDX-License-Identifier: BSD-3-Clause */
/* lib/cluster without Redis: the text forms in Redis, coalescing, the
 * per-binding state table, the ring, endpoint checks, the histogram. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "cluster_priv.h"
#include "fake_aff.h"
#include "lp_test.h"
#include "redis_harness.h"

static struct lp_cluster_key
key_v6(const char *addr, uint8_t prefix)
{
	struct lp_cluster_key k;

	memset(&k, 0, sizeof(k));
	k.family = 6;
	k.prefix = prefix;
	inet_pton(AF_INET6, addr, k.addr);
	return k;
}

static void
test_format_client_and_backend(void)
{
	static const struct {
		const char *desc;
		struct lp_cluster_key key;
		const char *want;
	} clients[] = {
		{"v4 /32", {.family = 4, .prefix = 32, .addr = {10, 0, 0, 7}}, "10.0.0.7/32"},
		{"v4 /24", {.family = 4, .prefix = 24, .addr = {192, 168, 255, 0}}, "192.168.255.0/24"},
		{"v4 /0", {.family = 4, .prefix = 0}, "0.0.0.0/0"},
	};
	char buf[CODEC_CLIENT_MAX + 1];
	struct lp_cluster_key k6 = key_v6("2001:db8:1::", 48);
	struct lp_cluster_backend b = mk_be(11, 8080), b6;
	size_t n;

	for (size_t i = 0; i < sizeof(clients) / sizeof(clients[0]); i++) {
		n = codec_client(buf, &clients[i].key);
		buf[n] = '\0';
		CU_ASSERT_STRING_EQUAL(buf, clients[i].want);
	}
	n = codec_client(buf, &k6);
	buf[n] = '\0';
	CU_ASSERT_STRING_EQUAL(buf, "2001:db8:1::/48");
	n = codec_backend(buf, &b);
	buf[n] = '\0';
	CU_ASSERT_STRING_EQUAL(buf, "10.1.0.11:8080");
	memset(&b6, 0, sizeof(b6));
	b6.family = 6;
	b6.port = 65535;
	inet_pton(AF_INET6, "fd00::1", b6.addr);
	n = codec_backend(buf, &b6);
	buf[n] = '\0';
	CU_ASSERT_STRING_EQUAL(buf, "[fd00::1]:65535");
}

static void
test_parse_backend(void)
{
	static const struct {
		const char *in;
		bool ok;
	} cases[] = {
		{"10.1.0.11:8080", true},
		{"[fd00::1]:443", true},
		{"10.1.0.11", false},
		{"10.1.0.11:0", false},
		{"10.1.0.11:65536", false},
		{"10.1.0.11:80x", false},
		{"10.1.0:80", false},
		{"fd00::1:80", false},		/* v6 needs brackets */
		{"[10.0.0.1]:80", false},
		{"[fd00::1]80", false},
		{"[fd00::1", false},
		{":80", false},
		{"", false},
		{"10.1.0.11:99999999999999999999999", false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lp_cluster_backend b;
		char out[CODEC_BACKEND_MAX + 1];
		int rc = codec_parse_backend(cases[i].in, strlen(cases[i].in), &b);

		CU_ASSERT_EQUAL(rc == 0, cases[i].ok);
		if (rc == 0) {
			/* round trip */
			size_t n = codec_backend(out, &b);

			out[n] = '\0';
			CU_ASSERT_STRING_EQUAL(out, cases[i].in);
		}
	}
}

static void
test_parse_suffix(void)
{
	static const struct {
		const char *in;
		bool ok;
		const char *svc;
		uint8_t family, prefix;
	} cases[] = {
		{"web:10.0.0.7/32", true, "web", 4, 32},
		{"a.b-c_d:10.0.1.0/24", true, "a.b-c_d", 4, 24},
		{"web:2001:db8::/64", true, "web", 6, 64},
		{"web:10.0.0.7/24", false, NULL, 0, 0},	/* host bits set */
		{"web:10.0.0.7/33", false, NULL, 0, 0},
		{"web:10.0.0.7", false, NULL, 0, 0},
		{"web:10.0.0.7/", false, NULL, 0, 0},
		{":10.0.0.7/32", false, NULL, 0, 0},
		{"web", false, NULL, 0, 0},
		{"web:garbage/32", false, NULL, 0, 0},
		{"web:2001:db8::1/64", false, NULL, 0, 0},	/* host bits */
		{"web:2001:db8::/129", false, NULL, 0, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lp_cluster_key k;
		const char *svc;
		size_t svc_len;
		int rc = codec_parse_suffix(cases[i].in, strlen(cases[i].in), &svc, &svc_len, &k);

		CU_ASSERT_EQUAL(rc == 0, cases[i].ok);
		if (rc == 0 && cases[i].ok) {
			char buf[CODEC_CLIENT_MAX + 1];
			size_t n = codec_client(buf, &k);

			CU_ASSERT_EQUAL(svc_len, strlen(cases[i].svc));
			CU_ASSERT_EQUAL(memcmp(svc, cases[i].svc, svc_len), 0);
			CU_ASSERT_EQUAL(k.family, cases[i].family);
			CU_ASSERT_EQUAL(k.prefix, cases[i].prefix);
			buf[n] = '\0';
			CU_ASSERT_STRING_EQUAL(buf, cases[i].in + svc_len + 1);
		}
	}
}

static void
test_stream_ids(void)
{
	uint64_t ms, seq;

	CU_ASSERT_EQUAL(codec_parse_stream_id("1700000000000-5", 15, &ms, &seq), 0);
	CU_ASSERT_EQUAL(ms, 1700000000000ull);
	CU_ASSERT_EQUAL(seq, 5);
	CU_ASSERT_NOT_EQUAL(codec_parse_stream_id("17-", 3, &ms, &seq), 0);
	CU_ASSERT_NOT_EQUAL(codec_parse_stream_id("17", 2, &ms, &seq), 0);
	CU_ASSERT_EQUAL(codec_stream_id_cmp(1, 9, 2, 0), -1);
	CU_ASSERT_EQUAL(codec_stream_id_cmp(2, 1, 2, 0), 1);
	CU_ASSERT_EQUAL(codec_stream_id_cmp(2, 1, 2, 1), 0);
}

/* Coalescing an older unsent change with a newer one: {older, newer, merged}. */
static void
test_coalescing(void)
{
	static const struct {
		uint8_t older, newer, want;
	} cases[] = {
		{KOP_NONE, KOP_TOUCH, KOP_TOUCH},
		{KOP_TOUCH, KOP_TOUCH, KOP_TOUCH},
		{KOP_CREATE, KOP_TOUCH, KOP_CREATE},
		{KOP_MOVE, KOP_TOUCH, KOP_MOVE},
		{KOP_CLEAR, KOP_TOUCH, KOP_CLEAR},	/* a stale flow's touch does not undo a clear */
		{KOP_TOUCH, KOP_CREATE, KOP_CREATE},
		{KOP_CREATE, KOP_CREATE, KOP_CREATE},
		{KOP_MOVE, KOP_CREATE, KOP_MOVE},
		{KOP_CLEAR, KOP_CREATE, KOP_MOVE},	/* cleared and bound again: replace */
		{KOP_CREATE, KOP_MOVE, KOP_CREATE},	/* Redis never saw it: first writer still wins */
		{KOP_MOVE, KOP_MOVE, KOP_MOVE},
		{KOP_CLEAR, KOP_MOVE, KOP_MOVE},
		{KOP_CREATE, KOP_CLEAR, KOP_CLEAR},
		{KOP_MOVE, KOP_NONE, KOP_MOVE},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CU_ASSERT_EQUAL(kop_merge(cases[i].older, cases[i].newer), cases[i].want);
}

static void
test_ktab(void)
{
	struct ktab t;
	uint32_t n = 100000, i;

	CU_ASSERT_EQUAL_FATAL(ktab_init(&t, 64), 0);
	for (uint32_t c = 0; c < n; c++) {
		struct lp_cluster_key k = mk_key(1, c);

		i = ktab_get(&t, &k);
		CU_ASSERT_NOT_EQUAL_FATAL(i, NONE32);
		t.e[i].op = KOP_TOUCH;
		ktab_queue(&t, i);
	}
	CU_ASSERT_EQUAL(t.used, n);
	CU_ASSERT_EQUAL(t.q_len, n);
	for (uint32_t c = 0; c < n; c++) {
		struct lp_cluster_key k = mk_key(1, c);

		i = ktab_find(&t, &k);
		CU_ASSERT_FATAL(i != NONE32 && codec_key_eq(&t.e[i].key, &k));
	}
	/* FIFO order, and release frees only what nothing holds. */
	for (uint32_t c = 0; c < n; c++) {
		struct lp_cluster_key k = mk_key(1, c);

		i = ktab_dequeue(&t);
		CU_ASSERT_FATAL(i != NONE32 && codec_key_eq(&t.e[i].key, &k));
		if (c % 2 == 0)
			t.e[i].inflight = 1;	/* held by a command in flight */
		t.e[i].op = KOP_NONE;
		ktab_release(&t, i);
	}
	CU_ASSERT_EQUAL(ktab_dequeue(&t), NONE32);
	CU_ASSERT_EQUAL(t.used, n / 2);
	CU_ASSERT_NOT_EQUAL(ktab_shrink(&t), 0);	/* still holds entries */
	{
		struct lp_cluster_key k0 = mk_key(1, 0), k1 = mk_key(1, 1);

		CU_ASSERT_NOT_EQUAL(ktab_find(&t, &k0), NONE32);
		CU_ASSERT_EQUAL(ktab_find(&t, &k1), NONE32);
	}
	for (uint32_t c = 0; c < n; c += 2) {
		struct lp_cluster_key k = mk_key(1, c);

		i = ktab_find(&t, &k);
		t.e[i].inflight = 0;
		ktab_release(&t, i);
	}
	CU_ASSERT_EQUAL(t.used, 0);
	CU_ASSERT_EQUAL(ktab_shrink(&t), 0);
	CU_ASSERT_EQUAL(t.cap, 4096);
	{
		struct lp_cluster_key k = mk_key(1, 5);

		CU_ASSERT_EQUAL(ktab_find(&t, &k), NONE32);
		CU_ASSERT_NOT_EQUAL(ktab_get(&t, &k), NONE32);
	}
	ktab_free(&t);
}

static void
test_endpoint_and_name_checks(void)
{
	static const struct {
		const char *in;
		bool ok;
	} cases[] = {
		{"127.0.0.1:6379", true},
		{"redis.example:6379", true},
		{"[::1]:6379", true},
		{"/run/redis/redis.sock", true},
		{"127.0.0.1", false},
		{"127.0.0.1:0", false},
		{"127.0.0.1:70000", false},
		{"::1:6379", false},
		{"[::1]6379", false},
		{"relative/path.sock", false},
		{"", false},
		{":6379", false},
	};
	char err[200];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		CU_ASSERT_EQUAL(lp_cluster_endpoint_check(cases[i].in, err, sizeof(err)) == 0, cases[i].ok);
		if (!cases[i].ok)
			CU_ASSERT(strncmp(err, "redis: ", 7) == 0);
	}
	CU_ASSERT_PTR_NULL(lp_cluster_name_problem("prod-eu_1.a"));
	CU_ASSERT_PTR_NOT_NULL(lp_cluster_name_problem(""));
	CU_ASSERT_PTR_NOT_NULL(lp_cluster_name_problem("a:b"));
	CU_ASSERT_PTR_NOT_NULL(lp_cluster_name_problem("a*"));
	CU_ASSERT_PTR_NOT_NULL(lp_cluster_name_problem("0123456789012345678901234567890123"));
}

static struct fake_tab tab;

static uint64_t
clock_ns(void)
{
	return now_ns();
}

/* An instance whose Redis is a socket nobody listens on. */
static struct lp_cluster *
unreachable(unsigned int ring, char *err, size_t errlen)
{
	struct lp_cluster_params p = {
		.name = "t",
		.redis = "/nonexistent/limpet-test.sock",
		.hz = 1000000000u,
		.n_producers = 2,
		.ring_size = ring,
		.apply = fake_apply,
		.apply_arg = &tab,
		.log = NULL,
	};
	struct lp_cluster *cl;

	fake_init(&tab, 16);
	cl = lp_cluster_create(&p, err, errlen);
	if (cl != NULL)
		lp_cluster_service_set(cl, 1, "web", 60);
	return cl;
}

static void
quiet_log(void *arg, int level, const char *line)
{
	(void)arg;
	(void)level;
	(void)line;
}

static void
test_ring_full_is_counted(void)
{
	char err[200];
	struct lp_cluster *cl = unreachable(64, err, sizeof(err));
	struct lp_cluster_status st;
	unsigned int ok = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(cl);
	cl->p.log = quiet_log;
	for (uint32_t c = 0; c < 100; c++) {
		struct lp_cluster_event ev = {.key = mk_key(1, c), .be = mk_be(1, 80), .kind = LP_CLUSTER_EV_CREATE};

		ok += lp_cluster_emit(cl, 0, &ev);
	}
	CU_ASSERT_EQUAL(ok, 64);
	lp_cluster_status(cl, &st);
	CU_ASSERT_EQUAL(st.counters[LP_CLUSTER_C_ring_full], 36);
	/* A burst from another producer: all lost, counted there. */
	{
		struct lp_cluster_event evs[8];

		for (int i = 0; i < 8; i++)
			evs[i] = (struct lp_cluster_event){.key = mk_key(1, 1000u + (uint32_t)i), .be = mk_be(1, 80),
							   .kind = LP_CLUSTER_EV_CREATE};
		CU_ASSERT_EQUAL(lp_cluster_emit_burst(cl, 1, evs, 8), 0);
	}
	lp_cluster_status(cl, &st);
	CU_ASSERT_EQUAL(st.counters[LP_CLUSTER_C_ring_full], 44);
	/* Drained (Redis is away): the events wait in the backlog. */
	lp_cluster_poll(cl, now_ns());
	lp_cluster_status(cl, &st);
	CU_ASSERT_EQUAL(st.counters[LP_CLUSTER_C_events], 64);
	CU_ASSERT_EQUAL(st.backlog, 64);
	CU_ASSERT_EQUAL(st.state, LP_CLUSTER_DISCONNECTED);
	CU_ASSERT(strstr(st.last_error, "cannot connect") != NULL);
	lp_cluster_destroy(cl);
	fake_free(&tab);
}

static void
test_events_coalesce_in_backlog(void)
{
	char err[200];
	struct lp_cluster *cl = unreachable(1024, err, sizeof(err));
	struct lp_cluster_key k = mk_key(1, 7);
	struct lp_cluster_status st;
	static const uint8_t kinds[] = {LP_CLUSTER_EV_CREATE, LP_CLUSTER_EV_TOUCH, LP_CLUSTER_EV_MOVE,
					LP_CLUSTER_EV_TOUCH};
	uint32_t i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(cl);
	cl->p.log = quiet_log;
	for (size_t n = 0; n < sizeof(kinds); n++) {
		struct lp_cluster_event ev = {.key = k, .be = mk_be((uint8_t)(n + 1), 80), .kind = kinds[n]};

		lp_cluster_emit(cl, 0, &ev);
	}
	/* An unknown service, a bad kind, a bad prefix, no backend: dropped. */
	{
		struct lp_cluster_event bad = {.key = mk_key(9, 1), .be = mk_be(1, 80), .kind = LP_CLUSTER_EV_CREATE};

		lp_cluster_emit(cl, 0, &bad);
		bad.key = mk_key(1, 2);
		bad.kind = 77;
		lp_cluster_emit(cl, 0, &bad);
		bad.kind = LP_CLUSTER_EV_CREATE;
		bad.key.prefix = 33;
		lp_cluster_emit(cl, 0, &bad);
		bad.key.prefix = 32;
		bad.be.family = 0;
		lp_cluster_emit(cl, 0, &bad);
	}
	lp_cluster_poll(cl, now_ns());
	lp_cluster_status(cl, &st);
	CU_ASSERT_EQUAL(st.backlog, 1);
	CU_ASSERT_EQUAL(st.counters[LP_CLUSTER_C_coalesced], 3);
	CU_ASSERT_EQUAL(st.counters[LP_CLUSTER_C_errors] - 1, 3);	/* (1: cannot connect) */
	i = ktab_find(&cl->kt, &k);
	CU_ASSERT_FATAL(i != NONE32);
	/* created then moved before Redis saw it: a create of the moved value */
	CU_ASSERT_EQUAL(cl->kt.e[i].op, KOP_CREATE);
	{
		struct lp_cluster_backend want = mk_be(3, 80);

		CU_ASSERT(codec_backend_eq(&cl->kt.e[i].be, &want));
	}
	/* Not connected: an expiry check cannot be answered. */
	CU_ASSERT_EQUAL(lp_cluster_check(cl, &k), -ENOTCONN);
	lp_cluster_destroy(cl);
	fake_free(&tab);
}

static void
test_backoff_grows_and_poll_returns(void)
{
	char err[200];
	struct lp_cluster *cl = unreachable(1024, err, sizeof(err));
	uint64_t t0 = now_ns(), worst = 0;
	uint32_t first;
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(cl);
	cl->p.log = quiet_log;
	lp_cluster_poll(cl, now_ns());
	first = cl->backoff_ms;
	while (now_ns() - t0 < 700000000u) {
		uint64_t a = now_ns();

		lp_cluster_poll(cl, a);
		if (now_ns() - a > worst)
			worst = now_ns() - a;
		sleep_ms(1);
	}
	CU_ASSERT(cl->backoff_ms > first);
	CU_ASSERT(cl->c[LP_CLUSTER_C_errors] >= 2 && cl->c[LP_CLUSTER_C_errors] <= 8);
	CU_ASSERT(worst < 20000000u);	/* never waits: a bound far above one poll's work */
	/* The start-up wait gives up after its bound, and counts it. */
	rc = lp_cluster_wait_loaded(cl, 50, clock_ns);
	CU_ASSERT_EQUAL(rc, -ETIMEDOUT);
	CU_ASSERT_EQUAL(cl->c[LP_CLUSTER_C_start_unreachable], 1);
	CU_ASSERT_FALSE(lp_cluster_loaded(cl));
	{
		struct lp_cluster_status st;
		char text[4096];

		lp_cluster_status(cl, &st);
		lp_cluster_format(&st, text, sizeof(text));
		CU_ASSERT(strstr(text, "disconnected") != NULL);
		CU_ASSERT(strstr(text, "start_unreachable  1") != NULL);
		CU_ASSERT(strstr(text, "loading") != NULL);
	}
	lp_cluster_destroy(cl);
	fake_free(&tab);
}

static void
test_create_refuses_bad_params(void)
{
	char err[200];
	struct lp_cluster_params p = {.name = "bad name", .redis = "/x.sock", .hz = 1, .n_producers = 1,
				      .apply = fake_apply};

	CU_ASSERT_PTR_NULL(lp_cluster_create(&p, err, sizeof(err)));
	CU_ASSERT(strstr(err, "name:") != NULL);
	p.name = "ok";
	p.redis = "nohost";
	CU_ASSERT_PTR_NULL(lp_cluster_create(&p, err, sizeof(err)));
	CU_ASSERT(strstr(err, "redis:") != NULL);
	p.redis = "/x.sock";
	p.ring_size = 1000;
	CU_ASSERT_PTR_NULL(lp_cluster_create(&p, err, sizeof(err)));
	CU_ASSERT(strstr(err, "power of two") != NULL);
}

static void
test_histogram(void)
{
	struct hist a, b;
	struct lp_cluster_lag lag;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	for (int i = 0; i < 98; i++)
		hist_add(&a, 1000);	/* 1 ms */
	hist_add(&b, 40000);
	hist_add(&b, 90000);
	hist_summary(&a, &b, &lag);
	CU_ASSERT_EQUAL(lag.samples, 100);
	/* buckets are 1/32 of a power of two wide */
	CU_ASSERT(lag.p50_us >= 1000 * 31 / 32 && lag.p50_us <= 1000);
	CU_ASSERT(lag.p99_us >= 40000 * 31 / 32 && lag.p99_us <= 40000);
	CU_ASSERT_EQUAL(lag.max_us, 90000);
}

static const struct lp_test_case codec_cases[] = {
	{"format_client_and_backend", test_format_client_and_backend},
	{"parse_backend", test_parse_backend},
	{"parse_suffix", test_parse_suffix},
	{"stream_ids", test_stream_ids},
	{"coalescing", test_coalescing},
	{"ktab", test_ktab},
	{"endpoint_and_name_checks", test_endpoint_and_name_checks},
	{"histogram", test_histogram},
	{NULL, NULL},
};

static const struct lp_test_case member_cases[] = {
	{"create_refuses_bad_params", test_create_refuses_bad_params},
	{"ring_full_is_counted", test_ring_full_is_counted},
	{"events_coalesce_in_backlog", test_events_coalesce_in_backlog},
	{"backoff_grows_and_poll_returns", test_backoff_grows_and_poll_returns},
	{NULL, NULL},
};

static const struct lp_test_suite suites[] = {
	{"cluster_codec", NULL, NULL, codec_cases},
	{"cluster_member_without_redis", NULL, NULL, member_cases},
	{NULL, NULL, NULL, NULL},
};

int
main(void)
{
	return lp_test_run(suites);
}
