/*
 * TCP_MAXSEG for Node sockets. Node exposes no API for it, so OpenSLB sets it on the
 * listening socket's file descriptor; Linux hands the value to every accepted connection and
 * advertises it in the SYN-ACK.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <node_api.h>

static napi_value throw_errno(napi_env env, const char *what) {
  char message[128];
  snprintf(message, sizeof message, "%s: %s", what, strerror(errno));
  napi_throw_error(env, NULL, message);
  return NULL;
}

/* setMaxSeg(fd, mss) */
static napi_value set_max_seg(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd, mss;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      napi_get_value_int32(env, argv[1], &mss) != napi_ok) {
    napi_throw_type_error(env, NULL, "setMaxSeg(fd, mss) takes two integers");
    return NULL;
  }
  if (setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof mss) != 0) return throw_errno(env, "setsockopt(TCP_MAXSEG)");
  return NULL;
}

/* getMaxSeg(fd) -> the socket's current maximum segment size */
static napi_value get_max_seg(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  int32_t fd;
  int mss = 0;
  socklen_t len = sizeof mss;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
    napi_throw_type_error(env, NULL, "getMaxSeg(fd) takes an integer");
    return NULL;
  }
  if (getsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss, &len) != 0) return throw_errno(env, "getsockopt(TCP_MAXSEG)");
  napi_create_int32(env, mss, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "setMaxSeg", NAPI_AUTO_LENGTH, set_max_seg, NULL, &fn);
  napi_set_named_property(env, exports, "setMaxSeg", fn);
  napi_create_function(env, "getMaxSeg", NAPI_AUTO_LENGTH, get_max_seg, NULL, &fn);
  napi_set_named_property(env, exports, "getMaxSeg", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
