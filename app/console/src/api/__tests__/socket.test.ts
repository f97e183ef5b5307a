import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import { AgentSocket, type ServerFrame, type SocketLike } from '../socket'

class FakeSocket implements SocketLike {
  readyState = 0
  sent: Record<string, unknown>[] = []
  onopen: SocketLike['onopen'] = null
  onmessage: SocketLike['onmessage'] = null
  onclose: SocketLike['onclose'] = null
  onerror: SocketLike['onerror'] = null

  send(data: string): void {
    this.sent.push(JSON.parse(data) as Record<string, unknown>)
  }

  close(): void {
    this.readyState = 3
  }

  /** The server speaks. */
  frame(frame: Record<string, unknown>): void {
    this.readyState = 1
    this.onmessage?.({ data: JSON.stringify({ v: 1, ...frame }) } as MessageEvent)
  }

  hello(presence = 'online'): void {
    this.frame({ type: 'hello', heartbeat_seconds: 30, agent: { id: 7, name: 'Ada' }, presence })
  }

  drop(code = 1006): void {
    this.readyState = 3
    this.onclose?.({ code } as CloseEvent)
  }
}

function connect() {
  const sockets: FakeSocket[] = []
  const agent = new AgentSocket({
    url: 'ws://test/ws/agent?v=1',
    open: () => {
      const socket = new FakeSocket()
      sockets.push(socket)
      return socket
    },
    random: () => 0.5, // no jitter: the delays are the base ones
  })
  const heard: ServerFrame[] = []
  agent.subscribe((frame) => heard.push(frame))
  agent.start()
  return { agent, sockets, heard, seqs: () => heard.flatMap((f) => ('seq' in f ? [f.seq] : [])) }
}

const updated = (seq: number, ticket = 5) => ({ type: 'ticket.updated', ticket_id: ticket, seq, data: {} })

beforeEach(() => vi.useFakeTimers())
afterEach(() => vi.useRealTimers())

describe('the agent socket', () => {
  it('drops a ticket frame it has already applied', () => {
    const { sockets, seqs } = connect()
    const socket = sockets[0]!
    socket.hello()
    socket.frame(updated(3))
    socket.frame(updated(3))
    socket.frame(updated(4))
    expect(seqs()).toEqual([3, 4])
  })

  it('asks for what it missed on a followed ticket, and applies it in order', () => {
    const { agent, sockets, seqs } = connect()
    const socket = sockets[0]!
    socket.hello()
    agent.follow(5, 2)
    socket.frame(updated(5)) // 3 and 4 are missing
    expect(socket.sent.at(-1)).toEqual({ type: 'resume', ticket_id: 5, since: 2 })
    socket.frame(updated(3))
    socket.frame(updated(4))
    socket.frame(updated(5))
    socket.frame({ type: 'resume.done', ticket_id: 5, since: 2, last_seq: 5 })
    socket.frame(updated(5)) // a live copy after the resume: a duplicate
    expect(seqs()).toEqual([3, 4, 5])
  })

  it('reconnects with a growing delay, then resumes and says again what it had said', () => {
    const { agent, sockets } = connect()
    sockets[0]!.hello()
    agent.follow(5, 2)
    agent.setViewing(5, true)
    agent.setPresence('away')
    sockets[0]!.drop()
    expect(agent.state).toBe('closed')
    vi.advanceTimersByTime(999)
    expect(sockets).toHaveLength(1)
    vi.advanceTimersByTime(1)
    expect(sockets).toHaveLength(2)
    sockets[1]!.drop() // down again: twice as long
    vi.advanceTimersByTime(1999)
    expect(sockets).toHaveLength(2)
    vi.advanceTimersByTime(1)
    const socket = sockets[2]!
    socket.hello('online')
    expect(agent.state).toBe('open')
    expect(socket.sent).toEqual([
      { type: 'presence.set', status: 'away' },
      { type: 'viewing', ticket_id: 5, active: true },
      { type: 'resume', ticket_id: 5, since: 2 },
    ])
  })

  it('stops when the server says the session is gone', () => {
    const { agent, sockets } = connect()
    sockets[0]!.hello()
    sockets[0]!.drop(4001)
    expect(agent.state).toBe('signed-out')
    vi.advanceTimersByTime(60_000)
    expect(sockets).toHaveLength(1)
  })

  it('pings every half heartbeat and gives up on a silent connection', () => {
    const { sockets } = connect()
    const socket = sockets[0]!
    socket.hello()
    vi.advanceTimersByTime(15_000)
    expect(socket.sent).toEqual([{ type: 'ping' }])
    vi.advanceTimersByTime(60_000) // no pong for two heartbeats
    expect(socket.readyState).toBe(3)
    vi.advanceTimersByTime(1_000)
    expect(sockets).toHaveLength(2)
  })
})
