/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ECMP lab's stand-in for limpet's announcer: lib/announce keeping VIP
 * routes in a kernel table, driven by signals.
 *
 *   announce_vip --table N --dev IFACE VIP...
 *
 * Announces every VIP; SIGUSR1 withdraws them (the operator hold), SIGUSR2
 * announces them again; SIGTERM withdraws all and exits. Prints one line
 * per change of the announced count ("announced 1").
 */
#include <getopt.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "lp_announce.h"

static volatile sig_atomic_t quit, hold = -1;

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		hold = 1;
	else if (sig == SIGUSR2)
		hold = 0;
	else
		quit = 1;
}

static uint64_t
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

int
main(int argc, char **argv)
{
	struct lp_announce_opts o = { .hz = 1000 };
	struct lp_announce_vip vips[16];
	struct lp_announce *a;
	uint32_t n = 0, shown = UINT32_MAX;
	int opt;

	while ((opt = getopt(argc, argv, "t:d:")) != -1) {
		if (opt == 't')
			o.table = (uint32_t)strtoul(optarg, NULL, 10);
		else if (opt == 'd')
			o.ifindex = (int)if_nametoindex(optarg);
		else
			return 2;
	}
	for (; optind < argc && n < 16; optind++, n++) {
		vips[n].can_serve = true;
		if (lp_ip_parse(argv[optind], &vips[n].addr) != 0) {
			fprintf(stderr, "announce_vip: '%s' is not an address\n", argv[optind]);
			return 2;
		}
	}
	a = lp_announce_create(&o);
	if (a == NULL || n == 0 || lp_announce_set(a, vips, n) != 0) {
		fprintf(stderr, "usage: announce_vip -t TABLE -d IFACE VIP... (an existing interface)\n");
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGUSR1, on_signal);
	signal(SIGUSR2, on_signal);
	while (!quit) {
		uint32_t up = 0;

		if (hold >= 0) {
			lp_announce_hold(a, LP_ANNOUNCE_HOLD_OPERATOR, hold == 1);
			hold = -1;
		}
		lp_announce_poll(a, now_ms());
		for (uint32_t i = 0; i < lp_announce_count(a); i++) {
			struct lp_announce_view v;

			if (lp_announce_view(a, i, &v) == 0 && v.announced)
				up++;
		}
		if (up != shown) {
			printf("announced %u\n", up);
			fflush(stdout);
			shown = up;
		}
		usleep(1000);
	}
	n = (uint32_t)lp_announce_withdraw_all(a, 1000);
	printf("withdrawn, %u left\n", n);
	lp_announce_destroy(a);
	return n == 0 ? 0 : 1;
}
