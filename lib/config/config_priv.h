/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internals of lib/config. Ranges and defaults live here once (limits of
 * the whole config: lp_config.h), so the parser, lp_config_validate() and
 * docs/configuration.md cannot drift apart silently: the unit tests check
 * the boundaries the docs state.
 *
 * Files by job; each calls only files listed before it (no circle):
 *   diag.c      the problem list (lp_diag, cfg_report)
 *   names.c     enum spellings (cfg_enum_*, lp_*_name)
 *   values.c    rules for single values (names, addresses, primes, ms)
 *   config.c    lifecycle: defaults, copy, compare, free, lookups, summary
 *   validate.c  rules over a whole config (cfg_check, lp_config_validate)
 *   write.c     struct lp_config -> YAML (lp_config_write)
 *   compose.c   libyaml events -> a document, bounded (parse_priv.h)
 *   node.c      typed reads of document nodes (parse_priv.h)
 *   parse.c     the schema walk (lp_config_parse)
 *   load.c      reading a file safely (lp_config_load)
 */
#ifndef LP_CONFIG_PRIV_H
#define LP_CONFIG_PRIV_H

#include <stdarg.h>

#include "lp_config.h"

#define CFG_MTU_DEFAULT 1500
#define CFG_MTU_MIN 576
#define CFG_MTU_MAX 9000
#define CFG_MTU_MIN_V6 1280		/* RFC 8200 section 5 */

#define CFG_CAPACITY_DEFAULT 1048576
#define CFG_CAPACITY_MIN 16
#define CFG_CAPACITY_MAX 1073741824

#define CFG_TCP_TIMEOUT_DEFAULT 900
#define CFG_TCP_TIMEOUT_MAX 604800
#define CFG_SYN_TIMEOUT_DEFAULT 10
#define CFG_FIN_TIMEOUT_DEFAULT 30
#define CFG_SHORT_TIMEOUT_MAX 3600	/* SYN and FIN states */
#define CFG_UDP_TIMEOUT_DEFAULT 60
#define CFG_UDP_TIMEOUT_MAX 86400

#define CFG_AFFINITY_TIMEOUT_DEFAULT 10800
#define CFG_AFFINITY_TIMEOUT_MAX 86400	/* Kubernetes' own limit */
#define CFG_SLOW_START_MAX 3600
#define CFG_DRAIN_TIMEOUT_MAX 86400
#define CFG_REBALANCE_RATE_DEFAULT 100
#define CFG_REBALANCE_RATE_MAX 1000000
#define CFG_BOUNDED_LOAD_MAX 100.0
#define CFG_BOUNDED_LOAD_EXPECT "expected 0 (off) or more than 1 up to 100"
#define CFG_MAGLEV_DEFAULT 65537
#define CFG_MAGLEV_MIN 251
#define CFG_MAGLEV_MAX 655373
#define CFG_WEIGHT_DEFAULT 1
#define CFG_WEIGHT_MAX 65535

#define CFG_HC_INTERVAL_MS_DEFAULT 2000
#define CFG_HC_TIMEOUT_MS_DEFAULT 1000
#define CFG_HC_MS_MIN 100
#define CFG_HC_MS_MAX 3600000
#define CFG_HC_RISE_DEFAULT 2
#define CFG_HC_FALL_DEFAULT 3
#define CFG_HC_COUNT_MAX 100

#define CFG_IDLE_SLEEP_US_DEFAULT 500	/* workers.idleSleepMicroseconds */
#define CFG_IDLE_SLEEP_US_MAX 10000
#define CFG_WITHDRAW_DELAY_DEFAULT 5	/* announce.withdrawDelaySeconds */
#define CFG_WITHDRAW_DELAY_MAX 3600
/* Kernel tables 253 (default), 254 (main) and 255 (local) belong to the kernel. */
#define CFG_TABLE_RESERVED(t) ((t) >= 253u && (t) <= 255u)

/*
 * Outer source prefixes for tunnel mode. Backends never answer to them
 * (replies go straight to the client), so any prefix the backends' network
 * does not filter works; these two are private (RFC 1918, RFC 4193).
 */
#define CFG_TUNNEL_SRC4_DEFAULT "172.16.0.0/16"
#define CFG_TUNNEL_SRC6_DEFAULT "fd00:7c::/64"

/* Problems beyond this many are counted, not listed: nobody reads 10000 lines. */
#define CFG_DIAG_MAX 200

/* ---- diag.c ---- */

/* One message waiting to be sorted into document order. */
struct cfg_msg {
	struct lp_cfg_pos pos;
	uint32_t seq;
	char *text;
};

/* Where messages go, and how many problems were found. */
struct cfg_diag {
	struct lp_diag *out;	/* may be NULL: count only */
	const char *file;
	uint32_t errors;
	bool oom;		/* a message could not be stored */
	uint32_t n_pending;
	struct cfg_msg *pending; /* CFG_DIAG_MAX entries once the first problem is found */
};

/*
 * Report one problem: "file:line:col: message", or "file: subject: message"
 * when the element has no position (built in memory) and a subject names it.
 * Messages are held back until cfg_diag_flush().
 */
void cfg_report(struct cfg_diag *d, struct lp_cfg_pos pos, const char *subject, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * Hand the held messages to d->out sorted by position: the parser finds
 * problems section by section and relations last, but people read a file
 * top to bottom.
 */
void cfg_diag_flush(struct cfg_diag *d);

/* ---- names.c ---- */

/* An enum's YAML spellings; aliases are accepted but never written. */
struct cfg_enum_entry {
	const char *name;
	uint8_t value;
	bool alias;
};

struct cfg_enum {
	const struct cfg_enum_entry *e;
	unsigned int n;
	const char *expect;	/* "one of TCP, UDP", for messages */
};

extern const struct cfg_enum cfg_enum_proto;
extern const struct cfg_enum cfg_enum_fwd;
extern const struct cfg_enum cfg_enum_sched;
extern const struct cfg_enum cfg_enum_state;
extern const struct cfg_enum cfg_enum_rebalance;
extern const struct cfg_enum cfg_enum_health;
extern const struct cfg_enum cfg_enum_affinity;
extern const struct cfg_enum cfg_enum_poll;

/* Canonical spelling of value, or NULL. */
const char *cfg_enum_name(const struct cfg_enum *en, unsigned int value);
/* Value of a spelling (any case, aliases too); -1 when unknown. */
int cfg_enum_value(const struct cfg_enum *en, const char *s);

/* ---- validate.c ---- */

/*
 * Positions the parser saw, for the checks that relate elements to each
 * other (validate.c). A "broken" element had a problem reported in a field
 * those checks use, and is left out of them, so one mistake gives one
 * message.
 */
struct cfg_mark {
	bool broken;
	struct lp_cfg_pos name;		/* port or service name */
	struct lp_cfg_pos vip;		/* service */
	struct lp_cfg_pos via;		/* route: its next hop */
	bool via_broken;		/* route: its next hop had a problem */
	struct lp_cfg_pos hc_timeout;	/* service: healthCheck timeout, else the healthCheck */
	bool health_broken;		/* service: its healthCheck had a problem */
	bool *backend_broken;		/* service: one per backend */
};

struct cfg_marks {
	struct lp_cfg_pos ports;	/* the ports node, or the document */
	bool ports_broken;		/* "ports" had a problem already reported */
	struct cfg_mark *port;
	struct cfg_mark *neighbor;
	struct cfg_mark *service;
	struct cfg_mark *route;		/* broken: the prefix had a problem */
};

void cfg_marks_free(struct cfg_marks *m, uint32_t n_services);

/*
 * Check c. With marks (from the parser) only the relations between
 * elements are checked, at the positions marks holds; without, every field
 * is checked first, at the elements' own positions.
 */
void cfg_check(const struct lp_config *c, const struct cfg_marks *marks, struct cfg_diag *d);

/* ---- values.c ---- */

/* Why a port or service name is unusable, or NULL when it is fine. */
const char *cfg_name_problem(const char *s);
/* Why a kernel interface name is unusable (Linux's rules, IFNAMSIZ), or NULL. */
const char *cfg_iface_problem(const char *s);
/* cluster.c: why a cluster.redis value or cluster name is unusable, or NULL. */
const char *cfg_cluster_endpoint_problem(const char *s);
const char *cfg_cluster_name_problem(const char *s);
/* Check the cluster section of a config built in memory. */
void cfg_check_cluster(const struct lp_config *c, struct cfg_diag *d);
/* Why a device or path string is unusable, or NULL. */
const char *cfg_text_problem(const char *s, size_t max);
/* Not unspecified, loopback, multicast or limited broadcast. */
bool cfg_ip_unicast(const struct lp_ip *ip);
bool cfg_mac_unicast(const struct lp_mac *mac);
bool cfg_is_prime(uint32_t n);
/* True when bits beyond prefix are zero. */
bool cfg_prefix_clean(const struct lp_ip *ip, unsigned int prefix);
/*
 * True when a clean prefix holds a unicast address: 10.0.0.0/8 and
 * 0.0.0.0/0 do, 127.0.0.0/8 and 224.0.0.0/4 do not.
 */
bool cfg_prefix_unicast(const struct lp_ip *ip, unsigned int prefix);
/* Seconds with up to three decimals: "2", "0.5", "1.25". */
char *cfg_fmt_ms(uint32_t ms, char *buf, size_t len);

#endif /* LP_CONFIG_PRIV_H */
