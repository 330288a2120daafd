/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Config lifecycle (defaults, copy, compare, free), the problem list, enum
 * spellings, loading a file, and the small checks parse.c and validate.c
 * share.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_priv.h"

/* Config files are small; this only stops a wrong path (a disk image) early. */
#define LOAD_MAX (16u << 20)

/* ---- problem list ---- */

static int
diag_push(struct lp_diag *d, char *msg)
{
	if (d->n == d->cap) {
		uint32_t cap = d->cap != 0 ? d->cap * 2 : 16;
		char **msgs = realloc(d->msg, cap * sizeof(*msgs));

		if (msgs == NULL)
			return -ENOMEM;
		d->msg = msgs;
		d->cap = cap;
	}
	d->msg[d->n++] = msg;
	return 0;
}

/* malloc'ed printf result (vasprintf is a GNU extension; the fuzz build is plain C). */
static char *
vformat(const char *fmt, va_list ap)
{
	va_list again;
	char *s;
	int n;

	va_copy(again, ap);
	n = vsnprintf(NULL, 0, fmt, again);
	va_end(again);
	if (n < 0 || (s = malloc((size_t)n + 1)) == NULL)
		return NULL;
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

static int
diag_vadd(struct lp_diag *d, const char *fmt, va_list ap)
{
	char *msg = vformat(fmt, ap);

	if (msg == NULL)
		return -ENOMEM;
	if (diag_push(d, msg) < 0) {
		free(msg);
		return -ENOMEM;
	}
	return 0;
}

static char *
format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
format(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = vformat(fmt, ap);
	va_end(ap);
	return s;
}

int
lp_diag_add(struct lp_diag *d, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = diag_vadd(d, fmt, ap);
	va_end(ap);
	return rc;
}

void
lp_diag_clear(struct lp_diag *d)
{
	for (uint32_t i = 0; i < d->n; i++)
		free(d->msg[i]);
	free(d->msg);
	d->msg = NULL;
	d->n = 0;
	d->cap = 0;
}

void
lp_diag_print(const struct lp_diag *d, FILE *out)
{
	for (uint32_t i = 0; i < d->n; i++)
		fprintf(out, "%s\n", d->msg[i]);
}

void
cfg_report(struct cfg_diag *d, struct lp_cfg_pos pos, const char *subject, const char *fmt, ...)
{
	char *what, *line;
	va_list ap;

	d->errors++;
	if (d->out == NULL || d->errors > CFG_DIAG_MAX)
		return;
	if (d->pending == NULL && (d->pending = calloc(CFG_DIAG_MAX, sizeof(*d->pending))) == NULL) {
		d->oom = true;
		return;
	}
	va_start(ap, fmt);
	what = vformat(fmt, ap);
	va_end(ap);
	if (what == NULL)
		line = NULL;
	else if (pos.line != 0)
		line = format("%s:%u:%u: %s", d->file, pos.line, pos.col, what);
	else if (subject != NULL)
		line = format("%s: %s: %s", d->file, subject, what);
	else
		line = format("%s: %s", d->file, what);
	free(what);
	if (line == NULL) {
		d->oom = true;
		return;
	}
	d->pending[d->n_pending] = (struct cfg_msg){ pos, d->n_pending, line };
	d->n_pending++;
}

static int
cmp_msg(const void *x, const void *y)
{
	const struct cfg_msg *a = x, *b = y;

	if (a->pos.line != b->pos.line)
		return a->pos.line < b->pos.line ? -1 : 1;
	if (a->pos.col != b->pos.col)
		return a->pos.col < b->pos.col ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void
cfg_diag_flush(struct cfg_diag *d)
{
	if (d->n_pending != 0)
		qsort(d->pending, d->n_pending, sizeof(*d->pending), cmp_msg);
	for (uint32_t i = 0; i < d->n_pending; i++) {
		if (diag_push(d->out, d->pending[i].text) < 0) {
			free(d->pending[i].text);
			d->oom = true;
		}
	}
	if (d->out != NULL && d->errors > CFG_DIAG_MAX &&
	    lp_diag_add(d->out, "%s: %u more problems not listed", d->file, d->errors - CFG_DIAG_MAX) < 0)
		d->oom = true;
	free(d->pending);
	d->pending = NULL;
	d->n_pending = 0;
}

/* ---- enum spellings ---- */

#define ENUM(var, expect_, ...) \
	static const struct cfg_enum_entry var##_entries[] = { __VA_ARGS__ }; \
	const struct cfg_enum var = { var##_entries, sizeof(var##_entries) / sizeof(var##_entries[0]), expect_ }

ENUM(cfg_enum_proto, "one of TCP, UDP", { "TCP", IPPROTO_TCP, false }, { "UDP", IPPROTO_UDP, false });
ENUM(cfg_enum_fwd, "one of nat, dsr, tunnel", { "nat", LP_FWD_NAT, false }, { "dsr", LP_FWD_DSR, false },
     { "tunnel", LP_FWD_TUNNEL, false });
ENUM(cfg_enum_sched, "one of maglev, wrr, least_conn", { "maglev", LP_SCHED_MAGLEV, false },
     { "wrr", LP_SCHED_WRR, false }, { "least_conn", LP_SCHED_LEAST_CONN, false });
ENUM(cfg_enum_state, "one of up, draining, down", { "up", LP_BACKEND_UP, false },
     { "draining", LP_BACKEND_DRAINING, false }, { "down", LP_BACKEND_DOWN, false },
     { "drain", LP_BACKEND_DRAINING, true });
ENUM(cfg_enum_rebalance, "one of none, idle", { "none", LP_REBALANCE_OFF, false },
     { "idle", LP_REBALANCE_IDLE, false });
ENUM(cfg_enum_health, "one of none, tcp, http", { "none", LP_HEALTH_NONE, false },
     { "tcp", LP_HEALTH_TCP, false }, { "http", LP_HEALTH_HTTP, false });
ENUM(cfg_enum_affinity, "one of None, ClientIP", { "None", 0, false }, { "ClientIP", 1, false });

const char *
cfg_enum_name(const struct cfg_enum *en, unsigned int value)
{
	for (unsigned int i = 0; i < en->n; i++)
		if (!en->e[i].alias && en->e[i].value == value)
			return en->e[i].name;
	return NULL;
}

int
cfg_enum_value(const struct cfg_enum *en, const char *s)
{
	for (unsigned int i = 0; i < en->n; i++)
		if (strcasecmp(en->e[i].name, s) == 0)
			return en->e[i].value;
	return -1;
}

static const char *
name_or_unknown(const struct cfg_enum *en, unsigned int value)
{
	const char *name = cfg_enum_name(en, value);

	return name != NULL ? name : "unknown";
}

const char *
lp_fwd_mode_name(unsigned int m)
{
	return name_or_unknown(&cfg_enum_fwd, m);
}

const char *
lp_sched_name(unsigned int s)
{
	return name_or_unknown(&cfg_enum_sched, s);
}

const char *
lp_backend_state_name(unsigned int s)
{
	return name_or_unknown(&cfg_enum_state, s);
}

const char *
lp_proto_name(unsigned int proto)
{
	return name_or_unknown(&cfg_enum_proto, proto);
}

const char *
lp_rebalance_name(unsigned int r)
{
	return name_or_unknown(&cfg_enum_rebalance, r);
}

const char *
lp_health_type_name(unsigned int t)
{
	return name_or_unknown(&cfg_enum_health, t);
}

/* ---- shared checks and formatting ---- */

const char *
cfg_name_problem(const char *s)
{
	size_t len = strnlen(s, LP_NAME_MAX);

	if (len == 0)
		return "must not be empty";
	if (len == LP_NAME_MAX)
		return "longer than 31 characters";
	// Names are CLI arguments ("show backends web"): no blanks or quotes.
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return "may hold only letters, digits, '-', '_' and '.'";
	return NULL;
}

_Static_assert(LP_DEVICE_MAX == 128 && LP_PATH_MAX == 128, "cfg_text_problem() says 127 characters");

const char *
cfg_text_problem(const char *s, size_t max)
{
	size_t len = strnlen(s, max);

	if (len == 0)
		return "must not be empty";
	if (len == max)
		return "longer than 127 characters";
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return "may hold only printable ASCII characters";
	return NULL;
}

bool
cfg_ip_unicast(const struct lp_ip *ip)
{
	static const uint8_t zero[16];

	if (ip->family == LP_AF_INET)
		return ip->a[0] != 0 && ip->a[0] != 127 && ip->a[0] < 224;
	if (ip->family == LP_AF_INET6) {
		static const uint8_t loopback[16] = { [15] = 1 };

		return memcmp(ip->a, zero, 16) != 0 && memcmp(ip->a, loopback, 16) != 0 && ip->a[0] != 0xff;
	}
	return false;
}

bool
cfg_mac_unicast(const struct lp_mac *mac)
{
	static const uint8_t zero[6];

	// The I/G bit (least significant bit of the first octet) marks group addresses.
	return (mac->b[0] & 1) == 0 && memcmp(mac->b, zero, 6) != 0;
}

bool
cfg_is_prime(uint32_t n)
{
	if (n < 2)
		return false;
	if (n % 2 == 0)
		return n == 2;
	for (uint32_t d = 3; (uint64_t)d * d <= n; d += 2)
		if (n % d == 0)
			return false;
	return true;
}

bool
cfg_prefix_clean(const struct lp_ip *ip, unsigned int prefix)
{
	struct lp_ip masked = *ip;

	lp_ip_mask(&masked, prefix);
	return lp_ip_equal(&masked, ip);
}

bool
cfg_prefix_unicast(const struct lp_ip *ip, unsigned int prefix)
{
	unsigned int block;

	if (cfg_ip_unicast(ip))
		return true;
	// The prefix starts in a block cfg_ip_unicast() refuses; a shorter
	// prefix than that block reaches past it, into unicast addresses.
	if (ip->family == LP_AF_INET)
		block = ip->a[0] >= 224 ? 3 : 8;	/* 224/3: multicast and reserved; 0/8, 127/8 */
	else
		block = ip->a[0] == 0xff ? 8 : 127;	/* ff00::/8; ::/127 holds :: and ::1 */
	return prefix < block;
}

char *
cfg_fmt_ms(uint32_t ms, char *buf, size_t len)
{
	if (ms % 1000 == 0)
		snprintf(buf, len, "%u", ms / 1000);
	else if (ms % 100 == 0)
		snprintf(buf, len, "%u.%u", ms / 1000, ms % 1000 / 100);
	else if (ms % 10 == 0)
		snprintf(buf, len, "%u.%02u", ms / 1000, ms % 1000 / 10);
	else
		snprintf(buf, len, "%u.%03u", ms / 1000, ms % 1000);
	return buf;
}

char *
cfg_fmt_endpoint(const struct lp_ip *ip, uint16_t port, char *buf, size_t len)
{
	char addr[LP_IP_STRLEN];

	lp_ip_format(ip, addr, sizeof(addr));
	snprintf(buf, len, ip->family == LP_AF_INET6 ? "[%s]:%u" : "%s:%u", addr, port);
	return buf;
}

/* ---- lifecycle ---- */

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
	    (a->has_mac && memcmp(&a->mac, &b->mac, sizeof(a->mac)) != 0))
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
	    a->flows.udp_timeout != b->flows.udp_timeout || a->affinity_capacity != b->affinity_capacity)
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
	return n >= 0 && (size_t)n < len ? 0 : -ENOSPC;
}

/* ---- loading ---- */

/* "No such file or directory" reads as "no such file or directory" in a message. */
static void
report_errno(struct lp_diag *diag, const char *path, const char *what, int err)
{
	char text[128];

	snprintf(text, sizeof(text), "%s", strerror(err));
	text[0] = (char)tolower((unsigned char)text[0]);
	if (diag != NULL)
		lp_diag_add(diag, "%s: %s: %s", path, what, text);
}

struct lp_config *
lp_config_load(const char *path, struct lp_diag *diag)
{
	struct lp_config *c;
	size_t len = 0, cap = 0;
	char *buf = NULL;
	int err;
	FILE *f;

	f = fopen(path, "rb");
	if (f == NULL) {
		err = errno;
		report_errno(diag, path, "cannot open", err);
		errno = err;
		return NULL;
	}
	for (;;) {
		size_t got;

		if (len == cap) {
			char *grown;

			if (cap == LOAD_MAX) {
				if (diag != NULL)
					lp_diag_add(diag, "%s: larger than %u MiB, not a config file", path,
						    LOAD_MAX >> 20);
				err = EFBIG;
				goto fail;
			}
			cap = cap != 0 ? cap * 2 : 4096;
			grown = realloc(buf, cap);
			if (grown == NULL) {
				err = ENOMEM;
				goto fail;
			}
			buf = grown;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0) {
			if (ferror(f)) {
				err = errno != 0 ? errno : EIO;
				report_errno(diag, path, "cannot read", err);
				goto fail;
			}
			break;
		}
	}
	fclose(f);
	c = lp_config_parse(buf, len, path, diag);
	err = errno;
	free(buf);
	errno = err;
	return c;
fail:
	fclose(f);
	free(buf);
	errno = err;
	return NULL;
}
