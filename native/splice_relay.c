/*
 * Kernel-to-kernel TCP relay for the user-space engine. After JS has accepted a client,
 * connected the backend and written any PROXY header, it hands both sockets here; from then
 * on the bytes move socket -> pipe -> socket with splice(2) and never enter JS.
 *
 * One epoll thread per process serves every relay (edge-triggered). Each relay owns dup()s of
 * the two descriptors (JS closes its own copies at once) and one pipe per direction. A
 * direction that reads end-of-file shuts the other socket's write side once its pipe is empty
 * (half-close passes through); the relay ends when both directions are shut, on an error
 * (the surviving peer is reset, as a reset passes through a load balancer), or when JS asks.
 * Byte counts live in a Float64Array JS reads whenever it likes (idle sweep, metrics scrape);
 * the end of a relay is reported through a thread-safe function, after which JS frees the slot.
 *
 * No SPLICE_F_MORE toward the sockets: it makes the kernel hold back small replies.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <node_api.h>

#define MAX_RELAYS 65536
#define PIPE_CHUNK (1 << 20)
#define CMD_TAG UINT64_MAX

enum reason { REASON_DONE = 0, REASON_CLIENT_ERROR = 1, REASON_BACKEND_ERROR = 2, REASON_ABORTED = 3 };

struct direction {
  int from, to;
  int pipe_r, pipe_w;
  size_t in_pipe;
  int eof;  /* `from` has no more to give */
  int shut; /* `to` has had its write side shut */
  size_t uncounted; /* bytes of ours (the PROXY header) still to pass before counting */
};

struct relay {
  int used;   /* slot allocated (until JS has seen the end) */
  int active; /* the epoll thread still moves bytes */
  uint32_t gen;
  int fd[2]; /* 0 client, 1 backend */
  struct direction dir[2]; /* 0 client->backend, 1 backend->client */
};

struct ended {
  int slot;
  int reason;
  int err;
};

static struct relay *relays;
static double *counters; /* 2 per slot: bytes delivered client->backend, backend->client */
static int *free_slots;
static int free_count;
static int epfd = -1, cmdfd = -1;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int *abort_queue;
static int abort_count;
static napi_threadsafe_function on_end;
/* Empty pipes of ended relays, reused by new ones: two pipe2() and four close() fewer per
 * connection, which shows in the new-connection rate. */
#define PIPE_POOL_MAX 4096
static int pipe_pool[PIPE_POOL_MAX][2];
static int pipe_pool_count;
static int started;

static uint64_t tag(int slot, int side) {
  return ((uint64_t)relays[slot].gen << 32) | ((uint64_t)slot << 1) | (uint64_t)side;
}

static void close_relay(int slot, int reason, int err) {
  struct relay *r = &relays[slot];
  r->active = 0;
  for (int s = 0; s < 2; s++) epoll_ctl(epfd, EPOLL_CTL_DEL, r->fd[s], NULL);
  if (reason == REASON_CLIENT_ERROR || reason == REASON_BACKEND_ERROR) {
    /* A reset on one side becomes a reset on the other, not a clean end-of-stream. */
    struct linger hard = {1, 0};
    int survivor = reason == REASON_CLIENT_ERROR ? r->fd[1] : r->fd[0];
    setsockopt(survivor, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  }
  for (int s = 0; s < 2; s++) {
    close(r->fd[s]);
    struct direction *x = &r->dir[s];
    int reusable = x->in_pipe == 0;
    pthread_mutex_lock(&lock);
    if (reusable && pipe_pool_count < PIPE_POOL_MAX) {
      pipe_pool[pipe_pool_count][0] = x->pipe_r;
      pipe_pool[pipe_pool_count][1] = x->pipe_w;
      pipe_pool_count++;
      reusable = 2;
    }
    pthread_mutex_unlock(&lock);
    if (reusable != 2) {
      close(x->pipe_r);
      close(x->pipe_w);
    }
  }
  struct ended *e = malloc(sizeof *e);
  if (!e) return; /* the slot leaks rather than the process crashing */
  e->slot = slot;
  e->reason = reason;
  e->err = err;
  if (napi_call_threadsafe_function(on_end, e, napi_tsfn_nonblocking) != napi_ok) free(e);
}

/* Moves what it can in one direction; returns 1 if anything moved, 0 if blocked, -1 on error. */
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

static void service(int slot) {
  struct relay *r = &relays[slot];
  for (int d = 0; d < 2; d++) {
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

static void run_aborts(void) {
  uint64_t drained;
  if (read(cmdfd, &drained, sizeof drained) < 0) { /* nothing queued */ }
  pthread_mutex_lock(&lock);
  int n = abort_count;
  int *batch = malloc(sizeof(int) * (n > 0 ? n : 1));
  if (batch) memcpy(batch, abort_queue, sizeof(int) * n);
  abort_count = 0;
  pthread_mutex_unlock(&lock);
  if (!batch) return;
  for (int i = 0; i < n; i++) {
    if (relays[batch[i]].active) close_relay(batch[i], REASON_ABORTED, 0);
  }
  free(batch);
}

static void *loop(void *arg) {
  (void)arg;
  struct epoll_event events[256];
  for (;;) {
    int n = epoll_wait(epfd, events, 256, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return NULL;
    }
    for (int i = 0; i < n; i++) {
      uint64_t t = events[i].data.u64;
      if (t == CMD_TAG) {
        run_aborts();
        continue;
      }
      int slot = (int)((t & 0xffffffffu) >> 1);
      struct relay *r = &relays[slot];
      /* A late event for a relay that has ended (or a slot since reused) is ignored. */
      if (!r->active || r->gen != (uint32_t)(t >> 32)) continue;
      if (events[i].events & EPOLLERR) {
        int side = (int)(t & 1), soerr = 0;
        socklen_t len = sizeof soerr;
        getsockopt(r->fd[side], SOL_SOCKET, SO_ERROR, &soerr, &len);
        if (soerr != 0) {
          close_relay(slot, side == 0 ? REASON_CLIENT_ERROR : REASON_BACKEND_ERROR, soerr);
          continue;
        }
      }
      service(slot);
    }
  }
}

static void call_js(napi_env env, napi_value fn, void *context, void *data) {
  (void)context;
  struct ended *e = data;
  if (env != NULL && fn != NULL) {
    napi_value argv[5], undefined;
    napi_create_int32(env, e->slot, &argv[0]);
    napi_create_int32(env, e->reason, &argv[1]);
    napi_create_int32(env, e->err, &argv[2]);
    napi_create_double(env, counters[2 * e->slot], &argv[3]);
    napi_create_double(env, counters[2 * e->slot + 1], &argv[4]);
    napi_get_undefined(env, &undefined);
    napi_call_function(env, undefined, fn, 5, argv, NULL);
  }
  /* JS has seen the final counts: the slot may be reused. */
  pthread_mutex_lock(&lock);
  relays[e->slot].used = 0;
  free_slots[free_count++] = e->slot;
  pthread_mutex_unlock(&lock);
  free(e);
}

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char message[160];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  napi_throw_error(env, NULL, message);
  return NULL;
}

/* start(onEnd) -> Float64Array of byte counts (2 per slot). Call once per process. */
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
  abort_queue = malloc(sizeof(int) * MAX_RELAYS);
  if (!relays || !counters || !free_slots || !abort_queue) return throw_errno(env, "allocating the relay table", ENOMEM);
  for (int i = 0; i < MAX_RELAYS; i++) free_slots[i] = MAX_RELAYS - 1 - i;
  free_count = MAX_RELAYS;
  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) return throw_errno(env, "epoll_create1", errno);
  cmdfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (cmdfd < 0) return throw_errno(env, "eventfd", errno);
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = CMD_TAG};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, cmdfd, &ev) != 0) return throw_errno(env, "epoll_ctl", errno);
  napi_create_string_utf8(env, "openslb-splice-end", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[0], NULL, name, 0, 1, NULL, NULL, NULL, call_js, &on_end) != napi_ok) {
    napi_throw_error(env, NULL, "cannot create the relay's thread-safe function");
    return NULL;
  }
  /* Relays must not keep the process alive: listening sockets and timers decide that. */
  napi_unref_threadsafe_function(env, on_end);
  pthread_t thread;
  int rc = pthread_create(&thread, NULL, loop, NULL);
  if (rc != 0) return throw_errno(env, "pthread_create", rc);
  pthread_detach(thread);
  started = 1;
  napi_create_external_arraybuffer(env, counters, sizeof(double) * 2 * MAX_RELAYS, NULL, NULL, &buffer);
  napi_create_typedarray(env, napi_float64_array, 2 * MAX_RELAYS, buffer, 0, &array);
  return array;
}

/*
 * add(clientFd, backendFd, header?) -> slot, or -1 when the table is full. The descriptors are
 * duplicated: the caller closes its own copies right after (and must not shut them down).
 * `header` (a Buffer, e.g. the PROXY header) goes to the backend before any client byte: it is
 * put in the client->backend pipe first, and not counted as client bytes.
 */
static napi_value add(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result;
  int32_t fds[2];
  void *header = NULL;
  size_t header_len = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc >= 3) {
    bool is_buffer = false;
    napi_is_buffer(env, argv[2], &is_buffer);
    if (is_buffer) napi_get_buffer_info(env, argv[2], &header, &header_len);
  }
  if (!started || argc < 2 || napi_get_value_int32(env, argv[0], &fds[0]) != napi_ok ||
      napi_get_value_int32(env, argv[1], &fds[1]) != napi_ok) {
    napi_throw_type_error(env, NULL, "add(clientFd, backendFd) takes two descriptors, after start()");
    return NULL;
  }
  pthread_mutex_lock(&lock);
  int slot = free_count > 0 ? free_slots[--free_count] : -1;
  if (slot >= 0) relays[slot].used = 1;
  pthread_mutex_unlock(&lock);
  if (slot < 0) {
    napi_create_int32(env, -1, &result);
    return result;
  }
  struct relay *r = &relays[slot];
  int pipes[2][2] = {{-1, -1}, {-1, -1}};
  int dups[2] = {-1, -1};
  int err = 0;
  pthread_mutex_lock(&lock);
  for (int s = 0; s < 2 && pipe_pool_count > 0; s++) {
    pipe_pool_count--;
    pipes[s][0] = pipe_pool[pipe_pool_count][0];
    pipes[s][1] = pipe_pool[pipe_pool_count][1];
  }
  pthread_mutex_unlock(&lock);
  for (int s = 0; s < 2 && !err; s++) {
    dups[s] = fcntl(fds[s], F_DUPFD_CLOEXEC, 0);
    if (dups[s] < 0 || (pipes[s][0] < 0 && pipe2(pipes[s], O_NONBLOCK | O_CLOEXEC) != 0)) err = errno;
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
    pthread_mutex_lock(&lock);
    r->used = 0;
    free_slots[free_count++] = slot;
    pthread_mutex_unlock(&lock);
    return throw_errno(env, "setting up a splice relay", err);
  }
  r->gen++;
  r->fd[0] = dups[0];
  r->fd[1] = dups[1];
  for (int d = 0; d < 2; d++) {
    struct direction *x = &r->dir[d];
    x->from = dups[d];
    x->to = dups[1 - d];
    x->pipe_r = pipes[d][0];
    x->pipe_w = pipes[d][1];
    x->in_pipe = d == 0 ? header_len : 0;
    x->uncounted = d == 0 ? header_len : 0;
    x->eof = 0;
    x->shut = 0;
  }
  counters[2 * slot] = 0;
  counters[2 * slot + 1] = 0;
  __atomic_store_n(&r->active, 1, __ATOMIC_RELEASE);
  for (int s = 0; s < 2; s++) {
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.u64 = tag(slot, s)};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, dups[s], &ev) != 0) err = errno;
  }
  if (err) {
    /* Registered halfway: let the thread end it like any other relay, so JS hears of it once. */
    pthread_mutex_lock(&lock);
    abort_queue[abort_count++] = slot;
    pthread_mutex_unlock(&lock);
    uint64_t one = 1;
    if (write(cmdfd, &one, sizeof one) < 0) { /* the counter is already non-zero */ }
  }
  napi_create_int32(env, slot, &result);
  return result;
}

/* abort(slot): ends a relay (idle timeout, drain, shutdown); its end is reported as usual. */
static napi_value abort_relay(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t slot;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (!started || argc < 1 || napi_get_value_int32(env, argv[0], &slot) != napi_ok || slot < 0 || slot >= MAX_RELAYS) {
    napi_throw_type_error(env, NULL, "abort(slot) takes a slot from add()");
    return NULL;
  }
  pthread_mutex_lock(&lock);
  int queued = relays[slot].used && abort_count < MAX_RELAYS;
  if (queued) abort_queue[abort_count++] = slot;
  pthread_mutex_unlock(&lock);
  if (queued) {
    uint64_t one = 1;
    if (write(cmdfd, &one, sizeof one) < 0) { /* the counter is already non-zero */ }
  }
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "start", NAPI_AUTO_LENGTH, start, NULL, &fn);
  napi_set_named_property(env, exports, "start", fn);
  napi_create_function(env, "add", NAPI_AUTO_LENGTH, add, NULL, &fn);
  napi_set_named_property(env, exports, "add", fn);
  napi_create_function(env, "abort", NAPI_AUTO_LENGTH, abort_relay, NULL, &fn);
  napi_set_named_property(env, exports, "abort", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
