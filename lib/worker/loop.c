/* SPDX-License-Identifier: BSD-3-Clause */
/* The poll loop, housekeeping between bursts, requests from the control thread. */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_pause.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "worker_priv.h"

struct expired_batch {
	struct lp_flow f[32];
};

/* Run a request of the control thread (lp_worker_call), if one waits. */
static void
serve_request(struct lp_worker *w)
{
	struct lp_worker_req *req;

	if (atomic_load_explicit(&w->req, memory_order_relaxed) == NULL)
		return;
	/* Taking it with an exchange tells the caller we own it now. */
	req = atomic_exchange_explicit(&w->req, NULL, memory_order_acq_rel);
	if (req != NULL) {
		req->fn(w, req->arg);
		atomic_store_explicit(&req->done, true, memory_order_release);
	}
}

static void
age(struct lp_worker *w, uint64_t now, uint32_t scan)
{
	struct expired_batch x;
	uint32_t n;

	n = lp_flow_age(w->flows, now, scan, x.f, 32);
	for (uint32_t i = 0; i < n; i++) {
		const struct lp_flow *f = &x.f[i];

		lp_worker_flow_release(w, f);
		if (f->state == LP_FLOW_SYN) {
			/* A handshake that never completed: a passive health signal. */
			const struct lp_svc *s = lp_svc_get(&w->dp->svcs, f->svc_id);
			const struct lp_svc_backend *be;

			if (s != NULL && s->gen == f->svc_gen && (be = lp_svc_backend(s, f->be_id, f->be_gen)) != NULL)
				w->stats->be[be->gslot].syn_fail++;
		}
	}
	w->stats->c[LP_WC_flow_expired] += n;
}

void
lp_worker_housekeep(struct lp_worker *w, uint64_t now, uint32_t scan)
{
	age(w, now, scan);
	serve_request(w);
}

/*
 * Aging is paced by time, not by loop passes: the whole flow table once
 * per LP_AGE_PERIOD_MS, or at LP_AGE_RATE positions a second where the
 * table is larger than that (a 10M-flow table: every 5 s), in steps of
 * about LP_AGE_STEP positions, at least one step a millisecond (deleted
 * positions are reclaimed promptly in a small table). A worker making a
 * million passes a second scans what the clock asks for, not 256
 * positions an empty pass.
 */
#define LP_AGE_PERIOD_MS 250
#define LP_AGE_RATE 2000000u
#define LP_AGE_STEP 64
#define LP_AGE_MAX 4096

static void
age_init(struct lp_worker *w, uint64_t now)
{
	uint64_t hz = w->dp->hz, n = w->flows->n_pos > 0 ? w->flows->n_pos : 1;
	uint64_t per_pos = hz * LP_AGE_PERIOD_MS / 1000 / n, step;

	if (per_pos < hz / LP_AGE_RATE)
		per_pos = hz / LP_AGE_RATE;
	if (per_pos == 0)
		per_pos = 1;
	step = per_pos * LP_AGE_STEP;
	w->age_pos_tsc = per_pos;
	w->age_step_tsc = step < hz / 1000 ? step : hz / 1000;
	w->age_last = now;
}

static inline void
age_paced(struct lp_worker *w, uint64_t now)
{
	uint64_t elapsed = now - w->age_last, due;

	if (likely(elapsed < w->age_step_tsc))
		return;
	due = elapsed / w->age_pos_tsc;
	w->age_last = now;
	age(w, now, due > LP_AGE_MAX ? LP_AGE_MAX : due > 0 ? (uint32_t)due : 1);
}

/* Packets the control thread asked this worker to send (ARP replies,
 * probes, held packets). */
static unsigned int
drain_injected(struct lp_worker *w)
{
	struct rte_mbuf *pkts[LP_BURST];
	unsigned int n = rte_ring_sc_dequeue_burst(w->from_ctl, (void **)pkts, LP_BURST, NULL);

	for (unsigned int i = 0; i < n; i++) {
		uint16_t port = pkts[i]->port;

		w->stats->c[LP_WC_injected]++;
		if (port >= w->dp->n_ports) {
			w->stats->drop[LP_DROP_NO_ROUTE]++;
			rte_pktmbuf_free(pkts[i]);
			continue;
		}
		tx_enqueue(w, port, pkts[i]);
	}
	return n;
}

/* The longest sleep step of a worker that its ports and the control thread
 * can wake (wait_ports()): a longer step then costs no latency, and fewer
 * wake-ups cost less idle CPU. */
#define LP_WAKEABLE_SLEEP_US 10000u

static bool
wakeable(const struct lp_worker *w)
{
	return w->n_wait > 0 && w->n_wait == w->n_rxq && w->wake_fd >= 0;
}

/*
 * Sleep for at most @p step in ppoll() on the worker's port sockets and its
 * eventfd: a frame in a ring or work from the control thread ends it. The
 * worker says it is asleep before it looks at the control thread's ring,
 * its request slot and the stop flag a last time; lp_worker_wake() looks at
 * `asleep` after the control thread posted: one of them sees the other.
 */
static void
wait_ports(struct lp_worker *w, const struct timespec *step)
{
	uint32_t n = w->n_wait;
	bool woke = false;
	ssize_t got;
	uint64_t v;
	int r;

	w->wait[n] = (struct pollfd){ .fd = w->wake_fd, .events = POLLIN };
	atomic_store_explicit(&w->asleep, true, memory_order_relaxed);
	atomic_thread_fence(memory_order_seq_cst);
	if (!rte_ring_empty(w->from_ctl) || atomic_load_explicit(&w->req, memory_order_relaxed) != NULL ||
	    atomic_load_explicit(&w->dp->stop, memory_order_relaxed)) {
		atomic_store_explicit(&w->asleep, false, memory_order_relaxed);
		return;
	}
	r = ppoll(w->wait, n + 1, step, NULL);
	atomic_store_explicit(&w->asleep, false, memory_order_relaxed);
	if (r <= 0)
		return;
	if (w->wait[n].revents & POLLIN) {
		woke = true;
		w->stats->c[LP_WC_ctl_wakes]++;
		got = read(w->wake_fd, &v, sizeof(v));	/* resets the counter */
		(void)got;
	}
	for (uint32_t i = 0; i < n; i++) {
		if (w->wait[i].revents & POLLIN) {
			woke = true;
			w->stats->c[LP_WC_idle_wakes]++;
			break;
		}
	}
	if (!woke)	/* an error on a socket (its link went down): sleep the step, never spin */
		nanosleep(step, NULL);
}

void
lp_worker_wake(struct lp_worker *w)
{
	uint64_t one = 1;
	ssize_t put;

	if (w->wake_fd < 0)
		return;
	atomic_thread_fence(memory_order_seq_cst);
	if (!atomic_load_explicit(&w->asleep, memory_order_relaxed))
		return;
	put = write(w->wake_fd, &one, sizeof(one));	/* fails only when the counter is full: readable anyway */
	(void)put;
}

/*
 * Adaptive polling (workers.poll: adaptive): a worker that found nothing
 * to do for one bound (idle_sleep_us) sleeps in steps of 1, 2, 4, ... up to
 * the bound, offline for RCU so that nobody waits for a sleeper, and polls
 * at full speed again from the first pass with work. Everything buffered
 * was flushed by the pass. A packet that arrives during a sleep waits at
 * most the step; where every queue the worker polls has a descriptor to
 * wait on (net_af_packet), the worker sleeps in wait_ports() instead, a
 * packet or the control thread ends the sleep at once, and the steps grow
 * to LP_WAKEABLE_SLEEP_US.
 */
static void
idle_sleep(struct lp_worker *w, uint64_t now, uint32_t bound_us)
{
	struct lp_dp *dp = w->dp;
	struct timespec step;
	bool can_wake;
	uint64_t t1;

	if (now - w->idle_since < (uint64_t)bound_us * dp->hz / 1000000) {
		/* Not idle for long: give the CPU to whoever waits for it
		 * (returns at once when nobody does), come back for the next pass. */
		sched_yield();
		return;
	}
	can_wake = wakeable(w);
	if (can_wake && bound_us < LP_WAKEABLE_SLEEP_US)
		bound_us = LP_WAKEABLE_SLEEP_US;
	w->sleep_us = w->sleep_us == 0 ? 1 : RTE_MIN(w->sleep_us * 2, bound_us);
	step = (struct timespec){ .tv_sec = w->sleep_us / 1000000, .tv_nsec = (long)(w->sleep_us % 1000000) * 1000 };
	rte_rcu_qsbr_thread_offline(dp->qsbr, w->index);
	t1 = rte_rdtsc();
	if (can_wake)
		wait_ports(w, &step);
	else
		nanosleep(&step, NULL);
	rte_rcu_qsbr_thread_online(dp->qsbr, w->index);
	w->stats->c[LP_WC_idle_sleeps]++;
	w->stats->c[LP_WC_sleep_cycles] += rte_rdtsc() - t1;
}

/*
 * Transmit coalescing: packets wait in the per-port buffers while passes
 * keep bringing more, and go out when a pass brings nothing (so an idle
 * worker adds no latency: the packet leaves on the next, empty pass), after
 * LP_TX_HOLD passes, or when a buffer is full (LP_TX_BUF, tx_enqueue). On
 * net_af_packet every transmit is a sendto() that runs the kernel's
 * transmit path: fewer, larger bursts cost less per packet.
 */
#define LP_TX_HOLD 16

/* Once per worker thread: SIGIO (net_tap's "packets to read" signal) goes to
 * the control thread, never here; sleeps are not stretched by timer slack. */
static void
worker_thread_setup(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGIO);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);	/* 1 µs; the default 50 µs would stretch short steps */
}

int
lp_worker_main(void *arg)
{
	struct lp_worker *w = arg;
	struct lp_dp *dp = w->dp;
	struct rte_mbuf *pkts[LP_BURST];
	uint32_t held = 0;

	worker_thread_setup();
	rte_rcu_qsbr_thread_online(dp->qsbr, w->index);
	w->idle_since = rte_rdtsc();
	w->sleep_us = 0;
	age_init(w, w->idle_since);
	atomic_store_explicit(&w->running, true, memory_order_release);
	while (!atomic_load_explicit(&dp->stop, memory_order_relaxed)) {
		uint64_t t0 = rte_rdtsc();
		uint32_t got = 0, bound;

		for (uint32_t q = 0; q < w->n_rxq; q++) {
			uint16_t n = rte_eth_rx_burst(w->rxq[q].port_id, w->rxq[q].queue, pkts, LP_BURST);

			if (n > 0) {
				lp_worker_rx(w, w->rxq[q].port_index, pkts, n, t0);
				got += n;
			}
		}
		if (w->from_ctl != NULL && !rte_ring_empty(w->from_ctl))
			got += drain_injected(w);
		/* Transmit when a pass brought nothing more, or after
		 * LP_TX_HOLD passes (a full buffer went out at once). */
		if (got == 0 || ++held >= LP_TX_HOLD) {
			lp_worker_flush(w);
			held = 0;
		}
		/* Nothing loaded during the burst is used past this point. */
		rte_rcu_qsbr_quiescent(dp->qsbr, w->index);
		w->passes++;
		w->stats->c[LP_WC_loop_passes]++;
		age_paced(w, t0);
		if (got == 0 || (w->passes & 15) == 0)
			serve_request(w);
		if (got > 0) {
			w->stats->c[LP_WC_busy_cycles] += rte_rdtsc() - t0;
			w->idle_since = t0;
			w->sleep_us = 0;
			continue;
		}
		w->stats->c[LP_WC_idle_cycles] += rte_rdtsc() - t0;
		bound = atomic_load_explicit(&dp->idle_sleep_us, memory_order_relaxed);
		if (bound != 0)
			idle_sleep(w, t0, bound);
	}
	lp_worker_flush(w);
	atomic_store_explicit(&w->running, false, memory_order_release);
	rte_rcu_qsbr_thread_offline(dp->qsbr, w->index);
	return 0;
}

int
lp_worker_call(struct lp_worker *w, void (*fn)(struct lp_worker *, void *), void *arg,
	       unsigned int timeout_ms)
{
	struct lp_worker_req req = { .fn = fn, .arg = arg };
	struct lp_worker_req *expected;
	uint64_t deadline;

	if (!atomic_load_explicit(&w->running, memory_order_acquire)) {
		fn(w, arg);
		return 0;
	}
	atomic_store_explicit(&w->req, &req, memory_order_release);
	lp_worker_wake(w);
	deadline = rte_get_tsc_cycles() + (uint64_t)timeout_ms * rte_get_tsc_hz() / 1000;
	for (;;) {
		if (atomic_load_explicit(&req.done, memory_order_acquire))
			return 0;
		if (!atomic_load_explicit(&w->running, memory_order_acquire) ||
		    rte_get_tsc_cycles() > deadline) {
			/* Withdraw it if the worker has not taken it yet; once
			 * taken, it finishes promptly and we wait for that. */
			expected = &req;
			if (atomic_compare_exchange_strong(&w->req, &expected, NULL)) {
				if (atomic_load_explicit(&w->running, memory_order_acquire))
					return -ETIMEDOUT;
				fn(w, arg);
				return 0;
			}
		}
		rte_pause();
	}
}
