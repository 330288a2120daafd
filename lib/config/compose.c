/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libyaml events -> one yaml_document_t, composed as the events come.
 *
 * libyaml's own composer (yaml_parser_load) has no limits: it follows any
 * nesting (libyaml's scanner is quadratic in the depth: 40k nested '['
 * took 11 s, 100k took 91 s, on a file of 200 KB), keeps every node of a
 * file of any size, and finds anchors by a linear search. Here each event
 * is looked at as libyaml produces it, so a file stops at the first event
 * past a limit, after work linear in the bytes before it:
 *  - nesting deeper than LP_CFG_DEPTH_MAX collections,
 *  - more than LP_CFG_NODES_MAX nodes,
 * and anchors sit in a hash table. The document is the one libyaml would
 * compose (same nodes, marks and alias resolution); tags are not kept,
 * since nothing reads them.
 */
#include <stdlib.h>
#include <string.h>

#include "parse_priv.h"

/* An anchor: its name and the node it names. */
struct anchor {
	char *name;			/* NULL: free slot */
	int node;
	struct lp_cfg_pos pos;
};

/* A collection being composed: its node and, in a mapping, a key waiting for its value. */
struct frame {
	int node;
	int key;
};

struct composer {
	struct parse *p;
	yaml_parser_t *y;
	yaml_document_t *doc;
	const char *buf;
	size_t len;
	struct frame stack[LP_CFG_DEPTH_MAX];
	unsigned int depth;
	uint32_t nodes;
	struct anchor *anchors;		/* open addressing, cap a power of two */
	uint32_t n_anchors, cap_anchors;
};

void
cfg_report_yaml_error(struct parse *p, const yaml_parser_t *y, const char *buf, size_t len)
{
	struct lp_cfg_pos pos = cfg_mark_pos(y->problem_mark);
	const char *problem = y->problem != NULL ? y->problem : "unknown problem";

	switch (y->error) {
	case YAML_MEMORY_ERROR:
		cfg_out_of_memory(p);
		break;
	case YAML_READER_ERROR:
		// The reader gives a byte offset only; count lines up to it.
		pos = (struct lp_cfg_pos){ 1, 1 };
		for (size_t i = 0; i < y->problem_offset && i < len; i++) {
			if (buf[i] == '\n') {
				pos.line++;
				pos.col = 1;
			} else {
				pos.col++;
			}
		}
		cfg_report(&p->d, pos, NULL, "unreadable input: %s", problem);
		break;
	default:
		if (y->context != NULL) {
			struct lp_cfg_pos ctx = cfg_mark_pos(y->context_mark);

			cfg_report(&p->d, pos, NULL, "syntax error: %s (%s at %u:%u)", problem, y->context, ctx.line,
				   ctx.col);
		} else {
			cfg_report(&p->d, pos, NULL, "syntax error: %s", problem);
		}
		break;
	}
}

/* FNV-1a: anchors are short names written by people. */
static uint32_t
hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static struct anchor *
anchor_slot(struct anchor *table, uint32_t cap, const char *name)
{
	for (uint32_t i = hash(name) & (cap - 1);; i = (i + 1) & (cap - 1))
		if (table[i].name == NULL || strcmp(table[i].name, name) == 0)
			return &table[i];
}

static bool
anchors_grow(struct composer *k)
{
	uint32_t cap = k->cap_anchors != 0 ? k->cap_anchors * 2 : 64;
	struct anchor *table = calloc(cap, sizeof(*table));

	if (table == NULL)
		return cfg_out_of_memory(k->p);
	for (uint32_t i = 0; i < k->cap_anchors; i++)
		if (k->anchors[i].name != NULL)
			*anchor_slot(table, cap, k->anchors[i].name) = k->anchors[i];
	free(k->anchors);
	k->anchors = table;
	k->cap_anchors = cap;
	return true;
}

/* Name node by anchor (NULL: none). As libyaml does, an anchor is named once. */
static bool
anchor_add(struct composer *k, const yaml_char_t *anchor, int node, struct lp_cfg_pos pos)
{
	const char *name = (const char *)anchor;
	struct anchor *a;

	if (anchor == NULL)
		return true;
	if ((k->n_anchors + 1) * 2 > k->cap_anchors && !anchors_grow(k))
		return false;
	a = anchor_slot(k->anchors, k->cap_anchors, name);
	if (a->name != NULL) {
		char shown[SHOW_STRLEN];

		cfg_report(&k->p->d, pos, NULL, "syntax error: anchor '&%s' defined twice, first at %u:%u",
			   cfg_show(name, shown, sizeof(shown)), a->pos.line, a->pos.col);
		return false;
	}
	a->name = strdup(name);
	if (a->name == NULL)
		return cfg_out_of_memory(k->p);
	a->node = node;
	a->pos = pos;
	k->n_anchors++;
	return true;
}

/* Hang node under the collection being composed; the first node is the root. */
static bool
attach(struct composer *k, int node)
{
	struct frame *f;
	int ok;

	if (k->depth == 0)
		return true;
	f = &k->stack[k->depth - 1];
	if (k->doc->nodes.start[f->node - 1].type == YAML_SEQUENCE_NODE) {
		ok = yaml_document_append_sequence_item(k->doc, f->node, node);
	} else if (f->key == 0) {
		f->key = node;
		ok = 1;
	} else {
		ok = yaml_document_append_mapping_pair(k->doc, f->node, f->key, node);
		f->key = 0;
	}
	return ok || cfg_out_of_memory(k->p);
}

/* A node was added (id, 0 when libyaml could not): mark it, name it, hang it. */
static bool
added(struct composer *k, int id, const yaml_event_t *ev, const yaml_char_t *anchor)
{
	struct lp_cfg_pos pos = cfg_mark_pos(ev->start_mark);

	if (id == 0)
		return cfg_out_of_memory(k->p);
	// The library API leaves marks zero; messages need them.
	k->doc->nodes.start[id - 1].start_mark = ev->start_mark;
	k->doc->nodes.start[id - 1].end_mark = ev->end_mark;
	return anchor_add(k, anchor, id, pos) && attach(k, id);
}

static bool
count_node(struct composer *k, const yaml_event_t *ev)
{
	if (++k->nodes <= LP_CFG_NODES_MAX)
		return true;
	cfg_report(&k->p->d, cfg_mark_pos(ev->start_mark), NULL, "document too large: more than %u nodes",
		   LP_CFG_NODES_MAX);
	return false;
}

static bool
open_collection(struct composer *k, const yaml_event_t *ev)
{
	bool seq = ev->type == YAML_SEQUENCE_START_EVENT;
	int id;

	if (k->depth == LP_CFG_DEPTH_MAX) {
		cfg_report(&k->p->d, cfg_mark_pos(ev->start_mark), NULL, "nesting deeper than %u", LP_CFG_DEPTH_MAX);
		return false;
	}
	if (!count_node(k, ev))
		return false;
	if (seq)
		id = yaml_document_add_sequence(k->doc, NULL, ev->data.sequence_start.style);
	else
		id = yaml_document_add_mapping(k->doc, NULL, ev->data.mapping_start.style);
	if (!added(k, id, ev, seq ? ev->data.sequence_start.anchor : ev->data.mapping_start.anchor))
		return false;
	k->stack[k->depth++] = (struct frame){ id, 0 };
	return true;
}

/* One event of the document's body; *done once its root node is complete. */
static bool
take(struct composer *k, const yaml_event_t *ev, bool *done)
{
	const struct anchor *a;
	char shown[SHOW_STRLEN];

	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		if (!count_node(k, ev))
			return false;
		// The length is the event's: a scalar may hold NUL bytes, which node.c refuses.
		if (!added(k,
			   yaml_document_add_scalar(k->doc, NULL, ev->data.scalar.value, (int)ev->data.scalar.length,
						    ev->data.scalar.style),
			   ev, ev->data.scalar.anchor))
			return false;
		break;
	case YAML_ALIAS_EVENT:
		a = k->cap_anchors != 0
			    ? anchor_slot(k->anchors, k->cap_anchors, (const char *)ev->data.alias.anchor)
			    : NULL;
		if (a == NULL || a->name == NULL) {
			cfg_report(&k->p->d, cfg_mark_pos(ev->start_mark), NULL, "syntax error: undefined alias '*%s'",
				   cfg_show((const char *)ev->data.alias.anchor, shown, sizeof(shown)));
			return false;
		}
		if (!attach(k, a->node))
			return false;
		break;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		return open_collection(k, ev);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		k->doc->nodes.start[k->stack[k->depth - 1].node - 1].end_mark = ev->end_mark;
		k->depth--;
		break;
	default:
		// libyaml's parser produces nothing else inside a document.
		cfg_report(&k->p->d, cfg_mark_pos(ev->start_mark), NULL, "syntax error: unexpected event");
		return false;
	}
	*done = k->depth == 0;
	return true;
}

/* The next event, or false after reporting libyaml's problem. */
static bool
next(struct composer *k, yaml_event_t *ev)
{
	if (yaml_parser_parse(k->y, ev))
		return true;
	cfg_report_yaml_error(k->p, k->y, k->buf, k->len);
	return false;
}

int
cfg_compose(struct parse *p, yaml_parser_t *y, yaml_document_t *doc, const char *buf, size_t len)
{
	struct composer k = { .p = p, .y = y, .doc = doc, .buf = buf, .len = len };
	bool done = false, ok = true;
	yaml_event_t ev;

	memset(doc, 0, sizeof(*doc));
	if (!yaml_document_initialize(doc, NULL, NULL, NULL, 1, 1))
		return cfg_out_of_memory(p);
	if (!y->stream_start_produced) {
		if (!next(&k, &ev))
			goto fail;
		yaml_event_delete(&ev);		/* STREAM-START */
	}
	if (y->stream_end_produced)
		return 1;
	if (!next(&k, &ev))
		goto fail;
	if (ev.type == YAML_STREAM_END_EVENT) {
		yaml_event_delete(&ev);
		return 1;
	}
	doc->start_mark = ev.start_mark;	/* DOCUMENT-START */
	yaml_event_delete(&ev);
	while (ok && !done) {
		if (!next(&k, &ev))
			goto fail;
		ok = take(&k, &ev, &done);
		yaml_event_delete(&ev);
	}
	if (!ok || !next(&k, &ev))
		goto fail;
	doc->end_mark = ev.end_mark;		/* DOCUMENT-END */
	yaml_event_delete(&ev);
	for (uint32_t i = 0; i < k.cap_anchors; i++)
		free(k.anchors[i].name);
	free(k.anchors);
	return 1;
fail:
	for (uint32_t i = 0; i < k.cap_anchors; i++)
		free(k.anchors[i].name);
	free(k.anchors);
	yaml_document_delete(doc);
	memset(doc, 0, sizeof(*doc));
	return 0;
}
