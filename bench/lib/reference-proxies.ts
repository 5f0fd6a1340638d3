/**
 * The backends and the established proxies OpenSLB is measured against, configured the way
 * the project's L4 baseline measured them on this machine: an nginx HTTP backend answering
 * "ok\n" with keepalive, an iperf3 server, HAProxy in `mode tcp` with two threads and its
 * default (no splice), and nginx's stream module with two workers and `reuseport`.
 * Everything binds 127.0.0.1 only.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startProcess, type Managed } from './processes.js';

export const LOOPBACK = '127.0.0.1';

export interface BenchPorts {
  httpBackend: number;
  iperfBackend: number;
  haproxyHttp: number;
  haproxyIperf: number;
  nginxHttp: number;
  nginxIperf: number;
  bareFastify: number;
}

export function benchPorts(base: number): BenchPorts {
  return {
    httpBackend: base + 80,
    iperfBackend: base + 201,
    haproxyHttp: base + 101,
    haproxyIperf: base + 102,
    nginxHttp: base + 111,
    nginxIperf: base + 112,
    bareFastify: base + 90,
  };
}

function nginxEvents(): string {
  return [
    'worker_processes 2;',
    'worker_rlimit_nofile 20000;',
    'daemon off;',
    'error_log error.log warn;',
    'events { worker_connections 8192; use epoll; }',
  ].join('\n');
}

export function startHttpBackend(runDir: string, ports: BenchPorts): Managed {
  const dir = join(runDir, 'nginx-backend');
  mkdirSync(dir, { recursive: true });
  const conf = `${nginxEvents()}
pid nginx.pid;
http {
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 65;
  server {
    listen ${LOOPBACK}:${ports.httpBackend} reuseport backlog=4096;
    location / { default_type text/plain; return 200 "ok\\n"; }
  }
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  return startProcess(
    'nginx-backend',
    'nginx',
    ['-p', `${dir}/`, '-e', join(dir, 'startup.log'), '-c', join(dir, 'nginx.conf')],
    join(runDir, 'nginx-backend.log'),
  );
}

export function startIperfServer(runDir: string, ports: BenchPorts): Managed {
  return startProcess('iperf3', 'iperf3', ['-s', '-B', LOOPBACK, '-p', String(ports.iperfBackend)], join(runDir, 'iperf3.log'));
}

/**
 * The HAProxy 2.6 settings every bench compares against: two threads (one per core here), plain
 * TCP mode. maxconn stays under what `ulimit -n` 20000 allows at ~2.5 fds per proxied connection.
 */
export const HAPROXY_BASE_CONFIG = `global
    nbthread 2
    maxconn 7000
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
`;

export function startHaproxy(runDir: string, ports: BenchPorts): Managed {
  const conf = `${HAPROXY_BASE_CONFIG}listen http
    bind ${LOOPBACK}:${ports.haproxyHttp}
    server b1 ${LOOPBACK}:${ports.httpBackend}
listen iperf
    bind ${LOOPBACK}:${ports.haproxyIperf}
    server i1 ${LOOPBACK}:${ports.iperfBackend}
`;
  const file = join(runDir, 'haproxy.cfg');
  writeFileSync(file, conf);
  return startProcess('haproxy', 'haproxy', ['-db', '-f', file], join(runDir, 'haproxy.log'));
}

export function startNginxStream(runDir: string, ports: BenchPorts): Managed {
  const dir = join(runDir, 'nginx-stream');
  mkdirSync(dir, { recursive: true });
  // reuseport gives each worker its own socket; for UDP it also keeps one flow on one worker.
  const conf = `load_module /usr/lib/nginx/modules/ngx_stream_module.so;
${nginxEvents()}
pid nginx.pid;
stream {
  server { listen ${LOOPBACK}:${ports.nginxHttp} reuseport backlog=4096; proxy_pass ${LOOPBACK}:${ports.httpBackend}; }
  server { listen ${LOOPBACK}:${ports.nginxIperf} reuseport backlog=4096; proxy_pass ${LOOPBACK}:${ports.iperfBackend}; }
  server { listen ${LOOPBACK}:${ports.nginxIperf} udp reuseport; proxy_pass ${LOOPBACK}:${ports.iperfBackend}; proxy_timeout 30s; }
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  return startProcess(
    'nginx-stream',
    'nginx',
    ['-p', `${dir}/`, '-e', join(dir, 'startup.log'), '-c', join(dir, 'nginx.conf')],
    join(runDir, 'nginx-stream.log'),
  );
}
