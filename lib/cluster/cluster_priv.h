/* SPDX-License-Identifier: BSD-3-Clause */
/* Replicated bindings: internals shared by the module's files. */
#ifndef LP_CLUSTER_PRIV_H
#define LP_CLUSTER_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "lp_cluster.h"

#define NONE32 UINT32_MAX

/* ---- codec.c: the text forms in Redis (pure functions) ---- */

/* Longest texts: "ffff:...:ffff/128", "[ffff:...:ffff]:65535". */
#define CODEC_CLIENT_MAX 48
#define CODEC_BACKEND_MAX 56

/** "10.0.0.7/32", "2001:db8::/64"; @return length (no NUL written). */
size_t codec_client(char *out, const struct lp_cluster_key *k);
/** "10.1.0.11:8080", "[2001:db8::1]:8080"; @return length. */
size_t codec_backend(char *out, const struct lp_cluster_backend *b);
/** Parse a backend value; @return 0 or -EINVAL. */
int codec_parse_backend(const char *s, size_t len, struct lp_cluster_backend *b);
/**
 * Parse "SVC:CLIENT/LEN": *svc and *svc_len name the service; @p k gets
 * family, prefix and address (host bits must be zero). @return 0 or -EINVAL.
 */
int codec_parse_suffix(const char *s, size_t len, const char **svc, size_t *svc_len, struct lp_cluster_key *k);
/** Parse "MS-SEQ"; @return 0 or -EINVAL. */
int codec_parse_stream_id(const char *s, size_t len, uint64_t *ms, uint64_t *seq);
/** -1, 0, 1 comparing stream ids. */
int codec_stream_id_cmp(uint64_t ams, uint64_t aseq, uint64_t bms, uint64_t bseq);
bool codec_backend_eq(const struct lp_cluster_backend *a, const struct lp_cluster_backend *b);
bool codec_key_eq(const struct lp_cluster_key *a, const struct lp_cluster_key *b);
uint64_t codec_key_hash(const struct lp_cluster_key *k);

/* A stream entry id "MS-SEQ". */
struct stream_pos {
	uint64_t ms, seq;
};

/* ---- ktab.c: per-binding replication state ---- */

/* What is waiting to be written for a binding (coalesced). */
enum kop {
	KOP_NONE = 0,
	KOP_TOUCH,	/* refresh the TTL (and write it again if Redis lost it) */
	KOP_CREATE,	/* set if absent */
	KOP_MOVE,	/* set */
	KOP_CLEAR,	/* delete */
};

static inline bool
kop_changes_value(uint8_t op)
{
	return op >= KOP_CREATE;
}

/*
 * One binding with an unsent change (dirty), commands in flight, or an
 * acknowledged change whose stream entry this instance has not read past
 * yet (unseen: older entries of the binding must not overwrite it). It
 * exists only while one of these holds, so the table stays as small as the
 * backlog plus the pipeline plus the reader's lag.
 */
struct kent {
	struct lp_cluster_key key;
	struct lp_cluster_backend be;	/* latest value (sent or to send) */
	uint8_t op;			/* enum kop: unsent change */
	uint8_t queued;			/* in the dirty FIFO */
	uint16_t inflight;		/* commands sent, replies not yet read */
	uint16_t inflight_val;		/* ... of which change the value */
	uint8_t acc;			/* requeue after a lost connection: merged kind */
	uint8_t pad;
	uint32_t unseen;		/* entries of the seen FIFO naming it */
	uint32_t hnext;			/* hash chain / free list */
	uint32_t qnext;			/* dirty FIFO */
	uint64_t act_us;		/* latest activity: the TTL counts from it */
	uint64_t drain_us;		/* when the oldest unsent event was taken from the ring */
	struct stream_pos own;		/* stream entry of its latest acknowledged change (unseen > 0) */
};

struct ktab {
	struct kent *e;
	uint32_t cap, used, free_head;
	uint32_t *bucket;
	uint32_t mask;			/* buckets - 1 */
	uint32_t q_head, q_tail, q_len;	/* dirty FIFO: the backlog */
};

int ktab_init(struct ktab *t, uint32_t cap);
void ktab_free(struct ktab *t);
uint32_t ktab_find(const struct ktab *t, const struct lp_cluster_key *k);
/** Find or add; NONE32 when memory runs out. */
uint32_t ktab_get(struct ktab *t, const struct lp_cluster_key *k);
/** Remove the entry if nothing holds it any more. */
void ktab_release(struct ktab *t, uint32_t i);
void ktab_queue(struct ktab *t, uint32_t i);
uint32_t ktab_dequeue(struct ktab *t);
/** Back to a small table; only when nothing is held (used == 0). */
int ktab_shrink(struct ktab *t);

/** True when a local change of @p k is unsent or unacknowledged. */
static inline bool
ktab_pending(const struct ktab *t, const struct lp_cluster_key *k)
{
	uint32_t i = ktab_find(t, k);

	return i != NONE32 && (kop_changes_value(t->e[i].op) || t->e[i].inflight_val > 0);
}

/**
 * True when a value that a stream entry at @p at carries for @p k must not
 * be applied: a local change is unsent or unacknowledged, or Redis
 * executed an acknowledged local change after that entry.
 */
static inline bool
ktab_newer(const struct ktab *t, const struct lp_cluster_key *k, const struct stream_pos *at)
{
	uint32_t i = ktab_find(t, k);
	const struct kent *e;

	if (i == NONE32)
		return false;
	e = &t->e[i];
	return kop_changes_value(e->op) || e->inflight_val > 0 ||
	       (e->unseen > 0 && (e->own.ms > at->ms || (e->own.ms == at->ms && e->own.seq > at->seq)));
}

/* ---- conn.c: the socket, the output buffer, RESP ---- */

struct endpoint {
	struct sockaddr_storage sa;
	socklen_t salen;
	char text[128];
};

int endpoint_parse(const char *redis, struct endpoint *ep, bool resolve, char *err, size_t errlen);

struct obuf {
	char *p;
	size_t len, off, cap;
	bool oom;
};

void obuf_free(struct obuf *b);
void obuf_reset(struct obuf *b);
/** "*N\r\n" */
void resp_cmd(struct obuf *b, unsigned int argc);
void resp_arg(struct obuf *b, const void *s, size_t len);
void resp_str(struct obuf *b, const char *s);
void resp_u64(struct obuf *b, uint64_t v);
/* An argument written in pieces: resp_arg_begin(len), then the bytes. */
void resp_arg_begin(struct obuf *b, size_t len);
void resp_raw(struct obuf *b, const void *s, size_t len);
static inline void
resp_arg_end(struct obuf *b)
{
	resp_raw(b, "\r\n", 2);
}

/** Start a non-blocking connect. @return fd (connected or in progress) or -errno. */
int sock_connect(const struct endpoint *ep, bool *in_progress);
/** @return 0 connected, -EINPROGRESS, or -errno. */
int sock_connect_done(int fd);
/** Send what the socket takes. @return 0 or -errno. */
int obuf_send(int fd, struct obuf *b);

/* ---- the member (cluster.c, repl.c, write.c) ---- */

struct redisReader;
struct redisReply;
struct rte_ring;

/** Merge a newer change into an older unsent one of the same binding. */
uint8_t kop_merge(uint8_t older, uint8_t newer);

struct csvc {
	bool used;
	uint8_t name_len;
	uint8_t kpre_len;	/* "lp:{NAME}:b:SVC:" */
	uint8_t suffix_off;	/* where "SVC:" starts in kpre */
	uint32_t timeout_s;
	char name[LP_CLUSTER_NAME_MAX];
	char kpre[4 + LP_CLUSTER_NAME_MAX + 4 + LP_CLUSTER_NAME_MAX + 1];
};

/* What each command sent waits for; replies come back in this order. */
enum rq_type {
	RQ_AUTH, RQ_SETNAME, RQ_INFO, RQ_EPOCH, RQ_XINFO, RQ_TIME,	/* handshake */
	RQ_MULTI,		/* a batch: MULTI, its RQ_OPs and RQ_XADD (queued), EXEC */
	RQ_OP,			/* a binding change or TTL refresh */
	RQ_XADD,		/* the batch's stream entry */
	RQ_EXEC,
	RQ_REREAD,		/* a stream entry asking readers to read keys again */
	RQ_XREAD,
	RQ_MGET,		/* values of a fetch */
	RQ_PTTL,		/* TTL of one key of a fetch */
	RQ_SCAN,
	RQ_HB_TIME, RQ_HB_HSET, RQ_HB_EXPIRE, RQ_HB_PEERS, RQ_HB_EPOCH, RQ_HB_XINFO,	/* heartbeat */
	RQ_EPOCH_AGAIN, RQ_XINFO_AGAIN,	/* after Redis lost the epoch */
	RQ_IGNORE,		/* reply not needed (HDEL) */
};

struct rq {
	uint8_t type;		/* enum rq_type */
	uint8_t op;		/* RQ_OP: enum kop */
	uint16_t pad;
	uint32_t n;		/* RQ_EXEC: commands queued in the batch */
	uint32_t ref;		/* RQ_OP: kent; RQ_MGET, RQ_PTTL: fetch */
	uint32_t idx;		/* RQ_PTTL: key index in the fetch */
	struct lp_cluster_backend be;	/* RQ_OP: the value sent */
	uint64_t t_us;		/* RQ_OP: when its event left the ring */
};

enum fetch_mode {
	FETCH_NOTIFY,		/* keys another instance changed: MGET */
	FETCH_LOAD,		/* keys of a scan: MGET + PTTL each */
	FETCH_CHECK,		/* an expiry check: MGET + PTTL */
};

struct fetch {
	uint8_t mode;
	bool used;
	uint32_t n, done;
	uint32_t cap;
	uint32_t next_free;
	struct lp_cluster_key *keys;
	uint64_t *entry_ms;		/* NOTIFY: Redis time of the stream entry */
	struct redisReply *values;	/* LOAD, CHECK: kept until the PTTLs are in */
};

/* Latency histogram: exact below 64 µs, then 32 steps per power of two. */
#define HIST_BUCKETS (64 + 32 * 26)
struct hist {
	uint32_t b[HIST_BUCKETS];
	uint64_t n;
	uint64_t max;
};

void hist_add(struct hist *h, uint64_t us);
void hist_summary(const struct hist *a, const struct hist *b, struct lp_cluster_lag *out);

struct producer {
	uint64_t emitted;
	uint64_t ring_full;
} __attribute__((aligned(64)));

struct lp_cluster {
	struct lp_cluster_params p;
	char name[LP_CLUSTER_NAME_MAX];
	char instance[64];
	char password_file[256];
	char id[17];
	struct endpoint ep;
	uint64_t rng;

	/* workers → control */
	struct rte_ring *ring;
	struct producer *prod;

	struct csvc svc[LP_CLUSTER_MAX_SERVICES];
	uint16_t svc_slot[4 * LP_CLUSTER_MAX_SERVICES];	/* name hash → svc_id + 1 */

	char k_bind[64];	/* "lp:{NAME}:b:" */
	size_t k_bind_len;
	char k_match[64];	/* "lp:{NAME}:b:*" */
	char k_log[64], k_epoch[64], k_peers[64];

	/* the connection */
	enum lp_cluster_state state;
	int fd;
	struct redisReader *reader;
	struct obuf out;
	struct rq *rq;
	uint32_t rq_cap, rq_head, rq_len;
	uint64_t now_us;
	uint64_t next_attempt_us, connect_start_us, last_progress_us;
	uint32_t backoff_ms;
	bool handshake_done;
	uint64_t pause_until_us;	/* after an error reply to a write */

	/* handshake and heartbeat answers */
	char hs_epoch[40];
	bool hs_epoch_nil;
	struct stream_pos hs_last;	/* XINFO: last-generated-id */
	uint64_t hs_added, hs_len;	/* XINFO: entries-added, length */
	int redis_major;

	/* synchronisation */
	char epoch[40];			/* the epoch our state belongs to ("" = none yet) */
	bool have_sid;
	struct stream_pos sid;		/* last stream entry read */
	uint64_t sid_added;		/* entries-added of the stream up to sid */
	bool force_scan;		/* a scan was cut short */
	bool scan_active, scan_outstanding, scan_cursor_done;
	char scan_cursor[24];
	struct stream_pos scan_sid;	/* where the stream resumes after the scan */
	uint64_t scan_added;
	uint32_t load_fetches;
	uint64_t load_start_us, load_ms, load_count;
	bool need_refill, refill_active;
	uint64_t walk_cursor;
	uint64_t refill_count;
	bool xread_outstanding, caught_up;
	uint64_t next_xread_us;
	bool loaded;

	uint64_t next_hb_us;
	uint32_t hb_left;
	int64_t redis_off_us;		/* Redis clock - our clock */
	bool have_off;

	struct ktab kt;

	struct fetch *fe;
	uint32_t fe_cap, fe_free;
	uint32_t fetch_keys;		/* keys in fetches awaiting replies */

	struct { uint32_t tag, sec; } *touch_seen;	/* TTL refreshed this second */
	uint32_t touch_mask;

	uint64_t c[LP_CLUSTER_C_MAX];

	char last_error[160];
	char last_logged[160];
	uint64_t last_logged_us;
	bool outage_logged;

	struct hist lag_in[2], lag_out[2];
	uint64_t hist_rotate_us;

	struct lp_cluster_peer peers[LP_CLUSTER_MAX_PEERS];
	unsigned int n_peers;

	struct obuf blob;		/* changes of the batch being built, with their values */
	struct obuf reread;		/* keys whose create lost: readers read them again */

	/* the batch between MULTI and EXEC: its commands, in order */
	struct rq *exec;
	uint32_t exec_n, exec_cap;
	bool exec_abort;		/* a command was refused when queued */

	/* acknowledged changes, in stream order, until the reader passes them */
	struct seen { uint32_t ref; struct stream_pos id; } *seen;
	uint32_t seen_cap, seen_head, seen_len;
	struct rq rq_spare;		/* handed out when the FIFO cannot grow (fails the connection) */
};

/* cluster.c */
void cl_log(struct lp_cluster *cl, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void cl_error(struct lp_cluster *cl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cl_fail(struct lp_cluster *cl, const char *why);
struct rq *cl_rq_push(struct lp_cluster *cl, uint8_t type);
const struct csvc *cl_svc_by_name(const struct lp_cluster *cl, const char *name, size_t len);
size_t cl_key(const struct lp_cluster *cl, char *out, const struct lp_cluster_key *k);
uint64_t cl_random(struct lp_cluster *cl);
void cl_new_epoch(struct lp_cluster *cl, char *out);
void cl_ask_epoch(struct lp_cluster *cl, uint8_t rq_epoch, uint8_t rq_xinfo);

static inline bool
svc_ok(const struct lp_cluster *cl, uint16_t svc_id)
{
	return svc_id < LP_CLUSTER_MAX_SERVICES && cl->svc[svc_id].used;
}

/* write.c: what goes to Redis */
void repl_drain(struct lp_cluster *cl);
void write_flush(struct lp_cluster *cl);
void write_refill(struct lp_cluster *cl);
void write_reply(struct lp_cluster *cl, const struct rq *q, const struct redisReply *r);
void write_seen_pass(struct lp_cluster *cl, bool all);
void write_apply(struct lp_cluster *cl, uint8_t op, uint8_t origin, const struct lp_cluster_key *k,
		 const struct lp_cluster_backend *be, int64_t ttl_ms);
void write_lost(struct lp_cluster *cl);
void write_free(struct lp_cluster *cl);

/* repl.c: what comes back, and each poll */
void repl_step(struct lp_cluster *cl);
void repl_reply(struct lp_cluster *cl, const struct rq *q, struct redisReply *r, bool *keep);
void repl_lost(struct lp_cluster *cl);
void repl_plan(struct lp_cluster *cl);
void repl_heartbeat_info(struct lp_cluster *cl);
int repl_check(struct lp_cluster *cl, const struct lp_cluster_key *k);
void repl_free(struct lp_cluster *cl);

#endif /* LP_CLUSTER_PRIV_H */
