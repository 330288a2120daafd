/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Observability: counter rates, DPDK telemetry commands (/limpet/...), a
 * Prometheus text endpoint, and the text of `show stats ...` for the CLI.
 *
 * Everything here runs on the control thread, from lp_export_poll() in
 * its loop, because the lp_ctl views it reads are single-threaded.
 * Telemetry requests arrive on EAL's telemetry threads: they wait in a
 * mailbox until the control thread answers them on its next poll (or
 * give up after a timeout), so no view ever runs on two threads. The
 * HTTP endpoint uses non-blocking sockets with a bounded amount of work
 * per poll: a slow or stuck scraper never holds the control thread, and
 * workers never see any of it.
 *
 * The metric names, their help and their labels come from the X-macro
 * lists of lp_stats.h, lp_drop.h, lp_affinity.h and the tables in
 * prometheus.c; docs/observability.md describes each one.
 */
#ifndef LP_EXPORT_H
#define LP_EXPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lp_config.h"
#include "lp_ctl.h"

struct lp_export;

/** Default Prometheus address when only a port is given. */
#define LP_EXPORT_DEFAULT_HOST "127.0.0.1"

/** What to export. */
struct lp_export_opts {
	/**
	 * Prometheus endpoint: "PORT" (on 127.0.0.1), "ADDR:PORT" or
	 * "[ADDR6]:PORT"; NULL for none. Another address than loopback must
	 * be given explicitly. Port 0 picks a free one (lp_export_metrics_port()).
	 */
	const char *metrics_addr;
	bool telemetry;		/**< register the /limpet/... telemetry commands */
	uint32_t interval_ms;	/**< rate sampling interval; 0: 1000 */
};

/**
 * Start exporting the counters of @p c: take the first rate sample, open
 * the endpoint, register telemetry commands.
 * @return the exporter, or NULL with one line in @p err (bad or busy address).
 */
struct lp_export *lp_export_create(struct lp_ctl *c, const struct lp_export_opts *opts, struct lp_diag *err);

/** Close the endpoint and its connections; pending telemetry requests fail. */
void lp_export_destroy(struct lp_export *x);

/**
 * Control thread, every pass of its loop: take a rate sample when the
 * interval has passed, answer a waiting telemetry request, serve HTTP
 * clients (accept, read, write: bounded per call, never blocking).
 * @return true when it served something (a request, a socket ready): the
 *   caller polls again soon rather than sleeping.
 */
bool lp_export_poll(struct lp_export *x, uint64_t now);

/** TCP port the metrics endpoint listens on, or 0 when there is none. */
uint16_t lp_export_metrics_port(const struct lp_export *x);

/* ---- rates ---- */

/** What a rate is of. */
enum lp_rate_scope {
	LP_RATE_TOTAL,		/**< all of limpet; index ignored */
	LP_RATE_PORT,		/**< index: port, in config order */
	LP_RATE_WORKER,		/**< index: worker */
	LP_RATE_SERVICE,	/**< index: service id (lp_service_view.id) */
	LP_RATE_BACKEND,	/**< index: backend counter slot (lp_backend_view.gslot) */
};

/** Per-second rates over the last sampling interval. */
struct lp_rates {
	double rx_pps, rx_bps;	/**< received (total, port, worker); forwarded to the backend(s) (service, backend) */
	double tx_pps, tx_bps;	/**< transmitted (total, port, worker); 0 for services and backends */
	double drop_pps;	/**< dropped (total and worker, for every reason); 0 otherwise */
	double busy;		/**< share of TSC cycles spent on packets, 0..1 (worker; total: mean over workers) */
	double interval_s;	/**< the interval measured; 0 before the second sample (rates 0) */
	uint64_t seq;		/**< number of the sample that ended the interval: a new value, a new interval */
};

/**
 * Rates of one scope between the last two samples. Bits count whole frames
 * as received (rte_mbuf pkt_len: Ethernet header to payload, no FCS). A
 * counter that went backwards (`clear stats`) counts from zero.
 * @return 0, or -ENOENT for an index out of range.
 */
int lp_export_rates(const struct lp_export *x, enum lp_rate_scope scope, uint32_t index, struct lp_rates *out);

/* ---- Prometheus ---- */

/**
 * Write the whole exposition text (format 0.0.4): for each metric a HELP
 * and a TYPE line, then its samples, labelled with service, backend,
 * reason, worker or port. What GET /metrics answers.
 * @return 0 or -errno (write error).
 */
int lp_export_prometheus(struct lp_export *x, FILE *out);

/* ---- `show stats ...` text, for the CLI ----
 *
 * Each prints a human-readable report into @p out: counters with their
 * rates over the last interval. @p x may be NULL: the same report without
 * rates. To print into a buffer, pass open_memstream() or fmemopen().
 * Each returns 0, or -ENOENT when the named object does not exist (nothing
 * printed), or -ENOMEM.
 */

/** `show stats`: totals, rates, drops by reason, table occupancy, RCU latency, per-service summary. */
int lp_export_show_stats(struct lp_ctl *c, const struct lp_export *x, FILE *out);

/** `show stats port [NAME]`: one port (@p name), or every port when NULL. */
int lp_export_show_port(struct lp_ctl *c, const struct lp_export *x, const char *name, FILE *out);

/** `show stats worker [N]`: one worker, or every worker when @p worker < 0. */
int lp_export_show_worker(struct lp_ctl *c, const struct lp_export *x, int worker, FILE *out);

/** `show stats service NAME`: counters, bindings by reason, and one line per backend. */
int lp_export_show_service(struct lp_ctl *c, const struct lp_export *x, const char *name, FILE *out);

/** `show stats backend SVC ADDR:PORT`: one backend of a service. */
int lp_export_show_backend(struct lp_ctl *c, const struct lp_export *x, const char *svc, const struct lp_ip *addr,
			   uint16_t port, FILE *out);

/**
 * Parse "ADDR:PORT", "[ADDR6]:PORT" or "PORT" (LP_EXPORT_DEFAULT_HOST) as
 * --metrics takes it. @return 0 or -EINVAL.
 */
int lp_export_parse_addr(const char *s, struct lp_ip *addr, uint16_t *port);

#endif /* LP_EXPORT_H */
