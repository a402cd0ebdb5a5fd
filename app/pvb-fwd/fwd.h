/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_FWD_H_
#define _PVB_FWD_H_

/*
 * pvb-fwd runtime state. The main lcore configures, prints statistics and
 * handles signals; every worker lcore runs fwd_lcore_loop() over the rx
 * queues it polls and the tx queues it owns.
 *
 * A packet whose output queue belongs to another lcore travels on the
 * submission ring of a hand-off link (one scring per ordered lcore pair that
 * needs one) and belongs to that lcore from then on: it transmits it as it
 * does the packets it received itself, and the PMD (or, for a packet it
 * drops, that lcore) frees it there. Nothing comes back; the link's
 * occupancy is the backpressure.
 */

#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_seqcount.h>

#include "fwd_config.h"
#include "fwd_l2.h"
#include "pvb_ordering.h"
#include "pvb_scring.h"
#include "pvb_swol.h"

/* Why a packet was dropped. Every drop is counted under one of these. */
enum fwd_drop {
	FWD_DROP_TX_FULL,	/* the tx queue took fewer than offered */
	FWD_DROP_NO_ROUTE,	/* xconnect: no peer; l2: no other port; a runt frame */
	FWD_DROP_FILTERED,	/* l2: destination learned on the ingress port */
	FWD_DROP_RING_FULL,	/* hand-off ring to the owning lcore full */
	FWD_DROP_TOO_BIG,	/* longer than the output port's frame limit */
	FWD_DROP_NO_MBUF,	/* a copy for a port that cannot reach the frame found no mbuf */
	FWD_DROP_BAD_OFFLOAD,	/* an offload request the frame's headers do not match */
	FWD_NB_DROPS,
};

extern const char *const fwd_drop_names[FWD_NB_DROPS];

/* One lcore's counters for one port; written by that lcore only. */
struct fwd_port_counters {
	pvb_counter_t rx;
	pvb_counter_t tx;
	pvb_counter_t copied;		/* frames pvb-fwd copied for this output port */
	pvb_counter_t copied_bytes;
	pvb_counter_t held;		/* frames the tx queue refused, kept to send again */
	pvb_counter_t sw_cksum;		/* frames whose checksums pvb-fwd filled for this port */
	pvb_counter_t sw_gso;		/* frames pvb-fwd segmented for this port */
	pvb_counter_t sw_gso_segs;	/* the segments they became */
	pvb_counter_t drop[FWD_NB_DROPS];
} __rte_cache_aligned;

/*
 * Submission entry of a hand-off link (8 bytes, eight to a cache line): the
 * mbuf's address with the output port in its low bits, which are zero
 * because mbufs are cache-line aligned (fwd_handoff.h packs and unpacks it).
 */
typedef uint64_t fwd_handoff_ent;
#define FWD_HANDOFF_PORT_MASK	((uint64_t)RTE_CACHE_LINE_MIN_SIZE - 1)
_Static_assert(FWD_MAX_PORTS <= FWD_HANDOFF_PORT_MASK + 1, "a port fits the low bits");
_Static_assert(alignof(struct rte_mbuf) >= RTE_CACHE_LINE_MIN_SIZE, "mbufs are line aligned");

/* A hand-off link from lcore src to lcore dst; the completion ring is unused. */
struct fwd_link {
	struct pvb_scring_prod prod __rte_cache_aligned;	/* src's end */
	struct pvb_scring_cons cons __rte_cache_aligned;	/* dst's end */
	uint16_t src_slot, dst_slot;	/* indices into fwd_state.lc */
	const struct rte_memzone *mz;
};

/* Where an lcore sends packets for one output port. */
struct fwd_route {
	int16_t txq;		/* index into the lcore's txq[], or -1 */
	int16_t link;		/* index into the lcore's out_links[], or -1 */
};

/*
 * A tx queue an lcore owns, with the packets buffered for it: received here
 * or handed in by other lcores, freed by the PMD (or by us if dropped).
 */
struct fwd_txq {
	uint16_t port;
	uint16_t queue;
	uint16_t n;				/* packets buffered */
	uint64_t held_since;			/* TSC of the last progress while holding; 0: none */
	/* a burst held back plus the rx burst or hand-off that came before rx stopped */
	struct rte_mbuf *pkts[2 * FWD_MAX_BURST];
};

struct fwd_run;

/* A worker lcore. */
struct fwd_lcore {
	unsigned int lcore_id;
	uint16_t nb_rx, nb_txq, nb_in, nb_out;
	struct fwd_qref rx[FWD_MAX_QREFS];
	struct fwd_txq *txq;			/* nb_txq of them */
	struct fwd_link *in_links[FWD_MAX_LCORES];	/* we transmit for these */
	struct fwd_link *out_links[FWD_MAX_LCORES];	/* we hand off on these */
	struct fwd_route route[FWD_MAX_PORTS];
	struct fwd_port_counters *cnt;		/* [nb_ports] */
	pvb_counter_t busy_cycles;
	pvb_counter_t total_cycles;
	pvb_counter_t naps;			/* adaptive: timed sleeps (nanosleep) */
	pvb_counter_t intr_sleeps;		/* adaptive: sleeps in rte_epoll_wait */
	pvb_counter_t intr_wakeups;		/* of those, ended by an rx interrupt */
	pvb_counter_t handoff_tx;		/* entries submitted to other lcores */
	pvb_counter_t handoff_rx;		/* entries consumed from other lcores */
	pvb_counter_t l2_invalid;		/* l2: sources not learnable (group, zero) */
	pvb_shared_u32 quiet;			/* W: this lcore, while draining */
	pvb_shared_u32 on_intr;			/* W: this lcore: it sleeps on rx interrupts */
	struct fwd_run *run;			/* its loop's scratch (fwd_run.h) */
	struct pvb_swol swol;			/* offloads done here for ports without them */
};

/* What a port is to the bridge (fwd_bridge.c), from its driver's name. */
enum fwd_port_kind {
	FWD_KIND_OTHER,
	FWD_KIND_NETVSP,	/* net_pvb_netvsp: lends its guest's slots and region */
	FWD_KIND_VIRTIO,	/* net_pvb_virtio: a vhost-user front-end, reads frames in place */
	FWD_KIND_VHOST,		/* net_pvb_vhost: a vhost-user back-end, copies */
};

#define FWD_REACH_MAX	8	/* regions pvb-fwd adds to one port (the table takes 7) */

/*
 * External memory a net_pvb_virtio port's back-end maps: the regions
 * pvb-fwd added to its table. W: the main lcore (fwd_bridge_poll()) inside
 * the seqcount's write section; R: workers, retrying when the count moved.
 * A frame judged reachable just as its region goes is dropped and counted
 * by the PMD (tx_qN_unshared_memory), never sent into unshared memory.
 */
struct fwd_reach {
	rte_seqcount_t sc;
	uint32_t n;
	struct {
		uintptr_t lo, hi;	/* [lo, hi) */
	} r[FWD_REACH_MAX];
} __rte_cache_aligned;

/* Flow xstats of our PMDs, read by name; absent from other PMDs. */
enum fwd_flow {
	FWD_RX_REF_PKTS, FWD_RX_REF_BYTES, FWD_RX_COPIED_PKTS, FWD_RX_COPIED_BYTES,
	FWD_TX_REF_PKTS, FWD_TX_REF_BYTES, FWD_TX_COPIED_PKTS, FWD_TX_COPIED_BYTES,
	FWD_NB_FLOWS,
};

extern const char *const fwd_flow_names[FWD_NB_FLOWS];

/* A port as the datapath sees it. */
struct fwd_port {
	uint16_t port_id;
	uint32_t max_frame;	/* longest frame the port transmits */
	uint32_t max_rx_frame;	/* longest frame the port can receive */
	bool rx_scatter;	/* may receive chained mbufs */
	bool tx_multi_seg;	/* can transmit chained mbufs */
	uint64_t tx_can;	/* the mbuf TX requests (PVB_SWOL_FLAGS bits) the port honours */
	bool configured;	/* rte_eth_dev_configure() done: close it at exit */
	struct rte_ether_addr mac;
	bool started;
	bool rx_intr;		/* adaptive idle: configured with rx interrupts (intr_conf.rxq) */
	uint64_t nic_missed_at_close;	/* the device's drops when it closed */
	char name[FWD_NAME_LEN];
	/* the bridge (fwd_bridge.c) */
	enum fwd_port_kind kind;
	int lender;		/* the net_pvb_netvsp port whose slot pool our rx takes, or -1 */
	struct fwd_reach *reach;	/* net_pvb_virtio: what its back-end maps; else NULL */
	struct rte_mempool *copy_pool;	/* where frames copied for this port come from */
	struct rte_mempool *slot_pool;	/* net_pvb_netvsp: its slot pool, once lent */
	char slot_pool_name[RTE_MEMPOOL_NAMESIZE];	/* for the reports after close */
	unsigned int slot_pool_size;	/* 0: none lent */
	unsigned int slot_in_use_end;	/* slot pool mbufs not back once the ports stopped */
	uint64_t flow_id[FWD_NB_FLOWS];	/* xstat ids; UINT64_MAX: the PMD has none */
	uint64_t flow_at_close[FWD_NB_FLOWS];
	bool has_flows;		/* some flow xstat found */
};

struct fwd_state {
	struct fwd_config *cfg;
	uint16_t nb_ports;
	struct fwd_port port[FWD_MAX_PORTS];
	uint16_t nb_lcores;
	struct fwd_lcore *lc[FWD_MAX_LCORES];
	struct rte_mempool *pool[RTE_MAX_NUMA_NODES];
	unsigned int in_use_start[RTE_MAX_NUMA_NODES];
	struct fwd_l2 *l2;
	/* [in][out]: a frame from in may be more than out transmits (else skip the checks) */
	bool size_check[FWD_MAX_PORTS][FWD_MAX_PORTS];
	uint64_t tsc_hz;
	uint64_t l2_age_cycles;
	struct fwd_bridge *bridge;	/* the main lcore's bridge state (fwd_bridge.c) */
	pvb_shared_u32 stop_rx;		/* W: main; workers stop polling rx */
	pvb_shared_u32 quit;		/* W: main; workers leave their loop */
};

/* fwd_port.c */
/* Write a one-line reason into @p err; returns -1 for "return fwd_errf(...)". */
int fwd_errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int fwd_ports_setup(struct fwd_state *st, char *err, size_t errlen);
unsigned int fwd_ports_close(struct fwd_state *st);

/* fwd_bridge.c: the netvsc-virtio bridge (doc/bridge.md); main lcore only */
int fwd_bridge_init(struct fwd_state *st, char *err, size_t errlen);
int fwd_bridge_devargs(const struct fwd_state *st, uint16_t p, char *buf, size_t len);
int fwd_bridge_probed(struct fwd_state *st, char *err, size_t errlen);
struct rte_mempool *fwd_bridge_rx_pool(struct fwd_state *st, uint16_t p);
void fwd_bridge_poll(struct fwd_state *st);
unsigned int fwd_bridge_check_slots(struct fwd_state *st);
void fwd_bridge_free(struct fwd_state *st);

/* fwd_lcore.c: set-up */
int fwd_lcores_setup(struct fwd_state *st, char *err, size_t errlen);
void fwd_lcores_free(struct fwd_state *st);

/* fwd_loop.c */
struct fwd_run *fwd_run_alloc(struct fwd_state *st, struct fwd_lcore *lc);
int fwd_lcore_loop(void *arg);	/* arg: struct fwd_lcore_arg * */

struct fwd_lcore_arg {
	struct fwd_state *st;
	struct fwd_lcore *lc;
};

/* fwd_idle.c: what an idle worker sleeps on (adaptive mode) */
bool fwd_idle_intr_register(const struct fwd_state *st, struct fwd_lcore *lc);
void fwd_idle_intr_unregister(const struct fwd_state *st, const struct fwd_lcore *lc);
int fwd_idle_intr_arm(const struct fwd_state *st, const struct fwd_lcore *lc);
void fwd_idle_intr_disarm(const struct fwd_state *st, const struct fwd_lcore *lc,
			  uint16_t nb);
int fwd_idle_intr_timeout_ms(const struct fwd_config *cfg, const struct fwd_lcore *lc);
int fwd_idle_intr_wait(int timeout_ms);
void fwd_idle_nap(const struct fwd_config *cfg);

/* fwd_stats.c: readers (main, telemetry) take the lock around device statistics */
void fwd_stats_lock(void);
void fwd_stats_unlock(void);
struct fwd_totals {
	uint64_t rx, tx, drop[FWD_NB_DROPS], drops;
	uint64_t nic_missed;	/* dropped by the device before rx: imissed + rx_nombuf */
	uint64_t copied, copied_bytes;	/* pvb-fwd's own copies for this output port */
	uint64_t held;			/* frames held back by a full tx queue, sent later */
	uint64_t sw_cksum, sw_gso, sw_gso_segs;	/* offloads pvb-fwd did for this output port */
	uint64_t flow[FWD_NB_FLOWS];	/* the PMD's flow xstats, where fwd_port.has_flows */
};
void fwd_port_totals(const struct fwd_state *st, uint16_t p, struct fwd_totals *t);
void fwd_flow_lookup(struct fwd_port *fp);
void fwd_flow_read(const struct fwd_port *fp, uint64_t *v);
uint64_t fwd_l2_invalid_total(const struct fwd_state *st);
uint64_t fwd_lcore_rx(const struct fwd_state *st, const struct fwd_lcore *lc);
uint64_t fwd_lcore_pkts(const struct fwd_state *st, const struct fwd_lcore *lc);
double fwd_cycles_per_pkt(uint64_t busy_cycles, uint64_t pkts);
struct fwd_stats_view;
struct fwd_stats_view *fwd_stats_start(const struct fwd_state *st);
void fwd_stats_print(struct fwd_stats_view *v, FILE *f);
void fwd_stats_summary(struct fwd_stats_view *v, FILE *f);
int fwd_stats_json(struct fwd_stats_view *v, const char *path, const unsigned int *in_use_end);
void fwd_stats_free(struct fwd_stats_view *v);

/* fwd_telemetry.c */
int fwd_telemetry_register(struct fwd_state *st);
void fwd_telemetry_withdraw(void);

#endif /* _PVB_FWD_H_ */
