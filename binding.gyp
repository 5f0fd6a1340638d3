{
  "targets": [
    {
      "target_name": "tcp_sockopt",
      "sources": ["native/tcp_sockopt.c"]
    }
  ]
}
