/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reading libyaml nodes: positions, types, typed scalars and mappings with
 * their unknown and duplicate keys. Each reader reports its own problems
 * at the node, in one wording: "key: expected <what>, got <what it is>"
 * for the wrong type or syntax, "key: <value> is out of range a..b" for a
 * value outside its range.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "parse_priv.h"

/* ---- nodes ---- */

struct lp_cfg_pos
cfg_mark_pos(yaml_mark_t mark)
{
	// libyaml counts from 0; people and editors from 1.
	return (struct lp_cfg_pos){
		.line = mark.line < UINT32_MAX ? (uint32_t)mark.line + 1 : UINT32_MAX,
		.col = mark.column < UINT32_MAX ? (uint32_t)mark.column + 1 : UINT32_MAX,
	};
}

struct lp_cfg_pos
cfg_pos_of(const yaml_node_t *n)
{
	return cfg_mark_pos(n->start_mark);
}

static yaml_node_t *
node(struct parse *p, yaml_node_item_t id)
{
	return yaml_document_get_node(p->doc, id);
}

bool
cfg_visit(struct parse *p, const yaml_node_t *n)
{
	if (p->stop)
		return false;
	if (++p->visited > NODE_BUDGET) {
		cfg_report(&p->d, cfg_pos_of(n), NULL, "document too large: more than %u nodes once aliases are expanded",
			   NODE_BUDGET);
		p->stop = true;
		return false;
	}
	return true;
}

bool
cfg_out_of_memory(struct parse *p)
{
	if (!p->d.oom)
		cfg_report(&p->d, (struct lp_cfg_pos){ 0, 0 }, NULL, "out of memory");
	p->d.oom = true;
	p->stop = true;
	return false;
}

static bool
is_null(const yaml_node_t *n)
{
	const char *s;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	s = (const char *)n->data.scalar.value;
	return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
	       strcmp(s, "NULL") == 0;
}

const char *
cfg_show(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i < SHOW_MAX && i + 4 < len; i++)
		buf[i] = (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f ? s[i] : '?';
	if (s[i] != '\0' && i + 4 <= len)
		memcpy(buf + i, "...", 3), i += 3;
	buf[i] = '\0';
	return buf;
}

/* What a node is, for "expected X, got Y". */
static const char *
got(const yaml_node_t *n, char *buf, size_t len)
{
	char shown[SHOW_STRLEN];

	if (n->type == YAML_MAPPING_NODE)
		return "a mapping";
	if (n->type == YAML_SEQUENCE_NODE)
		return "a sequence";
	if (n->data.scalar.length == 0)
		return "an empty value";
	snprintf(buf, len, "'%s'", cfg_show((const char *)n->data.scalar.value, shown, sizeof(shown)));
	return buf;
}

static bool
expected(struct parse *p, const yaml_node_t *n, const char *key, const char *what)
{
	char g[SHOW_STRLEN + 2];

	cfg_report(&p->d, cfg_pos_of(n), NULL, "%s: expected %s, got %s", key, what, got(n, g, sizeof(g)));
	return false;
}

bool
cfg_missing(struct parse *p, const yaml_node_t *map, const char *key, const struct cfg_keys *k)
{
	cfg_report(&p->d, cfg_pos_of(map), NULL, "missing key '%s' %s", key, k->where);
	return false;
}

/* Text of a scalar, or NULL after reporting "key: expected <what>, got ...". */
static const char *
text(struct parse *p, const yaml_node_t *n, const char *key, const char *what)
{
	if (n->type != YAML_SCALAR_NODE) {
		expected(p, n, key, what);
		return NULL;
	}
	if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length) {
		cfg_report(&p->d, cfg_pos_of(n), NULL, "%s: contains a NUL character", key);
		return NULL;
	}
	return (const char *)n->data.scalar.value;
}

uint32_t
cfg_item_count(const yaml_node_t *n)
{
	if (n->type == YAML_SEQUENCE_NODE)
		return (uint32_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	return is_null(n) ? 0 : 1;
}

yaml_node_t *
cfg_item_at(struct parse *p, yaml_node_t *n, uint32_t i)
{
	return n->type == YAML_SEQUENCE_NODE ? node(p, n->data.sequence.items.start[i]) : n;
}

int64_t
cfg_seq_count(struct parse *p, const yaml_node_t *n, const char *key)
{
	if (n->type == YAML_SEQUENCE_NODE)
		return n->data.sequence.items.top - n->data.sequence.items.start;
	if (is_null(n))
		return 0;
	expected(p, n, key, "a sequence");
	return -1;
}

/* ---- mappings ---- */

/* Optimal string alignment distance, ignoring case: "weigth" is 1 from "weight". */
static unsigned int
distance(const char *a, const char *b)
{
	unsigned int d[SHOW_MAX + 1][SHOW_MAX + 1];
	size_t la = strlen(a), lb = strlen(b);

	if (la > SHOW_MAX || lb > SHOW_MAX)
		return UINT32_MAX;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = (unsigned int)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (unsigned int)j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			unsigned int cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
			unsigned int v = d[i - 1][j - 1] + cost;

			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == tolower((unsigned char)b[j - 1]) &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

static void
unknown_key(struct parse *p, const yaml_node_t *kn, const struct cfg_keys *k)
{
	const char *key = (const char *)kn->data.scalar.value;
	unsigned int best_d = UINT32_MAX, limit;
	const char *best = NULL;
	char shown[SHOW_STRLEN];

	// Past the listing cap the message is only counted: skip the search,
	// which aliases could otherwise repeat a million times.
	for (unsigned int i = 0; i < k->n && p->d.errors < CFG_DIAG_MAX; i++) {
		unsigned int d = distance(key, k->names[i]);

		if (d < best_d) {
			best_d = d;
			best = k->names[i];
		}
	}
	// A third of the key may be wrong, one to three edits: close enough to be a typo.
	limit = (unsigned int)strlen(key) / 3;
	limit = limit < 1 ? 1 : limit > 3 ? 3 : limit;
	cfg_show(key, shown, sizeof(shown));
	if (best != NULL && best_d <= limit)
		cfg_report(&p->d, cfg_pos_of(kn), NULL, "unknown key '%s' %s, did you mean '%s'?", shown, k->where,
			   best);
	else
		cfg_report(&p->d, cfg_pos_of(kn), NULL, "unknown key '%s' %s", shown, k->where);
}

bool
cfg_walk_map(struct parse *p, yaml_node_t *n, const char *label, const struct cfg_keys *k, yaml_node_t **val)
{
	yaml_node_t *key_node[KEYS_MAX];

	for (unsigned int i = 0; i < k->n; i++) {
		val[i] = NULL;
		key_node[i] = NULL;
	}
	if (is_null(n))
		return true;
	if (n->type != YAML_MAPPING_NODE)
		return expected(p, n, label, "a mapping");
	for (yaml_node_pair_t *pair = n->data.mapping.pairs.start; pair < n->data.mapping.pairs.top; pair++) {
		yaml_node_t *kn = node(p, pair->key);
		const char *key;
		unsigned int i;

		if (!cfg_visit(p, kn))
			return false;
		if (kn->type != YAML_SCALAR_NODE) {
			expected(p, kn, label, "scalar keys");
			continue;
		}
		key = (const char *)kn->data.scalar.value;
		for (i = 0; i < k->n && strcmp(key, k->names[i]) != 0; i++)
			;
		if (i == k->n || strlen(key) != kn->data.scalar.length) {
			unknown_key(p, kn, k);
		} else if (val[i] != NULL) {
			struct lp_cfg_pos first = cfg_pos_of(key_node[i]);

			cfg_report(&p->d, cfg_pos_of(kn), NULL, "duplicate key '%s', first at %u:%u", key, first.line,
				   first.col);
		} else {
			val[i] = node(p, pair->value);
			key_node[i] = kn;
		}
	}
	return true;
}

/* ---- scalars ---- */

static bool
get_int(struct parse *p, const yaml_node_t *n, const char *key, int64_t min, int64_t max, int64_t *out)
{
	const char *s = text(p, n, key, "an integer");
	bool neg, big = false;
	const char *d;
	int64_t v = 0;

	if (s == NULL)
		return false;
	neg = s[0] == '-';
	d = s + neg;
	if (*d == '\0')
		return expected(p, n, key, "an integer");
	for (; *d != '\0'; d++) {
		if (*d < '0' || *d > '9')
			return expected(p, n, key, "an integer");
		if (v > (INT64_MAX - 9) / 10)
			big = true;
		else
			v = v * 10 + (*d - '0');
	}
	if (neg)
		v = -v;
	if (big || v < min || v > max) {
		char shown[SHOW_STRLEN];

		cfg_report(&p->d, cfg_pos_of(n), NULL, "%s: %s is out of range %" PRId64 "..%" PRId64, key,
			   cfg_show(s, shown, sizeof(shown)), min, max);
		return false;
	}
	*out = v;
	return true;
}

bool
cfg_get_u32(struct parse *p, const yaml_node_t *n, const char *key, uint32_t min, uint32_t max, uint32_t *out)
{
	int64_t v;

	if (!get_int(p, n, key, min, max, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

bool
cfg_get_u16(struct parse *p, const yaml_node_t *n, const char *key, uint16_t min, uint16_t max, uint16_t *out)
{
	int64_t v;

	if (!get_int(p, n, key, min, max, &v))
		return false;
	*out = (uint16_t)v;
	return true;
}

bool
cfg_get_u8(struct parse *p, const yaml_node_t *n, const char *key, uint8_t min, uint8_t max, uint8_t *out)
{
	int64_t v;

	if (!get_int(p, n, key, min, max, &v))
		return false;
	*out = (uint8_t)v;
	return true;
}

bool
cfg_get_ms(struct parse *p, const yaml_node_t *n, const char *key, uint32_t *out)
{
	const char *s = text(p, n, key, "seconds");
	char shown[SHOW_STRLEN], lo[16], hi[16];
	bool finer = false;
	const char *d;
	uint64_t ms = 0;

	if (s == NULL)
		return false;
	// Whole seconds saturate just above the range, so the range check sees them.
	for (d = s; *d >= '0' && *d <= '9'; d++)
		if (ms <= CFG_HC_MS_MAX)
			ms = ms * 10 + (uint64_t)(*d - '0');
	if (d == s)
		return expected(p, n, key, "seconds");
	ms *= 1000;
	if (*d == '.') {
		const char *frac = ++d;
		uint64_t scale = 100;

		for (; *d >= '0' && *d <= '9'; d++) {
			if (d - frac >= 3)
				finer |= *d != '0';
			else
				ms += (uint64_t)(*d - '0') * scale;
			scale /= 10;
		}
		if (d == frac)
			return expected(p, n, key, "seconds");
	}
	if (*d != '\0')
		return expected(p, n, key, "seconds");
	cfg_show(s, shown, sizeof(shown));
	if (finer) {
		cfg_report(&p->d, cfg_pos_of(n), NULL, "%s: %s is finer than a millisecond", key, shown);
		return false;
	}
	if (ms < CFG_HC_MS_MIN || ms > CFG_HC_MS_MAX) {
		cfg_report(&p->d, cfg_pos_of(n), NULL, "%s: %s is out of range %s..%s", key, shown,
			   cfg_fmt_ms(CFG_HC_MS_MIN, lo, sizeof(lo)), cfg_fmt_ms(CFG_HC_MS_MAX, hi, sizeof(hi)));
		return false;
	}
	*out = (uint32_t)ms;
	return true;
}

bool
cfg_get_number(struct parse *p, const yaml_node_t *n, const char *key, double *out)
{
	const char *s = text(p, n, key, "a number");
	bool digit = false;
	char *end;
	double v;

	if (s == NULL)
		return false;
	// strtod alone would also take "inf", "nan" and hex floats.
	for (const char *d = s; *d != '\0'; d++) {
		if (*d >= '0' && *d <= '9')
			digit = true;
		else if (strchr(".eE+-", *d) == NULL)
			return expected(p, n, key, "a number");
	}
	if (!digit)
		return expected(p, n, key, "a number");
	v = strtod(s, &end);
	if (*end != '\0')
		return expected(p, n, key, "a number");
	*out = v;
	return true;
}

bool
cfg_get_enum(struct parse *p, const yaml_node_t *n, const char *key, const struct cfg_enum *en, uint8_t *out)
{
	const char *s = text(p, n, key, en->expect);
	int v;

	if (s == NULL)
		return false;
	v = cfg_enum_value(en, s);
	if (v < 0)
		return expected(p, n, key, en->expect);
	*out = (uint8_t)v;
	return true;
}

bool
cfg_get_name(struct parse *p, const yaml_node_t *n, const char *key, char *dst)
{
	const char *s = text(p, n, key, "a name");
	const char *problem;

	if (s == NULL)
		return false;
	problem = cfg_name_problem(s);
	if (problem != NULL) {
		cfg_report(&p->d, cfg_pos_of(n), NULL, "%s: %s", key, problem);
		return false;
	}
	strcpy(dst, s);
	return true;
}

bool
cfg_get_iface(struct parse *p, const yaml_node_t *n, const char *key, char *dst)
{
	const char *s = text(p, n, key, "an interface name");
	const char *problem;

	if (s == NULL)
		return false;
	problem = cfg_iface_problem(s);
	if (problem != NULL) {
		char shown[SHOW_STRLEN];

		cfg_report(&p->d, cfg_pos_of(n), NULL, "%s: '%s' %s", key, cfg_show(s, shown, sizeof(shown)),
			   problem);
		return false;
	}
	strcpy(dst, s);
	return true;
}

bool
cfg_get_text(struct parse *p, const yaml_node_t *n, const char *key, char *dst, size_t max)
{
	const char *s = text(p, n, key, "a string");
	const char *problem;

	if (s == NULL)
		return false;
	problem = cfg_text_problem(s, max);
	if (problem != NULL) {
		cfg_report(&p->d, cfg_pos_of(n), NULL, "%s: %s", key, problem);
		return false;
	}
	strcpy(dst, s);
	return true;
}

static bool
not_unicast(struct parse *p, const yaml_node_t *n, const char *key, const char *s, const char *what)
{
	char shown[SHOW_STRLEN];

	cfg_report(&p->d, cfg_pos_of(n), NULL, "%s: %s is not a unicast %s", key, cfg_show(s, shown, sizeof(shown)), what);
	return false;
}

bool
cfg_get_ip(struct parse *p, const yaml_node_t *n, const char *key, struct lp_ip *ip)
{
	const char *s = text(p, n, key, "an IP address");
	struct lp_ip v;

	if (s == NULL)
		return false;
	if (lp_ip_parse(s, &v) < 0)
		return expected(p, n, key, "an IP address");
	if (!cfg_ip_unicast(&v))
		return not_unicast(p, n, key, s, "address");
	*ip = v;
	return true;
}

bool
cfg_get_prefix(struct parse *p, const yaml_node_t *n, const char *key, struct lp_ip *ip, uint8_t *len)
{
	const char *s = text(p, n, key, "an IP address or prefix");
	struct lp_ip v;
	uint8_t l;

	if (s == NULL)
		return false;
	if (lp_ip_prefix_parse(s, &v, &l) < 0)
		return expected(p, n, key, "an IP address or prefix");
	if (!cfg_ip_unicast(&v))
		return not_unicast(p, n, key, s, "address");
	*ip = v;
	*len = l;
	return true;
}

bool
cfg_get_net(struct parse *p, const yaml_node_t *n, const char *key, struct lp_ip *ip, uint8_t *len)
{
	const char *s = text(p, n, key, "an IP prefix");
	char shown[SHOW_STRLEN];
	struct lp_ip v;
	uint8_t l;

	if (s == NULL)
		return false;
	if (lp_ip_prefix_parse(s, &v, &l) < 0)
		return expected(p, n, key, "an IP prefix");
	cfg_show(s, shown, sizeof(shown));
	if (!cfg_prefix_clean(&v, l)) {
		cfg_report(&p->d, cfg_pos_of(n), NULL, "%s: %s has host bits set", key, shown);
		return false;
	}
	if (!cfg_prefix_unicast(&v, l)) {
		cfg_report(&p->d, cfg_pos_of(n), NULL, "%s: %s holds no unicast address", key, shown);
		return false;
	}
	*ip = v;
	*len = l;
	return true;
}

bool
cfg_get_mac(struct parse *p, const yaml_node_t *n, const char *key, struct lp_mac *mac)
{
	const char *s = text(p, n, key, "a MAC address");
	struct lp_mac v;

	if (s == NULL)
		return false;
	if (lp_mac_parse(s, &v) < 0)
		return expected(p, n, key, "a MAC address");
	if (!cfg_mac_unicast(&v))
		return not_unicast(p, n, key, s, "MAC address");
	*mac = v;
	return true;
}

