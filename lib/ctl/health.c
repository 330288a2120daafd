/* SPDX-License-Identifier: BSD-3-Clause */
/* Active health checks over the data ports, and the passive signal. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_random.h>

#include "ctl_priv.h"
#include "lp_health.h"
#include "lp_log.h"

enum { HC_IDLE = 0, HC_SYN_SENT, HC_REQ_SENT };

void
lp_health_init(struct lp_ctl *c)
{
	/* Differs from the last start in this process too (tests restart). */
	static uint32_t last = UINT32_MAX;
	uint64_t r;

	do {
		if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
			r = rte_rand();
		c->hc_port_offset = (uint32_t)(r % LP_STATS_BE_SLOTS);
	} while (c->hc_port_offset == last);
	last = c->hc_port_offset;
}

uint16_t
lp_health_sport(const struct lp_ctl *c, uint32_t gslot)
{
	return (uint16_t)(LP_HEALTH_SPORT_BASE + (gslot + c->hc_port_offset) % LP_STATS_BE_SLOTS);
}

static uint16_t
probe_port(const struct msvc *s, const struct mbe *b)
{
	return s->cfg.health.port ? s->cfg.health.port : b->cfg.port;
}

/* Build and send one TCP segment of a probe conversation. @return 0,
 * -EAGAIN while the backend's next hop is being resolved, or -errno. */
static int
probe_send(struct lp_ctl *c, const struct msvc *s, struct mbe *b, uint8_t flags, uint32_t seq, uint32_t ack,
	   const char *payload)
{
	struct lp_pkt_spec sp = { 0 };
	struct rte_mbuf *m;
	const struct lp_cfg_port *cp;
	struct lp_mac mac;
	int len;

	if (b->nbr == LP_NBR_NONE)
		return -ENETUNREACH;
	if (!lp_nbr_mac(c->dp.nbr, b->nbr, &mac)) {
		lp_nbr_want(c->dp.nbr, b->nbr);
		return -EAGAIN;
	}
	/* From the port's address on the backend's subnet if it has one (the
	 * backend answers it directly), else its first of the family. */
	cp = &c->cfg->ports[b->tx_port];
	for (uint32_t i = 0; i < cp->n_addrs; i++) {
		if (cp->addr[i].family != b->cfg.addr.family)
			continue;
		if (sp.src.family == 0 || lp_ip_in_prefix(&b->cfg.addr, &cp->addr[i], cp->prefix[i]))
			sp.src = cp->addr[i];
		if (lp_ip_in_prefix(&b->cfg.addr, &cp->addr[i], cp->prefix[i]))
			break;
	}
	if (sp.src.family == 0)
		return -EADDRNOTAVAIL;	/* no own address of that family to probe from */
	m = rte_pktmbuf_alloc(c->pool);
	if (m == NULL)
		return -ENOMEM;
	sp.src_mac = c->dp.port[b->tx_port].mac;
	sp.dst_mac = mac;
	sp.dst = b->cfg.addr;
	sp.proto = IPPROTO_TCP;
	sp.sport = lp_health_sport(c, b->gslot);
	sp.dport = probe_port(s, b);
	sp.tcp_flags = flags;
	sp.seq = seq;
	sp.ack = ack;
	sp.window = 65535;
	sp.df = true;
	sp.payload = payload;
	sp.payload_len = payload ? (uint16_t)strlen(payload) : 0;
	len = lp_pkt_build(rte_pktmbuf_mtod(m, uint8_t *), rte_pktmbuf_tailroom(m), &sp);
	if (len <= 0) {
		rte_pktmbuf_free(m);
		return -EINVAL;
	}
	m->data_len = (uint16_t)len;
	m->pkt_len = (uint32_t)len;
	c->work++;
	return ctl_send(c, b->tx_port, m);
}

/* Count one probe result. Enough of one kind changes the backend's health:
 * a change that replaces the service's model, so the caller must not use
 * @p s or @p b afterwards. */
static void
verdict(struct lp_ctl *c, struct msvc *s, struct mbe *b, bool ok, const char *why, uint64_t now)
{
	const struct lp_cfg_health *h = &s->cfg.health;
	char a[LP_ENDPOINT_STRLEN];
	struct lp_ip addr = b->cfg.addr;
	uint16_t port = b->cfg.port;

	b->hc.state = HC_IDLE;
	b->hc.next = now + (uint64_t)h->interval_ms * c->dp.hz / 1000;
	snprintf(b->hc.last, sizeof(b->hc.last), "%s", why);
	if (ok) {
		b->hc.fail = 0;
		if (++b->hc.ok >= h->rise && !b->healthy) {
			LP_LOG(NOTICE, health, "service '%s': backend %s up (%u checks passed)\n", s->cfg.name,
			       lp_endpoint_format(&addr, port, a, sizeof(a)), b->hc.ok);
			lp_ctl_backend_set_health(c, s->cfg.name, &addr, port, true, NULL);
		}
	} else {
		b->hc.ok = 0;
		LP_LOG(DEBUG, health, "service '%s': backend %s check failed (%u in a row): %s\n", s->cfg.name,
		       lp_endpoint_format(&addr, port, a, sizeof(a)), b->hc.fail + 1, why);
		if (++b->hc.fail >= h->fall && b->healthy) {
			LP_LOG(NOTICE, health, "service '%s': backend %s down (%u checks failed, last: %s)\n",
			       s->cfg.name, lp_endpoint_format(&addr, port, a, sizeof(a)), b->hc.fail, why);
			lp_ctl_backend_set_health(c, s->cfg.name, &addr, port, false, NULL);
		}
	}
}

/* Send the probe's SYN. While the backend's next hop is being resolved it
 * waits (hc.unsent) and goes as soon as the address is known, within the
 * probe's timeout: the first probe after start or after a backend was
 * added must not fail only because nobody had asked for its MAC yet. */
static void
send_syn(struct lp_ctl *c, struct msvc *s, struct mbe *b)
{
	b->hc.isn = (uint32_t)rte_rand();
	b->hc.nxt = b->hc.isn + 1;
	b->hc.state = HC_SYN_SENT;
	b->hc.unsent = probe_send(c, s, b, LP_TCP_SYN, b->hc.isn, 0, NULL) == -EAGAIN;
}

static void
probe_start(struct lp_ctl *c, struct msvc *s, struct mbe *b, uint64_t now)
{
	b->hc.sent = now;
	b->hc.resent = false;
	send_syn(c, s, b);
}

/* Answer a segment that belongs to no probe in flight as a closed port
 * would (RFC 793, reset generation). Probes of one backend use the same
 * 4-tuple for the whole run, so a backend socket left over from an
 * abandoned probe (the server stalled past the timeout, say) must not
 * outlive it: it would
 * answer every later SYN with a challenge ACK (RFC 5961) instead of a
 * SYN-ACK, and the backend would stay down for good. */
static void
reset_stray(struct lp_ctl *c, const struct msvc *s, struct mbe *b, uint8_t flags, uint32_t seq, uint32_t ack,
	    uint32_t dlen)
{
	if (flags & LP_TCP_RST)
		return;
	if (flags & LP_TCP_ACK)
		probe_send(c, s, b, LP_TCP_RST, ack, 0, NULL);
	else
		probe_send(c, s, b, LP_TCP_RST | LP_TCP_ACK, 0,
			   seq + dlen + !!(flags & LP_TCP_SYN) + !!(flags & LP_TCP_FIN), NULL);
}

/* Passive: client handshakes to this backend failed since the last look
 * and none completed. */
static bool
passive_failed(struct lp_ctl *c, struct mbe *b)
{
	uint64_t est = 0, fail = 0;
	bool bad;

	for (uint32_t w = 0; w < c->dp.n_workers; w++) {
		est += c->worker_stats[w]->be[b->gslot].est;
		fail += c->worker_stats[w]->be[b->gslot].syn_fail;
	}
	bad = fail > b->hc.synfail && est == b->hc.est;
	b->hc.est = est;
	b->hc.synfail = fail;
	return bad;
}

void
lp_health_tick(struct lp_ctl *c, uint64_t now)
{
	for (uint32_t i = 0; i < LP_MAX_SERVICES; i++) {
		struct msvc *s = c->svc[i];
		uint64_t timeout, quarter;

		if (s == NULL || s->cfg.health.type == LP_HEALTH_NONE)
			continue;
		timeout = (uint64_t)s->cfg.health.timeout_ms * c->dp.hz / 1000;
		quarter = (uint64_t)s->cfg.health.interval_ms * c->dp.hz / 4000;
		for (uint32_t k = 0; k < s->n_be; k++) {
			struct mbe *b = &s->be[k];

			if (b->hc.state == HC_SYN_SENT && b->hc.unsent && now - b->hc.sent <= timeout &&
			    lp_nbr_mac(c->dp.nbr, b->nbr, &(struct lp_mac){ { 0 } }))
				send_syn(c, s, b);
			if (b->hc.state != HC_IDLE && now - b->hc.sent > timeout) {
				const char *why = b->hc.state == HC_SYN_SENT && b->hc.unsent ? "next hop unresolved"
						  : b->hc.state == HC_SYN_SENT		   ? "timeout"
											   : "no http response";

				/* The connection may be half open: reset it, with the
				 * sequence number the backend expects (RFC 5961 ignores
				 * a reset that is merely in the window). */
				probe_send(c, s, b, LP_TCP_RST, b->hc.nxt, 0, NULL);
				/* Last: a verdict that changes the backend's health
				 * replaces the service's model (s and b with it). */
				verdict(c, s, b, false, why, now);
				break;
			}
			if (b->hc.state != HC_IDLE)
				continue;
			if (now >= b->hc.next) {
				probe_start(c, s, b, now);
			} else if (b->healthy && now >= b->hc.hint_next) {
				/* Client handshakes failing is a hint, not a verdict:
				 * anyone can open handshakes and abandon them, and a
				 * SYN flood from spoofed addresses would take every
				 * backend down. It brings the next probe forward (at
				 * most four times an interval); the probe decides. */
				b->hc.hint_next = now + quarter;
				if (passive_failed(c, b))
					probe_start(c, s, b, now);
			}
		}
	}
}

int
lp_health_input(struct lp_ctl *c, struct rte_mbuf *m, const struct lp_pkt_meta *meta, uint64_t now)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	uint16_t sport = (uint16_t)((meta->key.dport >> 8) | (meta->key.dport << 8));
	uint16_t peer = (uint16_t)((meta->key.sport >> 8) | (meta->key.sport << 8));
	uint32_t gslot, seq, ack, doff, l4len, dlen;
	const char *data;
	uint8_t flags;
	struct msvc *s = NULL;
	struct mbe *b = NULL;

	if (meta->key.proto != IPPROTO_TCP || meta->l4_off == 0 || sport < LP_HEALTH_SPORT_BASE ||
	    sport >= LP_HEALTH_SPORT_BASE + LP_STATS_BE_SLOTS)
		return -ENOENT;
	gslot = (sport - LP_HEALTH_SPORT_BASE + LP_STATS_BE_SLOTS - c->hc_port_offset) % LP_STATS_BE_SLOTS;
	for (uint32_t i = 0; i < LP_MAX_SERVICES && b == NULL; i++) {
		s = c->svc[i];
		for (uint32_t k = 0; s != NULL && k < s->n_be; k++)
			if (s->be[k].gslot == gslot) {
				b = &s->be[k];
				break;
			}
	}
	if (b == NULL || peer != probe_port(s, b) || memcmp(meta->key.src, b->cfg.addr.a, 16) != 0)
		return -ENOENT;
	seq = (uint32_t)f[meta->l4_off + 4] << 24 | (uint32_t)f[meta->l4_off + 5] << 16 |
	      (uint32_t)f[meta->l4_off + 6] << 8 | f[meta->l4_off + 7];
	ack = (uint32_t)f[meta->l4_off + 8] << 24 | (uint32_t)f[meta->l4_off + 9] << 16 |
	      (uint32_t)f[meta->l4_off + 10] << 8 | f[meta->l4_off + 11];
	doff = (uint32_t)(f[meta->l4_off + 12] >> 4) * 4;
	l4len = meta->l3_len - (meta->l4_off - meta->l3_off);
	dlen = l4len > doff ? l4len - doff : 0;
	data = (const char *)f + meta->l4_off + doff;
	flags = meta->tcp_flags;

	if (b->hc.state == HC_IDLE) {
		/* Late: the rest of a probe already judged. */
		reset_stray(c, s, b, flags, seq, ack, dlen);
	} else if (flags & LP_TCP_RST) {
		/* Only a reset of this probe's own connection is a verdict
		 * (RFC 793 and 5961): in SYN-SENT one that acknowledges our
		 * SYN, later one whose sequence number is in our window. Any
		 * other belongs to an older connection on the same 4-tuple (a
		 * backend answering a stray segment of it): not the backend
		 * refusing this probe, which goes on. */
		bool ours = b->hc.state == HC_SYN_SENT ? (flags & LP_TCP_ACK) && ack == b->hc.isn + 1
						       : seq - (b->hc.irs + 1) < 65535u;

		if (ours)
			verdict(c, s, b, false, b->hc.state == HC_SYN_SENT ? "connection refused" : "connection reset",
				now);
	} else if (b->hc.state == HC_SYN_SENT) {
		if ((flags & (LP_TCP_SYN | LP_TCP_ACK)) != (LP_TCP_SYN | LP_TCP_ACK) || ack != b->hc.isn + 1) {
			/* Not the answer to this SYN: an old connection on the same
			 * 4-tuple (challenge ACK) or an old SYN's answer. Reset it
			 * and send the SYN once more within this probe's time. */
			reset_stray(c, s, b, flags, seq, ack, dlen);
			if (!b->hc.resent) {
				b->hc.resent = true;
				send_syn(c, s, b);
			}
		} else if (s->cfg.health.type == LP_HEALTH_TCP) {
			b->hc.irs = seq;
			probe_send(c, s, b, LP_TCP_RST, ack, 0, NULL);
			verdict(c, s, b, true, "tcp ok", now);
		} else {
			char req[LP_PATH_MAX + 128], a[LP_IP_STRLEN];

			snprintf(req, sizeof(req),
				 "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: limpet-health\r\nConnection: close\r\n\r\n",
				 s->cfg.health.path, lp_ip_format(&b->cfg.addr, a, sizeof(a)));
			b->hc.irs = seq;
			probe_send(c, s, b, LP_TCP_ACK | LP_TCP_PSH, ack, seq + 1, req);
			b->hc.nxt = ack + (uint32_t)strlen(req);
			b->hc.state = HC_REQ_SENT;
		}
	} else if (dlen >= 12 && memcmp(data, "HTTP/1.", 7) == 0) {	/* HC_REQ_SENT */
		int code = (data[9] - '0') * 100 + (data[10] - '0') * 10 + (data[11] - '0');
		char why[32];

		snprintf(why, sizeof(why), "http %d", code);
		probe_send(c, s, b, LP_TCP_RST, b->hc.nxt, 0, NULL);
		verdict(c, s, b, code >= 200 && code < 400, why, now);
	} else if (dlen > 0) {
		probe_send(c, s, b, LP_TCP_RST, b->hc.nxt, 0, NULL);
		verdict(c, s, b, false, "not an http response", now);
	}
	/* A bare ACK of our request: keep waiting for the data. */
	rte_pktmbuf_free(m);
	return 0;
}

void
lp_health_abort(struct lp_ctl *c)
{
	/* A probe in flight when limpet stops would leave the backend a half
	 * closed connection on the probe's 4-tuple, which the next run's first
	 * SYN from the same port runs into: reset it now. */
	for (uint32_t i = 0; i < LP_MAX_SERVICES; i++) {
		struct msvc *s = c->svc[i];

		for (uint32_t k = 0; s != NULL && k < s->n_be; k++) {
			struct mbe *b = &s->be[k];

			if (b->hc.state != HC_IDLE && !b->hc.unsent)
				probe_send(c, s, b, LP_TCP_RST, b->hc.nxt, 0, NULL);
			b->hc.state = HC_IDLE;
		}
	}
}
