{
  "targets": [
    {
      "target_name": "tcp_sockopt",
      "sources": ["native/tcp_sockopt.c"]
    },
    {
      "target_name": "splice_relay",
      "sources": ["native/splice_relay.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "libraries": ["-lpthread"]
    },
    {
      "target_name": "tls_relay",
      "sources": ["native/tls_relay.c"],
      "defines": ["NAPI_VERSION=8", "OPENSSL_API_COMPAT=0x30000000L"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "libraries": ["-lpthread"]
    }
  ]
}
