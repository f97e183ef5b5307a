// The words for presence, overall and per channel (an agent away on chat, online on email).
import { CHANNELS, channelLabel } from './labels'

const PRESENCE_LABELS: Record<string, string> = {
  online: 'Online',
  away: 'Away',
  offline: 'Offline',
}

export const presenceLabel = (status: string): string => PRESENCE_LABELS[status] ?? status

/** The channels whose presence differs from the overall one, as "Chat away". */
export function channelExceptions(overall: string, channels: Record<string, string> | undefined): string[] {
  return Object.entries(channels ?? {})
    .filter(([, status]) => status !== overall)
    .map(([channel, status]) => `${channelLabel(channel)} ${status}`)
}

const order = (channel: string): number => {
  const at = (CHANNELS as readonly string[]).indexOf(channel)
  return at < 0 ? CHANNELS.length : at
}

/** These channels' presence, in the console's channel order: "Email online, Chat away". */
export function channelsText(channels: Record<string, string> | undefined, shown: string[]): string {
  return [...shown]
    .sort((a, b) => order(a) - order(b))
    .map((channel) => `${channelLabel(channel)} ${channels?.[channel] ?? 'offline'}`)
    .join(', ')
}
