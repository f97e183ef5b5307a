// What the server says, as docs/realtime-protocol.md and GET /api/v1/widget/config define it.
// Values from the server are data to show as text, never markup.

export interface PreChatFieldSpec {
  name: string
  label: string
  type: 'text' | 'email' | 'tel' | 'textarea' | string
  required: boolean
}

export interface InboxConfig {
  inbox: string
  name: string
  colors: { accent: string; accent_text: string }
  greeting: string
  locale: string
  pre_chat_fields: PreChatFieldSpec[]
  attachments: { max_bytes: number; types: string[] }
  online: boolean
  offline_text: string
  identity_verification: boolean
}

export interface Conversation {
  ticket_id: number
  last_seq: number
}

export interface SessionAnswer {
  token: string
  conversation: Conversation | null
  verified: boolean
}

export interface Author {
  type: 'agent' | 'contact' | 'system' | string
  id: number | null
  name: string | null
  avatar_url?: string | null
}

export interface AttachmentRef {
  id: number
  filename: string
  content_type: string
  size: number
  url?: string
}

export interface MessageFrame {
  type: 'message.new'
  ticket_id: number
  message_id: number
  seq: number
  body: string
  author: Author
  at: string
  direction: 'inbound' | 'outbound' | string
  status: string
  attachments: AttachmentRef[]
}

export interface HelloFrame {
  type: 'hello'
  heartbeat_seconds: number
  visitor?: { name: string | null; email: string | null; verified: boolean }
  conversation?: Conversation | null
}

export interface AckFrame {
  type: 'message.ack'
  client_id: string
  ticket_id: number
  message_id: number
  seq: number
}

export interface StatusFrame {
  type: 'message.status'
  ticket_id: number
  message_id: number
  seq: number
  status: string
}

export interface SkipFrame {
  type: 'skip'
  ticket_id: number
  seq: number
}

export interface TypingFrame {
  type: 'typing'
  ticket_id: number
  author: Author
  active: boolean
}

export interface ResumeDoneFrame {
  type: 'resume.done'
  ticket_id: number | null
  since: number
  last_seq: number
}

export interface ErrorFrame {
  type: 'error'
  code: string
  detail: string
  client_id?: string
}

export type ServerFrame =
  | HelloFrame
  | AckFrame
  | MessageFrame
  | StatusFrame
  | SkipFrame
  | TypingFrame
  | ResumeDoneFrame
  | ErrorFrame
  | { type: 'pong' }

/** A message the visitor wrote, kept until the server acknowledges it. */
export interface Outgoing {
  client_id: string
  body: string
  attachments: AttachmentRef[]
}
