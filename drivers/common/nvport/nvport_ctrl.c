/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * What both control threads share: the hand-over of the rings to and from
 * the bursts, noticing that nobody polls, broken rings, deadlines, link
 * state, and the rx frame helper both packet handlers use.
 */

#include <errno.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_log.h>

#include "nvport.h"

void
nvport_set_state(struct nvport *p, enum nvport_state state)
{
	pvb_handover_give(&p->state, state);
}

void
nvport_quiesce(struct nvport *p, enum nvport_state to)
{
	pvb_handover_take(&p->state, to, p->act, RTE_DIM(p->act));
}

uint32_t
nvport_unpolled(struct nvport *p)
{
	uint32_t i, e, which = 0;

	/*
	 * A poller descheduled for a while is not an idle queue: only when the
	 * port is stopped or nobody polled it for a second (100 rounds of 10 ms).
	 */
	for (i = 0; i < p->nchan; i++) {
		e = pvb_handover_epoch(&p->act[2 * i]);
		p->idle_polls[i] = e == p->idle_epoch[i] ? p->idle_polls[i] + 1 : 0;
		p->idle_epoch[i] = e;
		if (!p->started || p->idle_polls[i] >= 100)
			which |= 1u << i;
	}
	return which;
}

static bool
nvport_chan_broken(const struct nvchan *ch)
{
	return pvb_vmbus_in_broken(&ch->in) || pvb_vmbus_out_broken(&ch->out);
}

static bool
nvport_broken(struct nvport *p, const char *peer)
{
	struct nvchan *ch = p->ch;
	uint32_t i;

	/* relaxed: a flag the bursts raise; the fault codes are read after quiescing */
	for (i = 0; i < p->nchan && !nvport_chan_broken(p->chs[i]); i++)
		;
	if (!pvb_load_relaxed(&p->broken) && i == p->nchan)
		return false;
	nvport_quiesce(p, NVPORT_CTRL);
	if (i < p->nchan)
		ch = p->chs[i];
	NVPORT_LOG(nvport_side_of(p->port_id), ERR, "%s: the %s broke the ring protocol "
		   "on channel %u (in: %s, out: %s); channel closed", p->path, peer,
		   i < p->nchan ? i : 0, pvb_vmbus_fault_str(ch->in.fault),
		   pvb_vmbus_fault_str(ch->out.fault));
	pvb_counter_add(&p->ring_broken, 1);
	return true;
}

bool
nvport_must_close(struct nvport *p, const char *why, const char *peer)
{
	if (why == NULL)
		return nvport_broken(p, peer);
	NVPORT_LOG(nvport_side_of(p->port_id), ERR, "%s: the %s broke the protocol: %s; "
		   "channel closed", p->path, peer, why);
	return true;
}

void
nvport_ctrl_wait(struct nvport *p, int sock)
{
	struct nvchan *ch = p->ch;
	bool more;

	rte_spinlock_lock(&ch->in_lock);
	more = pvb_vmbus_in_unmask_and_check(&ch->in);
	rte_spinlock_unlock(&ch->in_lock);
	if (!more)
		nvchan_wait(ch, sock, 20);
}

void
nvport_go_data(struct nvport *p)
{
	uint32_t i;

	for (i = 0; i < p->nchan; i++) {
		rte_spinlock_lock(&p->chs[i]->in_lock);
		pvb_vmbus_in_set_mask(&p->chs[i]->in, true);
		rte_spinlock_unlock(&p->chs[i]->in_lock);
	}
	nvport_set_state(p, NVPORT_DATA);
	/* an application asleep on rx interrupts armed nothing without a channel */
	nvport_intr_wake(p);
}

void
nvport_add_channel(struct nvport *p, uint32_t idx, struct nvchan *ch)
{
	RTE_VERIFY(idx > 0 && idx < NVPORT_MAX_QUEUES && p->chs[idx] == NULL &&
		   pvb_load_relaxed(&p->state) != NVPORT_DATA);
	p->chs[idx] = ch;
	if (idx >= p->nchan)
		p->nchan = idx + 1;
	nvport_intr_attach(p, idx);
}

void
nvport_drop_channel(struct nvport *p)
{
	struct nvchan *ch;
	uint32_t i;

	nvport_intr_detach(p);
	/* subchannels first: each holds the primary */
	for (i = NVPORT_MAX_QUEUES; i-- > 0;) {
		ch = p->chs[i];
		if (ch == NULL)
			continue;
		/* no burst runs now: a half-read peer packet is ours */
		if (ch->cur_rec != NULL)
			nvchan_rec_parsed(ch->cur_rec);
		ch->cur_rec = NULL;
		p->chs[i] = NULL;
		nvchan_kill(ch);
		nvchan_put(ch);
	}
	p->nchan = 0;
	p->rxbuf = NULL;
	p->sendbuf = NULL;
	p->ch = NULL;
	pvb_counter_add(&p->disconnects, 1);
	nvchan_xsnap_clear(&p->xsnap);
}

void
nvport_deadline_in(struct nvport *p, unsigned int seconds)
{
	p->ctrl_deadline = rte_get_timer_cycles() + seconds * rte_get_timer_hz();
}

bool
nvport_deadline_passed(const struct nvport *p)
{
	return rte_get_timer_cycles() > p->ctrl_deadline;
}

void
nvport_link_update(struct nvport *p, bool up)
{
	/* relaxed: only the control thread writes state */
	pvb_eth_link_set(p->port_id, up && pvb_load_relaxed(&p->state) == NVPORT_DATA);
}

struct rte_mbuf *
nvport_rx_frame(struct nvport_poll *e, struct nvchan_rec *r, uint8_t *msg, uint32_t off,
		uint32_t len, bool zero_copy)
{
	struct nvport_rxq *q = e->q;
	struct rte_mbuf *m;

	/*
	 * Copy when asked to, below copybreak, beyond an ext buffer's 16-bit
	 * length, and when the peer put the frame at an odd address: an
	 * application reads its Ethernet header as 2-byte aligned.
	 */
	if (!zero_copy || len <= e->p->copybreak || off + len > UINT16_MAX ||
	    ((uintptr_t)(msg + off) & 1) != 0) {
		m = nvchan_copy_frame(&e->cache, e->mp, e->n - e->got, msg + off, len);
	} else {
		m = nvchan_mbuf(&e->cache, e->mp, e->n - e->got);
		if (m != NULL) {
			nvchan_rec_attach(r, m, msg, (uint16_t)off, (uint16_t)len);
			e->zero_copy++;
			e->zero_copy_bytes += len;
		}
	}
	if (m == NULL)
		pvb_counter_add1w(&q->nombuf, 1);
	return m;
}
