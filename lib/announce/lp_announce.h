/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * VIP announcement through a kernel routing table.
 *
 * limpet does not speak BGP. It keeps one route per VIP (/32 or /128) in
 * kernel routing table N on its kernel interface, and whatever routing
 * daemon the operator runs (BIRD's `protocol kernel { learn; kernel table
 * N; }`, FRR's `redistribute table N`) announces what it finds there. A
 * route is present exactly while limpet can serve the VIP.
 *
 * Desired state in, reconciliation out: the control thread says which VIPs
 * exist and whether each can serve (lp_announce_set(),
 * lp_announce_set_serving()), raises or clears global holds (workers not
 * running, bindings loading, operator withdraw, shutdown), and calls
 * lp_announce_poll() from its loop. The poll never blocks: the netlink
 * sockets are non-blocking, each call sends at most LP_ANNOUNCE_BURST
 * requests and reads at most LP_ANNOUNCE_BURST messages, ACKs and errors
 * are matched to their requests by sequence number on later polls. A
 * failure is counted, logged once per VIP until it clears, and retried
 * with exponential backoff; it never stops anything else.
 *
 * The kernel is watched too: a route removed behind limpet's back (`ip
 * route flush table N`, a link going down) is put back on the next poll
 * (route notifications), or at the latest by the periodic resync (a dump
 * of table N, which also catches removals the kernel does not notify, and
 * routes of limpet's protocol left by an earlier run, which it deletes).
 *
 * Routes carry their own protocol number (LP_ANNOUNCE_RTPROT by default),
 * so `ip route show table N proto 250` lists exactly limpet's, and other
 * routes in the table are never touched.
 *
 * Not thread safe: one control thread calls all of this.
 */
#ifndef LP_ANNOUNCE_H
#define LP_ANNOUNCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lp_pkt.h"

#define LP_ANNOUNCE_RTPROT 250u		/**< route protocol of limpet's routes (rt_protos: "limpet") */
#define LP_ANNOUNCE_BURST 64u		/**< requests sent, and messages read, per poll at most */
#define LP_ANNOUNCE_MAX_VIPS 4096u
#define LP_ANNOUNCE_WHY_LEN 96u

/** Why a VIP is not announced: X(name, text). The first that applies wins. */
#define LP_ANNOUNCE_WHY_LIST(X) \
	X(announced,    "announced") \
	X(shutdown,     "shutting down") \
	X(operator,     "withdrawn by operator") \
	X(workers,      "workers not running") \
	X(loading,      "loading bindings") \
	X(no_backend,   "no backend up") \
	X(netlink,      "netlink error") \
	X(pending,      "announcing")

enum lp_announce_why {
#define X(n, t) LP_ANNOUNCE_WHY_##n,
	LP_ANNOUNCE_WHY_LIST(X)
#undef X
	LP_ANNOUNCE_WHY_MAX
};

/** Global reasons to withdraw every VIP (bits for lp_announce_hold()). */
enum lp_announce_hold {
	LP_ANNOUNCE_HOLD_SHUTDOWN = 1u << 0,	/**< quit / SIGTERM: withdraw, then stop */
	LP_ANNOUNCE_HOLD_OPERATOR = 1u << 1,	/**< `announce withdraw` */
	LP_ANNOUNCE_HOLD_WORKERS = 1u << 2,	/**< the workers are not (yet) forwarding */
	LP_ANNOUNCE_HOLD_LOADING = 1u << 3,	/**< warm start: bindings still loading */
};

/** Counters: X(name, help). One writer: the control thread. */
#define LP_ANNOUNCE_COUNTER_LIST(X) \
	X(route_adds,        "route additions sent") \
	X(route_dels,        "route deletions sent") \
	X(acks,              "requests the kernel acknowledged") \
	X(errors,            "requests the kernel refused") \
	X(send_errors,       "requests that could not be sent (socket full or failing)") \
	X(ack_timeouts,      "requests with no answer within the ACK timeout") \
	X(removed_outside,   "limpet routes removed by someone else, then restored") \
	X(stale_removed,     "limpet routes in the table that no VIP wants (an earlier run's)") \
	X(resyncs,           "dumps of the table compared with the desired state") \
	X(overruns,          "route notifications lost (ENOBUFS): a resync follows")

struct lp_announce_stats {
#define X(n, h) uint64_t n;
	LP_ANNOUNCE_COUNTER_LIST(X)
#undef X
};

/** Settings; zero fields take the defaults in brackets. */
struct lp_announce_opts {
	uint32_t table;		/**< kernel routing table, 1..2^32-1 except 253 (default), 254 (main), 255 (local) */
	int ifindex;		/**< interface the routes point at (the kernel interface) */
	uint8_t protocol;	/**< route protocol [LP_ANNOUNCE_RTPROT] */
	uint32_t metric;	/**< route priority [0] */
	uint64_t hz;		/**< units of @c now per second (TSC: rte_get_tsc_hz()) */
	uint32_t retry_min_ms;	/**< first retry after a failure [100] */
	uint32_t retry_max_ms;	/**< backoff bound [5000] */
	uint32_t resync_ms;	/**< dump and compare the table this often [5000] */
	uint32_t ack_timeout_ms; /**< a request with no answer by then is retried [1000] */
};

/** A VIP and whether limpet can serve it now. */
struct lp_announce_vip {
	struct lp_ip addr;
	/** At least one service on this address has a backend up. */
	bool can_serve;
};

/** One VIP as `show announce` reports it. */
struct lp_announce_view {
	struct lp_ip addr;
	bool announced;		/**< the route is in the table (acknowledged) */
	bool wanted;		/**< it should be */
	enum lp_announce_why why;
	char why_text[LP_ANNOUNCE_WHY_LEN]; /**< "no backend up", "netlink error: Nexthop device is not up" */
	uint32_t failures;	/**< consecutive failed requests */
};

struct lp_announce;

/**
 * Open the netlink sockets (non-blocking). Nothing is announced until
 * lp_announce_set() and lp_announce_poll(); the first poll dumps table
 * N and deletes routes of limpet's protocol that no VIP wants.
 * @return the state, or NULL with rte_errno set (EINVAL: bad options).
 */
struct lp_announce *lp_announce_create(const struct lp_announce_opts *opts);

/** Close the sockets. Routes stay as they are: call lp_announce_withdraw_all() first. */
void lp_announce_destroy(struct lp_announce *a);

/**
 * Replace the set of VIPs. Addresses not in @p vips are withdrawn and
 * forgotten; new ones are announced when they can serve. Duplicates are
 * merged (can serve if any says so). Sends nothing: lp_announce_poll() does.
 * @return 0, -EINVAL (an address without a family) or -ENOSPC (more than
 * LP_ANNOUNCE_MAX_VIPS).
 */
int lp_announce_set(struct lp_announce *a, const struct lp_announce_vip *vips, uint32_t n);

/** Change one VIP's "can serve" flag (health verdicts). 0 or -ENOENT. */
int lp_announce_set_serving(struct lp_announce *a, const struct lp_ip *vip, bool can_serve);

/** Raise (@p on) or clear a global hold (enum lp_announce_hold). */
void lp_announce_hold(struct lp_announce *a, unsigned int hold, bool on);

/** Holds now raised (a mask of enum lp_announce_hold). */
unsigned int lp_announce_holds(const struct lp_announce *a);

/**
 * Reconcile at @p now (units of opts.hz): read ACKs, errors and route
 * notifications, then send at most LP_ANNOUNCE_BURST additions and
 * deletions for VIPs whose route is not as it should be and whose retry
 * time has come. Never blocks.
 */
void lp_announce_poll(struct lp_announce *a, uint64_t now);

/**
 * Dump and compare the table on the next poll (also done every
 * opts.resync_ms, and after lost notifications).
 */
void lp_announce_resync(struct lp_announce *a);

/**
 * The kernel interface was recreated (it was deleted behind limpet's back):
 * routes go on @p ifindex from now on. Every VIP's backoff is cleared and
 * the table is dumped on the next poll, so that routes missing (they left
 * with the old interface) are added at once and any still on the old
 * index are replaced. @return 0, or -EINVAL for an index ≤ 0.
 */
int lp_announce_set_ifindex(struct lp_announce *a, int ifindex);

/**
 * Shutdown: raise LP_ANNOUNCE_HOLD_SHUTDOWN, send a deletion for every
 * route at once (no backoff) and wait for the answers, at most
 * @p timeout_ms. The only call that waits.
 * @return 0 when every route is gone, or the number not confirmed.
 */
int lp_announce_withdraw_all(struct lp_announce *a, unsigned int timeout_ms);

/** True when every route is as it should be and no request is in flight. */
bool lp_announce_settled(const struct lp_announce *a);

/** Number of VIPs; their views in the order of the last lp_announce_set() (0 or -ENOENT). */
uint32_t lp_announce_count(const struct lp_announce *a);
int lp_announce_view(const struct lp_announce *a, uint32_t i, struct lp_announce_view *v);

/** The counters. */
const struct lp_announce_stats *lp_announce_stats(const struct lp_announce *a);

/** Text of a reason ("no backend up"). */
const char *lp_announce_why_name(enum lp_announce_why why);

/* ---- the kernel interface itself ---- */

/** An address on the kernel interface. */
struct lp_announce_addr {
	struct lp_ip ip;
	uint8_t prefix;
};

/**
 * What to set on a kernel interface (net_tap creates it with a name and
 * a MAC, nothing else): MTU, MAC, addresses, up. Zero/NULL fields are
 * left alone.
 */
struct lp_announce_iface {
	const char *name;		/**< interface name */
	const struct lp_mac *mac;	/**< NULL: keep */
	uint32_t mtu;			/**< 0: keep */
	const struct lp_announce_addr *addrs;
	uint32_t n_addrs;
	bool up;			/**< bring it up */
	/** IPv6 link-local addresses only as listed in @p addrs: the kernel
	 * makes none of its own (the link goes down, which drops the one it
	 * made, addr_gen_mode none is set, then up as @p up says) */
	bool ll_manual;
};

/**
 * Configure a kernel interface through netlink, in the calling thread's
 * network namespace: a setup step, done once per interface at start.
 * Waits for each answer at most @p timeout_ms. Addresses are replaced
 * (NLM_F_REPLACE), IPv6 ones without duplicate address detection.
 * @return the interface index, or -errno with one line in @p err.
 */
int lp_announce_iface_set(const struct lp_announce_iface *s, unsigned int timeout_ms,
			  char *err, size_t err_len);

#endif /* LP_ANNOUNCE_H */
