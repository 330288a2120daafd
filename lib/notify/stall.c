/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Test hook: wedge a worker on purpose, so a test can see the watchdog
 * stop petting. Reached only through the CLI command `test stall worker`,
 * which exists only when limpet runs with --test-hooks.
 *
 * The stall rides on the worker's request slot (struct lp_worker_req),
 * which the worker takes and runs between bursts, so the worker code has
 * no hook of its own. Unlike lp_worker_call() the control thread does not
 * wait for it: the control loop, and with it the watchdog, keeps running
 * while the worker spins.
 */
#include <errno.h>

#include <rte_cycles.h>
#include <rte_pause.h>

#include "lp_notify.h"

struct stall {
	struct lp_worker_req req;
	uint64_t until;		/* TSC */
};

/* One slot per worker: the request must outlive the call that posts it.
 * Test-only state, so a static table rather than a field in the worker. */
static struct stall stalls[LP_MAX_WORKERS];

static void
hold(struct lp_worker *w, void *arg)
{
	const struct stall *s = arg;

	(void)w;
	// No quiescent state is reported in here: that is the point.
	while (rte_rdtsc() < s->until)
		rte_pause();
}

int
lp_test_stall_worker(struct lp_worker *w, uint32_t ms)
{
	struct stall *s = &stalls[w->index % LP_MAX_WORKERS];
	struct lp_worker_req *expected = NULL;
	uint64_t now = rte_rdtsc(), hz = rte_get_tsc_hz();

	if (!atomic_load_explicit(&w->running, memory_order_acquire))
		return -ENOTSUP;
	/* The previous stall is over once the worker marked it done, or when a
	 * control request replaced it before the worker took it (a second past
	 * its end, and no longer in the slot). */
	if (s->req.fn != NULL && !atomic_load_explicit(&s->req.done, memory_order_acquire) &&
	    (now < s->until + hz || atomic_load_explicit(&w->req, memory_order_acquire) == &s->req))
		return -EBUSY;
	s->until = now + (uint64_t)ms * hz / 1000;
	s->req.fn = hold;
	s->req.arg = s;
	atomic_store_explicit(&s->req.done, false, memory_order_relaxed);
	// Only into an empty slot: a pending control request is never overwritten.
	if (!atomic_compare_exchange_strong_explicit(&w->req, &expected, &s->req, memory_order_acq_rel,
						     memory_order_relaxed)) {
		s->req.fn = NULL;
		return -EBUSY;
	}
	return 0;
}
