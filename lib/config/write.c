/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * struct lp_config -> YAML, through libyaml's emitter so quoting is always
 * right (device arguments hold ',' and '='). Required keys and the main
 * choices are always written; advanced settings only when they differ from
 * their defaults, so `show config` stays readable. Whatever is written reads
 * back to an equal config; the unit tests and the fuzzer check that.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config_priv.h"

struct writer {
	yaml_emitter_t e;
	int err;
};

/* libyaml takes the event whether or not emitting succeeds. */
static void
emit(struct writer *w, yaml_event_t *ev, int initialized)
{
	if (!initialized) {
		if (w->err == 0)
			w->err = -ENOMEM;
		return;
	}
	if (w->err != 0) {
		yaml_event_delete(ev);
		return;
	}
	if (!yaml_emitter_emit(&w->e, ev))
		w->err = w->e.error == YAML_MEMORY_ERROR ? -ENOMEM : -EIO;
}

static void
scalar_n(struct writer *w, const char *s, size_t len, yaml_scalar_style_t style)
{
	yaml_event_t ev;

	emit(w, &ev, yaml_scalar_event_initialize(&ev, NULL, NULL, (const yaml_char_t *)s, (int)len, 1, 1, style));
}

static void
scalar(struct writer *w, const char *s)
{
	scalar_n(w, s, strlen(s), YAML_ANY_SCALAR_STYLE);
}

static void
map_start(struct writer *w, bool flow)
{
	yaml_event_t ev;

	emit(w, &ev, yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
							  flow ? YAML_FLOW_MAPPING_STYLE : YAML_BLOCK_MAPPING_STYLE));
}

static void
map_end(struct writer *w)
{
	yaml_event_t ev;

	emit(w, &ev, yaml_mapping_end_event_initialize(&ev));
}

static void
seq_start(struct writer *w, bool flow)
{
	yaml_event_t ev;

	emit(w, &ev, yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
							   flow ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE));
}

static void
seq_end(struct writer *w)
{
	yaml_event_t ev;

	emit(w, &ev, yaml_sequence_end_event_initialize(&ev));
}

static void
kv(struct writer *w, const char *key, const char *value)
{
	scalar(w, key);
	scalar(w, value);
}

/* Fixed-size name fields are written up to their size even when not terminated. */
static void
kv_name(struct writer *w, const char *key, const char *value, size_t max)
{
	scalar(w, key);
	scalar_n(w, value, strnlen(value, max), YAML_ANY_SCALAR_STYLE);
}

static void
kv_u(struct writer *w, const char *key, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	kv(w, key, buf);
}

static void
kv_ms(struct writer *w, const char *key, uint32_t ms)
{
	char buf[16];

	kv(w, key, cfg_fmt_ms(ms, buf, sizeof(buf)));
}

static void
kv_ip(struct writer *w, const char *key, const struct lp_ip *ip)
{
	char buf[LP_IP_STRLEN];

	kv(w, key, lp_ip_format(ip, buf, sizeof(buf)));
}

/* Quoted: other YAML 1.1 readers take an unquoted 02:00:00:00:00:01 for a base-60 number. */
static void
kv_mac(struct writer *w, const char *key, const struct lp_mac *mac)
{
	char buf[LP_MAC_STRLEN];

	scalar(w, key);
	lp_mac_format(mac, buf, sizeof(buf));
	scalar_n(w, buf, strlen(buf), YAML_DOUBLE_QUOTED_SCALAR_STYLE);
}

static void
prefix(struct writer *w, const struct lp_ip *ip, unsigned int len)
{
	char addr[LP_IP_STRLEN], buf[LP_IP_STRLEN + 4];

	snprintf(buf, sizeof(buf), "%s/%u", lp_ip_format(ip, addr, sizeof(addr)), len);
	scalar(w, buf);
}

/* The shortest text strtod() reads back to exactly v. */
static void
kv_double(struct writer *w, const char *key, double v)
{
	char buf[32];

	if (v < 1e15 && v > -1e15 && v == (double)(int64_t)v) {
		snprintf(buf, sizeof(buf), "%.0f", v);
	} else {
		for (int prec = 1; prec <= 17; prec++) {
			snprintf(buf, sizeof(buf), "%.*g", prec, v);
			if (strtod(buf, NULL) == v)
				break;
		}
	}
	kv(w, key, buf);
}

static void
write_port(struct writer *w, const struct lp_cfg_port *p)
{
	uint32_t n = p->n_addrs < LP_PORT_ADDRS_MAX ? p->n_addrs : LP_PORT_ADDRS_MAX;

	map_start(w, false);
	kv_name(w, "name", p->name, LP_NAME_MAX);
	kv_name(w, "device", p->device, LP_DEVICE_MAX);
	scalar(w, "address");
	if (n == 1) {
		prefix(w, &p->addr[0], p->prefix[0]);
	} else {
		seq_start(w, true);
		for (uint32_t i = 0; i < n; i++)
			prefix(w, &p->addr[i], p->prefix[i]);
		seq_end(w);
	}
	if (p->gateway4.family != 0 && p->gateway6.family != 0) {
		char a[LP_IP_STRLEN];

		scalar(w, "gateway");
		seq_start(w, true);
		scalar(w, lp_ip_format(&p->gateway4, a, sizeof(a)));
		scalar(w, lp_ip_format(&p->gateway6, a, sizeof(a)));
		seq_end(w);
	} else if (p->gateway4.family != 0 || p->gateway6.family != 0) {
		kv_ip(w, "gateway", p->gateway4.family != 0 ? &p->gateway4 : &p->gateway6);
	}
	kv_u(w, "mtu", p->mtu);
	if (p->has_mac)
		kv_mac(w, "mac", &p->mac);
	if (p->kernel_iface[0] != '\0')
		kv_name(w, "kernelInterface", p->kernel_iface, LP_IFNAME_MAX);
	map_end(w);
}

static void
write_neighbor(struct writer *w, const struct lp_config *c, const struct lp_cfg_neighbor *nb)
{
	map_start(w, true);
	kv_ip(w, "address", &nb->addr);
	kv_mac(w, "mac", &nb->mac);
	kv_name(w, "port", c->ports[nb->port].name, LP_NAME_MAX);
	map_end(w);
}

static void
write_route(struct writer *w, const struct lp_config *c, const struct lp_cfg_route *r)
{
	map_start(w, true);
	scalar(w, "prefix");
	prefix(w, &r->prefix, r->len);
	kv_ip(w, "via", &r->via);
	kv_name(w, "port", c->ports[r->port].name, LP_NAME_MAX);
	map_end(w);
}

static void
write_tables(struct writer *w, const struct lp_config *c)
{
	scalar(w, "flows");
	map_start(w, false);
	kv_u(w, "capacity", c->flows.capacity);
	if (c->flows.capacity6 != 0)
		kv_u(w, "capacity6", c->flows.capacity6);
	kv_u(w, "tcp_timeout", c->flows.tcp_timeout);
	kv_u(w, "tcp_syn_timeout", c->flows.tcp_syn_timeout);
	kv_u(w, "tcp_fin_timeout", c->flows.tcp_fin_timeout);
	kv_u(w, "udp_timeout", c->flows.udp_timeout);
	map_end(w);
	scalar(w, "affinity");
	map_start(w, false);
	kv_u(w, "capacity", c->affinity_capacity);
	map_end(w);
	// Only when set otherwise: configs written before these keys existed read back the same.
	if (c->workers.poll != LP_POLL_ADAPTIVE || c->workers.idle_sleep_us != CFG_IDLE_SLEEP_US_DEFAULT) {
		scalar(w, "workers");
		map_start(w, false);
		kv(w, "poll", cfg_enum_name(&cfg_enum_poll, c->workers.poll));
		kv_u(w, "idleSleepMicroseconds", c->workers.idle_sleep_us);
		map_end(w);
	}
	if (c->announce.enabled) {
		scalar(w, "announce");
		map_start(w, false);
		kv_u(w, "table", c->announce.table);
		kv_u(w, "withdrawDelaySeconds", c->announce.withdraw_delay_s);
		if (c->announce.iface[0] != '\0')
			kv_name(w, "interface", c->announce.iface, LP_IFNAME_MAX);
		map_end(w);
	}
	if (c->cluster.enabled) {
		scalar(w, "cluster");
		map_start(w, false);
		kv(w, "redis", c->cluster.redis);
		if (c->cluster.password_file[0] != '\0')
			kv(w, "passwordFile", c->cluster.password_file);
		kv(w, "name", c->cluster.name);
		if (c->cluster.start_wait_s != LP_CFG_CLUSTER_START_WAIT_DEFAULT)
			kv_u(w, "startWaitSeconds", c->cluster.start_wait_s);
		map_end(w);
	}
}

static void
write_health(struct writer *w, const struct lp_cfg_health *h)
{
	scalar(w, "healthCheck");
	map_start(w, true);
	kv(w, "type", lp_health_type_name(h->type));
	if (h->port != 0)
		kv_u(w, "port", h->port);
	if (h->type == LP_HEALTH_HTTP)
		kv_name(w, "path", h->path, LP_PATH_MAX);
	kv_ms(w, "interval", h->interval_ms);
	kv_ms(w, "timeout", h->timeout_ms);
	kv_u(w, "rise", h->rise);
	kv_u(w, "fall", h->fall);
	map_end(w);
}

static void
write_backend(struct writer *w, const struct lp_cfg_backend *b)
{
	map_start(w, true);
	kv_ip(w, "address", &b->addr);
	kv_u(w, "port", b->port);
	kv_u(w, "weight", b->weight);
	kv(w, "state", lp_backend_state_name(b->state));
	map_end(w);
}

static void
write_service(struct writer *w, const struct lp_cfg_service *s)
{
	struct lp_cfg_service def;

	lp_config_service_init(&def);
	map_start(w, false);
	kv_name(w, "name", s->name, LP_NAME_MAX);
	kv_ip(w, "vip", &s->vip);
	kv_u(w, "port", s->port);
	if (s->target_port != 0)
		kv_u(w, "targetPort", s->target_port);
	kv(w, "protocol", lp_proto_name(s->proto));
	kv(w, "forwarding", lp_fwd_mode_name(s->forwarding));
	kv(w, "scheduler", lp_sched_name(s->scheduler));
	kv(w, "sessionAffinity", cfg_enum_name(&cfg_enum_affinity, s->affinity));
	if (s->affinity || s->affinity_timeout_s != def.affinity_timeout_s || s->prefix_v4 != def.prefix_v4 ||
	    s->prefix_v6 != def.prefix_v6) {
		scalar(w, "sessionAffinityConfig");
		map_start(w, false);
		scalar(w, "clientIP");
		map_start(w, true);
		kv_u(w, "timeoutSeconds", s->affinity_timeout_s);
		kv_u(w, "prefixV4", s->prefix_v4);
		kv_u(w, "prefixV6", s->prefix_v6);
		map_end(w);
		map_end(w);
	}
	if (s->bounded_load != 0)
		kv_double(w, "boundedLoad", s->bounded_load);
	if (s->slow_start_s != 0)
		kv_u(w, "slowStartSeconds", s->slow_start_s);
	if (s->drain_timeout_s != 0)
		kv_u(w, "drainTimeoutSeconds", s->drain_timeout_s);
	if (s->rebalance != def.rebalance || s->rebalance_rate != def.rebalance_rate) {
		kv(w, "rebalance", lp_rebalance_name(s->rebalance));
		kv_u(w, "rebalanceRate", s->rebalance_rate);
	}
	if (s->maglev_size != def.maglev_size)
		kv_u(w, "maglevSize", s->maglev_size);
	if (s->forwarding == LP_FWD_TUNNEL || !lp_ip_equal(&s->tunnel_src4, &def.tunnel_src4) ||
	    s->tunnel_src4_len != def.tunnel_src4_len || !lp_ip_equal(&s->tunnel_src6, &def.tunnel_src6) ||
	    s->tunnel_src6_len != def.tunnel_src6_len) {
		scalar(w, "tunnelSource");
		seq_start(w, true);
		prefix(w, &s->tunnel_src4, s->tunnel_src4_len);
		prefix(w, &s->tunnel_src6, s->tunnel_src6_len);
		seq_end(w);
	}
	if (s->health.type != LP_HEALTH_NONE || s->health.port != def.health.port ||
	    s->health.interval_ms != def.health.interval_ms || s->health.timeout_ms != def.health.timeout_ms ||
	    s->health.rise != def.health.rise || s->health.fall != def.health.fall)
		write_health(w, &s->health);
	scalar(w, "backends");
	seq_start(w, false);
	for (uint32_t i = 0; i < s->n_backends; i++)
		write_backend(w, &s->backends[i]);
	seq_end(w);
	map_end(w);
}

int
lp_config_write(const struct lp_config *c, FILE *out)
{
	struct writer w = { .err = 0 };
	yaml_event_t ev;

	// Neighbors and routes are written with their port's name; an index out of range has none.
	for (uint32_t i = 0; i < c->n_neighbors; i++)
		if (c->neighbors[i].port >= c->n_ports)
			return -EINVAL;
	for (uint32_t i = 0; i < c->n_routes; i++)
		if (c->routes[i].port >= c->n_ports)
			return -EINVAL;
	if (!yaml_emitter_initialize(&w.e))
		return -ENOMEM;
	yaml_emitter_set_output_file(&w.e, out);
	yaml_emitter_set_width(&w.e, -1);
	yaml_emitter_set_indent(&w.e, 2);
	emit(&w, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING));
	emit(&w, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1));
	map_start(&w, false);
	scalar(&w, "ports");
	seq_start(&w, false);
	for (uint32_t i = 0; i < c->n_ports; i++)
		write_port(&w, &c->ports[i]);
	seq_end(&w);
	if (c->n_neighbors != 0) {
		scalar(&w, "neighbors");
		seq_start(&w, false);
		for (uint32_t i = 0; i < c->n_neighbors; i++)
			write_neighbor(&w, c, &c->neighbors[i]);
		seq_end(&w);
	}
	if (c->n_routes != 0) {
		scalar(&w, "routes");
		seq_start(&w, false);
		for (uint32_t i = 0; i < c->n_routes; i++)
			write_route(&w, c, &c->routes[i]);
		seq_end(&w);
	}
	write_tables(&w, c);
	scalar(&w, "services");
	seq_start(&w, false);
	for (uint32_t i = 0; i < c->n_services; i++)
		write_service(&w, &c->services[i]);
	seq_end(&w);
	map_end(&w);
	emit(&w, &ev, yaml_document_end_event_initialize(&ev, 1));
	emit(&w, &ev, yaml_stream_end_event_initialize(&ev));
	if (w.err == 0 && !yaml_emitter_flush(&w.e))
		w.err = -EIO;
	yaml_emitter_delete(&w.e);
	if (w.err == 0 && (fflush(out) != 0 || ferror(out)))
		w.err = -EIO;
	return w.err;
}
