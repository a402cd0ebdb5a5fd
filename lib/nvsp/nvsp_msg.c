/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * NVSP codec (layouts: doc/nvsp.md §2.3; Linux drivers/net/hyperv/hyperv_net.h,
 * DPDK drivers/net/netvsc/hn_nvs.h). A message may sit at any offset
 * of a ring packet in memory the peer can rewrite: decode copies the bytes
 * it may look at into a private buffer once, then works only on that copy.
 * Fields go through the packed wire structs with memcpy, so nothing is read
 * through an unaligned pointer. The wire is little-endian and so is every
 * host pvbridge builds for (the ring libraries assume the same).
 */

#include <errno.h>
#include <string.h>

#include "pvb_nvsp.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "wire structs are little-endian");

/* Bytes the layout of @p type needs, or 0 for a type this codec does not handle. */
static uint32_t
nvsp_min_len(uint32_t type)
{
	switch (type) {
	case PVB_NVSP_INIT:
		return sizeof(struct pvb_nvsp_init);
	case PVB_NVSP_INIT_COMPLETE:
		return sizeof(struct pvb_nvsp_init_complete);
	case PVB_NVSP_SEND_NDIS_VER:
		return sizeof(struct pvb_nvsp_ndis_ver);
	case PVB_NVSP_SEND_RECV_BUF:
	case PVB_NVSP_SEND_SEND_BUF:
		return sizeof(struct pvb_nvsp_send_buf);
	case PVB_NVSP_SEND_RECV_BUF_COMPLETE:
		return sizeof(struct pvb_nvsp_recv_buf_complete);
	case PVB_NVSP_REVOKE_RECV_BUF:
	case PVB_NVSP_REVOKE_SEND_BUF:
		return sizeof(struct pvb_nvsp_revoke);
	case PVB_NVSP_SEND_SEND_BUF_COMPLETE:
		return sizeof(struct pvb_nvsp_send_buf_complete);
	case PVB_NVSP_SEND_RNDIS_PKT:
		return sizeof(struct pvb_nvsp_rndis_pkt);
	case PVB_NVSP_SEND_RNDIS_PKT_COMPLETE:
		return sizeof(struct pvb_nvsp_rndis_pkt_complete);
	case PVB_NVSP_SEND_NDIS_CONFIG:
		return sizeof(struct pvb_nvsp_ndis_config);
	case PVB_NVSP_SUBCHANNEL:
		return sizeof(struct pvb_nvsp_subchannel);
	case PVB_NVSP_INDIRECTION_TABLE:
		return sizeof(struct pvb_nvsp_indirection);
	}
	return 0;	/* the deprecated ranges included */
}

/* The body of @p m->type from the private copy @p b (long enough for it). */
static void
nvsp_decode_body(const uint8_t *b, struct pvb_nvsp_msg *m)
{
	union {
		struct pvb_nvsp_init init;
		struct pvb_nvsp_init_complete ic;
		struct pvb_nvsp_ndis_ver ver;
		struct pvb_nvsp_ndis_config cfg;
		struct pvb_nvsp_send_buf sb;
		struct pvb_nvsp_recv_buf_complete rbc;
		struct pvb_nvsp_revoke rv;
		struct pvb_nvsp_send_buf_complete sbc;
		struct pvb_nvsp_rndis_pkt rp;
		struct pvb_nvsp_rndis_pkt_complete rpc;
		struct pvb_nvsp_subchannel sc;
		struct pvb_nvsp_indirection it;
	} w;

	memcpy(&w, b, sizeof(w));
	switch (m->type) {
	case PVB_NVSP_INIT:
		m->u.init.min_ver = w.init.min_protocol_ver;
		m->u.init.max_ver = w.init.max_protocol_ver;
		break;
	case PVB_NVSP_INIT_COMPLETE:
		m->u.init_complete.status = w.ic.status;
		m->u.init_complete.max_mdl_chain_len = w.ic.max_mdl_chain_len;
		break;
	case PVB_NVSP_SEND_NDIS_VER:
		m->u.ndis_ver.major = w.ver.ndis_major;
		m->u.ndis_ver.minor = w.ver.ndis_minor;
		break;
	case PVB_NVSP_SEND_NDIS_CONFIG:
		m->u.ndis_config.mtu = w.cfg.mtu;
		m->u.ndis_config.caps = w.cfg.capabilities;
		break;
	case PVB_NVSP_SEND_RECV_BUF:
	case PVB_NVSP_SEND_SEND_BUF:
		m->u.send_buf.gpadl = w.sb.gpadl_handle;
		m->u.send_buf.id = w.sb.id;
		break;
	case PVB_NVSP_SEND_RECV_BUF_COMPLETE:
		/* num_sections != 1 is the state machine's to refuse */
		m->u.recv_buf_complete.status = w.rbc.status;
		m->u.recv_buf_complete.num_sections = w.rbc.num_sections;
		m->u.recv_buf_complete.section = w.rbc.section;
		break;
	case PVB_NVSP_REVOKE_RECV_BUF:
	case PVB_NVSP_REVOKE_SEND_BUF:
		m->u.revoke.id = w.rv.id;
		break;
	case PVB_NVSP_SEND_SEND_BUF_COMPLETE:
		m->u.send_buf_complete.status = w.sbc.status;
		m->u.send_buf_complete.section_size = w.sbc.section_size;
		break;
	case PVB_NVSP_SEND_RNDIS_PKT:
		m->u.rndis.channel_type = w.rp.channel_type;
		m->u.rndis.section_index = w.rp.send_buf_section_index;
		m->u.rndis.section_size = w.rp.send_buf_section_size;
		break;
	case PVB_NVSP_SUBCHANNEL:
		m->u.subchannel.op_or_status = w.sc.op_or_status;
		m->u.subchannel.num = w.sc.num_subchannels;
		break;
	case PVB_NVSP_INDIRECTION_TABLE:
		m->u.table.count = w.it.count;
		m->u.table.offset = w.it.offset;
		break;
	default:	/* PVB_NVSP_SEND_RNDIS_PKT_COMPLETE */
		m->u.rndis_complete.status = w.rpc.status;
		break;
	}
}

int
pvb_nvsp_decode(const void *buf, uint32_t len, struct pvb_nvsp_msg *m)
{
	uint8_t b[PVB_NVSP_MSG_SIZE];
	uint32_t n = len < sizeof(b) ? len : (uint32_t)sizeof(b), type, need;

	if (m == NULL || (buf == NULL && len != 0))
		return -EINVAL;
	if (len < sizeof(type))
		return -EPROTO;
	/* the one read of peer memory; the tail stays zero for the union copy */
	memset(b, 0, sizeof(b));
	memcpy(b, buf, n);
	memcpy(&type, b, sizeof(type));
	need = nvsp_min_len(type);
	if (need == 0)
		return -ENOTSUP;
	if (n < need)
		return -EPROTO;
	memset(m, 0, sizeof(*m));
	m->type = type;
	nvsp_decode_body(b, m);
	return 0;
}

/* The layout of @p m->type into @p b (zeroed, PVB_NVSP_MSG_SIZE bytes). */
static void
nvsp_encode_body(const struct pvb_nvsp_msg *m, uint8_t *b)
{
	union {
		struct pvb_nvsp_init init;
		struct pvb_nvsp_init_complete ic;
		struct pvb_nvsp_ndis_ver ver;
		struct pvb_nvsp_ndis_config cfg;
		struct pvb_nvsp_send_buf sb;
		struct pvb_nvsp_recv_buf_complete rbc;
		struct pvb_nvsp_revoke rv;
		struct pvb_nvsp_send_buf_complete sbc;
		struct pvb_nvsp_rndis_pkt rp;
		struct pvb_nvsp_rndis_pkt_complete rpc;
		struct pvb_nvsp_subchannel sc;
		struct pvb_nvsp_indirection it;
		uint8_t raw[PVB_NVSP_MSG_SIZE];
	} w;

	memset(&w, 0, sizeof(w));
	w.init.type = m->type;
	switch (m->type) {
	case PVB_NVSP_INIT:
		w.init.min_protocol_ver = m->u.init.min_ver;
		w.init.max_protocol_ver = m->u.init.max_ver;
		break;
	case PVB_NVSP_INIT_COMPLETE:
		/* negotiated_ver is deprecated and read by no guest: left 0 */
		w.ic.max_mdl_chain_len = m->u.init_complete.max_mdl_chain_len;
		w.ic.status = m->u.init_complete.status;
		break;
	case PVB_NVSP_SEND_NDIS_VER:
		w.ver.ndis_major = m->u.ndis_ver.major;
		w.ver.ndis_minor = m->u.ndis_ver.minor;
		break;
	case PVB_NVSP_SEND_NDIS_CONFIG:
		w.cfg.mtu = m->u.ndis_config.mtu;
		w.cfg.capabilities = m->u.ndis_config.caps;
		break;
	case PVB_NVSP_SEND_RECV_BUF:
	case PVB_NVSP_SEND_SEND_BUF:
		w.sb.gpadl_handle = m->u.send_buf.gpadl;
		w.sb.id = m->u.send_buf.id;
		break;
	case PVB_NVSP_SEND_RECV_BUF_COMPLETE:
		w.rbc.status = m->u.recv_buf_complete.status;
		w.rbc.num_sections = m->u.recv_buf_complete.num_sections;
		w.rbc.section = m->u.recv_buf_complete.section;
		break;
	case PVB_NVSP_REVOKE_RECV_BUF:
	case PVB_NVSP_REVOKE_SEND_BUF:
		w.rv.id = m->u.revoke.id;
		break;
	case PVB_NVSP_SEND_SEND_BUF_COMPLETE:
		w.sbc.status = m->u.send_buf_complete.status;
		w.sbc.section_size = m->u.send_buf_complete.section_size;
		break;
	case PVB_NVSP_SEND_RNDIS_PKT:
		w.rp.channel_type = m->u.rndis.channel_type;
		w.rp.send_buf_section_index = m->u.rndis.section_index;
		w.rp.send_buf_section_size = m->u.rndis.section_size;
		break;
	case PVB_NVSP_SEND_RNDIS_PKT_COMPLETE:
		w.rpc.status = m->u.rndis_complete.status;
		break;
	case PVB_NVSP_SUBCHANNEL:
		w.sc.op_or_status = m->u.subchannel.op_or_status;
		w.sc.num_subchannels = m->u.subchannel.num;
		break;
	case PVB_NVSP_INDIRECTION_TABLE:
		/* the header alone: pvb_nvsp_table_encode() writes the whole message */
		w.it.count = m->u.table.count;
		w.it.offset = m->u.table.offset;
		break;
	default:	/* a type without a layout here: the type word alone */
		break;
	}
	memcpy(b, w.raw, sizeof(w.raw));
}

uint32_t
pvb_nvsp_encode(const struct pvb_nvsp_msg *m, void *buf)
{
	nvsp_encode_body(m, buf);
	return PVB_NVSP_MSG_SIZE;
}
