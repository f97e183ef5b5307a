// The words the console uses for the API's codes.
export const STATUSES = ['new', 'open', 'pending', 'on_hold', 'solved', 'closed'] as const
export const PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const
export const CHANNELS = ['email', 'chat', 'whatsapp', 'messenger', 'instagram', 'telegram', 'api', 'web'] as const

export type Status = (typeof STATUSES)[number]
export type Priority = (typeof PRIORITIES)[number]
export type ChannelName = (typeof CHANNELS)[number]

const STATUS_LABELS: Record<string, string> = {
  new: 'New',
  open: 'Open',
  pending: 'Pending',
  on_hold: 'On hold',
  solved: 'Solved',
  closed: 'Closed',
}

const CHANNEL_LABELS: Record<string, string> = {
  email: 'Email',
  chat: 'Chat',
  whatsapp: 'WhatsApp',
  messenger: 'Messenger',
  instagram: 'Instagram',
  telegram: 'Telegram',
  api: 'API',
  web: 'Web form',
}

export const statusLabel = (status: string): string => STATUS_LABELS[status] ?? status
export const channelLabel = (channel: string): string => CHANNEL_LABELS[channel] ?? channel
export const priorityLabel = (priority: string): string =>
  priority.charAt(0).toUpperCase() + priority.slice(1)
