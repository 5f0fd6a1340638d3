/**
 * A running TCP (or TLS-terminating) listener: one net.Server per VIP and port, each new
 * connection sent to a backend chosen by the server group's scheduler, relayed both ways
 * with backpressure. Configuration changes swap the pool or the settings in place, so live
 * connections are never dropped by a reconcile.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Clock } from '../../util/clock.js';
import { setListenerMss } from '../native/tcp-sockopt.js';
import type { BackendTarget, FlowInfo, UpstreamPool } from './upstream-pool.js';
import { CpsLimiter } from './cps-limiter.js';
import type { ListenerCounters } from './listener-metrics.js';

export interface TcpListenerSettings {
  idleTimeoutMs: number;
  /** New connections per second per VIP; 0 = unlimited. */
  cps: number;
  /** TCP maximum segment size advertised to clients; 0 = leave the kernel's. */
  mss: number;
  connectTimeoutMs: number;
  /** Builds the PROXY v2 header for a connection, when the listener sends one. */
  proxyHeader?: (client: net.Socket, localAddress: string, localPort: number) => Buffer;
  /** TLS termination (TCPSSL): the secure context options, SNI callback included. */
  tls?: tls.TlsOptions;
  /** Fault rules: true closes this new connection at once (see dataplane/connection-faults.ts). */
  shouldDrop?: () => boolean;
}

export interface TcpListenerBinding {
  vips: readonly string[];
  ports: readonly number[];
  /** Port-range listeners keep the client's destination port towards the backend. */
  keepDestinationPort: boolean;
}

interface Connection {
  client: net.Socket;
  upstream?: net.Socket;
  target?: BackendTarget;
  /** Injected-clock time of the last byte either way; the idle sweep reads it. */
  lastActivity: number;
}

export class TcpListener {
  private readonly servers: net.Server[] = [];
  private readonly connections = new Set<Connection>();
  private readonly cps = new Map<string, CpsLimiter>();
  private drainTimers = new Set<NodeJS.Timeout>();
  private idleSweep: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    readonly id: string,
    readonly binding: TcpListenerBinding,
    private settings: TcpListenerSettings,
    private pool: UpstreamPool,
    private readonly clock: Clock,
    private readonly counters: ListenerCounters,
  ) {}

  /** Binds every VIP and port; on any failure closes what was bound and throws with the reason. */
  async bind(): Promise<void> {
    try {
      for (const vip of this.binding.vips) {
        this.cps.set(vip, new CpsLimiter(this.settings.cps));
        for (const port of this.binding.ports) this.servers.push(await this.listen(vip, port));
      }
    } catch (err) {
      await this.close(0);
      throw err;
    }
    // One sweep per listener instead of a timer per connection; time comes from the clock.
    this.idleSweep = setInterval(() => this.closeIdle(), 1000);
    this.idleSweep.unref();
  }

  /** Closes connections with no traffic for IdleTimeout (by the injected clock). */
  closeIdle(): void {
    const cutoff = this.clock.now() - this.settings.idleTimeoutMs;
    for (const c of this.connections) {
      if (c.lastActivity <= cutoff) c.client.destroy();
    }
  }

  private listen(vip: string, port: number): Promise<net.Server> {
    const server = this.settings.tls
      ? tls.createServer(this.settings.tls, (socket) => this.accept(socket, vip, port))
      : net.createServer({ pauseOnConnect: true }, (socket) => this.accept(socket, vip, port));
    return new Promise((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(new Error(`cannot listen on ${vip}:${port}: ${err.code ?? err.message}`)),
      );
      server.listen({ host: vip, port, backlog: 1024 }, () => {
        server.removeAllListeners('error');
        server.on('error', () => undefined); // accept errors (EMFILE…) must not crash the node
        try {
          if (this.settings.mss > 0) setListenerMss(server, this.settings.mss);
          resolve(server);
        } catch (err) {
          server.close();
          reject(new Error(`cannot set MSS on ${vip}:${port}: ${(err as Error).message}`));
        }
      });
    });
  }

  /** New settings apply to new connections; idle timeouts also to live ones. */
  update(settings: TcpListenerSettings, pool: UpstreamPool): void {
    const mssChanged = settings.mss !== this.settings.mss;
    this.settings = settings;
    this.pool = pool;
    for (const limiter of this.cps.values()) limiter.setLimit(settings.cps);
    if (mssChanged && settings.mss > 0) for (const server of this.servers) setListenerMss(server, settings.mss);
  }

  private accept(client: net.Socket, vip: string, port: number): void {
    const counters = this.counters;
    if (this.closed) {
      client.destroy();
      return;
    }
    if (!this.cps.get(vip)!.admit(this.clock.now())) {
      counters.droppedCps++;
      client.destroy();
      return;
    }
    if (this.settings.shouldDrop?.()) {
      client.destroy();
      return;
    }
    counters.newConnections++;
    const flow: FlowInfo = {
      srcIp: client.remoteAddress ?? '',
      srcPort: client.remotePort ?? 0,
      dstIp: vip,
      dstPort: port,
    };
    const conn: Connection = { client, lastActivity: this.clock.now() };
    this.connections.add(conn);
    counters.activeConnections++;
    client.setNoDelay(true);
    client.on('error', () => client.destroy());
    client.once('close', () => this.finish(conn));
    this.connectUpstream(conn, flow, undefined, 0);
  }

  private connectUpstream(conn: Connection, flow: FlowInfo, first: BackendTarget | undefined, attempt: number): void {
    const pool = this.pool;
    const target = attempt === 0 ? pool.pick(flow) : pool.retry(flow, first!, attempt);
    if (!target || conn.client.destroyed) {
      if (!target) this.counters.droppedNoBackend++;
      conn.client.destroy();
      return;
    }
    const port = this.binding.keepDestinationPort ? flow.dstPort : target.port;
    const upstream = net.connect({ host: target.host, port, noDelay: true });
    conn.upstream = upstream;
    conn.target = target;
    let connected = false;
    upstream.setTimeout(this.settings.connectTimeoutMs, () => upstream.destroy(new Error('connect timeout')));
    upstream.once('error', () => {
      if (connected) {
        conn.client.destroy();
        return;
      }
      // Connect failed: offer the flow to the next eligible backend before giving up.
      conn.upstream = undefined;
      conn.target = undefined;
      this.connectUpstream(conn, flow, first ?? target, attempt + 1);
    });
    upstream.once('connect', () => {
      connected = true;
      pool.opened(target);
      upstream.setTimeout(0);
      upstream.on('error', () => upstream.destroy());
      upstream.once('close', () => {
        pool.closed(target);
        conn.client.destroy();
      });
      const client = conn.client;
      if (this.settings.proxyHeader) {
        upstream.write(this.settings.proxyHeader(client, flow.dstIp, flow.dstPort));
      }
      const counters = this.counters;
      const clock = this.clock;
      client.on('data', (chunk: Buffer) => {
        counters.bytesIn += chunk.length;
        conn.lastActivity = clock.now();
      });
      upstream.on('data', (chunk: Buffer) => {
        counters.bytesOut += chunk.length;
        conn.lastActivity = clock.now();
      });
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  }

  private finish(conn: Connection): void {
    if (!this.connections.delete(conn)) return;
    this.counters.activeConnections--;
    conn.upstream?.destroy();
  }

  /**
   * A backend left the pool (removed, weight 0, unhealthy): new connections already avoid it.
   * Its live connections are closed after `drainMs`, or left to finish when undefined.
   */
  drainBackend(backendKey: string, drainMs: number | undefined): void {
    if (drainMs === undefined) return;
    const victims = [...this.connections].filter((c) => c.target?.key === backendKey);
    if (victims.length === 0) return;
    const timer = setTimeout(() => {
      this.drainTimers.delete(timer);
      for (const c of victims) c.client.destroy();
    }, drainMs);
    timer.unref();
    this.drainTimers.add(timer);
  }

  get activeConnections(): number {
    return this.connections.size;
  }

  /** Closed, and no connection left. */
  get drained(): boolean {
    return this.closed && this.connections.size === 0;
  }

  /**
   * Stops accepting now; live connections are closed after `drainMs` (0: at once). Returns
   * without waiting for them: `server.close()` releases the port at once, but its callback
   * would wait for the last connection, and the reconciler must not stall on a drain.
   */
  async close(drainMs: number): Promise<void> {
    this.closed = true;
    if (this.idleSweep) clearInterval(this.idleSweep);
    for (const s of this.servers) s.close();
    this.servers.length = 0;
    const live = [...this.connections];
    if (live.length === 0) return;
    if (drainMs <= 0) {
      for (const c of live) c.client.destroy();
      return;
    }
    const timer = setTimeout(() => {
      this.drainTimers.delete(timer);
      for (const c of live) c.client.destroy();
    }, drainMs);
    timer.unref();
    this.drainTimers.add(timer);
  }

  /** Ends everything at once (node shutdown). */
  destroy(): void {
    this.closed = true;
    if (this.idleSweep) clearInterval(this.idleSweep);
    for (const t of this.drainTimers) clearTimeout(t);
    this.drainTimers.clear();
    for (const c of this.connections) c.client.destroy();
    for (const s of this.servers) s.close();
  }
}
