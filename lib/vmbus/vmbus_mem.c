/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * VMBus ring memory of one direction: a flat buffer, or the data area
 * mapped twice back to back so that no packet wraps; fault texts and the
 * read-only inspection of a ring.
 */

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "pvb_vmbus.h"
#include "vmbus_pvt.h"

const char *
pvb_vmbus_fault_str(enum pvb_vmbus_fault f)
{
	switch (f) {
	case PVB_VMBUS_OK:
		return "ok";
	case PVB_VMBUS_FAULT_WRITE_INDEX:
		return "write_index unaligned, outside the data area, or moved back";
	case PVB_VMBUS_FAULT_READ_INDEX:
		return "read_index unaligned, outside the data area, or past what was written";
	case PVB_VMBUS_FAULT_DESC:
		return "packet descriptor: unknown flags, offset8 < 2 or > len8, or len8 past the data";
	case PVB_VMBUS_FAULT_TYPE:
		return "packet type not carried here (only 0x6, 0x7, 0x9, 0xb)";
	case PVB_VMBUS_FAULT_XFER:
		return "transfer-page ranges do not fit the packet header";
	case PVB_VMBUS_FAULT_GPA:
		return "GPA-direct ranges missing, or not fitting the packet header";
	case PVB_VMBUS_FAULT_DETACHED:
		return "end is not attached (attach failed)";
	}
	return "unknown fault";
}

/* ---- ring memory ---------------------------------------------------------- */

static int
mem_check_len(size_t len)
{
	if (len < 2 * PVB_VMBUS_PAGE || len % PVB_VMBUS_PAGE != 0 ||
	    len - PVB_VMBUS_CTL_SIZE > UINT32_MAX / 2)
		return -EINVAL;
	return 0;
}

int
pvb_vmbus_mem_flat(struct pvb_vmbus_mem *m, void *ring, size_t len)
{
	if (m == NULL || ring == NULL || ((uintptr_t)ring & 7) != 0 || mem_check_len(len) != 0)
		return -EINVAL;
	memset(m, 0, sizeof(*m));
	m->ctl = ring;
	m->data = (uint8_t *)ring + PVB_VMBUS_CTL_SIZE;
	m->dsize = (uint32_t)(len - PVB_VMBUS_CTL_SIZE);
	return 0;
}

/*
 *   map:  [ ctl | data (dsize) | data again (dsize) ]
 *          fd @off             fd @off+4096 mapped a second time
 */
int
pvb_vmbus_mem_map_double(struct pvb_vmbus_mem *m, int fd, off_t off, size_t len)
{
	size_t dsize = len - PVB_VMBUS_CTL_SIZE, total = len + dsize;
	uint8_t *base, *p;

	if (m == NULL || fd < 0 || off % PVB_VMBUS_PAGE != 0 || mem_check_len(len) != 0)
		return -EINVAL;
	/* reserve the whole span first, so the two fixed maps land back to back */
	base = mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return -errno;
	p = mmap(base, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, off);
	if (p != MAP_FAILED)
		p = mmap(base + len, dsize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd,
			 off + PVB_VMBUS_CTL_SIZE);
	if (p == MAP_FAILED) {
		int rc = -errno;

		munmap(base, total);
		return rc;
	}
	memset(m, 0, sizeof(*m));
	m->ctl = (struct pvb_vmbus_ctl *)(void *)base;
	m->data = base + PVB_VMBUS_CTL_SIZE;
	m->dsize = (uint32_t)dsize;
	m->doubled = true;
	m->map = base;
	m->map_len = total;
	return 0;
}

void
pvb_vmbus_mem_unmap(struct pvb_vmbus_mem *m)
{
	if (m != NULL && m->map != NULL)
		munmap(m->map, m->map_len);
	if (m != NULL)
		memset(m, 0, sizeof(*m));
}

/* ---- inspection ----------------------------------------------------------- */

void
pvb_vmbus_inspect(const struct pvb_vmbus_mem *m, struct pvb_vmbus_info *i)
{
	struct pvb_vmbus_ctl *c = m->ctl;
	uint32_t pend;

	memset(i, 0, sizeof(*i));
	i->dsize = m->dsize;
	/* relaxed: a snapshot for humans and statistics; nothing is derived from it */
	i->write_index = pvb_load_relaxed(&c->write_index);
	i->read_index = pvb_load_relaxed(&c->read_index);
	i->interrupt_mask = pvb_load_relaxed(&c->interrupt_mask);
	i->pending_send_sz = pvb_load_relaxed(&c->pending_send_sz);
	i->feature_bits = pvb_load_relaxed(&c->feature_bits);
	i->indices_valid = vmbus_index_ok(i->write_index, m->dsize) &&
			   vmbus_index_ok(i->read_index, m->dsize);
	if (!i->indices_valid)
		return;
	i->bytes_to_read = pvb_vmbus_to_read(i->read_index, i->write_index, m->dsize);
	i->bytes_to_write = m->dsize - i->bytes_to_read;
	i->reader_needs_signal = i->bytes_to_read != 0 && i->interrupt_mask == 0;
	pend = i->pending_send_sz & ~7u;
	i->writer_needs_signal = (i->feature_bits & PVB_VMBUS_FEAT_PENDING_SEND_SZ) &&
				 pend != 0 && i->bytes_to_write > pend;
}
