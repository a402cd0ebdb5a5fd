/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_FWD_CONFIG_PVT_H_
#define _PVB_FWD_CONFIG_PVT_H_

/*
 * pvb-fwd configuration internals, shared by the files behind fwd_config.h.
 * Include fwd_config.h instead.
 *
 *   fwd_config_text.c     errors, value parsers, line locator, rte_cfgfile
 *   fwd_config.c          per-key rules, sections, fwd_config_load*()
 *   fwd_config_resolve.c  fwd_config_resolve(), fwd_config_dump()
 */

#ifndef _PVB_FWD_CONFIG_H_
#error "include fwd_config.h instead"
#endif

#include <stddef.h>
#include <stdint.h>

#include <rte_cfgfile.h>
#include <rte_common.h>

/* ----------------------------------------------------------------------------
 * fwd_config_text.c
 */

/* Where errors go and the label they start with. */
struct diag {
	const char *label;
	char *err;
	size_t errlen;
};

/* Writes "LABEL:LINE: message" (line 0, "not from the file", shows as 1); returns -1. */
int fwd_cfg_fail(const struct diag *d, unsigned int line, const char *fmt, ...)
	__rte_format_printf(3, 4);

/* Decimal digits only: no sign, no hex, no spaces. -EINVAL, or -ERANGE with *v = max. */
int fwd_cfg_parse_u64(const char *s, uint64_t *v);

/* Seconds "S" or "S.F" (F: 1..3 digits) into ms. -EINVAL, -EDOM (finer than 1 ms), -ERANGE. */
int fwd_cfg_parse_msec(const char *s, uint64_t *ms);

/* Milliseconds as fwd_cfg_parse_msec() reads them: "2", "0.5", "1.25". */
void fwd_cfg_fmt_msec(char *buf, size_t len, uint64_t ms);

/*
 * The line locator: where each section header and key of the text is, in the
 * order rte_cfgfile lists them, and the text rte_cfgfile reads.
 */
struct loc_key {
	char name[CFG_NAME_LEN];
	unsigned int line;
};

struct loc_section {
	char name[CFG_NAME_LEN];
	unsigned int line;
	unsigned int first_key;		/* its keys: keys[first_key, first_key + nb_keys) */
	unsigned int nb_keys;
};

struct locator {
	struct loc_section *secs;
	struct loc_key *keys;
	unsigned int nb_secs, cap_secs;
	unsigned int nb_keys, cap_keys;
	char *clean;			/* what rte_cfgfile reads */
	size_t clean_len;
};

/* Checks @p text line by line and fills @p l (zeroed by the caller); -1 with the error. */
int fwd_cfg_loc_scan(struct locator *l, const struct diag *d, const char *text);
void fwd_cfg_loc_free(struct locator *l);

/*
 * rte_cfgfile reads the locator's text; its entries, parallel to l->keys,
 * land in *ents, which the caller frees (also on error).
 */
int fwd_cfg_cfgfile_read(const struct diag *d, const struct locator *l,
			 struct rte_cfgfile_entry **ents);

/* ----------------------------------------------------------------------------
 * fwd_config.c
 */

enum val_kind {
	VAL_UINT,	/* decimal in [min, max] (or 0 with zero_ok) */
	VAL_POW2,	/* the same, and a power of two */
	VAL_MSEC,	/* seconds, up to 3 decimals, stored in ms; min, max in ms */
	VAL_ENUM,	/* one of names[], stored as its index */
	VAL_BOOL,	/* one of bool_names[] */
	VAL_STR,	/* copied */
	VAL_PEER,	/* another port's name */
	VAL_RX,		/* NAME:Q list; may repeat */
	VAL_TX,
};

struct key_rule {
	const char *key;
	enum val_kind kind;
	size_t off;		/* of the field in the section's struct */
	size_t size;		/* 1 (bool), 2 or 4: what store_uint() and load_uint() handle */
	uint64_t min, max;
	bool zero_ok;
	const char *const *names;	/* VAL_ENUM, NULL-terminated, in enum order */
};

enum sec_kind {
	SEC_GENERAL,
	SEC_PORT,
	SEC_LCORE,
	SEC_NB_KINDS,
};

/* The rules of one kind of section: what it may hold, in the order dumps print it. */
const struct key_rule *fwd_cfg_rules(enum sec_kind kind, unsigned int *nb_rules);

/* A port with every default, an lcore with no queues; @p line 0 = not from the file. */
void fwd_cfg_port_init(struct fwd_port_cfg *p, const char *name, unsigned int line);
void fwd_cfg_lcore_init(struct fwd_lcore_cfg *l, unsigned int lcore_id, unsigned int line);

/* xconnect's default: 0<->1, 2<->3... Returns the port left over, or -1. */
int fwd_cfg_pair_in_order(struct fwd_config *c);

#endif /* _PVB_FWD_CONFIG_PVT_H_ */
