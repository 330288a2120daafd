/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A config's lifecycle: defaults, deep copy, comparison, free, lookups by
 * name and the one-line summary. Calls nothing else in lib/config.
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "config_priv.h"

void
lp_config_port_init(struct lp_cfg_port *p)
{
	memset(p, 0, sizeof(*p));
	p->mtu = CFG_MTU_DEFAULT;
}

void
lp_config_backend_init(struct lp_cfg_backend *b)
{
	memset(b, 0, sizeof(*b));
	b->weight = CFG_WEIGHT_DEFAULT;
	b->state = LP_BACKEND_UP;
}

void
lp_config_service_init(struct lp_cfg_service *s)
{
	uint8_t len;

	memset(s, 0, sizeof(*s));
	s->proto = IPPROTO_TCP;
	s->forwarding = LP_FWD_NAT;
	s->scheduler = LP_SCHED_MAGLEV;
	s->affinity_timeout_s = CFG_AFFINITY_TIMEOUT_DEFAULT;
	s->prefix_v4 = 32;
	s->prefix_v6 = 128;
	s->rebalance = LP_REBALANCE_OFF;
	s->rebalance_rate = CFG_REBALANCE_RATE_DEFAULT;
	s->maglev_size = CFG_MAGLEV_DEFAULT;
	// Both literals are valid prefixes; the unit tests check the defaults.
	lp_ip_prefix_parse(CFG_TUNNEL_SRC4_DEFAULT, &s->tunnel_src4, &len);
	s->tunnel_src4_len = len;
	lp_ip_prefix_parse(CFG_TUNNEL_SRC6_DEFAULT, &s->tunnel_src6, &len);
	s->tunnel_src6_len = len;
	s->health.type = LP_HEALTH_NONE;
	strcpy(s->health.path, "/");
	s->health.interval_ms = CFG_HC_INTERVAL_MS_DEFAULT;
	s->health.timeout_ms = CFG_HC_TIMEOUT_MS_DEFAULT;
	s->health.rise = CFG_HC_RISE_DEFAULT;
	s->health.fall = CFG_HC_FALL_DEFAULT;
}

struct lp_config *
lp_config_new(void)
{
	struct lp_config *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->flows.capacity = CFG_CAPACITY_DEFAULT;
	c->flows.tcp_timeout = CFG_TCP_TIMEOUT_DEFAULT;
	c->flows.tcp_syn_timeout = CFG_SYN_TIMEOUT_DEFAULT;
	c->flows.tcp_fin_timeout = CFG_FIN_TIMEOUT_DEFAULT;
	c->flows.udp_timeout = CFG_UDP_TIMEOUT_DEFAULT;
	c->affinity_capacity = CFG_CAPACITY_DEFAULT;
	c->workers.poll = LP_POLL_ADAPTIVE;
	c->workers.idle_sleep_us = CFG_IDLE_SLEEP_US_DEFAULT;
	c->announce.withdraw_delay_s = CFG_WITHDRAW_DELAY_DEFAULT;
	c->cluster.start_wait_s = LP_CFG_CLUSTER_START_WAIT_DEFAULT;
	return c;
}

void
lp_config_free(struct lp_config *c)
{
	if (c == NULL)
		return;
	for (uint32_t i = 0; i < c->n_services && c->services != NULL; i++)
		free(c->services[i].backends);
	free(c->services);
	free(c->routes);
	free(c->neighbors);
	free(c->ports);
	free(c->path);
	free(c);
}

/* malloc'ed copy of n elements; NULL input or n == 0 gives NULL without failing. */
static bool
copy_array(void **dst, const void *src, size_t n, size_t size)
{
	*dst = NULL;
	if (n == 0 || src == NULL)
		return true;
	*dst = malloc(n * size);
	if (*dst == NULL)
		return false;
	memcpy(*dst, src, n * size);
	return true;
}

struct lp_config *
lp_config_dup(const struct lp_config *c)
{
	struct lp_config *d = malloc(sizeof(*d));

	if (d == NULL)
		return NULL;
	*d = *c;
	d->path = NULL;
	d->ports = NULL;
	d->neighbors = NULL;
	d->services = NULL;
	d->routes = NULL;
	// n_services stays: lp_config_free() walks services only when the array exists.
	if ((c->path != NULL && (d->path = strdup(c->path)) == NULL) ||
	    !copy_array((void **)&d->ports, c->ports, c->n_ports, sizeof(*c->ports)) ||
	    !copy_array((void **)&d->neighbors, c->neighbors, c->n_neighbors, sizeof(*c->neighbors)) ||
	    !copy_array((void **)&d->routes, c->routes, c->n_routes, sizeof(*c->routes)))
		goto fail;
	if (c->n_services != 0 && c->services != NULL) {
		d->services = calloc(c->n_services, sizeof(*d->services));
		if (d->services == NULL)
			goto fail;
		for (uint32_t i = 0; i < c->n_services; i++) {
			d->services[i] = c->services[i];
			if (!copy_array((void **)&d->services[i].backends, c->services[i].backends,
					c->services[i].n_backends, sizeof(struct lp_cfg_backend)))
				goto fail;
		}
	}
	return d;
fail:
	lp_config_free(d);
	return NULL;
}

static bool
port_equal(const struct lp_cfg_port *a, const struct lp_cfg_port *b)
{
	if (strcmp(a->name, b->name) != 0 || strcmp(a->device, b->device) != 0 || a->n_addrs != b->n_addrs ||
	    !lp_ip_equal(&a->gateway4, &b->gateway4) || !lp_ip_equal(&a->gateway6, &b->gateway6) ||
	    a->mtu != b->mtu || a->has_mac != b->has_mac ||
	    (a->has_mac && memcmp(&a->mac, &b->mac, sizeof(a->mac)) != 0) ||
	    strncmp(a->kernel_iface, b->kernel_iface, LP_IFNAME_MAX) != 0)
		return false;
	for (uint32_t i = 0; i < a->n_addrs && i < LP_PORT_ADDRS_MAX; i++)
		if (!lp_ip_equal(&a->addr[i], &b->addr[i]) || a->prefix[i] != b->prefix[i])
			return false;
	return true;
}

static bool
health_equal(const struct lp_cfg_health *a, const struct lp_cfg_health *b)
{
	return a->type == b->type && a->port == b->port && strncmp(a->path, b->path, LP_PATH_MAX) == 0 &&
	       a->interval_ms == b->interval_ms && a->timeout_ms == b->timeout_ms && a->rise == b->rise &&
	       a->fall == b->fall;
}

static bool
backend_equal(const struct lp_cfg_backend *a, const struct lp_cfg_backend *b)
{
	return lp_ip_equal(&a->addr, &b->addr) && a->port == b->port && a->weight == b->weight &&
	       a->state == b->state;
}

static bool
service_equal(const struct lp_cfg_service *a, const struct lp_cfg_service *b)
{
	if (strcmp(a->name, b->name) != 0 || !lp_ip_equal(&a->vip, &b->vip) || a->port != b->port ||
	    a->target_port != b->target_port || a->proto != b->proto || a->forwarding != b->forwarding ||
	    a->scheduler != b->scheduler || a->affinity != b->affinity ||
	    a->affinity_timeout_s != b->affinity_timeout_s || a->prefix_v4 != b->prefix_v4 ||
	    a->prefix_v6 != b->prefix_v6 || a->bounded_load != b->bounded_load ||
	    a->slow_start_s != b->slow_start_s || a->drain_timeout_s != b->drain_timeout_s ||
	    a->rebalance != b->rebalance || a->rebalance_rate != b->rebalance_rate ||
	    a->maglev_size != b->maglev_size || !lp_ip_equal(&a->tunnel_src4, &b->tunnel_src4) ||
	    a->tunnel_src4_len != b->tunnel_src4_len || !lp_ip_equal(&a->tunnel_src6, &b->tunnel_src6) ||
	    a->tunnel_src6_len != b->tunnel_src6_len || !health_equal(&a->health, &b->health) ||
	    a->n_backends != b->n_backends)
		return false;
	for (uint32_t i = 0; i < a->n_backends; i++)
		if (!backend_equal(&a->backends[i], &b->backends[i]))
			return false;
	return true;
}

bool
lp_config_equal(const struct lp_config *a, const struct lp_config *b)
{
	if (a->n_ports != b->n_ports || a->n_neighbors != b->n_neighbors || a->n_services != b->n_services ||
	    a->n_routes != b->n_routes ||
	    a->flows.capacity != b->flows.capacity || a->flows.capacity6 != b->flows.capacity6 ||
	    a->flows.tcp_timeout != b->flows.tcp_timeout ||
	    a->flows.tcp_syn_timeout != b->flows.tcp_syn_timeout ||
	    a->flows.tcp_fin_timeout != b->flows.tcp_fin_timeout ||
	    a->flows.udp_timeout != b->flows.udp_timeout || a->affinity_capacity != b->affinity_capacity ||
	    a->workers.poll != b->workers.poll || a->workers.idle_sleep_us != b->workers.idle_sleep_us ||
	    a->announce.enabled != b->announce.enabled ||
	    (a->announce.enabled &&
	     (a->announce.table != b->announce.table || a->announce.withdraw_delay_s != b->announce.withdraw_delay_s ||
	      strncmp(a->announce.iface, b->announce.iface, LP_IFNAME_MAX) != 0)) ||
	    !lp_config_cluster_equal(&a->cluster, &b->cluster))
		return false;
	for (uint32_t i = 0; i < a->n_ports; i++)
		if (!port_equal(&a->ports[i], &b->ports[i]))
			return false;
	for (uint32_t i = 0; i < a->n_neighbors; i++) {
		const struct lp_cfg_neighbor *x = &a->neighbors[i], *y = &b->neighbors[i];

		if (!lp_ip_equal(&x->addr, &y->addr) || memcmp(&x->mac, &y->mac, sizeof(x->mac)) != 0 ||
		    x->port != y->port)
			return false;
	}
	for (uint32_t i = 0; i < a->n_routes; i++) {
		const struct lp_cfg_route *x = &a->routes[i], *y = &b->routes[i];

		if (!lp_ip_equal(&x->prefix, &y->prefix) || x->len != y->len || !lp_ip_equal(&x->via, &y->via) ||
		    x->port != y->port)
			return false;
	}
	for (uint32_t i = 0; i < a->n_services; i++)
		if (!service_equal(&a->services[i], &b->services[i]))
			return false;
	return true;
}

/* ---- lookups and summary ---- */

int
lp_config_service_find(const struct lp_config *c, const char *name)
{
	for (uint32_t i = 0; i < c->n_services; i++)
		if (strncmp(c->services[i].name, name, LP_NAME_MAX) == 0)
			return (int)i;
	return -1;
}

int
lp_config_port_find(const struct lp_config *c, const char *name)
{
	for (uint32_t i = 0; i < c->n_ports; i++)
		if (strncmp(c->ports[i].name, name, LP_NAME_MAX) == 0)
			return (int)i;
	return -1;
}

int
lp_config_announce_port(const struct lp_config *c)
{
	int found = -1;

	if (!c->announce.enabled)
		return -1;
	for (uint32_t i = 0; i < c->n_ports; i++) {
		const char *k = c->ports[i].kernel_iface;

		if (k[0] == '\0')
			continue;
		if (c->announce.iface[0] != '\0') {
			if (strncmp(k, c->announce.iface, LP_IFNAME_MAX) == 0)
				return (int)i;
		} else if (found >= 0) {
			return -1;	/* several: announce.interface must say which */
		} else {
			found = (int)i;
		}
	}
	return c->announce.iface[0] != '\0' ? -1 : found;
}

int
lp_config_summary(const struct lp_config *c, char *buf, size_t len)
{
	uint64_t backends = 0;
	int n;

	for (uint32_t i = 0; i < c->n_services; i++)
		backends += c->services[i].n_backends;
	n = snprintf(buf, len, "%s: ok: %u port%s, %u service%s, %" PRIu64 " backend%s, %u neighbor%s",
		     c->path != NULL ? c->path : "config", c->n_ports, c->n_ports == 1 ? "" : "s",
		     c->n_services, c->n_services == 1 ? "" : "s", backends, backends == 1 ? "" : "s",
		     c->n_neighbors, c->n_neighbors == 1 ? "" : "s");
	// Only when there are routes: scripts read the line as it was before routes existed.
	if (n >= 0 && (size_t)n < len && c->n_routes != 0) {
		int more = snprintf(buf + n, len - (size_t)n, ", %u route%s", c->n_routes,
				    c->n_routes == 1 ? "" : "s");

		n = more < 0 ? more : n + more;
	}
	if (n >= 0 && (size_t)n < len && c->announce.enabled) {
		int more = snprintf(buf + n, len - (size_t)n, ", announce table %u", c->announce.table);

		n = more < 0 ? more : n + more;
	}
	return n >= 0 && (size_t)n < len ? 0 : -ENOSPC;
}
