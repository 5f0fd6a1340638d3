/*
 * Kernel-to-kernel TCP relay for the user-space engine, and the native connection path of
 * plain-TCP listeners.
 *
 * Two ways in:
 * - add(): JS has accepted a client, connected the backend and hands both sockets over.
 * - listen(): the epoll thread accepts on a listening socket itself (accept4, a batch per
 *   wakeup) and reports each client to JS; JS decides (CPS, faults, the scheduler's pick, the
 *   PROXY header) and answers connect() or reject(). connect() starts a non-blocking connect
 *   whose completion, failure or timeout the epoll thread sees; a failure goes back to JS,
 *   which retries another backend or rejects. No Node socket is ever made for such a client.
 * From then on the bytes move socket -> pipe -> socket with splice(2) and never enter JS.
 *
 * One epoll thread per process serves every relay (edge-triggered) and listener (level-
 * triggered, EPOLLEXCLUSIVE, so that worker processes sharing one listening socket are not all
 * woken for each connection). Each relay owns its descriptors and one pipe per direction. A
 * direction that reads end-of-file shuts the other socket's write side once its pipe is empty
 * (half-close passes through); the relay ends when both directions are shut, on an error
 * (the surviving peer is reset, as a reset passes through a load balancer), or when JS asks.
 * Byte counts live in a Float64Array JS reads whenever it likes (idle sweep, metrics scrape).
 * Everything the thread tells JS (accepted, connect failed, ended) is queued as fixed-size
 * records and delivered in one thread-safe-function call per loop iteration; an ended slot is
 * reused only after JS has seen its record.
 *
 * No SPLICE_F_MORE toward the sockets: it makes the kernel hold back small replies.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <node_api.h>

#define MAX_RELAYS 65536
#define MAX_LISTENERS 4096
#define PIPE_CHUNK (1 << 20)
#define ACCEPT_BATCH 64
#define CMD_TAG UINT64_MAX
#define LISTENER_FLAG (1ull << 62)
#define GEN_MASK 0x3fffffffu
/* accept4 failing for want of descriptors or memory: the listener rests this long. */
#define ACCEPT_PAUSE_MS 100

enum reason { REASON_DONE = 0, REASON_CLIENT_ERROR = 1, REASON_BACKEND_ERROR = 2, REASON_ABORTED = 3 };
/* PENDING: accepted (or its connect failed), JS decides; ENDED: closed, JS has yet to see it. */
enum state { ST_FREE = 0, ST_PENDING, ST_CONNECTING, ST_ACTIVE, ST_ENDED };
enum record_kind { REC_ACCEPTED = 1, REC_CONNECT_FAILED = 2, REC_ENDED = 3 };
enum command { CMD_ABORT = 1, CMD_WATCH = 2, CMD_REJECT = 3 };
/* Doubles per record: kind, slot, then four numbers, then the client address as 4 words. */
#define RECORD 10

struct direction {
  int from, to;
  int pipe_r, pipe_w;
  size_t in_pipe;
  int eof;  /* `from` has no more to give */
  int shut; /* `to` has had its write side shut */
  size_t uncounted; /* bytes of ours (the PROXY header) still to pass before counting */
};

struct relay {
  int used; /* slot allocated (until JS has seen the end) */
  int state;
  uint32_t gen;
  int fd[2]; /* 0 client, 1 backend */
  struct direction dir[2]; /* 0 client->backend, 1 backend->client */
  int64_t deadline; /* connect timeout (CLOCK_MONOTONIC ms) while connecting */
  int prev, next;   /* the connecting list, in deadline order */
};

struct listener {
  int fd;
  uint32_t id;
  int paused;
};

struct batch {
  int count, cap;
  double records[];
};

static struct relay *relays;
static double *counters; /* 2 per slot: bytes delivered client->backend, backend->client */
static int *free_slots;
static int free_count;
static int epfd = -1, cmdfd = -1;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t *cmd_queue;
static int cmd_count;
#define CMD_CAP (4 * MAX_RELAYS)
static napi_threadsafe_function on_events;
/* Empty pipes of ended relays, reused by new ones: two pipe2() and four close() fewer per
 * connection, which shows in the new-connection rate. */
#define PIPE_POOL_MAX 4096
static int pipe_pool[PIPE_POOL_MAX][2];
static int pipe_pool_count;
static int started;
/* Listeners: the table is changed by JS (listen/unlisten) and read by the thread, under
 * listen_lock, so that a descriptor is never closed while the thread accepts on it. */
static pthread_mutex_t listen_lock = PTHREAD_MUTEX_INITIALIZER;
static struct listener listeners[MAX_LISTENERS];
static uint32_t next_listener_id = 1;
static int listener_refs;
static int64_t resume_listeners_at; /* 0: none paused */
/* Thread-only state. */
static struct batch *pending_batch;
static int connecting_head = -1, connecting_tail = -1;

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t tag(int slot, int side) {
  return ((uint64_t)(relays[slot].gen & GEN_MASK) << 32) | ((uint64_t)slot << 1) | (uint64_t)side;
}

static int load_state(int slot) {
  return __atomic_load_n(&relays[slot].state, __ATOMIC_ACQUIRE);
}

static void set_state(int slot, int state) {
  __atomic_store_n(&relays[slot].state, state, __ATOMIC_RELEASE);
}

/* --- records to JS (thread side) --- */

static double *new_record(int kind, int slot) {
  struct batch *b = pending_batch;
  if (!b || b->count == b->cap) {
    int cap = b ? b->cap * 2 : 64;
    struct batch *grown = realloc(b, sizeof *b + sizeof(double) * RECORD * (size_t)cap);
    if (!grown) return NULL;
    if (!b) grown->count = 0;
    grown->cap = cap;
    pending_batch = b = grown;
  }
  double *r = &b->records[RECORD * b->count++];
  memset(r, 0, sizeof(double) * RECORD);
  r[0] = kind;
  r[1] = slot;
  return r;
}

static void flush_records(void) {
  struct batch *b = pending_batch;
  if (!b || b->count == 0) return;
  pending_batch = NULL;
  /* An undelivered batch would leak its slots; JS being gone means the process is ending. */
  if (napi_call_threadsafe_function(on_events, b, napi_tsfn_nonblocking) != napi_ok) free(b);
}

/* --- pipes --- */

static int take_pipe(int out[2]) {
  pthread_mutex_lock(&lock);
  int pooled = pipe_pool_count > 0;
  if (pooled) {
    pipe_pool_count--;
    out[0] = pipe_pool[pipe_pool_count][0];
    out[1] = pipe_pool[pipe_pool_count][1];
  }
  pthread_mutex_unlock(&lock);
  if (pooled) return 0;
  return pipe2(out, O_NONBLOCK | O_CLOEXEC) == 0 ? 0 : errno;
}

static void give_pipe(int r, int w, int empty) {
  if (r < 0) return;
  pthread_mutex_lock(&lock);
  int kept = empty && pipe_pool_count < PIPE_POOL_MAX;
  if (kept) {
    pipe_pool[pipe_pool_count][0] = r;
    pipe_pool[pipe_pool_count][1] = w;
    pipe_pool_count++;
  }
  pthread_mutex_unlock(&lock);
  if (!kept) {
    close(r);
    close(w);
  }
}

static void release_slot(int slot) {
  pthread_mutex_lock(&lock);
  relays[slot].used = 0;
  relays[slot].state = ST_FREE;
  free_slots[free_count++] = slot;
  pthread_mutex_unlock(&lock);
}

static int claim_slot(void) {
  pthread_mutex_lock(&lock);
  int slot = free_count > 0 ? free_slots[--free_count] : -1;
  if (slot >= 0) relays[slot].used = 1;
  pthread_mutex_unlock(&lock);
  return slot;
}

static void queue_command(int op, int slot) {
  pthread_mutex_lock(&lock);
  int was_empty = cmd_count == 0;
  int queued = cmd_count < CMD_CAP;
  if (queued) cmd_queue[cmd_count++] = ((uint32_t)op << 24) | (uint32_t)slot;
  pthread_mutex_unlock(&lock);
  /* One eventfd write per batch of commands: the thread drains them all at once. */
  if (queued && was_empty) {
    uint64_t one = 1;
    if (write(cmdfd, &one, sizeof one) < 0) { /* the counter is already non-zero */ }
  }
}

/* --- the connecting list (thread side) --- */

static void unlink_connecting(int slot) {
  struct relay *r = &relays[slot];
  if (r->prev >= 0) relays[r->prev].next = r->next;
  else if (connecting_head == slot) connecting_head = r->next;
  else return; /* not linked */
  if (r->next >= 0) relays[r->next].prev = r->prev;
  else connecting_tail = r->prev;
  r->prev = r->next = -1;
}

static void link_connecting(int slot) {
  struct relay *r = &relays[slot];
  int after = connecting_tail;
  /* Timeouts are nearly all equal: the new one almost always goes last. */
  while (after >= 0 && relays[after].deadline > r->deadline) after = relays[after].prev;
  r->prev = after;
  r->next = after >= 0 ? relays[after].next : connecting_head;
  if (r->next >= 0) relays[r->next].prev = slot;
  else connecting_tail = slot;
  if (after >= 0) relays[after].next = slot;
  else connecting_head = slot;
}

/* --- ending (thread side) --- */

static void close_relay(int slot, int reason, int err) {
  struct relay *r = &relays[slot];
  if (r->state == ST_CONNECTING) unlink_connecting(slot);
  set_state(slot, ST_ENDED); /* the slot waits for JS to see the end */
  if (reason == REASON_CLIENT_ERROR || reason == REASON_BACKEND_ERROR) {
    /* A reset on one side becomes a reset on the other, not a clean end-of-stream. */
    struct linger hard = {1, 0};
    int survivor = reason == REASON_CLIENT_ERROR ? r->fd[1] : r->fd[0];
    setsockopt(survivor, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  }
  for (int s = 0; s < 2; s++) {
    /* Closing removes the descriptor from the epoll set (nothing else holds it). */
    if (r->fd[s] >= 0) close(r->fd[s]);
    r->fd[s] = -1;
    struct direction *x = &r->dir[s];
    give_pipe(x->pipe_r, x->pipe_w, x->in_pipe == 0);
    x->pipe_r = x->pipe_w = -1;
  }
  double *rec = new_record(REC_ENDED, slot);
  if (!rec) return; /* the slot leaks rather than the process crashing */
  rec[2] = reason;
  rec[3] = err;
  rec[4] = counters[2 * slot];
  rec[5] = counters[2 * slot + 1];
}

/* Moves what it can in one direction; returns 1 if anything moved, 0 if blocked, <0 on error. */
static int pump(struct relay *r, int d, double *count, int *err) {
  struct direction *x = &r->dir[d];
  int moved = 0;
  for (;;) {
    int progress = 0;
    if (!x->eof) {
      ssize_t n = splice(x->from, NULL, x->pipe_w, NULL, PIPE_CHUNK, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) {
        x->in_pipe += (size_t)n;
        progress = 1;
      } else if (n == 0) {
        x->eof = 1;
        progress = 1;
      } else if (errno != EAGAIN && errno != EINTR) {
        *err = errno;
        return -1;
      }
    }
    if (x->in_pipe > 0) {
      ssize_t n = splice(x->pipe_r, NULL, x->to, NULL, x->in_pipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) {
        x->in_pipe -= (size_t)n;
        size_t counted = (size_t)n;
        if (x->uncounted > 0) {
          size_t ours = x->uncounted < counted ? x->uncounted : counted;
          x->uncounted -= ours;
          counted -= ours;
        }
        *count += (double)counted;
        progress = 1;
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        *err = errno;
        return -2;
      }
    }
    if (x->eof && x->in_pipe == 0 && !x->shut) {
      shutdown(x->to, SHUT_WR);
      x->shut = 1;
    }
    if (!progress || x->shut) return moved;
    moved = 1;
  }
}

/* Directions to pump for an event on socket `side`: reading it feeds direction `side`, room to
 * write in it drains direction 1 - side. Serving only those halves the splice calls of a
 * one-way stream (each ACK that frees room would otherwise also try to read the idle side). */
static int directions_for(struct relay *r, int side, uint32_t events) {
  int mask = 0;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) mask |= 1 << side;
  if ((events & (EPOLLHUP | EPOLLERR)) || ((events & EPOLLOUT) && r->dir[1 - side].in_pipe > 0)) mask |= 1 << (1 - side);
  return mask;
}

static void service(int slot, int mask) {
  struct relay *r = &relays[slot];
  for (int d = 0; d < 2; d++) {
    if (!(mask & (1 << d))) continue;
    int err = 0;
    int rc = pump(r, d, &counters[2 * slot + d], &err);
    if (rc < 0) {
      /* -1: reading `from` failed; -2: writing `to` failed. Direction 0 reads the client. */
      int client_side = (d == 0) == (rc == -1);
      close_relay(slot, client_side ? REASON_CLIENT_ERROR : REASON_BACKEND_ERROR, err);
      return;
    }
  }
  if (r->dir[0].shut && r->dir[1].shut) close_relay(slot, REASON_DONE, 0);
}

/* --- connecting (thread side) --- */

static void connect_failed(int slot, int err) {
  struct relay *r = &relays[slot];
  unlink_connecting(slot);
  close(r->fd[1]);
  r->fd[1] = -1;
  for (int d = 0; d < 2; d++) {
    struct direction *x = &r->dir[d];
    give_pipe(x->pipe_r, x->pipe_w, d == 1); /* direction 0 still holds the header */
    x->pipe_r = x->pipe_w = -1;
  }
  set_state(slot, ST_PENDING); /* JS decides again: another backend, or the end */
  double *rec = new_record(REC_CONNECT_FAILED, slot);
  if (rec) rec[2] = err;
}

static void connect_event(int slot, uint32_t events) {
  struct relay *r = &relays[slot];
  int soerr = 0;
  socklen_t len = sizeof soerr;
  getsockopt(r->fd[1], SOL_SOCKET, SO_ERROR, &soerr, &len);
  if (soerr != 0 || (events & (EPOLLERR | EPOLLHUP))) {
    connect_failed(slot, soerr != 0 ? soerr : ECONNREFUSED);
    return;
  }
  if (!(events & EPOLLOUT)) return;
  unlink_connecting(slot);
  set_state(slot, ST_ACTIVE);
  service(slot, 3);
}

static void expire_connects(int64_t now) {
  while (connecting_head >= 0 && relays[connecting_head].deadline <= now) connect_failed(connecting_head, ETIMEDOUT);
}

/* --- accepting (thread side) --- */

static void accept_batch(int index) {
  pthread_mutex_lock(&listen_lock);
  struct listener *l = &listeners[index];
  for (int i = 0; i < ACCEPT_BATCH && l->fd >= 0; i++) {
    struct sockaddr_storage addr;
    socklen_t alen = sizeof addr;
    int fd = accept4(l->fd, (struct sockaddr *)&addr, &alen, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        /* Level-triggered would spin: rest the listener and try again shortly. */
        epoll_ctl(epfd, EPOLL_CTL_DEL, l->fd, NULL);
        l->paused = 1;
        resume_listeners_at = now_ms() + ACCEPT_PAUSE_MS;
      }
      break; /* EAGAIN, or a client that left before we took it (ECONNABORTED) */
    }
    int slot = claim_slot();
    if (slot < 0) {
      close(fd); /* the relay table is full */
      continue;
    }
    struct relay *r = &relays[slot];
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    r->gen++;
    r->fd[0] = fd;
    r->fd[1] = -1;
    r->prev = r->next = -1;
    for (int d = 0; d < 2; d++) r->dir[d].pipe_r = r->dir[d].pipe_w = -1;
    set_state(slot, ST_PENDING);
    /* Registered now so that bytes or a reset arriving before the backend is connected are
     * seen when the relay starts (edge-triggered: service() reads whatever is there then). */
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.u64 = tag(slot, 0)};
    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
    double *rec = new_record(REC_ACCEPTED, slot);
    if (!rec) {
      close(fd);
      release_slot(slot);
      continue;
    }
    rec[2] = l->id;
    if (addr.ss_family == AF_INET) {
      struct sockaddr_in *a = (struct sockaddr_in *)&addr;
      rec[3] = ntohs(a->sin_port);
      rec[4] = 4;
      rec[6] = ntohl(a->sin_addr.s_addr);
    } else if (addr.ss_family == AF_INET6) {
      struct sockaddr_in6 *a = (struct sockaddr_in6 *)&addr;
      rec[3] = ntohs(a->sin6_port);
      rec[4] = 6;
      for (int w = 0; w < 4; w++) {
        uint32_t word;
        memcpy(&word, &a->sin6_addr.s6_addr[4 * w], 4);
        rec[6 + w] = ntohl(word);
      }
    }
  }
  pthread_mutex_unlock(&listen_lock);
}

static void resume_listeners(void) {
  pthread_mutex_lock(&listen_lock);
  resume_listeners_at = 0;
  for (int i = 0; i < MAX_LISTENERS; i++) {
    if (listeners[i].fd < 0 || !listeners[i].paused) continue;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.u64 = LISTENER_FLAG | (uint64_t)i};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, listeners[i].fd, &ev) == 0) listeners[i].paused = 0;
  }
  pthread_mutex_unlock(&listen_lock);
}

/* --- commands from JS (thread side) --- */

static void run_commands(void) {
  uint64_t drained;
  if (read(cmdfd, &drained, sizeof drained) < 0) { /* nothing queued */ }
  pthread_mutex_lock(&lock);
  int n = cmd_count;
  uint32_t *batch = malloc(sizeof(uint32_t) * (n > 0 ? n : 1));
  if (batch) memcpy(batch, cmd_queue, sizeof(uint32_t) * n);
  cmd_count = 0;
  pthread_mutex_unlock(&lock);
  if (!batch) return;
  for (int i = 0; i < n; i++) {
    int op = (int)(batch[i] >> 24), slot = (int)(batch[i] & 0xffffff);
    struct relay *r = &relays[slot];
    int state = load_state(slot);
    if (op == CMD_ABORT) {
      if (state == ST_ACTIVE || state == ST_CONNECTING) close_relay(slot, REASON_ABORTED, 0);
    } else if (op == CMD_WATCH) {
      if (state != ST_CONNECTING) continue;
      link_connecting(slot);
      struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.u64 = tag(slot, 1)};
      if (epoll_ctl(epfd, EPOLL_CTL_ADD, r->fd[1], &ev) != 0) connect_failed(slot, errno);
    } else if (op == CMD_REJECT) {
      if (state != ST_PENDING) continue;
      close(r->fd[0]);
      r->fd[0] = -1;
      release_slot(slot);
    }
  }
  free(batch);
}

static void *loop(void *arg) {
  (void)arg;
  struct epoll_event events[256];
  for (;;) {
    int timeout = -1;
    int64_t now = 0;
    if (connecting_head >= 0 || resume_listeners_at != 0) {
      now = now_ms();
      int64_t next = connecting_head >= 0 ? relays[connecting_head].deadline : INT64_MAX;
      if (resume_listeners_at != 0 && resume_listeners_at < next) next = resume_listeners_at;
      timeout = next <= now ? 0 : (int)(next - now);
    }
    int n = epoll_wait(epfd, events, 256, timeout);
    if (n < 0 && errno != EINTR) return NULL;
    for (int i = 0; i < n; i++) {
      uint64_t t = events[i].data.u64;
      if (t == CMD_TAG) {
        run_commands();
        continue;
      }
      if (t & LISTENER_FLAG) {
        accept_batch((int)(t & 0xffff));
        continue;
      }
      int slot = (int)((t & 0xffffffffu) >> 1), side = (int)(t & 1);
      struct relay *r = &relays[slot];
      /* A late event for a relay that has ended (or a slot since reused) is ignored. */
      if ((r->gen & GEN_MASK) != (uint32_t)(t >> 32)) continue;
      int state = load_state(slot);
      if (state == ST_CONNECTING) {
        if (side == 1) connect_event(slot, events[i].events);
        continue;
      }
      if (state != ST_ACTIVE) continue;
      if (events[i].events & EPOLLERR) {
        int soerr = 0;
        socklen_t len = sizeof soerr;
        getsockopt(r->fd[side], SOL_SOCKET, SO_ERROR, &soerr, &len);
        if (soerr != 0) {
          close_relay(slot, side == 0 ? REASON_CLIENT_ERROR : REASON_BACKEND_ERROR, soerr);
          continue;
        }
      }
      service(slot, directions_for(r, side, events[i].events));
    }
    if (connecting_head >= 0 || resume_listeners_at != 0) {
      now = now_ms();
      expire_connects(now);
      if (resume_listeners_at != 0 && resume_listeners_at <= now) resume_listeners();
    }
    flush_records();
  }
}

/* --- JS side --- */

static void call_js(napi_env env, napi_value fn, void *context, void *data) {
  (void)context;
  struct batch *b = data;
  int count = b->count;
  if (env != NULL && fn != NULL) {
    /* A copy in a V8-owned buffer: its memory is counted by the GC, and the batch goes now. */
    napi_value argv[2], buffer, undefined;
    size_t bytes = sizeof(double) * RECORD * (size_t)count;
    void *copy = NULL;
    if (napi_create_arraybuffer(env, bytes, &copy, &buffer) == napi_ok) {
      memcpy(copy, b->records, bytes);
      napi_create_typedarray(env, napi_float64_array, RECORD * (size_t)count, buffer, 0, &argv[0]);
      napi_create_int32(env, count, &argv[1]);
      napi_get_undefined(env, &undefined);
      napi_call_function(env, undefined, fn, 2, argv, NULL);
    }
  }
  /* Ended slots are handed back once JS has seen them. */
  for (int i = 0; i < count; i++)
    if (b->records[RECORD * i] == REC_ENDED) release_slot((int)b->records[RECORD * i + 1]);
  free(b);
}

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char message[160];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  napi_throw_error(env, NULL, message);
  return NULL;
}

static napi_value int_value(napi_env env, int32_t v) {
  napi_value result;
  napi_create_int32(env, v, &result);
  return result;
}

/* start(onEvents) -> Float64Array of byte counts (2 per slot). Call once per process.
 * onEvents(records: Float64Array, count) receives RECORD numbers per event. */
static napi_value start(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], name, buffer, array;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (started) {
    napi_throw_error(env, NULL, "the splice relay is already started in this process");
    return NULL;
  }
  relays = calloc(MAX_RELAYS, sizeof *relays);
  counters = calloc(2 * MAX_RELAYS, sizeof *counters);
  free_slots = malloc(sizeof(int) * MAX_RELAYS);
  cmd_queue = malloc(sizeof(uint32_t) * CMD_CAP);
  if (!relays || !counters || !free_slots || !cmd_queue) return throw_errno(env, "allocating the relay table", ENOMEM);
  for (int i = 0; i < MAX_RELAYS; i++) {
    free_slots[i] = MAX_RELAYS - 1 - i;
    relays[i].fd[0] = relays[i].fd[1] = -1;
    relays[i].prev = relays[i].next = -1;
  }
  free_count = MAX_RELAYS;
  for (int i = 0; i < MAX_LISTENERS; i++) listeners[i].fd = -1;
  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) return throw_errno(env, "epoll_create1", errno);
  cmdfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (cmdfd < 0) return throw_errno(env, "eventfd", errno);
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = CMD_TAG};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, cmdfd, &ev) != 0) return throw_errno(env, "epoll_ctl", errno);
  napi_create_string_utf8(env, "openslb-splice-events", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[0], NULL, name, 0, 1, NULL, NULL, NULL, call_js, &on_events) != napi_ok) {
    napi_throw_error(env, NULL, "cannot create the relay's thread-safe function");
    return NULL;
  }
  /* Relays must not keep the process alive: listening sockets and timers decide that (a
   * native listener refs it while open, as its Node handle would). */
  napi_unref_threadsafe_function(env, on_events);
  pthread_t thread;
  int rc = pthread_create(&thread, NULL, loop, NULL);
  if (rc != 0) return throw_errno(env, "pthread_create", rc);
  pthread_detach(thread);
  started = 1;
  napi_create_external_arraybuffer(env, counters, sizeof(double) * 2 * MAX_RELAYS, NULL, NULL, &buffer);
  napi_create_typedarray(env, napi_float64_array, 2 * MAX_RELAYS, buffer, 0, &array);
  return array;
}

static void reset_direction(struct direction *x, int from, int to, int pipe_r, int pipe_w, size_t header_len) {
  x->from = from;
  x->to = to;
  x->pipe_r = pipe_r;
  x->pipe_w = pipe_w;
  x->in_pipe = header_len;
  x->uncounted = header_len;
  x->eof = 0;
  x->shut = 0;
}

static int header_of(napi_env env, napi_value value, void **data, size_t *len) {
  bool is_buffer = false;
  napi_is_buffer(env, value, &is_buffer);
  if (is_buffer) napi_get_buffer_info(env, value, data, len);
  return is_buffer;
}

/*
 * add(clientFd, backendFd, header?) -> slot, or -1 when the table is full. The descriptors are
 * duplicated: the caller closes its own copies right after (and must not shut them down).
 * `header` (a Buffer, e.g. the PROXY header) goes to the backend before any client byte: it is
 * put in the client->backend pipe first, and not counted as client bytes.
 */
static napi_value add(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fds[2];
  void *header = NULL;
  size_t header_len = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc >= 3) header_of(env, argv[2], &header, &header_len);
  if (!started || argc < 2 || napi_get_value_int32(env, argv[0], &fds[0]) != napi_ok ||
      napi_get_value_int32(env, argv[1], &fds[1]) != napi_ok) {
    napi_throw_type_error(env, NULL, "add(clientFd, backendFd) takes two descriptors, after start()");
    return NULL;
  }
  int slot = claim_slot();
  if (slot < 0) return int_value(env, -1);
  struct relay *r = &relays[slot];
  int pipes[2][2] = {{-1, -1}, {-1, -1}};
  int dups[2] = {-1, -1};
  int err = 0;
  for (int s = 0; s < 2 && !err; s++) {
    dups[s] = fcntl(fds[s], F_DUPFD_CLOEXEC, 0);
    if (dups[s] < 0) err = errno;
    else err = take_pipe(pipes[s]);
  }
  if (!err) {
    for (int s = 0; s < 2; s++) {
      int flags = fcntl(dups[s], F_GETFL);
      fcntl(dups[s], F_SETFL, flags | O_NONBLOCK);
    }
  }
  if (!err && header_len > 0) {
    ssize_t n = write(pipes[0][1], header, header_len);
    if (n != (ssize_t)header_len) err = n < 0 ? errno : EMSGSIZE;
  }
  if (err) {
    for (int s = 0; s < 2; s++) {
      if (dups[s] >= 0) close(dups[s]);
      if (pipes[s][0] >= 0) close(pipes[s][0]);
      if (pipes[s][1] >= 0) close(pipes[s][1]);
    }
    release_slot(slot);
    return throw_errno(env, "setting up a splice relay", err);
  }
  r->gen++;
  r->fd[0] = dups[0];
  r->fd[1] = dups[1];
  r->prev = r->next = -1;
  for (int d = 0; d < 2; d++) reset_direction(&r->dir[d], dups[d], dups[1 - d], pipes[d][0], pipes[d][1], d == 0 ? header_len : 0);
  counters[2 * slot] = 0;
  counters[2 * slot + 1] = 0;
  set_state(slot, ST_ACTIVE);
  for (int s = 0; s < 2; s++) {
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.u64 = tag(slot, s)};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, dups[s], &ev) != 0) err = errno;
  }
  /* Registered halfway: let the thread end it like any other relay, so JS hears of it once. */
  if (err) queue_command(CMD_ABORT, slot);
  return int_value(env, slot);
}

/* abort(slot): ends a relay, or a connect under way (idle timeout, drain, shutdown); its end
 * is reported as usual. */
static napi_value abort_relay(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t slot;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (!started || argc < 1 || napi_get_value_int32(env, argv[0], &slot) != napi_ok || slot < 0 || slot >= MAX_RELAYS) {
    napi_throw_type_error(env, NULL, "abort(slot) takes a slot from add() or an accepted client");
    return NULL;
  }
  if (relays[slot].used) queue_command(CMD_ABORT, slot);
  return NULL;
}

/*
 * connect(slot, ip, port, header?, timeoutMs) -> 0 when the connect is under way (its outcome
 * comes as a record: the relay starts, or a connect-failed record), or the errno of an
 * immediate failure (the slot stays JS's to retry or reject). `slot` is an accepted client
 * JS has not answered yet.
 */
static napi_value connect_backend(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  int32_t slot, port, timeout_ms;
  char ip[64];
  size_t ip_len = 0;
  void *header = NULL;
  size_t header_len = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (!started || argc < 5 || napi_get_value_int32(env, argv[0], &slot) != napi_ok || slot < 0 || slot >= MAX_RELAYS ||
      napi_get_value_string_utf8(env, argv[1], ip, sizeof ip, &ip_len) != napi_ok ||
      napi_get_value_int32(env, argv[2], &port) != napi_ok || napi_get_value_int32(env, argv[4], &timeout_ms) != napi_ok ||
      load_state(slot) != ST_PENDING) {
    napi_throw_type_error(env, NULL, "connect(slot, ip, port, header, timeoutMs) takes an accepted client's slot");
    return NULL;
  }
  header_of(env, argv[3], &header, &header_len);
  struct sockaddr_storage addr;
  socklen_t alen;
  memset(&addr, 0, sizeof addr);
  struct sockaddr_in *a4 = (struct sockaddr_in *)&addr;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&addr;
  if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    alen = sizeof *a4;
  } else if (inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    alen = sizeof *a6;
  } else {
    return int_value(env, EINVAL);
  }
  int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return int_value(env, errno);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (struct sockaddr *)&addr, alen) != 0 && errno != EINPROGRESS) {
    int err = errno;
    close(fd);
    return int_value(env, err);
  }
  int pipes[2][2] = {{-1, -1}, {-1, -1}};
  int err = take_pipe(pipes[0]);
  if (!err) err = take_pipe(pipes[1]);
  if (!err && header_len > 0) {
    ssize_t n = write(pipes[0][1], header, header_len);
    if (n != (ssize_t)header_len) err = n < 0 ? errno : EMSGSIZE;
  }
  if (err) {
    close(fd);
    for (int d = 0; d < 2; d++) {
      if (pipes[d][0] >= 0) close(pipes[d][0]);
      if (pipes[d][1] >= 0) close(pipes[d][1]);
    }
    return int_value(env, err);
  }
  struct relay *r = &relays[slot];
  r->fd[1] = fd;
  for (int d = 0; d < 2; d++) reset_direction(&r->dir[d], r->fd[d], r->fd[1 - d], pipes[d][0], pipes[d][1], d == 0 ? header_len : 0);
  counters[2 * slot] = 0;
  counters[2 * slot + 1] = 0;
  r->deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
  set_state(slot, ST_CONNECTING);
  queue_command(CMD_WATCH, slot);
  return int_value(env, 0);
}

/* reject(slot): closes an accepted client JS will not serve (CPS, a fault, no backend). */
static napi_value reject(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t slot;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (!started || argc < 1 || napi_get_value_int32(env, argv[0], &slot) != napi_ok || slot < 0 || slot >= MAX_RELAYS) {
    napi_throw_type_error(env, NULL, "reject(slot) takes an accepted client's slot");
    return NULL;
  }
  queue_command(CMD_REJECT, slot);
  return NULL;
}

/*
 * listen(fd) -> [id, ownFd]: the thread accepts on a dup() of a listening socket from now on
 * (the caller closes its own copy). `id` comes back in each accepted record; `ownFd` is the
 * addon's descriptor, for socket options. The process is kept alive while any is open.
 */
static napi_value listen_on(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  int32_t fd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (!started || argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
    napi_throw_type_error(env, NULL, "listen(fd) takes a listening socket's descriptor, after start()");
    return NULL;
  }
  int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (own < 0) return throw_errno(env, "dup of the listening socket", errno);
  fcntl(own, F_SETFL, fcntl(own, F_GETFL) | O_NONBLOCK);
  pthread_mutex_lock(&listen_lock);
  int index = -1;
  for (int i = 0; i < MAX_LISTENERS && index < 0; i++)
    if (listeners[i].fd < 0) index = i;
  int err = index < 0 ? EMFILE : 0;
  uint32_t id = 0;
  if (!err) {
    id = next_listener_id++;
    listeners[index].fd = own;
    listeners[index].id = id;
    listeners[index].paused = 0;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.u64 = LISTENER_FLAG | (uint64_t)index};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, own, &ev) != 0) {
      err = errno;
      listeners[index].fd = -1;
    }
  }
  pthread_mutex_unlock(&listen_lock);
  if (err) {
    close(own);
    return throw_errno(env, "native listener", err);
  }
  if (listener_refs++ == 0) napi_ref_threadsafe_function(env, on_events);
  napi_value v;
  napi_create_array_with_length(env, 2, &result);
  napi_create_uint32(env, id, &v);
  napi_set_element(env, result, 0, v);
  napi_create_int32(env, own, &v);
  napi_set_element(env, result, 1, v);
  return result;
}

/* unlisten(id): stops accepting and closes the addon's copy of the listening socket now. */
static napi_value unlisten(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  uint32_t id;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (!started || argc < 1 || napi_get_value_uint32(env, argv[0], &id) != napi_ok) {
    napi_throw_type_error(env, NULL, "unlisten(id) takes an id from listen()");
    return NULL;
  }
  int found = 0;
  pthread_mutex_lock(&listen_lock);
  for (int i = 0; i < MAX_LISTENERS; i++) {
    if (listeners[i].fd < 0 || listeners[i].id != id) continue;
    if (!listeners[i].paused) epoll_ctl(epfd, EPOLL_CTL_DEL, listeners[i].fd, NULL);
    close(listeners[i].fd);
    listeners[i].fd = -1;
    found = 1;
  }
  pthread_mutex_unlock(&listen_lock);
  if (found && --listener_refs == 0) napi_unref_threadsafe_function(env, on_events);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  static const struct {
    const char *name;
    napi_callback fn;
  } methods[] = {
      {"start", start},   {"add", add},       {"abort", abort_relay}, {"connect", connect_backend},
      {"reject", reject}, {"listen", listen_on}, {"unlisten", unlisten},
  };
  for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
    napi_value fn;
    napi_create_function(env, methods[i].name, NAPI_AUTO_LENGTH, methods[i].fn, NULL, &fn);
    napi_set_named_property(env, exports, methods[i].name, fn);
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
