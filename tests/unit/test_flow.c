/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the flow table's connection state machine (lp_flow.h):
 * which packets open a flow, every transition of a TCP flow, and when a
 * SYN over an existing 5-tuple starts a new connection. Pure functions
 * over a flow entry and a packet's flags: no EAL, no table.
 */
#include <netinet/in.h>
#include <stdio.h>

#include "lp_flow.h"
#include "lp_test.h"

#define ACK LP_TCP_ACK
#define SYN LP_TCP_SYN
#define FIN LP_TCP_FIN
#define RST LP_TCP_RST
#define PSH LP_TCP_PSH

static const char *const state_names[LP_FLOW_STATES] = { "FREE", "SYN", "EST", "FIN", "UDP" };

static void
check(bool ok, const char *what, unsigned int i)
{
	CU_ASSERT(ok);
	if (!ok)
		printf("\n    case %u: %s\n", i, what);
}

static void
test_opens(void)
{
	static const struct {
		const char *desc;
		uint8_t proto, flags;
		bool opens;
	} cases[] = {
		{ "TCP SYN: the client's first packet", IPPROTO_TCP, SYN, true },
		{ "TCP SYN with ECN bits", IPPROTO_TCP, SYN | 0xc0, true },
		{ "TCP SYN+ACK: the server's answer", IPPROTO_TCP, SYN | ACK, false },
		{ "TCP ACK: mid-stream", IPPROTO_TCP, ACK, false },
		{ "TCP FIN+ACK", IPPROTO_TCP, FIN | ACK, false },
		{ "TCP RST", IPPROTO_TCP, RST, false },
		{ "UDP: any datagram", IPPROTO_UDP, 0, true },
	};

	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check(lp_flow_opens(cases[i].proto, cases[i].flags) == cases[i].opens, cases[i].desc, i);
	CU_ASSERT(lp_flow_first_state(IPPROTO_TCP) == LP_FLOW_SYN);
	CU_ASSERT(lp_flow_first_state(IPPROTO_UDP) == LP_FLOW_UDP);
}

/* Every state of a TCP flow against every kind of client packet. */
static void
test_tcp_transitions(void)
{
	static const struct {
		uint8_t state, flags, next;
	} cases[] = {
		/* SYN sent, handshake not completed */
		{ LP_FLOW_SYN, SYN, LP_FLOW_SYN },		/* retransmitted SYN */
		{ LP_FLOW_SYN, ACK, LP_FLOW_EST },		/* third packet of the handshake */
		{ LP_FLOW_SYN, ACK | PSH, LP_FLOW_EST },	/* data with it */
		{ LP_FLOW_SYN, SYN | ACK, LP_FLOW_SYN },	/* not the client's: no progress */
		{ LP_FLOW_SYN, FIN | ACK, LP_FLOW_FIN },
		{ LP_FLOW_SYN, RST, LP_FLOW_FIN },		/* handshake abandoned */
		{ LP_FLOW_SYN, RST | ACK, LP_FLOW_FIN },
		/* established */
		{ LP_FLOW_EST, ACK, LP_FLOW_EST },
		{ LP_FLOW_EST, ACK | PSH, LP_FLOW_EST },
		{ LP_FLOW_EST, SYN, LP_FLOW_EST },		/* a stray SYN does not reset it */
		{ LP_FLOW_EST, FIN | ACK, LP_FLOW_FIN },
		{ LP_FLOW_EST, FIN, LP_FLOW_FIN },
		{ LP_FLOW_EST, RST, LP_FLOW_FIN },
		{ LP_FLOW_EST, RST | ACK, LP_FLOW_FIN },
		/* closing: stays closed (a SYN over it is a new connection, see below) */
		{ LP_FLOW_FIN, ACK, LP_FLOW_FIN },
		{ LP_FLOW_FIN, FIN | ACK, LP_FLOW_FIN },
		{ LP_FLOW_FIN, RST, LP_FLOW_FIN },
		{ LP_FLOW_FIN, ACK | PSH, LP_FLOW_FIN },
	};

	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t got = lp_flow_tcp_next(cases[i].state, cases[i].flags);

		CU_ASSERT(got == cases[i].next);
		if (got != cases[i].next)
			printf("\n    case %u: %s + flags 0x%02x gave %s, want %s\n", i, state_names[cases[i].state],
			       cases[i].flags, state_names[got], state_names[cases[i].next]);
	}
}

/* A SYN over an existing flow: a new connection when the old one closed or timed out. */
static void
test_tcp_reopens(void)
{
	static const struct {
		const char *desc;
		uint8_t state, flags;
		uint32_t idle_s;	/* since the flow's last packet */
		bool reopens;
	} cases[] = {
		{ "SYN after FIN: port reuse", LP_FLOW_FIN, SYN, 0, true },
		{ "SYN after RST, long after", LP_FLOW_FIN, SYN, 100, true },
		{ "ACK after FIN: the close goes on", LP_FLOW_FIN, ACK, 0, false },
		{ "SYN+ACK after FIN: not a client's opening", LP_FLOW_FIN, SYN | ACK, 0, false },
		{ "retransmitted SYN", LP_FLOW_SYN, SYN, 1, false },
		{ "SYN after the SYN state timed out", LP_FLOW_SYN, SYN, 11, true },
		{ "SYN on an established flow", LP_FLOW_EST, SYN, 5, false },
		{ "SYN on an established flow past its timeout", LP_FLOW_EST, SYN, 901, true },
		{ "ACK on an established flow past its timeout: revived", LP_FLOW_EST, ACK, 901, false },
		{ "SYN exactly at the timeout", LP_FLOW_EST, SYN, 900, false },
	};
	struct lp_flow_shard sh = { 0 };

	/* 1 tick a second: syn 10 s, established 900 s, fin 30 s, udp 60 s. */
	lp_flow_set_timeouts(&sh, 1, 10, 900, 30, 60);
	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lp_flow f = { .last_seen = 1000, .state = cases[i].state };

		check(lp_flow_tcp_reopens(&sh, &f, cases[i].flags, 1000 + cases[i].idle_s) == cases[i].reopens,
		      cases[i].desc, i);
	}
}

/* A whole connection, driven packet by packet as the worker drives it. */
static void
test_tcp_connection(void)
{
	static const uint8_t client[] = { ACK, ACK | PSH, ACK, FIN | ACK, ACK };
	static const uint8_t after[] = { LP_FLOW_EST, LP_FLOW_EST, LP_FLOW_EST, LP_FLOW_FIN, LP_FLOW_FIN };
	uint8_t st;

	CU_ASSERT_FATAL(lp_flow_opens(IPPROTO_TCP, SYN));
	st = lp_flow_first_state(IPPROTO_TCP);
	for (unsigned int i = 0; i < sizeof(client); i++) {
		st = lp_flow_tcp_next(st, client[i]);
		check(st == after[i], "connection step", i);
	}
}

int
main(void)
{
	static const struct lp_test_case cases[] = {
		{ "which packets open a flow", test_opens },
		{ "every TCP transition", test_tcp_transitions },
		{ "a SYN over an existing flow", test_tcp_reopens },
		{ "one connection, packet by packet", test_tcp_connection },
		{ NULL, NULL },
	};
	static const struct lp_test_suite suites[] = {
		{ "flow_state", NULL, NULL, cases },
		{ NULL, NULL, NULL, NULL },
	};

	return lp_test_run(suites);
}
