// The admin screens, one section each. A section is a component of this folder, shown at
// /console/admin/<key>.
import { defineAsyncComponent, type Component } from 'vue'

import { channelLabel } from '@/lib/labels'

export interface AdminSection {
  key: string
  label: string
  component: Component
}

export const SECTIONS: AdminSection[] = [
  { key: 'inboxes', label: 'Inboxes', component: defineAsyncComponent(() => import('./InboxesSection.vue')) },
  { key: 'agents', label: 'Agents', component: defineAsyncComponent(() => import('./AgentsSection.vue')) },
  { key: 'teams', label: 'Teams', component: defineAsyncComponent(() => import('./TeamsSection.vue')) },
  { key: 'skills', label: 'Skills', component: defineAsyncComponent(() => import('./SkillsSection.vue')) },
  {
    key: 'canned-replies',
    label: 'Canned replies',
    component: defineAsyncComponent(() => import('./CannedRepliesSection.vue')),
  },
  { key: 'macros', label: 'Macros', component: defineAsyncComponent(() => import('./MacrosSection.vue')) },
]

/** The channels an agent works tickets of, in this order; one left out (or 0) gets them none. */
export const CAPACITY_CHANNELS = ['email', 'chat', 'whatsapp', 'messenger', 'instagram', 'telegram']

/** "Email 10, Chat 3": an agent's capacity in channel order (the server keeps no order). */
export function capacityText(capacity: Record<string, unknown>): string {
  return CAPACITY_CHANNELS.filter((channel) => typeof capacity[channel] === 'number')
    .map((channel) => `${channelLabel(channel)} ${String(capacity[channel])}`)
    .join(', ')
}

/** The snippet a site owner pastes into their pages for a chat inbox. */
export function embedSnippet(origin: string, publicKey: string): string {
  return `<script src="${origin}/widget.js" data-inbox="${publicKey}" async></script>`
}

/** Run an admin action: its error shown, never thrown. */
export async function attempt(
  action: () => Promise<unknown>,
  fail: (message: string) => void,
  message: (error: unknown) => string,
): Promise<boolean> {
  try {
    await action()
    return true
  } catch (error) {
    fail(message(error))
    return false
  }
}
