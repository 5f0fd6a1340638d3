/*
 * TLS termination for TCPSSL listeners, off the JS thread. JS accepts the TCP connection (so
 * cluster sharing, MSS, the CPS limit and faults stay where they are) and hands the client's
 * descriptor here with the listener's "context set". One epoll thread per process then runs the
 * non-blocking handshake; on success it tells JS, which picks and connects the backend (a failed
 * handshake never opens one) and hands that descriptor over too. From then on the thread relays
 * SSL_read -> backend and backend -> SSL_write through one 16 KiB buffer per direction.
 *
 * OpenSSL is the one inside the Node binary (its symbols are exported; nothing is linked here).
 *
 * Per direction a buffer is filled only when empty and refilled only after it has been written
 * out, so a slow receiver stops the reads on the other side (back-pressure) and the pending
 * bytes stay in the kernel. Events are edge-triggered on both descriptors for reading and
 * writing; every event services both directions until neither can move.
 *
 * Half-close: the client's close_notify (or a bare FIN) shuts the backend's write side once the
 * buffer is out; the backend's FIN becomes close_notify plus FIN towards the client. An error on
 * one side resets the other. Byte counts (plaintext, PROXY header excluded) live in a
 * Float64Array that JS reads when it samples; handshakes and ends reach JS through one
 * thread-safe function, queued and drained in batches.
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
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <node_api.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define MAX_CONNS 65536
#define BUF_SIZE 16384
#define CMD_TAG UINT64_MAX

enum reason { R_DONE = 0, R_CLIENT_ERROR = 1, R_BACKEND_ERROR = 2, R_ABORTED = 3, R_HANDSHAKE_FAILED = 4 };
enum state { S_HANDSHAKE, S_WAIT_BACKEND, S_RELAY };
enum event_kind { E_HANDSHAKE = 0, E_END = 1 };

/* ---------------------------------------------------------------- context sets */

struct sni_entry {
  char **names; /* lower case; "*.example.com" matches one leading label */
  int count;
  SSL_CTX *ctx;
};

struct ctx_set {
  int refs; /* JS's handle + one per live connection */
  SSL_CTX *main;
  struct sni_entry *sni;
  int sni_count;
  unsigned char *alpn; /* wire format, server's order */
  unsigned int alpn_len;
  unsigned char ticket[48]; /* name 16, HMAC 16, AES-128 16 (the layout Node uses) */
};

static void set_release(struct ctx_set *s) {
  if (__atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
  SSL_CTX_free(s->main);
  for (int i = 0; i < s->sni_count; i++) {
    for (int j = 0; j < s->sni[i].count; j++) free(s->sni[i].names[j]);
    free(s->sni[i].names);
    SSL_CTX_free(s->sni[i].ctx);
  }
  free(s->sni);
  free(s->alpn);
  free(s);
}

static bool name_matches(const char *pattern, const char *name) {
  if (strcmp(pattern, name) == 0) return true;
  if (pattern[0] != '*' || pattern[1] != '.') return false;
  const char *dot = strchr(name, '.');
  return dot != NULL && dot != name && strcmp(dot + 1, pattern + 2) == 0;
}

static int on_servername(SSL *ssl, int *alert, void *arg) {
  (void)alert;
  struct ctx_set *s = arg;
  const char *requested = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (requested == NULL || s->sni_count == 0) return SSL_TLSEXT_ERR_OK;
  char name[256];
  size_t n = strlen(requested);
  if (n >= sizeof name) return SSL_TLSEXT_ERR_OK;
  for (size_t i = 0; i <= n; i++) name[i] = (char)((requested[i] >= 'A' && requested[i] <= 'Z') ? requested[i] + 32 : requested[i]);
  for (int i = 0; i < s->sni_count; i++) {
    for (int j = 0; j < s->sni[i].count; j++) {
      if (name_matches(s->sni[i].names[j], name)) {
        SSL_set_SSL_CTX(ssl, s->sni[i].ctx);
        return SSL_TLSEXT_ERR_OK;
      }
    }
  }
  return SSL_TLSEXT_ERR_OK; /* the default certificate answers */
}

/* The server's order decides; a client with no protocol in common is refused, as Node does. */
static int on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in, unsigned int inlen, void *arg) {
  (void)ssl;
  struct ctx_set *s = arg;
  for (unsigned int i = 0; i < s->alpn_len; i += 1u + s->alpn[i]) {
    const unsigned char *mine = &s->alpn[i];
    for (unsigned int j = 0; j < inlen; j += 1u + in[j]) {
      if (in[j] == mine[0] && j + 1u + in[j] <= inlen && memcmp(&in[j + 1], mine + 1, mine[0]) == 0) {
        *out = mine + 1;
        *outlen = mine[0];
        return SSL_TLSEXT_ERR_OK;
      }
    }
  }
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/* Session tickets sealed with the listener's derived keys: any worker, any restart resumes. */
static int on_ticket_key(SSL *ssl, unsigned char key_name[16], unsigned char *iv, EVP_CIPHER_CTX *cipher, EVP_MAC_CTX *mac, int enc) {
  struct ctx_set *s = SSL_get_ex_data(ssl, 0);
  if (s == NULL) return -1;
  if (enc) {
    memcpy(key_name, s->ticket, 16);
    if (RAND_bytes(iv, 16) != 1) return -1;
    if (EVP_EncryptInit_ex(cipher, EVP_aes_128_cbc(), NULL, s->ticket + 32, iv) != 1) return -1;
  } else {
    if (memcmp(key_name, s->ticket, 16) != 0) return 0; /* not ours: full handshake */
    if (EVP_DecryptInit_ex(cipher, EVP_aes_128_cbc(), NULL, s->ticket + 32, iv) != 1) return -1;
  }
  OSSL_PARAM params[3];
  params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, s->ticket + 16, 16);
  params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
  params[2] = OSSL_PARAM_construct_end();
  if (EVP_MAC_CTX_set_params(mac, params) != 1) return -1;
  return 1;
}

/* ---------------------------------------------------------------- connections */

struct conn {
  int used;   /* slot allocated until JS has seen the end */
  int active; /* the thread still owns it */
  uint32_t gen;
  int state;
  int fd[2]; /* 0 client, 1 backend (-1 until attached) */
  SSL *ssl;
  struct ctx_set *set;
  unsigned char *buf[2]; /* 0 client->backend plaintext, 1 backend->client */
  size_t len[2], off[2];
  size_t uncounted; /* PROXY header bytes still to pass before client bytes are counted */
  bool client_eof, backend_shut, backend_eof, client_shut;
};

struct event {
  int slot, kind, reason, err;
  char text[120]; /* handshake: the ALPN protocol; end: why a handshake failed */
};

struct command {
  int slot;
  uint32_t gen;
  int backend_fd; /* -1: abort */
  unsigned char *header;
  size_t header_len;
};

static struct conn *conns;
static double *counters;
static int *free_slots;
static int free_count;
static int epfd = -1, cmdfd = -1;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct command *commands;
static int command_count, command_cap;
static struct event *events;
static int event_count, event_cap;
static napi_threadsafe_function notify;
static int started;

static uint64_t tag(int slot, int side) {
  return ((uint64_t)conns[slot].gen << 32) | ((uint64_t)slot << 1) | (uint64_t)side;
}

/* Queues an event for JS; the thread-safe function is called once per batch. */
static void emit(int slot, int kind, int reason, int err, const char *text) {
  pthread_mutex_lock(&lock);
  if (event_count == event_cap) {
    int cap = event_cap ? event_cap * 2 : 256;
    struct event *grown = realloc(events, sizeof *events * (size_t)cap);
    if (grown == NULL) {
      pthread_mutex_unlock(&lock);
      return; /* the slot leaks rather than the process crashing */
    }
    events = grown;
    event_cap = cap;
  }
  struct event *e = &events[event_count++];
  bool first = event_count == 1;
  e->slot = slot;
  e->kind = kind;
  e->reason = reason;
  e->err = err;
  snprintf(e->text, sizeof e->text, "%s", text ? text : "");
  pthread_mutex_unlock(&lock);
  if (first) napi_call_threadsafe_function(notify, NULL, napi_tsfn_nonblocking);
}

static void close_conn(int slot, int reason, int err, const char *text) {
  struct conn *c = &conns[slot];
  c->active = 0;
  for (int s = 0; s < 2; s++)
    if (c->fd[s] >= 0) epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd[s], NULL);
  if ((reason == R_CLIENT_ERROR || reason == R_BACKEND_ERROR) && c->fd[0] >= 0 && c->fd[1] >= 0) {
    /* A reset on one side becomes a reset on the other, not a clean end-of-stream. */
    struct linger hard = {1, 0};
    setsockopt(c->fd[reason == R_CLIENT_ERROR ? 1 : 0], SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  }
  SSL_free(c->ssl);
  c->ssl = NULL;
  set_release(c->set);
  c->set = NULL;
  for (int s = 0; s < 2; s++) {
    if (c->fd[s] >= 0) close(c->fd[s]);
    c->fd[s] = -1;
    free(c->buf[s]);
    c->buf[s] = NULL;
  }
  emit(slot, E_END, reason, err, text);
}

static void ssl_failure_text(char *out, size_t size) {
  unsigned long e = ERR_peek_last_error();
  const char *why = e ? ERR_reason_error_string(e) : NULL;
  snprintf(out, size, "%s", why ? why : "connection closed during the handshake");
}

/* 1: moved something, 0: blocked, <0: failed (-1 client side, -2 backend side). */
static int client_to_backend(struct conn *c, double *count, int *err) {
  int moved = 0;
  for (;;) {
    if (c->len[0] > c->off[0]) {
      ssize_t n = send(c->fd[1], c->buf[0] + c->off[0], c->len[0] - c->off[0], MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return moved;
        *err = errno;
        return -2;
      }
      c->off[0] += (size_t)n;
      size_t counted = (size_t)n;
      if (c->uncounted > 0) {
        size_t ours = c->uncounted < counted ? c->uncounted : counted;
        c->uncounted -= ours;
        counted -= ours;
      }
      *count += (double)counted;
      moved = 1;
      if (c->off[0] < c->len[0]) continue;
      c->off[0] = c->len[0] = 0;
    }
    if (c->client_eof) {
      if (!c->backend_shut) {
        shutdown(c->fd[1], SHUT_WR);
        c->backend_shut = true;
      }
      return moved;
    }
    ERR_clear_error();
    int n = SSL_read(c->ssl, c->buf[0], BUF_SIZE);
    if (n > 0) {
      c->len[0] = (size_t)n;
      continue;
    }
    int e = SSL_get_error(c->ssl, n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return moved;
    if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && errno == 0) ||
        (e == SSL_ERROR_SSL && ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
      /* close_notify, or a bare FIN: the client has finished sending. */
      c->client_eof = true;
      moved = 1;
      continue;
    }
    *err = e == SSL_ERROR_SYSCALL ? errno : 0;
    return -1;
  }
}

static int backend_to_client(struct conn *c, double *count, int *err) {
  int moved = 0;
  for (;;) {
    if (c->len[1] > c->off[1]) {
      ERR_clear_error();
      int n = SSL_write(c->ssl, c->buf[1] + c->off[1], (int)(c->len[1] - c->off[1]));
      if (n <= 0) {
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) return moved;
        *err = e == SSL_ERROR_SYSCALL ? errno : 0;
        return -1;
      }
      c->off[1] += (size_t)n;
      *count += (double)n;
      moved = 1;
      if (c->off[1] < c->len[1]) continue;
      c->off[1] = c->len[1] = 0;
    }
    if (c->backend_eof) {
      if (!c->client_shut) {
        ERR_clear_error();
        int r = SSL_shutdown(c->ssl); /* close_notify; the client may still send */
        if (r < 0) {
          int e = SSL_get_error(c->ssl, r);
          if (e == SSL_ERROR_WANT_WRITE) return moved;
        }
        shutdown(c->fd[0], SHUT_WR);
        c->client_shut = true;
      }
      return moved;
    }
    ssize_t n = recv(c->fd[1], c->buf[1], BUF_SIZE, 0);
    if (n > 0) {
      c->len[1] = (size_t)n;
      continue;
    }
    if (n == 0) {
      c->backend_eof = true;
      moved = 1;
      continue;
    }
    if (errno == EAGAIN || errno == EINTR) return moved;
    *err = errno;
    return -2;
  }
}

static void service(int slot) {
  struct conn *c = &conns[slot];
  for (int round = 0;; round++) {
    int err = 0;
    int a = client_to_backend(c, &counters[2 * slot], &err);
    if (a < 0) {
      close_conn(slot, a == -1 ? R_CLIENT_ERROR : R_BACKEND_ERROR, err, NULL);
      return;
    }
    int b = backend_to_client(c, &counters[2 * slot + 1], &err);
    if (b < 0) {
      close_conn(slot, b == -1 ? R_CLIENT_ERROR : R_BACKEND_ERROR, err, NULL);
      return;
    }
    if (c->backend_shut && c->client_shut) {
      close_conn(slot, R_DONE, 0, NULL);
      return;
    }
    /* SSL_write may have read (and SSL_read written): go round until nothing moves. */
    if (!a && !b) return;
  }
}

static void handshake(int slot) {
  struct conn *c = &conns[slot];
  ERR_clear_error();
  int r = SSL_do_handshake(c->ssl);
  if (r == 1) {
    c->state = S_WAIT_BACKEND;
    const unsigned char *proto = NULL;
    unsigned int proto_len = 0;
    SSL_get0_alpn_selected(c->ssl, &proto, &proto_len);
    char text[120] = "";
    if (proto_len > 0 && proto_len < sizeof text) {
      memcpy(text, proto, proto_len);
      text[proto_len] = 0;
    }
    emit(slot, E_HANDSHAKE, 0, 0, text);
    return;
  }
  int e = SSL_get_error(c->ssl, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
  char text[120];
  ssl_failure_text(text, sizeof text);
  close_conn(slot, R_HANDSHAKE_FAILED, e == SSL_ERROR_SYSCALL ? errno : 0, text);
}

static void run_commands(void) {
  uint64_t drained;
  if (read(cmdfd, &drained, sizeof drained) < 0) { /* nothing queued */ }
  pthread_mutex_lock(&lock);
  int n = command_count;
  struct command *batch = n > 0 ? malloc(sizeof *batch * (size_t)n) : NULL;
  if (batch) memcpy(batch, commands, sizeof *batch * (size_t)n);
  if (batch || n == 0) command_count = 0;
  pthread_mutex_unlock(&lock);
  if (!batch) return;
  for (int i = 0; i < n; i++) {
    struct command *cmd = &batch[i];
    struct conn *c = &conns[cmd->slot];
    bool live = c->active && c->gen == cmd->gen;
    if (cmd->backend_fd < 0) {
      if (live) close_conn(cmd->slot, R_ABORTED, 0, NULL);
      continue;
    }
    if (!live || c->state != S_WAIT_BACKEND) {
      close(cmd->backend_fd);
      free(cmd->header);
      continue;
    }
    c->fd[1] = cmd->backend_fd;
    c->buf[0] = cmd->header; /* already BUF_SIZE long, the header at its start */
    c->len[0] = c->uncounted = cmd->header_len;
    c->buf[1] = malloc(BUF_SIZE);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.u64 = tag(cmd->slot, 1)};
    if (c->buf[1] == NULL || epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd[1], &ev) != 0) {
      close_conn(cmd->slot, R_BACKEND_ERROR, c->buf[1] ? errno : ENOMEM, NULL);
      continue;
    }
    c->state = S_RELAY;
    service(cmd->slot);
  }
  free(batch);
}

static void *loop(void *arg) {
  (void)arg;
  struct epoll_event ready[256];
  for (;;) {
    int n = epoll_wait(epfd, ready, 256, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return NULL;
    }
    for (int i = 0; i < n; i++) {
      uint64_t t = ready[i].data.u64;
      if (t == CMD_TAG) {
        run_commands();
        continue;
      }
      int slot = (int)((t & 0xffffffffu) >> 1);
      struct conn *c = &conns[slot];
      /* A late event for a connection that has ended (or a slot since reused) is ignored. */
      if (!c->active || c->gen != (uint32_t)(t >> 32)) continue;
      if (c->state == S_HANDSHAKE) {
        handshake(slot);
        continue;
      }
      if (c->state == S_WAIT_BACKEND) continue; /* attaching the backend services it */
      if (ready[i].events & EPOLLERR) {
        int side = (int)(t & 1), soerr = 0;
        socklen_t len = sizeof soerr;
        getsockopt(c->fd[side], SOL_SOCKET, SO_ERROR, &soerr, &len);
        if (soerr != 0) {
          close_conn(slot, side == 0 ? R_CLIENT_ERROR : R_BACKEND_ERROR, soerr, NULL);
          continue;
        }
      }
      service(slot);
    }
  }
}

/* ---------------------------------------------------------------- JS side */

static void call_js(napi_env env, napi_value fn, void *context, void *data) {
  (void)context;
  (void)data;
  pthread_mutex_lock(&lock);
  int n = event_count;
  struct event *batch = n > 0 ? malloc(sizeof *batch * (size_t)n) : NULL;
  if (batch) memcpy(batch, events, sizeof *batch * (size_t)n);
  if (batch) event_count = 0;
  pthread_mutex_unlock(&lock);
  if (!batch) return;
  for (int i = 0; i < n; i++) {
    struct event *e = &batch[i];
    if (env != NULL && fn != NULL) {
      napi_value argv[7], undefined;
      napi_create_int32(env, e->slot, &argv[0]);
      napi_create_int32(env, e->kind, &argv[1]);
      napi_create_int32(env, e->reason, &argv[2]);
      napi_create_int32(env, e->err, &argv[3]);
      napi_create_double(env, counters[2 * e->slot], &argv[4]);
      napi_create_double(env, counters[2 * e->slot + 1], &argv[5]);
      napi_create_string_utf8(env, e->text, NAPI_AUTO_LENGTH, &argv[6]);
      napi_get_undefined(env, &undefined);
      napi_call_function(env, undefined, fn, 7, argv, NULL);
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) {
        napi_value ignored;
        napi_get_and_clear_last_exception(env, &ignored);
      }
    }
    if (e->kind == E_END) {
      /* JS has seen the final counts: the slot may be reused. */
      pthread_mutex_lock(&lock);
      conns[e->slot].used = 0;
      free_slots[free_count++] = e->slot;
      pthread_mutex_unlock(&lock);
    }
  }
  free(batch);
}

static napi_value throw_text(napi_env env, const char *what) {
  napi_throw_error(env, NULL, what);
  return NULL;
}

static napi_value throw_ssl(napi_env env, const char *what) {
  char message[300], why[160];
  unsigned long e = ERR_peek_last_error();
  snprintf(why, sizeof why, "%s", e ? ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "unknown" : "unknown");
  ERR_clear_error();
  snprintf(message, sizeof message, "%s: %s", what, why);
  napi_throw_error(env, NULL, message);
  return NULL;
}

/* Reads a string property into a malloc'd C string ("" when absent). */
static char *get_string(napi_env env, napi_value obj, const char *key) {
  napi_value v;
  napi_valuetype type;
  size_t len = 0;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok || napi_typeof(env, v, &type) != napi_ok || type != napi_string) {
    return calloc(1, 1);
  }
  napi_get_value_string_utf8(env, v, NULL, 0, &len);
  char *out = malloc(len + 1);
  if (out) napi_get_value_string_utf8(env, v, out, len + 1, &len);
  return out;
}

static int32_t get_int(napi_env env, napi_value obj, const char *key) {
  napi_value v;
  int32_t out = 0;
  if (napi_get_named_property(env, obj, key, &v) == napi_ok) napi_get_value_int32(env, v, &out);
  return out;
}

static bool load_cert_chain(SSL_CTX *ctx, const char *cert_pem, const char *key_pem) {
  BIO *bio = BIO_new_mem_buf(cert_pem, -1);
  if (!bio) return false;
  X509 *leaf = PEM_read_bio_X509(bio, NULL, NULL, NULL);
  bool ok = leaf != NULL && SSL_CTX_use_certificate(ctx, leaf) == 1;
  X509_free(leaf);
  X509 *extra;
  while (ok && (extra = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
    if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) {
      X509_free(extra);
      ok = false;
    }
  }
  BIO_free(bio);
  ERR_clear_error(); /* the end of the PEM data reads as an error */
  if (!ok) return false;
  bio = BIO_new_mem_buf(key_pem, -1);
  if (!bio) return false;
  EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
  BIO_free(bio);
  ok = key != NULL && SSL_CTX_use_PrivateKey(ctx, key) == 1 && SSL_CTX_check_private_key(ctx) == 1;
  EVP_PKEY_free(key);
  return ok;
}

/* One SSL_CTX with the policy, a certificate and (for mutual TLS) the CA list. */
static SSL_CTX *new_ctx(napi_env env, napi_value spec, const char *cert, const char *key, struct ctx_set *set) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) return throw_ssl(env, "SSL_CTX_new"), NULL;
  char *cipher_list = get_string(env, spec, "cipherList");
  char *cipher_suites = get_string(env, spec, "cipherSuites");
  char *ca = get_string(env, spec, "caPem");
  const char *failed = NULL;
  SSL_CTX_set_min_proto_version(ctx, get_int(env, spec, "minVersion"));
  SSL_CTX_set_max_proto_version(ctx, get_int(env, spec, "maxVersion"));
  SSL_CTX_set_options(ctx, (uint64_t)(uint32_t)get_int(env, spec, "secureOptions") | SSL_OP_CIPHER_SERVER_PREFERENCE |
                               SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  /* Tickets carry the session; no per-process cache to fill (it would not help other workers). */
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"openslb", 7);
  if (!cipher_list || !cipher_suites || !ca) failed = "out of memory";
  else if (cipher_list[0] && SSL_CTX_set_cipher_list(ctx, cipher_list) != 1) failed = "the policy's TLS 1.2 ciphers";
  else if (SSL_CTX_set_ciphersuites(ctx, cipher_suites) != 1) failed = "the policy's TLS 1.3 suites";
  else if (!load_cert_chain(ctx, cert, key)) failed = "the server certificate or key";
  if (!failed && ca[0]) {
    BIO *bio = BIO_new_mem_buf(ca, -1);
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    X509 *x;
    int count = 0;
    while (bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
      X509_STORE_add_cert(store, x);
      SSL_CTX_add_client_CA(ctx, x);
      X509_free(x);
      count++;
    }
    BIO_free(bio);
    ERR_clear_error();
    if (count == 0) failed = "the CA certificates";
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
  }
  free(cipher_list);
  free(cipher_suites);
  free(ca);
  if (failed) {
    char what[120];
    snprintf(what, sizeof what, "cannot use %s", failed);
    SSL_CTX_free(ctx);
    return throw_ssl(env, what), NULL;
  }
  SSL_CTX_set_tlsext_servername_callback(ctx, on_servername);
  SSL_CTX_set_tlsext_servername_arg(ctx, set);
  if (set->alpn_len > 0) SSL_CTX_set_alpn_select_cb(ctx, on_alpn, set);
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, on_ticket_key);
  return ctx;
}

static void finalize_set(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  set_release(data);
}

/*
 * context({ certPem, keyPem, caPem, minVersion, maxVersion, cipherList, cipherSuites,
 *           secureOptions, alpn: Buffer (wire format), ticketKeys: Buffer(48),
 *           sni: [{ names: string[], certPem, keyPem }] }) -> an opaque handle.
 */
static napi_value context(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value spec, v, result;
  napi_get_cb_info(env, info, &argc, &spec, NULL, NULL);
  if (argc < 1) return throw_text(env, "context(spec) takes the listener's TLS settings");
  struct ctx_set *set = calloc(1, sizeof *set);
  if (!set) return throw_text(env, "out of memory");
  set->refs = 1;
  void *data;
  size_t len = 0;
  bool is_buffer = false;
  if (napi_get_named_property(env, spec, "ticketKeys", &v) != napi_ok || napi_is_buffer(env, v, &is_buffer) != napi_ok || !is_buffer ||
      napi_get_buffer_info(env, v, &data, &len) != napi_ok || len != 48) {
    free(set);
    return throw_text(env, "ticketKeys must be a 48-byte Buffer");
  }
  memcpy(set->ticket, data, 48);
  if (napi_get_named_property(env, spec, "alpn", &v) == napi_ok && napi_is_buffer(env, v, &is_buffer) == napi_ok && is_buffer) {
    napi_get_buffer_info(env, v, &data, &len);
    if (len > 0) {
      set->alpn = malloc(len);
      if (set->alpn) memcpy(set->alpn, data, len);
      set->alpn_len = set->alpn ? (unsigned int)len : 0;
    }
  }
  char *cert = get_string(env, spec, "certPem");
  char *key = get_string(env, spec, "keyPem");
  set->main = cert && key ? new_ctx(env, spec, cert, key, set) : NULL;
  free(cert);
  free(key);
  if (!set->main) {
    set_release(set); /* refs 1 -> 0 frees what was built */
    return NULL;
  }
  uint32_t sni_count = 0;
  napi_value list;
  bool is_array = false;
  if (napi_get_named_property(env, spec, "sni", &list) == napi_ok && napi_is_array(env, list, &is_array) == napi_ok && is_array) {
    napi_get_array_length(env, list, &sni_count);
  }
  set->sni = calloc(sni_count ? sni_count : 1, sizeof *set->sni);
  for (uint32_t i = 0; set->sni && i < sni_count; i++) {
    napi_value entry, names, name;
    napi_get_element(env, list, i, &entry);
    char *c = get_string(env, entry, "certPem");
    char *k = get_string(env, entry, "keyPem");
    SSL_CTX *ctx = c && k ? new_ctx(env, spec, c, k, set) : NULL;
    free(c);
    free(k);
    if (!ctx) {
      set_release(set);
      return NULL;
    }
    struct sni_entry *s = &set->sni[set->sni_count++];
    s->ctx = ctx;
    uint32_t n = 0;
    napi_get_named_property(env, entry, "names", &names);
    napi_get_array_length(env, names, &n);
    s->names = calloc(n ? n : 1, sizeof(char *));
    for (uint32_t j = 0; s->names && j < n; j++) {
      size_t l = 0;
      napi_get_element(env, names, j, &name);
      napi_get_value_string_utf8(env, name, NULL, 0, &l);
      char *copy = malloc(l + 1);
      if (!copy) break;
      napi_get_value_string_utf8(env, name, copy, l + 1, &l);
      s->names[s->count++] = copy;
    }
  }
  napi_create_external(env, set, finalize_set, NULL, &result);
  return result;
}

/* start(onEvent) -> Float64Array of byte counts (2 per slot). Once per process. */
static napi_value start(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], name, buffer, array;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (started) return throw_text(env, "the TLS relay is already started in this process");
  conns = calloc(MAX_CONNS, sizeof *conns);
  counters = calloc(2 * MAX_CONNS, sizeof *counters);
  free_slots = malloc(sizeof(int) * MAX_CONNS);
  if (!conns || !counters || !free_slots) return throw_text(env, "cannot allocate the TLS relay's table");
  for (int i = 0; i < MAX_CONNS; i++) {
    free_slots[i] = MAX_CONNS - 1 - i;
    conns[i].fd[0] = conns[i].fd[1] = -1;
  }
  free_count = MAX_CONNS;
  epfd = epoll_create1(EPOLL_CLOEXEC);
  cmdfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = CMD_TAG};
  if (epfd < 0 || cmdfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, cmdfd, &ev) != 0) return throw_text(env, "cannot set up epoll");
  napi_create_string_utf8(env, "openslb-tls-events", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[0], NULL, name, 0, 1, NULL, NULL, NULL, call_js, &notify) != napi_ok) {
    return throw_text(env, "cannot create the TLS relay's thread-safe function");
  }
  /* Connections must not keep the process alive: listening sockets and timers decide that. */
  napi_unref_threadsafe_function(env, notify);
  pthread_t thread;
  if (pthread_create(&thread, NULL, loop, NULL) != 0) return throw_text(env, "cannot start the TLS relay's thread");
  pthread_detach(thread);
  started = 1;
  napi_create_external_arraybuffer(env, counters, sizeof(double) * 2 * MAX_CONNS, NULL, NULL, &buffer);
  napi_create_typedarray(env, napi_float64_array, 2 * MAX_CONNS, buffer, 0, &array);
  return array;
}

static void post(struct command cmd) {
  pthread_mutex_lock(&lock);
  if (command_count == command_cap) {
    int cap = command_cap ? command_cap * 2 : 256;
    struct command *grown = realloc(commands, sizeof *commands * (size_t)cap);
    if (grown) {
      commands = grown;
      command_cap = cap;
    }
  }
  bool queued = command_count < command_cap;
  if (queued) commands[command_count++] = cmd;
  pthread_mutex_unlock(&lock);
  if (!queued) {
    if (cmd.backend_fd >= 0) close(cmd.backend_fd);
    free(cmd.header);
    return;
  }
  uint64_t one = 1;
  if (write(cmdfd, &one, sizeof one) < 0) { /* the counter is already non-zero */ }
}

/* add(context, clientFd) -> slot, or -1 when the table is full. The descriptor is duplicated. */
static napi_value add(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  struct ctx_set *set = NULL;
  int32_t fd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (!started || argc < 2 || napi_get_value_external(env, argv[0], (void **)&set) != napi_ok || set == NULL ||
      napi_get_value_int32(env, argv[1], &fd) != napi_ok) {
    return throw_text(env, "add(context, clientFd) takes a context and a descriptor, after start()");
  }
  pthread_mutex_lock(&lock);
  int slot = free_count > 0 ? free_slots[--free_count] : -1;
  if (slot >= 0) conns[slot].used = 1;
  pthread_mutex_unlock(&lock);
  napi_create_int32(env, slot, &result);
  if (slot < 0) return result;
  struct conn *c = &conns[slot];
  int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  SSL *ssl = dup >= 0 ? SSL_new(set->main) : NULL;
  if (!ssl || SSL_set_fd(ssl, dup) != 1) {
    int err = errno;
    if (ssl) SSL_free(ssl);
    if (dup >= 0) close(dup);
    pthread_mutex_lock(&lock);
    c->used = 0;
    free_slots[free_count++] = slot;
    pthread_mutex_unlock(&lock);
    char message[120];
    snprintf(message, sizeof message, "cannot start a TLS connection: %s", strerror(err));
    return throw_text(env, message);
  }
  fcntl(dup, F_SETFL, fcntl(dup, F_GETFL) | O_NONBLOCK);
  __atomic_add_fetch(&set->refs, 1, __ATOMIC_ACQ_REL);
  SSL_set_ex_data(ssl, 0, set);
  SSL_set_accept_state(ssl);
  c->gen++;
  c->state = S_HANDSHAKE;
  c->fd[0] = dup;
  c->fd[1] = -1;
  c->ssl = ssl;
  c->set = set;
  c->len[0] = c->len[1] = c->off[0] = c->off[1] = 0;
  c->uncounted = 0;
  c->client_eof = c->backend_shut = c->backend_eof = c->client_shut = false;
  counters[2 * slot] = counters[2 * slot + 1] = 0;
  __atomic_store_n(&c->active, 1, __ATOMIC_RELEASE);
  /* Registering starts the handshake: the client's hello wakes the thread. */
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.u64 = tag(slot, 0)};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, dup, &ev) != 0) post((struct command){slot, c->gen, -1, NULL, 0});
  return result;
}

/* attach(slot, backendFd, header?): after the handshake, the connected backend; relaying starts. */
static napi_value attach(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t slot, fd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (!started || argc < 2 || napi_get_value_int32(env, argv[0], &slot) != napi_ok || slot < 0 || slot >= MAX_CONNS ||
      napi_get_value_int32(env, argv[1], &fd) != napi_ok) {
    return throw_text(env, "attach(slot, backendFd, header?) takes a slot from add() and a descriptor");
  }
  void *header = NULL;
  size_t header_len = 0;
  bool is_buffer = false;
  if (argc >= 3 && napi_is_buffer(env, argv[2], &is_buffer) == napi_ok && is_buffer) napi_get_buffer_info(env, argv[2], &header, &header_len);
  if (header_len > BUF_SIZE) return throw_text(env, "the PROXY header is larger than the relay buffer");
  unsigned char *buf = malloc(BUF_SIZE);
  int dup = buf ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
  if (dup < 0) {
    free(buf);
    return throw_text(env, "cannot take the backend connection");
  }
  fcntl(dup, F_SETFL, fcntl(dup, F_GETFL) | O_NONBLOCK);
  if (header_len > 0) memcpy(buf, header, header_len);
  post((struct command){slot, conns[slot].gen, dup, buf, header_len});
  return NULL;
}

/* abort(slot): ends a connection (idle timeout, drain, stop, no backend); its end is reported. */
static napi_value abort_conn(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t slot;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (!started || argc < 1 || napi_get_value_int32(env, argv[0], &slot) != napi_ok || slot < 0 || slot >= MAX_CONNS) {
    return throw_text(env, "abort(slot) takes a slot from add()");
  }
  if (conns[slot].used) post((struct command){slot, conns[slot].gen, -1, NULL, 0});
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "start", NAPI_AUTO_LENGTH, start, NULL, &fn);
  napi_set_named_property(env, exports, "start", fn);
  napi_create_function(env, "context", NAPI_AUTO_LENGTH, context, NULL, &fn);
  napi_set_named_property(env, exports, "context", fn);
  napi_create_function(env, "add", NAPI_AUTO_LENGTH, add, NULL, &fn);
  napi_set_named_property(env, exports, "add", fn);
  napi_create_function(env, "attach", NAPI_AUTO_LENGTH, attach, NULL, &fn);
  napi_set_named_property(env, exports, "attach", fn);
  napi_create_function(env, "abort", NAPI_AUTO_LENGTH, abort_conn, NULL, &fn);
  napi_set_named_property(env, exports, "abort", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
