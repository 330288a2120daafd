/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The cluster section (replicated bindings): the syntax of its values. The
 * parser checks them at their nodes; cfg_check_cluster() checks a config
 * built in memory. lib/cluster checks the same again when it starts (and
 * resolves a host name then), so these are the rules of one place.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config_priv.h"

#define SUN_PATH_MAX 107	/* sockaddr_un.sun_path less its NUL */

const char *
cfg_cluster_endpoint_problem(const char *s)
{
	const char *port_s, *sep;
	char *end;
	long port;

	if (s[0] == '\0')
		return "must not be empty (HOST:PORT, [IPV6]:PORT or /path/to.sock)";
	if (s[0] == '/')
		return strlen(s) > SUN_PATH_MAX ? "socket path longer than 107 characters" : NULL;
	if (s[0] == '[') {
		sep = strchr(s, ']');
		if (sep == NULL || sep == s + 1 || sep[1] != ':')
			return "expected HOST:PORT, [IPV6]:PORT or an absolute socket path";
		port_s = sep + 2;
	} else {
		sep = strrchr(s, ':');
		if (sep == NULL || sep == s || memchr(s, ':', (size_t)(sep - s)) != NULL)
			return "expected HOST:PORT, [IPV6]:PORT or an absolute socket path";
		port_s = sep + 1;
	}
	errno = 0;
	port = strtol(port_s, &end, 10);
	if (port_s[0] < '0' || port_s[0] > '9' || *end != '\0' || errno != 0 || port < 1 || port > 65535)
		return "port is not a number from 1 to 65535";
	return NULL;
}

const char *
cfg_cluster_name_problem(const char *s)
{
	size_t len = strnlen(s, LP_NAME_MAX);

	if (len == 0)
		return "must not be empty";
	if (len == LP_NAME_MAX)
		return "longer than 31 characters";
	/* Part of Redis keys and SCAN patterns: no separators or glob characters. */
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '_' || c == '.'))
			return "may hold only letters, digits, '-', '_' and '.'";
	}
	return NULL;
}

void
cfg_check_cluster(const struct lp_config *c, struct cfg_diag *d)
{
	const struct lp_cfg_cluster *cl = &c->cluster;
	const char *problem;

	if (!cl->enabled)
		return;
	if ((problem = cfg_text_problem(cl->redis, sizeof(cl->redis))) != NULL ||
	    (problem = cfg_cluster_endpoint_problem(cl->redis)) != NULL)
		cfg_report(d, cl->pos, "cluster", "redis: %s", problem);
	if ((problem = cfg_cluster_name_problem(cl->name)) != NULL)
		cfg_report(d, cl->pos, "cluster", "name: %s", problem);
	if (cl->password_file[0] != '\0' &&
	    (problem = cfg_text_problem(cl->password_file, sizeof(cl->password_file))) != NULL)
		cfg_report(d, cl->pos, "cluster", "passwordFile: %s", problem);
	if (cl->start_wait_s > LP_CFG_CLUSTER_START_WAIT_MAX)
		cfg_report(d, cl->pos, "cluster", "startWaitSeconds: %u is out of range 0..%u", cl->start_wait_s,
			   LP_CFG_CLUSTER_START_WAIT_MAX);
}

bool
lp_config_cluster_equal(const struct lp_cfg_cluster *a, const struct lp_cfg_cluster *b)
{
	if (!a->enabled && !b->enabled)
		return true;	/* off: what the fields hold means nothing */
	return a->enabled == b->enabled && strcmp(a->redis, b->redis) == 0 &&
	       strcmp(a->password_file, b->password_file) == 0 && strcmp(a->name, b->name) == 0 &&
	       a->start_wait_s == b->start_wait_s;
}
