/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_FWD_CONFIG_H_
#define _PVB_FWD_CONFIG_H_

/*
 * pvb-fwd configuration: an INI file parsed with DPDK's rte_cfgfile.
 *
 *   [general]            mode, burst, stats_period, idle, idle_polls, idle_sleep_us,
 *                        duration, ring_size, l2_size, l2_age, mbufs, zero_copy
 *   [port.NAME]          dev, queues, rxd, txd, peer, promisc
 *   [lcore.N]            rx = NAME:Q, NAME:Q ...   tx = NAME:Q ...
 *
 * ';' and '#' start a comment anywhere on a line, so values cannot contain
 * them. Values cannot be empty and hold at most 255 characters (rte_cfgfile's
 * limit); rx and tx may be given more than once, and the lists add up. Times
 * are in seconds with up to three decimals (0.5). NAME is 1..31 characters of
 * [A-Za-z0-9_.-]; N is an lcore id, 0..FWD_MAX_LCORE_ID.
 *
 * Parsing happens in two steps so that the first can be unit-tested without
 * EAL: fwd_config_load() reads and checks the file on its own (syntax, known
 * sections and keys, value ranges, references between sections);
 * fwd_config_resolve() then checks it against the running EAL (enabled
 * lcores, devices) through callbacks. Every error is one line,
 * "FILE:LINE: problem", LINE being that of the offending key, else of its
 * section, else 1.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define FWD_MAX_PORTS		32
#define FWD_MAX_QUEUES		16	/* rx = tx queues per port */
#define FWD_MAX_LCORES		128	/* [lcore.N] sections */
#define FWD_MAX_LCORE_ID	1023	/* largest N in [lcore.N], whatever RTE_MAX_LCORE is */
#define FWD_MAX_QREFS		(FWD_MAX_PORTS * FWD_MAX_QUEUES)
#define FWD_NAME_LEN		32
#define FWD_DEV_LEN		256
#define FWD_MAX_BURST		512
#define FWD_ERR_LEN		512

enum fwd_mode {
	FWD_MODE_XCONNECT,	/* port pairs (peer = ...), both directions */
	FWD_MODE_L2,		/* MAC-learning bridge over all ports */
};

enum fwd_idle {
	FWD_IDLE_BUSY,		/* poll without pause */
	FWD_IDLE_ADAPTIVE,	/* after idle_polls empty polls, sleep: rx interrupts or a nap */
};

/** One (port, queue). */
struct fwd_qref {
	uint16_t port;		/* index into fwd_config.ports */
	uint16_t queue;
};

struct fwd_port_cfg {
	char name[FWD_NAME_LEN];	/* [port.NAME], or the EAL device name */
	char dev[FWD_DEV_LEN];		/* devargs to probe; "" = a device EAL already has */
	uint16_t nb_queues;		/* rx and tx queues; default 1 */
	uint16_t nb_rxd;		/* default 1024 */
	uint16_t nb_txd;		/* default 1024 */
	int peer;			/* xconnect partner (index), -1 if none */
	bool promisc;			/* default true */
	unsigned int line;		/* of the section header; 0 if not from the file */
};

struct fwd_lcore_cfg {
	unsigned int lcore_id;
	uint16_t nb_rx;
	uint16_t nb_tx;
	struct fwd_qref rx[FWD_MAX_QREFS];	/* polled by this lcore */
	struct fwd_qref tx[FWD_MAX_QREFS];	/* owned by this lcore for transmit */
	unsigned int line;
};

struct fwd_config {
	char path[256];			/* the file, or load_string()'s label; starts errors */
	enum fwd_mode mode;		/* default xconnect */
	uint16_t burst;			/* 1..FWD_MAX_BURST, default 32 */
	uint32_t stats_period_ms;	/* 0 = no periodic table; default 1000 */
	enum fwd_idle idle;		/* default busy */
	uint32_t idle_polls;		/* default 256 */
	uint32_t idle_sleep_us;		/* default 100 */
	uint32_t duration_ms;		/* 0 = until SIGINT/SIGTERM */
	uint32_t ring_size;		/* hand-off scring entries, power of two; default 1024 */
	uint32_t l2_size;		/* MAC table entries; default 4096 */
	uint32_t l2_age_ms;		/* default 300 s */
	uint32_t nb_mbufs;		/* per socket; 0 = computed from ports and queues */
	bool zero_copy;			/* bridge: lend slots, share regions (doc/bridge.md); default true */
	uint16_t nb_ports;
	struct fwd_port_cfg ports[FWD_MAX_PORTS];
	uint16_t nb_lcores;		/* 0 = assign queues to worker lcores round-robin */
	struct fwd_lcore_cfg lcores[FWD_MAX_LCORES];
};

/** Defaults for every [general] key; no ports, no lcores. */
void fwd_config_defaults(struct fwd_config *c);

/**
 * Parse @p path into @p c. On error returns -1, writes one line
 * "FILE:LINE: problem" into @p err and leaves @p c partly filled.
 */
int fwd_config_load(struct fwd_config *c, const char *path, char *err, size_t errlen);

/** The same, from text in memory (the embedded default; tests). @p name labels errors. */
int fwd_config_load_string(struct fwd_config *c, const char *name, const char *text,
			   char *err, size_t errlen);

/** What fwd_config_resolve() needs to know about the running EAL. */
struct fwd_env {
	/* NULL: every lcore counts as enabled */
	bool (*lcore_enabled)(unsigned int lcore_id, void *arg);
	unsigned int main_lcore;
	/* workers in order, for the default assignment */
	unsigned int nb_workers;
	unsigned int workers[FWD_MAX_LCORES];
	/* EAL device names already probed (ports given with --vdev/-a) */
	unsigned int nb_eal_ports;
	char eal_ports[FWD_MAX_PORTS][FWD_NAME_LEN];
	void *arg;
};

/**
 * Check @p c against the EAL and fill in the defaults that depend on it:
 * - when the file names no ports, one port per EAL device, paired in order
 *   in xconnect mode;
 * - a port without dev must be an EAL device;
 * - when the file has no [lcore.N], the queues go to the worker lcores
 *   round-robin in the order a:0, a:1, b:0, b:1 ... (ports in declaration
 *   order), so with as many queues per port as workers each worker polls one
 *   queue of every port; workers left without a queue get no fwd_lcore_cfg;
 * - lcores must be enabled and not the main lcore;
 * - an lcore owns tx queue Q of port P when it polls rx P:Q, unless some
 *   lcore lists tx P:Q;
 * - every queue of every port is polled by exactly one lcore, and every port
 *   has a tx owner.
 * Calling it again on its own result changes nothing. -1 and
 * "FILE:LINE: problem" on error.
 */
int fwd_config_resolve(struct fwd_config *c, const struct fwd_env *env, char *err,
		       size_t errlen);

/**
 * Print the effective configuration as INI (what --dump-config shows), in a
 * form fwd_config_load() reads back to the same configuration. The one
 * exception is a port taken from EAL whose name is not a valid NAME (a PCI
 * address): it is printed as it is, for reading only.
 */
void fwd_config_dump(const struct fwd_config *c, FILE *f);

#endif /* _PVB_FWD_CONFIG_H_ */
