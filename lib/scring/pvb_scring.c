/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pvb_scring.h"

static pvb_counter_t broken_total;

static void
default_fault_log(const char *role, enum pvb_scring_fault f)
{
	fprintf(stderr, "pvb_scring: %s end broken: %s\n", role, pvb_scring_fault_str(f));
}

/* set before any end is in use (documented), so a plain pointer */
static void (*fault_log)(const char *, enum pvb_scring_fault) = default_fault_log;

static uint64_t
align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

const char *
pvb_scring_fault_str(enum pvb_scring_fault f)
{
	switch (f) {
	case PVB_SCRING_OK:
		return "ok";
	case PVB_SCRING_FAULT_SUBMIT_TAIL:
		return "consumer published a submit_tail outside [last seen, submit_head]";
	case PVB_SCRING_FAULT_SUBMIT_HEAD:
		return "producer published a submit_head that moved back or past size entries";
	case PVB_SCRING_FAULT_COMPLETE_TAIL:
		return "producer published a complete_tail outside [last seen, complete_head]";
	case PVB_SCRING_FAULT_COMPLETE_HEAD:
		return "consumer published a complete_head that moved back or past size entries";
	case PVB_SCRING_FAULT_DETACHED:
		return "end is not attached (attach failed)";
	}
	return "unknown fault";
}

uint64_t
pvb_scring_broken_total(void)
{
	return pvb_counter_read(&broken_total);
}

void
pvb_scring_set_fault_log(void (*fn)(const char *, enum pvb_scring_fault))
{
	fault_log = fn;
}

int
pvb_scring__fault(struct pvb_scring__end *e, enum pvb_scring_fault f)
{
	if (e->fault != PVB_SCRING_OK)
		return PVB_SCRING_BROKEN;
	e->fault = f;
	/* nothing pending survives: *_slot() hands out no more shared memory */
	e->out.pending = 0;
	e->in.pending = 0;
	pvb_counter_add(&broken_total, 1);
	if (fault_log != NULL)
		/* the producer end checks submit_tail and complete_head; the consumer the others */
		fault_log(f == PVB_SCRING_FAULT_SUBMIT_TAIL || f == PVB_SCRING_FAULT_COMPLETE_HEAD ?
			  "producer" : "consumer", f);
	return PVB_SCRING_BROKEN;
}

static int
params_ok(const struct pvb_scring_params *p)
{
	return p != NULL && pvb_scring_size_ok(p->sub_size) && pvb_scring_size_ok(p->cmp_size) &&
	       pvb_scring_esize_ok(p->sub_esize) && pvb_scring_esize_ok(p->cmp_esize);
}

/* Entry offsets for a geometry; returns the total area size. */
static uint64_t
layout(uint32_t sub_size, uint32_t sub_esize, uint32_t cmp_size, uint32_t cmp_esize,
       uint64_t *sub_off, uint64_t *cmp_off)
{
	*sub_off = sizeof(struct pvb_scring_hdr);
	*cmp_off = align_up(*sub_off + (uint64_t)sub_size * sub_esize, PVB_SCRING_INDEX_STRIDE);
	return align_up(*cmp_off + (uint64_t)cmp_size * cmp_esize, PVB_SCRING_INDEX_STRIDE);
}

size_t
pvb_scring_area_size(const struct pvb_scring_params *p)
{
	uint64_t so, co;

	if (!params_ok(p)) {
		errno = EINVAL;
		return 0;
	}
	return (size_t)layout(p->sub_size, p->sub_esize, p->cmp_size, p->cmp_esize, &so, &co);
}

int
pvb_scring_format(void *area, size_t len, const struct pvb_scring_params *p)
{
	struct pvb_scring_hdr *h = area;
	uint64_t so, co, need;

	if (area == NULL || ((uintptr_t)area % PVB_SCRING_LINE) != 0 || !params_ok(p))
		return -EINVAL;
	need = layout(p->sub_size, p->sub_esize, p->cmp_size, p->cmp_esize, &so, &co);
	if (need > len || need > UINT32_MAX)
		return -ENOSPC;
	memset(area, 0, (size_t)need);
	h->version = PVB_SCRING_VERSION;
	h->sub_esize = p->sub_esize;
	h->cmp_esize = p->cmp_esize;
	h->sub_size = p->sub_size;
	h->cmp_size = p->cmp_size;
	h->sub_off = (uint32_t)so;
	h->cmp_off = (uint32_t)co;
	h->area_size = need;
	/* relaxed: nobody attaches before format returns; attach happens-after by
	 * the caller's own synchronisation (thread start, fork, fd passing) */
	pvb_store_relaxed(&h->submit_head.idx, p->start_index);
	pvb_store_relaxed(&h->submit_tail.idx, p->start_index);
	pvb_store_relaxed(&h->complete_head.idx, p->start_index);
	pvb_store_relaxed(&h->complete_tail.idx, p->start_index);
	/* last, so an area whose format was interrupted never looks valid */
	h->magic = PVB_SCRING_MAGIC;
	return 0;
}

static int __attribute__((format(printf, 4, 5)))
fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* One entry array: inside the area, after the header, aligned. */
static int
check_array(const char *name, uint64_t off, uint32_t size, uint32_t esize, uint64_t len,
	    char *err, size_t errlen)
{
	if (!pvb_scring_size_ok(size))
		return fail(err, errlen, -EPROTO, "%s size %u is not a power of two in [1, %u]",
			    name, size, PVB_SCRING_MAX_ENTRIES);
	if (!pvb_scring_esize_ok(esize))
		return fail(err, errlen, -EPROTO, "%s entry size %u is neither 8 nor 16", name,
			    esize);
	if (off < sizeof(struct pvb_scring_hdr) || off % PVB_SCRING_LINE != 0)
		return fail(err, errlen, -EPROTO,
			    "%s offset %llu overlaps the header or is unaligned", name,
			    (unsigned long long)off);
	if (off + (uint64_t)size * esize > len)
		return fail(err, errlen, -ENOSPC, "%s entries end at %llu, past the %llu-byte area",
			    name, (unsigned long long)(off + (uint64_t)size * esize),
			    (unsigned long long)len);
	return 0;
}

/* Validate a copy of the header against the caller's length. */
static int
check_header(const struct pvb_scring_hdr *h, uint64_t len, char *err, size_t errlen)
{
	uint64_t sub_end, cmp_end;
	int rc;

	if (h->magic != PVB_SCRING_MAGIC)
		return fail(err, errlen, -EPROTO, "bad magic 0x%08x (want 0x%08x)", h->magic,
			    PVB_SCRING_MAGIC);
	if (h->version != PVB_SCRING_VERSION)
		return fail(err, errlen, -EPROTONOSUPPORT, "version %u not supported (want %u)",
			    h->version, PVB_SCRING_VERSION);
	if (h->flags != 0)
		return fail(err, errlen, -EPROTONOSUPPORT, "unknown flags 0x%04x", h->flags);
	if (h->area_size > len)
		return fail(err, errlen, -ENOSPC, "header describes %llu bytes, only %llu mapped",
			    (unsigned long long)h->area_size, (unsigned long long)len);
	rc = check_array("submission", h->sub_off, h->sub_size, h->sub_esize, h->area_size, err,
			 errlen);
	if (rc == 0)
		rc = check_array("completion", h->cmp_off, h->cmp_size, h->cmp_esize,
				 h->area_size, err, errlen);
	if (rc != 0)
		return rc;
	sub_end = h->sub_off + (uint64_t)h->sub_size * h->sub_esize;
	cmp_end = h->cmp_off + (uint64_t)h->cmp_size * h->cmp_esize;
	if (h->sub_off < cmp_end && h->cmp_off < sub_end)
		return fail(err, errlen, -EPROTO, "submission and completion entries overlap");
	return 0;
}

/*
 * One direction of an end. @own is the index line this end publishes, @peer
 * the one it reads; the wait word always sits on the tail line (the reader's).
 */
static void
init_dir(struct pvb_scring__dir *d, uint8_t *base, uint32_t off, uint32_t size,
	 uint32_t esize, pvb_shared_u32 *own, pvb_shared_u32 *peer, pvb_shared_u32 *wait,
	 enum pvb_scring_fault f)
{
	d->ents = base + off;
	d->own_p = own;
	d->peer_p = peer;
	d->wait_p = wait;
	d->size = size;
	d->mask = size - 1;
	d->esize = esize;
	d->fault_code = f;
	/* relaxed: our own index, read once before this end's first operation */
	d->own = pvb_load_relaxed(own);
	/* pairs with the store-release in pvb_scring__wr_publish() or __rd_publish() */
	d->peer = pvb_load_acquire(peer);
}

/* The caller's expectation: entry sizes always, ring sizes unless 0. */
static int
check_expect(const struct pvb_scring_hdr *h, const struct pvb_scring_params *x, char *err,
	     size_t errlen)
{
	if (h->sub_esize != x->sub_esize || h->cmp_esize != x->cmp_esize)
		return fail(err, errlen, -EPROTO,
			    "entries are %u/%u bytes (submission/completion), expected %u/%u",
			    h->sub_esize, h->cmp_esize, x->sub_esize, x->cmp_esize);
	if ((x->sub_size != 0 && h->sub_size != x->sub_size) ||
	    (x->cmp_size != 0 && h->cmp_size != x->cmp_size))
		return fail(err, errlen, -EPROTO,
			    "rings hold %u/%u entries, this end expects %u/%u", h->sub_size,
			    h->cmp_size, x->sub_size, x->cmp_size);
	return 0;
}

static void
init_end(struct pvb_scring__end *e, struct pvb_scring_hdr *sh, const struct pvb_scring_hdr *h,
	 bool producer)
{
	uint8_t *base = (uint8_t *)sh;

	e->hdr = sh;
	if (producer) {
		init_dir(&e->out, base, h->sub_off, h->sub_size, h->sub_esize,
			 &sh->submit_head.idx, &sh->submit_tail.idx, &sh->submit_tail.wait,
			 PVB_SCRING_FAULT_SUBMIT_TAIL);
		init_dir(&e->in, base, h->cmp_off, h->cmp_size, h->cmp_esize,
			 &sh->complete_tail.idx, &sh->complete_head.idx, &sh->complete_tail.wait,
			 PVB_SCRING_FAULT_COMPLETE_HEAD);
	} else {
		init_dir(&e->in, base, h->sub_off, h->sub_size, h->sub_esize,
			 &sh->submit_tail.idx, &sh->submit_head.idx, &sh->submit_tail.wait,
			 PVB_SCRING_FAULT_SUBMIT_HEAD);
		init_dir(&e->out, base, h->cmp_off, h->cmp_size, h->cmp_esize,
			 &sh->complete_head.idx, &sh->complete_tail.idx, &sh->complete_tail.wait,
			 PVB_SCRING_FAULT_COMPLETE_TAIL);
	}
}

static int
attach(struct pvb_scring__end *e, void *area, size_t len, const struct pvb_scring_params *expect,
       bool producer, char *err, size_t errlen)
{
	struct pvb_scring_hdr h;
	int rc;

	memset(e, 0, sizeof(*e));
	/* until every check passes, the end refuses all calls */
	e->fault = PVB_SCRING_FAULT_DETACHED;
	if (expect == NULL || !pvb_scring_esize_ok(expect->sub_esize) ||
	    !pvb_scring_esize_ok(expect->cmp_esize) ||
	    (expect->sub_size != 0 && !pvb_scring_size_ok(expect->sub_size)) ||
	    (expect->cmp_size != 0 && !pvb_scring_size_ok(expect->cmp_size)))
		return fail(err, errlen, -EINVAL, "no valid expectation given");
	if (area == NULL || ((uintptr_t)area % PVB_SCRING_LINE) != 0)
		return fail(err, errlen, -EINVAL, "area is NULL or not %d-byte aligned",
			    PVB_SCRING_LINE);
	if (len < sizeof(h))
		return fail(err, errlen, -ENOSPC, "area of %zu bytes is smaller than the header",
			    len);
	/*
	 * One private copy of the header, checked and then used: the peer may
	 * rewrite the shared one at any time, and nothing re-reads it.
	 */
	memcpy(&h, area, offsetof(struct pvb_scring_hdr, submit_head));
	rc = check_header(&h, len, err, errlen);
	if (rc == 0)
		rc = check_expect(&h, expect, err, errlen);
	if (rc != 0)
		return rc;
	init_end(e, area, &h, producer);
	/* writer: own = head, peer = tail; reader: own = tail, peer = head */
	if (!pvb_scring_indices_ok(e->out.own, e->out.peer, e->out.size) ||
	    !pvb_scring_indices_ok(e->in.peer, e->in.own, e->in.size))
		return fail(err, errlen, -EPROTO,
			    "indices inconsistent: %s ring %u/%u, %s ring %u/%u (head/tail)",
			    producer ? "submission" : "completion", e->out.own, e->out.peer,
			    producer ? "completion" : "submission", e->in.peer, e->in.own);
	e->fault = PVB_SCRING_OK;
	return 0;
}

int
pvb_scring_attach_prod(struct pvb_scring_prod *p, void *area, size_t len,
		       const struct pvb_scring_params *expect, char *err, size_t errlen)
{
	if (p == NULL)
		return fail(err, errlen, -EINVAL, "no end to attach");
	return attach(&p->e, area, len, expect, true, err, errlen);
}

int
pvb_scring_attach_cons(struct pvb_scring_cons *c, void *area, size_t len,
		       const struct pvb_scring_params *expect, char *err, size_t errlen)
{
	if (c == NULL)
		return fail(err, errlen, -EINVAL, "no end to attach");
	return attach(&c->e, area, len, expect, false, err, errlen);
}

static int
set_slip(struct pvb_scring__dir *d, uint32_t calls)
{
	if (calls > PVB_SCRING_MAX_SLIP)
		return -EINVAL;
	d->slip = calls;
	d->skip = 0;
	return 0;
}

int
pvb_scring_consume_set_slip(struct pvb_scring_cons *c, uint32_t calls)
{
	return c == NULL ? -EINVAL : set_slip(&c->e.in, calls);
}

int
pvb_scring_reap_set_slip(struct pvb_scring_prod *p, uint32_t calls)
{
	return p == NULL ? -EINVAL : set_slip(&p->e.in, calls);
}

static void
info(const struct pvb_scring__end *e, bool producer, struct pvb_scring_info *i)
{
	struct pvb_scring_hdr *h = e->hdr;

	memset(i, 0, sizeof(*i));
	i->fault = e->fault;
	i->sub_peer_loads = producer ? e->out.loads : e->in.loads;
	i->cmp_peer_loads = producer ? e->in.loads : e->out.loads;
	if (h == NULL)
		return;
	/* relaxed: a snapshot for humans; nothing is derived from it */
	i->submit_head = pvb_load_relaxed(&h->submit_head.idx);
	i->submit_tail = pvb_load_relaxed(&h->submit_tail.idx);
	i->complete_head = pvb_load_relaxed(&h->complete_head.idx);
	i->complete_tail = pvb_load_relaxed(&h->complete_tail.idx);
	/* in flight as this end last saw it: writer head - tail, reader head - tail */
	if (producer) {
		i->sub_size = e->out.size;
		i->cmp_size = e->in.size;
		i->sub_used = e->out.own - e->out.peer;
		i->cmp_used = e->in.peer - e->in.own;
	} else {
		i->sub_size = e->in.size;
		i->cmp_size = e->out.size;
		i->sub_used = e->in.peer - e->in.own;
		i->cmp_used = e->out.own - e->out.peer;
	}
}

void
pvb_scring_prod_info(const struct pvb_scring_prod *p, struct pvb_scring_info *i)
{
	info(&p->e, true, i);
}

void
pvb_scring_cons_info(const struct pvb_scring_cons *c, struct pvb_scring_info *i)
{
	info(&c->e, false, i);
}
