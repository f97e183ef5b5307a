// The widget's REST calls (app/chat/controller.py), all cross-origin to the Relaydesk server.
import type { AttachmentRef, InboxConfig, SessionAnswer } from './types'

export interface Identity {
  user_id: string
  email?: string
  name?: string
  hmac: string
}

export interface SessionRequest {
  token?: string | null
  identity?: Identity | null
  pre_chat?: Record<string, string>
}

/** A refusal the visitor can act on: the fields the server named, by name. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly fields: Record<string, string>,
    detail: string,
  ) {
    super(detail)
  }
}

async function answer<T>(response: Response): Promise<T> {
  if (response.ok) return (await response.json()) as T
  let problem: { detail?: string; errors?: { field?: string; message?: string }[] } = {}
  try {
    problem = await response.json()
  } catch {
    // not a problem document: the status says enough
  }
  const fields: Record<string, string> = {}
  for (const e of problem.errors ?? []) if (e.field) fields[e.field] = e.message ?? ''
  throw new ApiError(response.status, fields, problem.detail ?? `HTTP ${response.status}`)
}

export class Api {
  constructor(
    readonly server: string,
    readonly inbox: string,
  ) {}

  async config(): Promise<InboxConfig> {
    const url = `${this.server}/api/v1/widget/config?inbox=${encodeURIComponent(this.inbox)}`
    return answer(await fetch(url, { credentials: 'omit' }))
  }

  async session(request: SessionRequest): Promise<SessionAnswer> {
    const body: Record<string, unknown> = { inbox: this.inbox }
    if (request.token) body.token = request.token
    if (request.identity) body.identity = request.identity
    if (request.pre_chat) body.pre_chat = request.pre_chat
    const response = await fetch(`${this.server}/api/v1/widget/sessions`, {
      method: 'POST',
      credentials: 'omit',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    })
    return answer(response)
  }

  async upload(token: string, file: File): Promise<AttachmentRef> {
    const form = new FormData()
    form.append('file', file, file.name)
    const url = `${this.server}/api/v1/widget/attachments?token=${encodeURIComponent(token)}`
    return answer(await fetch(url, { method: 'POST', credentials: 'omit', body: form }))
  }

  attachmentUrl(token: string, attachment: AttachmentRef): string {
    const path = attachment.url ?? `/api/v1/widget/attachments/${attachment.id}`
    // Only our own path: a URL from the server is never followed elsewhere.
    const safe = /^\/api\/v1\/widget\/attachments\/\d+$/.test(path)
      ? path
      : `/api/v1/widget/attachments/${Number(attachment.id)}`
    return `${this.server}${safe}?token=${encodeURIComponent(token)}`
  }

  socketUrl(token: string): string {
    const ws = this.server.replace(/^http/, 'ws')
    return `${ws}/ws/widget?token=${encodeURIComponent(token)}&v=1`
  }
}
