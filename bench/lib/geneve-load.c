// GENEVE load for the GWLB bench (bench/geneve.ts). Two modes:
//
//   geneve-load reflect <addr> <seconds> <flows-file>
//       an appliance: receives GENEVE on <addr>:6081 and returns every datagram unchanged to its
//       sender (the one-arm hairpin); writes the inner flows it saw ("flow packets" lines).
//   geneve-load load <bind-addr> <target-addr> <target-port> <flows> <inner-bytes> <pps> <seconds>
//       an endpoint: sends GENEVE (no options) carrying inner IPv4/UDP packets of <inner-bytes>
//       over <flows> inner flows at <pps>, receives what comes back, and prints one JSON line:
//       sent, received, round-trip p50/p99 in microseconds. (Stickiness is checked from the
//       appliances' flow lists: no flow may show up on two.)
//
// Built by the bench with the system C compiler. sendmmsg / recvmmsg in batches keep the
// generator far cheaper per packet than what it measures.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MAX_DGRAM 2048
#define MAX_FLOWS 4096
#define HIST_US 200000

static volatile int stop;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int udp_socket(const char *addr, int port)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	int size = 16 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size);
	struct timeval tv = {0, 100000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	inet_pton(AF_INET, addr, &sa.sin_addr);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		perror("bind");
		exit(1);
	}
	return fd;
}

static uint16_t csum(const uint8_t *p, int n)
{
	uint32_t s = 0;
	for (int i = 0; i + 1 < n; i += 2)
		s += (p[i] << 8) | p[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return ~s;
}

/* The inner flow of a GENEVE datagram without options: inner UDP source port - 10000. */
static int flow_of(const uint8_t *d, int n)
{
	if (n < 8)
		return -1;
	int off = 8 + (d[0] & 0x3f) * 4;
	if (n < off + 28)
		return -1;
	int ihl = (d[off] & 0x0f) * 4;
	if (n < off + ihl + 4)
		return -1;
	int port = (d[off + ihl] << 8) | d[off + ihl + 1];
	return port - 10000;
}

static void handle_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int reflect(const char *addr, int seconds, const char *out)
{
	int fd = udp_socket(addr, 6081);
	static uint8_t bufs[BATCH][MAX_DGRAM];
	static struct sockaddr_in from[BATCH];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	static uint64_t seen[MAX_FLOWS];
	uint64_t total = 0;
	signal(SIGTERM, handle_term);
	signal(SIGINT, handle_term);
	uint64_t end = now_ns() + (uint64_t)seconds * 1000000000ull;
	while (!stop && now_ns() < end) {
		for (int i = 0; i < BATCH; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = MAX_DGRAM;
			msgs[i].msg_hdr = (struct msghdr){.msg_name = &from[i], .msg_namelen = sizeof from[i], .msg_iov = &iov[i], .msg_iovlen = 1};
		}
		int n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
		if (n <= 0)
			continue;
		for (int i = 0; i < n; i++) {
			iov[i].iov_len = msgs[i].msg_len;
			int f = flow_of(bufs[i], msgs[i].msg_len);
			if (f >= 0 && f < MAX_FLOWS)
				seen[f]++;
		}
		total += n;
		int sent = 0;
		while (sent < n) {
			int r = sendmmsg(fd, msgs + sent, n - sent, 0);
			if (r <= 0)
				break;
			sent += r;
		}
	}
	FILE *f = fopen(out, "w");
	if (f) {
		for (int i = 0; i < MAX_FLOWS; i++)
			if (seen[i])
				fprintf(f, "%d %llu\n", i, (unsigned long long)seen[i]);
		fclose(f);
	}
	fprintf(stderr, "reflected %llu datagrams\n", (unsigned long long)total);
	return 0;
}

struct load {
	int fd;
	struct sockaddr_in target;
	int flows, inner, pps, seconds;
	uint64_t sent, received;
	uint64_t hist[HIST_US + 1];
	volatile int sending;
};

static int build(uint8_t *d, int flow, int inner, uint64_t seq)
{
	memset(d, 0, 8 + inner);
	d[2] = 0x08; /* protocol IPv4 */
	d[4] = flow >> 16;
	d[5] = flow >> 8;
	d[6] = flow;
	uint8_t *ip = d + 8;
	ip[0] = 0x45;
	ip[2] = inner >> 8;
	ip[3] = inner & 0xff;
	ip[8] = 64;
	ip[9] = 17;
	ip[12] = 10, ip[13] = 9, ip[14] = flow >> 8, ip[15] = flow & 0xff;
	ip[16] = 10, ip[17] = 10, ip[18] = 0, ip[19] = 1;
	uint16_t c = csum(ip, 20);
	ip[10] = c >> 8;
	ip[11] = c & 0xff;
	uint8_t *udp = ip + 20;
	int port = 10000 + flow;
	udp[0] = port >> 8, udp[1] = port & 0xff;
	udp[2] = 0, udp[3] = 53;
	udp[4] = (inner - 20) >> 8, udp[5] = (inner - 20) & 0xff;
	uint64_t t = now_ns();
	memcpy(udp + 8, &seq, 8);
	memcpy(udp + 16, &t, 8);
	return 8 + inner;
}

static void *receiver(void *arg)
{
	struct load *l = arg;
	static uint8_t bufs[BATCH][MAX_DGRAM];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	uint64_t quiet_until = 0;
	for (;;) {
		for (int i = 0; i < BATCH; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = MAX_DGRAM;
			msgs[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i], .msg_iovlen = 1};
		}
		int n = recvmmsg(l->fd, msgs, BATCH, MSG_WAITFORONE, NULL);
		uint64_t now = now_ns();
		if (!l->sending) {
			if (quiet_until == 0)
				quiet_until = now + 300000000ull; /* late returns for 300 ms */
			if (now > quiet_until)
				break;
		}
		if (n <= 0)
			continue;
		for (int i = 0; i < n; i++) {
			uint8_t *d = bufs[i];
			int len = msgs[i].msg_len;
			if (len < 8)
				continue;
			int off = 8 + (d[0] & 0x3f) * 4 + 20 + 8;
			if (len < off + 16)
				continue;
			uint64_t t;
			memcpy(&t, d + off + 8, 8);
			uint64_t us = (now - t) / 1000;
			l->hist[us > HIST_US ? HIST_US : us]++;
			l->received++;
		}
	}
	return NULL;
}

static uint64_t pct(struct load *l, double p)
{
	uint64_t want = (uint64_t)(l->received * p), seen = 0;
	for (int i = 0; i <= HIST_US; i++) {
		seen += l->hist[i];
		if (seen > want)
			return i;
	}
	return HIST_US;
}

static int load(const char *bind_addr, const char *target, int port, int flows, int inner, int pps, int seconds)
{
	static struct load l;
	l.fd = udp_socket(bind_addr, 0);
	l.target = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(port)};
	inet_pton(AF_INET, target, &l.target.sin_addr);
	l.flows = flows, l.inner = inner, l.pps = pps, l.seconds = seconds;
	l.sending = 1;
	pthread_t rx;
	pthread_create(&rx, NULL, receiver, &l);
	static uint8_t bufs[BATCH][MAX_DGRAM];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	uint64_t start = now_ns(), end = start + (uint64_t)seconds * 1000000000ull;
	uint64_t seq = 0;
	for (;;) {
		uint64_t now = now_ns();
		if (now >= end)
			break;
		uint64_t due = (uint64_t)((double)(now - start) * pps / 1e9);
		if (due <= l.sent) {
			struct timespec ts = {0, 50000};
			nanosleep(&ts, NULL);
			continue;
		}
		int n = due - l.sent > BATCH ? BATCH : (int)(due - l.sent);
		for (int i = 0; i < n; i++) {
			int len = build(bufs[i], (int)(seq % flows), inner, seq);
			seq++;
			iov[i] = (struct iovec){bufs[i], len};
			msgs[i].msg_hdr = (struct msghdr){.msg_name = &l.target, .msg_namelen = sizeof l.target, .msg_iov = &iov[i], .msg_iovlen = 1};
		}
		int r = sendmmsg(l.fd, msgs, n, 0);
		/* A datagram the kernel refused counts as sent and lost: the offered rate is what matters. */
		l.sent += n;
		(void)r;
	}
	l.sending = 0;
	pthread_join(rx, NULL);
	printf("{\"sent\":%llu,\"received\":%llu,\"p50_us\":%llu,\"p99_us\":%llu}\n", (unsigned long long)l.sent,
	       (unsigned long long)l.received, (unsigned long long)pct(&l, 0.5), (unsigned long long)pct(&l, 0.99));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "reflect"))
		return reflect(argv[2], atoi(argv[3]), argv[4]);
	if (argc == 9 && !strcmp(argv[1], "load"))
		return load(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]), atoi(argv[6]), atoi(argv[7]), atoi(argv[8]));
	fprintf(stderr, "usage: %s reflect <addr> <seconds> <flows-file> | load <bind> <target> <port> <flows> <inner> <pps> <seconds>\n", argv[0]);
	return 2;
}
