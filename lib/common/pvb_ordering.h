/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_ORDERING_H_
#define _PVB_ORDERING_H_

/**
 * @file
 * The only place where pvbridge spells out memory ordering.
 *
 * Every shared index in the ring libraries is a C11 atomic accessed through
 * these helpers, so a reader can grep for each kind of access. Call sites say
 * which access on the other side each acquire/release pairs with; each
 * relaxed access says why relaxed is enough.
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* shared indices live in memory mapped by two processes: they must be lock-free */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics must be lock-free");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");

/** A 32-bit index shared with a peer (another thread or process). */
typedef _Atomic uint32_t pvb_shared_u32;

/** Load a value the peer published with pvb_store_release(). */
static inline uint32_t
pvb_load_acquire(const pvb_shared_u32 *p)
{
	return atomic_load_explicit((pvb_shared_u32 *)(uintptr_t)p, memory_order_acquire);
}

/** Publish everything written before this store to a pvb_load_acquire() reader. */
static inline void
pvb_store_release(pvb_shared_u32 *p, uint32_t v)
{
	atomic_store_explicit(p, v, memory_order_release);
}

/** A load that orders nothing; the call site says why that is enough. */
static inline uint32_t
pvb_load_relaxed(const pvb_shared_u32 *p)
{
	return atomic_load_explicit((pvb_shared_u32 *)(uintptr_t)p, memory_order_relaxed);
}

/** A store that orders nothing; the call site says why that is enough. */
static inline void
pvb_store_relaxed(pvb_shared_u32 *p, uint32_t v)
{
	atomic_store_explicit(p, v, memory_order_relaxed);
}

/** A 16-bit index shared with a peer (virtio rings). */
typedef _Atomic uint16_t pvb_shared_u16;

_Static_assert(ATOMIC_SHORT_LOCK_FREE == 2, "16-bit atomics must be lock-free");

/** pvb_load_acquire() for 16-bit indices. */
static inline uint16_t
pvb_load_acquire16(const pvb_shared_u16 *p)
{
	return atomic_load_explicit((pvb_shared_u16 *)(uintptr_t)p, memory_order_acquire);
}

/** pvb_store_release() for 16-bit indices. */
static inline void
pvb_store_release16(pvb_shared_u16 *p, uint16_t v)
{
	atomic_store_explicit(p, v, memory_order_release);
}

/** pvb_load_relaxed() for 16-bit words. */
static inline uint16_t
pvb_load_relaxed16(const pvb_shared_u16 *p)
{
	return atomic_load_explicit((pvb_shared_u16 *)(uintptr_t)p, memory_order_relaxed);
}

/** pvb_store_relaxed() for 16-bit words. */
static inline void
pvb_store_relaxed16(pvb_shared_u16 *p, uint16_t v)
{
	atomic_store_explicit(p, v, memory_order_relaxed);
}

/** A 64-bit value shared between threads (or processes). */
typedef _Atomic uint64_t pvb_shared_u64;

/** pvb_load_acquire() for 64-bit values. */
static inline uint64_t
pvb_load_acquire64(const pvb_shared_u64 *p)
{
	return atomic_load_explicit((pvb_shared_u64 *)(uintptr_t)p, memory_order_acquire);
}

/** pvb_store_release() for 64-bit values. */
static inline void
pvb_store_release64(pvb_shared_u64 *p, uint64_t v)
{
	atomic_store_explicit(p, v, memory_order_release);
}

/** pvb_load_relaxed() for 64-bit values. */
static inline uint64_t
pvb_load_relaxed64(const pvb_shared_u64 *p)
{
	return atomic_load_explicit((pvb_shared_u64 *)(uintptr_t)p, memory_order_relaxed);
}

/** pvb_store_relaxed() for 64-bit values. */
static inline void
pvb_store_relaxed64(pvb_shared_u64 *p, uint64_t v)
{
	atomic_store_explicit(p, v, memory_order_relaxed);
}

/**
 * Compare-and-swap of a self-contained 64-bit word (its value is all there is
 * to publish, so relaxed is enough): true and @p desired stored if *p was
 * *expected, else false and *expected updated.
 */
static inline bool
pvb_cas_relaxed64(pvb_shared_u64 *p, uint64_t *expected, uint64_t desired)
{
	return atomic_compare_exchange_strong_explicit(p, expected, desired,
						       memory_order_relaxed, memory_order_relaxed);
}

/** A statistics counter, bumped by any thread, read for reports. */
typedef _Atomic uint64_t pvb_counter_t;

/* relaxed: a counter orders nothing; readers want a value, not a happens-before */
static inline void
pvb_counter_add(pvb_counter_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/*
 * A counter with one writer (an lcore's own statistics): a plain load and
 * store, no locked RMW on the hot path; relaxed, as above.
 */
static inline void
pvb_counter_add1w(pvb_counter_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static inline uint64_t
pvb_counter_read(const pvb_counter_t *c)
{
	return atomic_load_explicit((pvb_counter_t *)(uintptr_t)c, memory_order_relaxed);
}

/**
 * Full fence: orders an earlier store before a later load. Used only in the
 * store-then-load handshake before deciding whether to notify a peer (each
 * side stores its own word, fences, then loads the other side's word).
 */
static inline void
pvb_fence_full(void)
{
#if defined(__x86_64__)
	/*
	 * A locked read-modify-write is a full barrier for write-back memory
	 * (Intel SDM vol. 3, "Locked Instructions": loads and stores are not
	 * reordered with locked instructions) and costs less than MFENCE, which
	 * also waits for weakly ordered stores we never issue; DPDK's own
	 * full barrier on x86 is the same instruction. It adds 0, so whatever lives there
	 * is unchanged; below the stack pointer, so it does not wait on a store
	 * just made to the top of the stack.
	 */
	__asm__ __volatile__("lock addl $0, -128(%%rsp)" ::: "memory", "cc");
#else
	atomic_thread_fence(memory_order_seq_cst);
#endif
}

/** A reference count shared by threads (objects freed by whoever drops the last one). */
typedef _Atomic uint32_t pvb_refcnt_t;

/* relaxed: taking a reference needs a reference already held, which orders it */
static inline void
pvb_ref_get(pvb_refcnt_t *r, uint32_t n)
{
	atomic_fetch_add_explicit(r, n, memory_order_relaxed);
}

/**
 * Drop one reference; true if it was the last. acq_rel: the release orders
 * this holder's writes before the drop, the acquire (for the last dropper)
 * pairs with every other holder's release, so teardown sees all their writes.
 */
static inline bool
pvb_ref_put(pvb_refcnt_t *r)
{
	return atomic_fetch_sub_explicit(r, 1, memory_order_acq_rel) == 1;
}

/**
 * Store-then-load handshake between two threads that each announce
 * themselves and then look at the other (Dekker): seq_cst on both sides, so
 * at least one of them sees the other's store.
 */
static inline void
pvb_store_seqcst(pvb_shared_u32 *p, uint32_t v)
{
	atomic_store_explicit(p, v, memory_order_seq_cst);
}

static inline uint32_t
pvb_load_seqcst(const pvb_shared_u32 *p)
{
	return atomic_load_explicit((pvb_shared_u32 *)(uintptr_t)p, memory_order_seq_cst);
}

/** Tell the CPU we are spinning on a shared line. */
static inline void
pvb_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	atomic_signal_fence(memory_order_seq_cst);
#endif
}

#endif /* _PVB_ORDERING_H_ */
