/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * Unit tests for lib/shm (suite 'unit').
 *
 * Every test runs in one fixture that owns what the test opens (regions,
 * fds, sockets, a temp dir, a double mapping) and releases it in teardown,
 * so a failing test leaks nothing into the next one. The last test compares
 * the number of open fds with the count taken before the first: the whole
 * suite, failures included, must give back every fd it got.
 *
 * Huge pages are used when the machine has them; without them the huge
 * cases print a note and check only the plain path.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "pvb_bell.h"
#include "pvb_shm.h"
#include "shm_pvt.h"	/* shm_prefault_fallocate(): the pre-5.14 path */
#include "test_common.h"

#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD	76	/* Linux 6.5 */
#endif
#define HUGETLB_MAGIC	0x958458f6u
#define CREATE_SEALS	(F_SEAL_SHRINK | F_SEAL_GROW)
#define LOCKED_SEALS	(CREATE_SEALS | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL)
#define PUNCH		(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)
#define MAX_KEPT	64
#define MAX_REGIONS	PVB_SHM_MAX_FDS


/* ----------------------------------------------------------------------------
 * Fixture
 */

struct fx {
	struct pvb_shm r[MAX_REGIONS];
	int kept[MAX_KEPT];		/* fds and sockets the test opened itself */
	unsigned int nkept;
	int rx[PVB_SHM_MAX_FDS];	/* fds a receive handed us */
	void *dbl;			/* a double mapping, and its len */
	size_t dbl_len;
	char dir[64];			/* mkdtemp dir, "" if none */
	char file[96];			/* a file in it, "" if none */
	struct sigaction old_pipe;
	bool pipe_set;
};

static unsigned int fds_at_start;
static size_t pg;

static volatile sig_atomic_t sigpipes;

/* Lines of /proc/self/maps: one per mapping (neighbours that merge count once). */
static unsigned int
count_maps(void)
{
	static char buf[65536];
	unsigned int n = 0;
	ssize_t k, i;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	while ((k = read(fd, buf, sizeof(buf))) > 0)
		for (i = 0; i < k; i++)
			n += buf[i] == '\n';
	close(fd);
	return n;
}

/* A field of /proc/meminfo ("Hugepagesize:"), 0 if absent. */
static uint64_t
meminfo(const char *key)
{
	char line[256];
	uint64_t v = 0;
	FILE *f = fopen("/proc/meminfo", "re");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, strlen(key)) == 0)
			v = strtoull(line + strlen(key), NULL, 10);
	fclose(f);
	return v;
}

/* nr_overcommit_hugepages: surplus pages the kernel may add past the pool (-1 unknown). */
static long
overcommit_hugepages(void)
{
	long v = -1;
	FILE *f = fopen("/proc/sys/vm/nr_overcommit_hugepages", "re");

	if (f == NULL)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static int
keep(struct fx *fx, int fd)
{
	assert_true(fd >= 0);
	assert_true(fx->nkept < MAX_KEPT);
	fx->kept[fx->nkept++] = fd;
	return fd;
}

/* Close a kept fd now (the test checks something about its absence). */
static void
drop(struct fx *fx, int fd)
{
	unsigned int i;

	for (i = 0; i < fx->nkept; i++)
		if (fx->kept[i] == fd) {
			close(fd);
			fx->kept[i] = -1;
			return;
		}
	fail_msg("fd %d was not kept", fd);
}

static bool
fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static int
seals(int fd)
{
	return fcntl(fd, F_GET_SEALS);
}

/* A memfd of @p size bytes carrying exactly @p add_seals (-1: created without sealing). */
static int
raw_memfd(struct fx *fx, size_t size, int add_seals)
{
	int fd = keep(fx, memfd_create("raw", MFD_CLOEXEC |
				       (add_seals >= 0 ? MFD_ALLOW_SEALING : 0)));

	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	if (add_seals > 0)
		assert_int_equal(fcntl(fd, F_ADD_SEALS, add_seals), 0);
	return fd;
}

static void
make_pair(struct fx *fx, int type, int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv), 0);
	keep(fx, sv[0]);
	keep(fx, sv[1]);
}

static void
plain(struct fx *fx, unsigned int i, size_t len)
{
	assert_int_equal(pvb_shm_create(&fx->r[i], "pvbtest", len, PVB_SHM_F_NO_HUGE, -1), 0);
}

static int
fx_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	unsigned int i;

	if (fx == NULL)
		return -1;
	for (i = 0; i < MAX_REGIONS; i++)
		fx->r[i].fd = -1;
	for (i = 0; i < PVB_SHM_MAX_FDS; i++)
		fx->rx[i] = -1;
	at("%s", "");
	*state = fx;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *fx = *state;
	unsigned int i;

	for (i = 0; i < MAX_REGIONS; i++)
		pvb_shm_close(&fx->r[i]);
	pvb_shm_close_fds(fx->rx, PVB_SHM_MAX_FDS);
	for (i = 0; i < fx->nkept; i++)
		if (fx->kept[i] >= 0)
			close(fx->kept[i]);
	pvb_shm_unmap_double(fx->dbl, fx->dbl_len);
	if (fx->file[0] != '\0')
		unlink(fx->file);
	if (fx->dir[0] != '\0')
		rmdir(fx->dir);
	if (fx->pipe_set)
		sigaction(SIGPIPE, &fx->old_pipe, NULL);
	alarm(0);	/* a doorbell test's guard */
	free(fx);
	return 0;
}

static int
suite_setup(void **state)
{
	(void)state;
	pg = (size_t)sysconf(_SC_PAGESIZE);
	fds_at_start = count_fds();
	return 0;
}

/* ----------------------------------------------------------------------------
 * Creating regions
 */

static void
check_region(const struct pvb_shm *s, size_t want_len, size_t want_ps, bool huge)
{
	struct stat st;

	expect_eq(s->len, want_len);
	expect_eq(s->page_size, want_ps);
	expect_eq(s->huge, huge);
	expect_true(s->fd >= 0 && s->base != NULL);
	expect_true((fcntl(s->fd, F_GETFD) & FD_CLOEXEC) != 0);
	expect_eq(seals(s->fd), CREATE_SEALS);
	expect_eq(fstat(s->fd, &st), 0);
	expect_eq(st.st_size, want_len);
	/* the size is sealed both ways; the seals stay open for pvb_shm_lock() */
	expect_eq(ftruncate(s->fd, (off_t)(want_len - want_ps)), -1);
	expect_eq(errno, EPERM);
	expect_eq(ftruncate(s->fd, (off_t)(want_len + want_ps)), -1);
	expect_eq(errno, EPERM);
	expect_eq(fcntl(s->fd, F_ADD_SEALS, F_SEAL_WRITE), -1);
	expect_eq(errno, EBUSY);	/* refused only because of our writable mapping */
	expect_eq(seals(s->fd), CREATE_SEALS);
	expect_eq(fstat(s->fd, &st), 0);
	expect_eq(st.st_size, want_len);
}

static void
test_create_plain(void **state)
{
	static const struct { size_t len, want; } cases[] = {
		{ 1, 4096 }, { 4096, 4096 }, { 4097, 8192 }, { 5000, 8192 }, { 65536, 65536 },
	};
	struct fx *fx = *state;
	char link[64], target[256];
	uint8_t v;
	unsigned int i;
	ssize_t n;

	if (pg != 4096)
		skip();	/* the vectors are for 4 KiB pages */
	for (i = 0; i < DIM(cases); i++) {
		at("len %zu", cases[i].len);
		assert_int_equal(pvb_shm_create(&fx->r[0], "pvbtest", cases[i].len,
						PVB_SHM_F_NO_HUGE, -1), 0);
		check_region(&fx->r[0], cases[i].want, 4096, false);
		expect_true(bytes_all(fx->r[0].base, fx->r[0].len, 0));
		/* the name shows in /proc */
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fx->r[0].fd);
		n = readlink(link, target, sizeof(target) - 1);
		expect_true(n > 0);
		target[n > 0 ? n : 0] = '\0';
		expect_true(strstr(target, "memfd:pvbtest") != NULL);
		/* the mapping is the file: a store is what a read of the fd sees */
		fx->r[0].base[cases[i].want - 1] = 0x5c;
		expect_eq(pread(fx->r[0].fd, &v, 1, (off_t)cases[i].want - 1), 1);
		expect_eq(v, 0x5c);
		pvb_shm_close(&fx->r[0]);
		expect_eq(fx->r[0].fd, -1);
		expect_true(fx->r[0].base == NULL);
	}
}

static void
test_create_args(void **state)
{
	static const struct { size_t len; unsigned int flags; int node; int rc; } cases[] = {
		{ 0, PVB_SHM_F_NO_HUGE, -1, -EINVAL },
		{ 4096, PVB_SHM_F_NO_HUGE | PVB_SHM_F_HUGE_ONLY, -1, -EINVAL },
		{ 4096, 1u << 7, -1, -EINVAL },
		{ 4096, PVB_SHM_F_NO_HUGE, -2, -EINVAL },
		{ 4096, PVB_SHM_F_NO_HUGE, 9999, -EINVAL },	/* no such node */
		{ SIZE_MAX, PVB_SHM_F_NO_HUGE, -1, -ENOMEM },	/* rounding overflows */
		{ SIZE_MAX - 4095, PVB_SHM_F_NO_HUGE, -1, -ENOMEM },
	};
	struct fx *fx = *state;
	unsigned int before = count_fds(), i;

	assert_int_equal(pvb_shm_create(NULL, "x", 4096, 0, -1), -EINVAL);
	for (i = 0; i < DIM(cases); i++) {
		at("case %u", i);
		memset(&fx->r[0], 0x7b, sizeof(fx->r[0]));
		expect_eq(pvb_shm_create(&fx->r[0], "x", cases[i].len, cases[i].flags,
					 cases[i].node), cases[i].rc);
		/* a failed create leaves a region that close() ignores */
		expect_eq(fx->r[0].fd, -1);
		expect_true(fx->r[0].base == NULL);
		expect_eq(count_fds(), before);
	}
	/* a NULL name is allowed; node 0 exists everywhere */
	at("null name, node 0");
	expect_eq(pvb_shm_create(&fx->r[0], NULL, 100, PVB_SHM_F_NO_HUGE, 0), 0);
	expect_eq(fx->r[0].len, pg);
}

/* Huge pages: 0 and the size if the machine can give us some, else a note. */
static size_t
huge_size(const char *why)
{
	size_t hps = (size_t)meminfo("Hugepagesize:") * 1024;

	if (hps == 0 || meminfo("HugePages_Total:") == 0) {
		print_message("note: no huge pages on this machine, %s skipped\n", why);
		return 0;
	}
	return hps;
}

static void
test_create_huge(void **state)
{
	struct fx *fx = *state;
	size_t hps = huge_size("huge region case");
	struct statfs sfs;
	uint8_t *a;
	int rc;

	if (hps == 0)
		return;
	rc = pvb_shm_create(&fx->r[0], "pvbhuge", 100, PVB_SHM_F_HUGE_ONLY, -1);
	if (rc != 0) {
		print_message("note: no free huge page (%s), huge region case skipped\n",
			      strerror(-rc));
		return;
	}
	check_region(&fx->r[0], hps, hps, true);
	expect_eq(fstatfs(fx->r[0].fd, &sfs), 0);
	expect_eq((uint32_t)sfs.f_type, HUGETLB_MAGIC);
	expect_true(bytes_all(fx->r[0].base, hps, 0));
	/* a peer maps 100 bytes of it: whole huge pages underneath */
	assert_int_equal(pvb_shm_attach(&fx->r[1], keep(fx, dup(fx->r[0].fd)), 100), 0);
	fx->kept[fx->nkept - 1] = -1;	/* the region owns it now */
	expect_eq(fx->r[1].len, 100);
	expect_eq(fx->r[1].page_size, hps);
	expect_true(fx->r[1].huge);
	fx->r[1].base[99] = 0xe1;
	expect_eq(fx->r[0].base[99], 0xe1);
	/* close() unmaps the whole huge page, not just the 100 bytes asked for */
	a = fx->r[1].base;
	pvb_shm_close(&fx->r[1]);
	expect_eq(msync(a, pg, MS_ASYNC), -1);
	expect_eq(errno, ENOMEM);
	/* a double mapping of a huge page needs a huge-page-aligned reservation */
	a = pvb_shm_map_double(fx->r[0].fd, 0, hps);
	assert_non_null(a);
	fx->dbl = a;
	fx->dbl_len = hps;
	expect_eq((uintptr_t)a % hps, 0);
	a[hps - 1] = 0x3e;
	a[hps] = 0x4f;
	expect_eq(a[2 * hps - 1], 0x3e);
	expect_eq(a[0], 0x4f);
	expect_eq(fx->r[0].base[0], 0x4f);
}

/* More than the whole pool: the huge attempt fails, and the region is plain pages. */
static void
test_create_huge_fallback(void **state)
{
	struct fx *fx = *state;
	size_t hps = huge_size("fallback case"), len;
	unsigned int before = count_fds();

	if (hps == 0)
		return;
	if (overcommit_hugepages() != 0) {
		print_message("note: surplus huge pages possible, fallback case skipped\n");
		return;
	}
	len = (size_t)(meminfo("HugePages_Total:") + 1) * hps;
	expect_eq(pvb_shm_create(&fx->r[0], "pvbbig", len, PVB_SHM_F_HUGE_ONLY, -1), -ENOMEM);
	expect_eq(count_fds(), before);
	assert_int_equal(pvb_shm_create(&fx->r[0], "pvbbig", len, 0, -1), 0);
	check_region(&fx->r[0], len, pg, false);
	expect_true(bytes_all(fx->r[0].base, pg, 0));
	expect_true(bytes_all(fx->r[0].base + len - pg, pg, 0));
}

/* ----------------------------------------------------------------------------
 * Regions from a peer
 */

static void
test_attach_sealed(void **state)
{
	struct fx *fx = *state;
	int fd;

	plain(fx, 0, 3 * pg);
	fd = fcntl(fx->r[0].fd, F_DUPFD_CLOEXEC, 0);
	assert_true(fd >= 0);
	expect_eq(pvb_shm_check_fd(fd, 3 * pg), 0);
	expect_eq(pvb_shm_check_fd(fd, 1), 0);
	if (pvb_shm_attach(&fx->r[1], fd, 2 * pg + 100) != 0) {
		close(fd);
		fail_msg("attach refused a sealed region");
	}
	expect_eq(fx->r[1].fd, fd);
	expect_eq(fx->r[1].len, 2 * pg + 100);
	expect_eq(fx->r[1].page_size, pg);
	expect_false(fx->r[1].huge);
	expect_true(fx->r[1].base != fx->r[0].base);
	/* two mappings, one memory, both ways */
	fx->r[0].base[2 * pg + 99] = 0x91;
	expect_eq(fx->r[1].base[2 * pg + 99], 0x91);
	fx->r[1].base[0] = 0x19;
	expect_eq(fx->r[0].base[0], 0x19);
	/* close() closes the fd attach took over, and is idempotent */
	pvb_shm_close(&fx->r[1]);
	expect_false(fd_open(fd));
	pvb_shm_close(&fx->r[1]);
	/* attaching exactly the whole region */
	fd = keep(fx, dup(fx->r[0].fd));
	assert_int_equal(pvb_shm_attach(&fx->r[1], fd, 3 * pg), 0);
	fx->kept[fx->nkept - 1] = -1;
	expect_eq(fx->r[1].base[0], 0x19);
}

/* attach() must refuse @p fd with @p rc, leave it open, and leave the region empty. */
static void
refused(struct fx *fx, int fd, size_t len, int rc, int check_rc)
{
	memset(&fx->r[1], 0x6d, sizeof(fx->r[1]));
	expect_eq(pvb_shm_attach(&fx->r[1], fd, len), rc);
	expect_eq(fx->r[1].fd, -1);
	expect_true(fx->r[1].base == NULL);
	if (rc != -EBADF)
		expect_true(fd_open(fd));
	expect_eq(pvb_shm_check_fd(fd, len), check_rc);
}

static void
test_attach_refuses(void **state)
{
	struct fx *fx = *state;
	unsigned int before;
	int p[2], sv[2], fd;
	char path[40];

	at("unsealable memfd");
	refused(fx, raw_memfd(fx, 8192, -1), 8192, -EPERM, -EPERM);
	at("sealable, no seals");
	refused(fx, raw_memfd(fx, 8192, 0), 8192, -EPERM, -EPERM);
	at("shrink only");
	refused(fx, raw_memfd(fx, 8192, F_SEAL_SHRINK), 8192, -EPERM, -EPERM);
	at("grow only");
	refused(fx, raw_memfd(fx, 8192, F_SEAL_GROW), 8192, -EPERM, -EPERM);
	at("too small");
	refused(fx, raw_memfd(fx, 8192, F_SEAL_SHRINK | F_SEAL_GROW), 8193, -EMSGSIZE,
		-EMSGSIZE);
	at("write-sealed: size seals fine, but it cannot be mapped for writing");
	refused(fx, raw_memfd(fx, 8192, CREATE_SEALS | F_SEAL_WRITE), 8192, -EACCES, -EACCES);
	at("future-write-sealed: the same, the seal a peer's lock adds");
	refused(fx, raw_memfd(fx, 8192, CREATE_SEALS | F_SEAL_FUTURE_WRITE), 8192, -EACCES,
		-EACCES);
	refused(fx, raw_memfd(fx, 8192, LOCKED_SEALS), 8192, -EACCES, -EACCES);
	at("seals sealed without F_SEAL_FUTURE_WRITE: nobody can lock it");
	refused(fx, raw_memfd(fx, 8192, CREATE_SEALS | F_SEAL_SEAL), 8192, -ENOLCK, -ENOLCK);
	at("read-only description of a good region");
	fd = raw_memfd(fx, 8192, CREATE_SEALS);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	refused(fx, keep(fx, open(path, O_RDONLY | O_CLOEXEC)), 8192, -EROFS, -EROFS);
	at("pipe");
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	keep(fx, p[0]);
	keep(fx, p[1]);
	refused(fx, p[0], 1, -EPERM, -EPERM);
	refused(fx, p[1], 1, -EPERM, -EPERM);
	at("socket");
	make_pair(fx, SOCK_SEQPACKET, sv);
	refused(fx, sv[0], 1, -EPERM, -EPERM);
	at("regular file");
	strcpy(fx->dir, "/tmp/test_shm.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->file, sizeof(fx->file), "%s/f.XXXXXX", fx->dir);
	fd = keep(fx, mkstemp(fx->file));
	assert_int_equal(ftruncate(fd, 8192), 0);
	refused(fx, fd, 4096, -EPERM, -EPERM);
	at("bad args");
	fd = raw_memfd(fx, 8192, F_SEAL_SHRINK | F_SEAL_GROW);
	refused(fx, fd, 0, -EINVAL, 0);
	expect_eq(pvb_shm_attach(NULL, fd, 8192), -EINVAL);
	refused(fx, -1, 8192, -EBADF, -EBADF);
	drop(fx, fd);	/* a number that is no longer open */
	refused(fx, fd, 8192, -EBADF, -EBADF);
	at("no fd left behind");
	before = count_fds();
	refused(fx, raw_memfd(fx, 4096, 0), 4096, -EPERM, -EPERM);
	expect_eq(count_fds(), before + 1);	/* the raw memfd itself, still ours */
}

/* Every refusal has a reason of its own, so a log does not call a write seal a size problem. */
static void
test_attach_strerror(void **state)
{
	static const struct {
		int rc;
		const char *why;
	} cases[] = {
		{ 0, "accepted" },
		{ -EPERM, "not size-sealed" },
		{ -EACCES, "write-sealed" },
		{ -ENOLCK, "seals sealed without F_SEAL_FUTURE_WRITE: cannot be locked" },
		{ -EROFS, "fd opened read-only" },
		{ -EMSGSIZE, "smaller than announced" },
		{ -EBADF, "not an open fd" },
		{ -EINVAL, "invalid arguments" },
		{ -ENOMEM, "not mappable" },
		{ 12345, "not mappable" },
	};
	unsigned int i;

	(void)state;
	for (i = 0; i < DIM(cases); i++) {
		at("rc %d", cases[i].rc);
		expect_true(strcmp(pvb_shm_attach_strerror(cases[i].rc), cases[i].why) == 0);
	}
}

/* ----------------------------------------------------------------------------
 * The lock step: a peer punching holes (doc/shm.md)
 */

/* Is the page at @p a present (mapped, or in the file's page cache)? */
static bool
page_present(const void *a, size_t ps)
{
	unsigned char v[1];

	assert_int_equal(mincore((void *)(uintptr_t)a, ps < pg ? ps : pg, v), 0);
	return (v[0] & 1) != 0;
}

/*
 * The attack, on a region of 4 pages of @p ps bytes in fx->r[0]: the host
 * (r[1]) attaches a dup and locks, the guest (r[0]) locks second, then the
 * "peer" punches a hole through its fd. The kernel refuses, the bytes stay,
 * both mappings keep working, and no new writable shared mapping is possible.
 */
static void
punch_after_lock(struct fx *fx, size_t ps)
{
	const size_t len = 4 * ps;
	struct pvb_shm *g = &fx->r[0], *h = &fx->r[1];
	void *m;

	memset(g->base, 0xa5, len);
	assert_int_equal(pvb_shm_attach(h, keep(fx, dup(g->fd)), len), 0);
	fx->kept[fx->nkept - 1] = -1;
	at("host locks first");
	expect_eq(pvb_shm_lock(h), 0);
	expect_eq(seals(h->fd), LOCKED_SEALS);
	at("guest finds the host's seals");
	expect_eq(pvb_shm_lock(g), 0);
	expect_eq(pvb_shm_lock(g), 0);	/* and again: harmless */
	at("the punch");
	expect_eq(fallocate(h->fd, PUNCH, ps, ps), -1);
	expect_eq(errno, EPERM);
	expect_eq(fallocate(g->fd, PUNCH, 0, len), -1);
	expect_eq(errno, EPERM);
	expect_true(bytes_all(g->base, len, 0xa5));
	expect_true(bytes_all(h->base, len, 0xa5));
	at("existing mappings still write");
	h->base[ps + 1] = 0x5a;
	g->base[3 * ps] = 0x3c;
	expect_eq(g->base[ps + 1], 0x5a);
	expect_eq(h->base[3 * ps], 0x3c);
	at("no new writable shared mapping, no double mapping");
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, g->fd, 0);
	expect_true(m == MAP_FAILED);
	expect_eq(errno, EPERM);
	expect_true(pvb_shm_map_double(g->fd, 0, ps) == NULL);
	expect_eq(errno, EPERM);
	at("nor a resize or a seal removal");
	expect_eq(ftruncate(g->fd, (off_t)ps), -1);
	expect_eq(fcntl(g->fd, F_ADD_SEALS, F_SEAL_WRITE), -1);
	expect_eq(seals(g->fd), LOCKED_SEALS);
}

static void
test_lock_punch_plain(void **state)
{
	struct fx *fx = *state;

	plain(fx, 0, 4 * pg);
	punch_after_lock(fx, pg);
}

static void
test_lock_punch_huge(void **state)
{
	struct fx *fx = *state;
	size_t hps = (size_t)meminfo("Hugepagesize:") * 1024;

	if (hps == 0 || meminfo("HugePages_Free:") < 4)
		skip();
	if (pvb_shm_create(&fx->r[0], "pvbhuge", 4 * hps, PVB_SHM_F_HUGE_ONLY, -1) != 0)
		skip();	/* somebody took the free pages meanwhile */
	punch_after_lock(fx, hps);
}

/*
 * A page punched before the lock (plain: bytes gone, no page; hugetlb: no
 * page and no reservation) is back after it: the lock faults it in, so the
 * next touch cannot fault, let alone raise SIGBUS.
 */
static void
punch_before_lock(struct fx *fx, size_t ps)
{
	struct pvb_shm *g = &fx->r[0];

	memset(g->base, 0x77, 2 * ps);
	expect_eq(fallocate(g->fd, PUNCH, ps, ps), 0);
	expect_false(page_present(g->base + ps, ps));
	expect_eq(pvb_shm_lock(g), 0);
	expect_true(page_present(g->base + ps, ps));
	expect_true(bytes_all(g->base + ps, ps, 0));	/* a punch zero-fills */
	expect_true(bytes_all(g->base, ps, 0x77));
}

static void
test_lock_refaults(void **state)
{
	struct fx *fx = *state;
	size_t hps = (size_t)meminfo("Hugepagesize:") * 1024;

	at("plain");
	plain(fx, 0, 2 * pg);
	punch_before_lock(fx, pg);
	pvb_shm_close(&fx->r[0]);
	if (hps == 0 || meminfo("HugePages_Free:") < 2 ||
	    pvb_shm_create(&fx->r[0], "pvbhuge", 2 * hps, PVB_SHM_F_HUGE_ONLY, -1) != 0) {
		print_message("note: no free huge pages, hugetlb re-fault case skipped\n");
		return;
	}
	at("huge");
	punch_before_lock(fx, hps);
}

/* File blocks allocated to @p fd (st_blocks). */
static uint64_t
fd_blocks(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return (uint64_t)st.st_blocks;
}

/*
 * The fallback for kernels without MADV_POPULATE_WRITE allocates the punched
 * pages back (shmem leaves them out of mincore(2) until first touched, so the
 * file's block count tells).
 */
static void
test_lock_fallback(void **state)
{
	struct fx *fx = *state;
	struct pvb_shm *g = &fx->r[0];
	uint64_t full;

	plain(fx, 0, 3 * pg);
	memset(g->base, 0x21, 3 * pg);
	full = fd_blocks(g->fd);
	expect_eq(fallocate(g->fd, PUNCH, 0, 2 * pg), 0);
	expect_true(fd_blocks(g->fd) < full);
	expect_eq(fcntl(g->fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE | F_SEAL_SEAL), 0);
	expect_eq(shm_prefault_fallocate(g->fd, g->len), 0);
	expect_eq(fd_blocks(g->fd), full);
	expect_true(bytes_all(g->base, 2 * pg, 0));
	expect_true(bytes_all(g->base + 2 * pg, pg, 0x21));
	expect_eq(shm_prefault_fallocate(g->fd, 0), -EINVAL);
}

/* A peer that seals the seals without F_SEAL_FUTURE_WRITE leaves a region nobody can lock. */
static void
test_lock_peer_sealed(void **state)
{
	struct fx *fx = *state;
	struct pvb_shm *h = &fx->r[1];
	int peer;

	plain(fx, 0, 2 * pg);
	assert_int_equal(pvb_shm_attach(h, keep(fx, dup(fx->r[0].fd)), 2 * pg), 0);
	fx->kept[fx->nkept - 1] = -1;
	peer = fx->r[0].fd;	/* the guest turns hostile after our attach */
	expect_eq(fcntl(peer, F_ADD_SEALS, F_SEAL_SEAL), 0);
	expect_eq(pvb_shm_lock(h), -EPERM);
	expect_eq(seals(h->fd), CREATE_SEALS | F_SEAL_SEAL);
	/* the punch it kept the door open for still works: the caller must drop the region */
	expect_eq(fallocate(peer, PUNCH, 0, pg), 0);
	/* refused at attach, had it arrived like that */
	expect_eq(pvb_shm_check_fd(peer, 2 * pg), -ENOLCK);
	expect_true(strcmp(pvb_shm_attach_strerror(-ENOLCK),
			   "seals sealed without F_SEAL_FUTURE_WRITE: cannot be locked") == 0);
}

static void
test_lock_args(void **state)
{
	struct fx *fx = *state;
	struct pvb_shm z;

	expect_eq(pvb_shm_lock(NULL), -EINVAL);
	memset(&z, 0, sizeof(z));
	expect_eq(pvb_shm_lock(&z), -EINVAL);
	z.fd = -1;
	expect_eq(pvb_shm_lock(&z), -EINVAL);
	plain(fx, 0, pg);
	pvb_shm_close(&fx->r[0]);
	expect_eq(pvb_shm_lock(&fx->r[0]), -EINVAL);
}

/* ----------------------------------------------------------------------------
 * Share mode: prefault without the seal (doc/shm.md, "Share mode")
 */

/* A third party's writable shared mapping of @p fd: its base, or NULL with errno set. */
static uint8_t *
third_party_map(int fd, size_t len)
{
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return m == MAP_FAILED ? NULL : m;
}

/*
 * Guest (r[0]) and host (r[1], a dup attached) both prefault a plain
 * region: every page is present, no seal is added, and a third party can
 * map it writable, through the fd and through /proc like a process that
 * was handed it, and again after unmapping. Its writes reach both sides.
 * Once locked, that mmap is refused (EPERM).
 */
static void
test_prefault_share(void **state)
{
	struct fx *fx = *state;
	struct pvb_shm *g = &fx->r[0], *h = &fx->r[1];
	const size_t len = 4 * pg;
	char path[64];
	uint8_t *m;
	int fd;

	plain(fx, 0, len);
	memset(g->base, 0x11, len);
	assert_int_equal(pvb_shm_attach(h, keep(fx, dup(g->fd)), len), 0);
	fx->kept[fx->nkept - 1] = -1;
	at("prefault both sides, twice");
	expect_eq(pvb_shm_prefault(h), 0);
	expect_eq(pvb_shm_prefault(g), 0);
	expect_eq(pvb_shm_prefault(g), 0);
	expect_eq(seals(g->fd), CREATE_SEALS);
	expect_true(page_present(h->base + 3 * pg, pg));

	at("a third party maps it writable, twice");
	for (int round = 0; round < 2; round++) {
		m = third_party_map(h->fd, len);
		expect_true(m != NULL);
		if (m == NULL)
			return;
		m[2 * pg + 7] = (uint8_t)(0x40 + round);
		expect_eq(g->base[2 * pg + 7], 0x40 + round);
		expect_eq(h->base[2 * pg + 7], 0x40 + round);
		expect_true(bytes_all(m, pg, 0x11));
		expect_eq(munmap(m, len), 0);
	}
	at("through /proc/self/fd, as a process that was handed the fd");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", g->fd);
	fd = keep(fx, open(path, O_RDWR | O_CLOEXEC));
	m = third_party_map(fd, len);
	expect_true(m != NULL);
	if (m != NULL)
		expect_eq(munmap(m, len), 0);

	at("locked: the same mmap is refused");
	expect_eq(pvb_shm_lock(g), 0);
	expect_true(third_party_map(fd, len) == NULL);
	expect_eq(errno, EPERM);
	expect_true(third_party_map(h->fd, len) == NULL);
	expect_eq(errno, EPERM);
}

/*
 * Why share mode wants plain pages: without the seal the peer's punch goes
 * through, and on plain shmem the punched page comes back as a zero page
 * at the next touch (no signal); a prefault makes it present again.
 */
static void
test_prefault_punch_plain(void **state)
{
	struct fx *fx = *state;
	struct pvb_shm *g = &fx->r[0];

	plain(fx, 0, 2 * pg);
	memset(g->base, 0x66, 2 * pg);
	expect_eq(pvb_shm_prefault(g), 0);
	expect_eq(fallocate(g->fd, PUNCH, pg, pg), 0);
	expect_false(page_present(g->base + pg, pg));
	expect_eq(pvb_shm_prefault(g), 0);
	expect_true(page_present(g->base + pg, pg));
	expect_true(bytes_all(g->base + pg, pg, 0));
	expect_true(bytes_all(g->base, pg, 0x66));
	g->base[pg] = 1;	/* and an ordinary touch after another punch: no signal */
	expect_eq(fallocate(g->fd, PUNCH, pg, pg), 0);
	expect_eq(g->base[pg], 0);
	expect_eq(seals(g->fd), CREATE_SEALS);
}

static void
test_prefault_args(void **state)
{
	struct fx *fx = *state;
	struct pvb_shm z;

	expect_eq(pvb_shm_prefault(NULL), -EINVAL);
	memset(&z, 0, sizeof(z));
	expect_eq(pvb_shm_prefault(&z), -EINVAL);
	z.fd = -1;
	expect_eq(pvb_shm_prefault(&z), -EINVAL);
	plain(fx, 0, pg);
	pvb_shm_close(&fx->r[0]);
	expect_eq(pvb_shm_prefault(&fx->r[0]), -EINVAL);
}

/*
 * What the lock prevents, shown in a child: with a hugetlb pool that has no
 * free page, a punched page raises SIGBUS at the next touch. This needs the
 * machine's pool emptied for a moment, which other users of the machine
 * would notice, so it runs only when PVB_TEST_DRAIN_HUGE=1.
 */
static void
test_lock_sigbus_child(void **state)
{
	struct fx *fx = *state;
	size_t hps = (size_t)meminfo("Hugepagesize:") * 1024;
	const char *e = getenv("PVB_TEST_DRAIN_HUGE");
	struct pvb_shm *g = &fx->r[0], *hog = &fx->r[1];
	uint64_t nfree;
	int status;
	pid_t pid;

	if (e == NULL || strcmp(e, "1") != 0 || hps == 0 || overcommit_hugepages() != 0)
		skip();
	if (pvb_shm_create(g, "pvbhuge", 2 * hps, PVB_SHM_F_HUGE_ONLY, -1) != 0)
		skip();
	expect_eq(fallocate(g->fd, PUNCH, 0, hps), 0);
	nfree = meminfo("HugePages_Free:");
	if (nfree == 0 ||
	    pvb_shm_create(hog, "pvbhog", nfree * hps, PVB_SHM_F_HUGE_ONLY, -1) != 0)
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGBUS, SIG_DFL);	/* not cmocka's handler: die of it */
		g->base[0] = 1;	/* unprotected: SIGBUS */
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	expect_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS);
	/* the lock reports the same thing as an error code, in this process */
	expect_eq(pvb_shm_lock(g), -EFAULT);
	pvb_shm_close(hog);
	expect_eq(pvb_shm_lock(g), 0);
	g->base[0] = 1;
}

/* A child process writes through its own mapping; the parent sees it in both of its. */
static void
test_shared_fork(void **state)
{
	struct fx *fx = *state;
	size_t len = 2 * pg, i;
	struct pvb_shm c;
	int status, cfd;
	pid_t pid;

	plain(fx, 0, len);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* the child: its own mapping of a dup, half of the bytes through each */
		cfd = dup(fx->r[0].fd);
		if (cfd < 0 || pvb_shm_attach(&c, cfd, len) != 0)
			_exit(2);
		for (i = 0; i < len; i++)
			(i & 1 ? c.base : fx->r[0].base)[i] = (uint8_t)(i * 7 + 1);
		pvb_shm_close(&c);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(pvb_shm_attach(&fx->r[1], keep(fx, dup(fx->r[0].fd)), len), 0);
	fx->kept[fx->nkept - 1] = -1;
	for (i = 0; i < len; i++) {
		at("byte %zu", i);
		expect_eq(fx->r[0].base[i], (uint8_t)(i * 7 + 1));
		expect_eq(fx->r[1].base[i], (uint8_t)(i * 7 + 1));
	}
}

/* ----------------------------------------------------------------------------
 * Double mapping
 */

static void
test_map_double(void **state)
{
	static const uint8_t vec[8] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88 };
	struct fx *fx = *state;
	size_t len = 2 * pg, i;
	uint8_t *a, *b, got[4];

	plain(fx, 0, 4 * pg);
	b = fx->r[0].base;
	for (i = 0; i < 4 * pg; i++)
		b[i] = (uint8_t)(i % 251);
	/* the middle two pages of four */
	a = pvb_shm_map_double(fx->r[0].fd, (off_t)pg, len);
	assert_non_null(a);
	fx->dbl = a;
	fx->dbl_len = len;
	expect_eq((uintptr_t)a % pg, 0);
	for (i = 0; i < len; i++) {
		at("byte %zu", i);
		expect_eq(a[i], (uint8_t)((pg + i) % 251));
		expect_eq(a[len + i], (uint8_t)((pg + i) % 251));
	}
	/* one linear store across the seam: 4 bytes at the end, 4 at the start */
	at("seam");
	memcpy(a + len - 4, vec, sizeof(vec));
	assert_memory_equal(a, vec + 4, 4);
	assert_memory_equal(a + 2 * len - 4, vec, 4);
	assert_memory_equal(b + pg, vec + 4, 4);
	assert_memory_equal(b + pg + len - 4, vec, 4);
	assert_int_equal(pread(fx->r[0].fd, got, 4, (off_t)(pg + len - 4)), 4);
	assert_memory_equal(got, vec, 4);
	/* the pages outside [off, off + len) are untouched */
	expect_eq(b[pg - 1], (uint8_t)((pg - 1) % 251));
	expect_eq(b[pg + len], (uint8_t)((pg + len) % 251));
	/* unmapping removes both halves: msync on an unmapped range is ENOMEM */
	pvb_shm_unmap_double(a, len);
	fx->dbl = NULL;
	expect_eq(msync(a, pg, MS_ASYNC), -1);
	expect_eq(errno, ENOMEM);
	expect_eq(msync(a + len, pg, MS_ASYNC), -1);
	expect_eq(errno, ENOMEM);
	/* the whole region, from offset 0 */
	a = pvb_shm_map_double(fx->r[0].fd, 0, 4 * pg);
	assert_non_null(a);
	fx->dbl = a;
	fx->dbl_len = 4 * pg;
	expect_eq(a[4 * pg + pg], vec[4]);
	pvb_shm_unmap_double(NULL, pg);	/* harmless */
}

static void
test_map_double_args(void **state)
{
	struct fx *fx = *state;
	const struct {
		const char *what;
		off_t off;
		size_t len;
		int err;
	} cases[] = {
		{ "len 0", 0, 0, EINVAL },
		{ "off unaligned", 100, pg, EINVAL },
		{ "len unaligned", 0, 100, EINVAL },
		{ "off negative", -(off_t)pg, pg, EINVAL },
		{ "past the end", (off_t)pg, 4 * pg, EMSGSIZE },
		{ "off past the end", (off_t)(8 * pg), pg, EMSGSIZE },
		{ "2 * len overflows", 0, SIZE_MAX / 2 + 1 - (SIZE_MAX / 2 + 1) % pg, EINVAL },
	};
	char path[64];
	unsigned int i, maps;
	int ro, p[2];

	plain(fx, 0, 4 * pg);
	for (i = 0; i < DIM(cases); i++) {
		at("%s", cases[i].what);
		errno = 0;
		expect_true(pvb_shm_map_double(fx->r[0].fd, cases[i].off, cases[i].len) == NULL);
		expect_eq(errno, cases[i].err);
	}
	at("fd -1");
	expect_true(pvb_shm_map_double(-1, 0, pg) == NULL);
	expect_eq(errno, EBADF);
	at("pipe");
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	keep(fx, p[0]);
	keep(fx, p[1]);
	expect_true(pvb_shm_map_double(p[0], 0, pg) == NULL);
	/*
	 * Read-only fd: every check passes, the fixed shared mapping fails
	 * (EACCES) after the span was reserved; the reservation must go too.
	 */
	at("read-only fd");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fx->r[0].fd);
	ro = keep(fx, open(path, O_RDONLY | O_CLOEXEC));
	maps = count_maps();
	errno = 0;
	expect_true(pvb_shm_map_double(ro, 0, pg) == NULL);
	expect_eq(errno, EACCES);
	expect_eq(count_maps(), maps);
}

/* ----------------------------------------------------------------------------
 * NUMA
 */

static void
test_bind_node(void **state)
{
	struct fx *fx = *state;

	plain(fx, 0, 2 * pg);
	expect_eq(pvb_shm_bind_node(fx->r[0].base, fx->r[0].len, 0), 0);
	expect_true(pvb_shm_bind_node(fx->r[0].base, fx->r[0].len, 9999) < 0);
	expect_eq(pvb_shm_bind_node(fx->r[0].base, fx->r[0].len, -1), -EINVAL);
	expect_eq(pvb_shm_bind_node(NULL, pg, 0), -EINVAL);
	expect_eq(pvb_shm_bind_node(fx->r[0].base, 0, 0), -EINVAL);
	/* the memory is still there and usable after binding */
	fx->r[0].base[pg] = 0x42;
	expect_eq(fx->r[0].base[pg], 0x42);
	assert_int_equal(pvb_shm_create(&fx->r[1], "pvbnuma", pg, PVB_SHM_F_NO_HUGE, 0), 0);
	expect_true(bytes_all(fx->r[1].base, pg, 0));
}

/* ----------------------------------------------------------------------------
 * Fd passing
 */

/* Received fd @p rfd is sender region @p s: same file, sealed, cloexec, shared. */
static void
check_same_region(struct fx *fx, int rfd, const struct pvb_shm *s, uint8_t v)
{
	struct stat a, b;
	struct pvb_shm m;
	int fd;

	expect_true(rfd >= 0 && rfd != s->fd);
	expect_true((fcntl(rfd, F_GETFD) & FD_CLOEXEC) != 0);
	expect_eq(fstat(rfd, &a), 0);
	expect_eq(fstat(s->fd, &b), 0);
	expect_eq(a.st_ino, b.st_ino);
	expect_eq(seals(rfd), CREATE_SEALS);
	/* a store through a mapping of the received fd shows in the sender's mapping */
	fd = keep(fx, dup(rfd));
	assert_int_equal(pvb_shm_attach(&m, fd, s->len), 0);
	fx->kept[fx->nkept - 1] = -1;
	m.base[s->len - 1] = v;
	pvb_shm_close(&m);
	expect_eq(s->base[s->len - 1], v);
	/* the sender keeps its fd */
	expect_true(fd_open(s->fd));
}

static void
test_fds_counts(void **state)
{
	static const unsigned int counts[] = { 0, 1, 3, 8 };
	struct fx *fx = *state;
	int sv[2], sfds[PVB_SHM_MAX_FDS];
	uint8_t msg[5], buf[64];
	unsigned int c, i, n, nfds;
	ssize_t got;

	make_pair(fx, SOCK_SEQPACKET, sv);
	for (i = 0; i < PVB_SHM_MAX_FDS; i++) {
		plain(fx, i, pg);
		sfds[i] = fx->r[i].fd;
	}
	for (c = 0; c < DIM(counts); c++) {
		n = counts[c];
		at("%u fds", n);
		msg[0] = 'p';
		msg[1] = 'v';
		msg[2] = 'b';
		msg[3] = (uint8_t)n;
		msg[4] = 0xa5;
		assert_int_equal(pvb_shm_send_fds(sv[0], msg, sizeof(msg), sfds, n), 0);
		nfds = 99;
		got = pvb_shm_recv_fds(sv[1], buf, sizeof(buf), fx->rx, PVB_SHM_MAX_FDS, &nfds);
		assert_int_equal(got, sizeof(msg));
		assert_memory_equal(buf, msg, sizeof(msg));
		assert_int_equal(nfds, n);
		for (i = 0; i < n; i++) {
			at("%u fds, fd %u", n, i);
			check_same_region(fx, fx->rx[i], &fx->r[i], (uint8_t)(0x10 * c + i + 1));
		}
		for (; i < PVB_SHM_MAX_FDS; i++)
			expect_eq(fx->rx[i], -1);
		pvb_shm_close_fds(fx->rx, n);
		for (i = 0; i < n; i++)
			expect_eq(fx->rx[i], -1);
	}
}

static void
test_fds_stream(void **state)
{
	struct fx *fx = *state;
	int sv[2], sfds[2];
	uint8_t buf[64];
	unsigned int nfds;

	make_pair(fx, SOCK_STREAM, sv);
	plain(fx, 0, pg);
	plain(fx, 1, pg);
	sfds[0] = fx->r[0].fd;
	sfds[1] = fx->r[1].fd;
	assert_int_equal(pvb_shm_send_fds(sv[0], "stream", 6, sfds, 2), 0);
	assert_int_equal(pvb_shm_recv_fds(sv[1], buf, sizeof(buf), fx->rx, 2, &nfds), 6);
	assert_memory_equal(buf, "stream", 6);
	assert_int_equal(nfds, 2);
	check_same_region(fx, fx->rx[0], &fx->r[0], 0x61);
	check_same_region(fx, fx->rx[1], &fx->r[1], 0x62);
}

/* A message whose fds do not all fit: -EMSGSIZE, and none of them stays open. */
static void
test_recv_too_many(void **state)
{
	struct fx *fx = *state;
	int sv[2], sfds[3];
	uint8_t buf[64];
	unsigned int before, nfds, i;

	make_pair(fx, SOCK_SEQPACKET, sv);
	for (i = 0; i < 3; i++) {
		plain(fx, i, pg);
		sfds[i] = fx->r[i].fd;
	}
	assert_int_equal(pvb_shm_send_fds(sv[0], "three", 5, sfds, 3), 0);
	before = count_fds();
	nfds = 99;
	expect_eq(pvb_shm_recv_fds(sv[1], buf, sizeof(buf), fx->rx, 2, &nfds), -EMSGSIZE);
	expect_eq(nfds, 0);
	expect_eq(fx->rx[0], -1);
	expect_eq(fx->rx[1], -1);
	expect_eq(count_fds(), before);
	/* max_fds 0 with fds attached */
	assert_int_equal(pvb_shm_send_fds(sv[0], "one", 3, sfds, 1), 0);
	expect_eq(pvb_shm_recv_fds(sv[1], buf, sizeof(buf), NULL, 0, &nfds), -EMSGSIZE);
	expect_eq(count_fds(), before);
	/* the socket stays in step: the next message is whole */
	assert_int_equal(pvb_shm_send_fds(sv[0], "next", 4, sfds, 1), 0);
	assert_int_equal(pvb_shm_recv_fds(sv[1], buf, sizeof(buf), fx->rx, 2, &nfds), 4);
	assert_int_equal(nfds, 1);
	check_same_region(fx, fx->rx[0], &fx->r[0], 0x77);
}

static void
test_recv_truncated(void **state)
{
	struct fx *fx = *state;
	static const char msg[16] = "0123456789abcdef";
	int sv[2], sfds[2];
	uint8_t buf[8];
	unsigned int before, nfds;

	make_pair(fx, SOCK_SEQPACKET, sv);
	plain(fx, 0, pg);
	sfds[0] = sfds[1] = fx->r[0].fd;
	assert_int_equal(pvb_shm_send_fds(sv[0], msg, sizeof(msg), sfds, 2), 0);
	before = count_fds();
	nfds = 99;
	expect_eq(pvb_shm_recv_fds(sv[1], buf, sizeof(buf), fx->rx, PVB_SHM_MAX_FDS, &nfds),
		  -EMSGSIZE);
	expect_eq(nfds, 0);
	expect_eq(fx->rx[0], -1);
	expect_eq(fx->rx[1], -1);
	expect_eq(count_fds(), before);
}

/* A raw sendmsg with @p n copies of @p fd, split into cmsgs of @p per fds each. */
static void
raw_send(int sock, int fd, unsigned int n, unsigned int per)
{
	union { struct cmsghdr align; uint8_t b[1024]; } ctl;
	struct iovec iov = { .iov_base = "raw", .iov_len = 3 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b };
	struct cmsghdr *c;
	unsigned int i, k, done = 0;

	memset(&ctl, 0, sizeof(ctl));
	msg.msg_controllen = 0;
	while (done < n) {
		k = n - done < per ? n - done : per;
		msg.msg_controllen += CMSG_SPACE(sizeof(int) * k);
		assert_true(msg.msg_controllen <= sizeof(ctl.b));
		c = (struct cmsghdr *)(void *)(ctl.b + msg.msg_controllen -
					       CMSG_SPACE(sizeof(int) * k));
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * k);
		for (i = 0; i < k; i++)
			memcpy(CMSG_DATA(c) + i * sizeof(int), &fd, sizeof(int));
		done += k;
	}
	assert_int_equal(sendmsg(sock, &msg, MSG_NOSIGNAL), 3);
}

/* Senders that are not pvb_shm_send_fds(): more fds than any message may carry. */
static void
test_recv_foreign(void **state)
{
	static const struct { unsigned int n, per; ssize_t rc; } cases[] = {
		{ 9, 9, -EMSGSIZE },	/* fits our control buffer: surplus closed */
		{ 40, 40, -EMSGSIZE },	/* does not: the kernel cuts it (MSG_CTRUNC) */
		{ 4, 2, 3 },		/* two SCM_RIGHTS cmsgs: all four fds arrive */
		{ 10, 5, -EMSGSIZE },
	};
	struct fx *fx = *state;
	uint8_t buf[16];
	unsigned int before, nfds, i;
	ssize_t rc;
	int sv[2];

	make_pair(fx, SOCK_SEQPACKET, sv);
	plain(fx, 0, pg);
	for (i = 0; i < DIM(cases); i++) {
		at("%u fds, %u per cmsg", cases[i].n, cases[i].per);
		raw_send(sv[0], fx->r[0].fd, cases[i].n, cases[i].per);
		before = count_fds();
		rc = pvb_shm_recv_fds(sv[1], buf, sizeof(buf), fx->rx, PVB_SHM_MAX_FDS, &nfds);
		expect_eq(rc, cases[i].rc);
		if (rc >= 0) {
			expect_eq(nfds, cases[i].n);
			expect_eq(count_fds(), before + nfds);
			pvb_shm_close_fds(fx->rx, nfds);
		}
		expect_eq(count_fds(), before);
	}
}

/* Control messages that are not SCM_RIGHTS: credentials ignored, a pidfd closed. */
static void
test_recv_other_cmsgs(void **state)
{
	struct fx *fx = *state;
	const int on = 1;
	unsigned int before, nfds;
	uint8_t buf[16];
	int sv[2];

	make_pair(fx, SOCK_SEQPACKET, sv);
	plain(fx, 0, pg);
	assert_int_equal(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)), 0);
	if (setsockopt(sv[1], SOL_SOCKET, SO_PASSPIDFD, &on, sizeof(on)) != 0)
		print_message("note: no SO_PASSPIDFD (%s), pidfd case skipped\n",
			      strerror(errno));
	assert_int_equal(pvb_shm_send_fds(sv[0], "x", 1, &fx->r[0].fd, 1), 0);
	before = count_fds();
	assert_int_equal(pvb_shm_recv_fds(sv[1], buf, sizeof(buf), fx->rx, 1, &nfds), 1);
	assert_int_equal(nfds, 1);
	check_same_region(fx, fx->rx[0], &fx->r[0], 0x33);
	expect_eq(count_fds(), before + 1);
	pvb_shm_close_fds(fx->rx, 1);
	expect_eq(count_fds(), before);
}

static void
test_recv_eof(void **state)
{
	static const int types[] = { SOCK_SEQPACKET, SOCK_STREAM };
	struct fx *fx = *state;
	unsigned int i, nfds;
	uint8_t buf[16];
	int sv[2];

	for (i = 0; i < DIM(types); i++) {
		at("type %d", types[i]);
		make_pair(fx, types[i], sv);
		drop(fx, sv[0]);
		nfds = 99;
		expect_eq(pvb_shm_recv_fds(sv[1], buf, sizeof(buf), fx->rx, 1, &nfds),
			  -ECONNRESET);
		expect_eq(nfds, 0);
	}
}

static void
test_recv_eagain(void **state)
{
	struct fx *fx = *state;
	unsigned int nfds;
	uint8_t buf[16];
	int sv[2];

	make_pair(fx, SOCK_SEQPACKET | SOCK_NONBLOCK, sv);
	expect_eq(pvb_shm_recv_fds(sv[1], buf, sizeof(buf), fx->rx, 1, &nfds), -EAGAIN);
	expect_eq(nfds, 0);
}

static void
on_sigpipe(int sig)
{
	(void)sig;
	sigpipes++;
}

static void
test_send_epipe(void **state)
{
	static const int types[] = { SOCK_SEQPACKET, SOCK_STREAM };
	struct sigaction sa = { .sa_handler = on_sigpipe };
	struct fx *fx = *state;
	unsigned int i;
	int sv[2];

	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGPIPE, &sa, &fx->old_pipe), 0);
	fx->pipe_set = true;
	sigpipes = 0;
	plain(fx, 0, pg);
	for (i = 0; i < DIM(types); i++) {
		at("type %d", types[i]);
		make_pair(fx, types[i], sv);
		drop(fx, sv[1]);
		expect_eq(pvb_shm_send_fds(sv[0], "gone", 4, &fx->r[0].fd, 1), -EPIPE);
		expect_eq(pvb_shm_send_fds(sv[0], "gone", 4, NULL, 0), -EPIPE);
		expect_eq(sigpipes, 0);
		expect_true(fd_open(fx->r[0].fd));
	}
}

/* ----------------------------------------------------------------------------
 * Doorbells against a hostile peer. Each test arms alarm(): a call that
 * blocks kills the suite with SIGALRM (a failure) instead of hanging it.
 */

#define BELL_GUARD_S	10

static void
bell_pair(struct fx *fx, int *mine, int *theirs)
{
	assert_int_equal(pvb_bell_pair(mine, theirs), 0);
	keep(fx, *mine);
	keep(fx, *theirs);
	alarm(BELL_GUARD_S);
}

static void
test_bell_pair(void **state)
{
	struct fx *fx = *state;
	int mine, theirs, i;

	bell_pair(fx, &mine, &theirs);
	for (i = 0; i < 2; i++) {
		int fd = i == 0 ? mine : theirs;

		at("end %d", i);
		expect_true((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
		expect_true((fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
		expect_eq(pvb_bell_check(fd), 0);
	}
	at("both ways");
	expect_eq(pvb_bell_drain(mine), 0);
	expect_eq(pvb_bell_ring(mine), 0);
	expect_eq(pvb_bell_ring(mine), 0);
	expect_eq(pvb_bell_drain(mine), 0);	/* our rings go to the other end */
	expect_eq(pvb_bell_drain(theirs), 2);
	expect_eq(pvb_bell_drain(theirs), 0);
	expect_eq(pvb_bell_ring(theirs), 0);
	expect_eq(pvb_bell_drain(mine), 1);
	alarm(0);
}

static void
test_bell_check(void **state)
{
	struct fx *fx = *state;
	int p[2], sv[2], fd;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	keep(fx, p[0]);
	keep(fx, p[1]);
	at("pipe");
	expect_eq(pvb_bell_check(p[0]), -ENOTSOCK);
	at("memfd");
	expect_eq(pvb_bell_check(raw_memfd(fx, pg, 0)), -ENOTSOCK);
	at("stream and seqpacket pairs");
	make_pair(fx, SOCK_STREAM, sv);
	expect_eq(pvb_bell_check(sv[0]), -EPROTOTYPE);
	make_pair(fx, SOCK_SEQPACKET, sv);
	expect_eq(pvb_bell_check(sv[0]), -EPROTOTYPE);
	at("inet datagram");
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0)
		expect_eq(pvb_bell_check(keep(fx, fd)), -EPROTOTYPE);
	at("unix datagram without a peer");
	fd = keep(fx, socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	expect_eq(pvb_bell_check(fd), -ENOTCONN);
	at("not open");
	expect_eq(pvb_bell_check(-1), -EBADF);
	drop(fx, fd);
	expect_eq(pvb_bell_check(fd), -EBADF);
	at("args");
	expect_eq(pvb_bell_pair(NULL, &fd), -EINVAL);
	expect_eq(pvb_bell_pair(&fd, NULL), -EINVAL);
	expect_eq(pvb_bell_ring(-1), -EBADF);
	expect_eq(pvb_bell_drain(-1), -EBADF);
	expect_eq(pvb_bell_ring(p[0]), -ENOTSOCK);
	expect_eq(pvb_bell_drain(p[1]), -ENOTSOCK);
}

/*
 * The eventfd attack: the peer clears O_NONBLOCK on its end and drains.
 * Its end is its own file description, so ours keeps its flag; and even with
 * ours cleared too, ring and drain do not block (MSG_DONTWAIT per call).
 */
static void
test_bell_peer_blocking(void **state)
{
	struct fx *fx = *state;
	int mine, theirs, i, n;

	bell_pair(fx, &mine, &theirs);
	expect_eq(fcntl(theirs, F_SETFL, 0), 0);
	expect_true((fcntl(mine, F_GETFL) & O_NONBLOCK) != 0);
	expect_eq(pvb_bell_ring(mine), 0);
	expect_eq(pvb_bell_drain(theirs), 1);
	expect_eq(pvb_bell_drain(theirs), 0);
	expect_eq(pvb_bell_drain(mine), 0);
	at("our own flag cleared as well");
	expect_eq(fcntl(mine, F_SETFL, 0), 0);
	expect_eq(pvb_bell_drain(mine), 0);
	for (i = 0; i < 100000; i++)	/* well past the peer's queue */
		if (pvb_bell_ring(mine) != 0)
			fail_msg("ring %d failed", i);
	for (n = 0, i = 0; i < 100000 && (i = pvb_bell_drain(theirs)) > 0; )
		n += i;
	expect_true(n > 0 && n < 100000);	/* the queue bounded what was pending */
	alarm(0);
}

/* The peer never reads: rings keep returning 0 and never block, and it gets one wake. */
static void
test_bell_peer_never_reads(void **state)
{
	struct fx *fx = *state;
	int mine, theirs, i;

	bell_pair(fx, &mine, &theirs);
	for (i = 0; i < 100000; i++)
		if (pvb_bell_ring(mine) != 0)
			fail_msg("ring %d failed", i);
	expect_true(pvb_bell_drain(theirs) > 0);
	alarm(0);
}

/* A peer that sends one datagram carrying an fd and @p len bytes. */
static int
send_with_fd(int sock, const void *buf, size_t len, int fd)
{
	union {
		struct cmsghdr align;
		char b[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = (void *)(uintptr_t)buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
			      .msg_controllen = sizeof(ctl.b) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/*
 * The peer floods our end: big datagrams, empty ones, ones carrying fds.
 * A drain reads at most PVB_BELL_DRAIN_MAX per call, and the fds never
 * reach our fd table.
 */
static void
test_bell_flood(void **state)
{
	static uint8_t big[4096];
	struct fx *fx = *state;
	int mine, theirs, sent = 0, got = 0, n, calls = 0, rc;
	unsigned int before;

	bell_pair(fx, &mine, &theirs);
	before = count_fds();
	/* mostly one byte, so that the queue, not the send buffer, fills up */
	for (;;) {
		if (sent % 16 == 0)
			rc = send_with_fd(theirs, big, sent % 32 ? 1 : sizeof(big), theirs);
		else
			rc = send(theirs, big, sent % 16 == 1 ? 0 : 1, MSG_DONTWAIT) < 0 ?
			     -errno : 0;
		if (rc != 0)
			break;
		sent++;
	}
	expect_eq(rc, -EAGAIN);
	expect_true(sent > PVB_BELL_DRAIN_MAX);
	while ((n = pvb_bell_drain(mine)) > 0) {
		expect_true(n <= PVB_BELL_DRAIN_MAX);
		got += n;
		calls++;
		if (calls > sent)
			fail_msg("drain does not end");
	}
	expect_eq(n, 0);
	expect_eq(got, sent);
	expect_true(calls >= (sent + PVB_BELL_DRAIN_MAX - 1) / PVB_BELL_DRAIN_MAX);
	expect_eq(count_fds(), before);
	alarm(0);
}

/* The peer closes its end: ring says so with an error code, never SIGPIPE. */
static void
test_bell_peer_closed(void **state)
{
	struct sigaction sa = { .sa_handler = on_sigpipe };
	struct fx *fx = *state;
	int mine, theirs, rc;

	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGPIPE, &sa, &fx->old_pipe), 0);
	fx->pipe_set = true;
	sigpipes = 0;
	bell_pair(fx, &mine, &theirs);
	expect_eq(pvb_bell_ring(theirs), 0);
	drop(fx, theirs);
	/* what the peer rang before it left is still there (until a ring finds it gone) */
	expect_eq(pvb_bell_drain(mine), 1);
	rc = pvb_bell_ring(mine);
	expect_true(rc == -ECONNREFUSED || rc == -ENOTCONN || rc == -EPIPE);
	rc = pvb_bell_ring(mine);
	expect_true(rc == -ECONNREFUSED || rc == -ENOTCONN || rc == -EPIPE);
	expect_eq(sigpipes, 0);
	expect_eq(pvb_bell_drain(mine), 0);
	alarm(0);
}

static void
test_fds_args(void **state)
{
	struct fx *fx = *state;
	int sv[2], bad[2] = { 0, -1 }, closed;
	unsigned int nfds;
	uint8_t buf[16];

	make_pair(fx, SOCK_SEQPACKET | SOCK_NONBLOCK, sv);
	plain(fx, 0, pg);
	bad[0] = fx->r[0].fd;
	expect_eq(pvb_shm_send_fds(sv[0], "x", 0, NULL, 0), -EINVAL);	/* empty reads as EOF */
	expect_eq(pvb_shm_send_fds(sv[0], NULL, 1, NULL, 0), -EINVAL);
	expect_eq(pvb_shm_send_fds(sv[0], "x", 1, NULL, 1), -EINVAL);
	expect_eq(pvb_shm_send_fds(sv[0], "x", 1, bad, PVB_SHM_MAX_FDS + 1), -EINVAL);
	expect_eq(pvb_shm_send_fds(sv[0], "x", 1, bad, 2), -EBADF);
	closed = keep(fx, dup(fx->r[0].fd));
	drop(fx, closed);
	expect_eq(pvb_shm_send_fds(sv[0], "x", 1, &closed, 1), -EBADF);
	expect_eq(pvb_shm_send_fds(-1, "x", 1, NULL, 0), -EBADF);
	/* nothing was sent by any of those */
	expect_eq(pvb_shm_recv_fds(sv[1], buf, sizeof(buf), fx->rx, 1, &nfds), -EAGAIN);
	expect_eq(pvb_shm_recv_fds(sv[1], buf, sizeof(buf), fx->rx, 1, NULL), -EINVAL);
	expect_eq(pvb_shm_recv_fds(sv[1], buf, 0, fx->rx, 1, &nfds), -EINVAL);
	expect_eq(pvb_shm_recv_fds(sv[1], NULL, 4, fx->rx, 1, &nfds), -EINVAL);
	expect_eq(pvb_shm_recv_fds(sv[1], buf, sizeof(buf), NULL, 1, &nfds), -EINVAL);
	expect_eq(pvb_shm_recv_fds(-1, buf, sizeof(buf), fx->rx, 1, &nfds), -EBADF);
}

static void
test_close_safe(void **state)
{
	struct fx *fx = *state;
	struct pvb_shm z;
	bool in_open = fd_open(0);
	int fds[3] = { -1, -1, -1 };

	/* a zeroed region has fd 0, which is not its to close */
	memset(&z, 0, sizeof(z));
	pvb_shm_close(&z);
	expect_eq(fd_open(0), in_open);
	expect_eq(z.fd, -1);
	pvb_shm_close(&z);
	pvb_shm_close(NULL);
	pvb_shm_close_fds(NULL, 3);
	fds[1] = dup(1);
	assert_true(fds[1] >= 0);
	pvb_shm_close_fds(fds, 3);
	expect_eq(fds[1], -1);
	plain(fx, 0, pg);
	pvb_shm_close(&fx->r[0]);
	pvb_shm_close(&fx->r[0]);
}

/* Last: the suite as a whole, failing tests included, gave back every fd. */
static void
test_zz_no_fd_leak(void **state)
{
	(void)state;
	assert_int_equal(count_fds(), fds_at_start);
}

#define FX_TEST(f)	cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		FX_TEST(test_create_plain),
		FX_TEST(test_create_args),
		FX_TEST(test_create_huge),
		FX_TEST(test_create_huge_fallback),
		FX_TEST(test_attach_sealed),
		FX_TEST(test_attach_refuses),
		FX_TEST(test_attach_strerror),
		FX_TEST(test_lock_punch_plain),
		FX_TEST(test_lock_punch_huge),
		FX_TEST(test_lock_refaults),
		FX_TEST(test_lock_fallback),
		FX_TEST(test_lock_peer_sealed),
		FX_TEST(test_lock_args),
		FX_TEST(test_lock_sigbus_child),
		FX_TEST(test_prefault_share),
		FX_TEST(test_prefault_punch_plain),
		FX_TEST(test_prefault_args),
		FX_TEST(test_shared_fork),
		FX_TEST(test_map_double),
		FX_TEST(test_map_double_args),
		FX_TEST(test_bind_node),
		FX_TEST(test_fds_counts),
		FX_TEST(test_fds_stream),
		FX_TEST(test_recv_too_many),
		FX_TEST(test_recv_truncated),
		FX_TEST(test_recv_foreign),
		FX_TEST(test_recv_other_cmsgs),
		FX_TEST(test_recv_eof),
		FX_TEST(test_recv_eagain),
		FX_TEST(test_send_epipe),
		FX_TEST(test_fds_args),
		FX_TEST(test_bell_pair),
		FX_TEST(test_bell_check),
		FX_TEST(test_bell_peer_blocking),
		FX_TEST(test_bell_peer_never_reads),
		FX_TEST(test_bell_flood),
		FX_TEST(test_bell_peer_closed),
		FX_TEST(test_close_safe),
		FX_TEST(test_zz_no_fd_leak),
	};

	return cmocka_run_group_tests_name("unit", tests, suite_setup, NULL);
}
