/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The data path's enums: how a service forwards, how it places new
 * clients, what state a backend is in. The service snapshots (lp_svc.h)
 * carry them; lib/config parses their YAML names into them (lp_config.h
 * includes this header), so there is one definition of each.
 */
#ifndef LP_SVC_ENUM_H
#define LP_SVC_ENUM_H

/** Forwarding mode of a service. */
enum lp_fwd_mode {
	LP_FWD_NAT = 0,		/**< DNAT to backend ip:port; replies reverse-translated */
	LP_FWD_DSR,		/**< rewrite destination MAC; backend owns the VIP */
	LP_FWD_TUNNEL,		/**< IPIP / IP6IP6 to the backend */
};

/** Scheduler: how a new client (or a new flow without affinity) is placed. */
enum lp_sched {
	LP_SCHED_MAGLEV = 0,
	LP_SCHED_WRR,
	LP_SCHED_LEAST_CONN,
};

/** Administrative backend state (config, CLI). */
enum lp_backend_state {
	LP_BACKEND_UP = 0,
	LP_BACKEND_DRAINING,	/**< keeps flows and bindings, gets no new ones */
	LP_BACKEND_DOWN,	/**< its flows and bindings are re-chosen at once */
};

/**
 * Backend state as workers see it in a snapshot: the administrative
 * states (after health checks) and one more for an id not in use.
 */
enum lp_be_state {
	LP_BE_UP = LP_BACKEND_UP,
	LP_BE_DRAINING = LP_BACKEND_DRAINING,	/**< keeps flows and bindings, gets no new ones */
	LP_BE_DOWN = LP_BACKEND_DOWN,		/**< flows and bindings re-chosen at once */
	LP_BE_ABSENT,				/**< id not in use in this snapshot */
};

#endif /* LP_SVC_ENUM_H */
