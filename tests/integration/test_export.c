/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/export against a running limpet (two workers, ring ports), with
 * this thread as the control thread: it polls lp_ctl and lp_export while
 * it plays the clients, over loopback only.
 *
 * Properties: GET /metrics is well-formed Prometheus text whose values are
 * the views'; the HTTP server answers other paths and methods with errors,
 * serves a client that trickles its request or reads slowly while an idle
 * client holds a slot, and leaks no descriptor; telemetry requests are
 * answered by the control thread, and time out (and recover) when it does
 * not poll; rates add up to the packets sent; the show texts name what
 * they report; every metric family, drop reason and binding reason is
 * described in docs/observability.md.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>

#include "itest.h"
#include "lp_export.h"
#include "lp_test.h"

static const char config_yaml[] =
	"ports:\n"
	"  - { name: wan, device: net_ring_wan, address: 10.0.0.1/24, gateway: 10.0.0.254 }\n"
	"  - { name: lan, device: net_ring_lan, address: 10.1.0.1/24 }\n"
	"neighbors:\n"
	"  - { address: 10.0.0.254, mac: \"02:00:00:00:00:fe\", port: wan }\n"
	"  - { address: 10.1.0.11, mac: \"02:00:00:00:01:0b\", port: lan }\n"
	"  - { address: 10.1.0.12, mac: \"02:00:00:00:01:0c\", port: lan }\n"
	"services:\n"
	"  - name: web\n"
	"    vip: 10.0.0.100\n"
	"    port: 80\n"
	"    sessionAffinity: ClientIP\n"
	"    backends: [ { address: 10.1.0.11, port: 8080 }, { address: 10.1.0.12, port: 8080 } ]\n"
	"  - name: plain\n"
	"    vip: 10.0.0.101\n"
	"    port: 80\n"
	"    backends: [ { address: 10.1.0.11, port: 8081 } ]\n";

#define INTERVAL_MS 200

static struct itest_port wan, lan;
static struct lp_ctl *ctl;
static struct lp_export *xp;
static struct lp_stats *tot;
static uint32_t sent_seq;

static int
suite_init(void)
{
	struct lp_export_opts o = { .metrics_addr = "127.0.0.1:0", .telemetry = true, .interval_ms = INTERVAL_MS };
	struct lp_diag d = { 0 };

	if (itest_port_create(&wan, "wan", 2) != 0 || itest_port_create(&lan, "lan", 2) != 0)
		return -1;
	tot = malloc(sizeof(*tot));
	ctl = itest_start(config_yaml);
	if (ctl == NULL || tot == NULL)
		return -1;
	xp = lp_export_create(ctl, &o, &d);
	lp_diag_print(&d, stderr);
	lp_diag_clear(&d);
	return xp == NULL ? -1 : 0;
}

static int
suite_cleanup(void)
{
	lp_export_destroy(xp);
	itest_stop(ctl);
	free(tot);
	return 0;
}

/* One pass of the control loop, as app/limpet runs it. */
static void
pass(void)
{
	uint64_t now = rte_rdtsc();

	lp_ctl_poll(ctl, now);
	lp_export_poll(xp, now);
	itest_drain(&wan);
	itest_drain(&lan);
}

static void
pump(unsigned int ms)
{
	uint64_t end = rte_get_tsc_cycles() + (uint64_t)ms * rte_get_tsc_hz() / 1000;

	while (rte_get_tsc_cycles() < end) {
		pass();
		rte_delay_us_sleep(200);
	}
}

/* @n SYNs to @p vip from new clients, plus one frame for no service. */
static void
traffic(const char *vip, unsigned int n)
{
	uint8_t f[256];
	char ip[32];

	for (unsigned int i = 0; i < n; i++, sent_seq++) {
		int len;

		snprintf(ip, sizeof(ip), "172.16.%u.%u", sent_seq / 200 % 250, sent_seq % 200 + 1);
		len = itest_frame(f, sizeof(f), NULL, ip, (uint16_t)(1000 + sent_seq / 50000), vip, 80, IPPROTO_TCP,
				  LP_TCP_SYN);
		CU_ASSERT_FATAL(itest_inject(&wan, f, (uint32_t)len) == 0);
	}
}

/* ---- an HTTP client that shares this thread with the server ---- */

struct client {
	int fd;
	char *buf;
	size_t len, cap;
	bool closed;
};

static void
client_open(struct client *k, int rcvbuf)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(lp_export_metrics_port(xp)) };

	memset(k, 0, sizeof(*k));
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	k->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	CU_ASSERT_FATAL(k->fd >= 0);
	if (rcvbuf > 0)
		setsockopt(k->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	CU_ASSERT_FATAL(connect(k->fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 || errno == EINPROGRESS);
}

static void
client_close(struct client *k)
{
	if (k->fd >= 0)
		close(k->fd);
	free(k->buf);
	memset(k, 0, sizeof(*k));
	k->fd = -1;
}

/* Send everything, running the server meanwhile. */
static void
client_send(struct client *k, const char *data, size_t len)
{
	uint64_t end = rte_get_tsc_cycles() + 5 * rte_get_tsc_hz();

	while (len > 0 && rte_get_tsc_cycles() < end) {
		ssize_t n = send(k->fd, data, len, MSG_NOSIGNAL);

		if (n > 0) {
			data += n;
			len -= (size_t)n;
		}
		pass();
	}
	CU_ASSERT(len == 0);
}

/* Read what is there, at most @p max bytes; true once the server closed. */
static bool
client_read(struct client *k, size_t max)
{
	char chunk[4096];
	ssize_t n;

	if (max > sizeof(chunk))
		max = sizeof(chunk);
	n = recv(k->fd, chunk, max, MSG_DONTWAIT);
	if (n > 0) {
		if (k->len + (size_t)n + 1 > k->cap) {
			k->cap = (k->len + (size_t)n + 1) * 2;
			k->buf = realloc(k->buf, k->cap);
			CU_ASSERT_FATAL(k->buf != NULL);
		}
		memcpy(k->buf + k->len, chunk, (size_t)n);
		k->len += (size_t)n;
		k->buf[k->len] = '\0';
	} else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
		k->closed = true;
	}
	return k->closed;
}

/* Read the whole response, @p per_pass bytes per server pass. */
static void
client_response(struct client *k, size_t per_pass)
{
	uint64_t end = rte_get_tsc_cycles() + 10 * rte_get_tsc_hz();

	while (!client_read(k, per_pass) && rte_get_tsc_cycles() < end)
		pass();
	CU_ASSERT(k->closed);
}

static int
status_of(const struct client *k)
{
	int status = 0;

	if (k->buf == NULL || sscanf(k->buf, "HTTP/1.1 %d", &status) != 1)
		return -1;
	return status;
}

static const char *
body_of(const struct client *k)
{
	const char *b = k->buf != NULL ? strstr(k->buf, "\r\n\r\n") : NULL;

	return b != NULL ? b + 4 : NULL;
}

/* Send @p request, read the whole response into @p k. */
static int
http(struct client *k, const char *request)
{
	client_open(k, 0);
	client_send(k, request, strlen(request));
	client_response(k, SIZE_MAX);
	return status_of(k);
}

/* ---- a Prometheus text parser, strict enough to catch format slips ---- */

struct sample {
	char name[96];
	char labels[256];
	double value;
};

static struct sample *samples;
static unsigned int n_samples;

static bool
valid_name(const char *s)
{
	if (strncmp(s, "limpet_", 7) != 0)
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

/* Labels: key="value" pairs, keys from the documented set. */
static bool
valid_labels(const char *s)
{
	static const char *const keys[] = { "service", "backend", "reason", "worker", "port", "state", "help" };

	while (*s != '\0') {
		const char *eq = strchr(s, '=');
		bool known = false;

		if (eq == NULL || eq[1] != '"')
			return false;
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			known |= (size_t)(eq - s) == strlen(keys[i]) && strncmp(s, keys[i], strlen(keys[i])) == 0;
		if (!known)
			return false;
		s = eq + 2;
		while (*s != '"' && *s != '\0')
			s += *s == '\\' ? 2 : 1;
		if (*s != '"')
			return false;
		s++;
		if (*s == ',')
			s++;
	}
	return true;
}

static void
parse_metrics(char *text)
{
	char family[96] = "", help_of[96] = "";
	char seen[512][96];
	unsigned int n_seen = 0, line_no = 0;

	free(samples);
	samples = NULL;
	n_samples = 0;
	for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n"), line_no++) {
		char name[96], type[16];
		struct sample *s;
		char *brace, *sp, *end;

		if (strncmp(line, "# HELP ", 7) == 0) {
			CU_ASSERT(sscanf(line + 7, "%95s", help_of) == 1);
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			CU_ASSERT_FATAL(sscanf(line + 7, "%95s %15s", name, type) == 2);
			CU_ASSERT(strcmp(name, help_of) == 0);	/* HELP right before TYPE */
			CU_ASSERT(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0);
			CU_ASSERT(strcmp(type, "counter") != 0 || strstr(name, "_total") != NULL);
			CU_ASSERT(valid_name(name));
			/* A family appears once: its samples are contiguous. */
			for (unsigned int i = 0; i < n_seen; i++)
				CU_ASSERT(strcmp(seen[i], name) != 0);
			if (n_seen < 512)
				snprintf(seen[n_seen++], sizeof(seen[0]), "%s", name);
			snprintf(family, sizeof(family), "%s", name);
			continue;
		}
		CU_ASSERT_FATAL(line[0] != '#');
		s = realloc(samples, (n_samples + 1) * sizeof(*samples));
		if (s == NULL) {
			CU_FAIL_FATAL("out of memory");
			return;
		}
		samples = s;
		s = &samples[n_samples++];
		memset(s, 0, sizeof(*s));
		sp = strrchr(line, ' ');
		CU_ASSERT_FATAL(sp != NULL);
		*sp = '\0';
		s->value = strtod(sp + 1, &end);
		CU_ASSERT(*end == '\0' && end != sp + 1);
		brace = strchr(line, '{');
		if (brace != NULL) {
			CU_ASSERT_FATAL(line[strlen(line) - 1] == '}');
			line[strlen(line) - 1] = '\0';
			*brace = '\0';
			snprintf(s->labels, sizeof(s->labels), "%s", brace + 1);
			CU_ASSERT(valid_labels(s->labels));
		}
		snprintf(s->name, sizeof(s->name), "%s", line);
		if (strcmp(s->name, family) != 0)
			printf("\n    line %u: sample %s outside its family (%s)", line_no, s->name, family);
		CU_ASSERT(strcmp(s->name, family) == 0);
	}
}

/* Sum of the samples of @p name whose labels contain @p has (NULL: all). */
static double
metric(const char *name, const char *has)
{
	double v = 0;
	bool found = false;

	for (unsigned int i = 0; i < n_samples; i++)
		if (strcmp(samples[i].name, name) == 0 && (has == NULL || strstr(samples[i].labels, has) != NULL)) {
			v += samples[i].value;
			found = true;
		}
	if (!found)
		printf("\n    no sample %s{%s}", name, has ? has : "");
	CU_ASSERT(found);
	return v;
}

/* ---- tests ---- */

static void
test_metrics_are_prometheus_text_with_the_views_values(void)
{
	struct lp_backend_view bv[2];
	struct lp_service_view sv;
	struct client k;
	const char *body;
	size_t clen = 0;

	traffic("10.0.0.100", 300);
	traffic("10.0.0.101", 100);
	traffic("10.0.0.200", 10);	/* no service */
	pump(300);
	CU_ASSERT_FATAL(http(&k, "GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n") == 200);
	CU_ASSERT(strstr(k.buf, "Content-Type: text/plain; version=0.0.4") != NULL);
	CU_ASSERT(sscanf(strstr(k.buf, "Content-Length: "), "Content-Length: %zu", &clen) == 1);
	body = body_of(&k);
	CU_ASSERT_FATAL(body != NULL);
	CU_ASSERT(strlen(body) == clen);
	parse_metrics((char *)body);
	lp_ctl_stats(ctl, tot);
	CU_ASSERT(metric("limpet_rx_pkts_total", NULL) == (double)tot->c[LP_WC_rx_pkts]);
	CU_ASSERT(metric("limpet_flow_new_total", NULL) == (double)tot->c[LP_WC_flow_new]);
	CU_ASSERT(metric("limpet_drops_total", "reason=\"no_service\"") == (double)tot->drop[LP_DROP_NO_SERVICE]);
	CU_ASSERT(metric("limpet_drops_total", NULL) == (double)lp_stats_drops(tot));
	CU_ASSERT(metric("limpet_port_rx_packets_total", "port=\"wan\"") == (double)tot->port[0].rx_pkts);
	CU_ASSERT(metric("limpet_flows", NULL) == (double)lp_ctl_flow_count(ctl));
	CU_ASSERT(metric("limpet_workers", NULL) == 2);
	CU_ASSERT_FATAL(lp_ctl_service_view_by_name(ctl, "web", &sv) == 0);
	CU_ASSERT(metric("limpet_service_packets_total", "service=\"web\"") == (double)sv.pkts);
	CU_ASSERT(metric("limpet_service_binding_events_total", "service=\"web\",reason=\"new\"") ==
		  (double)sv.aff[LP_AFF_NEW]);
	CU_ASSERT(lp_ctl_backend_views(ctl, "web", bv, 2) == 2);
	CU_ASSERT(metric("limpet_backend_packets_total", "service=\"web\",backend=\"10.1.0.11:8080\"") ==
		  (double)bv[0].pkts);
	CU_ASSERT(metric("limpet_backend_state", "backend=\"10.1.0.12:8080\",state=\"up\"") == 1);
	CU_ASSERT(metric("limpet_backend_state", "backend=\"10.1.0.12:8080\",state=\"down\"") == 0);
	CU_ASSERT(bv[0].pkts + bv[1].pkts == 300);
	client_close(&k);
}

static unsigned int
open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned int n = 0;

	if (d == NULL)
		return 0;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

static void
test_http_errors_slow_clients_and_no_leaks(void)
{
	static const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";
	struct client k, idle, slow;
	unsigned int fds;

	pump(50);	/* the server closes what the last test left */
	fds = open_fds();

	CU_ASSERT(http(&k, "GET / HTTP/1.1\r\n\r\n") == 404);
	client_close(&k);
	CU_ASSERT(http(&k, "GET /metricsx HTTP/1.1\r\n\r\n") == 404);
	client_close(&k);
	CU_ASSERT(http(&k, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n") == 405);
	client_close(&k);
	CU_ASSERT(http(&k, "hello\r\n\r\n") == 400);
	client_close(&k);
	/* HEAD: the headers of GET, no body. */
	CU_ASSERT(http(&k, "HEAD /metrics HTTP/1.1\r\n\r\n") == 200);
	CU_ASSERT(body_of(&k) != NULL && *body_of(&k) == '\0');
	client_close(&k);

	/* An idle client holds a slot; a trickling one is served anyway, and
	 * so is one that reads 512 bytes a pass through a small buffer. */
	client_open(&idle, 0);
	client_open(&slow, 0);
	for (size_t i = 0; i < sizeof(req) - 1; i++) {
		client_send(&slow, req + i, 1);
		pump(2);
	}
	client_response(&slow, SIZE_MAX);
	CU_ASSERT(status_of(&slow) == 200);
	client_close(&slow);
	client_open(&slow, 2048);
	client_send(&slow, req, sizeof(req) - 1);
	client_response(&slow, 512);
	CU_ASSERT(status_of(&slow) == 200);
	CU_ASSERT(body_of(&slow) != NULL && strstr(body_of(&slow), "limpet_uptime_seconds") != NULL);
	client_close(&slow);
	CU_ASSERT(!client_read(&idle, SIZE_MAX));	/* still connected, nothing said */
	client_close(&idle);

	/* One that leaves in the middle of its response. */
	client_open(&slow, 2048);
	client_send(&slow, req, sizeof(req) - 1);
	pump(5);
	client_close(&slow);
	pump(20);

	/* Many in a row: every connection is closed, nothing accumulates. */
	for (int i = 0; i < 30; i++) {
		CU_ASSERT(http(&k, req) == 200);
		client_close(&k);
	}
	pump(50);
	CU_ASSERT(open_fds() == fds);
}

/* ---- telemetry over its socket ---- */

static int
tel_connect(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char greeting[1024];
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/dpdk_telemetry.v2", rte_eal_get_runtime_dir());
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	CU_ASSERT_FATAL(recv(fd, greeting, sizeof(greeting), 0) > 0);	/* {"version": ...} */
	return fd;
}

/* Send a command, wait for its reply (running the control loop when @p serve). */
static char *
tel_request(int fd, const char *cmd, bool serve)
{
	static char reply[16384 + 1];
	uint64_t end = rte_get_tsc_cycles() + 5 * rte_get_tsc_hz();

	CU_ASSERT_FATAL(send(fd, cmd, strlen(cmd), 0) == (ssize_t)strlen(cmd));
	while (rte_get_tsc_cycles() < end) {
		ssize_t n = recv(fd, reply, sizeof(reply) - 1, MSG_DONTWAIT);

		if (n > 0) {
			reply[n] = '\0';
			return reply;
		}
		if (serve)
			pass();
		else
			rte_delay_us_sleep(1000);
	}
	CU_FAIL("no telemetry reply");
	return (char *)"";
}

static uint64_t
json_u64(const char *json, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(json, pat);
	if (p == NULL)
		printf("\n    no \"%s\" in %s\n", key, json);
	CU_ASSERT_FATAL(p != NULL);
	return strtoull(p + strlen(pat), NULL, 10);
}

static void
test_telemetry_is_answered_by_the_control_thread(void)
{
	int fd = tel_connect(), fd2 = tel_connect();
	uint64_t t0;
	char *r;

	pump(50);
	lp_ctl_stats(ctl, tot);
	r = tel_request(fd, "/limpet/stats", true);
	CU_ASSERT(json_u64(r, "rx_pkts") == tot->c[LP_WC_rx_pkts]);
	CU_ASSERT(json_u64(r, "drops") == lp_stats_drops(tot));
	r = tel_request(fd, "/limpet/drops", true);
	CU_ASSERT(json_u64(r, "no_service") == tot->drop[LP_DROP_NO_SERVICE]);
	r = tel_request(fd, "/limpet/backends,web", true);
	CU_ASSERT(strstr(r, "\"backend\":[\"10.1.0.11:8080\",\"10.1.0.12:8080\"]") != NULL);
	CU_ASSERT(strstr(r, "\"state\":[\"up\",\"up\"]") != NULL);
	r = tel_request(fd, "/limpet/backends,nope", true);
	CU_ASSERT(strstr(r, "null") != NULL);
	r = tel_request(fd2, "/limpet/services", true);
	CU_ASSERT(strstr(r, "\"name\":[\"plain\",\"web\"]") != NULL);
	r = tel_request(fd2, "/limpet/workers", true);
	CU_ASSERT(strstr(r, "\"rx_pkts\":[") != NULL);
	r = tel_request(fd2, "/limpet/ports", true);
	CU_ASSERT(strstr(r, "\"name\":[\"wan\",\"lan\"]") != NULL);
	r = tel_request(fd2, "/limpet/flows", true);
	CU_ASSERT(json_u64(r, "flows") == lp_ctl_flow_count(ctl));
	r = tel_request(fd2, "/limpet/service,web", true);
	CU_ASSERT(json_u64(r, "bindings_new") > 0);

	/* The control thread does not poll: the request times out, with no
	 * answer written late into freed memory, and the next one works. */
	t0 = rte_get_tsc_cycles();
	r = tel_request(fd, "/limpet/stats", false);
	CU_ASSERT(strstr(r, "null") != NULL);
	CU_ASSERT(rte_get_tsc_cycles() - t0 >= rte_get_tsc_hz());
	pump(20);
	r = tel_request(fd, "/limpet/stats", true);
	CU_ASSERT(strstr(r, "\"rx_pkts\"") != NULL);
	close(fd);
	close(fd2);
}

static void
test_rates_add_up_to_the_packets_sent(void)
{
	struct lp_rates r0, r;
	double pkts = 0, svc = 0;
	struct lp_service_view sv;
	uint64_t seq, end;

	CU_ASSERT_FATAL(lp_ctl_service_view_by_name(ctl, "plain", &sv) == 0);
	pump(2 * INTERVAL_MS);
	lp_export_rates(xp, LP_RATE_TOTAL, 0, &r0);
	CU_ASSERT(r0.interval_s > 0);
	seq = r0.seq;
	traffic("10.0.0.101", 1000);
	/* Every interval measured after r0 together saw the 1000 packets.
	 * Rates are read after every pass, and a pass takes one sample at
	 * most, so no interval goes unseen. */
	end = rte_get_tsc_cycles() + 3 * rte_get_tsc_hz();
	while (rte_get_tsc_cycles() < end) {
		struct lp_rates rs;

		pass();
		rte_delay_us_sleep(200);
		lp_export_rates(xp, LP_RATE_TOTAL, 0, &r);
		if (r.seq == seq)
			continue;
		CU_ASSERT(r.seq == seq + 1);
		seq = r.seq;
		lp_export_rates(xp, LP_RATE_SERVICE, sv.id, &rs);
		pkts += r.rx_pps * r.interval_s;
		svc += rs.rx_pps * rs.interval_s;
		if (r.rx_pps > 0)
			CU_ASSERT(r.busy > 0);
	}
	printf("\n    packets from rates: %.1f total, %.1f to service plain\n", pkts, svc);
	CU_ASSERT(pkts > 999.5 && pkts < 1000.5);
	CU_ASSERT(svc > 999.5 && svc < 1000.5);
	CU_ASSERT(lp_export_rates(xp, LP_RATE_PORT, 7, &r) == -ENOENT);
	CU_ASSERT(lp_export_rates(xp, LP_RATE_WORKER, 2, &r) == -ENOENT);
}

static char *
show(int (*fn)(FILE *o))
{
	static char *text;
	size_t len = 0;
	FILE *o;

	free(text);
	text = NULL;
	o = open_memstream(&text, &len);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT(fn(o) == 0);
	fclose(o);
	return text;
}

static int
show_stats(FILE *o)
{
	return lp_export_show_stats(ctl, xp, o);
}

static int
show_port(FILE *o)
{
	return lp_export_show_port(ctl, xp, "lan", o);
}

static int
show_workers(FILE *o)
{
	return lp_export_show_worker(ctl, NULL, -1, o);
}

static int
show_service(FILE *o)
{
	return lp_export_show_service(ctl, xp, "web", o);
}

static int
show_backend(FILE *o)
{
	struct lp_ip a;

	lp_ip_parse("10.1.0.12", &a);
	return lp_export_show_backend(ctl, xp, "web", &a, 8080, o);
}

static void
test_show_texts_name_what_they_report(void)
{
	struct lp_ip a;

	CU_ASSERT(strstr(show(show_stats), "limpet: 2 workers, 2 ports, 2 services") != NULL);
	CU_ASSERT(strstr(show(show_stats), "rates over") != NULL);
	CU_ASSERT(strstr(show(show_stats), "drop_no_service") != NULL);
	CU_ASSERT(strstr(show(show_port), "port lan: device net_ring_lan") != NULL);
	CU_ASSERT(strstr(show(show_port), "device_rx_missed") != NULL);
	CU_ASSERT(strstr(show(show_workers), "worker 1: lcore") != NULL);
	CU_ASSERT(strstr(show(show_workers), "rates") == NULL);	/* no exporter: no rates */
	CU_ASSERT(strstr(show(show_service), "service web: 10.0.0.100:80") != NULL);
	CU_ASSERT(strstr(show(show_service), "10.1.0.11:8080") != NULL);
	CU_ASSERT(strstr(show(show_service), "bindings_new") != NULL);
	CU_ASSERT(strstr(show(show_backend), "backend 10.1.0.12:8080 of web: up") != NULL);
	lp_ip_parse("10.1.0.99", &a);
	CU_ASSERT(lp_export_show_backend(ctl, xp, "web", &a, 8080, stdout) == -ENOENT);
	CU_ASSERT(lp_export_show_service(ctl, xp, "nope", stdout) == -ENOENT);
	CU_ASSERT(lp_export_show_port(ctl, xp, "nope", stdout) == -ENOENT);
	CU_ASSERT(lp_export_show_worker(ctl, xp, 5, stdout) == -ENOENT);
}

/* The whole text of a file (caller frees), NULL when unreadable. */
static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t len = 0, got;
	char chunk[4096];
	FILE *out;

	if (f == NULL)
		return NULL;
	out = open_memstream(&text, &len);
	while (out != NULL && (got = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, got, out);
	if (out != NULL)
		fclose(out);
	fclose(f);
	return text;
}

/* True when doc names `name` in backquotes; otherwise says so. */
static bool
documented(const char *doc, const char *what, const char *name)
{
	char quoted[128];

	snprintf(quoted, sizeof(quoted), "`%s`", name);
	if (strstr(doc, quoted) != NULL)
		return true;
	printf("\n    %s %s: not described in docs/observability.md", what, quoted);
	return false;
}

/*
 * The documentation check of the counter lists: every family the
 * Prometheus text has (one per counter of LP_WORKER_COUNTERS,
 * LP_PORT_COUNTERS, LP_SVC_COUNTERS, LP_BE_COUNTERS ..., and the gauges),
 * every drop reason and every binding reason is described in
 * docs/observability.md. A counter added to a list without its line in
 * the docs fails here.
 */
static void
test_every_family_and_reason_is_documented(void)
{
	char *doc = slurp(LP_SOURCE_ROOT "/docs/observability.md");
	char *text = NULL, *line, *save = NULL;
	unsigned int families = 0, missing = 0;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT(lp_export_prometheus(xp, f) == 0);
	fclose(f);
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char name[96];

		if (sscanf(line, "# TYPE %95s", name) != 1)
			continue;
		families++;
		missing += !documented(doc, "metric", name);
	}
	for (unsigned int r = 1; r < LP_DROP_MAX; r++)
		missing += !documented(doc, "drop reason", lp_drop_name(r));
	for (unsigned int r = 0; r < LP_AFF_REASON_MAX; r++)
		missing += !documented(doc, "binding reason", lp_aff_reason_name(r));
	/* One family per counter of each list at least. */
	CU_ASSERT(families >= LP_WC_MAX + 4 + 8 + 4 + 5);
	if (missing != 0)
		printf("\n");
	CU_ASSERT_EQUAL(missing, 0);
	free(text);
	free(doc);
}

/* The runtime directory this process made for its own file prefix. */
static void
remove_runtime_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

int
main(int argc, char **argv)
{
	static const struct lp_test_case cases[] = {
		{ "metrics are Prometheus text with the views' values",
		  test_metrics_are_prometheus_text_with_the_views_values },
		{ "HTTP errors, slow clients, no leaks", test_http_errors_slow_clients_and_no_leaks },
		{ "telemetry is answered by the control thread", test_telemetry_is_answered_by_the_control_thread },
		{ "rates add up to the packets sent", test_rates_add_up_to_the_packets_sent },
		{ "show texts name what they report", test_show_texts_name_what_they_report },
		{ "every family and reason is documented", test_every_family_and_reason_is_documented },
		{ NULL, NULL },
	};
	static const struct lp_test_suite suites[] = {
		{ "export", suite_init, suite_cleanup, cases },
		{ NULL, NULL, NULL, NULL },
	};
	char prefix[64], dir[256];
	int ret;

	(void)argc;
	snprintf(prefix, sizeof(prefix), "lp-export-%d", (int)getpid());
	if (itest_eal_init_prefix(argv[0], 2, prefix) != 0) {
		fprintf(stderr, "EAL initialisation failed\n");
		return EXIT_FAILURE;
	}
	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	ret = lp_test_run(suites);
	free(samples);
	rte_eal_cleanup();
	remove_runtime_dir(dir);
	return ret;
}
