// The console's one agent socket (/ws/agent, docs/realtime-protocol.md). It reconnects with
// backoff and jitter, keeps the protocol's order rule (per ticket: frames in seq order,
// once; a hole or a reconnect asks `resume since=<seq>` for the tickets a page follows),
// and says again after each reconnect what the agent had told the server (presence, the
// tickets they view). Components never parse frames: they subscribe to typed ones here.

export type Presence = 'online' | 'away' | 'offline'
export const PRESENCES: readonly Presence[] = ['online', 'away', 'offline']
/** channel -> presence, e.g. { chat: 'away', email: 'online' } */
export type ChannelPresences = Record<string, Presence>

export interface Author {
  type: 'agent' | 'contact' | 'system'
  id: number | null
  name: string | null
}

export interface Viewer {
  id: number
  name: string
  typing: boolean
}

export type ServerFrame =
  | {
      type: 'hello'
      heartbeat_seconds: number
      agent: { id: number; name: string }
      presence: Presence
      /** Each channel's presence (its own choice where the agent made one). */
      channels?: ChannelPresences
    }
  | { type: 'pong' }
  | { type: 'presence'; agent_id: number; status: Presence; channels?: ChannelPresences }
  | { type: 'typing'; ticket_id: number; author: Author; active: boolean }
  | { type: 'viewers'; ticket_id: number; agents: Viewer[] }
  | { type: 'resume.done'; ticket_id: number; since: number; last_seq: number }
  | { type: 'error'; code: string; detail: string; client_id?: string }
  | {
      type: 'message.new'
      ticket_id: number
      seq: number
      message_id: number
      body: string
      author: Author
      internal: boolean
      direction: string
      status: string
      at: string
    }
  | { type: 'message.status'; ticket_id: number; seq: number; message_id: number; status: string }
  | {
      type: 'ticket.created' | 'ticket.updated' | 'ticket.merged'
      ticket_id: number
      seq: number
      data: Record<string, unknown>
    }

/** Frames that are events of a ticket, numbered by its seq. */
export type TicketFrame = Extract<ServerFrame, { seq: number }>
export type FrameOf<T extends ServerFrame['type']> = Extract<ServerFrame, { type: T }>

export type ConnectionState = 'connecting' | 'open' | 'closed' | 'signed-out'

/** What the socket needs of a WebSocket (a test passes a stand-in). */
export interface SocketLike {
  readonly readyState: number
  onopen: ((event: Event) => void) | null
  onmessage: ((event: MessageEvent) => void) | null
  onclose: ((event: CloseEvent) => void) | null
  onerror: ((event: Event) => void) | null
  send(data: string): void
  close(code?: number): void
}

export interface AgentSocketOptions {
  url?: string
  open?: (url: string) => SocketLike
  random?: () => number
  /** The first reconnect delay and the longest one, in ms (protocol: 1 s to 30 s). */
  backoff?: { first: number; max: number }
}

const OPEN = 1
const CLOSE_UNAUTHENTICATED = 4001
const CLOSE_FORBIDDEN = 4003
const KNOWN_TICKETS = 5_000

function defaultUrl(): string {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws'
  return `${scheme}://${location.host}/ws/agent?v=1`
}

type Listener = (frame: ServerFrame) => void

export class AgentSocket {
  state: ConnectionState = 'closed'
  /** The signed-in agent, from the hello frame. */
  agent: { id: number; name: string } | null = null
  onState: (state: ConnectionState) => void = () => undefined

  private socket: SocketLike | null = null
  private listeners = new Set<Listener>()
  private attempts = 0
  private retry: ReturnType<typeof setTimeout> | undefined
  private heartbeat: ReturnType<typeof setInterval> | undefined
  private lastHeard = 0
  private heartbeatMs = 25_000
  private wanted = false
  private everOpen = false
  /** How many times a connection was opened (a hello after the first is a reconnect). */
  opens = 0
  // ticket -> the last seq applied; the followed ones are gap-checked and resumed.
  private seqs = new Map<number, number>()
  private followed = new Set<number>()
  private resuming = new Set<number>()
  private viewing = new Set<number>()
  private typingOn = new Map<number, boolean>() // ticket -> internal
  private presence: Presence | null = null

  constructor(private readonly options: AgentSocketOptions = {}) {}

  /** Connect (once signed in); reconnects until `stop()`. */
  start(): void {
    this.wanted = true
    if (!this.socket) this.connect()
  }

  stop(): void {
    this.wanted = false
    clearTimeout(this.retry)
    this.closeSocket()
    this.setState('closed')
  }

  /** Every server frame, in the order the rules allow; returns the unsubscribe. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** A page shows this ticket as of `seq`: later frames are checked for holes, and a
   * reconnect asks for what was missed. */
  follow(ticketId: number, seq: number): void {
    this.followed.add(ticketId)
    this.remember(ticketId, Math.max(seq, this.seqs.get(ticketId) ?? 0))
  }

  unfollow(ticketId: number): void {
    this.followed.delete(ticketId)
  }

  setPresence(status: Presence): void {
    this.presence = status
    this.send({ type: 'presence.set', status })
  }

  /** A presence for some channels (e.g. chat away, email online); the server holds it,
   * so a reconnect need not say it again. */
  setChannelPresence(channels: ChannelPresences): void {
    this.send({ type: 'presence.set', channels })
  }

  setViewing(ticketId: number, active: boolean): void {
    if (active) this.viewing.add(ticketId)
    else this.viewing.delete(ticketId)
    this.send({ type: 'viewing', ticket_id: ticketId, active })
  }

  typing(ticketId: number, active: boolean, internal: boolean): void {
    if (active) this.typingOn.set(ticketId, internal)
    else this.typingOn.delete(ticketId)
    this.send({ type: 'typing', ticket_id: ticketId, active, internal })
  }

  /** Sent when open; dropped otherwise (what is state is said again on reconnect). */
  private send(frame: Record<string, unknown>): boolean {
    if (this.state !== 'open' || this.socket?.readyState !== OPEN) return false
    this.socket.send(JSON.stringify(frame))
    return true
  }

  private connect(): void {
    this.setState('connecting')
    const open = this.options.open ?? ((url: string) => new WebSocket(url))
    const socket = open(this.options.url ?? defaultUrl())
    this.socket = socket
    socket.onmessage = (event) => {
      if (this.socket !== socket) return
      this.lastHeard = Date.now()
      this.receive(String(event.data))
    }
    socket.onclose = (event) => {
      if (this.socket !== socket) return
      this.socket = null
      this.stopHeartbeat()
      if (event.code === CLOSE_UNAUTHENTICATED || event.code === CLOSE_FORBIDDEN) {
        this.wanted = false
        this.setState('signed-out')
        return
      }
      this.setState('closed')
      this.scheduleReconnect()
    }
    socket.onerror = () => undefined // a close follows
  }

  private scheduleReconnect(): void {
    if (!this.wanted) return
    const { first, max } = this.options.backoff ?? { first: 1_000, max: 30_000 }
    const base = Math.min(max, first * 2 ** this.attempts)
    const jitter = 0.5 + (this.options.random ?? Math.random)() // ±50 %
    this.attempts += 1
    clearTimeout(this.retry)
    this.retry = setTimeout(() => this.wanted && !this.socket && this.connect(), base * jitter)
  }

  /** Reconnect now (the browser came back online): the backoff starts again. */
  reconnectNow(): void {
    if (!this.wanted || this.socket) return
    clearTimeout(this.retry)
    this.attempts = 0
    this.connect()
  }

  private closeSocket(): void {
    this.stopHeartbeat()
    const socket = this.socket
    this.socket = null
    if (socket && socket.readyState <= OPEN) socket.close(1000)
  }

  private setState(state: ConnectionState): void {
    if (this.state === state) return
    this.state = state
    this.onState(state)
  }

  private startHeartbeat(seconds: number): void {
    this.stopHeartbeat()
    this.heartbeatMs = seconds * 1000
    this.lastHeard = Date.now()
    this.heartbeat = setInterval(() => {
      // Silence for two heartbeats: the connection is dead even if nobody said so.
      if (Date.now() - this.lastHeard > 2 * this.heartbeatMs + 1000) {
        const socket = this.socket
        this.socket = null
        socket?.close(4000)
        this.stopHeartbeat()
        this.setState('closed')
        this.scheduleReconnect()
        return
      }
      this.send({ type: 'ping' })
    }, this.heartbeatMs / 2)
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeat)
    this.heartbeat = undefined
  }

  private remember(ticketId: number, seq: number): void {
    this.seqs.delete(ticketId)
    this.seqs.set(ticketId, seq)
    if (this.seqs.size > KNOWN_TICKETS) {
      const oldest = this.seqs.keys().next().value
      if (oldest !== undefined && !this.followed.has(oldest)) this.seqs.delete(oldest)
    }
  }

  private receive(text: string): void {
    let frame: ServerFrame
    try {
      frame = JSON.parse(text) as ServerFrame
    } catch {
      return // the server only sends JSON; a proxy's noise is not a frame
    }
    if (frame.type === 'hello') {
      this.opened(frame)
    } else if (frame.type === 'resume.done') {
      this.resuming.delete(frame.ticket_id)
      this.remember(frame.ticket_id, Math.max(frame.last_seq, this.seqs.get(frame.ticket_id) ?? 0))
    } else if ('seq' in frame && typeof frame.seq === 'number') {
      if (!this.inOrder(frame)) return
    }
    for (const listener of [...this.listeners]) listener(frame)
  }

  /** Whether to apply a ticket frame: not a duplicate, and no hole before it. */
  private inOrder(frame: TicketFrame): boolean {
    const known = this.seqs.get(frame.ticket_id)
    if (known !== undefined && frame.seq <= known) return false
    if (
      known !== undefined &&
      frame.seq > known + 1 &&
      this.followed.has(frame.ticket_id) &&
      !this.resuming.has(frame.ticket_id)
    ) {
      // Missed something: the resume sends it all, this one included, in order.
      this.resume(frame.ticket_id, known)
      return false
    }
    this.remember(frame.ticket_id, frame.seq)
    return true
  }

  private resume(ticketId: number, since: number): void {
    if (this.send({ type: 'resume', ticket_id: ticketId, since })) this.resuming.add(ticketId)
  }

  private opened(hello: FrameOf<'hello'>): void {
    const reconnected = this.everOpen
    this.everOpen = true
    this.opens += 1
    this.attempts = 0
    this.agent = hello.agent
    this.setState('open')
    this.startHeartbeat(hello.heartbeat_seconds)
    this.resuming.clear()
    // What this agent had said on the last connection holds on this one too.
    if (this.presence && this.presence !== hello.presence) this.setPresence(this.presence)
    for (const ticketId of this.viewing) this.send({ type: 'viewing', ticket_id: ticketId, active: true })
    for (const [ticketId, internal] of this.typingOn) this.typing(ticketId, true, internal)
    if (reconnected) {
      for (const ticketId of this.followed) this.resume(ticketId, this.seqs.get(ticketId) ?? 0)
    }
  }
}
