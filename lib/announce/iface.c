/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Setting up the kernel interface through netlink: MAC, MTU, addresses,
 * up. net_tap creates the interface with a name and a MAC only; the rest
 * is done here, once, when the port starts.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include "announce_priv.h"
#include "lp_announce.h"

struct conn {
	struct mnl_socket *nl;
	uint32_t seq;
	unsigned int timeout_ms;
	char *err;
	size_t err_len;
};

/* Send one request and wait for its ACK; -errno with a message in c->err. */
static int
transact(struct conn *c, struct nlmsghdr *nlh, const char *what)
{
	uint8_t buf[8192];
	struct timespec t0, t;
	struct pollfd pfd = { .fd = mnl_socket_get_fd(c->nl), .events = POLLIN };

	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++c->seq;
	if (mnl_socket_sendto(c->nl, nlh, nlh->nlmsg_len) < 0) {
		int e = errno;

		snprintf(c->err, c->err_len, "%s: %s", what, strerror(e));
		return -e;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		long waited;
		ssize_t len;
		int left;

		clock_gettime(CLOCK_MONOTONIC, &t);
		waited = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (waited >= (long)c->timeout_ms) {
			snprintf(c->err, c->err_len, "%s: no answer from the kernel within %u ms", what,
				 c->timeout_ms);
			return -ETIMEDOUT;
		}
		if (poll(&pfd, 1, (int)(c->timeout_ms - waited)) <= 0)
			continue;
		len = recv(pfd.fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (len < 0)
			continue;
		left = (int)len;
		for (const struct nlmsghdr *r = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(r, left);
		     r = mnl_nlmsg_next(r, &left)) {
			const char *msg;
			int e;

			if (r->nlmsg_seq != c->seq || r->nlmsg_type != NLMSG_ERROR)
				continue;
			e = lp_announce_nl_error(r, &msg);
			if (e == 0)
				return 0;
			snprintf(c->err, c->err_len, "%s: %s", what, msg != NULL ? msg : strerror(-e));
			return e;
		}
	}
}

static int
set_link(struct conn *c, int ifindex, const struct lp_announce_iface *s)
{
	uint8_t buf[512];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	int ret;

	if (s->mac != NULL || s->mtu != 0) {
		nlh = mnl_nlmsg_put_header(buf);
		nlh->nlmsg_type = RTM_NEWLINK;
		ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
		ifi->ifi_family = AF_UNSPEC;
		ifi->ifi_index = ifindex;
		if (s->mac != NULL)
			mnl_attr_put(nlh, IFLA_ADDRESS, sizeof(s->mac->b), s->mac->b);
		if (s->mtu != 0)
			mnl_attr_put_u32(nlh, IFLA_MTU, s->mtu);
		ret = transact(c, nlh, "set MAC and MTU");
		if (ret != 0)
			return ret;
	}
	if (s->ll_manual) {
		struct nlattr *spec, *in6;

		/* Down first: a link that is up already (net_tap brings its
		 * interface up) has made its own link-local address, and going
		 * down removes it (IPv6 addresses do not outlive a link down
		 * unless keep_addr_on_down is set). */
		nlh = mnl_nlmsg_put_header(buf);
		nlh->nlmsg_type = RTM_NEWLINK;
		ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
		ifi->ifi_family = AF_UNSPEC;
		ifi->ifi_index = ifindex;
		ifi->ifi_flags = 0;
		ifi->ifi_change = IFF_UP;
		ret = transact(c, nlh, "set link down");
		if (ret != 0)
			return ret;
		nlh = mnl_nlmsg_put_header(buf);
		nlh->nlmsg_type = RTM_NEWLINK;
		ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
		ifi->ifi_family = AF_UNSPEC;
		ifi->ifi_index = ifindex;
		spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
		in6 = mnl_attr_nest_start(nlh, AF_INET6);
		mnl_attr_put_u8(nlh, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
		mnl_attr_nest_end(nlh, in6);
		mnl_attr_nest_end(nlh, spec);
		ret = transact(c, nlh, "set IPv6 addr_gen_mode none");
		if (ret != 0)
			return ret;
	}
	if (!s->up)
		return 0;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	return transact(c, nlh, "set link up");
}

static int
add_addr(struct conn *c, int ifindex, const struct lp_announce_addr *ad)
{
	uint8_t buf[512];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	bool v4 = ad->ip.family == LP_AF_INET;
	char what[96], ip[INET6_ADDRSTRLEN];

	if ((!v4 && ad->ip.family != LP_AF_INET6) || ad->prefix > (v4 ? 32 : 128)) {
		snprintf(c->err, c->err_len, "address %u: not an IPv4 or IPv6 prefix", (unsigned int)ad->prefix);
		return -EINVAL;
	}
	inet_ntop(v4 ? AF_INET : AF_INET6, ad->ip.a, ip, sizeof(ip));
	snprintf(what, sizeof(what), "add address %s/%u", ip, (unsigned int)ad->prefix);
	nlh->nlmsg_type = RTM_NEWADDR;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = v4 ? AF_INET : AF_INET6;
	ifa->ifa_prefixlen = ad->prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)ifindex;
	/* limpet answers for the address on the port already (ARP/ND), and a
	 * second check for duplicates would only delay the kernel's use of it. */
	ifa->ifa_flags = v4 ? 0 : IFA_F_NODAD;
	mnl_attr_put(nlh, IFA_LOCAL, v4 ? 4 : 16, ad->ip.a);
	mnl_attr_put(nlh, IFA_ADDRESS, v4 ? 4 : 16, ad->ip.a);
	if (!v4)
		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
	return transact(c, nlh, what);
}

int
lp_announce_iface_set(const struct lp_announce_iface *s, unsigned int timeout_ms, char *err, size_t err_len)
{
	char scratch[8];
	struct conn c = { .timeout_ms = timeout_ms != 0 ? timeout_ms : 1000, .err = err, .err_len = err_len };
	int ifindex, ret;

	if (err == NULL || err_len == 0) {
		c.err = err = scratch;
		c.err_len = err_len = sizeof(scratch);
	}

	if (s == NULL || s->name == NULL || s->name[0] == '\0' || strlen(s->name) >= IFNAMSIZ) {
		snprintf(err, err_len, "kernel interface: no valid name");
		return -EINVAL;
	}
	ifindex = (int)if_nametoindex(s->name);
	if (ifindex == 0) {
		ret = errno != 0 ? errno : ENODEV;
		snprintf(err, err_len, "kernel interface %s: %s", s->name, strerror(ret));
		return -ret;
	}
	c.nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (c.nl == NULL || mnl_socket_bind(c.nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = errno;
		snprintf(err, err_len, "kernel interface %s: netlink: %s", s->name, strerror(ret));
		if (c.nl != NULL)
			mnl_socket_close(c.nl);
		return -ret;
	}
	{
		int one = 1;

		(void)mnl_socket_setsockopt(c.nl, NETLINK_EXT_ACK, &one, sizeof(one));
		(void)mnl_socket_setsockopt(c.nl, NETLINK_CAP_ACK, &one, sizeof(one));
	}
	c.seq = (uint32_t)time(NULL);
	/* MAC and MTU before the link comes up; addresses last (an IPv6
	 * address on a down link is kept, but its routes wait for it). */
	ret = set_link(&c, ifindex, s);
	for (uint32_t i = 0; ret == 0 && i < s->n_addrs; i++)
		ret = add_addr(&c, ifindex, &s->addrs[i]);
	mnl_socket_close(c.nl);
	if (ret != 0) {
		char line[256];

		snprintf(line, sizeof(line), "kernel interface %s: %s", s->name, err);
		snprintf(err, err_len, "%s", line);
		return ret;
	}
	return ifindex;
}
