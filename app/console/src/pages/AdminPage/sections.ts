// The admin screens, one section each. A section is a component of this folder, shown at
// /console/admin/<key>; the skills screen (another change) adds its entry here.
import { defineAsyncComponent, type Component } from 'vue'

export interface AdminSection {
  key: string
  label: string
  component: Component
}

export const SECTIONS: AdminSection[] = [
  { key: 'inboxes', label: 'Inboxes', component: defineAsyncComponent(() => import('./InboxesSection.vue')) },
  { key: 'agents', label: 'Agents', component: defineAsyncComponent(() => import('./AgentsSection.vue')) },
  { key: 'teams', label: 'Teams', component: defineAsyncComponent(() => import('./TeamsSection.vue')) },
  // { key: 'skills', label: 'Skills', component: ... }  (the skills screen goes here)
  {
    key: 'canned-replies',
    label: 'Canned replies',
    component: defineAsyncComponent(() => import('./CannedRepliesSection.vue')),
  },
  { key: 'macros', label: 'Macros', component: defineAsyncComponent(() => import('./MacrosSection.vue')) },
]

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
