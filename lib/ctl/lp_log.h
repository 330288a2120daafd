/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * limpet's log types, registered with rte_log so that EAL's
 * `--log-level lib.limpet.*:debug` controls them. Never used per packet.
 */
#ifndef LP_LOG_H
#define LP_LOG_H

#include <rte_log.h>

extern int lp_logtype_ctl;	/**< lib.limpet.ctl: control thread, model, ports */
extern int lp_logtype_health;	/**< lib.limpet.health: health checks */
extern int lp_logtype_nbr;	/**< lib.limpet.nbr: ARP / ND */
extern int lp_logtype_cli;	/**< lib.limpet.cli: commands, control socket */
extern int lp_logtype_app;	/**< lib.limpet.app: start-up, signals */

/** Log one line: LP_LOG(INFO, ctl, "backend %s up", name). */
#define LP_LOG(level, type, ...) \
	rte_log(RTE_LOG_##level, lp_logtype_##type, "limpet: " __VA_ARGS__)

#endif /* LP_LOG_H */
