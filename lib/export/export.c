/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The exporter's façade: create, destroy, poll, the metrics address.
 * It calls the parts (rates.c, telemetry.c, http.c); none calls back.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>

#include "export_priv.h"

int
lp_export_parse_addr(const char *s, struct lp_ip *addr, uint16_t *port)
{
	char host[LP_IP_STRLEN + 2];
	const char *p = s, *colon;
	unsigned long v;
	char *end;
	size_t n;

	if (s == NULL || *s == '\0')
		return -EINVAL;
	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':')
			return -EINVAL;
		n = (size_t)(close - s - 1);
		if (n == 0 || n >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, n);
		host[n] = '\0';
		p = close + 2;
	} else if ((colon = strrchr(s, ':')) != NULL) {
		n = (size_t)(colon - s);
		if (n == 0 || n >= sizeof(host) || memchr(s, ':', n) != NULL)
			return -EINVAL;	/* a bare IPv6 address needs brackets */
		memcpy(host, s, n);
		host[n] = '\0';
		p = colon + 1;
	} else {
		snprintf(host, sizeof(host), "%s", LP_EXPORT_DEFAULT_HOST);
	}
	if (*p < '0' || *p > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(p, &end, 10);
	if (errno != 0 || *end != '\0' || v > 65535)
		return -EINVAL;
	if (lp_ip_parse(host, addr) != 0)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

struct lp_export *
lp_export_create(struct lp_ctl *c, const struct lp_export_opts *opts, struct lp_diag *err)
{
	struct lp_export *x = calloc(1, sizeof(*x));
	uint64_t now = rte_rdtsc();

	if (x == NULL) {
		lp_diag_add(err, "out of memory");
		return NULL;
	}
	x->ctl = c;
	x->hz = rte_get_tsc_hz();
	x->interval = x->hz * (opts->interval_ms ? opts->interval_ms : 1000) / 1000;
	x->started = now;
	x->s[0].sum = malloc(sizeof(struct lp_stats));
	x->s[1].sum = malloc(sizeof(struct lp_stats));
	if (x->s[0].sum == NULL || x->s[1].sum == NULL) {
		lp_diag_add(err, "out of memory");
		goto fail;
	}
	exp_sample_take(x, now);
	x->next_sample = now + x->interval;
	if (opts->metrics_addr != NULL) {
		struct lp_ip addr;
		uint16_t port;

		if (lp_export_parse_addr(opts->metrics_addr, &addr, &port) != 0) {
			lp_diag_add(err, "--metrics %s: not PORT, ADDR:PORT or [ADDR6]:PORT", opts->metrics_addr);
			goto fail;
		}
		if (exp_http_open(x, &addr, port, err) != 0)
			goto fail;
	}
	if (opts->telemetry) {
		if (exp_telemetry_open(x, err) != 0)
			goto fail;
		x->telemetry = true;
	}
	return x;
fail:
	lp_export_destroy(x);
	return NULL;
}

void
lp_export_destroy(struct lp_export *x)
{
	if (x == NULL)
		return;
	if (x->telemetry)
		exp_telemetry_close(x);
	exp_http_close(x);
	free(x->s[0].sum);
	free(x->s[1].sum);
	free(x);
}

bool
lp_export_poll(struct lp_export *x, uint64_t now)
{
	bool work = false;

	if (now >= x->next_sample) {
		exp_sample_take(x, now);
		/* From this sample, not from when it was due: after a stalled
		 * pass the next interval is a whole one, not a sliver. */
		x->next_sample = now + x->interval;
	}
	if (x->telemetry)
		work |= exp_telemetry_poll(x);
	work |= exp_http_poll(x, now);
	return work;
}

uint16_t
lp_export_metrics_port(const struct lp_export *x)
{
	return exp_http_port(x);
}
