/* SPDX-License-Identifier: BSD-3-Clause */
/* Counter names and aggregation. */
#include <string.h>

#include "lp_stats.h"

static const char *const wc_names[LP_WC_MAX] = {
#define LP_WC_NAME(name, help) [LP_WC_##name] = #name,
	LP_WORKER_COUNTERS(LP_WC_NAME)
#undef LP_WC_NAME
};

static const char *const wc_helps[LP_WC_MAX] = {
#define LP_WC_HELP(name, help) [LP_WC_##name] = help,
	LP_WORKER_COUNTERS(LP_WC_HELP)
#undef LP_WC_HELP
};

const char *
lp_wc_name(enum lp_wc c)
{
	return (unsigned int)c < LP_WC_MAX ? wc_names[c] : "unknown";
}

const char *
lp_wc_help(enum lp_wc c)
{
	return (unsigned int)c < LP_WC_MAX ? wc_helps[c] : "unknown";
}

uint64_t
lp_stats_drops(const struct lp_stats *s)
{
	uint64_t n = 0;

	for (unsigned int r = 1; r < LP_DROP_MAX; r++)
		n += s->drop[r];
	return n;
}

/* Every member is a uint64_t: sum the blocks as flat arrays. The volatile
 * read keeps the compiler from caching a value another thread changes. */
void
lp_stats_sum(struct lp_stats *out, struct lp_stats *const *blocks, unsigned int n)
{
	const size_t words = sizeof(struct lp_stats) / sizeof(uint64_t);
	uint64_t *o = (uint64_t *)out;

	_Static_assert(sizeof(struct lp_stats) % sizeof(uint64_t) == 0, "counters are all uint64_t");
	memset(out, 0, sizeof(*out));
	for (unsigned int b = 0; b < n; b++) {
		const volatile uint64_t *in = (const volatile uint64_t *)blocks[b];

		if (in == NULL)
			continue;
		for (size_t i = 0; i < words; i++)
			o[i] += in[i];
	}
}
