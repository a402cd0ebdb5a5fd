/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_CHAN_PVT_H_
#define _PVB_CHAN_PVT_H_

/*
 * lib/chan internals shared by its files: the codec (chan_codec.c), the
 * socket end (chan_sock.c) and the two state machines (chan_host.c,
 * chan_guest.c). Include pvb_chan.h instead.
 */

#ifndef _PVB_CHAN_H_
#error "include pvb_chan.h instead"
#endif

#define CHAN_MAX_ERRNO	4095	/* a status is 0 or one of -1 .. -CHAN_MAX_ERRNO */

/* A status OPEN_RESULT or ERROR may carry: 0 or a negative errno. */
static inline bool
chan_status_ok(int32_t status)
{
	return status <= 0 && status >= -CHAN_MAX_ERRNO;
}

/* @m = an empty message of @type, every fd -1. */
void chan_msg_init(struct pvb_chan_msg *m, uint16_t type);

/* @dst (PVB_CHAN_REASON_LEN) = @src cut to fit, zero-filled; "" for NULL. */
void chan_reason_copy(char *dst, const char *src);

/* Send an OPEN_RESULT or ERROR. A status ERROR cannot carry becomes -EPROTO. 0 or -errno. */
int chan_send_result(int sock, uint16_t type, int status, const char *reason);

/* Send a CLOSE or RESCIND of @chan_id. 0 or -errno. */
int chan_send_close(int sock, uint16_t type, uint32_t chan_id);

#endif /* _PVB_CHAN_PVT_H_ */
