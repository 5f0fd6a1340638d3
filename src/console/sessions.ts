/**
 * Console sign-in sessions. The AccessKey secret lives only here, in this process's memory, for
 * as long as the session does: the browser holds nothing but an opaque random id in an HttpOnly
 * cookie. A session ends when it has been idle for idleMs, when it reaches maxAgeMs, or at
 * sign-out; a server restart ends them all (the secret is never written to disk).
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../util/clock.js';

export interface ConsoleSession {
  id: string;
  accessKeyId: string;
  accessKeySecret: string;
  createdAt: number;
  lastSeenAt: number;
}

export interface SessionLimits {
  /** Idle time after which a session is gone (default 30 minutes). */
  idleMs: number;
  /** Lifetime however busy (default 8 hours). */
  maxAgeMs: number;
  /** Sessions kept at most; signing in past it ends the least recently used one. */
  maxSessions: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = { idleMs: 30 * 60_000, maxAgeMs: 8 * 3_600_000, maxSessions: 1000 };

export class SessionStore {
  // Map order is insertion order; touch() re-inserts, so the first entry is the least recently used.
  private readonly sessions = new Map<string, ConsoleSession>();

  constructor(
    private readonly clock: Clock,
    readonly limits: SessionLimits = DEFAULT_SESSION_LIMITS,
  ) {}

  create(accessKeyId: string, accessKeySecret: string): ConsoleSession {
    this.sweep();
    while (this.sessions.size >= this.limits.maxSessions) {
      const oldest = this.sessions.keys().next().value as string;
      this.sessions.delete(oldest);
    }
    const now = this.clock.now();
    const session: ConsoleSession = {
      id: randomBytes(32).toString('base64url'),
      accessKeyId,
      accessKeySecret,
      createdAt: now,
      lastSeenAt: now,
    };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session for a cookie value, its idle timer restarted; undefined when unknown or expired. */
  touch(id: string | undefined): ConsoleSession | undefined {
    if (!id) return undefined;
    const session = this.sessions.get(id);
    if (!session) return undefined;
    const now = this.clock.now();
    if (this.expired(session, now)) {
      this.sessions.delete(id);
      return undefined;
    }
    session.lastSeenAt = now;
    this.sessions.delete(id);
    this.sessions.set(id, session);
    return session;
  }

  end(id: string | undefined): void {
    if (id) this.sessions.delete(id);
  }

  /** Seconds the cookie should live: never longer than the session can. */
  cookieMaxAgeSeconds(session: ConsoleSession): number {
    const left = Math.min(session.lastSeenAt + this.limits.idleMs, session.createdAt + this.limits.maxAgeMs) - this.clock.now();
    return Math.max(0, Math.floor(left / 1000));
  }

  get size(): number {
    return this.sessions.size;
  }

  private expired(session: ConsoleSession, now: number): boolean {
    return now - session.lastSeenAt >= this.limits.idleMs || now - session.createdAt >= this.limits.maxAgeMs;
  }

  private sweep(): void {
    const now = this.clock.now();
    for (const [id, session] of this.sessions) if (this.expired(session, now)) this.sessions.delete(id);
  }
}
