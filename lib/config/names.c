/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Enum spellings: each enum's YAML names (aliases accepted, never written)
 * and the lp_*_name() functions the rest of limpet prints them with. Leaf
 * of lib/config.
 */
#include <netinet/in.h>
#include <strings.h>

#include "config_priv.h"

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
ENUM(cfg_enum_poll, "one of adaptive, busy", { "adaptive", LP_POLL_ADAPTIVE, false },
     { "busy", LP_POLL_BUSY, false });

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

const char *
lp_poll_name(unsigned int p)
{
	return name_or_unknown(&cfg_enum_poll, p);
}
