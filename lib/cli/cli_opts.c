/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The option list of `add service NAME VIP PORT [options]`: key/value
 * words for every service setting the YAML has, so a service made on the
 * command line can be anything a config file can say. Ranges are the
 * config's (docs/configuration.md); lp_config_validate() still checks the
 * result as a whole when the service is added.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <netinet/in.h>

#include "cli_priv.h"

#define MAX_WORDS 64

const char cli_svc_opts_keys[] = "tcp|udp|nat|dsr|tunnel|scheduler|affinity|timeout|prefix|target-port|bounded|"
				 "slow-start|drain-timeout|rebalance|rebalance-rate|maglev-size|health|health-port|"
				 "health-path|health-interval|health-timeout|rise|fall|tunnel-source";

/* Settings that exclude each other or may be given once. */
enum group {
	G_PROTO, G_FWD, G_SCHED, G_AFFINITY, G_TIMEOUT, G_PREFIX, G_TARGET, G_BOUNDED, G_SLOW, G_DRAIN,
	G_REBALANCE, G_RATE, G_MAGLEV, G_HEALTH, G_HPORT, G_HPATH, G_HINTERVAL, G_HTIMEOUT, G_RISE, G_FALL,
	G_TUNNEL4, G_TUNNEL6,
};

struct svc_opt {
	const char *key;
	uint8_t group;
	const char *value;	/* what the value is ("seconds"), NULL for a flag */
	uint64_t min, max;	/* for numbers */
	/* Apply; 0, or -EINVAL with the complaint in @p why. */
	int (*apply)(const struct svc_opt *o, struct lp_cfg_service *s, const char *val, char *why, size_t len);
};

static int
expect(const struct svc_opt *o, char *why, size_t len)
{
	if (o->max > o->min)
		snprintf(why, len, "expected %s %" PRIu64 "..%" PRIu64, o->value, o->min, o->max);
	else
		snprintf(why, len, "expected %s", o->value);
	return -EINVAL;
}

static int
number(const struct svc_opt *o, const char *val, uint64_t *v, char *why, size_t len)
{
	if (!cli_decimal(val, strlen(val), v) || *v < o->min || *v > o->max)
		return expect(o, why, len);
	return 0;
}

/* "2", "0.5", "1.250": seconds with up to three decimals, as milliseconds. */
static bool
seconds_ms(const char *s, uint64_t *ms)
{
	const char *dot = strchr(s, '.');
	uint64_t w, frac = 0;
	size_t wl = dot != NULL ? (size_t)(dot - s) : strlen(s);

	/* Up to 12 digits of whole seconds: the result cannot overflow. */
	if (wl > 12 || !cli_decimal(s, wl, &w))
		return false;
	if (dot != NULL) {
		size_t fl = strlen(dot + 1);

		if (fl == 0 || fl > 3 || !cli_decimal(dot + 1, fl, &frac))
			return false;
		while (fl++ < 3)
			frac *= 10;
	}
	*ms = w * 1000 + frac;
	return true;
}

static int
set_proto(const struct svc_opt *o, struct lp_cfg_service *s, const char *val, char *why, size_t len)
{
	(void)val, (void)why, (void)len;
	s->proto = strcmp(o->key, "udp") == 0 ? IPPROTO_UDP : IPPROTO_TCP;
	return 0;
}

static int
set_fwd(const struct svc_opt *o, struct lp_cfg_service *s, const char *val, char *why, size_t len)
{
	(void)val, (void)why, (void)len;
	s->forwarding = strcmp(o->key, "dsr") == 0 ? LP_FWD_DSR : strcmp(o->key, "tunnel") == 0 ? LP_FWD_TUNNEL
												: LP_FWD_NAT;
	return 0;
}

static int
set_sched(const struct svc_opt *o, struct lp_cfg_service *s, const char *val, char *why, size_t len)
{
	if (strcasecmp(val, "maglev") == 0)
		s->scheduler = LP_SCHED_MAGLEV;
	else if (strcasecmp(val, "wrr") == 0)
		s->scheduler = LP_SCHED_WRR;
	else if (strcasecmp(val, "least_conn") == 0)
		s->scheduler = LP_SCHED_LEAST_CONN;
	else
		return expect(o, why, len);
	return 0;
}

static int
set_affinity(const struct svc_opt *o, struct lp_cfg_service *s, const char *val, char *why, size_t len)
{
	if (strcasecmp(val, "clientip") == 0)
		s->affinity = true;
	else if (strcasecmp(val, "none") == 0)
		s->affinity = false;
	else
		return expect(o, why, len);
	return 0;
}

static int
set_rebalance(const struct svc_opt *o, struct lp_cfg_service *s, const char *val, char *why, size_t len)
{
	if (strcasecmp(val, "idle") == 0)
		s->rebalance = LP_REBALANCE_IDLE;
	else if (strcasecmp(val, "none") == 0)
		s->rebalance = LP_REBALANCE_OFF;
	else
		return expect(o, why, len);
	return 0;
}

static int
set_health(const struct svc_opt *o, struct lp_cfg_service *s, const char *val, char *why, size_t len)
{
	if (strcasecmp(val, "tcp") == 0)
		s->health.type = LP_HEALTH_TCP;
	else if (strcasecmp(val, "http") == 0)
		s->health.type = LP_HEALTH_HTTP;
	else if (strcasecmp(val, "none") == 0)
		s->health.type = LP_HEALTH_NONE;
	else
		return expect(o, why, len);
	return 0;
}

static int
set_uint(const struct svc_opt *o, struct lp_cfg_service *s, const char *val, char *why, size_t len)
{
	uint64_t v;

	if (number(o, val, &v, why, len) != 0)
		return -EINVAL;
	switch (o->group) {
	case G_TIMEOUT:
		s->affinity_timeout_s = (uint32_t)v;
		break;
	case G_PREFIX:
		if (v > (s->vip.family == LP_AF_INET ? 32u : 128u)) {
			snprintf(why, len, "expected prefix 0..%u for an IPv%u VIP", s->vip.family == LP_AF_INET ? 32 : 128,
				 s->vip.family);
			return -EINVAL;
		}
		if (s->vip.family == LP_AF_INET)
			s->prefix_v4 = (uint8_t)v;
		else
			s->prefix_v6 = (uint8_t)v;
		break;
	case G_TARGET:
		s->target_port = (uint16_t)v;
		break;
	case G_SLOW:
		s->slow_start_s = (uint32_t)v;
		break;
	case G_DRAIN:
		s->drain_timeout_s = (uint32_t)v;
		break;
	case G_RATE:
		s->rebalance_rate = (uint32_t)v;
		break;
	case G_MAGLEV:
		s->maglev_size = (uint32_t)v;
		break;
	case G_HPORT:
		s->health.port = (uint16_t)v;
		break;
	case G_RISE:
		s->health.rise = (uint32_t)v;
		break;
	case G_FALL:
		s->health.fall = (uint32_t)v;
		break;
	default:
		return expect(o, why, len);
	}
	return 0;
}

static int
set_bounded(const struct svc_opt *o, struct lp_cfg_service *s, const char *val, char *why, size_t len)
{
	uint64_t milli;
	double c;

	/* Read like the health-check seconds: plain decimals, no "1e2" or "inf". */
	if (!seconds_ms(val, &milli))
		return expect(o, why, len);
	c = (double)milli / 1000.0;
	if (c != 0.0 && (c <= 1.0 || c > 100.0))
		return expect(o, why, len);
	s->bounded_load = c;
	return 0;
}

static int
set_hc_ms(const struct svc_opt *o, struct lp_cfg_service *s, const char *val, char *why, size_t len)
{
	uint64_t ms;

	if (!seconds_ms(val, &ms) || ms < 100 || ms > 3600000) {
		snprintf(why, len, "expected seconds 0.1..3600 (up to three decimals)");
		return -EINVAL;
	}
	if (o->group == G_HINTERVAL)
		s->health.interval_ms = (uint32_t)ms;
	else
		s->health.timeout_ms = (uint32_t)ms;
	return 0;
}

static int
set_hpath(const struct svc_opt *o, struct lp_cfg_service *s, const char *val, char *why, size_t len)
{
	size_t n = strlen(val);

	if (val[0] != '/' || n >= sizeof(s->health.path))
		return expect(o, why, len);
	memcpy(s->health.path, val, n + 1);
	return 0;
}

static int
set_tunnel(const struct svc_opt *o, struct lp_cfg_service *s, const char *val, char *why, size_t len)
{
	struct lp_ip ip;
	uint8_t plen;

	if (lp_ip_prefix_parse(val, &ip, &plen) != 0)
		return expect(o, why, len);
	if (ip.family == LP_AF_INET) {
		s->tunnel_src4 = ip;
		s->tunnel_src4_len = plen;
	} else {
		s->tunnel_src6 = ip;
		s->tunnel_src6_len = plen;
	}
	return 0;
}

static const struct svc_opt svc_opts[] = {
	{ "tcp", G_PROTO, NULL, 0, 0, set_proto },
	{ "udp", G_PROTO, NULL, 0, 0, set_proto },
	{ "nat", G_FWD, NULL, 0, 0, set_fwd },
	{ "dsr", G_FWD, NULL, 0, 0, set_fwd },
	{ "tunnel", G_FWD, NULL, 0, 0, set_fwd },
	{ "scheduler", G_SCHED, "maglev|wrr|least_conn", 0, 0, set_sched },
	{ "affinity", G_AFFINITY, "clientip|none", 0, 0, set_affinity },
	{ "timeout", G_TIMEOUT, "seconds", 1, 86400, set_uint },
	{ "prefix", G_PREFIX, "prefix", 0, 128, set_uint },
	{ "target-port", G_TARGET, "port", 1, 65535, set_uint },
	{ "bounded", G_BOUNDED, "factor 0 (off) or more than 1 up to 100", 0, 0, set_bounded },
	{ "slow-start", G_SLOW, "seconds", 0, 3600, set_uint },
	{ "drain-timeout", G_DRAIN, "seconds", 0, 86400, set_uint },
	{ "rebalance", G_REBALANCE, "idle|none", 0, 0, set_rebalance },
	{ "rebalance-rate", G_RATE, "bindings per second", 1, 1000000, set_uint },
	{ "maglev-size", G_MAGLEV, "prime", 251, 655373, set_uint },
	{ "health", G_HEALTH, "tcp|http|none", 0, 0, set_health },
	{ "health-port", G_HPORT, "port", 0, 65535, set_uint },
	{ "health-path", G_HPATH, "path starting with '/'", 0, 0, set_hpath },
	{ "health-interval", G_HINTERVAL, "seconds", 0, 0, set_hc_ms },
	{ "health-timeout", G_HTIMEOUT, "seconds", 0, 0, set_hc_ms },
	{ "rise", G_RISE, "count", 1, 100, set_uint },
	{ "fall", G_FALL, "count", 1, 100, set_uint },
	{ "tunnel-source", G_TUNNEL4, "PREFIX (10.9.0.0/16 or fd00:9::/64)", 0, 0, set_tunnel },
};

#define N_OPTS (sizeof(svc_opts) / sizeof(svc_opts[0]))

static int
fail(struct cli_opt_err *err, unsigned int word, bool missing, const char *fmt, const char *arg)
{
	err->word = word;
	err->missing = missing;
	snprintf(err->expect, sizeof(err->expect), fmt, arg);
	return -EINVAL;
}

int
cli_svc_opts_parse(const char *text, struct lp_cfg_service *svc, struct cli_opt_err *err)
{
	char buf[CLI_SLOT], *words[MAX_WORDS], *save = NULL;
	int where[G_TUNNEL6 + 1];
	unsigned int n = 0;

	memset(err, 0, sizeof(*err));
	for (unsigned int g = 0; g <= G_TUNNEL6; g++)
		where[g] = -1;
	if (strlen(text) >= sizeof(buf))
		return fail(err, 0, false, "%s", "option list too long");
	strcpy(buf, text);
	for (char *w = strtok_r(buf, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save)) {
		if (n == MAX_WORDS)
			return fail(err, n, false, "%s", "too many options");
		words[n++] = w;
	}
	for (unsigned int i = 0; i < n; i++) {
		const struct svc_opt *o = NULL;
		unsigned int key = i;
		char why[sizeof(err->expect)];
		uint8_t g;

		for (unsigned int k = 0; k < N_OPTS && o == NULL; k++)
			if (strcmp(words[i], svc_opts[k].key) == 0)
				o = &svc_opts[k];
		if (o == NULL)
			return fail(err, i, false, "expected %s", cli_svc_opts_keys);
		g = o->group;
		if (g == G_TUNNEL4 && i + 1 < n && strchr(words[i + 1], ':') != NULL)
			g = G_TUNNEL6;
		if (where[g] >= 0)
			return fail(err, i, false, "'%s' given twice (or conflicts with an earlier option)", words[i]);
		where[g] = (int)key;
		if (o->value != NULL && ++i == n) {
			snprintf(why, sizeof(why), "expected %s", o->value);
			if (o->max > o->min)
				snprintf(why, sizeof(why), "expected %s %" PRIu64 "..%" PRIu64, o->value, o->min, o->max);
			return fail(err, i, true, "%s", why);
		}
		if (o->apply(o, svc, o->value != NULL ? words[i] : NULL, why, sizeof(why)) != 0)
			return fail(err, i, false, "%s", why);
	}
	/* Affinity settings mean nothing without affinity, health settings
	 * nothing without a check: say so rather than drop them. */
	if (!svc->affinity && where[G_TIMEOUT] >= 0)
		return fail(err, (unsigned int)where[G_TIMEOUT], false, "%s", "'timeout' needs 'affinity clientip'");
	if (!svc->affinity && where[G_PREFIX] >= 0)
		return fail(err, (unsigned int)where[G_PREFIX], false, "%s", "'prefix' needs 'affinity clientip'");
	for (unsigned int g = G_HPORT; g <= G_FALL; g++)
		if (svc->health.type == LP_HEALTH_NONE && where[g] >= 0)
			return fail(err, (unsigned int)where[g], false, "'%s' needs 'health tcp|http'", words[where[g]]);
	return 0;
}
