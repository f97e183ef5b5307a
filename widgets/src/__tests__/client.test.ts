import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import { backoffDelay, ChatClient, type ClientEvents } from '../client'
import type { Outgoing } from '../types'

/** A websocket the test plays the server of. */
class FakeSocket {
  static all: FakeSocket[] = []
  readyState = 1
  sent: Record<string, unknown>[] = []
  onmessage: ((event: { data: unknown }) => void) | null = null
  onclose: ((event: { code: number }) => void) | null = null
  closed = false

  constructor(readonly url: string) {
    FakeSocket.all.push(this)
  }

  send(text: string): void {
    this.sent.push(JSON.parse(text))
  }

  close(): void {
    this.closed = true
  }

  frame(frame: Record<string, unknown>): void {
    this.onmessage?.({ data: JSON.stringify({ v: 1, ...frame }) })
  }

  drop(code = 1006): void {
    this.readyState = 3
    this.onclose?.({ code })
  }

  types(): unknown[] {
    return this.sent.map((f) => f.type)
  }
}

function events(overrides: Partial<ClientEvents> = {}): ClientEvents & { frames: unknown[]; queues: Outgoing[][] } {
  const frames: unknown[] = []
  const queues: Outgoing[][] = []
  return {
    frames,
    queues,
    state: () => {},
    hello: () => {},
    frame: (f) => frames.push(f),
    acked: () => {},
    failed: () => {},
    queued: (pending) => queues.push([...pending]),
    renewToken: async () => 'new-token',
    ...overrides,
  }
}

function client(ev = events(), pending: Outgoing[] = []): ChatClient {
  return new ChatClient({
    url: (token) => `wss://h.test/ws/widget?token=${token}&v=1`,
    token: 'tok',
    pending,
    events: ev,
    socket: (url) => new FakeSocket(url) as unknown as WebSocket,
    random: () => 0.5,
  })
}

const lastOf = <T>(items: readonly T[]): T | undefined => items[items.length - 1]
const last = () => FakeSocket.all[FakeSocket.all.length - 1] as FakeSocket
const hello = (conversation: unknown = null) => ({ type: 'hello', heartbeat_seconds: 25, conversation })
const message = (seq: number, body = `m${seq}`) => ({
  type: 'message.new', ticket_id: 7, message_id: 100 + seq, seq, body,
  author: { type: 'agent', id: 1, name: 'Ada' }, at: '2026-01-01T00:00:00Z',
  direction: 'outbound', status: 'sent', attachments: [],
})  // prettier-ignore

beforeEach(() => {
  FakeSocket.all = []
  vi.useFakeTimers()
})
afterEach(() => vi.useRealTimers())

describe('backoff', () => {
  it('doubles from 1 s to 30 s with ±50 % jitter', () => {
    expect(backoffDelay(0, () => 0.5)).toBe(1000)
    expect(backoffDelay(3, () => 0.5)).toBe(8000)
    expect(backoffDelay(10, () => 0.5)).toBe(30_000)
    expect(backoffDelay(0, () => 0)).toBe(500)
    expect(backoffDelay(10, () => 0.999)).toBeLessThan(45_000)
  })
})

describe('the protocol client', () => {
  it('connects with the token and v=1, and queues what is sent before hello', () => {
    const c = client()
    c.connect()
    expect(last().url).toBe('wss://h.test/ws/widget?token=tok&v=1')
    const queued = c.send('hi')
    expect(last().sent).toEqual([])
    last().frame(hello())
    expect(last().sent).toEqual([{ type: 'message.send', client_id: queued.client_id, body: 'hi' }])
  })

  it('gives every message its own client id and forgets it once acknowledged', () => {
    const ev = events()
    const c = client(ev)
    c.connect()
    last().frame(hello())
    const a = c.send('a')
    const b = c.send('b', [{ id: 5, filename: 'x.png', content_type: 'image/png', size: 3 }])
    expect(a.client_id).not.toBe(b.client_id)
    expect(last().sent[1]).toMatchObject({ client_id: b.client_id, attachment_ids: [5] })
    last().frame({ type: 'message.ack', client_id: a.client_id, ticket_id: 7, message_id: 1, seq: 2 })
    expect(c.queue.map((o) => o.body)).toEqual(['b'])
    expect(lastOf(ev.queues)?.map((o) => o.body)).toEqual(['b'])
    expect(c.conversation).toBe(7)
  })

  it('after a reconnect resumes since the last seq, then sends the unacknowledged again', () => {
    const ev = events()
    const c = client(ev)
    c.connect()
    last().frame(hello({ ticket_id: 7, last_seq: 3 }))
    expect(last().sent).toEqual([{ type: 'resume', ticket_id: 7, since: 0 }])
    for (const seq of [1, 2, 3]) last().frame(message(seq))
    last().frame({ type: 'resume.done', ticket_id: 7, since: 0, last_seq: 3 })
    const lost = c.send('typed before the drop')
    last().drop()
    c.send('typed while away')
    expect(c.queue).toHaveLength(2)

    vi.advanceTimersByTime(1000) // the first retry: 1 s (jitter fixed at the middle)
    expect(FakeSocket.all).toHaveLength(2)
    last().frame(hello({ ticket_id: 7, last_seq: 4 }))
    expect(last().sent).toEqual([{ type: 'resume', ticket_id: 7, since: 3 }])
    last().frame(message(4))
    last().frame({ type: 'resume.done', ticket_id: 7, since: 3, last_seq: 4 })
    expect(last().sent.slice(1).map((f) => f.body)).toEqual(['typed before the drop', 'typed while away'])
    expect(last().sent[1]?.client_id).toBe(lost.client_id) // the same id: stored once
    expect(ev.frames.map((f) => (f as { seq: number }).seq)).toEqual([1, 2, 3, 4])
  })

  it('drops frames it has and asks for what a hole in the seqs missed', () => {
    const ev = events()
    const c = client(ev)
    c.connect()
    last().frame(hello())
    last().frame(message(1))
    last().frame(message(1)) // again: a duplicate
    last().frame({ type: 'skip', ticket_id: 7, seq: 2 })
    last().frame(message(5)) // 3 and 4 are missing
    expect(lastOf(last().sent)).toEqual({ type: 'resume', ticket_id: 7, since: 2 })
    for (const seq of [3, 4, 5]) last().frame(message(seq))
    last().frame({ type: 'resume.done', ticket_id: 7, since: 2, last_seq: 5 })
    expect(ev.frames.map((f) => (f as { seq: number }).seq)).toEqual([1, 3, 4, 5])
    expect(c.lastSeq()).toBe(5)
  })

  it('pings every heartbeat and reconnects when the server goes silent', () => {
    const c = client()
    c.connect()
    last().frame({ type: 'hello', heartbeat_seconds: 10, conversation: null })
    vi.advanceTimersByTime(10_000)
    expect(last().types()).toEqual(['ping'])
    last().frame({ type: 'pong' })
    vi.advanceTimersByTime(30_000) // nothing heard for three heartbeats
    expect(FakeSocket.all[0]?.closed).toBe(true)
    vi.advanceTimersByTime(1000)
    expect(FakeSocket.all).toHaveLength(2)
    expect(c.queue).toEqual([])
  })

  it('backs off exponentially while the server is away', () => {
    const c = client()
    c.connect()
    const opened: number[] = []
    for (let attempt = 0; attempt < 4; attempt++) {
      last().drop()
      const before = FakeSocket.all.length
      let waited = 0
      while (FakeSocket.all.length === before) {
        vi.advanceTimersByTime(100)
        waited += 100
      }
      opened.push(waited)
    }
    expect(opened).toEqual([1000, 2000, 4000, 8000])
    expect(c.queue).toEqual([])
  })

  it('gets a new token when the server no longer knows this one', async () => {
    const renew = vi.fn(async () => 'fresh')
    const c = client(events({ renewToken: renew }))
    c.connect()
    last().drop(4001)
    await vi.runOnlyPendingTimersAsync()
    expect(renew).toHaveBeenCalledOnce()
    expect(last().url).toContain('token=fresh')
    expect(c.queue).toEqual([])
  })

  it('stops for good on a site the inbox does not allow', () => {
    const states: string[] = []
    const c = client(events({ state: (s) => states.push(s) }))
    c.connect()
    last().drop(4003)
    vi.advanceTimersByTime(60_000)
    expect(FakeSocket.all).toHaveLength(1)
    expect(lastOf(states)).toBe('refused')
  })

  it('retries a message the server could not take now, and gives up on a refused one', () => {
    const failed = vi.fn()
    const c = client(events({ failed }))
    c.connect()
    last().frame(hello())
    const busy = c.send('busy')
    const bad = c.send('bad')
    last().frame({ type: 'error', code: 'rate_limited', detail: 'slow down', client_id: busy.client_id })
    last().frame({ type: 'error', code: 'validation_failed', detail: 'no', client_id: bad.client_id })
    expect(failed).toHaveBeenCalledWith(bad, expect.objectContaining({ code: 'validation_failed' }))
    expect(c.queue).toEqual([busy])
    vi.advanceTimersByTime(3000)
    expect(last().sent.filter((f) => f.client_id === busy.client_id)).toHaveLength(2)
  })

  it('sends what a previous page left queued, with the same client ids', () => {
    const kept: Outgoing = { client_id: 'kept-1', body: 'from before the reload', attachments: [] }
    const c = client(events(), [kept])
    c.connect()
    last().frame(hello())
    expect(last().sent).toEqual([{ type: 'message.send', client_id: 'kept-1', body: 'from before the reload' }])
    expect(c.queue).toEqual([kept])
  })
})
