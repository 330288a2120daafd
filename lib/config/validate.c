/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Rules over a whole config. lp_config_validate() runs them on a config
 * built or edited in memory (by the CLI, say): first every field, with the
 * ranges the parser enforces, then the relations between elements. The
 * parser has already checked each field at its node, so it runs only the
 * relations, with the node positions it collected.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "config_priv.h"

struct check {
	struct cfg_diag *d;
	const struct lp_config *c;
	const struct cfg_marks *m;
};

/* Backends a service can be checked for: none when its array is unusable (reported by the field checks). */
static uint32_t
backend_count(const struct lp_cfg_service *s)
{
	return s->n_backends <= LP_CFG_SERVICE_BACKENDS_MAX && (s->n_backends == 0 || s->backends != NULL)
		       ? s->n_backends
		       : 0;
}

#define SUBJECT_STRLEN (LP_NAME_MAX + LP_ENDPOINT_STRLEN + 32)

static const char *
port_subject(const struct lp_cfg_port *p, char *buf, size_t len)
{
	snprintf(buf, len, "port '%.*s'", (int)strnlen(p->name, LP_NAME_MAX), p->name);
	return buf;
}

static const char *
service_subject(const struct lp_cfg_service *s, char *buf, size_t len)
{
	snprintf(buf, len, "service '%.*s'", (int)strnlen(s->name, LP_NAME_MAX), s->name);
	return buf;
}

static const char *
route_subject(const struct lp_cfg_route *r, char *buf, size_t len)
{
	char a[LP_IP_STRLEN];

	snprintf(buf, len, "route %s/%u", lp_ip_format(&r->prefix, a, sizeof(a)), r->len);
	return buf;
}

/* ", first at 3:11", or nothing for an element built in memory. */
static const char *
first_at(struct lp_cfg_pos pos, char *buf, size_t len)
{
	if (pos.line == 0)
		buf[0] = '\0';
	else
		snprintf(buf, len, ", first at %u:%u", pos.line, pos.col);
	return buf;
}

/* ---- fields (configs built in memory) ---- */

static bool
range(struct check *k, struct lp_cfg_pos pos, const char *subject, const char *key, uint64_t v, uint64_t min,
      uint64_t max)
{
	if (v >= min && v <= max)
		return true;
	cfg_report(k->d, pos, subject, "%s: %" PRIu64 " is out of range %" PRIu64 "..%" PRIu64, key, v, min, max);
	return false;
}

static bool
ms_range(struct check *k, struct lp_cfg_pos pos, const char *subject, const char *key, uint32_t ms)
{
	char v[16], lo[16], hi[16];

	if (ms >= CFG_HC_MS_MIN && ms <= CFG_HC_MS_MAX)
		return true;
	cfg_report(k->d, pos, subject, "%s: %s is out of range %s..%s", key, cfg_fmt_ms(ms, v, sizeof(v)),
		   cfg_fmt_ms(CFG_HC_MS_MIN, lo, sizeof(lo)), cfg_fmt_ms(CFG_HC_MS_MAX, hi, sizeof(hi)));
	return false;
}

static bool
enum_ok(struct check *k, struct lp_cfg_pos pos, const char *subject, const char *key, const struct cfg_enum *en,
	unsigned int v)
{
	if (cfg_enum_name(en, v) != NULL)
		return true;
	cfg_report(k->d, pos, subject, "%s: expected %s, got %u", key, en->expect, v);
	return false;
}

static bool
text_ok(struct check *k, struct lp_cfg_pos pos, const char *subject, const char *key, const char *problem)
{
	if (problem == NULL)
		return true;
	cfg_report(k->d, pos, subject, "%s: %s", key, problem);
	return false;
}

static bool
unicast(struct check *k, struct lp_cfg_pos pos, const char *subject, const char *key, const struct lp_ip *ip)
{
	char a[LP_IP_STRLEN];

	if (ip->family != LP_AF_INET && ip->family != LP_AF_INET6)
		cfg_report(k->d, pos, subject, "%s: not set", key);
	else if (!cfg_ip_unicast(ip))
		cfg_report(k->d, pos, subject, "%s: %s is not a unicast address", key, lp_ip_format(ip, a, sizeof(a)));
	else
		return true;
	return false;
}

static bool
mac_ok(struct check *k, struct lp_cfg_pos pos, const char *subject, const char *key, const struct lp_mac *mac)
{
	char m[LP_MAC_STRLEN];

	if (cfg_mac_unicast(mac))
		return true;
	cfg_report(k->d, pos, subject, "%s: %s is not a unicast MAC address", key, lp_mac_format(mac, m, sizeof(m)));
	return false;
}

static bool
gateway_ok(struct check *k, struct lp_cfg_pos pos, const char *subject, const struct lp_ip *gw, uint8_t family)
{
	if (gw->family == 0)
		return true;
	if (gw->family != family) {
		cfg_report(k->d, pos, subject, "gateway: IPv%u gateway holds another family", family);
		return false;
	}
	return unicast(k, pos, subject, "gateway", gw);
}

/*
 * Each check_<element>() reports every bad field and returns whether the
 * fields the relation checks use are good, as the parser's marks do.
 */
static bool
check_port(struct check *k, const struct lp_cfg_port *p)
{
	char subject[SUBJECT_STRLEN];
	bool known = true;

	port_subject(p, subject, sizeof(subject));
	text_ok(k, p->pos, subject, "name", cfg_name_problem(p->name));
	text_ok(k, p->pos, subject, "device", cfg_text_problem(p->device, LP_DEVICE_MAX));
	if (p->n_addrs == 0) {
		cfg_report(k->d, p->pos, subject, "address: expected at least one IP address");
		known = false;
	} else if (p->n_addrs > LP_PORT_ADDRS_MAX) {
		cfg_report(k->d, p->pos, subject, "address: at most %u addresses per port", LP_PORT_ADDRS_MAX);
		known = false;
	} else {
		for (uint32_t i = 0; i < p->n_addrs; i++)
			known &= unicast(k, p->pos, subject, "address", &p->addr[i]) &&
				 range(k, p->pos, subject, "prefix", p->prefix[i], 0, lp_ip_len(&p->addr[i]) * 8);
	}
	known &= range(k, p->pos, subject, "mtu", p->mtu, CFG_MTU_MIN, CFG_MTU_MAX);
	gateway_ok(k, p->pos, subject, &p->gateway4, LP_AF_INET);
	gateway_ok(k, p->pos, subject, &p->gateway6, LP_AF_INET6);
	if (p->has_mac)
		mac_ok(k, p->pos, subject, "mac", &p->mac);
	if (p->kernel_iface[0] != '\0')
		text_ok(k, p->pos, subject, "kernelInterface", cfg_iface_problem(p->kernel_iface));
	return known;
}

static bool
check_neighbor(struct check *k, const struct lp_cfg_neighbor *nb)
{
	char subject[SUBJECT_STRLEN], a[LP_IP_STRLEN];
	bool known = true;

	snprintf(subject, sizeof(subject), "neighbor %s", lp_ip_format(&nb->addr, a, sizeof(a)));
	known &= unicast(k, nb->pos, subject, "address", &nb->addr);
	mac_ok(k, nb->pos, subject, "mac", &nb->mac);
	if (nb->port >= k->c->n_ports) {
		cfg_report(k->d, nb->pos, subject, "port: no port with index %u", nb->port);
		known = false;
	}
	return known;
}

/* Sets mark->broken for a bad prefix, mark->via_broken for a bad next hop. */
static void
check_route(struct check *k, const struct lp_cfg_route *r, struct cfg_mark *mark)
{
	char subject[SUBJECT_STRLEN], a[LP_IP_STRLEN];

	bool ok = false;

	route_subject(r, subject, sizeof(subject));
	if (r->prefix.family != LP_AF_INET && r->prefix.family != LP_AF_INET6) {
		cfg_report(k->d, r->pos, subject, "prefix: not set");
	} else if (range(k, r->pos, subject, "prefix length", r->len, 0, lp_ip_len(&r->prefix) * 8)) {
		lp_ip_format(&r->prefix, a, sizeof(a));
		if (!cfg_prefix_clean(&r->prefix, r->len))
			cfg_report(k->d, r->pos, subject, "prefix: %s/%u has host bits set", a, r->len);
		else if (!cfg_prefix_unicast(&r->prefix, r->len))
			cfg_report(k->d, r->pos, subject, "prefix: %s/%u holds no unicast address", a, r->len);
		else
			ok = true;
	}
	mark->broken = !ok;
	mark->via_broken = !unicast(k, r->pos, subject, "via", &r->via);
	if (r->port >= k->c->n_ports)
		cfg_report(k->d, r->pos, subject, "port: no port with index %u", r->port);
}

static void
check_tables(struct check *k)
{
	const struct lp_cfg_flows *f = &k->c->flows;
	const struct lp_cfg_pos none = { 0, 0 };

	range(k, none, "flows", "capacity", f->capacity, CFG_CAPACITY_MIN, CFG_CAPACITY_MAX);
	range(k, none, "flows", "capacity6", f->capacity6, 0, CFG_CAPACITY_MAX);
	range(k, none, "flows", "tcp_timeout", f->tcp_timeout, 1, CFG_TCP_TIMEOUT_MAX);
	range(k, none, "flows", "tcp_syn_timeout", f->tcp_syn_timeout, 1, CFG_SHORT_TIMEOUT_MAX);
	range(k, none, "flows", "tcp_fin_timeout", f->tcp_fin_timeout, 1, CFG_SHORT_TIMEOUT_MAX);
	range(k, none, "flows", "udp_timeout", f->udp_timeout, 1, CFG_UDP_TIMEOUT_MAX);
	range(k, none, "affinity", "capacity", k->c->affinity_capacity, CFG_CAPACITY_MIN, CFG_CAPACITY_MAX);
	enum_ok(k, none, "workers", "poll", &cfg_enum_poll, k->c->workers.poll);
	range(k, none, "workers", "idleSleepMicroseconds", k->c->workers.idle_sleep_us, 1, CFG_IDLE_SLEEP_US_MAX);
	if (k->c->announce.enabled) {
		const struct lp_cfg_announce *a = &k->c->announce;

		if (range(k, a->table_pos, "announce", "table", a->table, 1, UINT32_MAX) &&
		    CFG_TABLE_RESERVED(a->table))
			cfg_report(k->d, a->table_pos, "announce",
				   "table: %u is the kernel's own (253 default, 254 main, 255 local); use 1..252 or 256..4294967295",
				   a->table);
		range(k, a->pos, "announce", "withdrawDelaySeconds", a->withdraw_delay_s, 0, CFG_WITHDRAW_DELAY_MAX);
		if (a->iface[0] != '\0')
			text_ok(k, a->iface_pos, "announce", "interface", cfg_iface_problem(a->iface));
	}
}

static bool
tunnel_source_ok(struct check *k, const struct lp_cfg_service *s, const char *subject, const struct lp_ip *ip,
		 uint8_t len, uint8_t family)
{
	char a[LP_IP_STRLEN];

	if (ip->family != family) {
		cfg_report(k->d, s->pos, subject, "tunnelSource: no IPv%u prefix", family);
		return false;
	}
	if (!unicast(k, s->pos, subject, "tunnelSource", ip) ||
	    !range(k, s->pos, subject, "tunnelSource prefix", len, 0, lp_ip_len(ip) * 8))
		return false;
	if (!cfg_prefix_clean(ip, len)) {
		cfg_report(k->d, s->pos, subject, "tunnelSource: %s/%u has host bits set",
			   lp_ip_format(ip, a, sizeof(a)), len);
		return false;
	}
	return true;
}

static bool
check_health(struct check *k, const struct lp_cfg_service *s, const char *subject)
{
	const struct lp_cfg_health *h = &s->health;
	struct lp_cfg_pos pos = h->pos.line != 0 ? h->pos : s->pos;
	const char *problem = cfg_text_problem(h->path, LP_PATH_MAX);
	bool ok = true;

	ok &= enum_ok(k, pos, subject, "healthCheck type", &cfg_enum_health, h->type);
	if (problem != NULL) {
		cfg_report(k->d, pos, subject, "path: %s", problem);
		ok = false;
	} else if (h->path[0] != '/') {
		cfg_report(k->d, pos, subject, "path: must start with '/'");
		ok = false;
	} else if (h->type != LP_HEALTH_HTTP && strcmp(h->path, "/") != 0) {
		cfg_report(k->d, pos, subject, "path: only http health checks use a path");
		ok = false;
	}
	ok &= ms_range(k, pos, subject, "interval", h->interval_ms);
	ok &= ms_range(k, pos, subject, "timeout", h->timeout_ms);
	ok &= range(k, pos, subject, "rise", h->rise, 1, CFG_HC_COUNT_MAX);
	ok &= range(k, pos, subject, "fall", h->fall, 1, CFG_HC_COUNT_MAX);
	return ok;
}

static bool
check_backend(struct check *k, const struct lp_cfg_service *s, const struct lp_cfg_backend *b)
{
	char subject[SUBJECT_STRLEN], ep[LP_ENDPOINT_STRLEN];
	bool known = true;

	snprintf(subject, sizeof(subject), "service '%.*s' backend %s", (int)strnlen(s->name, LP_NAME_MAX),
		 s->name, lp_endpoint_format(&b->addr, b->port, ep, sizeof(ep)));
	known &= unicast(k, b->pos, subject, "address", &b->addr);
	known &= range(k, b->pos, subject, "port", b->port, 1, UINT16_MAX);
	range(k, b->pos, subject, "weight", b->weight, 0, CFG_WEIGHT_MAX);
	enum_ok(k, b->pos, subject, "state", &cfg_enum_state, b->state);
	return known;
}

static bool
check_service(struct check *k, const struct lp_cfg_service *s, struct cfg_mark *mark)
{
	char subject[SUBJECT_STRLEN];
	struct lp_cfg_pos pos = s->pos;
	bool known = true;

	service_subject(s, subject, sizeof(subject));
	text_ok(k, pos, subject, "name", cfg_name_problem(s->name));
	known &= unicast(k, pos, subject, "vip", &s->vip);
	known &= range(k, pos, subject, "port", s->port, 1, UINT16_MAX);
	known &= enum_ok(k, pos, subject, "protocol", &cfg_enum_proto, s->proto);
	known &= enum_ok(k, pos, subject, "forwarding", &cfg_enum_fwd, s->forwarding);
	enum_ok(k, pos, subject, "scheduler", &cfg_enum_sched, s->scheduler);
	range(k, pos, subject, "timeoutSeconds", s->affinity_timeout_s, 1, CFG_AFFINITY_TIMEOUT_MAX);
	range(k, pos, subject, "prefixV4", s->prefix_v4, 0, 32);
	range(k, pos, subject, "prefixV6", s->prefix_v6, 0, 128);
	if (!(s->bounded_load == 0 || (s->bounded_load > 1.0 && s->bounded_load <= CFG_BOUNDED_LOAD_MAX)))
		cfg_report(k->d, pos, subject, "boundedLoad: %g is out of range, %s", s->bounded_load,
			   CFG_BOUNDED_LOAD_EXPECT);
	range(k, pos, subject, "slowStartSeconds", s->slow_start_s, 0, CFG_SLOW_START_MAX);
	range(k, pos, subject, "drainTimeoutSeconds", s->drain_timeout_s, 0, CFG_DRAIN_TIMEOUT_MAX);
	enum_ok(k, pos, subject, "rebalance", &cfg_enum_rebalance, s->rebalance);
	range(k, pos, subject, "rebalanceRate", s->rebalance_rate, 1, CFG_REBALANCE_RATE_MAX);
	if (range(k, pos, subject, "maglevSize", s->maglev_size, CFG_MAGLEV_MIN, CFG_MAGLEV_MAX) &&
	    !cfg_is_prime(s->maglev_size))
		cfg_report(k->d, pos, subject, "maglevSize: %u is not prime", s->maglev_size);
	tunnel_source_ok(k, s, subject, &s->tunnel_src4, s->tunnel_src4_len, LP_AF_INET);
	tunnel_source_ok(k, s, subject, &s->tunnel_src6, s->tunnel_src6_len, LP_AF_INET6);
	mark->health_broken = !check_health(k, s, subject);
	if (s->n_backends > LP_CFG_SERVICE_BACKENDS_MAX)
		cfg_report(k->d, pos, subject, "backends: more than %u backends in one service",
			   LP_CFG_SERVICE_BACKENDS_MAX);
	else if (backend_count(s) != s->n_backends)
		cfg_report(k->d, pos, subject, "backends: %u backends without an array to hold them", s->n_backends);
	for (uint32_t i = 0; i < backend_count(s); i++)
		mark->backend_broken[i] = !check_backend(k, s, &s->backends[i]);
	return known;
}

/*
 * A section of a config built in memory within its limit (lp_config.h);
 * the parser reports the same at the first item past it.
 */
static void
count_ok(struct check *k, uint32_t n, uint32_t max, struct lp_cfg_pos past, const char *key, const char *what)
{
	if (n > max)
		cfg_report(k->d, past, NULL, "%s: more than %u %s", key, max, what);
}

/* Marks for a config from memory: element positions, broken where a field the relations use is bad. */
static bool
check_fields(struct check *k, struct cfg_marks *m)
{
	const struct lp_config *c = k->c;
	const struct lp_cfg_pos none = { 0, 0 };

	count_ok(k, c->n_ports, LP_CFG_PORTS_MAX, c->n_ports > LP_CFG_PORTS_MAX ? c->ports[LP_CFG_PORTS_MAX].pos : none,
		 "ports", "ports");
	count_ok(k, c->n_neighbors, LP_CFG_NEIGHBORS_MAX,
		 c->n_neighbors > LP_CFG_NEIGHBORS_MAX ? c->neighbors[LP_CFG_NEIGHBORS_MAX].pos : none, "neighbors",
		 "neighbors");
	count_ok(k, c->n_routes, LP_CFG_ROUTES_MAX,
		 c->n_routes > LP_CFG_ROUTES_MAX ? c->routes[LP_CFG_ROUTES_MAX].pos : none, "routes", "routes");
	count_ok(k, c->n_services, LP_CFG_SERVICES_MAX,
		 c->n_services > LP_CFG_SERVICES_MAX ? c->services[LP_CFG_SERVICES_MAX].pos : none, "services",
		 "services");

	m->port = calloc(c->n_ports + 1, sizeof(*m->port));
	m->neighbor = calloc(c->n_neighbors + 1, sizeof(*m->neighbor));
	m->service = calloc(c->n_services + 1, sizeof(*m->service));
	m->route = calloc(c->n_routes + 1, sizeof(*m->route));
	if (m->port == NULL || m->neighbor == NULL || m->service == NULL || m->route == NULL)
		return false;
	for (uint32_t i = 0; i < c->n_ports; i++) {
		m->port[i].name = c->ports[i].pos;
		m->port[i].broken = !check_port(k, &c->ports[i]);
	}
	for (uint32_t i = 0; i < c->n_neighbors; i++)
		m->neighbor[i].broken = !check_neighbor(k, &c->neighbors[i]);
	for (uint32_t i = 0; i < c->n_routes; i++) {
		m->route[i].via = c->routes[i].pos;
		check_route(k, &c->routes[i], &m->route[i]);
	}
	check_tables(k);
	for (uint32_t i = 0; i < c->n_services; i++) {
		const struct lp_cfg_service *s = &c->services[i];
		struct cfg_mark *mark = &m->service[i];

		mark->name = mark->vip = s->pos;
		mark->hc_timeout = s->health.pos.line != 0 ? s->health.pos : s->pos;
		mark->backend_broken = calloc(backend_count(s) + 1, sizeof(*mark->backend_broken));
		if (mark->backend_broken == NULL)
			return false;
		mark->broken = !check_service(k, s, mark);
	}
	return true;
}

/* ---- relations ---- */

struct ref {
	const void *elem;
	uint32_t idx;
};

/*
 * first[idx] = idx of the earliest ref equal to ref idx under cmp, or
 * UINT32_MAX for the earliest itself (indices below span). Sorting keeps
 * this O(n log n): thousands of services or backends are ordinary.
 */
static uint32_t *
find_duplicates(struct check *k, struct ref *refs, uint32_t n, uint32_t span,
		int (*cmp)(const void *, const void *))
{
	uint32_t *first = malloc(((size_t)span + 1) * sizeof(*first));

	if (first == NULL) {
		k->d->oom = true;
		return NULL;
	}
	for (uint32_t i = 0; i < span; i++)
		first[i] = UINT32_MAX;
	qsort(refs, n, sizeof(*refs), cmp);
	for (uint32_t start = 0, end; start < n; start = end) {
		uint32_t low = refs[start].idx;

		for (end = start + 1; end < n && cmp(&refs[start], &refs[end]) == 0; end++)
			if (refs[end].idx < low)
				low = refs[end].idx;
		for (uint32_t i = start; i < end; i++)
			if (refs[i].idx != low)
				first[refs[i].idx] = low;
	}
	return first;
}

static int
cmp_port_name(const void *x, const void *y)
{
	const struct lp_cfg_port *a = ((const struct ref *)x)->elem, *b = ((const struct ref *)y)->elem;

	return strncmp(a->name, b->name, LP_NAME_MAX);
}

static int
cmp_ip(const void *x, const void *y)
{
	return lp_ip_cmp(((const struct ref *)x)->elem, ((const struct ref *)y)->elem);
}

static int
cmp_neighbor(const void *x, const void *y)
{
	const struct lp_cfg_neighbor *a = ((const struct ref *)x)->elem, *b = ((const struct ref *)y)->elem;

	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return lp_ip_cmp(&a->addr, &b->addr);
}

static int
cmp_route(const void *x, const void *y)
{
	const struct lp_cfg_route *a = ((const struct ref *)x)->elem, *b = ((const struct ref *)y)->elem;
	int r = lp_ip_cmp(&a->prefix, &b->prefix);

	if (r != 0)
		return r;
	return (a->len > b->len) - (a->len < b->len);
}

static int
cmp_service_name(const void *x, const void *y)
{
	const struct lp_cfg_service *a = ((const struct ref *)x)->elem, *b = ((const struct ref *)y)->elem;

	return strncmp(a->name, b->name, LP_NAME_MAX);
}

static int
cmp_service_vip(const void *x, const void *y)
{
	const struct lp_cfg_service *a = ((const struct ref *)x)->elem, *b = ((const struct ref *)y)->elem;
	int r = lp_ip_cmp(&a->vip, &b->vip);

	if (r != 0)
		return r;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return (a->proto > b->proto) - (a->proto < b->proto);
}

static int
cmp_backend(const void *x, const void *y)
{
	const struct lp_cfg_backend *a = ((const struct ref *)x)->elem, *b = ((const struct ref *)y)->elem;
	int r = lp_ip_cmp(&a->addr, &b->addr);

	if (r != 0)
		return r;
	return (a->port > b->port) - (a->port < b->port);
}

static void
relate_ports(struct check *k, struct ref *refs)
{
	const struct lp_config *c = k->c;
	char subject[SUBJECT_STRLEN], at[32], a[LP_IP_STRLEN];
	uint32_t n = 0, *first;

	if (c->n_ports == 0 && !k->m->ports_broken)
		cfg_report(k->d, k->m->ports, NULL, "at least one port is required");
	for (uint32_t i = 0; i < c->n_ports; i++)
		if (c->ports[i].name[0] != '\0')
			refs[n++] = (struct ref){ &c->ports[i], i };
	first = find_duplicates(k, refs, n, c->n_ports, cmp_port_name);
	for (uint32_t i = 0; first != NULL && i < c->n_ports; i++)
		if (first[i] != UINT32_MAX)
			cfg_report(k->d, k->m->port[i].name, NULL, "duplicate port name '%.*s'%s",
				   (int)strnlen(c->ports[i].name, LP_NAME_MAX), c->ports[i].name,
				   first_at(k->m->port[first[i]].name, at, sizeof(at)));
	free(first);

	// One address on two ports (or twice on one) would answer ARP/ND twice.
	n = 0;
	for (uint32_t i = 0; i < c->n_ports; i++)
		for (uint32_t j = 0; !k->m->port[i].broken && j < c->ports[i].n_addrs; j++)
			refs[n++] = (struct ref){ &c->ports[i].addr[j], i * LP_PORT_ADDRS_MAX + j };
	first = find_duplicates(k, refs, n, c->n_ports * LP_PORT_ADDRS_MAX, cmp_ip);
	for (uint32_t i = 0; first != NULL && i < c->n_ports * LP_PORT_ADDRS_MAX; i++) {
		const struct lp_cfg_port *p = &c->ports[i / LP_PORT_ADDRS_MAX];

		if (first[i] != UINT32_MAX)
			cfg_report(k->d, p->pos, port_subject(p, subject, sizeof(subject)),
				   "duplicate address %s, first in port '%.*s'",
				   lp_ip_format(&p->addr[i % LP_PORT_ADDRS_MAX], a, sizeof(a)),
				   (int)strnlen(c->ports[first[i] / LP_PORT_ADDRS_MAX].name, LP_NAME_MAX),
				   c->ports[first[i] / LP_PORT_ADDRS_MAX].name);
	}
	free(first);

	for (uint32_t i = 0; i < c->n_ports; i++) {
		const struct lp_cfg_port *p = &c->ports[i];
		bool v6 = false;

		for (uint32_t j = 0; j < p->n_addrs && j < LP_PORT_ADDRS_MAX; j++)
			v6 |= p->addr[j].family == LP_AF_INET6;
		if (!k->m->port[i].broken && v6 && p->mtu < CFG_MTU_MIN_V6)
			cfg_report(k->d, p->pos, port_subject(p, subject, sizeof(subject)),
				   "mtu %u is below %u, the IPv6 minimum", p->mtu, CFG_MTU_MIN_V6);
	}
}

/* Kernel interface names are unique, and announce has one to put its routes on. */
static void
relate_kernel_ifaces(struct check *k)
{
	const struct lp_config *c = k->c;
	const struct lp_cfg_announce *a = &c->announce;
	char subject[SUBJECT_STRLEN], at[32];
	uint32_t with = 0;
	int first = -1;

	for (uint32_t i = 0; i < c->n_ports; i++) {
		const struct lp_cfg_port *p = &c->ports[i];

		if (p->kernel_iface[0] == '\0')
			continue;
		with++;
		if (first < 0)
			first = (int)i;
		if (cfg_iface_problem(p->kernel_iface) != NULL)
			continue;	/* reported with the port */
		for (uint32_t j = 0; j < i; j++)
			if (c->ports[j].kernel_iface[0] != '\0' &&
			    strncmp(c->ports[j].kernel_iface, p->kernel_iface, LP_IFNAME_MAX) == 0) {
				cfg_report(k->d, p->kernel_iface_pos.line ? p->kernel_iface_pos : p->pos,
					   port_subject(p, subject, sizeof(subject)),
					   "kernelInterface '%s' is already taken by port '%.*s'%s", p->kernel_iface,
					   (int)strnlen(c->ports[j].name, LP_NAME_MAX), c->ports[j].name,
					   first_at(c->ports[j].kernel_iface_pos, at, sizeof(at)));
				break;
			}
	}
	if (!a->enabled)
		return;
	if (with == 0) {
		cfg_report(k->d, a->pos, "announce",
			   "announce needs a port with a kernelInterface to put its routes on (ports[].kernelInterface)");
		return;
	}
	if (a->iface[0] != '\0') {
		for (uint32_t i = 0; i < c->n_ports; i++)
			if (strncmp(c->ports[i].kernel_iface, a->iface, LP_IFNAME_MAX) == 0)
				return;
		if (cfg_iface_problem(a->iface) == NULL)
			cfg_report(k->d, a->iface_pos, "announce", "interface: no port has kernelInterface '%s'", a->iface);
		return;
	}
	if (with > 1)
		cfg_report(k->d, a->pos, "announce",
			   "interface: required when several ports have a kernelInterface (first: '%s')",
			   c->ports[first].kernel_iface);
}

static void
relate_neighbors(struct check *k, struct ref *refs)
{
	const struct lp_config *c = k->c;
	char at[32], a[LP_IP_STRLEN];
	uint32_t n = 0, *first;

	for (uint32_t i = 0; i < c->n_neighbors; i++)
		if (!k->m->neighbor[i].broken)
			refs[n++] = (struct ref){ &c->neighbors[i], i };
	first = find_duplicates(k, refs, n, c->n_neighbors, cmp_neighbor);
	for (uint32_t i = 0; first != NULL && i < c->n_neighbors; i++) {
		const struct lp_cfg_neighbor *nb = &c->neighbors[i];

		if (first[i] != UINT32_MAX)
			cfg_report(k->d, nb->pos, NULL, "duplicate neighbor %s on port '%.*s'%s",
				   lp_ip_format(&nb->addr, a, sizeof(a)),
				   (int)strnlen(c->ports[nb->port].name, LP_NAME_MAX), c->ports[nb->port].name,
				   first_at(c->neighbors[first[i]].pos, at, sizeof(at)));
	}
	free(first);
}

static const char *
family_name(const struct lp_ip *ip)
{
	return ip->family == LP_AF_INET ? "IPv4" : "IPv6";
}

/* The port (not broken) with ip among its own addresses, or NULL. */
static const struct lp_cfg_port *
owner_of(struct check *k, const struct lp_ip *ip)
{
	for (uint32_t i = 0; i < k->c->n_ports; i++)
		for (uint32_t j = 0; !k->m->port[i].broken && j < k->c->ports[i].n_addrs; j++)
			if (lp_ip_equal(&k->c->ports[i].addr[j], ip))
				return &k->c->ports[i];
	return NULL;
}

/* Index of the address of port p whose on-link prefix holds net/len, or -1. */
static int
onlink_addr(const struct lp_cfg_port *p, const struct lp_ip *net, unsigned int len)
{
	for (uint32_t j = 0; j < p->n_addrs; j++)
		if (len >= p->prefix[j] && lp_ip_in_prefix(net, &p->addr[j], p->prefix[j]))
			return (int)j;
	return -1;
}

/*
 * A destination is looked up in the ports' on-link prefixes first, then in
 * the routes (longest prefix), then it goes to a gateway: so a route's next
 * hop must be on-link on its port (a route cannot lead to another route),
 * and a route inside an on-link prefix would never be used.
 */
static void
relate_route(struct check *k, uint32_t ri)
{
	const struct lp_config *c = k->c;
	const struct lp_cfg_route *r = &c->routes[ri];
	const struct cfg_mark *mark = &k->m->route[ri];
	char subject[SUBJECT_STRLEN], a[LP_IP_STRLEN], v[LP_IP_STRLEN];
	const struct lp_cfg_port *p;

	route_subject(r, subject, sizeof(subject));
	for (uint32_t i = 0; !mark->broken && i < c->n_ports; i++) {
		int j = k->m->port[i].broken ? -1 : onlink_addr(&c->ports[i], &r->prefix, r->len);

		if (j >= 0) {
			p = &c->ports[i];
			cfg_report(k->d, r->pos, NULL, "route %s/%u is never used: it lies inside %s/%u, on-link on port '%.*s'",
				   lp_ip_format(&r->prefix, a, sizeof(a)), r->len,
				   lp_ip_format(&p->addr[j], v, sizeof(v)), p->prefix[j],
				   (int)strnlen(p->name, LP_NAME_MAX), p->name);
			break;
		}
	}
	// The next hop is checked even when the prefix is bad: they are separate mistakes.
	if (mark->via_broken)
		return;
	if (!mark->broken && r->via.family != r->prefix.family) {
		cfg_report(k->d, mark->via, subject, "via %s is %s but prefix %s/%u is %s",
			   lp_ip_format(&r->via, v, sizeof(v)), family_name(&r->via),
			   lp_ip_format(&r->prefix, a, sizeof(a)), r->len, family_name(&r->prefix));
		return;
	}
	p = owner_of(k, &r->via);
	if (p != NULL) {
		cfg_report(k->d, mark->via, subject, "via %s is an address of port '%.*s', not a router",
			   lp_ip_format(&r->via, v, sizeof(v)), (int)strnlen(p->name, LP_NAME_MAX), p->name);
		return;
	}
	if (r->port >= c->n_ports || k->m->port[r->port].broken)
		return;
	p = &c->ports[r->port];
	if (onlink_addr(p, &r->via, lp_ip_len(&r->via) * 8) < 0)
		cfg_report(k->d, mark->via, subject, "via %s is not on-link on port '%.*s'",
			   lp_ip_format(&r->via, v, sizeof(v)), (int)strnlen(p->name, LP_NAME_MAX), p->name);
}

static void
relate_routes(struct check *k, struct ref *refs)
{
	const struct lp_config *c = k->c;
	char at[32], a[LP_IP_STRLEN];
	uint32_t n = 0, *first;

	for (uint32_t i = 0; i < c->n_routes; i++)
		if (!k->m->route[i].broken)
			refs[n++] = (struct ref){ &c->routes[i], i };
	// One prefix through two next hops would need ECMP, which the datapath does not do.
	first = find_duplicates(k, refs, n, c->n_routes, cmp_route);
	for (uint32_t i = 0; first != NULL && i < c->n_routes; i++) {
		const struct lp_cfg_route *r = &c->routes[i];

		if (first[i] != UINT32_MAX)
			cfg_report(k->d, r->pos, NULL, "duplicate route %s/%u%s",
				   lp_ip_format(&r->prefix, a, sizeof(a)), r->len,
				   first_at(c->routes[first[i]].pos, at, sizeof(at)));
	}
	free(first);
	for (uint32_t i = 0; i < c->n_routes; i++)
		relate_route(k, i);
}

/* Checks inside one service: health timing, table size, families, duplicate backends. */
static void
relate_backends(struct check *k, uint32_t si, struct ref *refs)
{
	const struct lp_cfg_service *s = &k->c->services[si];
	const struct cfg_mark *mark = &k->m->service[si];
	char subject[SUBJECT_STRLEN], at[32], ep[LP_ENDPOINT_STRLEN], a[LP_IP_STRLEN], v[LP_IP_STRLEN];
	uint32_t n = 0, count = backend_count(s), *first;

	service_subject(s, subject, sizeof(subject));
	// Like Kubernetes probes and HAProxy: a probe may take its whole interval, not longer.
	if (!mark->health_broken && s->health.timeout_ms > s->health.interval_ms) {
		char t[16], i[16];

		cfg_report(k->d, mark->hc_timeout, subject, "healthCheck timeout %ss must not exceed interval %ss",
			   cfg_fmt_ms(s->health.timeout_ms, t, sizeof(t)),
			   cfg_fmt_ms(s->health.interval_ms, i, sizeof(i)));
	}
	if (count > s->maglev_size)
		cfg_report(k->d, s->pos, subject, "maglevSize %u is smaller than the %u backends", s->maglev_size,
			   count);
	for (uint32_t i = 0; i < count; i++) {
		const struct lp_cfg_backend *b = &s->backends[i];

		if (mark->backend_broken[i])
			continue;
		refs[n++] = (struct ref){ b, i };
		// NAT and DSR rewrite in place; only a tunnel can carry one family in the other.
		if (!mark->broken && s->forwarding != LP_FWD_TUNNEL && b->addr.family != s->vip.family)
			cfg_report(k->d, b->pos, subject, "backend %s is %s but vip %s is %s, only tunnel forwarding mixes families",
				   lp_ip_format(&b->addr, a, sizeof(a)), family_name(&b->addr),
				   lp_ip_format(&s->vip, v, sizeof(v)), family_name(&s->vip));
	}
	first = find_duplicates(k, refs, n, count, cmp_backend);
	for (uint32_t i = 0; first != NULL && i < count; i++)
		if (first[i] != UINT32_MAX)
			cfg_report(k->d, s->backends[i].pos, subject, "duplicate backend %s%s",
				   lp_endpoint_format(&s->backends[i].addr, s->backends[i].port, ep, sizeof(ep)),
				   first_at(s->backends[first[i]].pos, at, sizeof(at)));
	free(first);
}

/*
 * Backends of all services within LP_CFG_BACKENDS_MAX: reported at the
 * first backend past it, so a file says where it went over.
 */
static void
relate_total_backends(struct check *k)
{
	const struct lp_config *c = k->c;
	char subject[SUBJECT_STRLEN];
	uint64_t total = 0;

	for (uint32_t i = 0; i < c->n_services; i++) {
		const struct lp_cfg_service *s = &c->services[i];
		uint32_t n = backend_count(s);

		if (total + n > LP_CFG_BACKENDS_MAX) {
			cfg_report(k->d, s->backends[LP_CFG_BACKENDS_MAX - total].pos,
				   service_subject(s, subject, sizeof(subject)),
				   "backends: more than %u backends in all services", LP_CFG_BACKENDS_MAX);
			return;
		}
		total += n;
	}
}

static void
relate_services(struct check *k, struct ref *refs)
{
	const struct lp_config *c = k->c;
	char at[32], ep[LP_ENDPOINT_STRLEN];
	uint32_t n = 0, *first;

	for (uint32_t i = 0; i < c->n_services; i++)
		if (c->services[i].name[0] != '\0')
			refs[n++] = (struct ref){ &c->services[i], i };
	first = find_duplicates(k, refs, n, c->n_services, cmp_service_name);
	for (uint32_t i = 0; first != NULL && i < c->n_services; i++)
		if (first[i] != UINT32_MAX)
			cfg_report(k->d, k->m->service[i].name, NULL, "duplicate service name '%.*s'%s",
				   (int)strnlen(c->services[i].name, LP_NAME_MAX), c->services[i].name,
				   first_at(k->m->service[first[i]].name, at, sizeof(at)));
	free(first);

	n = 0;
	for (uint32_t i = 0; i < c->n_services; i++)
		if (!k->m->service[i].broken)
			refs[n++] = (struct ref){ &c->services[i], i };
	first = find_duplicates(k, refs, n, c->n_services, cmp_service_vip);
	for (uint32_t i = 0; first != NULL && i < c->n_services; i++) {
		const struct lp_cfg_service *s = &c->services[i], *f;

		if (first[i] == UINT32_MAX)
			continue;
		f = &c->services[first[i]];
		cfg_report(k->d, k->m->service[i].vip, NULL, "service '%.*s' clashes with service '%.*s' on %s/%s",
			   (int)strnlen(s->name, LP_NAME_MAX), s->name, (int)strnlen(f->name, LP_NAME_MAX), f->name,
			   lp_endpoint_format(&s->vip, s->port, ep, sizeof(ep)), lp_proto_name(s->proto));
	}
	free(first);

	for (uint32_t i = 0; i < c->n_services; i++)
		relate_backends(k, i, refs);
	relate_total_backends(k);
}

void
cfg_check(const struct lp_config *c, const struct cfg_marks *marks, struct cfg_diag *d)
{
	struct check k = { .d = d, .c = c, .m = marks };
	struct cfg_marks own = { .ports = { 0, 0 } };
	uint32_t most = c->n_ports * LP_PORT_ADDRS_MAX;
	struct ref *refs;

	if (marks == NULL) {
		if ((c->n_ports != 0 && c->ports == NULL) || (c->n_neighbors != 0 && c->neighbors == NULL) ||
		    (c->n_services != 0 && c->services == NULL) || (c->n_routes != 0 && c->routes == NULL)) {
			cfg_report(d, own.ports, NULL, "element counts without arrays to hold them");
			return;
		}
		k.m = &own;
		if (!check_fields(&k, &own)) {
			d->oom = true;
			goto out;
		}
	}
	// One scratch array serves every duplicate search; size it for the largest.
	most = most > c->n_neighbors ? most : c->n_neighbors;
	most = most > c->n_services ? most : c->n_services;
	most = most > c->n_routes ? most : c->n_routes;
	for (uint32_t i = 0; i < c->n_services; i++)
		most = most > backend_count(&c->services[i]) ? most : backend_count(&c->services[i]);
	refs = malloc(((size_t)most + 1) * sizeof(*refs));
	if (refs == NULL) {
		d->oom = true;
		goto out;
	}
	relate_ports(&k, refs);
	relate_kernel_ifaces(&k);
	relate_neighbors(&k, refs);
	relate_routes(&k, refs);
	relate_services(&k, refs);
	free(refs);
	if (marks == NULL)
		cfg_check_cluster(c, d);
out:
	if (marks == NULL)
		cfg_marks_free(&own, c->n_services);
}

void
cfg_marks_free(struct cfg_marks *m, uint32_t n_services)
{
	for (uint32_t i = 0; m->service != NULL && i < n_services; i++)
		free(m->service[i].backend_broken);
	free(m->service);
	free(m->route);
	free(m->neighbor);
	free(m->port);
}

int
lp_config_validate(const struct lp_config *c, struct lp_diag *diag)
{
	struct cfg_diag d = { .out = diag, .file = c->path != NULL ? c->path : "config" };

	cfg_check(c, NULL, &d);
	cfg_diag_flush(&d);
	if (d.oom)
		return -ENOMEM;
	return d.errors != 0 ? -EINVAL : 0;
}
