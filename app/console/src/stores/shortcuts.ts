// Keyboard shortcuts: one listener for the whole console. Pages register what their keys
// do while they are shown; `?` lists every key that works right now. Keys typed into a
// field are the agent's text, never shortcuts (Escape aside, which leaves the field).
import { onBeforeUnmount, reactive, type InjectionKey } from 'vue'

import { injectStore } from './inject'

export interface Shortcut {
  /** One key ("j", "?") or a sequence ("g m"). */
  keys: string
  description: string
  run: () => void
}

export function createShortcuts() {
  const active = reactive<Shortcut[]>([])
  const state = reactive({ helpOpen: false })
  let pending = ''
  let pendingTimer: ReturnType<typeof setTimeout> | undefined

  function register(shortcuts: Shortcut[]): () => void {
    active.push(...shortcuts)
    return () => {
      for (const shortcut of shortcuts) {
        const at = active.indexOf(shortcut)
        if (at >= 0) active.splice(at, 1)
      }
    }
  }

  function typing(target: EventTarget | null): boolean {
    const element = target as HTMLElement | null
    return !!element && (['INPUT', 'TEXTAREA', 'SELECT'].includes(element.tagName) || element.isContentEditable)
  }

  function onKeydown(event: KeyboardEvent): void {
    if (event.ctrlKey || event.metaKey || event.altKey) return
    if (typing(event.target)) {
      if (event.key === 'Escape') (event.target as HTMLElement).blur()
      return
    }
    if (event.key === 'Escape' && state.helpOpen) {
      state.helpOpen = false
      return
    }
    const keys = pending ? `${pending} ${event.key}` : event.key
    const match = active.find((shortcut) => shortcut.keys === keys)
    if (match) {
      event.preventDefault()
      pending = ''
      match.run()
      return
    }
    // The start of a sequence waits a moment for its second key.
    if (!pending && active.some((shortcut) => shortcut.keys.startsWith(`${event.key} `))) {
      pending = event.key
      clearTimeout(pendingTimer)
      pendingTimer = setTimeout(() => (pending = ''), 1500)
      return
    }
    pending = ''
  }

  return { active, state, register, onKeydown }
}

export type Shortcuts = ReturnType<typeof createShortcuts>
export const shortcutsKey: InjectionKey<Shortcuts> = Symbol('shortcuts')
export const useShortcuts = (): Shortcuts => injectStore(shortcutsKey, 'useShortcuts()')

/** Register shortcuts for as long as the calling component is mounted. */
export function useShortcutKeys(shortcuts: Shortcut[]): void {
  const unregister = useShortcuts().register(shortcuts)
  onBeforeUnmount(unregister)
}
