/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_STRESS_PEER_H_
#define _PVB_STRESS_PEER_H_

/*
 * The harness the stress tests share (suite 'stress'). A test is one
 * workload, a producer and a consumer on rings in one MAP_SHARED memfd
 * mapping, run with the consumer in each place a struct stress_mode offers:
 * stress_thread_mode (a second thread) or stress_process_mode (a forked
 * child that dies with the parent). Each side keeps its loop state in a
 * struct side: seeded random numbers, its reason for failing, and the idle
 * spin that yields and watches the clock and the peer.
 *
 * A test defines struct stress_run, one run as both sides see it, with a
 * struct stress_peer in it, and starts its control block in the mapping
 * with a struct stress_peer_ctl. Then:
 *
 *   static int consumer_main(struct stress_run *run)	// 0 if it passed
 *   {
 *           side_init(&sd, &run->peer, stress_peer_stopped, run->peer.ctl->msg, seed);
 *           ...consumer loop; side_fail() and return -1 on error
 *   }
 *
 *   run.peer = (struct stress_peer){ .main = consumer_main, .run = &run, .ctl = ctl };
 *   side_init(&sd, &run.peer, mode->peer_lost, run.msg, seed);
 *   if (mode->start(&run.peer) != 0)
 *           fail_msg(...);
 *   prc = producer_loop(&sd);			// no cmocka assertion in here
 *   crc = mode->finish(&run.peer, prc != 0);	// on failure: stop, or kill and reap
 *   if (prc != 0 || crc != 0)
 *           fail_msg(..., run.msg, run.peer.ctl->msg);
 *
 * and main() returns STRESS_RUN_GROUP(tests, setup, teardown). A consumer
 * that fails raises ctl->failed after its message; the producer's
 * side_idle() takes that, or the child's exit, as a lost peer.
 *
 * Define STRESS_MSG_LEN or STRESS_TIMEOUT_NS before the include to change them.
 */

#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "pvb_ordering.h"

#ifndef STRESS_MSG_LEN
#define STRESS_MSG_LEN		200	/* a side's reason for failing, NUL included */
#endif
#ifndef STRESS_TIMEOUT_NS
#define STRESS_TIMEOUT_NS	(300ull * 1000 * 1000 * 1000)	/* stuck: fail, not hang */
#endif
#define STRESS_IDLE_POLL	1024	/* idle spins between looks at the clock and the peer */

/* The start of the test's control block, in the mapping both sides share. */
struct stress_peer_ctl {
	pvb_shared_u32 stop;		/* W: producer side, to abort; R: consumer */
	pvb_shared_u32 failed;		/* W: consumer, after writing msg; R: producer side */
	char msg[STRESS_MSG_LEN];	/* the consumer's reason for failing */
};

struct stress_run;	/* the test's own: one run, as both sides see it */

/* The consumer, and where it is running. */
struct stress_peer {
	int (*main)(struct stress_run *run);	/* the consumer's whole run: 0 if it passed */
	struct stress_run *run;
	struct stress_peer_ctl *ctl;	/* in the shared mapping */
	pthread_t tid;		/* thread mode */
	pid_t pid;		/* process mode; 0 once reaped */
	int status;		/* process mode: from waitpid() */
};

/* Where the consumer runs. */
struct stress_mode {
	const char *name;
	int (*start)(struct stress_peer *peer);		/* run peer->main() there */
	bool (*peer_lost)(struct stress_peer *peer);	/* the consumer will publish nothing more */
	int (*finish)(struct stress_peer *peer, bool abort); /* wait for it; 0 if it passed */
};

/* One side's private loop state. */
struct side {
	struct stress_run *run;
	struct stress_peer *peer;	/* the consumer's, whichever side this is */
	bool (*peer_lost)(struct stress_peer *peer);
	char *msg;			/* STRESS_MSG_LEN bytes */
	uint32_t rng;
	uint64_t deadline;
	unsigned int idle;
	bool peer_gone;
};

static inline uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* @peer_lost: mode->peer_lost on the producer side, stress_peer_stopped() on the consumer's. */
static inline void
side_init(struct side *sd, struct stress_peer *peer, bool (*peer_lost)(struct stress_peer *peer),
	  char *msg, uint32_t seed)
{
	memset(sd, 0, sizeof(*sd));
	sd->run = peer->run;
	sd->peer = peer;
	sd->peer_lost = peer_lost;
	sd->msg = msg;
	sd->rng = seed;
	sd->deadline = now_ns() + STRESS_TIMEOUT_NS;
}

/* Record why this side failed; returns -1 for the caller to pass up. */
static inline int __attribute__((format(printf, 2, 3)))
side_fail(struct side *sd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sd->msg, STRESS_MSG_LEN, fmt, ap);
	va_end(ap);
	return -1;
}

/* side_fail() for item @p seq: "WHO SEQ: message". */
static inline int __attribute__((format(printf, 4, 5)))
side_fail_seq(struct side *sd, const char *who, uint64_t seq, const char *fmt, ...)
{
	char what[STRESS_MSG_LEN / 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return side_fail(sd, "%s %llu: %s", who, (unsigned long long)seq, what);
}

/* xorshift32: cheap, and the same bursts every run */
static inline uint32_t
side_rand(struct side *sd)
{
	sd->rng ^= sd->rng << 13;
	sd->rng ^= sd->rng >> 17;
	sd->rng ^= sd->rng << 5;
	return sd->rng;
}

/*
 * No progress this round. Spin politely; every STRESS_IDLE_POLL spins yield
 * (the peer may be waiting for our core) and check the clock and the peer.
 * A lost peer is only fatal at the next poll: whatever it published before
 * it went away must get one more chance to be seen.
 */
static inline int
side_idle(struct side *sd)
{
	pvb_cpu_relax();
	if (++sd->idle % STRESS_IDLE_POLL != 0)
		return 0;
	sched_yield();
	if (sd->peer_gone)
		return side_fail(sd, "the peer stopped before the run ended");
	sd->peer_gone = sd->peer_lost(sd->peer);
	if (now_ns() > sd->deadline)
		return side_fail(sd, "not done after %llu s", STRESS_TIMEOUT_NS / 1000000000ull);
	return 0;
}

/* The consumer's peer_lost: the producer side gave up (thread mode; a child is killed). */
static inline bool
stress_peer_stopped(struct stress_peer *peer)
{
	/* pairs with the store-release in stress_thread_finish() */
	return pvb_load_acquire(&peer->ctl->stop) != 0;
}

static inline bool
stress_peer_failed(const struct stress_peer *peer)
{
	/* pairs with the store-release in stress_peer_run() */
	return pvb_load_acquire(&peer->ctl->failed) != 0;
}

/* The consumer, wherever it runs: its main, then the verdict for the producer side. */
static inline int
stress_peer_run(struct stress_peer *peer)
{
	int rc = peer->main(peer->run);

	if (rc != 0)
		/* pairs with the load-acquire in stress_peer_failed(): msg is written first */
		pvb_store_release(&peer->ctl->failed, 1);
	return rc;
}

/* ----------------------------------------------------------------------------
 * In a thread
 */

static inline void *
stress_thread_main(void *arg)
{
	stress_peer_run(arg);
	return NULL;
}

static inline int
stress_thread_start(struct stress_peer *peer)
{
	return pthread_create(&peer->tid, NULL, stress_thread_main, peer) == 0 ? 0 : -1;
}

static inline bool
stress_thread_peer_lost(struct stress_peer *peer)
{
	return stress_peer_failed(peer);
}

static inline int
stress_thread_finish(struct stress_peer *peer, bool abort)
{
	if (abort)
		/* pairs with the load-acquire in stress_peer_stopped() */
		pvb_store_release(&peer->ctl->stop, 1);
	if (pthread_join(peer->tid, NULL) != 0)
		return -1;
	return stress_peer_failed(peer) ? -1 : 0;
}

/* ----------------------------------------------------------------------------
 * In a forked child
 */

static inline int
stress_process_start(struct stress_peer *peer)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* die with the parent, so a crashed test leaves nothing behind */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
			_exit(2);
		/* the memfd and its mapping are inherited: the consumer attaches here */
		_exit(stress_peer_run(peer) == 0 ? 0 : 1);
	}
	peer->pid = pid;
	return 0;
}

static inline bool
stress_process_peer_lost(struct stress_peer *peer)
{
	if (peer->pid > 0 && waitpid(peer->pid, &peer->status, WNOHANG) == peer->pid)
		peer->pid = 0;
	return peer->pid == 0 || stress_peer_failed(peer);
}

static inline int
stress_process_finish(struct stress_peer *peer, bool abort)
{
	if (peer->pid > 0) {
		if (abort)
			kill(peer->pid, SIGKILL);
		if (waitpid(peer->pid, &peer->status, 0) != peer->pid)
			return -1;
		peer->pid = 0;
	}
	if (!WIFEXITED(peer->status))
		snprintf(peer->ctl->msg, STRESS_MSG_LEN, "killed by signal %d",
			 WTERMSIG(peer->status));
	return WIFEXITED(peer->status) && WEXITSTATUS(peer->status) == 0 ? 0 : -1;
}

static const struct stress_mode stress_thread_mode = {
	.name = "thread",
	.start = stress_thread_start,
	.peer_lost = stress_thread_peer_lost,
	.finish = stress_thread_finish,
};

static const struct stress_mode stress_process_mode = {
	.name = "process",
	.start = stress_process_start,
	.peer_lost = stress_process_peer_lost,
	.finish = stress_process_finish,
};

/* Both modes share memory through a memfd: false, after saying so, if there is none. */
static inline bool
stress_memfd_available(void)
{
	int fd = memfd_create("stress-probe", MFD_CLOEXEC);

	if (fd < 0) {
		printf("memfd_create unavailable: skipping\n");
		return false;
	}
	close(fd);
	return true;
}

/*
 * What a stress test's main() returns: cmocka's verdict on the array @tests
 * run as the group "stress", or 77 (skip) without a memfd to share.
 */
#define STRESS_RUN_GROUP(tests, setup, teardown)				\
	(stress_memfd_available() ?						\
	 cmocka_run_group_tests_name("stress", tests, setup, teardown) : 77)

#endif /* _PVB_STRESS_PEER_H_ */
