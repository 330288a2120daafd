/* SPDX-License-Identifier: BSD-3-Clause */
/* Shared by the announcer and the interface setup: netlink answers. */
#ifndef LP_ANNOUNCE_PRIV_H
#define LP_ANNOUNCE_PRIV_H

#include <linux/netlink.h>

/**
 * The error code of an NLMSG_ERROR answer (0: an ACK, else -errno) and,
 * in @p msg, the kernel's extended-ACK message when it sent one (NULL
 * otherwise; it points into @p nlh).
 */
int lp_announce_nl_error(const struct nlmsghdr *nlh, const char **msg);

#endif /* LP_ANNOUNCE_PRIV_H */
