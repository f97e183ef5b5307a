// Tells the others on the ticket that the agent is writing: once when they start, again
// every few seconds while they keep at it, and "stopped" after a pause or when the draft
// is sent or emptied (the server keeps no typing state; the last word counts).
import { onBeforeUnmount, watch } from 'vue'

import type { Draft } from './useComposer'

export const TYPING_REPEAT_MS = 3_000
export const TYPING_PAUSE_MS = 4_000

export function useTypingSignal(
  draft: Draft,
  report: (active: boolean, internal: boolean) => void,
): void {
  let active = false
  let saidAt = 0
  let pause: ReturnType<typeof setTimeout> | undefined

  function stop(): void {
    clearTimeout(pause)
    if (active) report(false, draft.internal)
    active = false
  }

  watch(
    () => draft.body,
    (body, before) => {
      if (!body.trim()) return stop()
      if (body === before) return
      const now = Date.now()
      if (!active || now - saidAt >= TYPING_REPEAT_MS) {
        report(true, draft.internal)
        active = true
        saidAt = now
      }
      clearTimeout(pause)
      pause = setTimeout(stop, TYPING_PAUSE_MS)
    },
  )
  // A reply turned into a note mid-sentence: the customer stops seeing "typing".
  watch(
    () => draft.internal,
    (internal) => {
      if (active && internal) report(false, false)
      if (active) report(true, internal)
    },
  )
  onBeforeUnmount(stop)
}
