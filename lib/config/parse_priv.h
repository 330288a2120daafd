/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared by the schema walk (parse.c), the node readers (node.c) and the
 * composer (compose.c): the parse state, composing a document from
 * libyaml's events, and typed reads of its nodes that report their own
 * problems. Every reader returns false after reporting, leaving its output
 * untouched, so a bad value keeps its default and the walk goes on.
 */
#ifndef LP_CONFIG_PARSE_PRIV_H
#define LP_CONFIG_PARSE_PRIV_H

#include <yaml.h>

#include "config_priv.h"

/*
 * Nodes walked at most. Aliases let a small document name one large
 * mapping many times, and every naming is walked and stored again; the
 * budget keeps that linear in what a real config could hold.
 */
#define NODE_BUDGET LP_CFG_NODES_MAX
/* Longest piece of user text quoted back in a message. */
#define SHOW_MAX 40
#define SHOW_STRLEN (SHOW_MAX + 8)

/* A port named by another element, resolved once all ports are known. */
struct cfg_port_ref {
	char name[LP_NAME_MAX];		/* empty: missing or bad, already reported */
	struct lp_cfg_pos pos;
};

struct parse {
	struct cfg_diag d;
	yaml_document_t *doc;
	struct lp_config *c;
	struct cfg_marks m;
	uint32_t visited;
	bool stop;			/* over budget or out of memory: unwind */
	struct cfg_port_ref *nb_port;	/* one per neighbor */
	struct cfg_port_ref *rt_port;	/* one per route */
};

/* A mapping's allowed keys; the enum of each list indexes the value array. */
struct cfg_keys {
	const char *where;		/* "in service": for messages */
	const char *const *names;
	unsigned int n;
};

/* Large enough for the longest key list. */
#define KEYS_MAX 24

/* ---- compose.c ---- */

/*
 * Compose the next document of y into doc from libyaml's events, stopping
 * at the first event past LP_CFG_DEPTH_MAX or LP_CFG_NODES_MAX. Returns 1
 * with a document (without nodes at the end of the stream; the caller
 * deletes it), or 0 after reporting (doc is then empty).
 */
int cfg_compose(struct parse *p, yaml_parser_t *y, yaml_document_t *doc, const char *buf, size_t len);
/* Report what libyaml's parser says is wrong (buf, len: its input, for reader errors). */
void cfg_report_yaml_error(struct parse *p, const yaml_parser_t *y, const char *buf, size_t len);

/* ---- node.c ---- */

/* 1-based position of a libyaml mark (libyaml counts from 0). */
struct lp_cfg_pos cfg_mark_pos(yaml_mark_t mark);
struct lp_cfg_pos cfg_pos_of(const yaml_node_t *n);
/* Count one more node walked; false (reported once) past NODE_BUDGET. */
bool cfg_visit(struct parse *p, const yaml_node_t *n);
/* Note an allocation failure and stop the walk; returns false. */
bool cfg_out_of_memory(struct parse *p);
/* User text made safe to print: non-printable bytes as '?', long text cut. */
const char *cfg_show(const char *s, char *buf, size_t len);
/* Report "missing key 'key' <where>" at the mapping; returns false. */
bool cfg_missing(struct parse *p, const yaml_node_t *map, const char *key, const struct cfg_keys *k);
/* Items of a value written as one scalar or as a sequence of them; null is none. */
uint32_t cfg_item_count(const yaml_node_t *n);
yaml_node_t *cfg_item_at(struct parse *p, yaml_node_t *n, uint32_t i);
/* Sequence length, 0 for null, or -1 after reporting another type. */
int64_t cfg_seq_count(struct parse *p, const yaml_node_t *n, const char *key);
/*
 * Spread a mapping's values into val[] by key, NULL where absent, reporting
 * unknown keys (with a suggestion) and duplicate keys. A null value counts
 * as an empty mapping ("flows:" alone keeps the defaults). False, after
 * reporting, when n is not a mapping.
 */
bool cfg_walk_map(struct parse *p, yaml_node_t *n, const char *label, const struct cfg_keys *k, yaml_node_t **val);

bool cfg_get_u32(struct parse *p, const yaml_node_t *n, const char *key, uint32_t min, uint32_t max, uint32_t *out);
bool cfg_get_u16(struct parse *p, const yaml_node_t *n, const char *key, uint16_t min, uint16_t max, uint16_t *out);
bool cfg_get_u8(struct parse *p, const yaml_node_t *n, const char *key, uint8_t min, uint8_t max, uint8_t *out);
/* Seconds with at most three decimals ("0.5"), as milliseconds in the health-check range. */
bool cfg_get_ms(struct parse *p, const yaml_node_t *n, const char *key, uint32_t *out);
/* A finite decimal number (no inf, nan or hex). */
bool cfg_get_number(struct parse *p, const yaml_node_t *n, const char *key, double *out);
/* One of en's spellings, any case. */
bool cfg_get_enum(struct parse *p, const yaml_node_t *n, const char *key, const struct cfg_enum *en, uint8_t *out);
/* A port or service name into an LP_NAME_MAX buffer. */
bool cfg_get_name(struct parse *p, const yaml_node_t *n, const char *key, char *dst);
/* Printable text into a buffer of max bytes. */
/* A kernel interface name (cfg_iface_problem()); dst holds LP_IFNAME_MAX. */
bool cfg_get_iface(struct parse *p, const yaml_node_t *n, const char *key, char *dst);
bool cfg_get_text(struct parse *p, const yaml_node_t *n, const char *key, char *dst, size_t max);
/* Unicast addresses only: a VIP, backend or neighbor can be nothing else. */
bool cfg_get_ip(struct parse *p, const yaml_node_t *n, const char *key, struct lp_ip *ip);
bool cfg_get_prefix(struct parse *p, const yaml_node_t *n, const char *key, struct lp_ip *ip, uint8_t *len);
/* A network: host bits clear, holding a unicast address (cfg_prefix_unicast()). */
bool cfg_get_net(struct parse *p, const yaml_node_t *n, const char *key, struct lp_ip *ip, uint8_t *len);
bool cfg_get_mac(struct parse *p, const yaml_node_t *n, const char *key, struct lp_mac *mac);

#endif /* LP_CONFIG_PARSE_PRIV_H */
