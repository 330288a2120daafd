/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * limpet-gen internals: scenarios (which packet comes n-th), the rewrite
 * checker and the latency histogram. All of it works on plain bytes, so
 * the pcap writer, the pcap checker and the live generator share it.
 */
#ifndef LP_GEN_H
#define LP_GEN_H

#include <stdbool.h>
#include <stdint.h>

#include "lp_pkt.h"

/** What a run plays. */
enum gen_scenario {
	GEN_CONN,	/**< per flow: SYN, ACK, --data data packets, FIN (UDP: --data + 1 datagrams) */
	GEN_EST,	/**< SYN + ACK for every flow (setup), then data packets round robin over the flows */
	GEN_SYN,	/**< every packet the SYN of a new connection */
	GEN_RANGE,	/**< pktgen "range": source address and port increment, no handshake */
};

/** Kinds of frames a scenario sends. */
enum gen_kind { GK_SYN, GK_ACK, GK_DATA, GK_FIN, GK_UDP, GK_MAX };

#define GEN_MAX_MACS 64
#define GEN_STAMP_LEN 6		/**< TSC stamp: its low 48 bits, at the start of the payload */

struct gen_opts {
	enum gen_scenario scenario;
	uint8_t proto;			/**< IPPROTO_TCP or IPPROTO_UDP */
	uint8_t family;			/**< LP_AF_INET or LP_AF_INET6 */
	struct lp_ip client_net;	/**< first client address (host part incremented) */
	uint32_t clients;
	uint32_t flows;			/**< per client */
	uint16_t sport;			/**< first source port */
	struct lp_ip vip;
	uint16_t vport;
	uint32_t data;			/**< data packets per connection (conn) */
	uint32_t size;			/**< frame size on the wire, FCS included (64..1518); 0: smallest */
	double malformed;		/**< share of extra malformed frames, 0..1 */
	struct lp_mac src_mac, dst_mac;
	bool src_mac_given;		/**< else a live run uses the port's MAC */
	/* checks on what comes back */
	bool check;			/**< any --expect-* given */
	struct lp_ip expect_net;
	uint8_t expect_prefix;
	uint16_t expect_dport;		/**< 0: any */
	uint32_t n_expect_mac;
	struct lp_mac expect_mac[GEN_MAX_MACS];
	uint8_t expect_ttl;		/**< 0: any */
};

/** The scenario's packet factory: templates of each kind for flow 0. */
struct gen_scen {
	const struct gen_opts *o;
	uint32_t n_flows;		/**< clients * flows */
	uint32_t per_flow;		/**< packets per flow and pass (conn) */
	uint32_t sport_span;		/**< source ports available from --sport */
	uint16_t len;			/**< frame length without FCS */
	uint16_t l3_off, l4_off, payload_off;
	uint8_t tmpl[GK_MAX][1536];
};

/** Build the templates. @return 0 or -EINVAL (message on stderr). */
int gen_scen_init(struct gen_scen *s, const struct gen_opts *o);

/** Scenario packets in one pass (conn, est: setup included), 0 when endless. */
uint64_t gen_scen_pass_len(const struct gen_scen *s);

/** Packets of the est scenario's setup phase (0 for the others). */
uint64_t gen_scen_setup_len(const struct gen_scen *s);

/**
 * Write scenario packet @p seq into @p buf (room for s->len bytes), its
 * stamp field set to @p stamp. @return the frame length.
 */
uint16_t gen_scen_packet(const struct gen_scen *s, uint64_t seq, uint64_t stamp, uint8_t *buf);

/** Is output slot @p slot a malformed frame (deterministic in @p slot)? */
bool gen_is_malformed(const struct gen_opts *o, uint64_t slot);

/**
 * Turn the well-formed frame in @p buf (length @p len) into one of four
 * malformed frames limpet must drop (truncated, bad IHL, bad length,
 * impossible TCP flags or a loopback source). @return the new length.
 */
uint16_t gen_malform(const struct gen_scen *s, uint64_t slot, uint8_t *buf, uint16_t len);

/** Result of checking one received frame. */
enum gen_verdict {
	GV_OK = 0,
	GV_OTHER,	/**< ARP or neighbor discovery (limpet announces itself): not judged */
	GV_PARSE,	/**< does not parse */
	GV_FAMILY,	/**< wrong address family */
	GV_DST,		/**< destination outside --expect-dst */
	GV_DPORT,	/**< destination port not --expect-dport */
	GV_MAC,		/**< destination MAC not one of --expect-mac */
	GV_TTL,		/**< TTL / hop limit not --expect-ttl */
	GV_IP_CSUM,	/**< bad IPv4 header checksum */
	GV_L4_CSUM,	/**< bad TCP/UDP checksum */
	GV_MAX
};

extern const char *const gen_verdict_names[GV_MAX];

/** Check a frame that came back against the --expect-* options. */
enum gen_verdict gen_check(const struct gen_opts *o, const uint8_t *frame, uint32_t len);

/**
 * The stamp of a frame the scenario built (after any rewrite that keeps the
 * payload), or false when it carries none.
 */
bool gen_stamp(const uint8_t *frame, uint32_t len, uint64_t *stamp);

/**
 * Latency histogram, log-linear: exact below 64 cycles, then 32 buckets per
 * power of two (about 3% resolution) up to 2^64.
 */
#define GEN_HIST_BUCKETS (64 + 59 * 32)

struct gen_hist {
	uint64_t n;
	uint64_t max;
	uint64_t bucket[GEN_HIST_BUCKETS];
};

void gen_hist_add(struct gen_hist *h, uint64_t cycles);
/** Cycles at quantile @p q (0..1): the upper bound of its bucket, at most the maximum seen. */
uint64_t gen_hist_quantile(const struct gen_hist *h, double q);

/** Write the scenario to a pcap file (no EAL). @return 0 or -1. */
int gen_pcap_write(const struct gen_opts *o, const char *path, uint64_t count, double rate);

/** Check every frame of a pcap file and print the figures. @return 0, or 1 when a check failed. */
int gen_pcap_check(const struct gen_opts *o, const char *path);

#endif /* LP_GEN_H */
