/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Maglev build and lookup timings. Output is one `name value unit` line per
 * figure (comment lines start with '#'), so scripts can compare runs.
 * Build figures are the median of BUILD_RUNS builds: the median, not the
 * mean, so one preempted run on a shared machine does not move the figure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lp_maglev.h"

#define BUILD_RUNS 31
#define LOOKUPS (1u << 22)

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* splitmix64: a seeded stream, so every run times the same inputs. */
static uint64_t
next_rand(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static void
print_cpu(void)
{
	char line[256];
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "model name", 10) == 0) {
			printf("# %s", line);
			break;
		}
	}
	fclose(f);
}

/* Backends 10.x.y.z:8080; weight 0 asks for random weights 1..10. */
static struct lp_maglev_backend *
make_backends(uint32_t n, uint32_t weight, uint32_t inactive_every)
{
	struct lp_maglev_backend *b = calloc(n, sizeof(*b));
	uint64_t seed = 42;

	if (b == NULL) {
		perror("calloc");
		exit(EXIT_FAILURE);
	}
	for (uint32_t i = 0; i < n; i++) {
		uint8_t addr[4] = { 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };

		b[i].key = lp_maglev_key(addr, sizeof(addr), 8080);
		b[i].weight = weight != 0 ? weight : (uint32_t)(next_rand(&seed) % 10) + 1;
		b[i].flags = inactive_every != 0 && i % inactive_every == 0 ? LP_MAGLEV_F_INACTIVE : 0;
		b[i].cookie = i;
	}
	return b;
}

static void
bench_build(const char *name, uint32_t size, uint32_t n, uint32_t weight, uint32_t inactive_every)
{
	struct lp_maglev_backend *b = make_backends(n, weight, inactive_every);
	uint64_t ns[BUILD_RUNS];

	for (int r = 0; r < BUILD_RUNS; r++) {
		uint64_t t0 = now_ns();
		struct lp_maglev_table *t = lp_maglev_build(size, b, n);

		ns[r] = now_ns() - t0;
		if (t == NULL) {
			perror("lp_maglev_build");
			exit(EXIT_FAILURE);
		}
		lp_maglev_free(t);
	}
	qsort(ns, BUILD_RUNS, sizeof(ns[0]), cmp_u64);
	printf("%s %.3f ms\n", name, (double)ns[BUILD_RUNS / 2] / 1e6);
	free(b);
}

static void
bench_lookup(void)
{
	struct lp_maglev_backend *b = make_backends(1000, 1, 0);
	struct lp_maglev_table *t = lp_maglev_build(LP_MAGLEV_DEFAULT_SIZE, b, 1000);
	uint32_t *hash = malloc(sizeof(*hash) * LOOKUPS);
	uint32_t *load = calloc(t != NULL ? t->n_backends : 1, sizeof(*load));
	uint64_t seed = 7, sum = 0, t0, elapsed;

	if (t == NULL || hash == NULL || load == NULL) {
		perror("bench_lookup");
		exit(EXIT_FAILURE);
	}
	for (uint32_t i = 0; i < LOOKUPS; i++)
		hash[i] = (uint32_t)next_rand(&seed);

	t0 = now_ns();
	for (uint32_t i = 0; i < LOOKUPS; i++)
		sum += lp_maglev_lookup(t, hash[i]);
	elapsed = now_ns() - t0;
	printf("maglev_lookup %.2f ns\n", (double)elapsed / LOOKUPS);

	/* Loads grow as picks happen, as a scheduler binding new clients. */
	t0 = now_ns();
	for (uint32_t i = 0; i < LOOKUPS; i++) {
		uint32_t idx = lp_maglev_pick_bounded(t, hash[i], load, NULL, i, 1.25);

		load[idx]++;
		sum += idx;
	}
	elapsed = now_ns() - t0;
	printf("maglev_pick_bounded %.2f ns\n", (double)elapsed / LOOKUPS);
	/* Printed so the compiler cannot drop the loops. */
	printf("# checksum %llu\n", (unsigned long long)sum);
	free(load);
	free(hash);
	lp_maglev_free(t);
	free(b);
}

int
main(void)
{
	print_cpu();
	printf("# builds: median of %d; lookup/pick: mean over %u independent random hashes "
	       "(throughput, table in cache), M=65537 N=1000\n",
	       BUILD_RUNS, LOOKUPS);
	bench_build("maglev_build_m65537_n100", 65537, 100, 1, 0);
	bench_build("maglev_build_m65537_n1000", 65537, 1000, 1, 0);
	bench_build("maglev_build_m655373_n1000", 655373, 1000, 1, 0);
	bench_build("maglev_build_m65537_n1000_weighted", 65537, 1000, 0, 0);
	bench_build("maglev_build_m65537_n1000_inactive10pct", 65537, 1000, 1, 10);
	bench_build("maglev_build_m655373_n65535", 655373, 65535, 1, 0);
	bench_lookup();
	return EXIT_SUCCESS;
}
