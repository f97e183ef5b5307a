// One timeline of everything on a ticket, built from its events (GET .../events): each
// message where it was written, each change as a line saying who changed what.
import type { Message, TicketEvent } from '@/api/client'
import { priorityLabel, statusLabel } from '@/lib/labels'

export interface Names {
  agent(id: number | null | undefined): string | null
  team(id: number | null | undefined): string | null
  /** Who an event's actor is: an agent's or the contact's name, or the system. */
  actor(actor: TicketEvent['actor']): string
}

export type Entry =
  | { kind: 'message'; key: string; seq: number; at: string; message: Message; movedFrom?: number }
  | { kind: 'change'; key: string; seq: number; at: string; who: string; lines: string[] }

// Kept in the events for clients that apply them, but not news to a reader.
const QUIET_FIELDS = new Set(['first_responded_at', 'solved_at', 'closed_at', 'linked_ticket_id'])

type Change = { from: unknown; to: unknown }

function asChanges(value: unknown): Record<string, Change> {
  return typeof value === 'object' && value !== null ? (value as Record<string, Change>) : {}
}

function tagList(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : []
}

/** What a change event did, one line per field, in words. */
export function describeChanges(changes: Record<string, Change>, names: Names): string[] {
  const lines: string[] = []
  for (const [field, { from, to }] of Object.entries(changes)) {
    if (QUIET_FIELDS.has(field)) continue
    switch (field) {
      case 'status':
        lines.push(`status ${statusLabel(String(from))} → ${statusLabel(String(to))}`)
        break
      case 'priority':
        lines.push(`priority ${priorityLabel(String(from))} → ${priorityLabel(String(to))}`)
        break
      case 'assignee_id':
        lines.push(to == null ? 'unassigned' : `assigned to ${names.agent(to as number)}`)
        break
      case 'team_id':
        lines.push(to == null ? 'removed from its team' : `team ${names.team(to as number)}`)
        break
      case 'tags': {
        const before = tagList(from)
        const after = tagList(to)
        const added = after.filter((tag) => !before.includes(tag))
        const removed = before.filter((tag) => !after.includes(tag))
        if (added.length) lines.push(`tagged ${added.join(', ')}`)
        if (removed.length) lines.push(`untagged ${removed.join(', ')}`)
        break
      }
      case 'subject':
        lines.push(`subject “${String(to)}”`)
        break
      case 'custom_fields':
        lines.push('custom fields changed')
        break
      case 'contact_id':
        lines.push('moved to another contact')
        break
      case 'merged_into_id':
        lines.push(`merged into ticket ${String(to)}`)
        break
      default:
        lines.push(`${field.replaceAll('_', ' ')} changed`)
    }
  }
  return lines
}

/** The timeline, oldest first: messages by when they were written, the rest by when they
 * happened, ties in seq order. Delivery updates change a message's state, not the list. */
export function buildTimeline(
  events: readonly TicketEvent[],
  messages: readonly Message[],
  names: Names,
  ticketId: number,
): Entry[] {
  const byId = new Map(messages.map((message) => [message.id, message]))
  const entries: Entry[] = []
  for (const event of events) {
    const key = `e${event.seq}`
    const data = event.data as Record<string, unknown>
    const who = names.actor(event.actor)
    switch (event.type) {
      case 'message.created':
      case 'message.moved': {
        const message = byId.get(Number(data.message_id))
        // A message moved away by a merge later is on the other ticket now.
        if (!message || message.ticket_id !== ticketId) break
        const movedFrom = event.type === 'message.moved' ? Number(data.moved_from) : undefined
        entries.push({ kind: 'message', key, seq: event.seq, at: message.dated_at, message, movedFrom })
        break
      }
      case 'message.status_changed':
        break
      case 'ticket.created':
        entries.push({ kind: 'change', key, seq: event.seq, at: event.at, who, lines: ['opened the ticket'] })
        break
      case 'ticket.merged': {
        const into = Number(data.into_id)
        const line =
          into === ticketId
            ? `merged ticket ${String(data.source_id)} into this one (${String(data.moved)} messages)`
            : `merged this ticket into ticket ${into}`
        entries.push({ kind: 'change', key, seq: event.seq, at: event.at, who, lines: [line] })
        break
      }
      default: {
        const lines = describeChanges(asChanges(data.changes), names)
        if (lines.length) entries.push({ kind: 'change', key, seq: event.seq, at: event.at, who, lines })
      }
    }
  }
  return entries.sort((a, b) => a.at.localeCompare(b.at) || a.seq - b.seq)
}

/** What someone else changed after `seq`, for the "changed since you opened it" warning. */
export function changesSince(
  events: readonly TicketEvent[],
  messages: readonly Message[],
  names: Names,
  seq: number,
  me: number,
): string[] {
  const lines: string[] = []
  for (const event of events) {
    if (event.seq <= seq || event.type === 'message.status_changed') continue
    if (event.actor?.type === 'agent' && event.actor.id === me) continue
    const who = names.actor(event.actor)
    const data = event.data as Record<string, unknown>
    if (event.type === 'message.created') {
      const message = messages.find((m) => m.id === Number(data.message_id))
      const what = message?.internal ? 'added a note' : 'wrote'
      lines.push(`${who} ${what}: “${(message?.body_text ?? '').slice(0, 120)}”`)
    } else {
      for (const line of describeChanges(asChanges(data.changes), names)) lines.push(`${who}: ${line}`)
      if (event.type === 'ticket.merged') lines.push(`${who}: merged tickets`)
    }
  }
  return lines
}
