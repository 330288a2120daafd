/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Commands that change the model: services, backends, affinity. Each is
 * one lp_ctl call, which checks everything before it changes anything; a
 * failed command leaves the running config as it was.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli_priv.h"

#define SVC_TOK(pos) CLI_NAME_TOK(pos, "service name")

/* lp_ctl validates a new service inside a copy of the running config,
 * whose messages carry that file's name ("cfg.yaml: service 'x': ...").
 * The service came from the command line, not the file: drop the name. */
static void
strip_config_path(struct lp_cli *cli, uint32_t from)
{
	const struct lp_config *c = lp_ctl_config(cli->ctl);
	struct lp_diag *d = cli_diag(cli);
	size_t pl;

	if (c == NULL || c->path == NULL)
		return;
	pl = strlen(c->path);
	for (uint32_t i = from; i < d->n; i++) {
		char *m = d->msg[i];

		if (strncmp(m, c->path, pl) == 0 && m[pl] == ':' && m[pl + 1] == ' ')
			memmove(m, m + pl + 2, strlen(m + pl + 2) + 1);
	}
}

/* Word @p k (0-based) of @p text, for naming a bad option. */
static void
nth_word(const char *text, unsigned int k, char *buf, size_t len)
{
	const char *p = text;
	size_t n;

	for (;;) {
		p += strspn(p, " \t");
		n = strcspn(p, " \t");
		if (k-- == 0 || *p == '\0')
			break;
		p += n;
	}
	snprintf(buf, len, "%.*s", (int)(n > 64 ? 64 : n), p);
}

static int
add_service(struct lp_cli *cli, const struct cli_res *r, const char *opts)
{
	struct lp_diag *d = cli_diag(cli);
	struct lp_cfg_service s;
	uint32_t before = d->n;
	char a[LP_IP_STRLEN];
	int ret;

	lp_config_service_init(&s);
	snprintf(s.name, sizeof(s.name), "%.*s", LP_NAME_MAX - 1, r->v[2].str);
	s.vip = r->v[3].ip;
	s.port = (uint16_t)r->v[4].u;
	if (!cli_ip_unicast(&s.vip))
		return cli_fail(cli, -EINVAL, "bad argument '%s' (argument 4): not a unicast address",
				lp_ip_format(&s.vip, a, sizeof(a)));
	if (opts != NULL) {
		struct cli_opt_err err;

		/* Again, now that the VIP's family bounds `prefix`. */
		if (cli_svc_opts_parse(opts, &s, &err) != 0) {
			char w[72];

			nth_word(opts, err.word, w, sizeof(w));
			if (err.missing)
				return cli_fail(cli, -EINVAL, "missing argument %u: %s", 6 + err.word, err.expect);
			return cli_fail(cli, -EINVAL, "bad argument '%s' (argument %u): %s", w, 6 + err.word, err.expect);
		}
	}
	ret = lp_ctl_service_add(cli->ctl, &s, d);
	if (ret != 0)
		strip_config_path(cli, before);
	return ret;
}

static int
add_service_plain(struct lp_cli *cli, const struct cli_res *r)
{
	return add_service(cli, r, NULL);
}

static int
add_service_opts(struct lp_cli *cli, const struct cli_res *r)
{
	return add_service(cli, r, r->v[5].str);
}

static int
del_service(struct lp_cli *cli, const struct cli_res *r)
{
	return lp_ctl_service_del(cli->ctl, r->v[2].str, cli_diag(cli));
}

/* A backend written without a port uses the service's targetPort. */
static int
backend_port(struct lp_cli *cli, const char *svc, const struct cli_backend *be, uint16_t *port)
{
	struct lp_service_view v;

	if (lp_ctl_service_view_by_name(cli->ctl, svc, &v) != 0)
		return cli_fail(cli, -ENOENT, "no service '%s'", svc);
	*port = be->port != 0 ? be->port : v.cfg->target_port != 0 ? v.cfg->target_port : v.cfg->port;
	return 0;
}

static int
add_backend(struct lp_cli *cli, const struct cli_res *r, uint32_t weight)
{
	const char *svc = r->v[2].str;
	struct lp_cfg_backend b;
	int ret;

	lp_config_backend_init(&b);
	b.addr = r->v[3].be.addr;
	b.weight = weight;
	ret = backend_port(cli, svc, &r->v[3].be, &b.port);
	if (ret != 0)
		return ret;
	return lp_ctl_backend_add(cli->ctl, svc, &b, cli_diag(cli));
}

static int
add_backend_plain(struct lp_cli *cli, const struct cli_res *r)
{
	struct lp_cfg_backend defaults;

	lp_config_backend_init(&defaults);
	return add_backend(cli, r, defaults.weight);
}

static int
add_backend_weight(struct lp_cli *cli, const struct cli_res *r)
{
	return add_backend(cli, r, (uint32_t)r->v[5].u);
}

static int
del_backend(struct lp_cli *cli, const struct cli_res *r)
{
	const char *svc = r->v[2].str;
	uint16_t port = 0;
	int ret = backend_port(cli, svc, &r->v[3].be, &port);

	if (ret != 0)
		return ret;
	return lp_ctl_backend_del(cli->ctl, svc, &r->v[3].be.addr, port, cli_diag(cli));
}

static int
set_backend_weight(struct lp_cli *cli, const struct cli_res *r)
{
	const char *svc = r->v[2].str;
	uint16_t port = 0;
	int ret = backend_port(cli, svc, &r->v[3].be, &port);

	if (ret != 0)
		return ret;
	return lp_ctl_backend_set_weight(cli->ctl, svc, &r->v[3].be.addr, port, (uint32_t)r->v[5].u, cli_diag(cli));
}

static int
set_backend_state(struct lp_cli *cli, const struct cli_res *r)
{
	const char *svc = r->v[2].str, *word = r->v[4].str;
	enum lp_backend_state st = strcmp(word, "drain") == 0 ? LP_BACKEND_DRAINING
				   : strcmp(word, "down") == 0 ? LP_BACKEND_DOWN
							       : LP_BACKEND_UP;
	uint16_t port = 0;
	int ret = backend_port(cli, svc, &r->v[3].be, &port);

	if (ret != 0)
		return ret;
	return lp_ctl_backend_set_state(cli->ctl, svc, &r->v[3].be.addr, port, st, cli_diag(cli));
}

static int
set_affinity(struct lp_cli *cli, const char *svc, int64_t timeout, int prefix)
{
	struct lp_service_view v;

	if (lp_ctl_service_view_by_name(cli->ctl, svc, &v) != 0)
		return cli_fail(cli, -ENOENT, "no service '%s'", svc);
	/* A timeout on a service without affinity would be kept and do
	 * nothing; say so instead. */
	if (!v.cfg->affinity)
		return cli_fail(cli, -EINVAL, "service '%s' has no session affinity (sessionAffinity: None)", svc);
	return lp_ctl_service_set_affinity(cli->ctl, svc, timeout, prefix, cli_diag(cli));
}

static int
set_aff_timeout(struct lp_cli *cli, const struct cli_res *r)
{
	return set_affinity(cli, r->v[2].str, (int64_t)r->v[5].u, -1);
}

static int
set_aff_prefix(struct lp_cli *cli, const struct cli_res *r)
{
	return set_affinity(cli, r->v[2].str, -1, (int)r->v[5].u);
}

static int
set_aff_both(struct lp_cli *cli, const struct cli_res *r)
{
	return set_affinity(cli, r->v[2].str, (int64_t)r->v[5].u, (int)r->v[7].u);
}

static int
clear_affinity(struct lp_cli *cli, const struct cli_res *r, const struct lp_ip *client)
{
	int n = lp_ctl_affinity_clear(cli->ctl, r->v[2].str, client, cli_diag(cli));

	if (n < 0)
		return n;
	fprintf(cli_out(cli), "%d binding%s cleared\n", n, n == 1 ? "" : "s");
	return 0;
}

static int
clear_affinity_all(struct lp_cli *cli, const struct cli_res *r)
{
	return clear_affinity(cli, r, NULL);
}

static int
clear_affinity_client(struct lp_cli *cli, const struct cli_res *r)
{
	return clear_affinity(cli, r, &r->v[3].ip);
}

#define WEIGHT_TOK(pos) CLI_UINT_TOK(pos, "weight", 0, 65535)

static const struct cli_cmd edit_cmds[] = {
	{ "add service NAME VIP PORT [OPTIONS]", "add a service (OPTIONS: see below and docs/cli.md)", add_service_plain,
	  { CLI_KW(0, "add"), CLI_KW(1, "service"), SVC_TOK(2), CLI_ADDR_TOK(3, "VIP address"),
	    CLI_UINT_TOK(4, "port", 1, 65535), NULL } },
	{ NULL, "add a service with options", add_service_opts,
	  { CLI_KW(0, "add"), CLI_KW(1, "service"), SVC_TOK(2), CLI_ADDR_TOK(3, "VIP address"),
	    CLI_UINT_TOK(4, "port", 1, 65535), CLI_TOKEN(5, CLI_SVC_OPTS, "options", 0, 0), NULL } },
	{ "del service NAME", "remove a service, its flows and bindings", del_service,
	  { CLI_KW(0, "del"), CLI_KW(1, "service"), SVC_TOK(2), NULL } },
	{ "add backend SVC ADDR[:PORT] [weight W]", "add a backend (port: the service's targetPort; weight 1)",
	  add_backend_plain, { CLI_KW(0, "add"), CLI_KW(1, "backend"), SVC_TOK(2), CLI_BACKEND_TOK(3), NULL } },
	{ NULL, "add a backend with a weight", add_backend_weight,
	  { CLI_KW(0, "add"), CLI_KW(1, "backend"), SVC_TOK(2), CLI_BACKEND_TOK(3), CLI_KW(4, "weight"),
	    WEIGHT_TOK(5), NULL } },
	{ "del backend SVC ADDR[:PORT]", "remove a backend (it drains first when the service has a drain timeout)",
	  del_backend, { CLI_KW(0, "del"), CLI_KW(1, "backend"), SVC_TOK(2), CLI_BACKEND_TOK(3), NULL } },
	{ "set backend SVC ADDR[:PORT] weight W", "change a backend's weight (0..65535)", set_backend_weight,
	  { CLI_KW(0, "set"), CLI_KW(1, "backend"), SVC_TOK(2), CLI_BACKEND_TOK(3), CLI_KW(4, "weight"),
	    WEIGHT_TOK(5), NULL } },
	{ "set backend SVC ADDR[:PORT] up|down|drain", "set a backend's administrative state", set_backend_state,
	  { CLI_KW(0, "set"), CLI_KW(1, "backend"), SVC_TOK(2), CLI_BACKEND_TOK(3), CLI_KW(4, "up#down#drain"),
	    NULL } },
	{ "set service SVC affinity timeout N [prefix P]", "change the affinity timeout (seconds) and client prefix",
	  set_aff_timeout,
	  { CLI_KW(0, "set"), CLI_KW(1, "service"), SVC_TOK(2), CLI_KW(3, "affinity"), CLI_KW(4, "timeout"),
	    CLI_UINT_TOK(5, "seconds", 1, 86400), NULL } },
	{ "set service SVC affinity prefix P", "change the client prefix bindings are keyed by", set_aff_prefix,
	  { CLI_KW(0, "set"), CLI_KW(1, "service"), SVC_TOK(2), CLI_KW(3, "affinity"), CLI_KW(4, "prefix"),
	    CLI_UINT_TOK(5, "prefix", 0, 128), NULL } },
	{ NULL, "change the affinity timeout and prefix", set_aff_both,
	  { CLI_KW(0, "set"), CLI_KW(1, "service"), SVC_TOK(2), CLI_KW(3, "affinity"), CLI_KW(4, "timeout"),
	    CLI_UINT_TOK(5, "seconds", 1, 86400), CLI_KW(6, "prefix"), CLI_UINT_TOK(7, "prefix", 0, 128), NULL } },
	{ "clear affinity SVC [CLIENT]", "remove a service's bindings, or one client's", clear_affinity_all,
	  { CLI_KW(0, "clear"), CLI_KW(1, "affinity"), SVC_TOK(2), NULL } },
	{ NULL, "remove one client's binding", clear_affinity_client,
	  { CLI_KW(0, "clear"), CLI_KW(1, "affinity"), SVC_TOK(2), CLI_ADDR_TOK(3, "client address"), NULL } },
};

const struct cli_cmd_group cli_edit_group = { edit_cmds, sizeof(edit_cmds) / sizeof(edit_cmds[0]) };
