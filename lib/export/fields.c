/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fields of ports, workers, services and backends, one list each:
 * the counters come from the X-macro lists of lp_stats.h, the gauges are
 * listed here. Prometheus, telemetry and `show stats` all walk these
 * lists, so a new counter is one line in lp_stats.h and a new gauge one
 * line here (and one in docs/observability.md, which
 * tests/integration/test_export.c checks).
 */
#include <string.h>

#include "export_priv.h"

#define PORT_COUNTER(member, key, help) EXP_COUNTER(struct lp_port_view, #key, sw.member, help),
#define PORT_DEVICE_COUNTER(member, key, help) EXP_COUNTER(struct lp_port_view, #key, hw_##member, help),
#define SVC_COUNTER(member, key, help) EXP_COUNTER(struct lp_service_view, #key, member, help),
#define BE_COUNTER(member, key, help) EXP_COUNTER(struct lp_backend_view, #key, member, help),

const struct exp_field exp_port_fields[] = {
	LP_PORT_COUNTERS(PORT_COUNTER)
	LP_PORT_DEVICE_COUNTERS(PORT_DEVICE_COUNTER)
	{ NULL, false, 0, 0, NULL },
};

const struct exp_field exp_worker_fields[] = {
	EXP_GAUGE(struct lp_worker_view, "lcore", lcore, "EAL lcore the worker runs on"),
	EXP_GAUGE(struct lp_worker_view, "flows", flows, "entries in the worker's flow shard"),
	EXP_GAUGE(struct lp_worker_view, "flow_capacity", flow_capacity, "entries the worker's flow shard holds at most"),
	{ NULL, false, 0, 0, NULL },
};

const struct exp_field exp_service_fields[] = {
	LP_SVC_COUNTERS(SVC_COUNTER)
	EXP_GAUGE(struct lp_service_view, "flows_active", flows_active, "flow entries of the service's backends"),
	EXP_GAUGE(struct lp_service_view, "bindings", bindings,
		  "affinity bindings to the service's backends, at the last full affinity scan"),
	EXP_GAUGE(struct lp_service_view, "bindings_provisional", bindings_provisional,
		  "bindings of the service no completed handshake confirmed yet, at the last full affinity scan"),
	EXP_GAUGE(struct lp_service_view, "backends", n_backends, "backends configured, draining ones included"),
	EXP_GAUGE(struct lp_service_view, "backends_up", n_up, "backends that get new clients (up, healthy, not removed)"),
	{ NULL, false, 0, 0, NULL },
};

const struct exp_field exp_backend_fields[] = {
	LP_BE_COUNTERS(BE_COUNTER)
	EXP_GAUGE(struct lp_backend_view, "flows_active", flows_active,
		  "flow entries pointing at the backend (with affinity: pinned by its bindings at the last scan)"),
	EXP_GAUGE(struct lp_backend_view, "bindings", bindings, "affinity bindings to the backend, at the last full scan"),
	EXP_GAUGE(struct lp_backend_view, "load", active,
		  "what bounded load and least_conn weigh: bindings with affinity, flows without"),
	EXP_GAUGE(struct lp_backend_view, "weight", weight, "configured weight"),
	EXP_GAUGE(struct lp_backend_view, "effective_weight", eff_weight,
		  "weight Maglev uses now: ramping during slow start, 0 when not eligible"),
	EXP_GAUGE(struct lp_backend_view, "healthy", healthy, "1 when health checks pass (or none are configured)"),
	EXP_GAUGE(struct lp_backend_view, "removing", removing, "1 while a removed backend drains"),
	EXP_GAUGE(struct lp_backend_view, "slow_start", slow_start, "1 while the weight ramps up (slowStartSeconds)"),
	{ NULL, false, 0, 0, NULL },
};

uint64_t
exp_field_get(const struct exp_field *f, const void *view)
{
	const uint8_t *p = (const uint8_t *)view + f->off;
	uint64_t v64;
	uint32_t v32;
	uint16_t v16;

	switch (f->size) {
	case 1:
		return *p;
	case 2:
		memcpy(&v16, p, 2);
		return v16;
	case 4:
		memcpy(&v32, p, 4);
		return v32;
	default:
		memcpy(&v64, p, 8);
		return v64;
	}
}

const char *
exp_backend_state(const struct lp_backend_view *b)
{
	/* enum lp_be_state numbers up, draining and down as the config does. */
	return lp_backend_state_name(b->state <= LP_BE_DOWN ? b->state : LP_BE_DOWN);
}
