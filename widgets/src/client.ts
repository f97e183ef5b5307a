// The protocol client (docs/realtime-protocol.md, v1): one websocket to /ws/widget that
// loses nothing. Every message carries a client id and stays queued until its ack names it,
// so a message typed offline, or sent just before the connection dropped, is sent again on
// the next connection and stored once. Ticket frames are applied strictly in seq order: a
// seq seen before is dropped, a hole asks `resume since=<last seq>`.
import type {
  AckFrame,
  ErrorFrame,
  HelloFrame,
  MessageFrame,
  Outgoing,
  ServerFrame,
  StatusFrame,
  TypingFrame,
} from './types'

export type ClientState = 'connecting' | 'open' | 'waiting' | 'refused'
export type TicketFrame = MessageFrame | StatusFrame | TypingFrame

export interface ClientEvents {
  state(state: ClientState): void
  hello(frame: HelloFrame): void
  /** A message or status, new to this client, in seq order; typing as it comes. */
  frame(frame: TicketFrame): void
  acked(frame: AckFrame): void
  /** The server refused one of our messages for good (it is no longer queued). */
  failed(outgoing: Outgoing, error: ErrorFrame): void
  /** The queue changed: keep it (localStorage), so a reload sends what is left. */
  queued(pending: readonly Outgoing[]): void
  /** The token is no longer valid: a new one, or null to stop. */
  renewToken(): Promise<string | null>
}

export interface ClientOptions {
  url: (token: string) => string
  /** Null until the visitor has a session: messages queue until then. */
  token: string | null
  pending?: readonly Outgoing[]
  events: ClientEvents
  socket?: (url: string) => WebSocket
  random?: () => number
}

export const PROTOCOL_VERSION = 1
const FIRST_DELAY_MS = 1000
const MAX_DELAY_MS = 30_000
const RETRY_SOON_MS = 3000
const DEFAULT_HEARTBEAT_S = 25
// Close codes the server uses (app/realtime/runtime.py).
const UNAUTHENTICATED = 4001
const FORBIDDEN = 4003
const BAD_VERSION = 4000
const RETRY_CODES = new Set(['rate_limited', 'internal'])

/** Exponential backoff with ±50 % jitter: 1 s doubling to 30 s. */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** attempt)
  return Math.round(base * (0.5 + random()))
}

export function newClientId(): string {
  const c = globalThis.crypto
  if (c && typeof c.randomUUID === 'function') return c.randomUUID()
  const bytes = new Uint8Array(16)
  c.getRandomValues(bytes)
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

export class ChatClient {
  private ws: WebSocket | null = null
  private token: string | null
  private pending: Outgoing[]
  private readonly seqs = new Map<number, number>()
  private readonly resuming = new Set<number>()
  private ticket: number | null = null
  private attempt = 0
  private ready = false
  // Client ids sent on this connection: a resume mid-conversation does not send them again.
  private sent = new Set<string>()
  private stopped = false
  private heartbeatMs = DEFAULT_HEARTBEAT_S * 1000
  private lastHeard = 0
  private timers: ReturnType<typeof setTimeout>[] = []
  private beat: ReturnType<typeof setInterval> | null = null
  private retry: ReturnType<typeof setTimeout> | null = null

  constructor(private readonly options: ClientOptions) {
    this.token = options.token
    this.pending = [...(options.pending ?? [])]
  }

  get conversation(): number | null {
    return this.ticket
  }

  lastSeq(ticket: number | null = this.ticket): number {
    return ticket === null ? 0 : (this.seqs.get(ticket) ?? 0)
  }

  get queue(): readonly Outgoing[] {
    return this.pending
  }

  /** Start (or continue, after a new session) with this token. */
  useToken(token: string): void {
    if (token !== this.token) {
      this.token = token
      this.seqs.clear()
      this.ticket = null
      this.detach()?.close()
    }
    this.connect()
  }

  connect(): void {
    if (this.stopped || this.ws || this.token === null) return
    this.clearRetry()
    this.setState('connecting')
    const url = this.options.url(this.token as string)
    const ws = this.options.socket ? this.options.socket(url) : new WebSocket(url)
    this.ws = ws
    ws.onmessage = (event) => {
      if (this.ws === ws) this.receive(event.data)
    }
    ws.onclose = (event) => {
      if (this.ws === ws) this.dropped(event.code)
    }
  }

  /** Reconnect now, without waiting for the backoff (the browser came back online). */
  reconnectNow(): void {
    if (!this.ws && !this.stopped) {
      this.attempt = 0
      this.connect()
    }
  }

  stop(): void {
    this.stopped = true
    this.clearRetry()
    this.detach()?.close()
  }

  /** Queue a message; it is sent now if connected, else on the next connection. */
  send(body: string, attachments: Outgoing['attachments'] = []): Outgoing {
    const outgoing: Outgoing = { client_id: newClientId(), body, attachments }
    this.pending.push(outgoing)
    this.options.events.queued(this.pending)
    if (this.ready) this.transmit(outgoing)
    return outgoing
  }

  typing(active: boolean): void {
    if (this.ready && this.ticket !== null) this.write({ type: 'typing', active })
  }

  read(seq: number): void {
    if (this.ready && this.ticket !== null)
      this.write({ type: 'read', ticket_id: this.ticket, seq })
  }

  private setState(state: ClientState): void {
    this.options.events.state(state)
  }

  private write(frame: Record<string, unknown>): void {
    if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify(frame))
  }

  private transmit(outgoing: Outgoing): void {
    this.sent.add(outgoing.client_id)
    this.write({
      type: 'message.send',
      client_id: outgoing.client_id,
      body: outgoing.body,
      ...(outgoing.attachments.length ? { attachment_ids: outgoing.attachments.map((a) => a.id) } : {}),
    })
  }

  private receive(data: unknown): void {
    this.lastHeard = Date.now()
    if (typeof data !== 'string') return
    let frame: ServerFrame
    try {
      frame = JSON.parse(data) as ServerFrame
    } catch {
      return
    }
    if (!frame || typeof frame !== 'object') return
    switch (frame.type) {
      case 'hello':
        return this.hello(frame)
      case 'message.ack':
        return this.acked(frame)
      case 'message.new':
      case 'message.status':
      case 'skip':
        return this.ticketFrame(frame)
      case 'typing':
        return this.options.events.frame(frame)
      case 'resume.done':
        if (frame.ticket_id !== null) {
          this.resuming.delete(frame.ticket_id)
          this.advance(frame.ticket_id, frame.last_seq)
        }
        return this.flushWhenResumed()
      case 'error':
        return this.error(frame)
    }
  }

  private hello(frame: HelloFrame): void {
    this.attempt = 0
    this.heartbeatMs = Math.max(1, frame.heartbeat_seconds || DEFAULT_HEARTBEAT_S) * 1000
    this.startHeartbeat()
    this.ready = true
    this.resuming.clear()
    if (this.ticket === null && frame.conversation) this.ticket = frame.conversation.ticket_id
    this.setState('open')
    this.options.events.hello(frame)
    // What happened while we were away (everything, after a reload); our queue follows, so
    // an ack for a message stored before the connection dropped finds it already shown.
    if (this.ticket !== null) this.resume(this.ticket)
    this.flushWhenResumed()
  }

  private resume(ticket: number): void {
    this.resuming.add(ticket)
    this.write({ type: 'resume', ticket_id: ticket, since: this.lastSeq(ticket) })
  }

  private flushWhenResumed(): void {
    if (!this.ready || this.resuming.size) return
    for (const outgoing of this.pending) if (!this.sent.has(outgoing.client_id)) this.transmit(outgoing)
  }

  private advance(ticket: number, seq: number): void {
    if (seq > this.lastSeq(ticket)) this.seqs.set(ticket, seq)
  }

  private ticketFrame(frame: MessageFrame | StatusFrame | { type: 'skip'; ticket_id: number; seq: number }): void {
    const ticket = frame.ticket_id
    const last = this.lastSeq(ticket)
    if (frame.seq <= last) return // had it: a duplicate
    if (frame.seq > last + 1) {
      // A hole: something was missed. Ask for it; this frame comes again in order.
      if (!this.resuming.has(ticket)) this.resume(ticket)
      return
    }
    this.seqs.set(ticket, frame.seq)
    if (this.ticket === null || ticket > this.ticket) this.ticket = ticket
    if (frame.type !== 'skip') this.options.events.frame(frame)
  }

  private acked(frame: AckFrame): void {
    const before = this.pending.length
    this.pending = this.pending.filter((o) => o.client_id !== frame.client_id)
    if (this.ticket === null || frame.ticket_id > this.ticket) this.ticket = frame.ticket_id
    if (!this.seqs.has(frame.ticket_id)) this.seqs.set(frame.ticket_id, 0)
    if (this.pending.length !== before) this.options.events.queued(this.pending)
    this.options.events.acked(frame)
  }

  private error(frame: ErrorFrame): void {
    const outgoing = this.pending.find((o) => o.client_id === frame.client_id)
    if (!outgoing) return
    if (RETRY_CODES.has(frame.code)) {
      this.timers.push(setTimeout(() => this.ready && this.transmit(outgoing), RETRY_SOON_MS))
      return
    }
    this.pending = this.pending.filter((o) => o !== outgoing)
    this.options.events.queued(this.pending)
    this.options.events.failed(outgoing, frame)
  }

  private startHeartbeat(): void {
    this.stopHeartbeat()
    this.lastHeard = Date.now()
    this.beat = setInterval(() => {
      // Silent for two heartbeats: the connection is dead even if the browser says not.
      if (Date.now() - this.lastHeard > this.heartbeatMs * 2) {
        this.detach()?.close()
        this.dropped(1006)
        return
      }
      this.write({ type: 'ping' })
    }, this.heartbeatMs)
  }

  private stopHeartbeat(): void {
    if (this.beat !== null) clearInterval(this.beat)
    this.beat = null
    for (const timer of this.timers) clearTimeout(timer)
    this.timers = []
  }

  private detach(): WebSocket | null {
    const ws = this.ws
    if (ws) {
      ws.onmessage = null
      ws.onclose = null
    }
    this.ws = null
    this.ready = false
    this.sent = new Set()
    this.stopHeartbeat()
    return ws
  }

  private dropped(code: number): void {
    this.detach()
    if (this.stopped) return
    if (code === FORBIDDEN || code === BAD_VERSION) {
      this.stopped = true
      this.setState('refused')
      return
    }
    if (code === UNAUTHENTICATED) {
      void this.options.events.renewToken().then((token) => {
        if (token === null) {
          this.stopped = true
          this.setState('refused')
          return
        }
        this.token = token
        this.seqs.clear()
        this.ticket = null
        this.schedule()
      })
      return
    }
    this.schedule()
  }

  private schedule(): void {
    this.setState('waiting')
    this.clearRetry()
    const delay = backoffDelay(this.attempt++, this.options.random)
    this.retry = setTimeout(() => {
      this.retry = null
      this.connect()
    }, delay)
  }

  private clearRetry(): void {
    if (this.retry !== null) clearTimeout(this.retry)
    this.retry = null
  }
}
