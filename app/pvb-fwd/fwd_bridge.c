/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * The bridge (doc/bridge.md): a net_pvb_netvsp port forwarded to or from a
 * net_pvb_virtio or net_pvb_vhost port, wired so that pvb-fwd copies no
 * frame bytes.
 *
 * - The virtio-side port's rx queues take the netvsp port's slot pool: what
 *   it receives is written into the netvsc guest's receive slots, which the
 *   netvsp port then sends to the guest in place.
 * - The netvsp guest's region is added to every net_pvb_virtio port it is
 *   bridged to, so that the back-end reads the guest's send sections and
 *   writes its receive slots itself. A guest that reconnects brings another
 *   region (another `gen`): the main lcore polls for it and swaps it.
 * - The netvsp port is probed with copybreak=0 (every guest frame as an mbuf
 *   over its send section) and, bridged to net_pvb_virtio, share=1 (a region
 *   a back-end may map writable), unless the user set those keys.
 *
 * pvb-fwd does not link our PMDs (EAL loads them with -d): their API is
 * looked up at run time in the objects EAL loaded. Without it, the port is
 * forwarded as any other, and frames a net_pvb_virtio port cannot reach are
 * copied by pvb-fwd (fwd_datapath.c).
 *
 * Everything here runs on the main lcore; workers only read the reach
 * tables (struct fwd_reach).
 */

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_mempool.h>

#include "fwd.h"
#include "rte_pmd_pvb_netvsp.h"
#include "rte_pmd_pvb_virtio.h"

#define FWD_REGION_POLL_MS	20	/* how often the guests' regions are looked at */
#define FWD_SLOT_MARGIN		64	/* slot pool headers beyond the computed need */
#define FWD_COPYBREAK_ALL	"65535"	/* zero_copy = no: netvsp copies every frame */

/* The PMD functions, as their headers declare them; NULL when not found. */
struct fwd_pmd_api {
	__typeof__(&rte_pmd_pvb_netvsp_slot_pool) slot_pool;
	__typeof__(&rte_pmd_pvb_netvsp_region) region;
	__typeof__(&rte_pmd_pvb_virtio_mem_add) mem_add;
	__typeof__(&rte_pmd_pvb_virtio_mem_del) mem_del;
	void *netvsp_so, *virtio_so;	/* dlopen() handles, closed at the end */
};

/* A netvsc guest's region pvb-fwd added to a net_pvb_virtio port's table. */
struct fwd_added {
	void *va;		/* NULL: none */
	size_t len;
	uint64_t gen;
};

struct fwd_bridge {
	struct fwd_pmd_api api;
	/* [virtio port][netvsp port]: share the netvsp guest's region with the virtio port */
	bool share[FWD_MAX_PORTS][FWD_MAX_PORTS];
	struct fwd_added added[FWD_MAX_PORTS][FWD_MAX_PORTS];
	/* a region that could not be added: said once, tried again with the next guest */
	uint64_t failed_gen[FWD_MAX_PORTS][FWD_MAX_PORTS];
	bool user_share_off[FWD_MAX_PORTS];	/* netvsp: the user set share=0 */
	bool looked_vsp, looked_virtio;		/* api_lookup() done for that PMD */
	uint64_t next_poll;
};

/* ---- the PMD API, found in the objects EAL loaded -------------------------------- */

struct so_find {
	const char *needle;
	char path[PATH_MAX];
};

static int
so_match(struct dl_phdr_info *info, size_t size __rte_unused, void *arg)
{
	struct so_find *f = arg;

	if (info->dlpi_name == NULL || strstr(info->dlpi_name, f->needle) == NULL)
		return 0;
	snprintf(f->path, sizeof(f->path), "%s", info->dlpi_name);
	return 1;
}

/* The loaded object whose name holds @p needle, opened again (NOLOAD: never loads it). */
static void *
so_open(const char *needle)
{
	struct so_find f = { .needle = needle };

	if (dl_iterate_phdr(so_match, &f) == 0)
		return NULL;
	return dlopen(f.path, RTLD_NOW | RTLD_NOLOAD);
}

/* Both symbols of one PMD, or neither; one line when they are not there. */
static void
api_find(void **so, const char *lib, const char *s1, void **f1, const char *s2, void **f2)
{
	*so = so_open(lib);
	if (*so != NULL) {
		*f1 = dlsym(*so, s1);
		*f2 = dlsym(*so, s2);
	}
	if (*f1 != NULL && *f2 != NULL)
		return;
	*f1 = *f2 = NULL;
	if (*so == NULL)
		printf("pvb-fwd: no %s object loaded: its ports are bridged without zero copy\n",
		       lib);
	else
		printf("pvb-fwd: %s has no %s: its ports are bridged without zero copy\n", lib,
		       s1);
}

/* Looked up once, and only when a port needs it, so other set-ups log nothing. */
static void
api_lookup(struct fwd_bridge *b, const struct fwd_state *st)
{
	struct fwd_pmd_api *a = &b->api;
	bool vsp = false, virtio = false;
	uint16_t p;

	for (p = 0; p < st->nb_ports; p++) {
		vsp |= st->port[p].kind == FWD_KIND_NETVSP;
		virtio |= st->port[p].kind == FWD_KIND_VIRTIO;
	}
	if (vsp && !b->looked_vsp) {
		b->looked_vsp = true;
		api_find(&a->netvsp_so, "librte_net_pvb_netvsp",
			 "rte_pmd_pvb_netvsp_slot_pool", (void **)&a->slot_pool,
			 "rte_pmd_pvb_netvsp_region", (void **)&a->region);
	}
	if (vsp && virtio && !b->looked_virtio) {
		b->looked_virtio = true;
		api_find(&a->virtio_so, "librte_net_pvb_virtio",
			 "rte_pmd_pvb_virtio_mem_add", (void **)&a->mem_add,
			 "rte_pmd_pvb_virtio_mem_del", (void **)&a->mem_del);
	}
}

/* ---- which ports are bridged ------------------------------------------------------- */

/* EAL gives a virtual device to the driver its name starts with; so do we. */
static enum fwd_port_kind
kind_of(const char *name)
{
	static const struct {
		const char *prefix;
		enum fwd_port_kind kind;
	} k[] = {
		{ "net_pvb_netvsp", FWD_KIND_NETVSP },
		{ "net_pvb_virtio", FWD_KIND_VIRTIO },
		{ "net_pvb_vhost", FWD_KIND_VHOST },
	};
	size_t i;

	for (i = 0; i < RTE_DIM(k); i++)
		if (strncmp(name, k[i].prefix, strlen(k[i].prefix)) == 0)
			return k[i].kind;
	return FWD_KIND_OTHER;
}

/* The value of @p key in devargs @p dev ("name,k=v,..."), or NULL. */
static const char *
devarg(const char *dev, const char *key, char *val, size_t len)
{
	size_t kl = strlen(key);
	const char *s = strchr(dev, ',');

	for (; s != NULL; s = strchr(s + 1, ',')) {
		if (strncmp(s + 1, key, kl) != 0 || s[1 + kl] != '=')
			continue;
		snprintf(val, len, "%.*s", (int)strcspn(s + 2 + kl, ","), s + 2 + kl);
		return val;
	}
	return NULL;
}

static bool
virtio_side(enum fwd_port_kind k)
{
	return k == FWD_KIND_VIRTIO || k == FWD_KIND_VHOST;
}

/*
 * Netvsp port @p n serves virtio-side port @p v: @p v receives into its
 * slots (if @p lend), and a net_pvb_virtio @p v maps its guest's region.
 */
static void
wire(struct fwd_state *st, uint16_t n, uint16_t v, bool lend)
{
	struct fwd_bridge *b = st->bridge;
	bool share = st->port[v].kind == FWD_KIND_VIRTIO && b->api.mem_add != NULL &&
		     !b->user_share_off[n];

	if (st->port[v].kind == FWD_KIND_VIRTIO && b->user_share_off[n] && lend)
		printf("pvb-fwd: port %s: share=0: the back-end of %s cannot map its guest's "
		       "memory; pvb-fwd copies the guest's frames, %s receives into ordinary "
		       "mbufs\n", st->cfg->ports[n].name, st->cfg->ports[v].name,
		       st->cfg->ports[v].name);
	/* lent receive buffers reach a back-end only through the shared region */
	if (lend && b->api.slot_pool != NULL &&
	    (st->port[v].kind == FWD_KIND_VHOST || share))
		st->port[v].lender = n;
	if (share && b->api.region != NULL)
		b->share[v][n] = true;
}

/*
 * xconnect: a netvsp port and its virtio-side peer. l2: every netvsp
 * region goes to every net_pvb_virtio port; the slot pool is lent only when
 * there is one netvsp port (a frame the back-end writes could be for any
 * guest, and only the lender's own slots go out in place).
 */
static void
plan(struct fwd_state *st)
{
	const struct fwd_config *cfg = st->cfg;
	struct fwd_bridge *b = st->bridge;
	uint16_t p, q, nb_vsp = 0;
	int peer;

	memset(b->share, 0, sizeof(b->share));
	for (p = 0; p < st->nb_ports; p++) {
		st->port[p].lender = -1;
		nb_vsp += st->port[p].kind == FWD_KIND_NETVSP;
	}
	if (!cfg->zero_copy)
		return;
	for (p = 0; p < st->nb_ports; p++) {
		if (st->port[p].kind != FWD_KIND_NETVSP)
			continue;
		peer = cfg->ports[p].peer;
		if (cfg->mode == FWD_MODE_XCONNECT && peer >= 0 &&
		    virtio_side(st->port[peer].kind))
			wire(st, p, (uint16_t)peer, true);
		for (q = 0; cfg->mode == FWD_MODE_L2 && q < st->nb_ports; q++)
			if (virtio_side(st->port[q].kind))
				wire(st, p, q, nb_vsp == 1);
	}
}

static bool
shared_anywhere(const struct fwd_state *st, uint16_t n)
{
	uint16_t v;

	for (v = 0; v < st->nb_ports; v++)
		if (st->bridge->share[v][n])
			return true;
	return false;
}

int
fwd_bridge_init(struct fwd_state *st, char *err, size_t errlen)
{
	const struct fwd_config *cfg = st->cfg;
	char val[16];
	uint16_t p;

	st->bridge = calloc(1, sizeof(*st->bridge));
	if (st->bridge == NULL)
		return fwd_errf(err, errlen, "bridge: out of memory");
	/* until probed, a port is what its device name says */
	for (p = 0; p < cfg->nb_ports; p++) {
		st->port[p].kind = kind_of(cfg->ports[p].dev[0] ? cfg->ports[p].dev :
					   cfg->ports[p].name);
		st->bridge->user_share_off[p] =
			devarg(cfg->ports[p].dev, "share", val, sizeof(val)) != NULL &&
			strcmp(val, "0") == 0;
	}
	api_lookup(st->bridge, st);
	plan(st);
	return 0;
}

/*
 * The devargs pvb-fwd probes port @p p with: the user's, and for a
 * net_pvb_netvsp port the bridge's keys the user did not set. "" when the
 * port has no dev (a device EAL probed already). -1 if too long.
 */
int
fwd_bridge_devargs(const struct fwd_state *st, uint16_t p, char *buf, size_t len)
{
	const char *dev = st->cfg->ports[p].dev;
	char val[16], add[64] = "";
	size_t off = 0;

	buf[0] = '\0';
	if (dev[0] == '\0')
		return 0;
	if (st->port[p].kind == FWD_KIND_NETVSP && devarg(dev, "copybreak", val, sizeof(val)) == NULL)
		off += (size_t)snprintf(add + off, sizeof(add) - off, ",copybreak=%s",
					st->cfg->zero_copy ? "0" : FWD_COPYBREAK_ALL);
	/* share is parsed by the PMDs that have the API: asked only from them */
	if (st->port[p].kind == FWD_KIND_NETVSP && shared_anywhere(st, p) &&
	    devarg(dev, "share", val, sizeof(val)) == NULL)
		snprintf(add + off, sizeof(add) - off, ",share=1");
	if ((size_t)snprintf(buf, len, "%s%s", dev, add) >= len)
		return -1;
	if (add[0] != '\0')
		printf("pvb-fwd: port %s: %s added to its devargs (zero_copy = %s)\n",
		       st->cfg->ports[p].name, add + 1, st->cfg->zero_copy ? "yes" : "no");
	return 0;
}

/* Every port probed: what each is, by its driver; the plan again; the reach tables. */
int
fwd_bridge_probed(struct fwd_state *st, char *err, size_t errlen)
{
	struct rte_eth_dev_info info;
	bool again = false;
	enum fwd_port_kind k;
	uint16_t p;

	for (p = 0; p < st->nb_ports; p++) {
		k = rte_eth_dev_info_get(st->port[p].port_id, &info) == 0 ?
		    kind_of(info.driver_name) : FWD_KIND_OTHER;
		again |= k != st->port[p].kind;
		st->port[p].kind = k;
	}
	if (again) {
		api_lookup(st->bridge, st);
		plan(st);
	}
	for (p = 0; p < st->nb_ports; p++) {
		if (st->port[p].kind != FWD_KIND_VIRTIO)
			continue;
		st->port[p].reach = rte_zmalloc_socket("fwd_reach", sizeof(struct fwd_reach),
						       RTE_CACHE_LINE_SIZE,
						       rte_eth_dev_socket_id(st->port[p].port_id));
		if (st->port[p].reach == NULL)
			return fwd_errf(err, errlen, "port %s: no memory for its region table",
					st->port[p].name);
		rte_seqcount_init(&st->port[p].reach->sc);
	}
	return 0;
}

/* ---- the slot pool ----------------------------------------------------------------- */

/*
 * Headers the slot pool of netvsp port @p n needs: one per rx descriptor of
 * every queue that receives into it (each posted descriptor holds a lent
 * mbuf), plus what is between rx and the netvsp tx burst: each worker holds
 * up to a burst in its tx buffer and receives the next one (2 bursts per
 * lcore), a hand-off link holds up to ring_size of them, plus a margin for
 * the netvsp queue's own burst. Fewer only means the pool runs empty
 * first: the receiving port counts rx_nombuf and tries again, it loses
 * nothing; the guest's free slots bound it anyway.
 */
static unsigned int
slot_pool_size(const struct fwd_state *st, uint16_t n)
{
	const struct fwd_config *cfg = st->cfg;
	unsigned int total = FWD_SLOT_MARGIN;
	uint16_t p, rxd, txd;

	for (p = 0; p < st->nb_ports; p++) {
		if (st->port[p].lender != n)
			continue;
		rxd = cfg->ports[p].nb_rxd;
		txd = cfg->ports[p].nb_txd;
		(void)rte_eth_dev_adjust_nb_rx_tx_desc(st->port[p].port_id, &rxd, &txd);
		total += (unsigned int)rxd * cfg->ports[p].nb_queues;
	}
	total += cfg->nb_lcores * 2u * cfg->burst;
	if (cfg->nb_lcores > 1)
		total += cfg->ring_size;
	return total;
}

/* The pool port @p p's rx queues take: its lender's slot pool, or NULL (an ordinary one). */
struct rte_mempool *
fwd_bridge_rx_pool(struct fwd_state *st, uint16_t p)
{
	struct fwd_port *fp = &st->port[p], *lp;
	uint16_t q;

	if (fp->lender < 0)
		return NULL;
	lp = &st->port[fp->lender];
	if (lp->slot_pool != NULL)
		return lp->slot_pool;
	lp->slot_pool = st->bridge->api.slot_pool(lp->port_id, slot_pool_size(st, fp->lender),
						  rte_eth_dev_socket_id(lp->port_id));
	if (lp->slot_pool != NULL) {
		printf("pvb-fwd: port %s: receives into the guest slots of port %s (%s, %u mbufs)\n",
		       fp->name, lp->name, lp->slot_pool->name, lp->slot_pool->size);
		snprintf(lp->slot_pool_name, sizeof(lp->slot_pool_name), "%s",
			 lp->slot_pool->name);
		lp->slot_pool_size = lp->slot_pool->size;
		return lp->slot_pool;
	}
	printf("pvb-fwd: port %s: no slot pool (%s): its borrowers receive into ordinary mbufs\n",
	       lp->name, rte_strerror(rte_errno));
	for (q = 0; q < st->nb_ports; q++)
		if (st->port[q].lender == fp->lender)
			st->port[q].lender = -1;
	return NULL;
}

/* ---- the regions, followed from the main lcore ------------------------------------ */

/* What port @p v's back-end maps now, for the workers. */
static void
reach_publish(struct fwd_state *st, uint16_t v)
{
	struct fwd_reach *rc = st->port[v].reach;
	const struct fwd_added *a;
	uint16_t n;

	rte_seqcount_write_begin(&rc->sc);
	rc->n = 0;
	for (n = 0; n < st->nb_ports; n++) {
		a = &st->bridge->added[v][n];
		if (a->va == NULL || rc->n == FWD_REACH_MAX)
			continue;
		rc->r[rc->n].lo = (uintptr_t)a->va;
		rc->r[rc->n].hi = (uintptr_t)a->va + a->len;
		rc->n++;
	}
	rte_seqcount_write_end(&rc->sc);
}

/* Take netvsp port @p n's old region out of @p v's table; workers copy from now on. */
static void
region_del(struct fwd_state *st, uint16_t v, uint16_t n, const char *why)
{
	struct fwd_added *a = &st->bridge->added[v][n];
	void *va = a->va;
	int rc;

	a->va = NULL;
	reach_publish(st, v);
	rc = st->bridge->api.mem_del(st->port[v].port_id, va);
	printf("pvb-fwd: port %s: guest region of %s (gen %llu) removed (%s)%s%s\n",
	       st->port[v].name, st->port[n].name, (unsigned long long)a->gen, why,
	       rc != 0 ? ": " : "", rc != 0 ? strerror(-rc) : "");
}

static void
region_add(struct fwd_state *st, uint16_t v, uint16_t n, const struct rte_pmd_pvb_netvsp_region *r)
{
	struct fwd_bridge *b = st->bridge;
	int rc;

	if (!r->shareable) {
		rc = -EPERM;
		printf("pvb-fwd: port %s: guest region of %s is not shareable (probe it with "
		       "share=1; huge pages cannot be shared): frames to it are copied\n",
		       st->port[v].name, st->port[n].name);
	} else {
		rc = b->api.mem_add(st->port[v].port_id, r->va, r->len, r->fd, 0);
		if (rc != 0)
			printf("pvb-fwd: port %s: cannot add the guest region of %s: %s; frames "
			       "to it are copied\n", st->port[v].name, st->port[n].name,
			       strerror(-rc));
	}
	if (rc != 0) {
		b->failed_gen[v][n] = r->gen;
		return;
	}
	b->added[v][n] = (struct fwd_added){ .va = r->va, .len = r->len, .gen = r->gen };
	reach_publish(st, v);
	printf("pvb-fwd: port %s: guest region of %s (%zu MiB, gen %llu) shared with its "
	       "back-end\n", st->port[v].name, st->port[n].name, r->len >> 20,
	       (unsigned long long)r->gen);
}

/* One (virtio port, netvsp port) pair: the region of the guest there now, or none. */
static void
region_follow(struct fwd_state *st, uint16_t v, uint16_t n)
{
	struct fwd_bridge *b = st->bridge;
	struct fwd_added *a = &b->added[v][n];
	struct rte_pmd_pvb_netvsp_region r;
	int rc;

	rc = b->api.region(st->port[n].port_id, &r);
	if (rc != 0) {
		/*
		 * No guest: out of the table at once, before this address range
		 * can be mapped again for the next guest while still listed.
		 */
		if (a->va != NULL)
			region_del(st, v, n, "the guest left");
		return;
	}
	if (a->va != NULL && a->gen != r.gen)
		region_del(st, v, n, "the guest reconnected");
	if (a->va == NULL && b->failed_gen[v][n] != r.gen)
		region_add(st, v, n, &r);
	close(r.fd);
}

/* Main lcore, every tick: each shared region follows its guest, every FWD_REGION_POLL_MS. */
void
fwd_bridge_poll(struct fwd_state *st)
{
	struct fwd_bridge *b = st->bridge;
	uint64_t now = rte_rdtsc();
	uint16_t v, n;

	if (b == NULL || now < b->next_poll)
		return;
	b->next_poll = now + st->tsc_hz * FWD_REGION_POLL_MS / 1000;
	for (v = 0; v < st->nb_ports; v++)
		for (n = 0; n < st->nb_ports; n++)
			if (b->share[v][n])
				region_follow(st, v, n);
}

/* ---- exit ----------------------------------------------------------------------- */

/*
 * The ports are stopped, not closed: every slot-pool mbuf must be back
 * (close frees the pool). Returns how many pools are not whole.
 */
unsigned int
fwd_bridge_check_slots(struct fwd_state *st)
{
	struct fwd_port *fp;
	unsigned int bad = 0;
	uint16_t p;

	for (p = 0; p < st->nb_ports; p++) {
		fp = &st->port[p];
		if (fp->slot_pool == NULL)
			continue;
		fp->slot_in_use_end = rte_mempool_in_use_count(fp->slot_pool);
		if (fp->slot_in_use_end != 0) {
			fprintf(stderr, "pvb-fwd: slot pool %s: %u mbufs still out with the ports "
				"stopped\n", fp->slot_pool->name, fp->slot_in_use_end);
			bad++;
		}
		fp->slot_pool = NULL;	/* the port frees it at close */
	}
	return bad;
}

void
fwd_bridge_free(struct fwd_state *st)
{
	struct fwd_bridge *b = st->bridge;
	uint16_t p;

	for (p = 0; p < st->nb_ports; p++) {
		rte_free(st->port[p].reach);
		st->port[p].reach = NULL;
	}
	if (b == NULL)
		return;
	if (b->api.netvsp_so != NULL)
		dlclose(b->api.netvsp_so);
	if (b->api.virtio_so != NULL)
		dlclose(b->api.virtio_so);
	free(b);
	st->bridge = NULL;
}
