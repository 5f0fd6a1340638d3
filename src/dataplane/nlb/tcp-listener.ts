/**
 * A running TCP (or TLS-terminating) listener: one net.Server per VIP and port, each new
 * connection sent to a backend chosen by the server group's scheduler, relayed both ways
 * with backpressure. Configuration changes swap the pool or the settings in place, so live
 * connections are never dropped by a reconcile.
 *
 * Relaying: plain TCP listeners (with or without a PROXY header) hand their listening sockets
 * to the native addon, which accepts, connects the backend and splices; JS only decides (CPS,
 * faults, the scheduler's pick, the PROXY header) and keeps the books, with no Node socket per
 * connection. With OPENSLB_USERSPACE_ACCEPT=js, JS accepts and connects, then hands the pair
 * to the splice relay. TLS connections go to the addon's TLS relay at accept (handshake there,
 * backend after it; see ../native/tls-relay.ts). Without the addon, plain TCP relays in JS (see
 * ./js-relay.ts) and TLS goes through Node's TLS. All keep the same
 * behaviour: half-close passes through, a reset on one side resets the other, IdleTimeout and
 * drains close connections, and byte counts reach the listener's metrics.
 *
 * Activity for IdleTimeout is sampled, not stamped per chunk: the sweep (once a second) and
 * each metrics scrape compare a connection's byte totals with what they saw last, and note the
 * injected clock's time when they moved. A connection is idle after IdleTimeout with no
 * movement seen, give or take one sweep.
 */
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import type { Clock } from '../../util/clock.js';
import { unrefTimer, type Scheduler, type TimerHandle } from '../../util/scheduler.js';
import { setListenerFdMss, setListenerMss } from '../native/tcp-sockopt.js';
import type { NativeConnectionOwner, NativeListener, SpliceEnd, SpliceRelay } from '../native/splice-relay.js';
import type { TlsContext, TlsEnd, TlsRelay } from '../native/tls-relay.js';
import type { BackendTarget, FlowInfo, UpstreamPool } from './upstream-pool.js';
import { CpsLimiter } from './cps-limiter.js';
import type { ListenerCounters } from './listener-metrics.js';
import { relayInJs, type RelayedConnection } from './js-relay.js';
import type { CloseReason, ConnectionLogEntry } from './connection-log.js';

/** How often a listener samples activity and closes idle connections (IdleTimeout is whole seconds). */
const IDLE_SWEEP_MS = 1000;

export interface TcpListenerSettings {
  idleTimeoutMs: number;
  /** New connections per second per VIP; 0 = unlimited. */
  cps: number;
  /** TCP maximum segment size advertised to clients; 0 = leave the kernel's. */
  mss: number;
  connectTimeoutMs: number;
  /** Builds the PROXY v2 header for a connection (client and VIP), when the listener sends one. */
  proxyHeader?: (flow: FlowInfo) => Buffer;
  /** TLS termination (TCPSSL) by Node: the secure context options, SNI callback included. */
  tls?: tls.TlsOptions;
  /** TLS termination (TCPSSL) in the native addon instead: the relay and this listener's contexts. */
  nativeTls?: { relay: TlsRelay; context: TlsContext };
  /** Fault rules: true closes this new connection at once (see dataplane/connection-faults.ts). */
  shouldDrop?: () => boolean;
  /** The kernel-to-kernel relay for plain TCP; absent: every connection relays in JS. */
  splice?: SpliceRelay;
  /** Accept in JS and hand connected pairs to `splice`, even where the addon could accept. */
  acceptInJs?: boolean;
  /** Called once per connection as it ends, when the connection log is on; absent: no cost. */
  logConnection?: (entry: ConnectionLogEntry) => void;
}

export interface TcpListenerBinding {
  vips: readonly string[];
  ports: readonly number[];
  /** Port-range listeners keep the client's destination port towards the backend. */
  keepDestinationPort: boolean;
}

interface Connection extends RelayedConnection {
  /** The client's Node socket; absent when the addon accepted it. */
  client?: net.Socket;
  upstream?: net.Socket;
  target?: BackendTarget;
  /**
   * The pool `target` was picked from, while a native relay holds the backend (native accept from
   * the connect on, native TLS once attached): the relay's end owes it a `closed`.
   */
  pool?: UpstreamPool;
  flow: FlowInfo;
  /** Native path: the accepted client's slot, the first backend tried and the attempt number. */
  nativeSlot: number;
  first?: BackendTarget;
  attempt: number;
  vip: string;
  port: number;
  startedAt: number;
  /** Splice relay slot while the relay moves the bytes, else -1. */
  slot: number;
  /** The native relay holding `slot` (splice, or TLS from accept on). */
  relay?: SpliceRelay | TlsRelay;
  /** Handed to the splice relay: Node's sockets are gone, their events mean nothing. */
  spliced: boolean;
  /** Bytes already added to the listener's counters. */
  countedIn: number;
  countedOut: number;
  /** Byte total at the last sample, and the injected-clock time it last moved. */
  seen: number;
  lastActivity: number;
  /** Why it is ending, when something other than the peers decided. */
  reason?: CloseReason;
  ended: boolean;
}

export class TcpListener implements NativeConnectionOwner<Connection> {
  private readonly servers: net.Server[] = [];
  private readonly bound: AddressInfo[] = [];
  private readonly nativeListeners: NativeListener[] = [];
  private readonly connections = new Set<Connection>();
  private readonly cps = new Map<string, CpsLimiter>();
  private drainTimers = new Set<TimerHandle>();
  private idleSweep: TimerHandle | undefined;
  private closed = false;
  /** Fixed per bind, like Node's TLS server: new contexts mean a new listener instance. */
  private readonly nativeTls: TcpListenerSettings['nativeTls'];

  constructor(
    readonly id: string,
    readonly binding: TcpListenerBinding,
    private settings: TcpListenerSettings,
    private pool: UpstreamPool,
    private readonly clock: Clock,
    /** Runs the idle sweep and drain deadlines (tests move a ManualScheduler). */
    private readonly timers: Scheduler,
    private readonly counters: ListenerCounters,
  ) {
    this.nativeTls = settings.nativeTls;
  }

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
    this.armIdleSweep();
  }

  private armIdleSweep(): void {
    this.idleSweep = unrefTimer(
      this.timers.setTimeout(() => {
        this.closeIdle();
        if (!this.closed) this.armIdleSweep();
      }, IDLE_SWEEP_MS),
    );
  }

  /** Samples activity, then closes connections with none for IdleTimeout (by the injected clock). */
  closeIdle(): void {
    const now = this.clock.now();
    const cutoff = now - this.settings.idleTimeoutMs;
    for (const c of this.connections) {
      this.sample(c, now);
      if (c.lastActivity <= cutoff) this.kill(c, 'idle-timeout');
    }
  }

  /** Brings the byte counters up to date (a metrics scrape calls this) and notes activity. */
  sampleCounters(): void {
    const now = this.clock.now();
    for (const c of this.connections) this.sample(c, now);
  }

  private sample(c: Connection, now: number): void {
    if (c.slot >= 0) {
      const counts = c.relay!.counters;
      c.toBackend = counts[2 * c.slot];
      c.toClient = counts[2 * c.slot + 1];
    }
    this.count(c);
    const total = c.toBackend + c.toClient;
    if (total !== c.seen) {
      c.seen = total;
      c.lastActivity = now;
    }
  }

  private count(c: Connection): void {
    this.counters.bytesIn += c.toBackend - c.countedIn;
    this.counters.bytesOut += c.toClient - c.countedOut;
    c.countedIn = c.toBackend;
    c.countedOut = c.toClient;
  }

  /** Who accepts new connections: the native addon, or Node (then relayed in JS or handed over). */
  get acceptPath(): 'native' | 'js' {
    return this.nativeListeners.length > 0 ? 'native' : 'js';
  }

  /** The addresses bound (a port of 0 asked for shows the one the kernel gave). */
  get addresses(): readonly AddressInfo[] {
    return this.bound;
  }

  private listen(vip: string, port: number): Promise<net.Server> {
    const server =
      this.settings.tls && !this.settings.nativeTls
        ? tls.createServer({ ...this.settings.tls, allowHalfOpen: true }, (socket) => this.accept(socket, vip, port))
        : net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, (socket) => this.accept(socket, vip, port));
    return new Promise((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(new Error(`cannot listen on ${vip}:${port}: ${err.code ?? err.message}`)),
      );
      server.listen({ host: vip, port, backlog: 1024 }, () => {
        server.removeAllListeners('error');
        server.on('error', () => undefined); // accept errors (EMFILE…) must not crash the node
        server.on('tlsClientError', () => this.counters.tlsHandshakeFailures++); // Node's TLS only
        try {
          if (this.settings.mss > 0) setListenerMss(server, this.settings.mss);
          const address = server.address() as AddressInfo;
          this.bound.push(address);
          const splice = this.settings.splice;
          if (splice?.nativeAccept && !this.settings.tls && !this.settings.acceptInJs) {
            const native = splice.listen(server, (slot, ip, clientPort) =>
              this.acceptNative(splice, slot, ip, clientPort, vip, address.port),
            );
            if (native) this.nativeListeners.push(native);
          }
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
    // Live relays keep the splice relay they were handed to (it is one per process anyway).
    this.settings = { ...settings, splice: settings.tls ? undefined : settings.splice };
    this.pool = pool;
    for (const limiter of this.cps.values()) limiter.setLimit(settings.cps);
    if (mssChanged && settings.mss > 0) {
      if (this.nativeListeners.length > 0) for (const native of this.nativeListeners) setListenerFdMss(native.fd, settings.mss);
      else for (const server of this.servers) setListenerMss(server, settings.mss);
    }
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
    const now = this.clock.now();
    const flow: FlowInfo = { srcIp: client.remoteAddress ?? '', srcPort: client.remotePort ?? 0, dstIp: vip, dstPort: port };
    const conn: Connection = {
      client,
      vip,
      port,
      flow,
      nativeSlot: -1,
      attempt: 0,
      startedAt: now,
      slot: -1,
      spliced: false,
      toBackend: 0,
      toClient: 0,
      countedIn: 0,
      countedOut: 0,
      seen: 0,
      lastActivity: now,
      ended: false,
    };
    this.connections.add(conn);
    counters.activeConnections++;
    client.setNoDelay(true);
    client.on('error', () => conn.spliced || this.kill(conn, 'client-error'));
    client.once('close', () => conn.spliced || this.socketClosed(conn));
    if (this.nativeTls) this.startTls(conn, client, flow, this.nativeTls);
    else this.connectUpstream(conn, flow, undefined, 0);
  }

  /**
   * Native TLS: the addon does the handshake; only then is a backend picked and connected (a
   * failed handshake opens none), and the addon relays. Node's client socket is gone from here.
   */
  private startTls(conn: Connection, client: net.Socket, flow: FlowInfo, native: { relay: TlsRelay; context: TlsContext }): void {
    conn.spliced = true;
    const slot = native.relay.adopt(native.context, client, {
      handshake: () => this.connectUpstream(conn, flow, undefined, 0),
      end: (end) => this.tlsEnded(conn, end),
    });
    if (slot < 0) {
      conn.spliced = false;
      client.destroy();
      return;
    }
    conn.slot = slot;
    conn.relay = native.relay;
  }

  private tlsEnded(conn: Connection, end: TlsEnd): void {
    conn.toBackend = end.toBackend;
    conn.toClient = end.toClient;
    conn.slot = -1;
    if (conn.pool) conn.pool.closed(conn.target!);
    else conn.upstream?.destroy(); // still connecting: nobody will want it
    if (end.reason === 'client-error' || end.reason === 'backend-error') conn.reason ??= end.reason;
    if (end.reason === 'handshake-failed') {
      this.counters.tlsHandshakeFailures++;
      conn.reason ??= 'tls-handshake-failed';
    }
    this.finish(conn);
  }

  /** The client is gone: closed in Node, or (native TLS) its relay has ended. */
  private clientGone(conn: Connection): boolean {
    return conn.relay ? conn.slot < 0 : conn.client!.destroyed;
  }

  private dropClient(conn: Connection): void {
    if (conn.relay && conn.slot >= 0) conn.relay.abort(conn.slot);
    else if (!conn.relay) conn.client!.destroy();
  }

  /** A client the addon accepted: the same decisions as `accept`, answered to the addon. */
  private acceptNative(splice: SpliceRelay, slot: number, clientIp: string, clientPort: number, vip: string, port: number): void {
    const counters = this.counters;
    const now = this.clock.now();
    if (this.closed || this.settings.shouldDrop?.()) {
      splice.reject(slot);
      return;
    }
    if (!this.cps.get(vip)!.admit(now)) {
      counters.droppedCps++;
      splice.reject(slot);
      return;
    }
    counters.newConnections++;
    const conn: Connection = {
      vip,
      port,
      flow: { srcIp: clientIp, srcPort: clientPort, dstIp: vip, dstPort: port },
      nativeSlot: slot,
      attempt: 0,
      startedAt: now,
      slot: -1,
      spliced: true,
      toBackend: 0,
      toClient: 0,
      countedIn: 0,
      countedOut: 0,
      seen: 0,
      lastActivity: now,
      ended: false,
    };
    this.connections.add(conn);
    counters.activeConnections++;
    this.connectNative(splice, conn);
  }

  /** Offers the flow to the next backend (the pick, then the scheduler's retries) until a connect starts. */
  private connectNative(splice: SpliceRelay, conn: Connection): void {
    const { flow } = conn;
    for (;;) {
      const pool = this.pool;
      const target = conn.attempt === 0 ? pool.pick(flow) : pool.retry(flow, conn.first!, conn.attempt);
      if (!target) {
        this.counters.droppedNoBackend++;
        conn.reason ??= conn.attempt === 0 ? 'no-backend' : 'connect-failed';
        splice.reject(conn.nativeSlot);
        this.finish(conn);
        return;
      }
      conn.first ??= target;
      const port = this.binding.keepDestinationPort ? flow.dstPort : target.port;
      const header = this.settings.proxyHeader?.(flow);
      if (splice.connect(conn.nativeSlot, target.host, port, header, this.settings.connectTimeoutMs, this, conn) === 0) {
        // Counted from the connect on: a backend slow to answer already carries the flow (wlc).
        pool.opened(target);
        conn.target = target;
        conn.pool = pool;
        conn.slot = conn.nativeSlot;
        conn.relay = splice;
        return;
      }
      conn.attempt++;
    }
  }

  /** NativeConnectionOwner: the backend refused or timed out; the next one is tried. */
  connectFailed(conn: Connection, _errno: number): void {
    conn.pool!.closed(conn.target!);
    conn.target = undefined;
    conn.pool = undefined;
    conn.slot = -1;
    conn.attempt++;
    this.connectNative(this.settings.splice!, conn);
  }

  /** NativeConnectionOwner: the relay ended (or the connect under way was aborted). */
  ended(conn: Connection, end: SpliceEnd): void {
    this.spliceEnded(conn, end, conn.target!, conn.pool!);
  }

  private connectUpstream(conn: Connection, flow: FlowInfo, first: BackendTarget | undefined, attempt: number): void {
    const pool = this.pool;
    const target = attempt === 0 ? pool.pick(flow) : pool.retry(flow, first!, attempt);
    if (!target || this.clientGone(conn)) {
      if (!target) {
        this.counters.droppedNoBackend++;
        conn.reason ??= attempt === 0 ? 'no-backend' : 'connect-failed';
      }
      this.dropClient(conn);
      return;
    }
    const port = this.binding.keepDestinationPort ? flow.dstPort : target.port;
    const upstream = net.connect({ host: target.host, port, noDelay: true, allowHalfOpen: true });
    // Nothing is read from the backend before the relay owns the socket (server-first protocols).
    upstream.pause();
    conn.upstream = upstream;
    conn.target = target;
    let connected = false;
    upstream.setTimeout(this.settings.connectTimeoutMs, () => upstream.destroy(new Error('connect timeout')));
    upstream.once('error', () => {
      if (connected) return;
      // Connect failed: offer the flow to the next eligible backend before giving up.
      conn.upstream = undefined;
      conn.target = undefined;
      this.connectUpstream(conn, flow, first ?? target, attempt + 1);
    });
    upstream.once('connect', () => {
      connected = true;
      pool.opened(target);
      upstream.setTimeout(0);
      upstream.on('error', () => conn.spliced || this.kill(conn, 'backend-error'));
      upstream.once('close', () => {
        if (conn.spliced) return; // the relay's end reports it
        pool.closed(target);
        this.socketClosed(conn);
      });
      if (conn.relay) {
        this.attachTls(conn, upstream, pool, this.settings.proxyHeader?.(flow));
        return;
      }
      if (conn.client!.destroyed) {
        upstream.destroy();
        return;
      }
      const header = this.settings.proxyHeader?.(flow);
      const splice = this.settings.splice;
      if (splice !== undefined && this.handOver(conn, splice, header, target, pool)) return;
      if (header) upstream.write(header);
      relayInJs(conn, conn.client!, upstream);
    });
  }

  /** Native TLS: the connected backend joins the handshaken client in the addon. */
  private attachTls(conn: Connection, upstream: net.Socket, pool: UpstreamPool, header: Buffer | undefined): void {
    const relay = conn.relay as TlsRelay;
    if (conn.slot >= 0 && upstream.readableLength === 0 && relay.attach(conn.slot, upstream, header)) {
      conn.pool = pool;
      return;
    }
    // The client ended meanwhile (or the socket cannot be handed over): this backend is done.
    conn.reason ??= 'backend-error';
    upstream.destroy();
    pool.closed(conn.target!);
    this.dropClient(conn);
  }

  /**
   * Moves a connected pair into the splice relay (the header goes through the relay, so Node
   * never writes to the backend); false when the relay cannot take them and JS must relay.
   */
  private handOver(conn: Connection, splice: SpliceRelay, header: Buffer | undefined, target: BackendTarget, pool: UpstreamPool): boolean {
    const { client, upstream } = conn;
    if (!client || !upstream || client.readableLength > 0 || upstream.readableLength > 0) return false;
    // From here the relay owns the descriptors; Node's sockets are destroyed by `adopt`.
    conn.spliced = true;
    const slot = splice.adopt(client, upstream, header, (end) => this.spliceEnded(conn, end, target, pool));
    if (slot >= 0) {
      conn.slot = slot;
      conn.relay = splice;
      return true;
    }
    conn.spliced = false;
    return false;
  }

  private spliceEnded(conn: Connection, end: SpliceEnd, target: BackendTarget, pool: UpstreamPool): void {
    conn.toBackend = end.toBackend;
    conn.toClient = end.toClient;
    conn.slot = -1;
    pool.closed(target);
    if (end.reason === 'client-error' || end.reason === 'backend-error') conn.reason ??= end.reason;
    this.finish(conn);
  }

  /** A Node socket closed: the connection ends once the client and the backend (if any) have. */
  private socketClosed(conn: Connection): void {
    const upstreamOpen = conn.upstream !== undefined && !conn.upstream.destroyed;
    if (conn.client!.destroyed && !upstreamOpen) {
      this.finish(conn);
      return;
    }
    // One side is gone for good (not a half-close): an error or a decision on our side.
    if (conn.reason !== undefined) {
      conn.client!.destroy();
      conn.upstream?.destroy();
    }
  }

  /** Ends a connection for a reason of ours (idle, drain, stop) or after a socket error. */
  private kill(conn: Connection, reason: CloseReason): void {
    if (conn.ended) return;
    conn.reason ??= reason;
    if (conn.slot >= 0) {
      conn.relay!.abort(conn.slot);
      return;
    }
    const { client, upstream } = conn;
    if (!client) return; // native, between two connect attempts: the next answer ends it
    // A reset on one side becomes a reset on the other, as through any L4 load balancer.
    if (reason === 'client-error' && upstream && !upstream.connecting) resetOrDestroy(upstream);
    else if (reason === 'backend-error') resetOrDestroy(client);
    client.destroy();
    upstream?.destroy();
  }

  private finish(conn: Connection): void {
    if (conn.ended) return;
    conn.ended = true;
    this.connections.delete(conn);
    this.counters.activeConnections--;
    this.count(conn);
    const log = this.settings.logConnection;
    if (log) {
      log({
        listenerId: this.id,
        client: `${conn.flow.srcIp}:${conn.flow.srcPort}`,
        listener: `${conn.vip}:${conn.port}`,
        backend: conn.target?.key,
        bytesIn: conn.toBackend,
        bytesOut: conn.toClient,
        durationMs: this.clock.now() - conn.startedAt,
        reason: conn.reason ?? 'closed',
        relay: conn.relay === undefined ? 'js' : conn.relay === this.nativeTls?.relay ? 'native-tls' : 'splice',
      });
    }
  }

  /**
   * A backend left the pool (removed, weight 0, unhealthy): new connections already avoid it.
   * Its live connections are closed after `drainMs`, or left to finish when undefined.
   */
  drainBackend(backendKey: string, drainMs: number | undefined): void {
    if (drainMs === undefined) return;
    const victims = [...this.connections].filter((c) => c.target?.key === backendKey);
    if (victims.length === 0) return;
    const timer = unrefTimer(
      this.timers.setTimeout(() => {
        this.drainTimers.delete(timer);
        for (const c of victims) this.kill(c, 'backend-drained');
      }, drainMs),
    );
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
    if (this.idleSweep) this.timers.clearTimeout(this.idleSweep);
    this.stopAccepting();
    const live = [...this.connections];
    if (live.length === 0) return;
    if (drainMs <= 0) {
      for (const c of live) this.kill(c, 'listener-stopped');
      return;
    }
    const timer = unrefTimer(
      this.timers.setTimeout(() => {
        this.drainTimers.delete(timer);
        for (const c of live) this.kill(c, 'listener-stopped');
      }, drainMs),
    );
    this.drainTimers.add(timer);
  }

  /** Ends everything at once (node shutdown). */
  destroy(): void {
    this.closed = true;
    if (this.idleSweep) this.timers.clearTimeout(this.idleSweep);
    for (const t of this.drainTimers) this.timers.clearTimeout(t);
    this.drainTimers.clear();
    for (const c of this.connections) this.kill(c, 'listener-stopped');
    this.stopAccepting();
  }

  /** Releases the port now: the addon's descriptors first, then Node's servers. */
  private stopAccepting(): void {
    for (const native of this.nativeListeners) native.close();
    this.nativeListeners.length = 0;
    for (const s of this.servers) s.close();
    this.servers.length = 0;
  }
}

/** RST where the socket allows it (plain TCP), else an ordinary close (TLS). */
function resetOrDestroy(socket: net.Socket): void {
  if (socket.destroyed) return;
  if (socket instanceof tls.TLSSocket) socket.destroy();
  else socket.resetAndDestroy();
}
