/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * VIP routes in a kernel table: desired state, reconciled over two
 * non-blocking netlink sockets. One sends requests and reads their ACKs
 * and the resync dumps; the other listens to route and link
 * notifications, so a route someone else removed comes back on the next
 * poll.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <rte_errno.h>
#include <rte_log.h>

#include "announce_priv.h"
#include "lp_announce.h"

RTE_LOG_REGISTER(lp_logtype_announce, lib.limpet.announce, INFO);

#define ALOG(level, ...) rte_log(RTE_LOG_##level, lp_logtype_announce, "limpet: announce: " __VA_ARGS__)

/* Requests awaiting an answer at most: the ACKs must fit the socket's
 * receive buffer, or the kernel drops them (ENOBUFS). */
#define MAX_INFLIGHT 128u
#define RCVBUF_BYTES (1u << 20)

/* What limpet believes the kernel table holds for a VIP. */
enum kstate {
	K_ABSENT,
	K_PRESENT,
	K_UNKNOWN,	/* an answer was lost: add or delete again, both are idempotent */
};

enum op {
	OP_NONE,
	OP_ADD,
	OP_DEL,
};

struct vip {
	struct lp_ip addr;
	bool in_set;		/* false: a route to delete, then forget */
	bool can_serve;
	bool seen;		/* in the dump being read */
	bool recheck;		/* removed by someone while our addition was in flight */
	uint8_t kstate;
	uint8_t op;		/* request in flight */
	uint32_t seq;		/* its sequence number */
	uint64_t sent_at;	/* now of that request */
	uint64_t next_try;	/* no request before this (backoff) */
	uint32_t backoff_ms;
	uint32_t failures;	/* consecutive */
	bool logged;		/* this failure episode was logged */
	int err;		/* last error (positive errno), 0: none */
	char err_msg[64];	/* the kernel's extended ACK message, if any */
};

struct inflight {
	uint32_t seq;
	uint32_t idx;		/* into a->v */
};

struct lp_announce {
	struct lp_announce_opts o;
	struct mnl_socket *nl;
	struct mnl_socket *mon;
	uint32_t portid;
	uint32_t seq;
	struct vip *v;
	uint32_t n;		/* entries in v: the set first, then routes to delete */
	uint32_t n_set;
	uint32_t cap;
	uint32_t cursor;	/* where the send phase resumes */
	struct inflight fl[MAX_INFLIGHT];
	uint32_t n_fl;
	unsigned int holds;
	bool dump_wanted;
	bool dumping;
	uint32_t dump_seq;
	uint64_t dump_sent;
	uint64_t next_resync;
	uint64_t now;		/* of the last poll */
	struct timespec now_mono; /* monotonic time of that poll (for withdraw_all) */
	struct lp_announce_stats st;
	uint8_t buf[65536];
};

static const char *const why_names[] = {
#define X(n, t) t,
	LP_ANNOUNCE_WHY_LIST(X)
#undef X
};

const char *
lp_announce_why_name(enum lp_announce_why why)
{
	return (unsigned int)why < LP_ANNOUNCE_WHY_MAX ? why_names[why] : "?";
}

static uint64_t
ms_to_ticks(const struct lp_announce *a, uint64_t ms)
{
	return ms * a->o.hz / 1000;
}

static uint8_t
af_of(const struct lp_ip *ip)
{
	return ip->family == LP_AF_INET ? AF_INET : AF_INET6;
}

static const char *
fmt_ip(const struct lp_ip *ip, char *buf, size_t len)
{
	if (inet_ntop(af_of(ip), ip->a, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
	return buf;
}

static bool
wanted(const struct lp_announce *a, const struct vip *v)
{
	return v->in_set && v->can_serve && a->holds == 0;
}

static struct vip *
find(struct lp_announce *a, const struct lp_ip *ip)
{
	for (uint32_t i = 0; i < a->n; i++)
		if (lp_ip_equal(&a->v[i].addr, ip))
			return &a->v[i];
	return NULL;
}

static void
fl_rebuild(struct lp_announce *a)
{
	a->n_fl = 0;
	for (uint32_t i = 0; i < a->n; i++)
		if (a->v[i].op != OP_NONE && a->n_fl < MAX_INFLIGHT)
			a->fl[a->n_fl++] = (struct inflight){ .seq = a->v[i].seq, .idx = i };
}

static struct vip *
fl_take(struct lp_announce *a, uint32_t seq)
{
	for (uint32_t i = 0; i < a->n_fl; i++) {
		if (a->fl[i].seq == seq) {
			struct vip *v = &a->v[a->fl[i].idx];

			a->fl[i] = a->fl[--a->n_fl];
			return v->op != OP_NONE && v->seq == seq ? v : NULL;
		}
	}
	return NULL;
}

static int
set_opt(struct mnl_socket *s, int opt)
{
	int one = 1;

	return mnl_socket_setsockopt(s, opt, &one, sizeof(one));
}

static struct mnl_socket *
open_socket(unsigned int groups)
{
	struct mnl_socket *s = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	int rcvbuf = RCVBUF_BYTES;

	if (s == NULL)
		return NULL;
	/* Errors carry the kernel's reason ("Nexthop device is not up"),
	 * without a copy of the request; dumps filter by table in the kernel.
	 * Older kernels lack some of these: not fatal. */
	(void)set_opt(s, NETLINK_EXT_ACK);
	(void)set_opt(s, NETLINK_CAP_ACK);
	(void)set_opt(s, NETLINK_GET_STRICT_CHK);
	(void)setsockopt(mnl_socket_get_fd(s), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (mnl_socket_bind(s, groups, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;

		mnl_socket_close(s);
		errno = e;
		return NULL;
	}
	return s;
}

struct lp_announce *
lp_announce_create(const struct lp_announce_opts *opts)
{
	struct lp_announce *a;

	if (opts == NULL || opts->table == 0 || opts->table == RT_TABLE_DEFAULT ||
	    opts->table == RT_TABLE_MAIN || opts->table == RT_TABLE_LOCAL || opts->ifindex <= 0 ||
	    opts->hz == 0) {
		rte_errno = EINVAL;
		return NULL;
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	a->o = *opts;
	if (a->o.protocol == 0)
		a->o.protocol = LP_ANNOUNCE_RTPROT;
	if (a->o.retry_min_ms == 0)
		a->o.retry_min_ms = 100;
	if (a->o.retry_max_ms < a->o.retry_min_ms)
		a->o.retry_max_ms = a->o.retry_min_ms > 5000 ? a->o.retry_min_ms : 5000;
	if (a->o.resync_ms == 0)
		a->o.resync_ms = 5000;
	if (a->o.ack_timeout_ms == 0)
		a->o.ack_timeout_ms = 1000;
	a->nl = open_socket(0);
	if (a->nl == NULL)
		goto fail;
	a->mon = open_socket(RTMGRP_LINK | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE);
	if (a->mon == NULL)
		goto fail_nl;
	a->portid = mnl_socket_get_portid(a->nl);
	a->seq = (uint32_t)time(NULL);
	a->dump_wanted = true;	/* the first poll looks for routes an earlier run left */
	return a;

fail_nl:
	mnl_socket_close(a->nl);
fail:
	rte_errno = errno != 0 ? errno : EIO;
	free(a);
	return NULL;
}

void
lp_announce_destroy(struct lp_announce *a)
{
	if (a == NULL)
		return;
	mnl_socket_close(a->mon);
	mnl_socket_close(a->nl);
	free(a->v);
	free(a);
}

static int
reserve(struct lp_announce *a, uint32_t n)
{
	struct vip *nv;
	uint32_t cap;

	if (n <= a->cap)
		return 0;
	cap = a->cap == 0 ? 16 : a->cap;
	while (cap < n)
		cap *= 2;
	nv = realloc(a->v, cap * sizeof(*nv));
	if (nv == NULL)
		return -ENOMEM;
	a->v = nv;
	a->cap = cap;
	return 0;
}

static void
vip_init(struct vip *v, const struct lp_ip *ip)
{
	memset(v, 0, sizeof(*v));
	v->addr = *ip;
	v->kstate = K_ABSENT;
}

int
lp_announce_set(struct lp_announce *a, const struct lp_announce_vip *vips, uint32_t n)
{
	struct vip *nv;
	uint32_t m = 0, rest;

	for (uint32_t i = 0; i < n; i++)
		if (vips[i].addr.family != LP_AF_INET && vips[i].addr.family != LP_AF_INET6)
			return -EINVAL;
	/* The new array: the set in the caller's order, each keeping what
	 * limpet knew of its route, then the old entries that left the set
	 * (their routes are deleted, then they are forgotten). */
	nv = calloc((size_t)n + a->n + 1, sizeof(*nv));
	if (nv == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		struct vip *dup = NULL, *old;

		for (uint32_t j = 0; j < m; j++)
			if (lp_ip_equal(&nv[j].addr, &vips[i].addr))
				dup = &nv[j];
		if (dup != NULL) {
			dup->can_serve |= vips[i].can_serve;
			continue;
		}
		if (m == LP_ANNOUNCE_MAX_VIPS) {
			free(nv);
			return -ENOSPC;
		}
		old = find(a, &vips[i].addr);
		if (old != NULL)
			nv[m] = *old;
		else
			vip_init(&nv[m], &vips[i].addr);
		nv[m].in_set = true;
		nv[m].can_serve = vips[i].can_serve;
		m++;
	}
	rest = m;
	for (uint32_t i = 0; i < a->n; i++) {
		bool kept = false;

		for (uint32_t j = 0; j < m && !kept; j++)
			kept = lp_ip_equal(&nv[j].addr, &a->v[i].addr);
		if (kept)
			continue;
		if (a->v[i].kstate == K_ABSENT && a->v[i].op == OP_NONE)
			continue;	/* nothing left to undo */
		nv[rest] = a->v[i];
		nv[rest].in_set = false;
		rest++;
	}
	free(a->v);
	a->cap = n + a->n + 1;
	a->v = nv;
	a->n = rest;
	a->n_set = m;
	a->cursor = 0;
	fl_rebuild(a);
	return 0;
}

int
lp_announce_set_serving(struct lp_announce *a, const struct lp_ip *vip, bool can_serve)
{
	struct vip *v = find(a, vip);

	if (v == NULL || !v->in_set)
		return -ENOENT;
	v->can_serve = can_serve;
	return 0;
}

void
lp_announce_hold(struct lp_announce *a, unsigned int hold, bool on)
{
	if (on)
		a->holds |= hold;
	else
		a->holds &= ~hold;
}

unsigned int
lp_announce_holds(const struct lp_announce *a)
{
	return a->holds;
}

void
lp_announce_resync(struct lp_announce *a)
{
	a->dump_wanted = true;
}

int
lp_announce_set_ifindex(struct lp_announce *a, int ifindex)
{
	if (ifindex <= 0)
		return -EINVAL;
	if (ifindex == a->o.ifindex)
		return 0;
	a->o.ifindex = ifindex;
	for (uint32_t i = 0; i < a->n; i++) {
		a->v[i].next_try = 0;
		a->v[i].backoff_ms = 0;
	}
	a->dump_wanted = true;
	return 0;
}

/* ---- requests ---- */

static struct nlmsghdr *
route_msg(struct lp_announce *a, void *buf, uint16_t type, uint16_t flags, uint8_t family)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++a->seq;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = family;
	rtm->rtm_table = a->o.table < 256 ? (uint8_t)a->o.table : RT_TABLE_UNSPEC;
	mnl_attr_put_u32(nlh, RTA_TABLE, a->o.table);
	return nlh;
}

static void failed(struct lp_announce *a, struct vip *v, uint8_t op, int err, const char *msg, uint64_t now);

/* Send one addition or deletion; false when the socket takes no more now. */
static bool
send_route(struct lp_announce *a, uint32_t idx, uint8_t op, uint64_t now)
{
	struct vip *v = &a->v[idx];
	uint8_t buf[512];
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	uint8_t fam = af_of(&v->addr);

	nlh = route_msg(a, buf, op == OP_ADD ? RTM_NEWROUTE : RTM_DELROUTE,
			NLM_F_ACK | (op == OP_ADD ? NLM_F_CREATE | NLM_F_REPLACE : 0), fam);
	rtm = mnl_nlmsg_get_payload(nlh);
	rtm->rtm_dst_len = fam == AF_INET ? 32 : 128;
	rtm->rtm_protocol = a->o.protocol;
	rtm->rtm_scope = op == OP_ADD ? RT_SCOPE_LINK : RT_SCOPE_NOWHERE;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_DST, fam == AF_INET ? 4 : 16, v->addr.a);
	if (op == OP_ADD)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)a->o.ifindex);
	if (a->o.metric != 0)
		mnl_attr_put_u32(nlh, RTA_PRIORITY, a->o.metric);
	if (mnl_socket_sendto(a->nl, nlh, nlh->nlmsg_len) < 0) {
		a->st.send_errors++;
		/* Full socket: try again on the next poll. Anything else is
		 * a failure of this VIP, retried with backoff. */
		if (errno == EAGAIN || errno == ENOBUFS || errno == EINTR)
			return false;
		failed(a, v, op, errno, NULL, now);
		return true;
	}
	v->op = op;
	v->seq = nlh->nlmsg_seq;
	v->sent_at = now;
	a->fl[a->n_fl++] = (struct inflight){ .seq = v->seq, .idx = idx };
	if (op == OP_ADD)
		a->st.route_adds++;
	else
		a->st.route_dels++;
	return true;
}

static void
send_dump(struct lp_announce *a, uint64_t now)
{
	uint8_t buf[256];
	struct nlmsghdr *nlh = route_msg(a, buf, RTM_GETROUTE, NLM_F_DUMP, AF_UNSPEC);
	struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);

	rtm->rtm_protocol = a->o.protocol;	/* strict dumps filter on it */
	if (mnl_socket_sendto(a->nl, nlh, nlh->nlmsg_len) < 0) {
		a->st.send_errors++;
		return;
	}
	for (uint32_t i = 0; i < a->n; i++)
		a->v[i].seen = false;
	a->dumping = true;
	a->dump_wanted = false;
	a->dump_seq = nlh->nlmsg_seq;
	a->dump_sent = now;
	a->st.resyncs++;
}

/* ---- answers ---- */

static void
succeeded(struct lp_announce *a, struct vip *v, uint8_t op)
{
	char ip[INET6_ADDRSTRLEN];

	v->kstate = op == OP_ADD ? K_PRESENT : K_ABSENT;
	if (op == OP_ADD && v->recheck)
		v->kstate = K_ABSENT;	/* someone removed it meanwhile: add it again */
	v->recheck = false;
	if (v->logged && v->in_set)
		ALOG(NOTICE, "route for %s in table %u: %s again\n", fmt_ip(&v->addr, ip, sizeof(ip)),
		     a->o.table, op == OP_ADD ? "added" : "deleted");
	v->failures = 0;
	v->backoff_ms = 0;
	v->logged = false;
	v->err = 0;
	v->err_msg[0] = '\0';
}

static void
failed(struct lp_announce *a, struct vip *v, uint8_t op, int err, const char *msg, uint64_t now)
{
	char ip[INET6_ADDRSTRLEN];

	a->st.errors++;
	/* A refused addition changed nothing; after a refused deletion we do
	 * not know. */
	v->kstate = op == OP_ADD ? K_ABSENT : K_UNKNOWN;
	v->recheck = false;
	v->failures++;
	v->err = err;
	snprintf(v->err_msg, sizeof(v->err_msg), "%s", msg != NULL ? msg : "");
	v->backoff_ms = v->backoff_ms == 0 ? a->o.retry_min_ms : v->backoff_ms * 2;
	if (v->backoff_ms > a->o.retry_max_ms)
		v->backoff_ms = a->o.retry_max_ms;
	v->next_try = now + ms_to_ticks(a, v->backoff_ms);
	if (!v->logged) {
		v->logged = true;
		ALOG(WARNING, "cannot %s the route for %s in table %u: %s (counted, retrying)\n",
		     op == OP_ADD ? "add" : "delete", fmt_ip(&v->addr, ip, sizeof(ip)), a->o.table,
		     v->err_msg[0] != '\0' ? v->err_msg : strerror(err));
	}
}

static int
ext_ack_cb(const struct nlattr *attr, void *data)
{
	const char **msg = data;

	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
		*msg = mnl_attr_get_str(attr);
	return MNL_CB_OK;
}

int
lp_announce_nl_error(const struct nlmsghdr *nlh, const char **msg)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t len = mnl_nlmsg_get_payload_len(nlh), off = sizeof(*e);

	*msg = NULL;
	if (len < sizeof(*e))
		return -EIO;
	/* Without NETLINK_CAP_ACK the request follows, then the TLVs. */
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED) && e->msg.nlmsg_len >= sizeof(struct nlmsghdr))
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && off < len)
		mnl_attr_parse_payload((const uint8_t *)e + off, len - off, ext_ack_cb, msg);
	return e->error;
}

struct route_attrs {
	const uint8_t *dst;
	uint32_t table;
	uint32_t oif;
};

static int
route_attr_cb(const struct nlattr *attr, void *data)
{
	struct route_attrs *r = data;

	switch (mnl_attr_get_type(attr)) {
	case RTA_DST:
		if (mnl_attr_get_payload_len(attr) >= 4)
			r->dst = mnl_attr_get_payload(attr);
		break;
	case RTA_TABLE:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
			r->table = mnl_attr_get_u32(attr);
		break;
	case RTA_OIF:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
			r->oif = mnl_attr_get_u32(attr);
		break;
	}
	return MNL_CB_OK;
}

/* A route message about one of limpet's routes in its table: its address. */
static bool
our_route(const struct lp_announce *a, const struct nlmsghdr *nlh, struct lp_ip *ip, uint32_t *oif)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct route_attrs r = { 0 };

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm) || rtm->rtm_protocol != a->o.protocol)
		return false;
	if ((rtm->rtm_family != AF_INET || rtm->rtm_dst_len != 32) &&
	    (rtm->rtm_family != AF_INET6 || rtm->rtm_dst_len != 128))
		return false;
	r.table = rtm->rtm_table;
	mnl_attr_parse(nlh, sizeof(*rtm), route_attr_cb, &r);
	if (r.table != a->o.table || r.dst == NULL)
		return false;
	memset(ip, 0, sizeof(*ip));
	ip->family = rtm->rtm_family == AF_INET ? LP_AF_INET : LP_AF_INET6;
	memcpy(ip->a, r.dst, rtm->rtm_family == AF_INET ? 4 : 16);
	*oif = r.oif;
	return true;
}

static void
dump_route(struct lp_announce *a, const struct nlmsghdr *nlh)
{
	struct lp_ip ip;
	uint32_t oif;
	struct vip *v;

	if (!our_route(a, nlh, &ip, &oif))
		return;
	v = find(a, &ip);
	if (v == NULL) {
		/* Left by an earlier run, or by hand: nobody wants it. */
		if (a->n >= LP_ANNOUNCE_MAX_VIPS * 2 || reserve(a, a->n + 1) != 0)
			return;
		v = &a->v[a->n++];
		vip_init(v, &ip);
		v->kstate = K_PRESENT;
		a->st.stale_removed++;
	}
	v->seen = true;
	if (oif != (uint32_t)a->o.ifindex)
		v->recheck = true;	/* on another interface: replace it */
}

static void
dump_done(struct lp_announce *a, uint64_t now)
{
	a->dumping = false;
	for (uint32_t i = 0; i < a->n; i++) {
		struct vip *v = &a->v[i];

		/* A request sent during the dump may or may not be in it. */
		if (v->op != OP_NONE || (v->seq != 0 && (int32_t)(v->seq - a->dump_seq) > 0)) {
			v->recheck = v->op == OP_ADD && v->recheck;
			continue;
		}
		if (v->seen && v->recheck) {
			v->kstate = K_UNKNOWN;
			v->next_try = now;
		} else if (v->seen) {
			v->kstate = K_PRESENT;
		} else {
			if (v->kstate == K_PRESENT) {
				a->st.removed_outside++;
				v->next_try = now;
			}
			v->kstate = K_ABSENT;
		}
		v->recheck = false;
	}
}

static void
handle_reply(struct lp_announce *a, const struct nlmsghdr *nlh, uint64_t now)
{
	const char *msg;
	struct vip *v;
	uint8_t op;
	int err;

	if (a->dumping && nlh->nlmsg_seq == a->dump_seq) {
		if (nlh->nlmsg_type == RTM_NEWROUTE) {
			dump_route(a, nlh);
		} else if (nlh->nlmsg_type == NLMSG_DONE) {
			dump_done(a, now);
		} else if (nlh->nlmsg_type == NLMSG_ERROR) {
			/* e.g. a dump interrupted by a change: do it again. */
			a->dumping = false;
			a->dump_wanted = true;
		}
		return;
	}
	if (nlh->nlmsg_type != NLMSG_ERROR)
		return;
	v = fl_take(a, nlh->nlmsg_seq);
	if (v == NULL)
		return;		/* answer to a request already given up on */
	op = v->op;
	v->op = OP_NONE;
	err = -lp_announce_nl_error(nlh, &msg);
	if (err == 0) {
		a->st.acks++;
		succeeded(a, v, op);
	} else if (op == OP_DEL && (err == ESRCH || err == ENOENT || err == ENODEV)) {
		/* Already gone (routes leave with their device). */
		a->st.acks++;
		succeeded(a, v, op);
	} else {
		failed(a, v, op, err, msg, now);
	}
}

/* A notification on the monitor socket. */
static void
handle_event(struct lp_announce *a, const struct nlmsghdr *nlh, uint64_t now)
{
	struct lp_ip ip;
	uint32_t oif;
	struct vip *v;

	if (nlh->nlmsg_type == RTM_NEWLINK || nlh->nlmsg_type == RTM_DELLINK) {
		const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

		/* IPv4 routes leave with a link that goes down, and the kernel
		 * says nothing about them: look at the table. */
		if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(*ifi) && ifi->ifi_index == a->o.ifindex)
			a->dump_wanted = true;
		return;
	}
	/* Our own requests' notifications carry our port id. */
	if ((nlh->nlmsg_type != RTM_DELROUTE && nlh->nlmsg_type != RTM_NEWROUTE) || nlh->nlmsg_pid == a->portid)
		return;
	if (!our_route(a, nlh, &ip, &oif))
		return;
	v = find(a, &ip);
	if (v == NULL)
		return;
	if (nlh->nlmsg_type == RTM_NEWROUTE) {
		/* Someone replaced it with a route elsewhere: put ours back. */
		if (oif != (uint32_t)a->o.ifindex && v->op == OP_NONE && v->kstate == K_PRESENT) {
			a->st.removed_outside++;
			v->kstate = K_UNKNOWN;
			v->next_try = now;
		}
		return;
	}
	if (v->op == OP_ADD) {
		v->recheck = true;
	} else if (v->op == OP_NONE && v->kstate != K_ABSENT) {
		if (v->kstate == K_PRESENT)
			a->st.removed_outside++;
		v->kstate = K_ABSENT;
		v->next_try = now;
	}
}

/* Read at most LP_ANNOUNCE_BURST datagrams from @p s. */
static void
drain(struct lp_announce *a, struct mnl_socket *s, bool events, uint64_t now)
{
	for (uint32_t i = 0; i < LP_ANNOUNCE_BURST; i++) {
		ssize_t len = recv(mnl_socket_get_fd(s), a->buf, sizeof(a->buf), MSG_DONTWAIT);
		const struct nlmsghdr *nlh;
		int left;

		if (len < 0) {
			if (errno == ENOBUFS) {
				/* The kernel dropped messages for us: notifications,
				 * or answers. The table tells what happened. */
				a->st.overruns++;
				a->dump_wanted = true;
				if (a->dumping && !events)
					a->dumping = false;
				continue;
			}
			return;		/* EAGAIN: nothing more now */
		}
		left = (int)len;
		for (nlh = (const struct nlmsghdr *)a->buf; mnl_nlmsg_ok(nlh, left);
		     nlh = mnl_nlmsg_next(nlh, &left)) {
			if (events)
				handle_event(a, nlh, now);
			else
				handle_reply(a, nlh, now);
		}
	}
}

/* Requests without an answer: assume it was lost. */
static void
expire_inflight(struct lp_announce *a, uint64_t now)
{
	uint64_t limit = ms_to_ticks(a, a->o.ack_timeout_ms);

	for (uint32_t i = 0; i < a->n_fl;) {
		struct vip *v = &a->v[a->fl[i].idx];

		if (now - v->sent_at < limit || v->op == OP_NONE) {
			i++;
			continue;
		}
		a->fl[i] = a->fl[--a->n_fl];
		a->st.ack_timeouts++;
		v->op = OP_NONE;
		v->kstate = K_UNKNOWN;
		v->next_try = now;
	}
	if (a->dumping && now - a->dump_sent >= limit * 4) {
		a->dumping = false;
		a->dump_wanted = true;
	}
}

/* Forget routes that left the set once they are gone. */
static void
compact(struct lp_announce *a)
{
	uint32_t j = a->n_set;
	bool moved = false;

	for (uint32_t i = a->n_set; i < a->n; i++) {
		struct vip *v = &a->v[i];

		if (v->kstate == K_ABSENT && v->op == OP_NONE) {
			moved = true;
			continue;
		}
		if (i != j)
			a->v[j] = *v;
		j++;
	}
	if (moved) {
		a->n = j;
		a->cursor = 0;
		fl_rebuild(a);
	}
}

static void
send_changes(struct lp_announce *a, uint64_t now, bool ignore_backoff)
{
	uint32_t sent = 0;

	for (uint32_t k = 0; k < a->n && sent < LP_ANNOUNCE_BURST && a->n_fl < MAX_INFLIGHT; k++) {
		uint32_t i = (a->cursor + k) % a->n;
		struct vip *v = &a->v[i];
		uint8_t op = OP_NONE;

		if (v->op != OP_NONE || (!ignore_backoff && now < v->next_try))
			continue;
		if (wanted(a, v) && v->kstate != K_PRESENT)
			op = OP_ADD;
		else if (!wanted(a, v) && v->kstate != K_ABSENT)
			op = OP_DEL;
		if (op == OP_NONE)
			continue;
		if (!send_route(a, i, op, now))
			break;
		sent++;
		a->cursor = (i + 1) % a->n;
	}
}

static void
poll_once(struct lp_announce *a, uint64_t now, bool ignore_backoff)
{
	a->now = now;
	clock_gettime(CLOCK_MONOTONIC, &a->now_mono);
	/* Notifications first: one of someone else's deletions is then
	 * known before the answers read below are acted upon. */
	drain(a, a->mon, true, now);
	drain(a, a->nl, false, now);
	expire_inflight(a, now);
	compact(a);
	if (!a->dumping && (a->dump_wanted || now >= a->next_resync)) {
		send_dump(a, now);
		a->next_resync = now + ms_to_ticks(a, a->o.resync_ms);
	}
	send_changes(a, now, ignore_backoff);
}

void
lp_announce_poll(struct lp_announce *a, uint64_t now)
{
	poll_once(a, now, false);
}

bool
lp_announce_settled(const struct lp_announce *a)
{
	if (a->n_fl > 0 || a->dumping)
		return false;
	for (uint32_t i = 0; i < a->n; i++) {
		const struct vip *v = &a->v[i];

		if (v->op != OP_NONE || v->kstate != (wanted(a, v) ? K_PRESENT : K_ABSENT))
			return false;
	}
	return true;
}

static uint32_t
not_withdrawn(const struct lp_announce *a)
{
	uint32_t left = 0;

	for (uint32_t i = 0; i < a->n; i++)
		left += a->v[i].kstate != K_ABSENT || a->v[i].op != OP_NONE;
	return left;
}

int
lp_announce_withdraw_all(struct lp_announce *a, unsigned int timeout_ms)
{
	struct timespec t0, t;
	uint64_t elapsed_ms = 0, base = a->now;
	struct pollfd pfd = { .fd = mnl_socket_get_fd(a->nl), .events = POLLIN };

	lp_announce_hold(a, LP_ANNOUNCE_HOLD_SHUTDOWN, true);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* Keep limpet's clock running from the last poll's @c now. */
	if (a->now_mono.tv_sec != 0)
		base += ms_to_ticks(a, (uint64_t)(t0.tv_sec - a->now_mono.tv_sec) * 1000 +
					       (uint64_t)((t0.tv_nsec - a->now_mono.tv_nsec) / 1000000));
	for (;;) {
		uint32_t left;

		poll_once(a, base + ms_to_ticks(a, elapsed_ms), true);
		left = not_withdrawn(a);
		if (left == 0 || elapsed_ms >= timeout_ms)
			return (int)left;
		(void)poll(&pfd, 1, 5);
		clock_gettime(CLOCK_MONOTONIC, &t);
		elapsed_ms = (uint64_t)(t.tv_sec - t0.tv_sec) * 1000 + (uint64_t)(t.tv_nsec - t0.tv_nsec) / 1000000;
	}
}

uint32_t
lp_announce_count(const struct lp_announce *a)
{
	return a->n_set;
}

static enum lp_announce_why
why_of(const struct lp_announce *a, const struct vip *v)
{
	if (a->holds & LP_ANNOUNCE_HOLD_SHUTDOWN)
		return LP_ANNOUNCE_WHY_shutdown;
	if (a->holds & LP_ANNOUNCE_HOLD_OPERATOR)
		return LP_ANNOUNCE_WHY_operator;
	if (a->holds & LP_ANNOUNCE_HOLD_WORKERS)
		return LP_ANNOUNCE_WHY_workers;
	if (a->holds & LP_ANNOUNCE_HOLD_LOADING)
		return LP_ANNOUNCE_WHY_loading;
	if (!v->can_serve)
		return LP_ANNOUNCE_WHY_no_backend;
	if (v->kstate == K_PRESENT && v->op == OP_NONE)
		return LP_ANNOUNCE_WHY_announced;
	if (v->failures > 0)
		return LP_ANNOUNCE_WHY_netlink;
	return LP_ANNOUNCE_WHY_pending;
}

int
lp_announce_view(const struct lp_announce *a, uint32_t i, struct lp_announce_view *out)
{
	const struct vip *v;

	if (i >= a->n_set)
		return -ENOENT;
	v = &a->v[i];
	memset(out, 0, sizeof(*out));
	out->addr = v->addr;
	out->announced = v->kstate == K_PRESENT;
	out->wanted = wanted(a, v);
	out->why = why_of(a, v);
	out->failures = v->failures;
	if (out->why == LP_ANNOUNCE_WHY_netlink)
		snprintf(out->why_text, sizeof(out->why_text), "netlink error: %s",
			 v->err_msg[0] != '\0' ? v->err_msg : strerror(v->err));
	else
		snprintf(out->why_text, sizeof(out->why_text), "%s", lp_announce_why_name(out->why));
	return 0;
}

const struct lp_announce_stats *
lp_announce_stats(const struct lp_announce *a)
{
	return &a->st;
}
