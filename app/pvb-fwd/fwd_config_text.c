/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * pvb-fwd configuration, text layer: errors, value parsers, and the way from
 * raw text to rte_cfgfile entries that each carry a line.
 *
 * rte_cfgfile splits the text into sections and key/value entries, but it
 * reports no line numbers, gives no reason when it rejects a file (it returns
 * NULL and logs), silently truncates long names and values, and knows a
 * single comment character. So the text first goes through a line locator:
 * one pass that rejects, with its line, whatever rte_cfgfile would reject or
 * truncate, records the line of every section header and key in the order
 * rte_cfgfile lists them, and writes the text rte_cfgfile then reads, with
 * comments removed and every line kept in place. Entries and records are
 * matched by position, and checked to agree, so every later error has a line.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* memfd_create() */
#endif

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <rte_cfgfile.h>

#include "fwd_config.h"
#include "fwd_config_pvt.h"

#define MAX_NAME	(CFG_NAME_LEN - 1)	/* longer, rte_cfgfile would truncate */
#define MAX_VALUE	(CFG_VALUE_LEN - 1)

/* ----------------------------------------------------------------------------
 * Errors
 */

/* Writes "LABEL:LINE: message" (line 0, "not from the file", shows as 1); returns -1. */
int
fwd_cfg_fail(const struct diag *d, unsigned int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (d->err == NULL || d->errlen == 0)
		return -1;
	n = snprintf(d->err, d->errlen, "%s:%u: ", d->label, line != 0 ? line : 1);
	if (n >= 0 && (size_t)n < d->errlen) {
		va_start(ap, fmt);
		vsnprintf(d->err + n, d->errlen - n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* ----------------------------------------------------------------------------
 * Small helpers
 */

/* Trims white space as rte_cfgfile does (isspace()), so both see the same names. */
static const char *
trim(const char *s, size_t *len)
{
	size_t n = *len;

	while (n > 0 && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	*len = n;
	return s;
}

/* Returns @p arr with room for element @p n, or NULL (arr still valid) when out of memory. */
static void *
grow(void *arr, unsigned int *cap, unsigned int n, size_t esize)
{
	unsigned int ncap;
	void *p;

	if (n < *cap)
		return arr;
	ncap = *cap != 0 ? *cap * 2 : 16;
	p = realloc(arr, (size_t)ncap * esize);
	if (p != NULL)
		*cap = ncap;
	return p;
}

/* Decimal digits only: no sign, no hex, no spaces. -EINVAL, or -ERANGE with *v = max. */
int
fwd_cfg_parse_u64(const char *s, uint64_t *v)
{
	uint64_t x = 0;

	if (*s == '\0')
		return -EINVAL;
	for (; *s != '\0'; s++) {
		unsigned int d = (unsigned int)(*s - '0');

		if (d > 9)
			return -EINVAL;
		if (x > (UINT64_MAX - d) / 10) {
			*v = UINT64_MAX;
			return -ERANGE;
		}
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

/*
 * Seconds as "S" or "S.F" with 1..3 digits of F, into milliseconds: a file
 * says what a person means (0.5), the fields keep integers. -EINVAL (syntax),
 * -EDOM (finer than 1 ms), -ERANGE (S above UINT32_MAX).
 */
int
fwd_cfg_parse_msec(const char *s, uint64_t *ms)
{
	uint64_t sec = 0, frac = 0;
	unsigned int ndec = 0;
	const char *p, *f;

	/* once above UINT32_MAX, sec stops growing: it cannot wrap, and it is too big */
	for (p = s; isdigit((unsigned char)*p); p++)
		if (sec <= UINT32_MAX)
			sec = sec * 10 + (uint64_t)(*p - '0');
	if (p == s)
		return -EINVAL;
	if (*p == '.') {
		for (f = ++p; isdigit((unsigned char)*p); p++, ndec++)
			if (ndec < 3)
				frac = frac * 10 + (uint64_t)(*p - '0');
		if (p == f)
			return -EINVAL;
	}
	if (*p != '\0')
		return -EINVAL;
	if (ndec > 3)
		return -EDOM;
	if (sec > UINT32_MAX)
		return -ERANGE;
	for (; ndec < 3; ndec++)
		frac *= 10;
	*ms = sec * 1000 + frac;
	return 0;
}

/* Milliseconds as fwd_cfg_parse_msec() reads them: "2", "0.5", "1.25". */
void
fwd_cfg_fmt_msec(char *buf, size_t len, uint64_t ms)
{
	int n = snprintf(buf, len, "%" PRIu64 ".%03u", ms / 1000, (unsigned int)(ms % 1000));

	if (n <= 0 || (size_t)n >= len)
		return;
	while (buf[n - 1] == '0')
		buf[--n] = '\0';
	if (buf[n - 1] == '.')
		buf[n - 1] = '\0';
}

/* ----------------------------------------------------------------------------
 * Line locator
 */

/* Appends to the cleaned text; fwd_cfg_loc_scan() sized it for the whole input. */
static void
loc_emit(struct locator *l, const char *s, size_t n)
{
	memcpy(l->clean + l->clean_len, s, n);
	l->clean_len += n;
}

/* "[name]", already trimmed. */
static int
loc_section(struct locator *l, const struct diag *d, unsigned int line, const char *s,
	    size_t len)
{
	struct loc_section *sec;
	const char *name;
	size_t n;

	/* rte_cfgfile would ignore anything after the first ']' */
	if (len < 2 || s[len - 1] != ']' || memchr(s + 1, ']', len - 2) != NULL ||
	    memchr(s + 1, '[', len - 2) != NULL)
		return fwd_cfg_fail(d, line, "malformed section header '%.*s' (expected [name] "
				    "alone)", (int)len, s);
	n = len - 2;
	name = trim(s + 1, &n);
	if (n == 0)
		return fwd_cfg_fail(d, line, "empty section name");
	if (n > MAX_NAME)
		return fwd_cfg_fail(d, line, "section name longer than %d characters", MAX_NAME);
	sec = grow(l->secs, &l->cap_secs, l->nb_secs, sizeof(*l->secs));
	if (sec == NULL)
		return fwd_cfg_fail(d, line, "out of memory");
	l->secs = sec;
	sec = &l->secs[l->nb_secs++];
	memcpy(sec->name, name, n);
	sec->name[n] = '\0';
	sec->line = line;
	sec->first_key = l->nb_keys;
	sec->nb_keys = 0;
	loc_emit(l, "[", 1);
	loc_emit(l, name, n);
	loc_emit(l, "]\n", 2);
	return 0;
}

/* "key = value", already trimmed; the value may hold more '='. */
static int
loc_key(struct locator *l, const struct diag *d, unsigned int line, const char *s, size_t len)
{
	const char *eq = memchr(s, '=', len);
	struct loc_section *sec;
	struct loc_key *k;
	const char *key, *val;
	size_t klen, vlen;

	if (eq == NULL)
		return fwd_cfg_fail(d, line, "expected 'key = value' or '[section]', not '%.*s'",
				    (int)len, s);
	klen = (size_t)(eq - s);
	vlen = len - klen - 1;
	key = trim(s, &klen);
	val = trim(eq + 1, &vlen);
	if (l->nb_secs == 0)
		return fwd_cfg_fail(d, line, "'%.*s' is outside any section "
				    "(put it under [general], [port.NAME] or [lcore.N])",
				    (int)klen, key);
	sec = &l->secs[l->nb_secs - 1];
	if (klen == 0)
		return fwd_cfg_fail(d, line, "[%s]: '=' without a key", sec->name);
	if (klen > MAX_NAME)
		return fwd_cfg_fail(d, line, "[%s]: key longer than %d characters", sec->name,
				    MAX_NAME);
	if (vlen == 0)
		return fwd_cfg_fail(d, line, "[%s] %.*s: empty value", sec->name, (int)klen, key);
	if (vlen > MAX_VALUE)
		return fwd_cfg_fail(d, line, "[%s] %.*s: value longer than %d characters "
				    "(rte_cfgfile's limit)", sec->name, (int)klen, key, MAX_VALUE);
	k = grow(l->keys, &l->cap_keys, l->nb_keys, sizeof(*l->keys));
	if (k == NULL)
		return fwd_cfg_fail(d, line, "out of memory");
	l->keys = k;
	k = &l->keys[l->nb_keys++];
	memcpy(k->name, key, klen);
	k->name[klen] = '\0';
	k->line = line;
	sec->nb_keys++;
	loc_emit(l, key, klen);
	loc_emit(l, "=", 1);
	loc_emit(l, val, vlen);
	loc_emit(l, "\n", 1);
	return 0;
}

static int
loc_line(struct locator *l, const struct diag *d, unsigned int line, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] == ';' || s[i] == '#')
			break;
	len = i;
	s = trim(s, &len);
	if (len == 0) {
		loc_emit(l, "\n", 1);	/* keeps the line numbers of the raw text */
		return 0;
	}
	if (s[0] == '[')
		return loc_section(l, d, line, s, len);
	return loc_key(l, d, line, s, len);
}

/* One pass over @p text; every output line is no longer than its input line. */
int
fwd_cfg_loc_scan(struct locator *l, const struct diag *d, const char *text)
{
	size_t tlen = strlen(text);
	unsigned int line = 0;
	const char *p = text;

	l->clean = malloc(tlen + 2);
	if (l->clean == NULL)
		return fwd_cfg_fail(d, 1, "out of memory");
	for (;;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);

		if (loc_line(l, d, ++line, p, len) < 0)
			return -1;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	l->clean[l->clean_len] = '\0';
	return 0;
}

void
fwd_cfg_loc_free(struct locator *l)
{
	free(l->secs);
	free(l->keys);
	free(l->clean);
}

/* ----------------------------------------------------------------------------
 * rte_cfgfile
 */

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* rte_cfgfile only reads files: hand it the cleaned text through a memfd. */
static struct rte_cfgfile *
cfgfile_from_text(const struct diag *d, const char *text, size_t len)
{
	/* the cleaned text has no comments left; the character must still be a valid one */
	static const struct rte_cfgfile_parameters params = { .comment_character = ';' };
	struct rte_cfgfile *cfg;
	char path[64];
	int fd;

	fd = memfd_create("pvb-fwd-config", MFD_CLOEXEC);
	if (fd < 0) {
		fwd_cfg_fail(d, 1, "cannot create an in-memory file: %s", strerror(errno));
		return NULL;
	}
	if (write_all(fd, text, len) < 0) {
		fwd_cfg_fail(d, 1, "cannot write an in-memory file: %s", strerror(errno));
		close(fd);
		return NULL;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	/* flags 0: no keys before the first section, no empty values */
	cfg = rte_cfgfile_load_with_params(path, 0, &params);
	close(fd);
	if (cfg == NULL)
		fwd_cfg_fail(d, 1, "rte_cfgfile could not read the checked text (out of memory?)");
	return cfg;
}

/*
 * Copies the entries of @p cfg into @p ents, parallel to the locator's keys,
 * checking that rte_cfgfile saw the same sections and keys in the same order.
 */
static int
cfgfile_map(struct rte_cfgfile *cfg, const struct locator *l, struct rte_cfgfile_entry *ents,
	    const struct diag *d)
{
	char name[CFG_NAME_LEN];
	unsigned int s, k;

	if (rte_cfgfile_num_sections(cfg, NULL, 0) != (int)l->nb_secs)
		return fwd_cfg_fail(d, 1, "internal error: rte_cfgfile and the line locator count "
				    "different sections");
	for (s = 0; s < l->nb_secs; s++) {
		const struct loc_section *ls = &l->secs[s];
		struct rte_cfgfile_entry *e = &ents[ls->first_key];
		int n = rte_cfgfile_section_num_entries_by_index(cfg, name, (int)s);
		bool same = n == (int)ls->nb_keys && strcmp(name, ls->name) == 0;

		if (same)
			same = rte_cfgfile_section_entries_by_index(cfg, (int)s, name, e, n) == n;
		for (k = 0; same && k < ls->nb_keys; k++)
			same = strcmp(e[k].name, l->keys[ls->first_key + k].name) == 0;
		if (!same)
			return fwd_cfg_fail(d, ls->line, "internal error: rte_cfgfile reads [%s] "
					    "differently from the line locator", ls->name);
	}
	return 0;
}

/* rte_cfgfile reads the locator's text; its entries land in *ents, parallel to l->keys. */
int
fwd_cfg_cfgfile_read(const struct diag *d, const struct locator *l,
		     struct rte_cfgfile_entry **ents)
{
	struct rte_cfgfile *cfg;
	int rc;

	cfg = cfgfile_from_text(d, l->clean, l->clean_len);
	if (cfg == NULL)
		return -1;
	*ents = calloc(l->nb_keys + 1, sizeof(**ents));
	rc = *ents != NULL ? cfgfile_map(cfg, l, *ents, d) : fwd_cfg_fail(d, 1, "out of memory");
	rte_cfgfile_close(cfg);
	return rc;
}
