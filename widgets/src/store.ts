// What the browser keeps between page loads, in the host page's localStorage under one key
// per server and inbox: the visitor token (a reload continues the conversation) and the
// messages not yet acknowledged (a reload sends them, with their client ids, once).
import type { Outgoing } from './types'

export interface Kept {
  token: string | null
  pending: Outgoing[]
}

export class Store {
  private readonly key: string

  constructor(server: string, inbox: string) {
    this.key = `relaydesk:${server}:${inbox}`
  }

  load(): Kept {
    try {
      const raw = window.localStorage.getItem(this.key)
      const kept = raw ? (JSON.parse(raw) as Partial<Kept>) : {}
      return {
        token: typeof kept.token === 'string' ? kept.token : null,
        pending: Array.isArray(kept.pending) ? kept.pending.filter(isOutgoing) : [],
      }
    } catch {
      return { token: null, pending: [] } // storage blocked (privacy mode): this page only
    }
  }

  save(kept: Kept): void {
    try {
      window.localStorage.setItem(this.key, JSON.stringify(kept))
    } catch {
      // full or blocked: the conversation still works until the page is left
    }
  }
}

function isOutgoing(value: unknown): value is Outgoing {
  const o = value as Outgoing
  return (
    !!o &&
    typeof o.client_id === 'string' &&
    typeof o.body === 'string' &&
    Array.isArray(o.attachments)
  )
}
