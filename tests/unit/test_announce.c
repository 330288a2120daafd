/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * VIP routes in a kernel table, against the real kernel: the program moves
 * itself into a network namespace of its own (unshare), makes a veth pair
 * there, and checks every outcome with `ip route show table N`, an
 * independent reader. It needs root (exit 77, skipped, otherwise).
 *
 * Time: @c now is in milliseconds (hz = 1000). Netlink answers are
 * synchronous in the kernel, so a poll after a request reads its ACK.
 */
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_log.h>

#include "lp_announce.h"
#include "lp_test.h"

#define TABLE 100u
#define IFACE "ann0"
#define PEER "ann1"

static char *log_buf;
static size_t log_len;
static FILE *log_stream;

static uint64_t
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static void
sh(const char *cmd)
{
	if (system(cmd) != 0)
		fprintf(stderr, "command failed: %s\n", cmd);
}

/* Output of a command (static buffer). */
static const char *
run(const char *cmd)
{
	static char out[65536];
	size_t n = 0;
	FILE *p = popen(cmd, "r");

	out[0] = '\0';
	if (p == NULL)
		return out;
	while (n < sizeof(out) - 1 && fgets(out + n, (int)(sizeof(out) - n), p) != NULL)
		n += strlen(out + n);
	pclose(p);
	return out;
}

/* Routes of limpet's protocol in the test table, both families. */
static int
route_count(void)
{
	const char *out = run("{ ip -o -4 route show table 100 proto 250; ip -o -6 route show table 100 proto 250; } 2>/dev/null");
	int n = 0;

	for (const char *p = out; *p != '\0'; p++)
		n += *p == '\n';
	return n;
}

/* The route for @p addr in the table, on @p dev, of limpet's protocol. */
static bool
has_route(const char *addr, const char *dev)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "ip -o %s route show table 100 proto 250 %s 2>/dev/null",
		 strchr(addr, ':') != NULL ? "-6" : "-4", addr);
	const char *out = run(cmd);
	char want[64];

	snprintf(want, sizeof(want), "dev %s", dev);
	return strncmp(out, addr, strlen(addr)) == 0 && strstr(out, want) != NULL;
}

static struct lp_ip
ip_of(const char *s)
{
	struct lp_ip ip;

	if (lp_ip_parse(s, &ip) != 0)
		abort();
	return ip;
}

static struct lp_announce *
make(int ifindex, uint32_t resync_ms)
{
	struct lp_announce_opts o = {
		.table = TABLE,
		.ifindex = ifindex,
		.hz = 1000,
		.resync_ms = resync_ms,
	};
	struct lp_announce *a = lp_announce_create(&o);

	CU_ASSERT_FATAL(a != NULL);
	return a;
}

/* Poll with real time until every route is as it should be. */
static bool
settle(struct lp_announce *a, unsigned int max_ms)
{
	uint64_t end = now_ms() + max_ms;

	while (now_ms() < end) {
		lp_announce_poll(a, now_ms());
		if (lp_announce_settled(a))
			return true;
		usleep(2000);
	}
	return false;
}

static const char *
why(struct lp_announce *a, uint32_t i)
{
	static struct lp_announce_view v;

	CU_ASSERT_FATAL(lp_announce_view(a, i, &v) == 0);
	return v.why_text;
}

static int
log_lines(const char *needle)
{
	int n = 0;

	fflush(log_stream);
	for (const char *p = log_buf; p != NULL && (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static void
cleanup_table(void)
{
	sh("ip -4 route flush table 100 2>/dev/null; ip -6 route flush table 100 2>/dev/null; true");
}

/* ---- cases ---- */

static void
test_routes_follow_desired_set(void)
{
	struct lp_announce *a = make((int)if_nametoindex(IFACE), 0);
	struct lp_announce_vip vips[] = {
		{ ip_of("10.0.0.100"), true },
		{ ip_of("10.0.0.101"), true },
		{ ip_of("fd00::100"), true },
		{ ip_of("10.0.0.102"), false },
	};

	CU_ASSERT(lp_announce_set(a, vips, 4) == 0);
	CU_ASSERT(settle(a, 2000));
	CU_ASSERT(route_count() == 3);
	CU_ASSERT(has_route("10.0.0.100", IFACE));
	CU_ASSERT(has_route("10.0.0.101", IFACE));
	CU_ASSERT(has_route("fd00::100", IFACE));
	CU_ASSERT(!has_route("10.0.0.102", IFACE));
	CU_ASSERT_STRING_EQUAL(why(a, 0), "announced");
	CU_ASSERT_STRING_EQUAL(why(a, 3), "no backend up");

	/* The last backend of 10.0.0.101 goes down; one of 10.0.0.102 comes up. */
	CU_ASSERT(lp_announce_set_serving(a, &vips[1].addr, false) == 0);
	CU_ASSERT(lp_announce_set_serving(a, &vips[3].addr, true) == 0);
	CU_ASSERT(settle(a, 2000));
	CU_ASSERT(!has_route("10.0.0.101", IFACE));
	CU_ASSERT(has_route("10.0.0.102", IFACE));
	CU_ASSERT_STRING_EQUAL(why(a, 1), "no backend up");

	/* A VIP leaves the set: its route goes, and so does its view. */
	vips[3].can_serve = true;
	CU_ASSERT(lp_announce_set(a, vips + 2, 2) == 0);
	CU_ASSERT(lp_announce_count(a) == 2);
	CU_ASSERT(settle(a, 2000));
	CU_ASSERT(!has_route("10.0.0.100", IFACE));
	CU_ASSERT(has_route("fd00::100", IFACE));
	CU_ASSERT(route_count() == 2);
	CU_ASSERT(lp_announce_stats(a)->errors == 0);
	CU_ASSERT(lp_announce_withdraw_all(a, 1000) == 0);
	CU_ASSERT(route_count() == 0);
	lp_announce_destroy(a);
}

static void
test_holds_and_reasons(void)
{
	struct lp_announce *a = make((int)if_nametoindex(IFACE), 0);
	struct lp_announce_vip vips[] = { { ip_of("10.0.1.1"), true }, { ip_of("10.0.1.2"), false } };
	static const struct {
		unsigned int holds;
		const char *why0, *why1;
	} cases[] = {
		{ LP_ANNOUNCE_HOLD_LOADING, "loading bindings", "loading bindings" },
		{ LP_ANNOUNCE_HOLD_WORKERS | LP_ANNOUNCE_HOLD_LOADING, "workers not running", "workers not running" },
		{ LP_ANNOUNCE_HOLD_OPERATOR | LP_ANNOUNCE_HOLD_WORKERS, "withdrawn by operator", "withdrawn by operator" },
		{ LP_ANNOUNCE_HOLD_SHUTDOWN | LP_ANNOUNCE_HOLD_OPERATOR, "shutting down", "shutting down" },
		{ 0, "announced", "no backend up" },
	};

	lp_announce_hold(a, LP_ANNOUNCE_HOLD_WORKERS, true);
	CU_ASSERT(lp_announce_set(a, vips, 2) == 0);
	CU_ASSERT(settle(a, 2000));
	CU_ASSERT(route_count() == 0);
	CU_ASSERT_STRING_EQUAL(why(a, 0), "workers not running");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		lp_announce_hold(a, ~0u, false);
		lp_announce_hold(a, cases[i].holds, true);
		CU_ASSERT(lp_announce_holds(a) == cases[i].holds);
		CU_ASSERT(settle(a, 2000));
		CU_ASSERT(route_count() == (cases[i].holds == 0 ? 1 : 0));
		CU_ASSERT_STRING_EQUAL(why(a, 0), cases[i].why0);
		CU_ASSERT_STRING_EQUAL(why(a, 1), cases[i].why1);
	}
	CU_ASSERT(has_route("10.0.1.1", IFACE));
	CU_ASSERT(lp_announce_withdraw_all(a, 1000) == 0);
	CU_ASSERT_STRING_EQUAL(why(a, 0), "shutting down");
	lp_announce_destroy(a);
}

/* `ip route flush table N`: restored from the kernel's notifications,
 * well before any periodic resync (set to 10 minutes here). */
static void
test_flush_restored_by_notification(void)
{
	struct lp_announce *a = make((int)if_nametoindex(IFACE), 600000);
	struct lp_announce_vip vips[] = {
		{ ip_of("10.0.2.1"), true }, { ip_of("10.0.2.2"), true }, { ip_of("fd00::2:1"), true },
	};

	CU_ASSERT(lp_announce_set(a, vips, 3) == 0);
	CU_ASSERT(settle(a, 2000));
	CU_ASSERT(route_count() == 3);
	uint64_t resyncs = lp_announce_stats(a)->resyncs;

	sh("ip -4 route flush table 100; ip -6 route flush table 100");
	CU_ASSERT(route_count() == 0);
	lp_announce_poll(a, now_ms());	/* reads the notifications, sends the additions */
	CU_ASSERT(settle(a, 2000));
	CU_ASSERT(route_count() == 3);
	CU_ASSERT(lp_announce_stats(a)->removed_outside == 3);
	CU_ASSERT(lp_announce_stats(a)->resyncs == resyncs);
	CU_ASSERT(lp_announce_withdraw_all(a, 1000) == 0);
	lp_announce_destroy(a);
}

/* Someone replaces limpet's route with one on another interface: limpet
 * puts its own back (from the notification; the resync would too). */
static void
test_replaced_route_restored(void)
{
	struct lp_announce *a = make((int)if_nametoindex(IFACE), 600000);
	struct lp_announce_vip vips[] = { { ip_of("10.0.6.1"), true } };

	CU_ASSERT(lp_announce_set(a, vips, 1) == 0);
	CU_ASSERT(settle(a, 2000));
	CU_ASSERT(has_route("10.0.6.1", IFACE));
	sh("ip route replace 10.0.6.1/32 dev " PEER " table 100 proto 250");
	CU_ASSERT(has_route("10.0.6.1", PEER));
	lp_announce_poll(a, now_ms());
	CU_ASSERT(settle(a, 2000));
	CU_ASSERT(has_route("10.0.6.1", IFACE));
	CU_ASSERT(lp_announce_stats(a)->removed_outside == 1);
	CU_ASSERT(lp_announce_withdraw_all(a, 1000) == 0);
	CU_ASSERT(route_count() == 0);
	lp_announce_destroy(a);
}

/* A link that goes down takes its IPv4 routes with it, and the kernel
 * sends no route notification: limpet sees the link event, fails while
 * the link is down (counted, logged once), and restores the routes once
 * it is up. */
static void
test_link_down_restored_by_resync(void)
{
	struct lp_announce *a = make((int)if_nametoindex(IFACE), 0);
	struct lp_announce_vip vips[] = { { ip_of("10.0.3.1"), true }, { ip_of("10.0.3.2"), true } };
	uint64_t t0;
	int before = log_lines("cannot add the route for 10.0.3.1");

	CU_ASSERT(lp_announce_set(a, vips, 2) == 0);
	CU_ASSERT(settle(a, 2000));
	CU_ASSERT(route_count() == 2);
	sh("ip link set " IFACE " down");
	CU_ASSERT(route_count() == 0);
	t0 = now_ms();
	while (now_ms() - t0 < 1500 && lp_announce_stats(a)->errors < 4) {
		lp_announce_poll(a, now_ms());
		usleep(5000);
	}
	CU_ASSERT(lp_announce_stats(a)->removed_outside == 2);
	CU_ASSERT(lp_announce_stats(a)->errors >= 4);
	CU_ASSERT(strncmp(why(a, 0), "netlink error: ", 15) == 0);
	printf("\n    while the link is down: \"%s\", %llu errors\n", why(a, 0),
	       (unsigned long long)lp_announce_stats(a)->errors);
	CU_ASSERT(log_lines("cannot add the route for 10.0.3.1") == before + 1);
	sh("ip link set " IFACE " up");
	CU_ASSERT(settle(a, 8000));
	CU_ASSERT(route_count() == 2);
	CU_ASSERT_STRING_EQUAL(why(a, 0), "announced");
	CU_ASSERT(lp_announce_withdraw_all(a, 1000) == 0);
	lp_announce_destroy(a);
}

/* The interface is deleted and made again (a new index): once told, the
 * routes go on the new one at once, whatever backoff the failures while
 * it was missing had built up. Time is limpet's (fake) from the deletion
 * on, so "at once" means without any time passing. */
static void
test_recreated_interface(void)
{
	struct lp_announce *a;
	struct lp_announce_vip vips[] = { { ip_of("10.0.6.1"), true }, { ip_of("10.0.6.2"), true } };
	uint64_t t = 1000;
	int old_idx, new_idx;

	sh("ip link add annr0 type veth peer name annr1 && ip link set annr0 up && ip link set annr1 up");
	old_idx = (int)if_nametoindex("annr0");
	CU_ASSERT_FATAL(old_idx > 0);
	a = make(old_idx, 0);
	CU_ASSERT(lp_announce_set(a, vips, 2) == 0);
	CU_ASSERT(settle(a, 2000));
	CU_ASSERT(has_route("10.0.6.1", "annr0"));
	sh("ip link del annr0");
	/* Ten seconds without the interface: the tries back off to 5 s. */
	for (; t <= 11000; t += 20)
		lp_announce_poll(a, t);
	CU_ASSERT(route_count() == 0);
	CU_ASSERT(lp_announce_stats(a)->errors >= 6);
	sh("ip link add annr0 type veth peer name annr1 && ip link set annr0 up && ip link set annr1 up");
	new_idx = (int)if_nametoindex("annr0");
	CU_ASSERT_FATAL(new_idx > 0 && new_idx != old_idx);
	CU_ASSERT(lp_announce_set_ifindex(a, 0) == -EINVAL);
	CU_ASSERT(lp_announce_set_ifindex(a, new_idx) == 0);
	for (int i = 0; i < 50 && !lp_announce_settled(a); i++) {
		lp_announce_poll(a, t);
		usleep(2000);
	}
	CU_ASSERT(lp_announce_settled(a));
	CU_ASSERT(has_route("10.0.6.1", "annr0"));
	CU_ASSERT(has_route("10.0.6.2", "annr0"));
	CU_ASSERT_STRING_EQUAL(why(a, 0), "announced");
	CU_ASSERT(lp_announce_withdraw_all(a, 1000) == 0);
	CU_ASSERT(route_count() == 0);
	lp_announce_destroy(a);
	sh("ip link del annr0");
}

/* Routes to an interface that does not exist: every try fails, each is
 * counted, one line is logged, retries back off, nothing else stops. */
static void
test_missing_ifindex_counted_not_fatal(void)
{
	struct lp_announce *a = make(9999, 0);
	struct lp_announce_vip vips[] = { { ip_of("10.0.4.1"), true } };
	int before = log_lines("cannot add the route for 10.0.4.1");
	const struct lp_announce_stats *st = lp_announce_stats(a);

	CU_ASSERT(lp_announce_set(a, vips, 1) == 0);
	/* Ten seconds of limpet time in 20 ms steps: with backoff from 100 ms
	 * to 5 s, tries at 0, 0.1, 0.3, 0.7, 1.5, 3.1, 6.3 s. */
	for (uint64_t t = 1000; t <= 11000; t += 20)
		lp_announce_poll(a, t);
	printf("\n    %llu tries in 10 s, %llu errors: \"%s\"\n", (unsigned long long)st->route_adds,
	       (unsigned long long)st->errors, why(a, 0));
	CU_ASSERT(st->route_adds == 7);
	CU_ASSERT(st->errors == 7);
	CU_ASSERT(log_lines("cannot add the route for 10.0.4.1") == before + 1);
	CU_ASSERT(strncmp(why(a, 0), "netlink error: ", 15) == 0);
	CU_ASSERT(route_count() == 0);
	CU_ASSERT(!lp_announce_settled(a));
	lp_announce_destroy(a);
}

/* An earlier run's routes (limpet's protocol) are deleted at start;
 * anyone else's routes in the table are left alone. */
static void
test_stale_routes_removed_at_start(void)
{
	struct lp_announce *a;
	struct lp_announce_vip vips[] = { { ip_of("10.0.5.1"), true } };

	sh("ip route add 10.0.5.9/32 dev " IFACE " table 100 proto 250");
	sh("ip route add 10.0.5.8/32 dev " IFACE " table 100 proto static");
	a = make((int)if_nametoindex(IFACE), 0);
	CU_ASSERT(lp_announce_set(a, vips, 1) == 0);
	CU_ASSERT(settle(a, 2000));
	CU_ASSERT(!has_route("10.0.5.9", IFACE));
	CU_ASSERT(has_route("10.0.5.1", IFACE));
	CU_ASSERT(strstr(run("ip -o route show table 100 10.0.5.8"), "proto static") != NULL);
	CU_ASSERT(lp_announce_stats(a)->stale_removed == 1);
	CU_ASSERT(lp_announce_withdraw_all(a, 1000) == 0);
	CU_ASSERT(strstr(run("ip -o route show table 100 10.0.5.8"), "proto static") != NULL);
	lp_announce_destroy(a);
	cleanup_table();
}

/* Many VIPs: one poll sends at most LP_ANNOUNCE_BURST requests; shutdown
 * withdraws all of them in one bounded call. */
static void
test_bounded_polls_and_quick_withdraw(void)
{
	enum { N = 300 };
	struct lp_announce *a = make((int)if_nametoindex(IFACE), 0);
	struct lp_announce_vip *vips = calloc(N, sizeof(*vips));
	uint64_t t0;
	int left;

	CU_ASSERT_FATAL(vips != NULL);
	for (uint32_t i = 0; i < N; i++) {
		char s[32];

		snprintf(s, sizeof(s), i % 2 ? "10.1.%u.%u" : "fd00:1::%x:%x", i / 200, i % 200 + 1);
		vips[i] = (struct lp_announce_vip){ ip_of(s), true };
	}
	CU_ASSERT(lp_announce_set(a, vips, N) == 0);
	lp_announce_poll(a, now_ms());
	CU_ASSERT(lp_announce_stats(a)->route_adds == LP_ANNOUNCE_BURST);
	CU_ASSERT(settle(a, 5000));
	CU_ASSERT(route_count() == N);
	t0 = now_ms();
	left = lp_announce_withdraw_all(a, 2000);
	printf("\n    withdrew %d routes in %llu ms\n", N, (unsigned long long)(now_ms() - t0));
	CU_ASSERT(left == 0);
	CU_ASSERT(route_count() == 0);
	CU_ASSERT_STRING_EQUAL(why(a, 0), "shutting down");
	lp_announce_destroy(a);
	free(vips);
}

static void
test_bad_input(void)
{
	struct lp_announce_opts o = { .table = 254, .ifindex = 1, .hz = 1000 };
	struct lp_announce *a;
	struct lp_announce_vip bad = { { 0 }, true };
	struct lp_ip unknown = ip_of("10.9.9.9");

	for (uint32_t t = 0; t < 4; t++) {
		static const uint32_t tables[] = { 0, 253, 254, 255 };

		o.table = tables[t];
		CU_ASSERT(lp_announce_create(&o) == NULL && rte_errno == EINVAL);
	}
	o.table = 100;
	o.ifindex = 0;
	CU_ASSERT(lp_announce_create(&o) == NULL && rte_errno == EINVAL);
	a = make((int)if_nametoindex(IFACE), 0);
	CU_ASSERT(lp_announce_set(a, &bad, 1) == -EINVAL);
	CU_ASSERT(lp_announce_set_serving(a, &unknown, true) == -ENOENT);
	CU_ASSERT(lp_announce_view(a, 0, &(struct lp_announce_view){ 0 }) == -ENOENT);
	lp_announce_destroy(a);
}

static void
test_iface_set(void)
{
	struct lp_mac mac = { { 0x02, 0, 0, 0, 0, 0x42 } };
	struct lp_announce_addr addrs[] = {
		{ ip_of("10.77.0.1"), 24 },
		{ ip_of("fd00:77::1"), 64 },
	};
	struct lp_announce_iface s = {
		.name = PEER, .mac = &mac, .mtu = 1400, .addrs = addrs, .n_addrs = 2, .up = true,
	};
	char err[256];
	int ifindex;

	sh("ip link set " PEER " down");
	ifindex = lp_announce_iface_set(&s, 1000, err, sizeof(err));
	CU_ASSERT(ifindex == (int)if_nametoindex(PEER));
	/* (sysfs shows the namespace it was mounted in: ask ip.) */
	CU_ASSERT(strstr(run("ip -o link show " PEER), "link/ether 02:00:00:00:00:42") != NULL);
	CU_ASSERT(strstr(run("ip -o link show " PEER), " mtu 1400 ") != NULL);
	CU_ASSERT(strstr(run("ip -o link show " PEER), ",UP") != NULL);
	CU_ASSERT(strstr(run("ip -o -4 addr show dev " PEER), "10.77.0.1/24") != NULL);
	CU_ASSERT(strstr(run("ip -o -6 addr show dev " PEER), "fd00:77::1/64") != NULL);
	/* Again: the same state, no error (addresses are replaced). */
	CU_ASSERT(lp_announce_iface_set(&s, 1000, err, sizeof(err)) == ifindex);

	s.name = "nosuch0";
	CU_ASSERT(lp_announce_iface_set(&s, 1000, err, sizeof(err)) == -ENODEV);
	CU_ASSERT(strstr(err, "nosuch0") != NULL);
	s.name = PEER;
	s.mtu = 60;	/* below Ethernet's minimum: the kernel's reason is passed on */
	CU_ASSERT(lp_announce_iface_set(&s, 1000, err, sizeof(err)) == -EINVAL);
	printf("\n    refused: %s\n", err);
	CU_ASSERT(strstr(err, PEER) != NULL && strstr(err, "MTU") != NULL);
	CU_ASSERT(strstr(run("ip -o link show " PEER), " mtu 1400 ") != NULL);
}

static int
suite_init(void)
{
	cleanup_table();
	return 0;
}

int
main(void)
{
	static const struct lp_test_case cases[] = {
		{ "routes follow the desired set", test_routes_follow_desired_set },
		{ "holds and reasons", test_holds_and_reasons },
		{ "flush restored by notification", test_flush_restored_by_notification },
		{ "replaced route restored", test_replaced_route_restored },
		{ "link down, restored after", test_link_down_restored_by_resync },
		{ "missing ifindex counted, not fatal", test_missing_ifindex_counted_not_fatal },
		{ "recreated interface: routes move to its new index at once", test_recreated_interface },
		{ "stale routes removed at start", test_stale_routes_removed_at_start },
		{ "bounded polls, quick withdraw", test_bounded_polls_and_quick_withdraw },
		{ "bad input", test_bad_input },
		{ "kernel interface setup", test_iface_set },
		{ NULL, NULL },
	};
	static const struct lp_test_suite suites[] = {
		{ "announce", suite_init, NULL, cases },
		{ NULL, NULL, NULL, NULL },
	};

	if (geteuid() != 0) {
		printf("SKIP: needs root (a network namespace of its own)\n");
		return 77;
	}
	if (unshare(CLONE_NEWNET) != 0) {
		perror("unshare(CLONE_NEWNET)");
		return EXIT_FAILURE;
	}
	if (system("ip link set lo up && ip link add " IFACE " type veth peer name " PEER
		   " && ip link set " IFACE " up && ip link set " PEER " up") != 0) {
		fprintf(stderr, "cannot create the veth pair (iproute2 missing?)\n");
		return EXIT_FAILURE;
	}
	/* The module's log, to count its lines. */
	log_stream = open_memstream(&log_buf, &log_len);
	if (log_stream == NULL || rte_openlog_stream(log_stream) != 0)
		return EXIT_FAILURE;
	return lp_test_run(suites);
}
