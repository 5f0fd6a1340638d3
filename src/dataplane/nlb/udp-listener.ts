/**
 * A running UDP listener: one socket per VIP and port; sessions keyed by the client's address,
 * each with its own connected upstream socket to the backend the scheduler chose for its first
 * datagram. Sessions idle past the listener's IdleTimeout are closed by one sweep per listener
 * rather than a timer per session.
 */
import dgram from 'node:dgram';
import type { Logger } from 'pino';
import type { Clock } from '../../util/clock.js';
import { unrefTimer, type Scheduler, type TimerHandle } from '../../util/scheduler.js';
import type { ListenerCounters } from './listener-metrics.js';
import type { BackendTarget, FlowInfo, UpstreamPool } from './upstream-pool.js';

export interface UdpListenerSettings {
  idleTimeoutMs: number;
  /**
   * Sessions open at once (each holds a descriptor). At the cap, datagrams from clients without
   * a session are dropped and counted, so a flood of sources cannot starve the process.
   */
  maxSessions: number;
}

/** At most one "session cap reached" line per listener this often. */
const CAP_LOG_INTERVAL_MS = 10_000;

export interface UdpListenerBinding {
  vips: readonly string[];
  ports: readonly number[];
  keepDestinationPort: boolean;
}

/** Sessions of one bound socket: client address → client port → session. */
type SessionTable = Map<string, Map<number, Session>>;

interface Session {
  upstream: dgram.Socket;
  /** The pool the session was opened from, which its count belongs to even after a swap. */
  pool: UpstreamPool;
  target: BackendTarget;
  lastSeen: number;
  /** Datagrams that arrived before the upstream socket finished connecting. */
  pending: Buffer[] | undefined;
}

export class UdpListener {
  private readonly sockets: dgram.Socket[] = [];
  /** One table per bound socket, by client address then port (no key string built per datagram). */
  private readonly sessions = new Map<dgram.Socket, SessionTable>();
  private sweeper: TimerHandle | undefined;
  private drainTimer: TimerHandle | undefined;
  private readonly backendDrains = new Set<TimerHandle>();
  private destroyed = false;
  private accepting = true;
  private capLoggedAt = -Infinity;
  private capDropsSinceLog = 0;

  constructor(
    readonly id: string,
    readonly binding: UdpListenerBinding,
    private settings: UdpListenerSettings,
    private pool: UpstreamPool,
    private readonly clock: Clock,
    /** Runs the idle sweep and drain deadlines (tests move a ManualScheduler). */
    private readonly timers: Scheduler,
    private readonly counters: ListenerCounters,
    private readonly log?: Pick<Logger, 'warn'>,
  ) {}

  async bind(): Promise<void> {
    try {
      for (const vip of this.binding.vips) {
        for (const port of this.binding.ports) this.sockets.push(await this.open(vip, port));
      }
    } catch (err) {
      this.destroy();
      throw err;
    }
    this.armSweep();
  }

  /** A quarter of the IdleTimeout between sweeps (0.1–1 s), read again each time it changes. */
  private armSweep(): void {
    const every = Math.min(1000, Math.max(100, this.settings.idleTimeoutMs / 4));
    this.sweeper = unrefTimer(
      this.timers.setTimeout(() => {
        this.sweep();
        if (!this.destroyed) this.armSweep();
      }, every),
    );
  }

  private open(vip: string, port: number): Promise<dgram.Socket> {
    const socket = dgram.createSocket(vip.includes(':') ? 'udp6' : 'udp4');
    const table: SessionTable = new Map();
    this.sessions.set(socket, table);
    return new Promise((resolve, reject) => {
      socket.once('error', (err: NodeJS.ErrnoException) =>
        reject(new Error(`cannot listen on udp ${vip}:${port}: ${err.code ?? err.message}`)),
      );
      socket.bind({ address: vip, port, exclusive: true }, () => {
        socket.removeAllListeners('error');
        socket.on('error', () => undefined);
        socket.on('message', (msg, rinfo) => this.fromClient(socket, table, vip, port, msg, rinfo));
        resolve(socket);
      });
    });
  }

  private fromClient(socket: dgram.Socket, table: SessionTable, vip: string, port: number, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const counters = this.counters;
    counters.udpPacketsIn++;
    counters.bytesIn += msg.length;
    let session = table.get(rinfo.address)?.get(rinfo.port);
    if (!session) {
      if (!this.accepting) return;
      // The count is the listener's (a draining predecessor's sessions hold descriptors too).
      if (counters.udpSessions >= this.settings.maxSessions) {
        counters.droppedUdpSessionCap++;
        this.noteCapDrop();
        return;
      }
      const flow: FlowInfo = { srcIp: rinfo.address, srcPort: rinfo.port, dstIp: vip, dstPort: port, firstPacket: msg };
      const target = this.pool.pick(flow);
      if (!target) {
        counters.droppedNoBackend++;
        return;
      }
      session = this.openSession(socket, table, target, rinfo, port);
    }
    session.lastSeen = this.clock.now();
    if (session.pending) {
      if (session.pending.length < 64) session.pending.push(msg);
    } else {
      session.upstream.send(msg);
    }
  }

  private openSession(socket: dgram.Socket, table: SessionTable, target: BackendTarget, client: dgram.RemoteInfo, port: number): Session {
    const upstream = dgram.createSocket(target.host.includes(':') ? 'udp6' : 'udp4');
    const session: Session = { upstream, pool: this.pool, target, lastSeen: this.clock.now(), pending: [] };
    const counters = this.counters;
    const clientPort = client.port;
    const clientAddress = client.address;
    upstream.on('message', (reply) => {
      counters.udpPacketsOut++;
      counters.bytesOut += reply.length;
      session.lastSeen = this.clock.now();
      socket.send(reply, clientPort, clientAddress);
    });
    // ICMP errors from the backend surface here; the session stays until it idles out.
    upstream.on('error', () => undefined);
    upstream.connect(this.binding.keepDestinationPort ? port : target.port, target.host, () => {
      const queued = session.pending ?? [];
      session.pending = undefined;
      for (const datagram of queued) upstream.send(datagram);
    });
    let byPort = table.get(clientAddress);
    if (!byPort) table.set(clientAddress, (byPort = new Map()));
    byPort.set(clientPort, session);
    this.pool.opened(target);
    counters.udpSessions++;
    return session;
  }

  private noteCapDrop(): void {
    this.capDropsSinceLog++;
    const now = this.clock.now();
    if (now - this.capLoggedAt < CAP_LOG_INTERVAL_MS) return;
    this.log?.warn(
      { listenerId: this.id, maxSessions: this.settings.maxSessions, dropped: this.capDropsSinceLog },
      'UDP listener at its session cap: datagrams from new clients dropped (dataplane.maxUdpSessionsPerListener)',
    );
    this.capLoggedAt = now;
    this.capDropsSinceLog = 0;
  }

  /** Closes sessions idle longer than the IdleTimeout. */
  sweep(): void {
    const cutoff = this.clock.now() - this.settings.idleTimeoutMs;
    this.closeWhere((session) => session.lastSeen <= cutoff);
  }

  /** Closes every session `which` picks, in every table. */
  private closeWhere(which: (session: Session) => boolean): void {
    for (const table of this.sessions.values()) {
      for (const [address, byPort] of table) {
        for (const [port, session] of byPort) if (which(session)) this.closeSession(byPort, port, session);
        if (byPort.size === 0) table.delete(address);
      }
    }
  }

  private closeSession(byPort: Map<number, Session>, port: number, session: Session): void {
    byPort.delete(port);
    session.pool.closed(session.target);
    this.counters.udpSessions--;
    session.upstream.close();
  }

  update(settings: UdpListenerSettings, pool: UpstreamPool): void {
    this.settings = settings;
    this.pool = pool;
  }

  /** Sessions pinned to a backend that left the pool end after `drainMs` (undefined: when idle). */
  drainBackend(backendKey: string, drainMs: number | undefined): void {
    if (drainMs === undefined) return;
    const timer = unrefTimer(
      this.timers.setTimeout(() => {
        this.backendDrains.delete(timer);
        this.closeWhere((session) => session.target.key === backendKey);
      }, drainMs),
    );
    this.backendDrains.add(timer);
  }

  get sessionCount(): number {
    let n = 0;
    for (const table of this.sessions.values()) for (const byPort of table.values()) n += byPort.size;
    return n;
  }

  /**
   * New sessions stop at once; existing ones keep flowing for `drainMs`, on the same sockets
   * (replies leave from the VIP). Returns at once: the drain runs on a timer.
   */
  async close(drainMs: number): Promise<void> {
    this.accepting = false;
    if (drainMs <= 0) {
      this.destroy();
      return;
    }
    this.drainTimer = unrefTimer(this.timers.setTimeout(() => this.destroy(), drainMs));
  }

  /** Sockets closed (destroyed, or the drain has ended). */
  get drained(): boolean {
    return this.destroyed;
  }

  destroy(): void {
    this.destroyed = true;
    if (this.drainTimer) this.timers.clearTimeout(this.drainTimer);
    if (this.sweeper) this.timers.clearTimeout(this.sweeper);
    for (const timer of this.backendDrains) this.timers.clearTimeout(timer);
    this.backendDrains.clear();
    this.closeWhere(() => true);
    for (const socket of this.sessions.keys()) {
      try {
        socket.close();
      } catch {
        // already closed
      }
    }
    this.sessions.clear();
    this.sockets.length = 0;
  }
}
