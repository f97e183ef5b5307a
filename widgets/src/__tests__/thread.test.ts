import { describe, expect, it } from 'vitest'

import { Thread } from '../thread'
import type { MessageFrame } from '../types'

const frame = (id: number, seq: number, direction = 'outbound', body = `m${id}`): MessageFrame => ({
  type: 'message.new', ticket_id: 1, message_id: id, seq, body,
  author: direction === 'inbound' ? { type: 'contact', id: 2, name: null } : { type: 'agent', id: 1, name: 'Ada' },
  at: '2026-01-01T00:00:00Z', direction, status: 'sent', attachments: [],
})  // prettier-ignore
const own = (clientId: string, body: string) => ({ client_id: clientId, body, attachments: [] })

describe('the thread', () => {
  it('shows the visitor’s message at once and matches it to the stored one by the ack', () => {
    const t = new Thread()
    t.addOwn(own('c1', 'hello'))
    expect(t.entries.map((e) => e.status)).toEqual(['sending'])
    t.ack({ type: 'message.ack', client_id: 'c1', ticket_id: 1, message_id: 10, seq: 2 })
    expect(t.message(frame(10, 2, 'inbound', 'hello'))?.added).toBe(false)
    t.message(frame(11, 3))
    expect(t.entries.map((e) => [e.body, e.mine, e.status])).toEqual([
      ['hello', true, 'sent'],
      ['m11', false, 'sent'],
    ])
  })

  it('keeps one copy when the stored message arrives before the ack (a reload)', () => {
    const t = new Thread()
    t.addOwn(own('c1', 'hello'))
    t.message(frame(10, 2, 'inbound', 'hello'))
    t.ack({ type: 'message.ack', client_id: 'c1', ticket_id: 1, message_id: 10, seq: 2 })
    expect(t.entries.map((e) => e.body)).toEqual(['hello'])
    expect(t.entries[0]?.messageId).toBe(10)
  })

  it('keeps one copy when the ack arrives before its own frame and before the entry', () => {
    const t = new Thread()
    t.ack({ type: 'message.ack', client_id: 'c9', ticket_id: 1, message_id: 10, seq: 2 })
    t.message(frame(10, 2, 'inbound'))
    t.message(frame(10, 2, 'inbound'))
    expect(t.entries).toHaveLength(1)
  })

  it('orders stored messages by seq, the unacknowledged last', () => {
    const t = new Thread()
    t.addOwn(own('c1', 'pending'))
    t.message(frame(12, 5))
    t.message(frame(11, 3))
    expect(t.entries.map((e) => e.body)).toEqual(['m11', 'm12', 'pending'])
    expect(t.lastIncomingSeq()).toBe(5)
  })

  it('records read and failed states', () => {
    const t = new Thread()
    t.addOwn(own('c1', 'x'))
    t.failed('c1')
    t.message(frame(11, 3))
    t.status(11, 'read')
    expect(t.entries.map((e) => e.status)).toEqual(['read', 'failed'])
  })
})
