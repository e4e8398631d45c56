/**
 * The fake Discord gateway: a `ws` WebSocketServer attached to the REST server's port
 * (JSON encoding, no compression — discord.js only asks for zlib-stream when `zlib-sync` is
 * installed, and even then plain text frames are accepted).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import type { DispatchOptions, FakeDiscordState } from './state.js';
import type { GatewayConnectionInfo, GatewayReceived, JsonObject } from './types.js';
import { truncate } from './util.js';

const INTENT_GUILDS = 1 << 0;
const INTENT_MESSAGE_CONTENT = 1 << 15;
const PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15);

interface Session {
  id: string;
  seq: number;
  intents: number;
  conn: Connection | null;
  /** Dispatches produced while no connection was attached; replayed on RESUME. */
  queue: JsonObject[];
}

interface Connection {
  ws: WebSocket;
  info: GatewayConnectionInfo;
  session: Session | null;
  /** Set when the fake itself closed the socket (so the session stays resumable). */
  serverClosing: boolean;
}

interface GatewayWaiter {
  predicate: (msg: GatewayReceived) => boolean;
  resolve: (msg: GatewayReceived) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class FakeGateway {
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private readonly conns = new Set<Connection>();
  private readonly sessions = new Map<string, Session>();
  private readonly waiters = new Set<GatewayWaiter>();
  private connSeq = 0;
  /** Everything the bot sent over the gateway (IDENTIFY, heartbeats, presence updates, ...). */
  readonly received: GatewayReceived[] = [];
  readonly connectionLog: GatewayConnectionInfo[] = [];
  /** Answer RESUME with op 9 (invalid session, not resumable) instead of RESUMED. */
  rejectResume = false;

  constructor(
    private readonly state: FakeDiscordState,
    private readonly url: () => string,
  ) {}

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, req));
  }

  private onConnection(ws: WebSocket, req: IncomingMessage): void {
    const query = Object.fromEntries(new URL(req.url ?? '/', 'http://127.0.0.1').searchParams.entries());
    const info: GatewayConnectionInfo = { connectionId: ++this.connSeq, query, sessionId: null, open: true, openedAt: Date.now() };
    const conn: Connection = { ws, info, session: null, serverClosing: false };
    this.conns.add(conn);
    this.connectionLog.push(info);
    this.log(`connection #${info.connectionId} ${req.url}`);

    ws.on('message', (data, isBinary) => this.onMessage(conn, data, isBinary));
    ws.on('error', () => {});
    ws.on('close', (code) => {
      info.open = false;
      info.closedAt = Date.now();
      info.closeCode = code;
      this.conns.delete(conn);
      this.log(`connection #${info.connectionId} closed ${code}`);
      const session = conn.session;
      if (session && session.conn === conn) {
        session.conn = null;
        // A client-initiated normal close ends the session (Discord invalidates it).
        if (!conn.serverClosing && (code === 1000 || code === 1001)) this.sessions.delete(session.id);
      }
    });

    if (query.encoding && query.encoding !== 'json') {
      this.closeConn(conn, 4002, 'fake-discord only supports encoding=json');
      return;
    }
    this.send(conn, { op: 10, d: { heartbeat_interval: this.state.options.heartbeatInterval ?? 41250, _trace: ['["fake-discord-gateway",{"micros":0}]'] }, s: null, t: null });
  }

  private onMessage(conn: Connection, data: RawData, isBinary: boolean): void {
    let payload: JsonObject;
    try {
      if (isBinary) throw new Error('binary');
      payload = JSON.parse(data.toString());
    } catch {
      this.closeConn(conn, 4002, 'Error while decoding payload.');
      return;
    }
    const msg: GatewayReceived = { op: payload.op, d: payload.d, at: Date.now(), connectionId: conn.info.connectionId, sessionId: conn.session?.id ?? null };
    this.received.push(msg);
    this.log(`<- op ${payload.op} ${truncate(JSON.stringify(payload.d ?? null), 200)}`);
    switch (payload.op) {
      case 1: // Heartbeat
        this.send(conn, { op: 11, d: null, s: null, t: null });
        break;
      case 2:
        this.identify(conn, payload.d ?? {});
        break;
      case 6:
        this.resume(conn, payload.d ?? {});
        break;
      case 3: // Presence update
      case 4: // Voice state update
      case 31: // Request soundboard sounds
        if (!conn.session) this.closeConn(conn, 4003, 'Not authenticated.');
        break;
      case 8: {
        if (!conn.session) {
          this.closeConn(conn, 4003, 'Not authenticated.');
          break;
        }
        const d = payload.d ?? {};
        const ids: string[] | undefined = d.user_ids ? [].concat(d.user_ids) : undefined;
        const members = [...this.state.members.values()].filter(
          (m) => (!ids || ids.includes(m.user.id)) && (!d.query || m.user.username.toLowerCase().startsWith(String(d.query).toLowerCase())),
        );
        this.sendDispatch(conn.session, 'GUILD_MEMBERS_CHUNK', {
          guild_id: this.state.guildId,
          members: d.limit ? members.slice(0, d.limit) : members,
          chunk_index: 0,
          chunk_count: 1,
          ...(d.nonce ? { nonce: d.nonce } : {}),
        });
        break;
      }
      default:
        this.closeConn(conn, 4001, 'Unknown opcode.');
    }
    this.notify(msg);
  }

  private identify(conn: Connection, d: JsonObject): void {
    const s = this.state;
    if (conn.session) return this.closeConn(conn, 4005, 'Already authenticated.');
    if (d.token !== s.token) return this.closeConn(conn, 4004, 'Authentication failed.');
    if (typeof d.intents !== 'number') return this.closeConn(conn, 4013, 'Invalid intent(s).');
    const allowed = s.options.allowedPrivilegedIntents ?? PRIVILEGED_INTENTS;
    if (d.intents & PRIVILEGED_INTENTS & ~allowed) return this.closeConn(conn, 4014, 'Disallowed intent(s).');
    if (Array.isArray(d.shard) && (d.shard[1] !== 1 || d.shard[0] !== 0)) return this.closeConn(conn, 4010, 'Invalid shard.');

    // A new IDENTIFY supersedes sessions nobody is attached to any more.
    for (const [id, sess] of this.sessions) if (!sess.conn) this.sessions.delete(id);
    const session: Session = { id: randomBytes(16).toString('hex'), seq: 0, intents: d.intents, conn, queue: [] };
    this.sessions.set(session.id, session);
    conn.session = session;
    conn.info.sessionId = session.id;

    this.sendDispatch(session, 'READY', {
      v: 10,
      user_settings: {},
      user: s.botUser,
      guilds: [{ id: s.guildId, unavailable: true }, ...s.otherGuilds.map((g) => ({ id: g.id, unavailable: true }))],
      session_id: session.id,
      session_type: 'normal',
      resume_gateway_url: this.url(),
      shard: [0, 1],
      application: { id: s.applicationId, flags: s.application.flags ?? 0 },
      private_channels: [],
      relationships: [],
      presences: [],
      guild_join_requests: [],
      geo_ordered_rtc_regions: ['us-west'],
      auth: {},
      _trace: ['["fake-discord-gateway",{"micros":0}]'],
    });
    // Discord only sends guilds (GUILD_CREATE) to sessions with the GUILDS intent; without it
    // discord.js waits `waitGuildTimeout` (15 s) before emitting clientReady.
    if (d.intents & INTENT_GUILDS) {
      this.sendDispatch(session, 'GUILD_CREATE', s.guildCreatePayload());
      for (const other of s.otherGuilds) this.sendDispatch(session, 'GUILD_CREATE', s.otherGuildCreatePayload(other));
    }
  }

  private resume(conn: Connection, d: JsonObject): void {
    const s = this.state;
    if (conn.session) return this.closeConn(conn, 4005, 'Already authenticated.');
    if (d.token !== s.token) return this.closeConn(conn, 4004, 'Authentication failed.');
    const session = this.sessions.get(d.session_id);
    if (!session || this.rejectResume) {
      this.send(conn, { op: 9, d: false, s: null, t: null });
      return;
    }
    if (session.conn && session.conn !== conn) {
      const old = session.conn;
      session.conn = null;
      old.session = null;
      this.closeConn(old, 4000, 'Session resumed elsewhere.');
    }
    session.conn = conn;
    conn.session = session;
    conn.info.sessionId = session.id;
    const queued = session.queue.splice(0);
    for (const p of queued) this.send(conn, p);
    this.sendDispatch(session, 'RESUMED', { _trace: ['["fake-discord-gateway",{"micros":0}]'] });
  }

  // ---- public API -----------------------------------------------------------------------

  /**
   * Send a dispatch (op 0) to every session (whose intents match `opts.intent`).
   * Sessions without a live connection queue it for RESUME. Returns the number of sessions targeted.
   */
  dispatch(event: string, data: JsonObject, opts: DispatchOptions = {}): number {
    let n = 0;
    for (const session of this.sessions.values()) {
      if (opts.intent && !(session.intents & opts.intent)) continue;
      let d = data;
      if (opts.privilegedContent && !(session.intents & INTENT_MESSAGE_CONTENT)) {
        const mentioned = Array.isArray(data.mentions) && data.mentions.some((u: JsonObject) => u.id === this.state.botUser.id);
        if (!mentioned) d = { ...data, content: '', embeds: [], attachments: [], components: [] };
      }
      this.sendDispatch(session, event, d);
      n++;
    }
    return n;
  }

  hasSession(): boolean {
    return this.sessions.size > 0;
  }

  /** Intents of the most recent session (or undefined). */
  currentIntents(): number | undefined {
    return [...this.sessions.values()].at(-1)?.intents;
  }

  /** Close every open gateway connection with `code` (sessions stay resumable). */
  async disconnect(code = 4000, reason = 'fake-discord: forced close'): Promise<void> {
    const closing = [...this.conns].map(
      (conn) =>
        new Promise<void>((resolve) => {
          conn.ws.once('close', () => resolve());
          this.closeConn(conn, code, reason);
        }),
    );
    await Promise.all(closing);
  }

  /** Drop every connection without a close frame (client sees 1006). */
  drop(): void {
    for (const conn of this.conns) {
      conn.serverClosing = true;
      conn.ws.terminate();
    }
  }

  /** Send op 7 (Reconnect) to every connection. */
  requestReconnect(): void {
    for (const conn of this.conns) this.send(conn, { op: 7, d: null, s: null, t: null });
  }

  /** Send op 9 (Invalid Session) to every connection. */
  invalidateSession(resumable = false): void {
    for (const conn of this.conns) this.send(conn, { op: 9, d: resumable, s: null, t: null });
  }

  connections(): GatewayConnectionInfo[] {
    return [...this.connectionLog];
  }

  waitFor(predicate: (msg: GatewayReceived) => boolean, timeoutMs = 5000, description = 'gateway message'): Promise<GatewayReceived> {
    const existing = this.received.find(predicate);
    if (existing) return Promise.resolve(existing);
    return new Promise((resolve, reject) => {
      const waiter: GatewayWaiter = {
        predicate,
        resolve: (m) => {
          clearTimeout(waiter.timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(waiter.timer);
          reject(e);
        },
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          const recent = this.received.slice(-15).map((m) => `  op ${m.op} conn #${m.connectionId} ${truncate(JSON.stringify(m.d ?? null), 120)}`);
          reject(new Error(`fake-discord: timed out after ${timeoutMs}ms waiting for ${description}.\nRecent gateway messages from the bot:\n${recent.join('\n') || '  (none)'}`));
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  async close(): Promise<void> {
    for (const w of this.waiters) w.reject(new Error('fake-discord closed'));
    this.waiters.clear();
    for (const conn of this.conns) {
      conn.serverClosing = true;
      conn.ws.terminate();
    }
    this.conns.clear();
    this.sessions.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  // ---- internals ------------------------------------------------------------------------

  private notify(msg: GatewayReceived): void {
    for (const w of [...this.waiters]) {
      if (w.predicate(msg)) {
        this.waiters.delete(w);
        w.resolve(msg);
      }
    }
  }

  private sendDispatch(session: Session, event: string, d: JsonObject): void {
    const payload = { op: 0, t: event, s: ++session.seq, d };
    if (session.conn && session.conn.ws.readyState === session.conn.ws.OPEN) this.send(session.conn, payload);
    else session.queue.push(payload);
  }

  private send(conn: Connection, payload: JsonObject): void {
    if (conn.ws.readyState !== conn.ws.OPEN) return;
    this.log(`-> op ${payload.op}${payload.t ? ` ${payload.t}` : ''}`);
    conn.ws.send(JSON.stringify(payload));
  }

  private closeConn(conn: Connection, code: number, reason: string): void {
    conn.serverClosing = true;
    const valid = (code >= 1000 && code <= 1014 && ![1004, 1005, 1006].includes(code)) || (code >= 3000 && code <= 4999);
    if (valid) conn.ws.close(code, reason);
    else conn.ws.terminate();
  }

  private log(line: string): void {
    if (this.state.options.debug) process.stderr.write(`[fake-discord gw] ${line}\n`);
  }
}
