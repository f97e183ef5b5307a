import { describe, expect, it } from 'vitest'

import type { Message, TicketEvent } from '@/api/client'

import { buildTimeline, changesSince, type Names } from '../timeline'

const names: Names = {
  agent: (id) => (id == null ? null : ({ 7: 'Ada', 8: 'Bob' } as Record<number, string>)[id] ?? `Agent ${id}`),
  team: (id) => (id == null ? null : `Team ${id}`),
  actor: (actor) => (actor?.type === 'agent' ? (names.agent(actor.id) ?? '') : actor?.type === 'contact' ? 'Pat' : 'Relaydesk'),
}

function message(id: number, datedAt: string, body = `message ${id}`, extra: Partial<Message> = {}): Message {
  return {
    id,
    ticket_id: 1,
    seq: id,
    direction: 'inbound',
    author_type: 'contact',
    author_contact_id: 3,
    author_agent_id: null,
    internal: false,
    subject: null,
    body_text: body,
    body_html: null,
    quoted_text: null,
    status: 'received',
    failure_reason: null,
    created_at: datedAt,
    dated_at: datedAt,
    sent_at: null,
    delivered_at: null,
    attachments: [],
    delivery_attempts: [],
    ...extra,
  }
}

function event(seq: number, type: string, at: string, data: Record<string, unknown>, actor: TicketEvent['actor'] = null): TicketEvent {
  return { seq, type, at, actor, data }
}

describe('the ticket timeline', () => {
  it('reads messages where they were written and changes in words', () => {
    const events = [
      event(1, 'ticket.created', '2026-01-01T10:00:00Z', {}, { type: 'contact', id: 3 }),
      event(2, 'message.created', '2026-01-01T10:00:00Z', { message_id: 11 }, { type: 'contact', id: 3 }),
      event(3, 'ticket.updated', '2026-01-01T11:00:00Z', {
        changes: {
          status: { from: 'new', to: 'open' },
          assignee_id: { from: null, to: 8 },
          tags: { from: ['a'], to: ['b'] },
          first_responded_at: { from: null, to: '2026-01-01T11:00:00Z' },
        },
      }, { type: 'agent', id: 7 }),
      event(4, 'message.status_changed', '2026-01-01T11:01:00Z', { message_id: 12 }),
      // An email that arrived late but was written before the change.
      event(5, 'message.created', '2026-01-01T12:00:00Z', { message_id: 12 }, { type: 'contact', id: 3 }),
    ]
    const messages = [message(11, '2026-01-01T10:00:00Z'), message(12, '2026-01-01T10:30:00Z')]
    const timeline = buildTimeline(events, messages, names, 1)
    expect(timeline.map((entry) => (entry.kind === 'message' ? entry.message.id : `${entry.who}: ${entry.lines.join('; ')}`))).toEqual([
      'Pat: opened the ticket',
      11,
      12,
      'Ada: status New → Open; assigned to Bob; tagged b; untagged a',
    ])
  })

  it('tells a merge into this ticket from a merge away', () => {
    const into = buildTimeline([event(9, 'ticket.merged', '2026-01-02T00:00:00Z', { source_id: 4, into_id: 1, moved: 2 })], [], names, 1)
    const away = buildTimeline([event(9, 'ticket.merged', '2026-01-02T00:00:00Z', { source_id: 1, into_id: 5, moved: 2 })], [], names, 1)
    expect(into[0]).toMatchObject({ lines: ['merged ticket 4 into this one (2 messages)'] })
    expect(away[0]).toMatchObject({ lines: ['merged this ticket into ticket 5'] })
  })

  it('says what others changed since a seq, leaving out your own changes and deliveries', () => {
    const events = [
      event(5, 'ticket.updated', 'x', { changes: { priority: { from: 'normal', to: 'urgent' } } }, { type: 'agent', id: 7 }),
      event(6, 'ticket.updated', 'x', { changes: { priority: { from: 'urgent', to: 'high' } } }, { type: 'agent', id: 8 }),
      event(7, 'message.status_changed', 'x', { message_id: 3 }),
      event(8, 'message.created', 'x', { message_id: 20 }, { type: 'contact', id: 3 }),
    ]
    const messages = [message(20, 'x', 'Any news?')]
    expect(changesSince(events, messages, names, 4, 7)).toEqual(['Bob: priority Urgent → High', 'Pat wrote: “Any news?”'])
  })
})
