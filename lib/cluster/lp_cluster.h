/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Replicated bindings: the affinity bindings of every limpet instance with
 * the same cluster name, shared through Redis (docs/scale-out.md,
 * "Replicated bindings").
 *
 * Workers never talk to Redis. They hand binding events (create, move,
 * touch, clear) to a lock-free multi-producer ring (lp_cluster_emit()); a
 * full ring is counted, never waited on. The control thread calls
 * lp_cluster_poll(), which does bounded, non-blocking work: it drains the
 * ring, coalesces events per binding, writes them to Redis in pipelined
 * batches, reads what the other instances changed, and hands those
 * changes back through the apply callback, which installs them in the
 * local affinity table.
 *
 * In Redis (NAME is cluster.name, SVC a service name, CLIENT the masked
 * client address and its prefix length, BACKEND "addr:port"):
 *   lp:{NAME}:b:SVC:CLIENT/LEN  = BACKEND, TTL = the service's timeoutSeconds
 *   lp:{NAME}:log               stream: which bindings each batch changed
 *   lp:{NAME}:epoch             random id; a new one means Redis lost its data
 *   lp:{NAME}:peers             hash: instance id → heartbeat
 *
 * Rules, the same online and after an outage:
 * - create: set if absent (SET NX GET). The first instance to reach Redis
 *   wins; a loser adopts the stored binding (counted as a conflict).
 * - move: last writer wins (SET).
 * - clear: delete.
 * - activity: the TTL is refreshed (PEXPIRE) at most once a second per
 *   binding; a binding Redis no longer holds is written again.
 * - a change made while Redis is unreachable is kept (coalesced per
 *   binding) and written on reconnect with the same rules; if Redis came
 *   back empty (new epoch), every instance writes all its bindings again.
 * - other instances' changes are read from the stream and fetched from
 *   the binding keys themselves, so each instance ends with Redis's value.
 *   A binding with a local change not yet acknowledged is not overwritten
 *   by an older value read from Redis.
 *
 * Time: @p now arguments are host ticks, params.hz per second (the TSC in
 * limpet, nanoseconds in tests).
 */
#ifndef LP_CLUSTER_H
#define LP_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LP_CLUSTER_NAME_MAX 32		/**< cluster and service names, incl. NUL */
#define LP_CLUSTER_MAX_SERVICES 1024u	/**< service ids 0..1023 (LP_MAX_SERVICES) */
#define LP_CLUSTER_MAX_PEERS 64u	/**< peers listed by lp_cluster_status() */

struct lp_cluster;

/** A binding's identity, the same on every instance once formatted. */
struct lp_cluster_key {
	uint8_t addr[16];	/**< client address masked to @p prefix, network order */
	uint16_t svc_id;	/**< local service id (mapped to its name) */
	uint8_t family;		/**< 4 or 6 */
	uint8_t prefix;		/**< mask length */
};

/** A backend by address and port, stable across instances. */
struct lp_cluster_backend {
	uint8_t addr[16];	/**< network order, IPv4 in addr[0..3] */
	uint16_t port;		/**< host order */
	uint8_t family;		/**< 4 or 6 */
	uint8_t pad;		/**< 0 */
};

enum lp_cluster_ev_kind {
	LP_CLUSTER_EV_CREATE = 1,	/**< a new client was bound */
	LP_CLUSTER_EV_MOVE,		/**< a binding changed backend (down, spill, rebalance) */
	LP_CLUSTER_EV_TOUCH,		/**< client activity (at most once a second per binding) */
	LP_CLUSTER_EV_CLEAR,		/**< a binding was removed by the operator or a backend removal */
};

/** What a worker hands over: 44 bytes, copied into the ring. */
struct lp_cluster_event {
	struct lp_cluster_key key;
	struct lp_cluster_backend be;	/**< the binding's backend (also for TOUCH); unused for CLEAR */
	uint8_t kind;			/**< enum lp_cluster_ev_kind */
	uint8_t pad[3];
};

/** What the apply callback is asked to do. */
enum lp_cluster_op {
	LP_CLUSTER_SET,		/**< install or replace the binding (key → be) */
	LP_CLUSTER_DEL,		/**< remove the binding (cleared elsewhere, or gone from Redis) */
	LP_CLUSTER_ALIVE,	/**< answer to lp_cluster_check(): still live, ttl_ms left */
	LP_CLUSTER_GONE,	/**< answer to lp_cluster_check(): expired everywhere, remove it */
	LP_CLUSTER_ADD,		/**< another instance's create: install it unless a bound (confirmed)
				     binding exists (Redis's SET NX kept the first create) */
};

/** Where an applied binding came from (`show affinity` marks it). */
enum lp_cluster_origin {
	LP_CLUSTER_FROM_PEER = 1,	/**< another instance changed it */
	LP_CLUSTER_FROM_LOAD,		/**< read from Redis at (warm) start or a resync */
	LP_CLUSTER_FROM_CONFLICT,	/**< this instance's create lost to another's: adopted */
	LP_CLUSTER_FROM_CHECK,		/**< answer to an expiry check */
};

struct lp_cluster_update {
	uint8_t op;		/**< enum lp_cluster_op */
	uint8_t origin;		/**< enum lp_cluster_origin */
	struct lp_cluster_key key;
	struct lp_cluster_backend be;	/**< SET, ALIVE */
	int64_t ttl_ms;		/**< time left in Redis (LOAD, ALIVE); -1 = not known: treat as fresh activity */
};

/** What the apply callback did (counted). */
enum lp_cluster_result {
	LP_CLUSTER_APPLIED,	/**< the local table changed */
	LP_CLUSTER_UNCHANGED,	/**< it already held that */
	LP_CLUSTER_REJECTED,	/**< not applicable here: unknown service or backend, table full */
};

/**
 * Install a change in the local affinity table (control thread, called from
 * lp_cluster_poll()). It must not emit events for what it applies.
 */
typedef enum lp_cluster_result (*lp_cluster_apply_fn)(void *arg, const struct lp_cluster_update *u);

/** One local binding, for writing everything again after Redis lost its data. */
struct lp_cluster_binding {
	struct lp_cluster_key key;
	struct lp_cluster_backend be;
	uint32_t idle_s;	/**< seconds since its last activity */
};

/**
 * Walk the local bindings: fill up to @p max from *@p cursor (0 = start),
 * advance it; set it to 0 when the walk is complete. @return how many were
 * filled (0 with a non-zero cursor: nothing in this stretch, call again).
 */
typedef unsigned int (*lp_cluster_walk_fn)(void *arg, uint64_t *cursor, struct lp_cluster_binding *out,
					   unsigned int max);

/** Log one line (no newline). level: 3 error, 4 warning, 5 notice, 6 info (syslog numbers). */
typedef void (*lp_cluster_log_fn)(void *arg, int level, const char *line);

struct lp_cluster_params {
	const char *name;		/**< cluster.name: letters, digits, '-', '_', '.' */
	const char *redis;		/**< "HOST:PORT", "[V6]:PORT" or "/path/to.sock" */
	const char *password_file;	/**< NULL: no AUTH; read again at every connection */
	const char *instance;		/**< shown to peers; NULL: hostname:pid */
	uint64_t hz;			/**< ticks per second of @p now */
	unsigned int n_producers;	/**< emitters (workers + control thread) */
	unsigned int ring_size;		/**< events the ring holds (power of two); 0: 65536 */
	lp_cluster_apply_fn apply;
	void *apply_arg;
	lp_cluster_walk_fn walk;	/**< may be NULL: then a lost Redis is refilled from the backlog only */
	void *walk_arg;
	lp_cluster_log_fn log;		/**< NULL: stderr */
	void *log_arg;
	/* Tuning; 0 takes the default. */
	unsigned int batch;		/**< changes per pipelined batch (512) */
	unsigned int inflight_max;	/**< commands awaiting replies (32768) */
	unsigned int backlog_max;	/**< bindings with unsent changes kept while Redis is away (4M) */
	unsigned int stream_maxlen;	/**< approximate stream length, in batches (10000) */
	uint32_t io_timeout_ms;		/**< no reply for this long: reconnect (2000) */
	uint32_t connect_timeout_ms;	/**< (1000) */
	uint32_t backoff_min_ms;	/**< first reconnect delay, doubled up to backoff_max_ms (100) */
	uint32_t backoff_max_ms;	/**< (2000) */
	uint32_t read_interval_us;	/**< stream read interval when idle (1000) */
	uint32_t flush_delay_us;	/**< a batch not yet full waits this long for more changes (500) */
	uint32_t heartbeat_ms;		/**< peer heartbeat, epoch and gap check (1000) */
};

/**
 * Create a cluster member (control thread). Nothing is connected until the
 * first lp_cluster_poll(). Resolves a HOST name here (getaddrinfo), once.
 * @return it, or NULL with a one-line reason in @p err.
 */
struct lp_cluster *lp_cluster_create(const struct lp_cluster_params *p, char *err, size_t errlen);
void lp_cluster_destroy(struct lp_cluster *cl);

/** Check a `cluster.redis` value; @return 0 or -EINVAL with a reason in @p err. */
int lp_cluster_endpoint_check(const char *redis, char *err, size_t errlen);
/** Check a cluster name; @return NULL or what is wrong with it. */
const char *lp_cluster_name_problem(const char *name);

/**
 * Map a local service id to its name (the identity shared across
 * instances) and its affinity timeout (the TTL in Redis). Register every
 * service with affinity before the first poll: the warm start loads the
 * bindings of registered services. @return 0 or -EINVAL.
 */
int lp_cluster_service_set(struct lp_cluster *cl, uint16_t svc_id, const char *name, uint32_t timeout_s);
void lp_cluster_service_del(struct lp_cluster *cl, uint16_t svc_id);

/**
 * Hand one event over (any thread; @p producer < n_producers, one thread
 * per producer id). Never blocks. @return true, or false when the ring was
 * full (counted for @p producer).
 */
bool lp_cluster_emit(struct lp_cluster *cl, unsigned int producer, const struct lp_cluster_event *ev);
/** The same for @p n events; @return how many went in (the rest counted as lost). */
unsigned int lp_cluster_emit_burst(struct lp_cluster *cl, unsigned int producer,
				   const struct lp_cluster_event *ev, unsigned int n);

/**
 * Control thread: bounded, non-blocking work (connect, handshake, drain
 * the ring, send, read, apply, heartbeat, reconnect with backoff).
 */
void lp_cluster_poll(struct lp_cluster *cl, uint64_t now);

/**
 * Control thread: a binding of @p key looks expired locally; ask Redis
 * whether the client was active on another instance. The answer comes
 * through the apply callback: ALIVE (keep it, ttl_ms left) or GONE.
 * @return 0 when asked, -ENOTCONN when Redis cannot answer now (expire
 * on local knowledge), -EINVAL for an unknown service.
 */
int lp_cluster_check(struct lp_cluster *cl, const struct lp_cluster_key *key);

/** True once the first load of the live bindings is complete. */
bool lp_cluster_loaded(const struct lp_cluster *cl);

/**
 * Start-up: poll until the bindings are loaded or @p timeout_ms passed
 * (blocks, sleeping in poll(2) on the connection; @p clock gives ticks). On timeout it says so
 * once, counts it (start_unreachable) and keeps trying in the background.
 * @return 0 when loaded, -ETIMEDOUT.
 */
int lp_cluster_wait_loaded(struct lp_cluster *cl, uint32_t timeout_ms, uint64_t (*clock)(void));
/** The same, giving up early (-EINTR, nothing said or counted) once @p stop() returns true. */
int lp_cluster_wait_loaded_or(struct lp_cluster *cl, uint32_t timeout_ms, uint64_t (*clock)(void),
			      bool (*stop)(void));

/**
 * Shutdown: write every change taken so far and wait for Redis to
 * acknowledge them, at most @p timeout_ms (blocks). Call it after the
 * workers stopped, before lp_cluster_destroy(): a rolling restart then
 * loses no binding. @return 0, or -ETIMEDOUT with the backlog left unsent.
 */
int lp_cluster_flush(struct lp_cluster *cl, uint32_t timeout_ms, uint64_t (*clock)(void));

/** The socket (for poll(2)), or -1 when not connected. */
int lp_cluster_fd(const struct lp_cluster *cl);

#define LP_CLUSTER_STATES(X) \
	X(DISCONNECTED, "disconnected") \
	X(CONNECTING,   "connecting") \
	X(HANDSHAKE,    "handshake") \
	X(SYNCING,      "syncing") \
	X(READY,        "ready")

enum lp_cluster_state {
#define LP_CLUSTER_STATE_ENUM(n, s) LP_CLUSTER_##n,
	LP_CLUSTER_STATES(LP_CLUSTER_STATE_ENUM)
#undef LP_CLUSTER_STATE_ENUM
	LP_CLUSTER_STATE_MAX
};

const char *lp_cluster_state_name(enum lp_cluster_state s);

/** Counters: one list for show, Prometheus and telemetry. */
#define LP_CLUSTER_COUNTERS(X) \
	X(events,            "binding events taken from the ring") \
	X(ring_full,         "binding events lost because the ring was full") \
	X(sent,              "binding changes written to Redis (create, move, clear)") \
	X(touches,           "binding TTLs refreshed in Redis") \
	X(received,          "binding changes other instances announced") \
	X(applied,           "bindings installed or removed in the local table from Redis") \
	X(unchanged,         "bindings read from Redis that the local table already held") \
	X(rejected,          "bindings from Redis the local table refused (unknown service or backend)") \
	X(conflicts,         "creates that lost to another instance's binding, which was adopted") \
	X(recreated,         "bindings written again because Redis no longer held them") \
	X(coalesced,         "events merged into an unsent change of the same binding") \
	X(loaded,            "bindings read by a warm start or resync") \
	X(checks,            "expiry checks asked") \
	X(checks_alive,      "expiry checks answered: active on another instance") \
	X(errors,            "Redis errors: error replies, I/O errors, timeouts, malformed data") \
	X(auth_errors,       "connections refused by Redis authentication") \
	X(connects,          "connections established") \
	X(reconnects,        "connections lost (a new one is tried with backoff)") \
	X(resyncs,           "full reads of the bindings (warm start, stream gap, Redis lost data)") \
	X(refills,           "times all local bindings were written again (Redis lost its data)") \
	X(backlog_overflow,  "changes dropped because the backlog was full (a refill follows)") \
	X(start_unreachable, "starts that went on without loading bindings (Redis unreachable)")

enum lp_cluster_counter {
#define LP_CLUSTER_C_ENUM(n, h) LP_CLUSTER_C_##n,
	LP_CLUSTER_COUNTERS(LP_CLUSTER_C_ENUM)
#undef LP_CLUSTER_C_ENUM
	LP_CLUSTER_C_MAX
};

const char *lp_cluster_counter_name(enum lp_cluster_counter c);
const char *lp_cluster_counter_help(enum lp_cluster_counter c);

struct lp_cluster_peer {
	char id[17];		/**< instance id (random, per process) */
	char instance[64];	/**< its name */
	char state[16];
	uint32_t age_ms;	/**< since its last heartbeat */
	uint32_t backlog;
	uint32_t lag_p99_us;
	bool self;
};

/** Replication lag over the last complete window (heartbeat × 10). */
struct lp_cluster_lag {
	uint32_t p50_us, p99_us, max_us;
	uint64_t samples;
};

struct lp_cluster_status {
	enum lp_cluster_state state;
	bool loaded;
	char name[LP_CLUSTER_NAME_MAX];
	char redis[128];
	char id[17];
	char last_error[160];	/**< empty when none */
	char epoch[40];
	char stream_id[48];	/**< last stream entry read */
	uint64_t counters[LP_CLUSTER_C_MAX];
	uint32_t backlog;	/**< bindings with unsent changes */
	uint32_t inflight;	/**< commands awaiting replies */
	uint64_t load_ms;	/**< duration of the last load (warm start or resync) */
	uint64_t load_progress;	/**< keys read by the load in progress or the last one */
	uint32_t backoff_ms;	/**< current reconnect delay */
	struct lp_cluster_lag lag_in;	/**< change written to Redis by a peer → applied here */
	struct lp_cluster_lag lag_out;	/**< event taken from the ring → acknowledged by Redis */
	unsigned int n_peers;
	struct lp_cluster_peer peers[LP_CLUSTER_MAX_PEERS];
};

void lp_cluster_status(const struct lp_cluster *cl, struct lp_cluster_status *st);

/** `show cluster` text; @return the length it needed (like snprintf). */
size_t lp_cluster_format(const struct lp_cluster_status *st, char *buf, size_t len);

#endif /* LP_CLUSTER_H */
