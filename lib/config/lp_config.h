/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * limpet's YAML configuration, parsed with libyaml into plain validated
 * structs. libyaml is used only here; the rest of limpet consumes these
 * structs. Every problem is reported as "file:line:col: message", all of
 * them at once.
 */
#ifndef LP_CONFIG_H
#define LP_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lp_pkt.h"
#include "lp_svc_enum.h"

#define LP_NAME_MAX 32		/**< names incl. NUL: ports, services */
#define LP_DEVICE_MAX 128	/**< DPDK device name incl. NUL */
#define LP_PATH_MAX 128		/**< HTTP health-check path incl. NUL */
#define LP_PORT_ADDRS_MAX 4	/**< own addresses per port */
#define LP_IFNAME_MAX 16	/**< kernel interface names incl. NUL (IFNAMSIZ) */

/**
 * @name Limits of a configuration
 * One set, enforced alike by `limpet --check-config` (the parser), by
 * lp_config_validate() (which the daemon runs before every start, reload
 * and change) and documented in docs/configuration.md. The data path's
 * tables are sized for them; lib/ctl checks that at build time.
 * @{
 */
#define LP_CFG_PORTS_MAX 8u			/**< ports (the data path's port array) */
#define LP_CFG_NEIGHBORS_MAX 16384u		/**< static neighbors: a quarter of the neighbor table */
#define LP_CFG_ROUTES_MAX 64u			/**< static routes */
#define LP_CFG_SERVICES_MAX 1024u		/**< services (service ids) */
#define LP_CFG_SERVICE_BACKENDS_MAX 4096u	/**< backends of one service (backend ids) */
#define LP_CFG_BACKENDS_MAX 8192u		/**< backends of all services (half the counter slots: removed ones drain) */
#define LP_CFG_FILE_MAX (16u << 20)		/**< bytes of a config file */
#define LP_CFG_DEPTH_MAX 32u			/**< nested YAML collections (the schema uses 5) */
#define LP_CFG_NODES_MAX (1u << 20)		/**< YAML nodes, also once aliases are expanded */
/** @} */

/** Where a config element was written (1-based), for messages. */
struct lp_cfg_pos {
	uint32_t line;
	uint32_t col;
};

enum lp_rebalance {
	LP_REBALANCE_OFF = 0,
	LP_REBALANCE_IDLE,	/**< move bindings with no live flow to their new Maglev choice */
};

enum lp_health_type {
	LP_HEALTH_NONE = 0,
	LP_HEALTH_TCP,
	LP_HEALTH_HTTP,
};

struct lp_cfg_health {
	uint8_t type;		/**< enum lp_health_type */
	uint16_t port;		/**< 0: the backend's port */
	char path[LP_PATH_MAX];	/**< HTTP: request path, default "/" */
	uint32_t interval_ms;	/**< default 2000 */
	uint32_t timeout_ms;	/**< default 1000, <= interval */
	uint32_t rise;		/**< successes to go up, default 2 */
	uint32_t fall;		/**< failures to go down, default 3 */
	struct lp_cfg_pos pos;
};

struct lp_cfg_backend {
	struct lp_ip addr;
	uint16_t port;		/**< targetPort; default: the service port */
	uint32_t weight;	/**< default 1; 0..65535 */
	uint8_t state;		/**< enum lp_backend_state, default up */
	struct lp_cfg_pos pos;
};

struct lp_cfg_service {
	char name[LP_NAME_MAX];
	struct lp_ip vip;
	uint16_t port;
	uint16_t target_port;	/**< targetPort: default port of backends listed without one; 0: port */
	uint8_t proto;		/**< IPPROTO_TCP or IPPROTO_UDP */
	uint8_t forwarding;	/**< enum lp_fwd_mode */
	uint8_t scheduler;	/**< enum lp_sched */
	bool affinity;		/**< sessionAffinity: ClientIP */
	uint32_t affinity_timeout_s; /**< sessionAffinityConfig.clientIP.timeoutSeconds, default 10800 */
	uint8_t prefix_v4;	/**< client mask for the affinity key, default 32 */
	uint8_t prefix_v6;	/**< default 128 */
	double bounded_load;	/**< boundedLoad factor c; 0 = off, else > 1.0 */
	uint32_t slow_start_s;	/**< slowStartSeconds, 0 = off */
	uint32_t drain_timeout_s; /**< drainTimeoutSeconds, default 0 */
	uint8_t rebalance;	/**< enum lp_rebalance */
	uint32_t rebalance_rate; /**< bindings moved per second at most, default 100 */
	uint32_t maglev_size;	/**< table size (prime), default 65537 */
	struct lp_ip tunnel_src4; /**< tunnel: outer IPv4 source prefix */
	uint8_t tunnel_src4_len;
	struct lp_ip tunnel_src6; /**< tunnel: outer IPv6 source prefix */
	uint8_t tunnel_src6_len;
	struct lp_cfg_health health;
	uint32_t n_backends;
	struct lp_cfg_backend *backends;
	struct lp_cfg_pos pos;
};

struct lp_cfg_port {
	char name[LP_NAME_MAX];
	char device[LP_DEVICE_MAX];
	uint32_t n_addrs;
	struct lp_ip addr[LP_PORT_ADDRS_MAX];	/**< own addresses */
	uint8_t prefix[LP_PORT_ADDRS_MAX];	/**< their on-link prefix lengths */
	struct lp_ip gateway4;	/**< family 0 when unset */
	struct lp_ip gateway6;
	uint16_t mtu;		/**< default 1500 */
	bool has_mac;		/**< mac: override the device's MAC */
	struct lp_mac mac;
	/** kernelInterface: the kernel interface (net_tap) of the exception
	 * path, "" for none. */
	char kernel_iface[LP_IFNAME_MAX];
	struct lp_cfg_pos kernel_iface_pos;	/**< where it was written */
	struct lp_cfg_pos pos;
};

struct lp_cfg_neighbor {
	struct lp_ip addr;
	struct lp_mac mac;
	uint32_t port;		/**< index into lp_config.ports */
	struct lp_cfg_pos pos;
};

/**
 * A static route: destinations in prefix/len that no port has on-link go to
 * the next hop via, out of one port. Lookup: the ports' on-link prefixes
 * first, then the longest matching route, then the ports' gateways.
 */
struct lp_cfg_route {
	struct lp_ip prefix;	/**< host bits clear */
	uint8_t len;		/**< 0 (a default route through this port) .. 32 or 128 */
	struct lp_ip via;	/**< next hop, same family, on-link on port */
	uint32_t port;		/**< index into lp_config.ports */
	struct lp_cfg_pos pos;
};

struct lp_cfg_flows {
	uint32_t capacity;	/**< IPv4 flows per limpet, split over worker shards; default 1048576 */
	uint32_t tcp_timeout;	/**< seconds, established; default 900 */
	uint32_t tcp_syn_timeout; /**< default 10 */
	uint32_t tcp_fin_timeout; /**< default 30 */
	uint32_t udp_timeout;	/**< default 60 */
	uint32_t capacity6;	/**< IPv6 flows per limpet; 0 (default): capacity / 4 */
};

/** workers.poll */
enum lp_poll {
	LP_POLL_ADAPTIVE = 0,	/**< sleep in growing steps when idle (default) */
	LP_POLL_BUSY,		/**< poll without pause */
};

struct lp_cfg_workers {
	uint8_t poll;			/**< enum lp_poll, default adaptive */
	uint32_t idle_sleep_us;		/**< idleSleepMicroseconds: bound of a sleep step, default 500 */
};

/** announce: VIP routes in a kernel table (lib/announce). */
struct lp_cfg_announce {
	bool enabled;			/**< the announce key is present */
	uint32_t table;			/**< 1..2^32-1 except 253, 254, 255 */
	uint32_t withdraw_delay_s;	/**< withdrawDelaySeconds: forwarding after the withdraw, default 5 */
	char iface[LP_IFNAME_MAX];	/**< interface: a port's kernelInterface; "" = the only one */
	struct lp_cfg_pos pos;		/**< the announce key */
	struct lp_cfg_pos table_pos;
	struct lp_cfg_pos iface_pos;
};

/**
 * A whole configuration. The arrays are malloc()ed and owned by the config
 * (lp_config_free() frees them), so code editing a config in memory may
 * realloc() them; new elements start from lp_config_port_init() and friends.
 */
/**
 * cluster: replicated bindings through Redis (docs/scale-out.md). Changes
 * take a restart.
 */
struct lp_cfg_cluster {
	bool enabled;		/**< the key is present */
	char redis[LP_PATH_MAX];	/**< "HOST:PORT", "[V6]:PORT" or "/path/to.sock" */
	char password_file[LP_PATH_MAX];	/**< passwordFile, "" for none */
	char name[LP_NAME_MAX];	/**< cluster name: letters, digits, '-', '_', '.' */
	uint32_t start_wait_s;	/**< startWaitSeconds: longest wait for the warm start (default 5) */
	struct lp_cfg_pos pos;
};

#define LP_CFG_CLUSTER_START_WAIT_DEFAULT 5u
#define LP_CFG_CLUSTER_START_WAIT_MAX 300u

struct lp_config {
	char *path;		/**< file it came from; NULL from lp_config_new() (messages say "config") */
	uint32_t n_ports;
	struct lp_cfg_port *ports;
	uint32_t n_neighbors;
	struct lp_cfg_neighbor *neighbors;
	struct lp_cfg_flows flows;
	uint32_t affinity_capacity; /**< affinity.capacity: bindings, all services; default 1048576 */
	uint32_t n_services;
	struct lp_cfg_service *services;
	uint32_t n_routes;
	struct lp_cfg_route *routes;
	struct lp_cfg_workers workers;
	struct lp_cfg_announce announce;
	struct lp_cfg_cluster cluster;
};

/** Collected problems, one "file:line:col: message" line each. */
struct lp_diag {
	uint32_t n;
	uint32_t cap;
	char **msg;
};

/** Free the messages (the struct itself may live on the stack). */
void lp_diag_clear(struct lp_diag *d);
/** Print each message on its own line. */
void lp_diag_print(const struct lp_diag *d, FILE *out);
/**
 * Append one printf-formatted message, for callers reporting their own
 * problems in the same list; @p d may be NULL (nobody listens). @return 0 or -ENOMEM.
 */
int lp_diag_add(struct lp_diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/**
 * Read and validate a YAML file. On any problem returns NULL, appends
 * every problem found to @p diag (which may be NULL), in file order, and
 * sets errno: EINVAL for a bad config, ENOENT and friends when the file
 * cannot be read, ENOMEM. Past 200 problems one more line counts the rest.
 *
 * The file is read once, and only a regular file (a FIFO, device or
 * directory is refused at once: nothing here blocks in open() or read()),
 * of at most LP_CFG_FILE_MAX bytes. A file that is open for writing,
 * changes while it is read, or was changed in the last LP_CFG_QUIET_MS
 * (still being written, in place) is read again once it has been quiet
 * that long; after LP_CFG_LOAD_TRIES tries it is refused with EAGAIN.
 * Replace config files atomically (write another file, then rename it
 * over), as `save config` does: a reload then never sees half a file.
 */
struct lp_config *lp_config_load(const char *path, struct lp_diag *diag);
#define LP_CFG_QUIET_MS 100	/**< a file changed more recently is still being written */
#define LP_CFG_LOAD_TRIES 10	/**< reads of a changing file before giving up (about a second) */

/**
 * As lp_config_load() for a buffer (need not be NUL-terminated); @p name
 * stands for the file in messages and becomes the config's path ("<string>"
 * when NULL).
 */
struct lp_config *lp_config_parse(const char *buf, size_t len, const char *name, struct lp_diag *diag);

/**
 * Check a config built or modified in memory (by the CLI, say) with the
 * same rules as the parser; messages carry the element positions it has.
 * @return 0 or -EINVAL with @p diag filled.
 */
int lp_config_validate(const struct lp_config *c, struct lp_diag *diag);

/** A config with every default set and no ports or services. NULL on ENOMEM. */
struct lp_config *lp_config_new(void);
/** Set every default of a port (mtu 1500), no name, device or address. */
void lp_config_port_init(struct lp_cfg_port *p);
/** Set every default of a service (TCP, nat, maglev, ...), no name, vip or backends. */
void lp_config_service_init(struct lp_cfg_service *s);
/** Set every default of a backend (weight 1, up), no address or port. */
void lp_config_backend_init(struct lp_cfg_backend *b);
/** Deep copy. NULL on ENOMEM. */
struct lp_config *lp_config_dup(const struct lp_config *c);
void lp_config_free(struct lp_config *c);
/**
 * True when two configs hold the same settings; positions and the path
 * are not compared (a written and re-read config equals the original).
 */
bool lp_config_equal(const struct lp_config *a, const struct lp_config *b);
/** Same cluster section (all fields; positions aside). */
bool lp_config_cluster_equal(const struct lp_cfg_cluster *a, const struct lp_cfg_cluster *b);

/**
 * Write a config as YAML that lp_config_parse() reads back to an equal
 * config (used by `save config FILE` and `show config`).
 * @return 0 or -errno.
 */
int lp_config_write(const struct lp_config *c, FILE *out);

/**
 * The line `limpet --check-config FILE` prints for a good config:
 * "cfg.yaml: ok: 1 port, 2 services, 5 backends, 1 neighbor", with
 * ", 3 routes" appended when there are routes.
 * @return 0, or -ENOSPC when @p buf was too short (it holds a truncated line).
 */
int lp_config_summary(const struct lp_config *c, char *buf, size_t len);

/** Index of the service named @p name, or -1. */
int lp_config_service_find(const struct lp_config *c, const char *name);
/** Index of the port named @p name, or -1. */
int lp_config_port_find(const struct lp_config *c, const char *name);

/** Names for enums (YAML spelling): "nat", "maglev", "up", "idle", "http", "TCP"; "unknown" otherwise. */
const char *lp_fwd_mode_name(unsigned int m);
const char *lp_sched_name(unsigned int s);
const char *lp_backend_state_name(unsigned int s);
const char *lp_proto_name(unsigned int proto);
const char *lp_rebalance_name(unsigned int r);
const char *lp_health_type_name(unsigned int t);
const char *lp_poll_name(unsigned int p);

/**
 * Index of the port whose kernelInterface carries the announced routes:
 * announce.interface, or the only port with a kernelInterface; -1 when
 * announce is off or there is none.
 */
int lp_config_announce_port(const struct lp_config *c);

#endif /* LP_CONFIG_H */
