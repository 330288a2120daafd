/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internals shared by the files of lib/export.
 *
 * Files, each calling only files listed after it (no circle):
 *   export.c      the façade: create, destroy, poll
 *   http.c        the Prometheus endpoint, and the thread that prints its text (calls prometheus.c)
 *   telemetry.c   /limpet/... commands
 *   show.c        `show stats ...` texts
 *   prometheus.c  the exposition text
 *   rates.c       samples and rates
 *   fields.c      the field lists (from the counter lists of lp_stats.h)
 */
#ifndef LP_EXPORT_PRIV_H
#define LP_EXPORT_PRIV_H

#include "lp_export.h"

#include <stddef.h>

struct http_server;

/** A counter or a gauge of a view struct, for Prometheus, telemetry and `show stats`. */
struct exp_field {
	const char *key;		/**< snake_case; Prometheus adds a prefix and `_total` to counters */
	bool counter;			/**< only ever grows (else a gauge) */
	uint16_t off, size;		/**< where in the view: an unsigned integer or a bool */
	const char *help;
};

#define EXP_COUNTER(T, key, member, help) { key, true, offsetof(T, member), sizeof(((T *)0)->member), help }
#define EXP_GAUGE(T, key, member, help) { key, false, offsetof(T, member), sizeof(((T *)0)->member), help }

/* fields.c: the field lists, each ended by a NULL key. */
extern const struct exp_field exp_port_fields[];	/**< of struct lp_port_view */
extern const struct exp_field exp_worker_fields[];	/**< of struct lp_worker_view */
extern const struct exp_field exp_service_fields[];	/**< of struct lp_service_view */
extern const struct exp_field exp_backend_fields[];	/**< of struct lp_backend_view */

/** Read field @p f of @p view. */
uint64_t exp_field_get(const struct exp_field *f, const void *view);

/** State of a backend as limpet uses it: "up", "draining" or "down". */
const char *exp_backend_state(const struct lp_backend_view *b);

/** Per-worker totals a rate sample keeps besides the summed block. */
struct worker_sample {
	uint64_t rx_pkts, rx_bytes, tx_pkts, tx_bytes, drops, busy, idle;
};

/** Counters at one instant. */
struct sample {
	uint64_t tsc;			/**< 0: not taken */
	uint64_t seq;			/**< samples taken before it, and it */
	struct lp_stats *sum;		/**< every block summed (lp_ctl_stats) */
	struct worker_sample w[LP_MAX_WORKERS];
};

struct lp_export {
	struct lp_ctl *ctl;
	uint64_t hz;
	uint64_t interval;		/**< TSC cycles between samples */
	uint64_t next_sample;
	uint64_t started;		/**< TSC at creation (uptime) */
	uint64_t samples;		/**< taken so far */
	struct sample s[2];
	unsigned int cur;		/**< s[cur] is the latest, s[!cur] the one before */
	bool telemetry;
	struct http_server *http;
};

/* rates.c */
/** Sum every counter into the next sample slot (the control thread, every interval). */
void exp_sample_take(struct lp_export *x, uint64_t now);

/* telemetry.c */
/** Register the commands (once per process) and take the mailbox. */
int exp_telemetry_open(struct lp_export *x, struct lp_diag *err);
/** Answer a waiting request, if any (never blocks). */
/** Serve a pending telemetry request; @return true when one was served. */
bool exp_telemetry_poll(struct lp_export *x);
/** Give the mailbox up: waiting and later requests fail at once. */
void exp_telemetry_close(struct lp_export *x);

/* prometheus.c */
struct exp_scrape;
/** Control thread: copy everything a scrape reports. @return NULL: out of memory, or the model changed meanwhile. */
struct exp_scrape *exp_prom_gather(struct lp_export *x);
/** Any thread: the exposition text of a gathered scrape. @return 0 or -EIO (write error). */
int exp_prom_render(struct exp_scrape *s, FILE *out);
void exp_prom_free(struct exp_scrape *s);

/* http.c */
int exp_http_open(struct lp_export *x, const struct lp_ip *addr, uint16_t port, struct lp_diag *err);
/** @return true when a socket was ready or a rendered text was taken (work done). */
bool exp_http_poll(struct lp_export *x, uint64_t now);
void exp_http_close(struct lp_export *x);
uint16_t exp_http_port(const struct lp_export *x);

#endif /* LP_EXPORT_PRIV_H */
