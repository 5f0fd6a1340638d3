// SPDX-License-Identifier: Apache-2.0
/*
 * OpenSLB GWLB fast path: GENEVE forwarding in tc (clsact ingress) BPF.
 *
 * The TypeScript side (src/dataplane/gwlb/bpf/) is the brain: it loads this program, attaches
 * it where GENEVE for the VIPs arrives, and fills the maps below from the desired state and the
 * health checks (VIPs, listeners, groups with their Maglev tables, appliances and whether their
 * pinned flows may stay). This program only applies those decisions per packet, with the same
 * rules as the user-space forwarder (forwarder.ts, geneve.ts, inner.ts, flow-table.ts):
 *
 *   endpoint -> VIP:6081   strict RFC 8926 decode, inner IPv4/IPv6 parse, symmetric flow key
 *                          (5/3/2-tuple), flow table lookup or Maglev pick, GWLB options
 *                          replaced/added, outer header rewritten to VIP:6081 -> appliance
 *   appliance -> VIP:6081  matched to its flow by the flow cookie (or the inner packet's key)
 *                          and sent back unchanged to the endpoint that sent that direction
 *   ByPass                 straight back to the endpoint
 *
 * Packets that are not GENEVE to a VIP this program knows get TC_ACT_UNSPEC, so any other
 * classifier on the same hook still sees them.
 *
 * Time: the `clock` map holds the control plane's clock (milliseconds), written by TypeScript on
 * every sweep (about once a second), so idle timeouts and drains follow the same clock as the
 * rest of OpenSLB (and tests can move it).
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define GENEVE_PORT 6081
#define MAX_LISTENERS 256
#define MAX_GROUPS 64
#define MAX_APPLIANCES 1024
#define MAX_VIPS 1024
#define MAGLEV_STRIDE 16411
#define MAX_FLOWS 262144
#define MAX_INNER 1500
#define MAX_OPTS 252
#define GWLB_OPTS_LEN 32
#define NON_TCP_IDLE_MS 120000ULL

/* Drop reasons, indexed like DROP_REASONS in forwarder.ts. */
enum {
	D_TRUNCATED,
	D_BAD_VERSION,
	D_BAD_OPTION,
	D_CRITICAL_MISMATCH,
	D_UNKNOWN_CRITICAL,
	D_CONTROL,
	D_UNSUPPORTED_PROTOCOL,
	D_INNER_TOO_LARGE,
	D_INNER_MALFORMED,
	D_INNER_VERSION_MISMATCH,
	D_NO_APPLIANCE,
	D_UNKNOWN_FLOW,
	D_OPTIONS_TOO_LONG,
	D_SEND_ERROR,
	NR_DROPS,
};

/* Listener counter slots. */
enum {
	C_PKTS_FROM_EP,
	C_BYTES_FROM_EP,
	C_PKTS_TO_AP,
	C_BYTES_TO_AP,
	C_PKTS_FROM_AP,
	C_BYTES_FROM_AP,
	C_PKTS_TO_EP,
	C_BYTES_TO_EP,
	C_RESCHEDULED,
	C_CREATED,
	C_EXPIRED,
	NR_COUNTS,
};

struct listener_counters {
	__u64 c[NR_COUNTS];
	__u64 ep_drops[NR_DROPS];
	__u64 ap_drops[NR_DROPS];
};

struct appliance_counters {
	__u64 pkts_to, bytes_to, pkts_from, bytes_from, flows;
};

#define L_ACTIVE 1
#define L_BYPASS 2

struct listener_cfg {
	__u32 flags;
	__u32 group;
	__u32 tcp_idle_ms;
	__u32 option_class;
	__u32 att_hi;
	__u32 att_lo;
	/* Names the listener's flows: changed by TypeScript when its flows must all be forgotten
	 * (another server group, the slot reused), so old entries are never found again. */
	__u32 tag;
};

struct group_cfg {
	__u32 mode; /* 5, 3 or 2; 0: unused */
	__u32 size; /* Maglev table size M (0: no eligible appliance) */
};

#define A_KEEP 1 /* pinned flows may stay on it */

struct appliance_cfg {
	__u32 addr;  /* network order */
	__u32 port;  /* host order */
	__u32 flags;
};

struct group_addr {
	__u32 group;
	__u32 addr; /* network order */
};

struct flow_key {
	__u32 listener;
	__u32 mode;
	__u8 bytes[40];
};

struct flow_val {
	__u64 last_seen;
	__u32 appliance;
	__u32 id;
	__u32 ep_addr[2]; /* network order; 0 = not seen */
	__u16 ep_port[2]; /* network order */
	__u8 tcp;
	__u8 initiator_lo;
	__u8 pad[6];
};

struct state {
	__u32 next_id;
};

/* Per-packet working memory (the BPF stack is too small for it). */
struct scratch {
	__u8 hdr[8 + 8 + MAX_OPTS + GWLB_OPTS_LEN + 4]; /* new UDP + GENEVE header */
	__u8 opts[MAX_OPTS + 4];                        /* received options */
	__u8 inner[64];
	struct flow_key key;
	struct flow_val nv;
	struct bpf_fib_lookup fib;
	struct iphdr ip;
	struct udphdr udp;
	__u32 listener;
	__u32 appliance;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_VIPS);
	__type(key, __u32);
	__type(value, __u32);
} vips SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_LISTENERS);
	__type(key, __u32);
	__type(value, struct listener_cfg);
} listeners SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_GROUPS);
	__type(key, __u32);
	__type(value, struct group_cfg);
} groups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_GROUPS * MAGLEV_STRIDE);
	__type(key, __u32);
	__type(value, __u32); /* appliance slot + 1; 0: none */
} maglev SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_APPLIANCES);
	__type(key, __u32);
	__type(value, struct appliance_cfg);
} appliances SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_APPLIANCES);
	__type(key, struct group_addr);
	__type(value, __u32); /* appliance slot */
} appliance_by_addr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_FLOWS);
	__type(key, struct flow_key);
	__type(value, struct flow_val);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_FLOWS);
	__type(key, __u32);
	__type(value, struct flow_key);
} cookies SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct state);
} state SEC(".maps");

/* The control plane's clock in milliseconds, written by TypeScript. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} clock SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAX_LISTENERS);
	__type(key, __u32);
	__type(value, struct listener_counters);
} listener_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAX_APPLIANCES);
	__type(key, __u32);
	__type(value, struct appliance_counters);
} appliance_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_buf SEC(".maps");

#define L3_OFF ETH_HLEN
#define L4_OFF (ETH_HLEN + sizeof(struct iphdr))
#define GENEVE_OFF (L4_OFF + sizeof(struct udphdr))

/* ------------------------------------------------------------------------------------------ */
/* MurmurHash3_x86_32, seed 0, over the 32/36/40 key bytes (flow-hash.ts). */

static __always_inline __u32 rotl32(__u32 x, int r)
{
	return (x << r) | (x >> (32 - r));
}

static __always_inline __u32 murmur3(const __u8 *b, __u32 len)
{
	__u32 h = 0;
#pragma unroll
	for (int i = 0; i < 10; i++) {
		if ((__u32)(i * 4) >= len)
			break;
		__u32 k = b[i * 4] | (b[i * 4 + 1] << 8) | (b[i * 4 + 2] << 16) | ((__u32)b[i * 4 + 3] << 24);
		k *= 0xcc9e2d51;
		k = rotl32(k, 15);
		k *= 0x1b873593;
		h ^= k;
		h = rotl32(h, 13);
		h = h * 5 + 0xe6546b64;
	}
	h ^= len;
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

/* ------------------------------------------------------------------------------------------ */

static __always_inline __u16 ip_checksum(struct iphdr *ip)
{
	__u32 sum = 0;
	__u16 *p = (__u16 *)ip;
#pragma unroll
	for (int i = 0; i < 10; i++)
		sum += p[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

/*
 * Sends the rewritten packet on: to the neighbour the FIB names, or, for a local destination
 * seen on loopback, out of loopback again (so it is delivered, and captured, like a packet a
 * socket sent); a local destination on another interface goes up the stack.
 */
static __always_inline int forward(struct __sk_buff *skb, struct scratch *s, __u32 saddr, __u32 daddr, __u16 tot_len)
{
	struct bpf_fib_lookup *f = &s->fib;
	__builtin_memset(f, 0, sizeof(*f));
	f->family = 2; /* AF_INET */
	f->ipv4_src = saddr;
	f->ipv4_dst = daddr;
	f->tot_len = tot_len;
	f->ifindex = skb->ifindex;
	long rc = bpf_fib_lookup(skb, f, sizeof(*f), 0);
	if (rc == BPF_FIB_LKUP_RET_SUCCESS) {
		if (bpf_skb_store_bytes(skb, 0, f->dmac, ETH_ALEN, 0) < 0 ||
		    bpf_skb_store_bytes(skb, ETH_ALEN, f->smac, ETH_ALEN, 0) < 0)
			return -1;
		return bpf_redirect(f->ifindex, 0);
	}
	if (rc == BPF_FIB_LKUP_RET_NOT_FWDED) {
		if (skb->ifindex == 1)
			return bpf_redirect(1, 0);
		return TC_ACT_OK;
	}
	return -1;
}

static __always_inline void drop(struct listener_counters *lc, int from_appliance, int reason)
{
	if (reason < 0 || reason >= NR_DROPS)
		return;
	if (from_appliance)
		lc->ap_drops[reason]++;
	else
		lc->ep_drops[reason]++;
}

/* The GENEVE header as decoded (geneve.ts decodeGeneve). */
struct geneve {
	__u32 opt_len;
	__u32 payload_len; /* bytes after the options */
	__u16 protocol;
	__u8 b0, b1;
	__u8 vni[3];
	__u32 foreign_len; /* bytes of options of other classes (copied to s->hdr + 16) */
	__u8 foreign_critical;
	__u8 has_att;
	__u8 has_cookie;
	__u32 att_hi, att_lo, cookie;
};

/* State of the walk over the option words (a bpf_loop callback: verified once, not 63 times). */
struct option_walk {
	struct scratch *s;
	struct geneve *g;
	__u32 opt_len;
	__u32 option_class;
	__u32 rem; /* words left of the current option */
	int copy, foreign, any_critical, unknown_critical, error;
};

static long option_word(__u32 w, void *ctx)
{
	struct option_walk *ow = ctx;
	struct scratch *s = ow->s;
	struct geneve *g = ow->g;
	__u32 pos = w * 4;
	if (pos >= ow->opt_len || pos > 248)
		return 1;
	pos &= 0xff;
	if (ow->rem == 0) {
		__u32 cls = (s->opts[pos] << 8) | s->opts[pos + 1];
		__u8 type = s->opts[pos + 2];
		__u32 data_len = (s->opts[pos + 3] & 0x1f) * 4;
		if (pos + 4 + data_len > ow->opt_len) {
			ow->error = 1;
			return 1;
		}
		ow->rem = 1 + data_len / 4;
		int critical = (type & 0x80) != 0;
		if (critical)
			ow->any_critical = 1;
		if (cls == ow->option_class) {
			ow->foreign = 0;
			__u8 t = type & 0x7f;
			__u32 d = pos + 4;
			int understood = 1;
			if (t == 2 && data_len == 8 && d + 8 <= sizeof(s->opts)) {
				g->has_att = 1;
				g->att_hi = ((__u32)s->opts[d] << 24) | (s->opts[d + 1] << 16) | (s->opts[d + 2] << 8) | s->opts[d + 3];
				g->att_lo = ((__u32)s->opts[d + 4] << 24) | (s->opts[d + 5] << 16) | (s->opts[d + 6] << 8) | s->opts[d + 7];
			} else if (t == 3 && data_len == 4 && d + 4 <= sizeof(s->opts)) {
				g->has_cookie = 1;
				g->cookie = ((__u32)s->opts[d] << 24) | (s->opts[d + 1] << 16) | (s->opts[d + 2] << 8) | s->opts[d + 3];
			} else if (!(t == 1 && data_len == 8)) {
				understood = 0;
			}
			if (critical && !understood)
				ow->unknown_critical = 1;
		} else {
			ow->foreign = 1;
			if (critical) {
				g->foreign_critical = 1;
				ow->unknown_critical = 1;
			}
		}
	}
	if (ow->foreign) {
		if (ow->copy) {
			__u32 dst = (16 + g->foreign_len) & 0x1ff;
			if (dst + 4 <= sizeof(s->hdr)) {
				s->hdr[dst] = s->opts[pos];
				s->hdr[dst + 1] = s->opts[pos + 1];
				s->hdr[dst + 2] = s->opts[pos + 2];
				s->hdr[dst + 3] = s->opts[pos + 3];
			}
		}
		g->foreign_len += 4;
	}
	ow->rem--;
	return 0;
}

/*
 * Decodes the GENEVE header at GENEVE_OFF (`len`: the UDP payload length). Returns -1 when
 * well-formed, else the drop reason. Options of other classes are copied to s->hdr + 16 when
 * `copy` is set.
 */
static __always_inline int decode_geneve(struct __sk_buff *skb, __u32 len, __u32 option_class, struct scratch *s,
					 struct geneve *g, int copy)
{
	__u8 base[8];
	if (len < 8)
		return D_TRUNCATED;
	if (bpf_skb_load_bytes(skb, GENEVE_OFF, base, 8) < 0)
		return D_TRUNCATED;
	g->b0 = base[0];
	g->b1 = base[1];
	if ((base[0] >> 6) != 0)
		return D_BAD_VERSION;
	__u32 opt_len = (base[0] & 0x3f) * 4;
	g->opt_len = opt_len;
	g->protocol = (base[2] << 8) | base[3];
	g->vni[0] = base[4];
	g->vni[1] = base[5];
	g->vni[2] = base[6];
	if (8 + opt_len > len)
		return D_TRUNCATED;
	g->payload_len = len - 8 - opt_len;
	g->foreign_len = 0;
	g->foreign_critical = 0;
	g->has_att = 0;
	g->has_cookie = 0;
	int any_critical = 0, unknown_critical = 0;
	if (opt_len > 0) {
		__u32 n = opt_len - 4;
		asm volatile("" : "+r"(n)); /* keep the verifier's bounds: 4 <= n + 4 <= 256 */
		n = (n & 0xfc) + 4;
		if (bpf_skb_load_bytes(skb, GENEVE_OFF + 8, s->opts, n) < 0)
			return D_TRUNCATED;
		struct option_walk ow = { .s = s, .g = g, .opt_len = opt_len, .option_class = option_class, .copy = copy };
		bpf_loop(63, option_word, &ow, 0);
		if (ow.error)
			return D_BAD_OPTION;
		any_critical = ow.any_critical;
		unknown_critical = ow.unknown_critical;
	}
	if (any_critical != ((g->b1 & 0x40) != 0))
		return D_CRITICAL_MISMATCH;
	if (unknown_critical)
		return D_UNKNOWN_CRITICAL;
	if (g->b1 & 0x80)
		return D_CONTROL;
	if (g->protocol != 0x0800 && g->protocol != 0x86dd)
		return D_UNSUPPORTED_PROTOCOL;
	return -1;
}

struct inner {
	__u8 version;
	__u8 protocol;
	__u16 src_port, dst_port; /* host order */
};

/* Parses the inner packet (inner.ts parseInner) into s->inner (its first 64 bytes). */
static __always_inline int parse_inner(struct __sk_buff *skb, __u32 off, __u32 avail, __u16 protocol, struct scratch *s,
				       struct inner *in)
{
	if (avail > MAX_INNER)
		return D_INNER_TOO_LARGE;
	if (avail < 1)
		return D_INNER_MALFORMED;
	__u32 n = avail < 64 ? avail : 64;
	__u32 m = n - 1;
	asm volatile("" : "+r"(m));
	m = (m & 0x3f) + 1;
	if (bpf_skb_load_bytes(skb, off, s->inner, m) < 0)
		return D_INNER_MALFORMED;
	__u8 version = s->inner[0] >> 4;
	if (version != 4 && version != 6)
		return D_INNER_MALFORMED;
	if ((version == 6) != (protocol == 0x86dd))
		return D_INNER_VERSION_MISMATCH;
	in->version = version;
	__u32 l4, end;
	int later_fragment = 0, more_fragments = 0;
	if (version == 4) {
		if (avail < 20)
			return D_INNER_MALFORMED;
		__u32 ihl = (s->inner[0] & 0x0f) * 4;
		__u32 total = (s->inner[2] << 8) | s->inner[3];
		if (ihl < 20 || total < ihl || total > avail)
			return D_INNER_MALFORMED;
		in->protocol = s->inner[9];
		later_fragment = (((s->inner[6] & 0x1f) << 8) | s->inner[7]) != 0;
		more_fragments = (s->inner[6] & 0x20) != 0;
		l4 = ihl;
		end = total;
	} else {
		if (avail < 40)
			return D_INNER_MALFORMED;
		__u32 payload = (s->inner[4] << 8) | s->inner[5];
		if (40 + payload > avail)
			return D_INNER_MALFORMED;
		in->protocol = s->inner[6];
		l4 = 40;
		end = 40 + payload;
	}
	in->src_port = 0;
	in->dst_port = 0;
	__u8 p = in->protocol;
	if (!later_fragment && (p == IPPROTO_TCP || p == IPPROTO_UDP || p == 132)) {
		__u32 minimum = more_fragments ? 4 : p == IPPROTO_TCP ? 20 : p == IPPROTO_UDP ? 8 : 4;
		if (end - l4 < minimum)
			return D_INNER_MALFORMED;
		__u32 at = l4 & 0x3f;
		if (at + 4 > n)
			return D_INNER_MALFORMED;
		in->src_port = (s->inner[at] << 8) | s->inner[at + 1];
		in->dst_port = (s->inner[at + 2] << 8) | s->inner[at + 3];
	}
	return -1;
}

/*
 * The symmetric flow key (flow-table.ts flowKeyOf) in key->bytes; returns its hash and sets
 * *src_is_lo.
 */
static __always_inline __u32 flow_key_of(struct scratch *s, struct inner *in, __u32 mode, struct flow_key *key, int *src_is_lo)
{
	__u8 *b = key->bytes;
	if (in->version == 4) {
#pragma unroll
		for (int k = 0; k < 10; k++) {
			b[k] = 0;
			b[16 + k] = 0;
		}
		b[10] = b[11] = b[26] = b[27] = 0xff;
#pragma unroll
		for (int k = 0; k < 4; k++) {
			b[12 + k] = s->inner[12 + k];
			b[28 + k] = s->inner[16 + k];
		}
	} else {
#pragma unroll
		for (int k = 0; k < 16; k++) {
			b[k] = s->inner[8 + k];
			b[16 + k] = s->inner[24 + k];
		}
	}
	int cmp = 0;
#pragma unroll
	for (int k = 0; k < 16; k++) {
		if (cmp == 0)
			cmp = (int)b[k] - (int)b[16 + k];
	}
	if (cmp == 0 && mode == 5)
		cmp = (int)in->src_port - (int)in->dst_port;
	int swap = cmp > 0;
	if (swap) {
#pragma unroll
		for (int k = 0; k < 16; k++) {
			__u8 t = b[k];
			b[k] = b[16 + k];
			b[16 + k] = t;
		}
	}
	*src_is_lo = !swap;
	__u32 at = 32;
	if (mode == 5) {
		__u16 lo = swap ? in->dst_port : in->src_port;
		__u16 hi = swap ? in->src_port : in->dst_port;
		b[32] = lo >> 8;
		b[33] = lo & 0xff;
		b[34] = hi >> 8;
		b[35] = hi & 0xff;
		at = 36;
	}
	if (mode != 2) {
		b[at] = in->protocol;
		b[at + 1] = 0;
		b[at + 2] = 0;
		b[at + 3] = 0;
		at += 4;
	}
#pragma unroll
	for (int k = 32; k < 40; k++)
		if ((__u32)k >= at)
			b[k] = 0;
	return murmur3(b, at);
}

static __always_inline void put32(__u8 *p, __u32 v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static __always_inline int expired(struct flow_val *v, struct listener_cfg *cfg, __u64 now)
{
	__u64 timeout = v->tcp ? cfg->tcp_idle_ms : NON_TCP_IDLE_MS;
	return now >= v->last_seen && now - v->last_seen >= timeout;
}

static __always_inline int keeps(__u32 appliance)
{
	struct appliance_cfg *a = bpf_map_lookup_elem(&appliances, &appliance);
	return a && (a->flags & A_KEEP);
}

/* ------------------------------------------------------------------------------------------ */

static __noinline int from_appliance(struct __sk_buff *skb, struct scratch *s)
{
	__u32 listener = s->listener;
	struct listener_cfg *cfg = bpf_map_lookup_elem(&listeners, &listener);
	struct listener_counters *lc = bpf_map_lookup_elem(&listener_stats, &listener);
	__u32 zero = 0;
	struct state *st = bpf_map_lookup_elem(&state, &zero);
	__u64 *clk = bpf_map_lookup_elem(&clock, &zero);
	if (!cfg || !lc || !st || !clk)
		return TC_ACT_SHOT;
	__u64 now = *clk;
	struct iphdr *ip = &s->ip;
	struct udphdr *udp = &s->udp;
	__u32 appliance = s->appliance;
	__u32 len = bpf_ntohs(udp->len) - 8;
	lc->c[C_PKTS_FROM_AP]++;
	lc->c[C_BYTES_FROM_AP] += len;
	struct appliance_counters *ac = bpf_map_lookup_elem(&appliance_stats, &appliance);
	if (ac) {
		ac->pkts_from++;
		ac->bytes_from += len;
	}
	struct geneve g;
	int code = decode_geneve(skb, len, cfg->option_class, s, &g, 0);
	if (code >= 0) {
		drop(lc, 1, code);
		return TC_ACT_SHOT;
	}
	struct inner in;
	code = parse_inner(skb, GENEVE_OFF + 8 + g.opt_len, g.payload_len, g.protocol, s, &in);
	if (code >= 0) {
		drop(lc, 1, code);
		return TC_ACT_SHOT;
	}
	struct flow_val *v = 0;
	int dir = 0;
	if (g.has_cookie && g.has_att && g.att_hi == cfg->att_hi && g.att_lo == cfg->att_lo) {
		__u32 id = g.cookie & 0x7fffffff;
		struct flow_key *k = bpf_map_lookup_elem(&cookies, &id);
		if (k && k->listener == cfg->tag) {
			v = bpf_map_lookup_elem(&flows, k);
			if (v && v->id != id)
				v = 0;
			dir = g.cookie >> 31;
		}
	}
	if (!v) {
		struct group_cfg *gc = bpf_map_lookup_elem(&groups, &cfg->group);
		if (!gc)
			return TC_ACT_SHOT;
		struct flow_key *key = &s->key;
		int src_is_lo = 1;
		key->listener = cfg->tag;
		key->mode = gc->mode;
		flow_key_of(s, &in, gc->mode, key, &src_is_lo);
		v = bpf_map_lookup_elem(&flows, key);
		if (v)
			dir = src_is_lo == v->initiator_lo ? 0 : 1;
	}
	if (!v || expired(v, cfg, now)) {
		drop(lc, 1, D_UNKNOWN_FLOW);
		return TC_ACT_SHOT;
	}
	v->last_seen = now;
	if (in.protocol == IPPROTO_TCP)
		v->tcp = 1;
	__u32 addr = dir ? v->ep_addr[1] : v->ep_addr[0];
	__u16 port = dir ? v->ep_port[1] : v->ep_port[0];
	if (addr == 0) {
		addr = dir ? v->ep_addr[0] : v->ep_addr[1];
		port = dir ? v->ep_port[0] : v->ep_port[1];
	}
	__u32 old_src = ip->saddr, vip = ip->daddr;
	__u16 old_sport = udp->source, old_dport = udp->dest, vport = bpf_htons(GENEVE_PORT);
	__u16 tot_len = bpf_ntohs(ip->tot_len);
	/* Checksums first (incremental: the UDP one may be a partial sum on loopback). */
	int udp_csum = L4_OFF + offsetof(struct udphdr, check);
	int ip_csum = L3_OFF + offsetof(struct iphdr, check);
	bpf_l4_csum_replace(skb, udp_csum, old_src, vip, BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0 | 4);
	bpf_l4_csum_replace(skb, udp_csum, vip, addr, BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0 | 4);
	bpf_l4_csum_replace(skb, udp_csum, old_sport, vport, BPF_F_MARK_MANGLED_0 | 2);
	bpf_l4_csum_replace(skb, udp_csum, old_dport, port, BPF_F_MARK_MANGLED_0 | 2);
	bpf_l3_csum_replace(skb, ip_csum, old_src, vip, 4);
	bpf_l3_csum_replace(skb, ip_csum, vip, addr, 4);
	bpf_skb_store_bytes(skb, L3_OFF + offsetof(struct iphdr, saddr), &vip, 4, 0);
	bpf_skb_store_bytes(skb, L3_OFF + offsetof(struct iphdr, daddr), &addr, 4, 0);
	bpf_skb_store_bytes(skb, L4_OFF + offsetof(struct udphdr, source), &vport, 2, 0);
	bpf_skb_store_bytes(skb, L4_OFF + offsetof(struct udphdr, dest), &port, 2, 0);
	int rc = forward(skb, s, vip, addr, tot_len);
	if (rc < 0 || rc == TC_ACT_SHOT) {
		drop(lc, 1, D_SEND_ERROR);
		return TC_ACT_SHOT;
	}
	lc->c[C_PKTS_TO_EP]++;
	lc->c[C_BYTES_TO_EP] += len;
	return rc;
}

static __noinline int from_endpoint(struct __sk_buff *skb, struct scratch *s)
{
	__u32 listener = s->listener;
	struct listener_cfg *cfg = bpf_map_lookup_elem(&listeners, &listener);
	struct listener_counters *lc = bpf_map_lookup_elem(&listener_stats, &listener);
	__u32 zero = 0;
	struct state *st = bpf_map_lookup_elem(&state, &zero);
	__u64 *clk = bpf_map_lookup_elem(&clock, &zero);
	if (!cfg || !lc || !st || !clk)
		return TC_ACT_SHOT;
	__u64 now = *clk;
	struct iphdr *ip = &s->ip;
	struct udphdr *udp = &s->udp;
	__u32 len = bpf_ntohs(udp->len) - 8;
	lc->c[C_PKTS_FROM_EP]++;
	lc->c[C_BYTES_FROM_EP] += len;
	struct geneve g;
	int code = decode_geneve(skb, len, cfg->option_class, s, &g, 1);
	if (code >= 0) {
		drop(lc, 0, code);
		return TC_ACT_SHOT;
	}
	struct inner in;
	code = parse_inner(skb, GENEVE_OFF + 8 + g.opt_len, g.payload_len, g.protocol, s, &in);
	if (code >= 0) {
		drop(lc, 0, code);
		return TC_ACT_SHOT;
	}
	__u32 ep_addr = ip->saddr, vip = ip->daddr;
	__u16 ep_port = udp->source;
	__u16 tot_len = bpf_ntohs(ip->tot_len);

	if (cfg->flags & L_BYPASS) {
		/* Swapping addresses and ports leaves both checksums as they are. */
		__u16 dport = udp->dest;
		bpf_skb_store_bytes(skb, L3_OFF + offsetof(struct iphdr, saddr), &vip, 4, 0);
		bpf_skb_store_bytes(skb, L3_OFF + offsetof(struct iphdr, daddr), &ep_addr, 4, 0);
		bpf_skb_store_bytes(skb, L4_OFF + offsetof(struct udphdr, source), &dport, 2, 0);
		bpf_skb_store_bytes(skb, L4_OFF + offsetof(struct udphdr, dest), &ep_port, 2, 0);
		int rc = forward(skb, s, vip, ep_addr, tot_len);
		if (rc < 0 || rc == TC_ACT_SHOT) {
			drop(lc, 0, D_SEND_ERROR);
			return TC_ACT_SHOT;
		}
		lc->c[C_PKTS_TO_EP]++;
		lc->c[C_BYTES_TO_EP] += len;
		return rc;
	}

	struct group_cfg *gc = bpf_map_lookup_elem(&groups, &cfg->group);
	if (!gc)
		return TC_ACT_SHOT;
	struct flow_key *key = &s->key;
	int src_is_lo = 1;
	key->listener = cfg->tag;
	key->mode = gc->mode;
	__u32 hash = flow_key_of(s, &in, gc->mode, key, &src_is_lo);
	struct flow_val *v = bpf_map_lookup_elem(&flows, key);
	if (v) {
		if (expired(v, cfg, now)) {
			lc->c[C_EXPIRED]++;
			v = 0;
		} else if (!keeps(v->appliance)) {
			lc->c[C_RESCHEDULED]++;
			v = 0;
		}
	}
	if (!v) {
		__u32 size = gc->size;
		if (size == 0 || size > MAGLEV_STRIDE) {
			drop(lc, 0, D_NO_APPLIANCE);
			return TC_ACT_SHOT;
		}
		__u32 slot = cfg->group * MAGLEV_STRIDE + hash % size;
		__u32 *owner = bpf_map_lookup_elem(&maglev, &slot);
		if (!owner || *owner == 0) {
			drop(lc, 0, D_NO_APPLIANCE);
			return TC_ACT_SHOT;
		}
		struct flow_val *nv = &s->nv;
		__builtin_memset(nv, 0, sizeof(*nv));
		nv->appliance = *owner - 1;
		__u32 id = __sync_fetch_and_add(&st->next_id, 1) & 0x7fffffff;
		if (id == 0)
			id = __sync_fetch_and_add(&st->next_id, 1) & 0x7fffffff;
		nv->id = id;
		nv->last_seen = now;
		nv->initiator_lo = src_is_lo;
		nv->tcp = in.protocol == IPPROTO_TCP;
		if (bpf_map_update_elem(&flows, key, nv, BPF_ANY) < 0) {
			drop(lc, 0, D_SEND_ERROR);
			return TC_ACT_SHOT;
		}
		bpf_map_update_elem(&cookies, &id, key, BPF_ANY);
		v = bpf_map_lookup_elem(&flows, key);
		if (!v) {
			drop(lc, 0, D_SEND_ERROR);
			return TC_ACT_SHOT;
		}
		lc->c[C_CREATED]++;
		__u32 chosen = nv->appliance;
		struct appliance_counters *ac = bpf_map_lookup_elem(&appliance_stats, &chosen);
		if (ac)
			ac->flows++;
	} else {
		v->last_seen = now;
		if (in.protocol == IPPROTO_TCP)
			v->tcp = 1;
	}
	int dir = src_is_lo == v->initiator_lo ? 0 : 1;
	if (dir) {
		v->ep_addr[1] = ep_addr;
		v->ep_port[1] = ep_port;
	} else {
		v->ep_addr[0] = ep_addr;
		v->ep_port[0] = ep_port;
	}
	__u32 appliance = v->appliance;
	__u32 cookie = ((__u32)dir << 31) | v->id;
	struct appliance_cfg *a = bpf_map_lookup_elem(&appliances, &appliance);
	if (!a) {
		drop(lc, 0, D_NO_APPLIANCE);
		return TC_ACT_SHOT;
	}
	__u32 ap_addr = a->addr;
	__u16 ap_port = bpf_htons((__u16)a->port);

	/* The new UDP + GENEVE header: foreign options are already at hdr + 16. */
	__u32 f = g.foreign_len;
	__u32 new_opts = f + GWLB_OPTS_LEN;
	if (new_opts > MAX_OPTS) {
		drop(lc, 0, D_OPTIONS_TOO_LONG);
		return TC_ACT_SHOT;
	}
	__u8 *h = s->hdr;
	__u32 new_len = len - g.opt_len + new_opts; /* UDP payload */
	__u16 udp_len = bpf_htons(new_len + 8);
	__u16 vport = bpf_htons(GENEVE_PORT);
	__builtin_memcpy(h, &vport, 2);
	__builtin_memcpy(h + 2, &ap_port, 2);
	__builtin_memcpy(h + 4, &udp_len, 2);
	h[6] = 0; /* checksum: none (IPv4 allows it; the options changed the datagram) */
	h[7] = 0;
	h[8] = new_opts >> 2;
	h[9] = g.foreign_critical ? 0x40 : 0;
	h[10] = g.protocol >> 8;
	h[11] = g.protocol & 0xff;
	h[12] = g.vni[0];
	h[13] = g.vni[1];
	h[14] = g.vni[2];
	h[15] = 0;
	__u32 w = (16 + f) & 0x1ff;
	if (w + GWLB_OPTS_LEN > sizeof(s->hdr))
		return TC_ACT_SHOT;
	__u8 *o = h + w;
	__u8 chi = cfg->option_class >> 8, clo = cfg->option_class & 0xff;
	o[0] = chi; o[1] = clo; o[2] = 1; o[3] = 2;
	put32(o + 4, bpf_ntohs(ep_port));
	__builtin_memcpy(o + 8, &ep_addr, 4);
	o[12] = chi; o[13] = clo; o[14] = 2; o[15] = 2;
	put32(o + 16, cfg->att_hi);
	put32(o + 20, cfg->att_lo);
	o[24] = chi; o[25] = clo; o[26] = 3; o[27] = 1;
	put32(o + 28, cookie);

	int delta = (int)new_opts - (int)g.opt_len;
	if (delta != 0 && bpf_skb_adjust_room(skb, delta, BPF_ADJ_ROOM_NET, 0) < 0) {
		drop(lc, 0, D_SEND_ERROR);
		return TC_ACT_SHOT;
	}
	__u32 hdr_len = new_opts;
	asm volatile("" : "+r"(hdr_len));
	hdr_len = (hdr_len & 0xfc) + 16;
	if (bpf_skb_store_bytes(skb, L4_OFF, s->hdr, hdr_len, 0) < 0) {
		drop(lc, 0, D_SEND_ERROR);
		return TC_ACT_SHOT;
	}
	struct iphdr nip;
	if (bpf_skb_load_bytes(skb, L3_OFF, &nip, sizeof(nip)) < 0)
		return TC_ACT_SHOT;
	tot_len = tot_len + delta;
	nip.tot_len = bpf_htons(tot_len);
	nip.saddr = vip;
	nip.daddr = ap_addr;
	nip.check = 0;
	nip.check = ip_checksum(&nip);
	bpf_skb_store_bytes(skb, L3_OFF, &nip, sizeof(nip), 0);
	int rc = forward(skb, s, vip, ap_addr, tot_len);
	if (rc < 0 || rc == TC_ACT_SHOT) {
		drop(lc, 0, D_SEND_ERROR);
		return TC_ACT_SHOT;
	}
	lc->c[C_PKTS_TO_AP]++;
	lc->c[C_BYTES_TO_AP] += new_len;
	struct appliance_counters *ac = bpf_map_lookup_elem(&appliance_stats, &appliance);
	if (ac) {
		ac->pkts_to++;
		ac->bytes_to += new_len;
	}
	return rc;
}

SEC("tc")
int gwlb_ingress(struct __sk_buff *skb)
{
	if (skb->protocol != bpf_htons(ETH_P_IP))
		return TC_ACT_UNSPEC;
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch_buf, &zero);
	if (!s)
		return TC_ACT_UNSPEC;
	struct iphdr ip;
	struct udphdr udp;
	if (bpf_skb_load_bytes(skb, L3_OFF, &ip, sizeof(ip)) < 0)
		return TC_ACT_UNSPEC;
	if (ip.protocol != IPPROTO_UDP)
		return TC_ACT_UNSPEC;
	__u32 *lp = bpf_map_lookup_elem(&vips, &ip.daddr);
	if (!lp)
		return TC_ACT_UNSPEC;
	if (ip.ihl != 5 || (ip.frag_off & bpf_htons(0x3fff)))
		return TC_ACT_UNSPEC; /* outer options or fragments: left to the stack (not forwarded) */
	if (bpf_skb_load_bytes(skb, L4_OFF, &udp, sizeof(udp)) < 0)
		return TC_ACT_UNSPEC;
	if (udp.dest != bpf_htons(GENEVE_PORT))
		return TC_ACT_UNSPEC;
	__u32 listener = *lp;
	struct listener_cfg *cfg = bpf_map_lookup_elem(&listeners, &listener);
	if (!cfg || !(cfg->flags & L_ACTIVE))
		return TC_ACT_UNSPEC;
	if (bpf_ntohs(udp.len) < 8 || bpf_ntohs(udp.len) > skb->len - L4_OFF)
		return TC_ACT_SHOT;
	s->listener = listener;
	s->ip = ip;
	s->udp = udp;
	struct group_addr ga = { .group = cfg->group, .addr = ip.saddr };
	__u32 *ap = bpf_map_lookup_elem(&appliance_by_addr, &ga);
	if (ap) {
		s->appliance = *ap;
		return from_appliance(skb, s);
	}
	return from_endpoint(skb, s);
}

char LICENSE[] SEC("license") = "GPL";
