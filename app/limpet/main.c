/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * limpet: argument parsing, EAL, signals, and the control loop. Everything
 * else lives in liblimpet.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_pdump.h>

#include "lp_announce.h"
#include "lp_cli.h"
#include "lp_config.h"
#include "lp_ctl.h"
#include "lp_ctl_cluster.h"
#include "lp_export.h"
#include "lp_log.h"
#include "lp_notify.h"

static volatile sig_atomic_t quit_signal;	/* the signal that asked to stop, 0: none */
static volatile sig_atomic_t reload_signal;

struct app_opts {
	const char *config;
	bool check_only;
	long idle_exit_ms;	/* < 0: run until stopped */
	const char *metrics;	/* Prometheus endpoint, NULL: none */
	bool interactive;
	const char *cmdline_file;
	const char *ctl_socket;
	bool test_hooks;	/* CLI commands that break limpet on purpose (tests) */
};

static void
usage(FILE *out, const char *prog)
{
	fprintf(out,
		"usage: %s [EAL options] -- --config FILE [options]\n"
		"       %s --check-config FILE\n"
		"\n"
		"limpet options (after --):\n"
		"  --config FILE        YAML configuration (see docs/configuration.md)\n"
		"  --check-config [FILE] validate the configuration, print a summary, exit 0/1 (no EAL)\n"
		"  --idle-exit MS       exit once no packet arrived for MS milliseconds, printing a\n"
		"                       counter summary (replay mode: --vdev net_pcap0,rx_pcap=in.pcap,...)\n"
		"  --metrics [ADDR:]PORT serve Prometheus metrics at http://ADDR:PORT/metrics\n"
		"                       (ADDR defaults to 127.0.0.1; [ADDR6]:PORT for IPv6)\n"
		"  -i, --interactive    command prompt on the terminal (see docs/cli.md; `help` lists commands)\n"
		"  --cmdline-file FILE  run the commands in FILE once limpet has started\n"
		"  --ctl-socket PATH    serve commands on a unix socket (mode 0600) for limpetctl\n"
		"  --test-hooks         add the `test ...` CLI commands that break limpet on purpose\n"
		"                       (for tests of the watchdog; never in production)\n"
		"  --help               this text\n",
		prog, prog);
}

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_signal = 1;
	else
		quit_signal = sig;
}

/*
 * From the first instruction of main, before EAL starts any thread (they
 * inherit all of this), whatever limpet inherited (ignored or blocked
 * signals): SIGTERM and SIGINT stop limpet the clean way
 * (workers stopped, summary printed, control socket removed), SIGHUP
 * reloads the config. Either may arrive during start-up (EAL, building
 * the model, launching workers: up to seconds); it is only recorded then
 * and acted on once start-up is done. SIGPIPE is ignored: when whoever
 * reads limpet's output goes away (a log shipper restarts, a `| tee` is
 * killed), a write fails with EPIPE and the line is lost, limpet is not.
 */
static void
install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };
	sigset_t ours;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	/* Blocked by whoever started limpet: one that came meanwhile was
	 * held pending, and is recorded now. */
	sigemptyset(&ours);
	sigaddset(&ours, SIGTERM);
	sigaddset(&ours, SIGINT);
	sigaddset(&ours, SIGHUP);
	sigprocmask(SIG_UNBLOCK, &ours, NULL);
}

/* --check-config needs no clean stop: the default actions again,
 * and a stop asked for meanwhile takes effect now. */
static void
default_signals(void)
{
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	if (quit_signal != 0)
		raise(quit_signal);
}

/* SIGTERM or SIGINT seen (for waits during start-up). */
static bool
stop_asked(void)
{
	return quit_signal != 0;
}

/* A stop asked for before the control loop runs: nothing was served yet,
 * so limpet ends here (exit 0), before taking any traffic. */
static bool
stopped_during_start_up(void)
{
	if (quit_signal == 0)
		return false;
	LP_LOG(NOTICE, app, "%s during start-up: stopping\n", strsignal(quit_signal));
	return true;
}

/* A SIGHUP that came during start-up is a reload of the file that start-up
 * just read: it runs now, in the first pass of the loop. */
static void
note_start_up_reload(const char *path)
{
	if (reload_signal)
		LP_LOG(NOTICE, app, "SIGHUP during start-up: reloading %s now that start-up is done\n", path);
}

static int
check_config(const char *path)
{
	struct lp_diag d = { 0 };
	struct lp_config *c = lp_config_load(path, &d);
	char line[256];

	if (c == NULL) {
		lp_diag_print(&d, stderr);
		lp_diag_clear(&d);
		return EXIT_FAILURE;
	}
	lp_config_summary(c, line, sizeof(line));
	printf("%s\n", line);
	lp_config_free(c);
	lp_diag_clear(&d);
	return EXIT_SUCCESS;
}

/* limpet's own options, after EAL's. Returns 0, 1 (exit 0: --help) or -1. */
static int
parse_opts(int argc, char **argv, struct app_opts *o)
{
	static const struct option longs[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", optional_argument, NULL, 'C' },
		{ "idle-exit", required_argument, NULL, 'I' },
		{ "metrics", required_argument, NULL, 'M' },
		{ "interactive", no_argument, NULL, 'i' },
		{ "cmdline-file", required_argument, NULL, 'F' },
		{ "ctl-socket", required_argument, NULL, 'S' },
		{ "test-hooks", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	o->idle_exit_ms = -1;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "hi", longs, NULL)) != -1) {
		char *end;

		switch (opt) {
		case 'c':
			o->config = optarg;
			break;
		case 'C':
			o->check_only = true;
			if (optarg != NULL)
				o->config = optarg;
			else if (optind < argc && argv[optind][0] != '-')
				o->config = argv[optind++];
			break;
		case 'I':
			errno = 0;
			o->idle_exit_ms = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || o->idle_exit_ms < 0) {
				fprintf(stderr, "limpet: --idle-exit: '%s' is not a number of milliseconds\n", optarg);
				return -1;
			}
			break;
		case 'M':
			o->metrics = optarg;
			break;
		case 'i':
			o->interactive = true;
			break;
		case 'F':
			o->cmdline_file = optarg;
			break;
		case 'S':
			o->ctl_socket = optarg;
			break;
		case 'T':
			o->test_hooks = true;
			break;
		case 'h':
			usage(stdout, argv[0]);
			return 1;
		default:
			usage(stderr, argv[0]);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "limpet: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (o->config == NULL) {
		fprintf(stderr, "limpet: --config FILE is required\n");
		return -1;
	}
	return 0;
}

/* Packets seen so far, and whether any are still on their way. */
static uint64_t
activity(struct lp_ctl *c)
{
	static struct lp_stats s;

	lp_ctl_stats(c, &s);
	return s.c[LP_WC_rx_pkts] + s.c[LP_WC_injected];
}

static void
sleep_us(long us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

/*
 * The control loop's pace, adaptive like the workers' (lib/worker/loop.c).
 * A pass that did work (a packet from the workers' slow path or exception
 * rings or from a kernel interface, a probe sent, an object freed, a CLI,
 * HTTP or telemetry request, data from Redis, the 4 Hz timed pass) is
 * followed by the next one at once. Idle passes sleep 25, 50, 100, ... µs
 * up to CTL_IDLE_SLEEP_MAX_US. The bound is the most that anything waits
 * for the control thread to notice it: an ARP or ND request, a BFD or BGP
 * packet through the kernel interface (2 ms against BFD's 100 ms
 * intervals), a health-check reply (probe timeouts are 100 ms or more),
 * the first byte of a CLI or metrics request; timers (probes due, drains,
 * slow start) are checked on every pass, so they fire at most that late.
 * Idle CPU of the control thread (tools/bench/idle_cpu.sh, docs/scale-out.md):
 * 10.5 % of a core with the fixed 200 µs sleep it had before, 3.8 % with a
 * 1 ms bound, 2.3 % with 2 ms.
 */
#define CTL_IDLE_SLEEP_MIN_US 25
#define CTL_IDLE_SLEEP_MAX_US 2000

struct ctl_pace {
	long step_us;		/* the last idle sleep, 0 after a pass with work */
	uint64_t cli_activity;
};

static void
ctl_pace(struct ctl_pace *p, struct lp_cli *cli, bool work)
{
	if (cli != NULL && lp_cli_activity(cli) != p->cli_activity) {
		p->cli_activity = lp_cli_activity(cli);
		work = true;
	}
	if (work) {
		p->step_us = 0;
		return;
	}
	p->step_us = p->step_us == 0 ? CTL_IDLE_SLEEP_MIN_US : RTE_MIN(p->step_us * 2, CTL_IDLE_SLEEP_MAX_US);
	sleep_us(p->step_us);
}

/* Telemetry commands, and the Prometheus endpoint when asked for. */
static struct lp_export *
start_export(const struct app_opts *o, struct lp_ctl *c)
{
	struct lp_export_opts eo = { .metrics_addr = o->metrics, .telemetry = true };
	struct lp_diag d = { 0 };
	struct lp_export *x = lp_export_create(c, &eo, &d);

	if (x == NULL)
		lp_diag_print(&d, stderr);
	lp_diag_clear(&d);
	return x;
}

/*
 * Live capture by dpdk-dumpcap / dpdk-pdump. They attach as secondary
 * processes, which needs the shared configuration file and memory in
 * hugepages: with --no-huge, --no-shconf or --in-memory capture is off.
 */
static bool
start_capture(void)
{
	const char *dir = rte_eal_get_runtime_dir();
	char cfg[PATH_MAX];

	snprintf(cfg, sizeof(cfg), "%s/config", dir);
	if (!rte_eal_has_hugepages() || access(cfg, F_OK) != 0) {
		LP_LOG(DEBUG, app, "capture: off (needs hugepages and a shared config)\n");
		return false;
	}
	if (rte_pdump_init() != 0) {
		LP_LOG(WARNING, app, "capture: off: %s\n", rte_strerror(rte_errno));
		return false;
	}
	LP_LOG(INFO, app, "capture: dpdk-dumpcap --file-prefix=%s can attach\n",
	       strrchr(dir, '/') != NULL ? strrchr(dir, '/') + 1 : dir);
	return true;
}

/* The command line, when any of its channels was asked for. */
static int
start_cli(struct app_opts *o, struct lp_ctl *c, struct lp_export *x, struct lp_cli **cli)
{
	struct lp_cli_opts co = {
		.config_path = o->config,
		.interactive = o->interactive,
		.socket_path = o->ctl_socket,
		.export = x,
		.test_hooks = o->test_hooks,
	};
	struct lp_diag d = { 0 };

	*cli = NULL;
	if (!o->interactive && o->cmdline_file == NULL && o->ctl_socket == NULL)
		return 0;
	*cli = lp_cli_create(c, &co, &d);
	if (*cli == NULL) {
		lp_diag_print(&d, stderr);
		lp_diag_clear(&d);
		return -1;
	}
	if (o->cmdline_file != NULL && lp_cli_run_file(*cli, o->cmdline_file, stdout, stderr) < 0) {
		lp_cli_destroy(*cli);
		*cli = NULL;
		return -1;
	}
	return 0;
}

/*
 * Under systemd, log lines carry syslog priorities for the journal. First
 * thing, so EAL's messages and --check-config's (ExecStartPre) get them too.
 */
static void
journal_setup(void)
{
	int ret = lp_journal_setup();

	if (ret < 0)
		fprintf(stderr, "limpet: journal priorities: %s\n", strerror(-ret));
}

/*
 * Tell the service manager (systemd Type=notify) about this run: READY=1
 * once the ports and workers are up, then the watchdog. NULL (nothing to
 * do) without $NOTIFY_SOCKET. A module that must finish first holds
 * readiness here: lp_notify_hold(n, LP_READY_BINDINGS), released with
 * lp_notify_release(). The replicated bindings need no hold: their warm
 * start runs before the workers start, so READY=1 follows it.
 */
static struct lp_notify *
start_notify(const struct app_opts *o, struct lp_ctl *c)
{
	return lp_notify_create(lp_ctl_dp(c), o->config);
}

/* A SIGHUP reload, and whom to tell how it ended. */
struct sighup_reload {
	const char *path;
	struct lp_notify *n;
};

/* A SIGHUP reload is applied, or not (a big one is built on a helper thread
 * while the control loop goes on, and ends here later). */
static void
reload_done(void *arg, int ret, const struct lp_diag *d)
{
	const struct sighup_reload *r = arg;

	if (ret == 0) {
		LP_LOG(NOTICE, app, "reloaded %s\n", r->path);
	} else {
		fprintf(stderr, "limpet: reload of %s refused, running configuration unchanged:\n", r->path);
		lp_diag_print(d, stderr);
	}
	lp_notify_reloaded(r->n, ret == 0, d);
}

/*
 * A planned stop with `announce:`: withdraw every VIP route first (the
 * routing daemon tells the routers at once), then keep forwarding for
 * withdrawDelaySeconds while the routers move the traffic away. A second
 * SIGTERM/SIGINT stops at once.
 */
static void
withdraw_then_drain(struct lp_ctl *c, struct lp_cli *cli, struct lp_export *x, struct lp_notify *n)
{
	struct lp_announce *a = lp_ctl_announcer(c);
	uint64_t hz = rte_get_tsc_hz(), t0 = rte_rdtsc(), deadline;
	uint32_t delay = lp_ctl_withdraw_delay_s(c);
	struct ctl_pace pace = { 0 };
	int left;

	if (a == NULL)
		return;
	left = lp_announce_withdraw_all(a, 1000);
	LP_LOG(NOTICE, app, "announce: VIP routes withdrawn in %.1f ms%s; forwarding for %u s before stopping\n",
	       (double)(rte_rdtsc() - t0) * 1000.0 / (double)hz, left > 0 ? " (some unconfirmed)" : "", delay);
	quit_signal = 0;
	deadline = rte_rdtsc() + (uint64_t)delay * hz;
	while (quit_signal == 0) {
		uint64_t now = rte_rdtsc();
		bool work;

		if (now >= deadline)
			return;
		work = lp_ctl_poll(c, now);
		lp_notify_poll(n, now);
		work |= lp_export_poll(x, now);
		if (cli != NULL)
			lp_cli_poll(cli, now);
		ctl_pace(&pace, cli, work);
	}
	LP_LOG(NOTICE, app, "%s: stopping now\n", strsignal(quit_signal));
}

static int
run(struct app_opts *o)
{
	struct lp_diag d = { 0 };
	struct lp_config *cfg = lp_config_load(o->config, &d);
	struct lp_cli *cli;
	struct lp_ctl *c;
	struct lp_export *x;
	struct lp_notify *n;
	struct sighup_reload sighup = { .path = o->config };
	uint64_t hz = rte_get_tsc_hz(), last_activity, idle_since;
	struct ctl_pace pace = { 0 };

	if (cfg == NULL) {
		lp_diag_print(&d, stderr);
		lp_diag_clear(&d);
		return EXIT_FAILURE;
	}
	c = lp_ctl_create(cfg, NULL, &d);
	lp_config_free(cfg);
	if (c == NULL) {
		lp_diag_print(&d, stderr);
		lp_diag_clear(&d);
		return EXIT_FAILURE;
	}
	lp_diag_clear(&d);
	if (stopped_during_start_up()) {
		lp_ctl_destroy(c);
		return EXIT_SUCCESS;
	}
	/* Warm start (`cluster`): the replicated bindings are loaded before
	 * the workers bind any new client and before anything announces the
	 * VIPs; at most cluster.startWaitSeconds when Redis does not answer
	 * (said, counted as start_unreachable, loaded later). */
	lp_ctl_cluster_warm_start(c, stop_asked);
	if (stopped_during_start_up()) {
		lp_ctl_destroy(c);
		return EXIT_SUCCESS;
	}
	if (lp_ctl_start(c) != 0) {
		fprintf(stderr, "limpet: cannot launch the workers\n");
		lp_ctl_destroy(c);
		return EXIT_FAILURE;
	}
	lp_ctl_announce(c);
	x = start_export(o, c);
	if (x == NULL) {
		lp_ctl_destroy(c);
		return EXIT_FAILURE;
	}
	LP_LOG(INFO, app, "running: %u workers, config %s\n", lp_ctl_dp(c)->n_workers, o->config);
	if (start_cli(o, c, x, &cli) != 0) {
		lp_export_destroy(x);
		lp_ctl_destroy(c);
		return EXIT_FAILURE;
	}
	n = start_notify(o, c);
	sighup.n = n;
	note_start_up_reload(o->config);
	last_activity = activity(c);
	idle_since = rte_rdtsc();
	while (!quit_signal && (cli == NULL || !lp_cli_quit_requested(cli))) {
		uint64_t now = rte_rdtsc();
		bool work;

		work = lp_ctl_poll(c, now);
		lp_notify_poll(n, now);
		work |= lp_export_poll(x, now);
		if (cli != NULL && lp_cli_poll(cli, now))
			break;
		/* A SIGHUP during a reload being built reloads again after it. */
		if (reload_signal && !lp_ctl_busy(c)) {
			struct lp_config *next;
			int ret;

			reload_signal = 0;
			work = true;
			lp_notify_reloading(n);
			next = lp_config_load(o->config, &d);
			ret = next == NULL ? -EINVAL : lp_ctl_apply_start(c, next, &d, reload_done, &sighup);
			if (ret != -EINPROGRESS)
				reload_done(&sighup, ret, &d);
			lp_config_free(next);
			lp_diag_clear(&d);
		}
		if (o->idle_exit_ms >= 0) {
			uint64_t a = activity(c);

			if (a != last_activity) {
				last_activity = a;
				idle_since = now;
			} else if (now - idle_since >= (uint64_t)o->idle_exit_ms * hz / 1000) {
				break;
			}
		}
		ctl_pace(&pace, cli, work);
	}
	/* A reload still being built is abandoned: its end is told while the
	 * notifier and the CLI are still there. */
	lp_ctl_apply_cancel(c);
	withdraw_then_drain(c, cli, x, n);
	lp_notify_destroy(n);	/* STOPPING=1 */
	lp_cli_destroy(cli);	/* it uses the exporter */
	lp_export_destroy(x);
	lp_ctl_stop(c);
	/* Slow-path work the workers handed over last, then the summary. */
	lp_ctl_poll(c, rte_rdtsc());
	/* Binding changes not yet in Redis: a rolling restart loses none. */
	lp_ctl_cluster_flush(c, 2000);
	lp_ctl_print_summary(c, stdout);
	fflush(stdout);
	lp_ctl_destroy(c);
	return EXIT_SUCCESS;
}

int
main(int argc, char **argv)
{
	struct app_opts o = { 0 };
	int sep = -1, ret;
	bool capture;

	install_signals();
	journal_setup();
	/* `limpet --check-config FILE` needs no EAL: look for it first. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0 && sep < 0)
			sep = i;
		if (strcmp(argv[i], "--help") == 0 && sep < 0) {
			usage(stdout, argv[0]);
			return EXIT_SUCCESS;
		}
	}
	if (sep < 0) {
		ret = parse_opts(argc, argv, &o);
		if (ret != 0)
			return ret > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
		if (o.check_only) {
			default_signals();
			return check_config(o.config);
		}
		fprintf(stderr, "limpet: EAL options and then -- are needed to run (see --help)\n");
		return EXIT_FAILURE;
	}
	argv[sep] = argv[0];
	ret = parse_opts(argc - sep, argv + sep, &o);
	if (ret != 0)
		return ret > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
	if (o.check_only) {
		default_signals();
		return check_config(o.config);
	}
	ret = rte_eal_init(sep, argv);
	if (ret < 0) {
		fprintf(stderr, "limpet: EAL initialisation failed: %s\n", rte_strerror(rte_errno));
		return EXIT_FAILURE;
	}
	if (stopped_during_start_up()) {
		rte_eal_cleanup();
		return EXIT_SUCCESS;
	}
	capture = start_capture();
	ret = run(&o);
	if (capture)
		rte_pdump_uninit();
	rte_eal_cleanup();
	return ret;
}
