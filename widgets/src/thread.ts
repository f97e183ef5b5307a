// The conversation as the visitor sees it: their own messages (shown the moment they are
// typed, then matched to the stored message by the ack) and everyone else's, each once.
import type { AckFrame, AttachmentRef, Author, MessageFrame, Outgoing } from './types'

export type Delivery = 'sending' | 'sent' | 'delivered' | 'read' | 'failed'

export interface Entry {
  key: string
  messageId: number | null
  clientId: string | null
  seq: number
  mine: boolean
  author: Author
  body: string
  at: string
  status: Delivery | string
  attachments: AttachmentRef[]
}

const ME: Author = { type: 'contact', id: null, name: null }
const ORDER = ['sending', 'sent', 'delivered', 'read']

function rank(status: string): number {
  return ORDER.indexOf(status)
}

/** The visitor's own message is `received` once stored, which they see as sent; then an
 * agent's console has it (`delivered`), then an agent saw it (`read`). */
function ownStatus(frame: MessageFrame): string {
  if (frame.direction !== 'inbound') return frame.status
  return frame.status === 'received' ? 'sent' : frame.status
}

export class Thread {
  readonly entries: Entry[] = []
  private readonly byMessage = new Map<number, Entry>()
  private readonly byClient = new Map<string, Entry>()
  // Acks that arrived before their message: the message then replaces the local entry.
  private readonly acks = new Map<number, string>()

  /** A message the visitor just wrote (or one still queued from before a reload). */
  addOwn(outgoing: Outgoing, now: Date = new Date()): Entry {
    const existing = this.byClient.get(outgoing.client_id)
    if (existing) return existing
    const entry: Entry = {
      key: `c:${outgoing.client_id}`,
      messageId: null,
      clientId: outgoing.client_id,
      seq: Number.MAX_SAFE_INTEGER,
      mine: true,
      author: ME,
      body: outgoing.body,
      at: now.toISOString(),
      status: 'sending',
      attachments: outgoing.attachments,
    }
    this.entries.push(entry)
    this.byClient.set(outgoing.client_id, entry)
    return entry
  }

  /** Returns the entry to redraw, or null when nothing changed. */
  ack(frame: AckFrame): Entry | null {
    const own = this.byClient.get(frame.client_id)
    const stored = this.byMessage.get(frame.message_id)
    if (own && stored && own !== stored) {
      // The stored message arrived first (resume after a reload): keep that one.
      this.remove(own)
      this.byClient.set(frame.client_id, stored)
      return stored
    }
    if (!own) {
      this.acks.set(frame.message_id, frame.client_id)
      return null
    }
    if (own.messageId !== null) return null
    own.messageId = frame.message_id
    own.seq = frame.seq
    if (own.status === 'sending') own.status = 'sent'
    this.byMessage.set(frame.message_id, own)
    return own
  }

  /** A stored message; returns [entry, isNew] or null for one already shown. */
  message(frame: MessageFrame): { entry: Entry; added: boolean } | null {
    const known = this.byMessage.get(frame.message_id)
    if (known) {
      known.seq = frame.seq
      known.at = frame.at
      known.attachments = frame.attachments
      return { entry: known, added: false }
    }
    const clientId = this.acks.get(frame.message_id)
    const own = clientId ? this.byClient.get(clientId) : undefined
    if (own) this.remove(own)
    const entry: Entry = {
      key: `m:${frame.message_id}`,
      messageId: frame.message_id,
      clientId: clientId ?? null,
      seq: frame.seq,
      mine: frame.direction === 'inbound',
      author: frame.author,
      body: frame.body,
      at: frame.at,
      status: ownStatus(frame),
      attachments: frame.attachments,
    }
    this.insert(entry)
    this.byMessage.set(frame.message_id, entry)
    if (clientId) this.byClient.set(clientId, entry)
    return { entry, added: true }
  }

  status(messageId: number, status: string): Entry | null {
    const entry = this.byMessage.get(messageId)
    if (!entry) return null
    // States only move forward (a resume replays `delivered` after the message says `read`).
    if (entry.mine && rank(status) <= rank(entry.status)) return null
    entry.status = status
    return entry
  }

  failed(clientId: string): Entry | null {
    const entry = this.byClient.get(clientId)
    if (!entry) return null
    entry.status = 'failed'
    return entry
  }

  /** The last seq of a message from us to the visitor: what `read` reports. */
  lastIncomingSeq(): number {
    let seq = 0
    for (const e of this.entries) if (!e.mine && e.messageId !== null && e.seq > seq) seq = e.seq
    return seq
  }

  private insert(entry: Entry): void {
    // In seq order; the visitor's unacknowledged messages stay at the end.
    let index = this.entries.length
    while (index > 0 && (this.entries[index - 1] as Entry).seq > entry.seq) index--
    this.entries.splice(index, 0, entry)
  }

  private remove(entry: Entry): void {
    const index = this.entries.indexOf(entry)
    if (index >= 0) this.entries.splice(index, 1)
  }
}
