/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_CONFIG_H_
#define _PVB_CONFIG_H_

/** pvb-ringbench defaults. */
#define PVB_RB_DEFAULT_RING_SIZE	1024
#define PVB_RB_DEFAULT_LAT_SAMPLES	100000
#define PVB_RB_DEFAULT_STREAM_MS	200
#define PVB_RB_MAX_BURST		256

#endif /* _PVB_CONFIG_H_ */
