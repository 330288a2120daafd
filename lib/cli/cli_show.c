/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `show services|service|backends|affinity|flows|config`. Tables start
 * with an UPPERCASE header and hold one space-free cell per column, so
 * scripts split rows on whitespace; docs/cli.md fixes the columns.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "cli_priv.h"
#include "lp_ctl_cluster.h"
#include "lp_flow.h"

#define FLOWS_DEFAULT 100
#define FLOWS_MAX 100000
#define BINDINGS_SHOWN 10000	/* `show affinity` rows before it only counts */

static const char *
proto_lower(uint8_t proto)
{
	return proto == IPPROTO_UDP ? "udp" : proto == IPPROTO_TCP ? "tcp" : "ip";
}

static const char *
be_state_name(uint8_t st)
{
	switch (st) {
	case LP_BE_UP:
		return "up";
	case LP_BE_DRAINING:
		return "draining";
	default:
		return "down";
	}
}

/* "10.0.0.100:80/tcp", "[fd00::100]:443/udp" */
static const char *
vip_str(const struct lp_cfg_service *s, char *buf, size_t len)
{
	char ep[LP_ENDPOINT_STRLEN];

	snprintf(buf, len, "%s/%s", lp_endpoint_format(&s->vip, s->port, ep, sizeof(ep)), proto_lower(s->proto));
	return buf;
}

static const char *
affinity_str(const struct lp_cfg_service *s, char *buf, size_t len)
{
	if (s->affinity)
		snprintf(buf, len, "ClientIP/%us", s->affinity_timeout_s);
	else
		snprintf(buf, len, "None");
	return buf;
}

/* A service's backend views (malloc()ed, *n of them); NULL when unknown. */
static struct lp_backend_view *
backend_views(struct lp_cli *cli, const char *name, int *n)
{
	struct lp_service_view sv;
	struct lp_backend_view *bv;

	if (lp_ctl_service_view_by_name(cli->ctl, name, &sv) != 0) {
		cli_fail(cli, -ENOENT, "no service '%s'", name);
		return NULL;
	}
	bv = calloc(sv.n_backends ? sv.n_backends : 1, sizeof(*bv));
	if (bv == NULL) {
		cli_fail(cli, -ENOMEM, "out of memory");
		return NULL;
	}
	*n = lp_ctl_backend_views(cli->ctl, name, bv, sv.n_backends);
	if (*n < 0) {
		free(bv);
		cli_fail(cli, *n, "no service '%s'", name);
		return NULL;
	}
	return bv;
}

/* Live bindings of an affinity service: what its backends hold now. */
static int
live_bindings(struct lp_cli *cli, const char *name, uint64_t *sum)
{
	struct lp_backend_view *bv;
	int nb = 0;

	bv = backend_views(cli, name, &nb);
	if (bv == NULL)
		return -ENOENT;
	*sum = 0;
	for (int k = 0; k < nb; k++)
		*sum += bv[k].active;
	free(bv);
	return 0;
}

static int
show_services(struct lp_cli *cli, const struct cli_res *r)
{
	static const char *const head[] = { "NAME", "VIP", "FORWARDING", "SCHEDULER", "AFFINITY",
					    "BACKENDS", "BINDINGS", "PACKETS" };
	uint32_t n = lp_ctl_service_count(cli->ctl);
	struct cli_table t;

	(void)r;
	if (cli_table_init(&t, 8, head) != 0)
		return cli_fail(cli, -ENOMEM, "out of memory");
	for (uint32_t i = 0; i < n; i++) {
		struct lp_service_view v;
		char vip[LP_ENDPOINT_STRLEN + 8], aff[32], bindings[24] = "-";
		uint64_t live;

		if (lp_ctl_service_view(cli->ctl, i, &v) != 0)
			continue;
		/* The exact live count, as `show backends` shows it per backend
		 * (v.bindings is the last table scan's). */
		if (v.cfg->affinity) {
			if (live_bindings(cli, v.cfg->name, &live) != 0) {
				cli_table_free(&t);
				return -ENOMEM;
			}
			snprintf(bindings, sizeof(bindings), "%" PRIu64, live);
		}
		cli_table_row(&t, "%s\t%s\t%s\t%s\t%s\t%u/%u\t%s\t%" PRIu64, v.cfg->name, vip_str(v.cfg, vip, sizeof(vip)),
			      lp_fwd_mode_name(v.cfg->forwarding), lp_sched_name(v.cfg->scheduler),
			      affinity_str(v.cfg, aff, sizeof(aff)), v.n_up, v.n_backends, bindings, v.pkts);
	}
	cli_table_print(&t, cli_out(cli));
	return 0;
}

/* "nat_replies" as "nat-replies": keys in the views of one service are dashed. */
static const char *
dashed(const char *key, char *buf, size_t len)
{
	size_t i;

	for (i = 0; key[i] != '\0' && i + 1 < len; i++)
		buf[i] = key[i] == '_' ? '-' : key[i];
	buf[i] = '\0';
	return buf;
}

static void
print_health(FILE *o, const struct lp_cfg_health *h)
{
	if (h->type == LP_HEALTH_NONE) {
		fprintf(o, "%-15s none\n", "health");
		return;
	}
	fprintf(o, "%-15s %s port %u interval %u.%03us timeout %u.%03us rise %u fall %u", "health",
		lp_health_type_name(h->type), h->port, h->interval_ms / 1000, h->interval_ms % 1000,
		h->timeout_ms / 1000, h->timeout_ms % 1000, h->rise, h->fall);
	if (h->type == LP_HEALTH_HTTP)
		fprintf(o, " path %s", h->path);
	fprintf(o, "\n");
}

static int
show_service(struct lp_cli *cli, const struct cli_res *r)
{
	const char *name = r->v[2].str;
	struct lp_service_view v;
	const struct lp_cfg_service *s;
	char buf[LP_ENDPOINT_STRLEN + 8], a[LP_IP_STRLEN];
	FILE *o = cli_out(cli);
	uint64_t live;

	if (lp_ctl_service_view_by_name(cli->ctl, name, &v) != 0)
		return cli_fail(cli, -ENOENT, "no service '%s'", name);
	s = v.cfg;
	fprintf(o, "%-15s %s\n", "name", s->name);
	fprintf(o, "%-15s %s\n", "vip", vip_str(s, buf, sizeof(buf)));
	fprintf(o, "%-15s %u\n", "target-port", s->target_port ? s->target_port : s->port);
	fprintf(o, "%-15s %s\n", "forwarding", lp_fwd_mode_name(s->forwarding));
	fprintf(o, "%-15s %s\n", "scheduler", lp_sched_name(s->scheduler));
	fprintf(o, "%-15s %s\n", "affinity", affinity_str(s, buf, sizeof(buf)));
	fprintf(o, "%-15s /%u (IPv4 clients) /%u (IPv6 clients)\n", "prefix", s->prefix_v4, s->prefix_v6);
	if (s->bounded_load > 0)
		fprintf(o, "%-15s %g\n", "bounded", s->bounded_load);
	else
		fprintf(o, "%-15s off\n", "bounded");
	fprintf(o, "%-15s %us\n", "slow-start", s->slow_start_s);
	fprintf(o, "%-15s %us\n", "drain-timeout", s->drain_timeout_s);
	fprintf(o, "%-15s %s (at most %u/s)\n", "rebalance", s->rebalance == LP_REBALANCE_IDLE ? "idle" : "none",
		s->rebalance_rate);
	fprintf(o, "%-15s %u\n", "maglev-size", s->maglev_size);
	print_health(o, &s->health);
	if (s->forwarding == LP_FWD_TUNNEL) {
		char b[LP_IP_STRLEN];

		fprintf(o, "%-15s %s/%u %s/%u\n", "tunnel-source", lp_ip_format(&s->tunnel_src4, a, sizeof(a)),
			s->tunnel_src4_len, lp_ip_format(&s->tunnel_src6, b, sizeof(b)), s->tunnel_src6_len);
	}
	fprintf(o, "%-15s %u/%u up\n", "backends", v.n_up, v.n_backends);
	if (s->affinity && live_bindings(cli, s->name, &live) == 0)
		fprintf(o, "%-15s %" PRIu64 "\n", "bindings", live);
	else
		fprintf(o, "%-15s -\n", "bindings");
	/* The counters of LP_SVC_COUNTERS, keys written as this view writes them ("nat-replies"). */
#define COUNTER(member, key, help) fprintf(o, "%-15s %" PRIu64 "\n", dashed(#key, buf, sizeof(buf)), v.member);
	LP_SVC_COUNTERS(COUNTER)
#undef COUNTER
	fprintf(o, "%-15s", "binding-events");
	for (unsigned int k = 0; k < LP_AFF_REASON_MAX; k++)
		fprintf(o, " %s %" PRIu64, lp_aff_reason_name(k), v.aff[k]);
	fprintf(o, "\n");
	return 0;
}

static int
show_backends(struct lp_cli *cli, const struct cli_res *r)
{
	static const char *const head[] = { "BACKEND", "STATE",	 "WEIGHT",     "BINDINGS", "FLOWS",  "PACKETS",
					    "BYTES",   "ACTIVE", "EFF_WEIGHT", "ADMIN",	   "HEALTH", "NOTE" };
	const char *name = r->v[2].str;
	struct lp_service_view sv;
	struct lp_backend_view *bv;
	struct cli_table t;
	bool aff, checked;
	int n = 0;

	bv = backend_views(cli, name, &n);
	if (bv == NULL)
		return -ENOENT;
	lp_ctl_service_view_by_name(cli->ctl, name, &sv);
	aff = sv.cfg->affinity;
	checked = sv.cfg->health.type != LP_HEALTH_NONE;
	if (cli_table_init(&t, 12, head) != 0) {
		free(bv);
		return cli_fail(cli, -ENOMEM, "out of memory");
	}
	for (int i = 0; i < n; i++) {
		const struct lp_backend_view *b = &bv[i];
		char ep[LP_ENDPOINT_STRLEN], bindings[16] = "-";

		if (aff)
			snprintf(bindings, sizeof(bindings), "%u", b->active);
		cli_table_row(&t, "%s\t%s\t%u\t%s\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%u\t%u\t%s\t%s\t%s",
			      lp_endpoint_format(&b->addr, b->port, ep, sizeof(ep)), be_state_name(b->state), b->weight,
			      bindings, b->flows, b->pkts, b->bytes, b->active, b->eff_weight,
			      lp_backend_state_name(b->admin), !checked ? "-" : b->healthy ? "ok" : "failing",
			      b->removing ? "removing" : b->slow_start ? "slow-start" : "-");
	}
	free(bv);
	cli_table_print(&t, cli_out(cli));
	return 0;
}

struct binding_rows {
	struct cli_table *t;
	uint8_t prefix_v4, prefix_v6;
	uint64_t rows, more;
};

static int
binding_row(void *ctx, const struct lp_binding_view *b)
{
	struct binding_rows *br = ctx;
	char client[LP_IP_STRLEN + 8], a[LP_IP_STRLEN], be[LP_ENDPOINT_STRLEN] = "-";
	unsigned int full = b->client.family == LP_AF_INET ? 32 : 128;
	unsigned int prefix = b->client.family == LP_AF_INET ? br->prefix_v4 : br->prefix_v6;

	if (br->rows == BINDINGS_SHOWN) {
		br->more++;
		return 0;
	}
	lp_ip_format(&b->client, a, sizeof(a));
	if (prefix < full)
		snprintf(client, sizeof(client), "%s/%u", a, prefix);
	else
		snprintf(client, sizeof(client), "%s", a);
	if (b->bound)
		lp_endpoint_format(&b->backend, b->backend_port, be, sizeof(be));
	cli_table_row(br->t, "%s\t%s\t%u\t%u\t%" PRId64 "\t%u\t%s\t%s", client, be, b->age_s, b->idle_s,
		      b->left_s > 0 ? b->left_s : 0, b->flows, b->provisional ? "provisional" : "confirmed",
		      lp_ctl_binding_origin_name(b->origin));
	br->rows++;
	return 0;
}

static int
show_affinity(struct lp_cli *cli, const struct cli_res *r, const struct lp_ip *client)
{
	static const char *const head[] = { "CLIENT", "BACKEND", "AGE", "IDLE", "LEFT", "FLOWS", "STATE", "ORIGIN" };
	const char *name = r->v[2].str;
	struct lp_service_view sv;
	struct cli_table t;
	struct binding_rows br = { .t = &t };
	int ret;

	if (lp_ctl_service_view_by_name(cli->ctl, name, &sv) != 0)
		return cli_fail(cli, -ENOENT, "no service '%s'", name);
	br.prefix_v4 = sv.cfg->prefix_v4;
	br.prefix_v6 = sv.cfg->prefix_v6;
	if (cli_table_init(&t, sizeof(head) / sizeof(head[0]), head) != 0)
		return cli_fail(cli, -ENOMEM, "out of memory");
	ret = lp_ctl_affinity_walk(cli->ctl, name, client, binding_row, &br);
	if (ret < 0) {
		cli_table_free(&t);
		return cli_fail(cli, ret, "no service '%s'", name);
	}
	cli_table_print(&t, cli_out(cli));
	if (br.more > 0)
		fprintf(cli_out(cli), "(%" PRIu64 " more bindings not shown; name a client to see one)\n", br.more);
	return 0;
}

static int
show_affinity_all(struct lp_cli *cli, const struct cli_res *r)
{
	return show_affinity(cli, r, NULL);
}

static int
show_affinity_client(struct lp_cli *cli, const struct cli_res *r)
{
	return show_affinity(cli, r, &r->v[3].ip);
}

static const char *
flow_state_name(uint8_t st)
{
	switch (st) {
	case LP_FLOW_SYN:
		return "syn";
	case LP_FLOW_EST:
		return "est";
	case LP_FLOW_FIN:
		return "fin";
	case LP_FLOW_UDP:
		return "udp";
	default:
		return "-";
	}
}

static const char *
key_endpoint(uint8_t family, const uint8_t *addr, uint16_t port_be, char *buf, size_t len)
{
	struct lp_ip ip = { .family = family };

	memcpy(ip.a, addr, family == LP_AF_INET ? 4 : 16);
	return lp_endpoint_format(&ip, ntohs(port_be), buf, len);
}

static int
print_flows(struct lp_cli *cli, const char *svc, uint32_t max)
{
	static const char *const head[] = { "PROTO", "SOURCE", "DESTINATION", "SERVICE",
					    "BACKEND", "STATE",	 "IDLE_MS",	"WORKER" };
	struct lp_flow_view *fv = calloc(max, sizeof(*fv));
	struct cli_table t;
	int n;

	if (fv == NULL)
		return cli_fail(cli, -ENOMEM, "out of memory");
	n = lp_ctl_flows(cli->ctl, svc, fv, max);
	if (n < 0) {
		free(fv);
		if (n == -ENOENT)
			return cli_fail(cli, n, "no service '%s'", svc);
		return cli_fail(cli, n, "cannot gather the flows: %s", strerror(-n));
	}
	if (cli_table_init(&t, 8, head) != 0) {
		free(fv);
		return cli_fail(cli, -ENOMEM, "out of memory");
	}
	for (int i = 0; i < n; i++) {
		const struct lp_flow_view *f = &fv[i];
		char src[LP_ENDPOINT_STRLEN], dst[LP_ENDPOINT_STRLEN], be[LP_ENDPOINT_STRLEN] = "-";

		if (f->backend.family != 0)
			lp_endpoint_format(&f->backend, f->backend_port, be, sizeof(be));
		cli_table_row(&t, "%s\t%s\t%s\t%s\t%s\t%s\t%u\t%u", proto_lower(f->key.proto),
			      key_endpoint(f->key.family, f->key.src, f->key.sport, src, sizeof(src)),
			      key_endpoint(f->key.family, f->key.dst, f->key.dport, dst, sizeof(dst)), f->svc, be,
			      flow_state_name(f->state), f->idle_ms, f->worker);
	}
	free(fv);
	cli_table_print(&t, cli_out(cli));
	return 0;
}

static int
show_flows_all(struct lp_cli *cli, const struct cli_res *r)
{
	(void)r;
	return print_flows(cli, NULL, FLOWS_DEFAULT);
}

/* `show flows X`: X is a service when one has that name, else a count. */
static int
show_flows_one(struct lp_cli *cli, const struct cli_res *r)
{
	const char *x = r->v[2].str;
	struct lp_service_view sv;
	char *end;
	unsigned long n;

	if (lp_ctl_service_view_by_name(cli->ctl, x, &sv) == 0)
		return print_flows(cli, x, FLOWS_DEFAULT);
	if (x[0] < '0' || x[0] > '9')
		return cli_fail(cli, -ENOENT, "no service '%s'", x);
	n = strtoul(x, &end, 10);
	if (*end != '\0' || n < 1 || n > FLOWS_MAX)
		return cli_fail(cli, -EINVAL, "bad argument '%s' (argument 3): expected service name or count 1..%u", x,
				FLOWS_MAX);
	return print_flows(cli, NULL, (uint32_t)n);
}

static int
show_flows_svc_n(struct lp_cli *cli, const struct cli_res *r)
{
	return print_flows(cli, r->v[2].str, (uint32_t)r->v[3].u);
}

static int
show_config(struct lp_cli *cli, const struct cli_res *r)
{
	const struct lp_config *c = lp_ctl_config(cli->ctl);
	int ret;

	(void)r;
	if (c == NULL)
		return cli_fail(cli, -ENOMEM, "cannot render the running configuration");
	ret = lp_config_write(c, cli_out(cli));
	if (ret != 0)
		return cli_fail(cli, ret, "cannot write the configuration: %s", strerror(-ret));
	return 0;
}

#define SVC_TOK(pos) CLI_NAME_TOK(pos, "service name")

static const struct cli_cmd show_cmds[] = {
	{ "show services", "list services: VIP, forwarding, scheduler, affinity, backends up, bindings, packets",
	  show_services, { CLI_KW(0, "show"), CLI_KW(1, "services"), NULL } },
	{ "show service NAME", "one service's settings and counters", show_service,
	  { CLI_KW(0, "show"), CLI_KW(1, "service"), SVC_TOK(2), NULL } },
	{ "show backends NAME", "a service's backends: state, weight, bindings, flows, packets, admin, health",
	  show_backends, { CLI_KW(0, "show"), CLI_KW(1, "backends"), SVC_TOK(2), NULL } },
	{ "show affinity NAME [CLIENT]", "client bindings: backend, age, idle, time left, live flows, origin",
	  show_affinity_all, { CLI_KW(0, "show"), CLI_KW(1, "affinity"), SVC_TOK(2), NULL } },
	{ NULL, "the binding of one client", show_affinity_client,
	  { CLI_KW(0, "show"), CLI_KW(1, "affinity"), SVC_TOK(2), CLI_ADDR_TOK(3, "client address"), NULL } },
	{ "show flows [NAME] [N]", "up to N (100) flows: 5-tuple, service, backend, state, idle ms, worker",
	  show_flows_all, { CLI_KW(0, "show"), CLI_KW(1, "flows"), NULL } },
	{ NULL, "flows of a service, or N flows", show_flows_one,
	  { CLI_KW(0, "show"), CLI_KW(1, "flows"), CLI_TOKEN(2, CLI_NAME_OR_COUNT, "service name or count", 0, 0),
	    NULL } },
	{ NULL, "N flows of a service", show_flows_svc_n,
	  { CLI_KW(0, "show"), CLI_KW(1, "flows"), SVC_TOK(2), CLI_UINT_TOK(3, "count", 1, FLOWS_MAX), NULL } },
	{ "show config", "the running configuration, as YAML", show_config,
	  { CLI_KW(0, "show"), CLI_KW(1, "config"), NULL } },
};

const struct cli_cmd_group cli_show_group = { show_cmds, sizeof(show_cmds) / sizeof(show_cmds[0]) };
