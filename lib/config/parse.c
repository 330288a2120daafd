/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * YAML text -> struct lp_config. compose.c builds the document from
 * libyaml's events (aliases resolved, every node's mark kept, nesting and
 * size bounded); the walk below follows the schema, stores what is valid and reports everything that is
 * not at the node that causes it. Relations between elements (unique names,
 * VIP clashes, families) are checked afterwards by validate.c, with the
 * positions collected here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "parse_priv.h"

#define KEY_ENUM(id, str) id,
#define KEY_NAME(id, str) str,
#define KEYSET(var, where, LIST) \
	enum { LIST(KEY_ENUM) var##_max }; \
	static const char *const var##_names[] = { LIST(KEY_NAME) }; \
	static const struct cfg_keys var = { where, var##_names, var##_max }

#define TOP_KEYS(X) X(T_PORTS, "ports") X(T_NEIGHBORS, "neighbors") X(T_ROUTES, "routes") X(T_FLOWS, "flows") \
	X(T_AFFINITY, "affinity") X(T_SERVICES, "services") X(T_WORKERS, "workers") X(T_ANNOUNCE, "announce") \
	X(T_CLUSTER, "cluster")
#define PORT_KEYS(X) X(P_NAME, "name") X(P_DEVICE, "device") X(P_ADDRESS, "address") \
	X(P_GATEWAY, "gateway") X(P_MTU, "mtu") X(P_MAC, "mac") X(P_KERNEL_IFACE, "kernelInterface")
#define WORKERS_KEYS(X) X(W_POLL, "poll") X(W_IDLE_SLEEP, "idleSleepMicroseconds")
#define ANNOUNCE_KEYS(X) X(AN_TABLE, "table") X(AN_WITHDRAW_DELAY, "withdrawDelaySeconds") \
	X(AN_INTERFACE, "interface")
#define NEIGHBOR_KEYS(X) X(N_ADDRESS, "address") X(N_MAC, "mac") X(N_PORT, "port")
#define ROUTE_KEYS(X) X(R_PREFIX, "prefix") X(R_VIA, "via") X(R_PORT, "port")
#define FLOWS_KEYS(X) X(F_CAPACITY, "capacity") X(F_CAPACITY6, "capacity6") X(F_TCP, "tcp_timeout") X(F_SYN, "tcp_syn_timeout") \
	X(F_FIN, "tcp_fin_timeout") X(F_UDP, "udp_timeout")
#define AFFINITY_KEYS(X) X(A_CAPACITY, "capacity")
#define CLUSTER_KEYS(X) X(CL_REDIS, "redis") X(CL_PASSWORD_FILE, "passwordFile") X(CL_NAME, "name") \
	X(CL_START_WAIT, "startWaitSeconds")
#define SERVICE_KEYS(X) X(S_NAME, "name") X(S_VIP, "vip") X(S_PORT, "port") X(S_TARGET_PORT, "targetPort") \
	X(S_PROTOCOL, "protocol") X(S_FORWARDING, "forwarding") X(S_SCHEDULER, "scheduler") \
	X(S_AFFINITY, "sessionAffinity") X(S_AFFINITY_CONFIG, "sessionAffinityConfig") \
	X(S_BOUNDED_LOAD, "boundedLoad") X(S_SLOW_START, "slowStartSeconds") \
	X(S_DRAIN, "drainTimeoutSeconds") X(S_REBALANCE, "rebalance") X(S_REBALANCE_RATE, "rebalanceRate") \
	X(S_MAGLEV_SIZE, "maglevSize") X(S_TUNNEL_SOURCE, "tunnelSource") X(S_HEALTH, "healthCheck") \
	X(S_BACKENDS, "backends")
#define AFFINITY_CONFIG_KEYS(X) X(AC_CLIENT_IP, "clientIP")
#define CLIENT_IP_KEYS(X) X(CI_TIMEOUT, "timeoutSeconds") X(CI_PREFIX_V4, "prefixV4") X(CI_PREFIX_V6, "prefixV6")
#define HEALTH_KEYS(X) X(H_TYPE, "type") X(H_PORT, "port") X(H_PATH, "path") X(H_INTERVAL, "interval") \
	X(H_TIMEOUT, "timeout") X(H_RISE, "rise") X(H_FALL, "fall")
#define BACKEND_KEYS(X) X(B_ADDRESS, "address") X(B_PORT, "port") X(B_WEIGHT, "weight") X(B_STATE, "state")

KEYSET(top_keys, "at top level", TOP_KEYS);
KEYSET(port_keys, "in port", PORT_KEYS);
KEYSET(neighbor_keys, "in neighbor", NEIGHBOR_KEYS);
KEYSET(route_keys, "in route", ROUTE_KEYS);
KEYSET(flows_keys, "in flows", FLOWS_KEYS);
KEYSET(affinity_keys, "in affinity", AFFINITY_KEYS);
KEYSET(cluster_keys, "in cluster", CLUSTER_KEYS);
KEYSET(service_keys, "in service", SERVICE_KEYS);
KEYSET(affinity_config_keys, "in sessionAffinityConfig", AFFINITY_CONFIG_KEYS);
KEYSET(client_ip_keys, "in clientIP", CLIENT_IP_KEYS);
KEYSET(health_keys, "in healthCheck", HEALTH_KEYS);
KEYSET(backend_keys, "in backend", BACKEND_KEYS);
KEYSET(workers_keys, "in workers", WORKERS_KEYS);
KEYSET(announce_keys, "in announce", ANNOUNCE_KEYS);

_Static_assert(service_keys_max <= KEYS_MAX, "KEYS_MAX too small");

/*
 * True when a section of count items is within its limit (lp_config.h);
 * otherwise reports at the first item past it and the section is left
 * empty: nothing more is allocated or walked for it.
 */
static bool
within_limit(struct parse *p, yaml_node_t *n, int64_t count, uint32_t max, const char *key, const char *what)
{
	if (count <= (int64_t)max)
		return true;
	cfg_report(&p->d, cfg_pos_of(cfg_item_at(p, n, max)), NULL, "%s: more than %u %s", key, max, what);
	return false;
}

/* ---- ports, neighbors and routes ---- */

static bool
parse_addresses(struct parse *p, yaml_node_t *n, struct lp_cfg_port *port)
{
	uint32_t count = cfg_item_count(n);
	bool ok = true;

	if (count == 0) {
		cfg_report(&p->d, cfg_pos_of(n), NULL, "address: expected at least one IP address");
		return false;
	}
	if (count > LP_PORT_ADDRS_MAX) {
		cfg_report(&p->d, cfg_pos_of(cfg_item_at(p, n, LP_PORT_ADDRS_MAX)), NULL,
			   "address: at most %u addresses per port", LP_PORT_ADDRS_MAX);
		return false;
	}
	for (uint32_t i = 0; i < count; i++) {
		yaml_node_t *item = cfg_item_at(p, n, i);

		if (!cfg_visit(p, item))
			return false;
		if (cfg_get_prefix(p, item, "address", &port->addr[port->n_addrs], &port->prefix[port->n_addrs]))
			port->n_addrs++;
		else
			ok = false;
	}
	return ok;
}

static bool
parse_gateways(struct parse *p, yaml_node_t *n, struct lp_cfg_port *port)
{
	uint32_t count = cfg_item_count(n);
	bool ok = true;

	for (uint32_t i = 0; i < count; i++) {
		yaml_node_t *item = cfg_item_at(p, n, i);
		struct lp_ip *slot;
		struct lp_ip ip;

		if (!cfg_visit(p, item))
			return false;
		if (!cfg_get_ip(p, item, "gateway", &ip)) {
			ok = false;
			continue;
		}
		slot = ip.family == LP_AF_INET ? &port->gateway4 : &port->gateway6;
		if (slot->family != 0) {
			cfg_report(&p->d, cfg_pos_of(item), NULL, "gateway: more than one %s gateway",
				   ip.family == LP_AF_INET ? "IPv4" : "IPv6");
			ok = false;
			continue;
		}
		*slot = ip;
	}
	return ok;
}

static void
parse_port(struct parse *p, yaml_node_t *n, struct lp_cfg_port *port, struct cfg_mark *mark)
{
	yaml_node_t *v[port_keys_max];
	bool known = true;

	port->pos = mark->name = cfg_pos_of(n);
	if (!cfg_walk_map(p, n, "port", &port_keys, v)) {
		mark->broken = true;
		return;
	}
	if (v[P_NAME] == NULL) {
		cfg_missing(p, n, "name", &port_keys);
	} else {
		cfg_get_name(p, v[P_NAME], "name", port->name);
		mark->name = cfg_pos_of(v[P_NAME]);
	}
	if (v[P_DEVICE] == NULL)
		cfg_missing(p, n, "device", &port_keys);
	else
		cfg_get_text(p, v[P_DEVICE], "device", port->device, sizeof(port->device));
	// The checks between ports (shared addresses, IPv6 MTU) use the addresses and the MTU.
	if (v[P_ADDRESS] == NULL)
		known = cfg_missing(p, n, "address", &port_keys);
	else
		known &= parse_addresses(p, v[P_ADDRESS], port);
	if (v[P_MTU] != NULL)
		known &= cfg_get_u16(p, v[P_MTU], "mtu", CFG_MTU_MIN, CFG_MTU_MAX, &port->mtu);
	mark->broken = !known;
	if (v[P_GATEWAY] != NULL)
		parse_gateways(p, v[P_GATEWAY], port);
	if (v[P_MAC] != NULL)
		port->has_mac = cfg_get_mac(p, v[P_MAC], "mac", &port->mac);
	if (v[P_KERNEL_IFACE] != NULL) {
		port->kernel_iface_pos = cfg_pos_of(v[P_KERNEL_IFACE]);
		cfg_get_iface(p, v[P_KERNEL_IFACE], "kernelInterface", port->kernel_iface);
	}
}

static void
parse_neighbor(struct parse *p, yaml_node_t *n, uint32_t i)
{
	struct lp_cfg_neighbor *nb = &p->c->neighbors[i];
	struct cfg_mark *mark = &p->m.neighbor[i];
	yaml_node_t *v[neighbor_keys_max];
	bool known = true;

	nb->pos = mark->name = cfg_pos_of(n);
	if (!cfg_walk_map(p, n, "neighbor", &neighbor_keys, v)) {
		mark->broken = true;
		return;
	}
	// Duplicates are found by address and port; the MAC plays no part.
	if (v[N_ADDRESS] == NULL)
		known = cfg_missing(p, n, "address", &neighbor_keys);
	else
		known &= cfg_get_ip(p, v[N_ADDRESS], "address", &nb->addr);
	if (v[N_MAC] == NULL)
		cfg_missing(p, n, "mac", &neighbor_keys);
	else
		cfg_get_mac(p, v[N_MAC], "mac", &nb->mac);
	if (v[N_PORT] == NULL) {
		known = cfg_missing(p, n, "port", &neighbor_keys);
	} else {
		known &= cfg_get_name(p, v[N_PORT], "port", p->nb_port[i].name);
		p->nb_port[i].pos = cfg_pos_of(v[N_PORT]);
	}
	mark->broken = !known;
}

static void
parse_route(struct parse *p, yaml_node_t *n, uint32_t i)
{
	struct lp_cfg_route *rt = &p->c->routes[i];
	struct cfg_mark *mark = &p->m.route[i];
	yaml_node_t *v[route_keys_max];

	rt->pos = mark->via = cfg_pos_of(n);
	// Until its name resolves, the route names no port, and the checks needing one skip it.
	rt->port = UINT32_MAX;
	mark->broken = mark->via_broken = true;
	if (!cfg_walk_map(p, n, "route", &route_keys, v))
		return;
	if (v[R_PREFIX] == NULL)
		cfg_missing(p, n, "prefix", &route_keys);
	else
		mark->broken = !cfg_get_net(p, v[R_PREFIX], "prefix", &rt->prefix, &rt->len);
	if (v[R_VIA] == NULL) {
		cfg_missing(p, n, "via", &route_keys);
	} else {
		mark->via_broken = !cfg_get_ip(p, v[R_VIA], "via", &rt->via);
		mark->via = cfg_pos_of(v[R_VIA]);
	}
	if (v[R_PORT] == NULL) {
		cfg_missing(p, n, "port", &route_keys);
	} else if (cfg_get_name(p, v[R_PORT], "port", p->rt_port[i].name)) {
		p->rt_port[i].pos = cfg_pos_of(v[R_PORT]);
	}
}

struct port_name {
	const char *name;
	uint32_t idx;
};

static int
cmp_port_name(const void *x, const void *y)
{
	const struct port_name *a = x, *b = y;
	int r = strcmp(a->name, b->name);

	return r != 0 ? r : (a->idx > b->idx) - (a->idx < b->idx);
}

/*
 * Index of the first port named ref->name, as lp_config_port_find() would
 * give, through the sorted index; -1 after reporting an undefined name.
 */
static int64_t
find_port(struct parse *p, const struct port_name *index, const struct cfg_port_ref *ref)
{
	uint32_t lo = 0, hi = p->c->n_ports;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (strcmp(index[mid].name, ref->name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < p->c->n_ports && strcmp(index[lo].name, ref->name) == 0)
		return index[lo].idx;
	// With "ports" itself unusable, every name would be undefined: one message is enough.
	if (!p->m.ports_broken)
		cfg_report(&p->d, ref->pos, NULL, "port: undefined port '%s'", ref->name);
	return -1;
}

/*
 * Neighbors and routes name their port, and ports may come later in the
 * file, so names are resolved at the end: through a sorted index, since
 * aliases can make the lists long.
 */
static void
resolve_ports(struct parse *p)
{
	const struct lp_config *c = p->c;
	struct port_name *index;

	if (c->n_neighbors == 0 && c->n_routes == 0)
		return;
	index = calloc(c->n_ports + 1, sizeof(*index));
	if (index == NULL) {
		cfg_out_of_memory(p);
		return;
	}
	for (uint32_t i = 0; i < c->n_ports; i++)
		index[i] = (struct port_name){ c->ports[i].name, i };
	qsort(index, c->n_ports, sizeof(*index), cmp_port_name);
	for (uint32_t i = 0; i < c->n_neighbors; i++) {
		int64_t port;

		if (p->nb_port[i].name[0] == '\0')
			continue;
		port = find_port(p, index, &p->nb_port[i]);
		if (port >= 0)
			p->c->neighbors[i].port = (uint32_t)port;
		else
			p->m.neighbor[i].broken = true;
	}
	for (uint32_t i = 0; i < c->n_routes; i++) {
		int64_t port;

		if (p->rt_port[i].name[0] == '\0')
			continue;
		port = find_port(p, index, &p->rt_port[i]);
		if (port >= 0)
			p->c->routes[i].port = (uint32_t)port;
	}
	free(index);
}

static void
parse_flows(struct parse *p, yaml_node_t *n)
{
	struct lp_cfg_flows *f = &p->c->flows;
	yaml_node_t *v[flows_keys_max];

	if (!cfg_walk_map(p, n, "flows", &flows_keys, v))
		return;
	if (v[F_CAPACITY] != NULL)
		cfg_get_u32(p, v[F_CAPACITY], "capacity", CFG_CAPACITY_MIN, CFG_CAPACITY_MAX, &f->capacity);
	if (v[F_CAPACITY6] != NULL)
		cfg_get_u32(p, v[F_CAPACITY6], "capacity6", 0, CFG_CAPACITY_MAX, &f->capacity6);
	if (v[F_TCP] != NULL)
		cfg_get_u32(p, v[F_TCP], "tcp_timeout", 1, CFG_TCP_TIMEOUT_MAX, &f->tcp_timeout);
	if (v[F_SYN] != NULL)
		cfg_get_u32(p, v[F_SYN], "tcp_syn_timeout", 1, CFG_SHORT_TIMEOUT_MAX, &f->tcp_syn_timeout);
	if (v[F_FIN] != NULL)
		cfg_get_u32(p, v[F_FIN], "tcp_fin_timeout", 1, CFG_SHORT_TIMEOUT_MAX, &f->tcp_fin_timeout);
	if (v[F_UDP] != NULL)
		cfg_get_u32(p, v[F_UDP], "udp_timeout", 1, CFG_UDP_TIMEOUT_MAX, &f->udp_timeout);
}

static void
parse_affinity(struct parse *p, yaml_node_t *n)
{
	yaml_node_t *v[affinity_keys_max];

	if (!cfg_walk_map(p, n, "affinity", &affinity_keys, v))
		return;
	if (v[A_CAPACITY] != NULL)
		cfg_get_u32(p, v[A_CAPACITY], "capacity", CFG_CAPACITY_MIN, CFG_CAPACITY_MAX,
			&p->c->affinity_capacity);
}

static void
parse_workers(struct parse *p, yaml_node_t *n)
{
	yaml_node_t *v[workers_keys_max];
	struct lp_cfg_workers *w = &p->c->workers;

	if (!cfg_walk_map(p, n, "workers", &workers_keys, v))
		return;
	if (v[W_POLL] != NULL)
		cfg_get_enum(p, v[W_POLL], "poll", &cfg_enum_poll, &w->poll);
	if (v[W_IDLE_SLEEP] != NULL)
		cfg_get_u32(p, v[W_IDLE_SLEEP], "idleSleepMicroseconds", 1, CFG_IDLE_SLEEP_US_MAX, &w->idle_sleep_us);
}

static void
parse_announce(struct parse *p, yaml_node_t *n)
{
	yaml_node_t *v[announce_keys_max];
	struct lp_cfg_announce *a = &p->c->announce;

	a->pos = a->table_pos = a->iface_pos = cfg_pos_of(n);
	if (!cfg_walk_map(p, n, "announce", &announce_keys, v))
		return;
	a->enabled = true;
	if (v[AN_TABLE] == NULL) {
		cfg_missing(p, n, "table", &announce_keys);
	} else {
		a->table_pos = cfg_pos_of(v[AN_TABLE]);
		if (cfg_get_u32(p, v[AN_TABLE], "table", 1, UINT32_MAX, &a->table) && CFG_TABLE_RESERVED(a->table))
			cfg_report(&p->d, a->table_pos, NULL,
				   "table: %u is the kernel's own (253 default, 254 main, 255 local); use 1..252 or 256..4294967295",
				   a->table);
	}
	if (v[AN_WITHDRAW_DELAY] != NULL)
		cfg_get_u32(p, v[AN_WITHDRAW_DELAY], "withdrawDelaySeconds", 0, CFG_WITHDRAW_DELAY_MAX,
			    &a->withdraw_delay_s);
	if (v[AN_INTERFACE] != NULL) {
		a->iface_pos = cfg_pos_of(v[AN_INTERFACE]);
		cfg_get_iface(p, v[AN_INTERFACE], "interface", a->iface);
	}
}

static void
parse_cluster(struct parse *p, yaml_node_t *n)
{
	struct lp_cfg_cluster *cl = &p->c->cluster;
	yaml_node_t *v[cluster_keys_max];
	char name[LP_PATH_MAX];
	const char *problem;

	cl->pos = cfg_pos_of(n);
	if (!cfg_walk_map(p, n, "cluster", &cluster_keys, v))
		return;
	cl->enabled = true;
	if (v[CL_REDIS] == NULL)
		cfg_missing(p, n, "redis", &cluster_keys);
	else if (cfg_get_text(p, v[CL_REDIS], "redis", cl->redis, sizeof(cl->redis)) &&
		 (problem = cfg_cluster_endpoint_problem(cl->redis)) != NULL)
		cfg_report(&p->d, cfg_pos_of(v[CL_REDIS]), NULL, "redis: %s", problem);
	if (v[CL_NAME] == NULL)
		cfg_missing(p, n, "name", &cluster_keys);
	else if (cfg_get_text(p, v[CL_NAME], "name", name, sizeof(name))) {
		problem = cfg_cluster_name_problem(name);
		if (problem != NULL)
			cfg_report(&p->d, cfg_pos_of(v[CL_NAME]), NULL, "name: %s", problem);
		else
			strcpy(cl->name, name);
	}
	if (v[CL_PASSWORD_FILE] != NULL)
		cfg_get_text(p, v[CL_PASSWORD_FILE], "passwordFile", cl->password_file, sizeof(cl->password_file));
	if (v[CL_START_WAIT] != NULL)
		cfg_get_u32(p, v[CL_START_WAIT], "startWaitSeconds", 0, LP_CFG_CLUSTER_START_WAIT_MAX,
			    &cl->start_wait_s);
}

/* ---- services ---- */

static void
parse_affinity_config(struct parse *p, yaml_node_t *n, struct lp_cfg_service *s)
{
	yaml_node_t *v[affinity_config_keys_max], *ci[client_ip_keys_max];

	if (!cfg_walk_map(p, n, "sessionAffinityConfig", &affinity_config_keys, v) || v[AC_CLIENT_IP] == NULL ||
	    !cfg_walk_map(p, v[AC_CLIENT_IP], "clientIP", &client_ip_keys, ci))
		return;
	if (ci[CI_TIMEOUT] != NULL)
		cfg_get_u32(p, ci[CI_TIMEOUT], "timeoutSeconds", 1, CFG_AFFINITY_TIMEOUT_MAX, &s->affinity_timeout_s);
	if (ci[CI_PREFIX_V4] != NULL)
		cfg_get_u8(p, ci[CI_PREFIX_V4], "prefixV4", 0, 32, &s->prefix_v4);
	if (ci[CI_PREFIX_V6] != NULL)
		cfg_get_u8(p, ci[CI_PREFIX_V6], "prefixV6", 0, 128, &s->prefix_v6);
}

static void
parse_tunnel_source(struct parse *p, yaml_node_t *n, struct lp_cfg_service *s)
{
	uint32_t count = cfg_item_count(n);
	bool seen4 = false, seen6 = false;

	for (uint32_t i = 0; i < count; i++) {
		yaml_node_t *item = cfg_item_at(p, n, i);
		struct lp_ip ip;
		uint8_t len;

		if (!cfg_visit(p, item))
			return;
		if (!cfg_get_prefix(p, item, "tunnelSource", &ip, &len))
			continue;
		if (!cfg_prefix_clean(&ip, len)) {
			char shown[SHOW_STRLEN];

			cfg_report(&p->d, cfg_pos_of(item), NULL, "tunnelSource: %s has host bits set",
				   cfg_show((const char *)item->data.scalar.value, shown, sizeof(shown)));
			continue;
		}
		if (ip.family == LP_AF_INET ? seen4 : seen6) {
			cfg_report(&p->d, cfg_pos_of(item), NULL, "tunnelSource: more than one %s prefix",
				   ip.family == LP_AF_INET ? "IPv4" : "IPv6");
			continue;
		}
		if (ip.family == LP_AF_INET) {
			seen4 = true;
			s->tunnel_src4 = ip;
			s->tunnel_src4_len = len;
		} else {
			seen6 = true;
			s->tunnel_src6 = ip;
			s->tunnel_src6_len = len;
		}
	}
}

static bool
parse_health(struct parse *p, yaml_node_t *n, struct lp_cfg_service *s, struct cfg_mark *mark)
{
	struct lp_cfg_health *h = &s->health;
	yaml_node_t *v[health_keys_max];
	bool ok = true, typed = false;

	h->pos = mark->hc_timeout = cfg_pos_of(n);
	if (!cfg_walk_map(p, n, "healthCheck", &health_keys, v))
		return false;
	if (v[H_TYPE] == NULL)
		ok = cfg_missing(p, n, "type", &health_keys);
	else
		ok &= typed = cfg_get_enum(p, v[H_TYPE], "type", &cfg_enum_health, &h->type);
	if (v[H_PORT] != NULL)
		ok &= cfg_get_u16(p, v[H_PORT], "port", 0, UINT16_MAX, &h->port);
	if (v[H_PATH] != NULL) {
		if (typed && h->type != LP_HEALTH_HTTP) {
			cfg_report(&p->d, cfg_pos_of(v[H_PATH]), NULL, "path: only http health checks use a path");
			ok = false;
		} else if (cfg_get_text(p, v[H_PATH], "path", h->path, sizeof(h->path))) {
			if (h->path[0] != '/') {
				cfg_report(&p->d, cfg_pos_of(v[H_PATH]), NULL, "path: must start with '/'");
				ok = false;
			}
		} else {
			ok = false;
		}
	}
	if (v[H_INTERVAL] != NULL)
		ok &= cfg_get_ms(p, v[H_INTERVAL], "interval", &h->interval_ms);
	if (v[H_TIMEOUT] != NULL) {
		ok &= cfg_get_ms(p, v[H_TIMEOUT], "timeout", &h->timeout_ms);
		mark->hc_timeout = cfg_pos_of(v[H_TIMEOUT]);
	}
	if (v[H_RISE] != NULL)
		ok &= cfg_get_u32(p, v[H_RISE], "rise", 1, CFG_HC_COUNT_MAX, &h->rise);
	if (v[H_FALL] != NULL)
		ok &= cfg_get_u32(p, v[H_FALL], "fall", 1, CFG_HC_COUNT_MAX, &h->fall);
	return ok;
}

/* False when the backend's address or port, which the duplicate and family checks use, is unknown. */
static bool
parse_backend(struct parse *p, yaml_node_t *n, const struct lp_cfg_service *s, struct lp_cfg_backend *b)
{
	yaml_node_t *v[backend_keys_max];
	bool known = true;

	lp_config_backend_init(b);
	b->pos = cfg_pos_of(n);
	b->port = s->target_port != 0 ? s->target_port : s->port;
	if (!cfg_walk_map(p, n, "backend", &backend_keys, v))
		return false;
	if (v[B_ADDRESS] == NULL)
		known = cfg_missing(p, n, "address", &backend_keys);
	else
		known &= cfg_get_ip(p, v[B_ADDRESS], "address", &b->addr);
	if (v[B_PORT] != NULL)
		known &= cfg_get_u16(p, v[B_PORT], "port", 1, UINT16_MAX, &b->port);
	if (v[B_WEIGHT] != NULL)
		cfg_get_u32(p, v[B_WEIGHT], "weight", 0, CFG_WEIGHT_MAX, &b->weight);
	if (v[B_STATE] != NULL)
		cfg_get_enum(p, v[B_STATE], "state", &cfg_enum_state, &b->state);
	return known;
}

static void
parse_backends(struct parse *p, yaml_node_t *n, struct lp_cfg_service *s, struct cfg_mark *mark)
{
	int64_t count = cfg_seq_count(p, n, "backends");

	if (count <= 0 ||
	    !within_limit(p, n, count, LP_CFG_SERVICE_BACKENDS_MAX, "backends", "backends in one service"))
		return;
	s->backends = calloc((size_t)count, sizeof(*s->backends));
	mark->backend_broken = calloc((size_t)count, sizeof(*mark->backend_broken));
	if (s->backends == NULL || mark->backend_broken == NULL) {
		cfg_out_of_memory(p);
		return;
	}
	s->n_backends = (uint32_t)count;
	for (uint32_t i = 0; i < s->n_backends; i++) {
		yaml_node_t *item = cfg_item_at(p, n, i);

		if (!cfg_visit(p, item))
			return;
		mark->backend_broken[i] = !parse_backend(p, item, s, &s->backends[i]);
	}
}

static void
parse_bounded_load(struct parse *p, yaml_node_t *n, struct lp_cfg_service *s)
{
	char shown[SHOW_STRLEN];
	double c;

	if (!cfg_get_number(p, n, "boundedLoad", &c))
		return;
	// c <= 1 would refuse clients every backend could take; past 100 the bound never binds.
	if (c == 0 || (c > 1.0 && c <= CFG_BOUNDED_LOAD_MAX)) {
		s->bounded_load = c;
		return;
	}
	cfg_report(&p->d, cfg_pos_of(n), NULL, "boundedLoad: %s is out of range, %s",
		   cfg_show((const char *)n->data.scalar.value, shown, sizeof(shown)), CFG_BOUNDED_LOAD_EXPECT);
}

static void
parse_maglev_size(struct parse *p, yaml_node_t *n, struct lp_cfg_service *s)
{
	uint32_t size;

	if (!cfg_get_u32(p, n, "maglevSize", CFG_MAGLEV_MIN, CFG_MAGLEV_MAX, &size))
		return;
	// Maglev's permutations cover every slot only when the size is prime.
	if (!cfg_is_prime(size)) {
		cfg_report(&p->d, cfg_pos_of(n), NULL, "maglevSize: %u is not prime", size);
		return;
	}
	s->maglev_size = size;
}

static void
parse_service(struct parse *p, yaml_node_t *n, struct lp_cfg_service *s, struct cfg_mark *mark)
{
	yaml_node_t *v[service_keys_max];
	bool known = true;

	s->pos = mark->name = mark->vip = cfg_pos_of(n);
	if (!cfg_walk_map(p, n, "service", &service_keys, v)) {
		mark->broken = true;
		return;
	}
	if (v[S_NAME] == NULL) {
		cfg_missing(p, n, "name", &service_keys);
	} else {
		cfg_get_name(p, v[S_NAME], "name", s->name);
		mark->name = cfg_pos_of(v[S_NAME]);
	}
	// The checks between services (clashes, families) use vip, port,
	// protocol and forwarding: a mistake elsewhere leaves them meaningful.
	if (v[S_VIP] == NULL) {
		known = cfg_missing(p, n, "vip", &service_keys);
	} else {
		known &= cfg_get_ip(p, v[S_VIP], "vip", &s->vip);
		mark->vip = cfg_pos_of(v[S_VIP]);
	}
	if (v[S_PORT] == NULL)
		known = cfg_missing(p, n, "port", &service_keys);
	else
		known &= cfg_get_u16(p, v[S_PORT], "port", 1, UINT16_MAX, &s->port);
	if (v[S_PROTOCOL] != NULL)
		known &= cfg_get_enum(p, v[S_PROTOCOL], "protocol", &cfg_enum_proto, &s->proto);
	if (v[S_FORWARDING] != NULL)
		known &= cfg_get_enum(p, v[S_FORWARDING], "forwarding", &cfg_enum_fwd, &s->forwarding);
	mark->broken = !known;
	if (v[S_TARGET_PORT] != NULL)
		cfg_get_u16(p, v[S_TARGET_PORT], "targetPort", 1, UINT16_MAX, &s->target_port);
	if (v[S_SCHEDULER] != NULL)
		cfg_get_enum(p, v[S_SCHEDULER], "scheduler", &cfg_enum_sched, &s->scheduler);
	if (v[S_AFFINITY] != NULL) {
		uint8_t affinity;

		if (cfg_get_enum(p, v[S_AFFINITY], "sessionAffinity", &cfg_enum_affinity, &affinity))
			s->affinity = affinity != 0;
	}
	if (v[S_AFFINITY_CONFIG] != NULL)
		parse_affinity_config(p, v[S_AFFINITY_CONFIG], s);
	if (v[S_BOUNDED_LOAD] != NULL)
		parse_bounded_load(p, v[S_BOUNDED_LOAD], s);
	if (v[S_SLOW_START] != NULL)
		cfg_get_u32(p, v[S_SLOW_START], "slowStartSeconds", 0, CFG_SLOW_START_MAX, &s->slow_start_s);
	if (v[S_DRAIN] != NULL)
		cfg_get_u32(p, v[S_DRAIN], "drainTimeoutSeconds", 0, CFG_DRAIN_TIMEOUT_MAX, &s->drain_timeout_s);
	if (v[S_REBALANCE] != NULL)
		cfg_get_enum(p, v[S_REBALANCE], "rebalance", &cfg_enum_rebalance, &s->rebalance);
	if (v[S_REBALANCE_RATE] != NULL)
		cfg_get_u32(p, v[S_REBALANCE_RATE], "rebalanceRate", 1, CFG_REBALANCE_RATE_MAX, &s->rebalance_rate);
	if (v[S_MAGLEV_SIZE] != NULL)
		parse_maglev_size(p, v[S_MAGLEV_SIZE], s);
	if (v[S_TUNNEL_SOURCE] != NULL)
		parse_tunnel_source(p, v[S_TUNNEL_SOURCE], s);
	if (v[S_HEALTH] != NULL)
		mark->health_broken = !parse_health(p, v[S_HEALTH], s, mark);
	// Backends last: their default port is the service's (target) port.
	if (v[S_BACKENDS] != NULL)
		parse_backends(p, v[S_BACKENDS], s, mark);
}

/* ---- sections ---- */

/* Allocate n elements for a section's array and its marks; false on ENOMEM. */
static bool
alloc_section(struct parse *p, void **elems, size_t size, struct cfg_mark **marks, int64_t n)
{
	*elems = calloc((size_t)n, size);
	*marks = calloc((size_t)n, sizeof(**marks));
	return (*elems != NULL && *marks != NULL) || cfg_out_of_memory(p);
}

static void
parse_ports(struct parse *p, yaml_node_t *n)
{
	int64_t count = cfg_seq_count(p, n, "ports");

	p->m.ports = cfg_pos_of(n);
	if (count < 0 || !within_limit(p, n, count, LP_CFG_PORTS_MAX, "ports", "ports")) {
		p->m.ports_broken = true;
		return;
	}
	if (count == 0 || !alloc_section(p, (void **)&p->c->ports, sizeof(*p->c->ports), &p->m.port, count))
		return;
	p->c->n_ports = (uint32_t)count;
	for (uint32_t i = 0; i < p->c->n_ports; i++)
		lp_config_port_init(&p->c->ports[i]);
	for (uint32_t i = 0; i < p->c->n_ports; i++) {
		yaml_node_t *item = cfg_item_at(p, n, i);

		if (!cfg_visit(p, item))
			return;
		parse_port(p, item, &p->c->ports[i], &p->m.port[i]);
	}
}

static void
parse_neighbors(struct parse *p, yaml_node_t *n)
{
	int64_t count = cfg_seq_count(p, n, "neighbors");

	if (count <= 0 || !within_limit(p, n, count, LP_CFG_NEIGHBORS_MAX, "neighbors", "neighbors") ||
	    !alloc_section(p, (void **)&p->c->neighbors, sizeof(*p->c->neighbors), &p->m.neighbor, count))
		return;
	p->nb_port = calloc((size_t)count, sizeof(*p->nb_port));
	if (p->nb_port == NULL) {
		cfg_out_of_memory(p);
		return;
	}
	p->c->n_neighbors = (uint32_t)count;
	for (uint32_t i = 0; i < p->c->n_neighbors; i++) {
		yaml_node_t *item = cfg_item_at(p, n, i);

		if (!cfg_visit(p, item))
			return;
		parse_neighbor(p, item, i);
	}
}

static void
parse_routes(struct parse *p, yaml_node_t *n)
{
	int64_t count = cfg_seq_count(p, n, "routes");

	if (count <= 0 || !within_limit(p, n, count, LP_CFG_ROUTES_MAX, "routes", "routes") ||
	    !alloc_section(p, (void **)&p->c->routes, sizeof(*p->c->routes), &p->m.route, count))
		return;
	p->rt_port = calloc((size_t)count, sizeof(*p->rt_port));
	if (p->rt_port == NULL) {
		cfg_out_of_memory(p);
		return;
	}
	p->c->n_routes = (uint32_t)count;
	for (uint32_t i = 0; i < p->c->n_routes; i++) {
		yaml_node_t *item = cfg_item_at(p, n, i);

		if (!cfg_visit(p, item))
			return;
		parse_route(p, item, i);
	}
}

static void
parse_services(struct parse *p, yaml_node_t *n)
{
	int64_t count = cfg_seq_count(p, n, "services");

	if (count <= 0 || !within_limit(p, n, count, LP_CFG_SERVICES_MAX, "services", "services") ||
	    !alloc_section(p, (void **)&p->c->services, sizeof(*p->c->services), &p->m.service, count))
		return;
	p->c->n_services = (uint32_t)count;
	for (uint32_t i = 0; i < p->c->n_services; i++)
		lp_config_service_init(&p->c->services[i]);
	for (uint32_t i = 0; i < p->c->n_services; i++) {
		yaml_node_t *item = cfg_item_at(p, n, i);

		if (!cfg_visit(p, item))
			return;
		parse_service(p, item, &p->c->services[i], &p->m.service[i]);
	}
}

static void
parse_root(struct parse *p, yaml_node_t *root)
{
	yaml_node_t *v[top_keys_max];

	p->m.ports = cfg_pos_of(root);
	if (!cfg_walk_map(p, root, "top level", &top_keys, v)) {
		p->m.ports_broken = true;
		return;
	}
	if (v[T_PORTS] != NULL)
		parse_ports(p, v[T_PORTS]);
	if (v[T_NEIGHBORS] != NULL && !p->stop)
		parse_neighbors(p, v[T_NEIGHBORS]);
	if (v[T_ROUTES] != NULL && !p->stop)
		parse_routes(p, v[T_ROUTES]);
	if (v[T_FLOWS] != NULL && !p->stop)
		parse_flows(p, v[T_FLOWS]);
	if (v[T_AFFINITY] != NULL && !p->stop)
		parse_affinity(p, v[T_AFFINITY]);
	if (v[T_SERVICES] != NULL && !p->stop)
		parse_services(p, v[T_SERVICES]);
	if (v[T_WORKERS] != NULL && !p->stop)
		parse_workers(p, v[T_WORKERS]);
	if (v[T_ANNOUNCE] != NULL && !p->stop)
		parse_announce(p, v[T_ANNOUNCE]);
	if (v[T_CLUSTER] != NULL && !p->stop)
		parse_cluster(p, v[T_CLUSTER]);
	if (!p->stop)
		resolve_ports(p);
}

/* ---- entry ---- */

/* Parse the one document in the parser's input into p->c. */
static void
parse_document(struct parse *p, yaml_parser_t *y, const char *buf, size_t len)
{
	yaml_document_t doc, extra;
	yaml_node_t *root;

	if (!cfg_compose(p, y, &doc, buf, len))
		return;
	p->doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (root == NULL) {
		cfg_report(&p->d, (struct lp_cfg_pos){ 1, 1 }, NULL, "empty document");
		yaml_document_delete(&doc);
		return;
	}
	parse_root(p, root);
	// A second document would be silently ignored; say so instead.
	if (!p->stop && cfg_compose(p, y, &extra, buf, len)) {
		if (yaml_document_get_root_node(&extra) != NULL)
			cfg_report(&p->d, cfg_mark_pos(extra.start_mark), NULL, "only one YAML document is allowed");
		yaml_document_delete(&extra);
	}
	if (!p->stop)
		cfg_check(p->c, &p->m, &p->d);
	yaml_document_delete(&doc);
}

struct lp_config *
lp_config_parse(const char *buf, size_t len, const char *name, struct lp_diag *diag)
{
	struct parse p = { .d = { .out = diag, .file = name != NULL ? name : "<string>" } };
	yaml_parser_t y;

	p.c = lp_config_new();
	if (p.c == NULL || (p.c->path = strdup(p.d.file)) == NULL || !yaml_parser_initialize(&y)) {
		lp_config_free(p.c);
		errno = ENOMEM;
		return NULL;
	}
	yaml_parser_set_input_string(&y, (const unsigned char *)buf, len);
	parse_document(&p, &y, buf, len);
	yaml_parser_delete(&y);
	cfg_marks_free(&p.m, p.c->n_services);
	free(p.nb_port);
	free(p.rt_port);
	cfg_diag_flush(&p.d);
	if (p.d.oom || p.d.errors != 0) {
		lp_config_free(p.c);
		errno = p.d.oom ? ENOMEM : EINVAL;
		return NULL;
	}
	return p.c;
}
