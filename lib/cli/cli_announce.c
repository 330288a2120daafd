/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * VIP announcement commands: `show announce` (each VIP, whether its route
 * is in the kernel table, and why not), `announce withdraw` and
 * `announce resume` (the operator's hold, for maintenance).
 */
#include <errno.h>
#include <string.h>

#include "cli_priv.h"
#include "lp_announce.h"

/* Table cells hold no spaces: "no backend up" -> "no-backend-up". */
static const char *
cell(const char *text, char *buf, size_t len)
{
	size_t i;

	for (i = 0; text[i] != '\0' && i + 1 < len; i++)
		buf[i] = text[i] == ' ' ? '-' : text[i];
	buf[i] = '\0';
	return buf;
}

static void
print_holds(FILE *o, unsigned int holds)
{
	static const struct {
		unsigned int bit;
		const char *name;
	} names[] = {
		{ LP_ANNOUNCE_HOLD_SHUTDOWN, "shutdown" },
		{ LP_ANNOUNCE_HOLD_OPERATOR, "operator" },
		{ LP_ANNOUNCE_HOLD_WORKERS, "workers" },
		{ LP_ANNOUNCE_HOLD_LOADING, "loading" },
	};
	bool any = false;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (holds & names[i].bit) {
			fprintf(o, "%s%s", any ? "," : "", names[i].name);
			any = true;
		}
	if (!any)
		fprintf(o, "none");
}

static int
show_announce(struct lp_cli *cli, const struct cli_res *r)
{
	struct lp_announce *a = lp_ctl_announcer(cli->ctl);
	const struct lp_config *cfg = lp_ctl_config(cli->ctl);
	static const char *const header[] = { "VIP", "ANNOUNCED", "REASON" };
	FILE *o = cli_out(cli);
	struct cli_table t;
	uint32_t n;

	(void)r;
	if (a == NULL) {
		fprintf(o, "announce: off (no announce: in the configuration)\n");
		return 0;
	}
	n = lp_announce_count(a);
	fprintf(o, "announce: table %u, interface %s, withdrawDelaySeconds %u, holds ", cfg->announce.table,
		lp_config_announce_port(cfg) >= 0 ? cfg->ports[lp_config_announce_port(cfg)].kernel_iface : "-",
		cfg->announce.withdraw_delay_s);
	print_holds(o, lp_announce_holds(a));
	fprintf(o, "\n");
	if (cli_table_init(&t, 3, header) != 0)
		return cli_fail(cli, -ENOMEM, "out of memory");
	for (uint32_t i = 0; i < n; i++) {
		struct lp_announce_view v;
		char ip[LP_IP_STRLEN], why[LP_ANNOUNCE_WHY_LEN];

		if (lp_announce_view(a, i, &v) != 0)
			continue;
		cli_table_row(&t, "%s\t%s\t%s", lp_ip_format(&v.addr, ip, sizeof(ip)), v.announced ? "yes" : "no",
			      v.announced ? "-" : cell(lp_announce_why_name(v.why), why, sizeof(why)));
	}
	cli_table_print(&t, o);
	/* The kernel's own words for a refused route, which a cell cannot hold. */
	for (uint32_t i = 0; i < n; i++) {
		struct lp_announce_view v;
		char ip[LP_IP_STRLEN];

		if (lp_announce_view(a, i, &v) == 0 && v.why == LP_ANNOUNCE_WHY_netlink)
			fprintf(o, "%s: %s (%u failed requests)\n", lp_ip_format(&v.addr, ip, sizeof(ip)), v.why_text,
				v.failures);
	}
	return 0;
}

static int
announce_hold(struct lp_cli *cli, bool on)
{
	struct lp_announce *a = lp_ctl_announcer(cli->ctl);

	if (a == NULL)
		return cli_fail(cli, -ENOENT, "announce is off: the configuration has no announce:");
	lp_announce_hold(a, LP_ANNOUNCE_HOLD_OPERATOR, on);
	fprintf(cli_out(cli), on ? "withdrawing every VIP route (announce resume to announce them again)\n"
				 : "announcing the VIPs that can serve\n");
	return 0;
}

static int
announce_withdraw(struct lp_cli *cli, const struct cli_res *r)
{
	(void)r;
	return announce_hold(cli, true);
}

static int
announce_resume(struct lp_cli *cli, const struct cli_res *r)
{
	(void)r;
	return announce_hold(cli, false);
}

static const struct cli_cmd announce_cmds[] = {
	{ "show announce", "VIP routes in the kernel table: each VIP, announced or not, and why not", show_announce,
	  { CLI_KW(0, "show"), CLI_KW(1, "announce"), NULL } },
	{ "announce withdraw", "withdraw every VIP route (maintenance); forwarding goes on", announce_withdraw,
	  { CLI_KW(0, "announce"), CLI_KW(1, "withdraw"), NULL } },
	{ "announce resume", "announce again the VIPs that can serve", announce_resume,
	  { CLI_KW(0, "announce"), CLI_KW(1, "resume"), NULL } },
};

const struct cli_cmd_group cli_announce_group = { announce_cmds, sizeof(announce_cmds) / sizeof(announce_cmds[0]) };
