// The open ticket, live: its frames bring the page up to date (REST stays the source of
// truth, the socket says when to ask), who else has it open and who is typing on it (the
// collision warning), and the agent's own viewing and typing told to the others.
import { computed, onBeforeUnmount, reactive, watch, type Ref } from 'vue'

import type { Author, Viewer } from '@/api/socket'
import type { LiveStore } from '@/stores/live'

import type { TicketPageState } from './useTicket'

/** A typing indicator the server never cleared (a closed tab) goes away by itself. */
export const TYPING_TTL_MS = 8_000
/** Viewers expire on the server unless renewed (app/realtime/moments.py, 90 s). */
export const VIEWING_RENEW_MS = 30_000
const REFRESH_MS = 40

interface Typist {
  key: string
  author: Author
  until: number
}

export function useLiveTicket(
  live: LiveStore,
  page: TicketPageState,
  id: Ref<number>,
  me: () => number | undefined,
  contactName: () => string,
) {
  const state = reactive({ viewers: [] as Viewer[], typists: [] as Typist[] })
  const socket = live.socket
  let refreshing: ReturnType<typeof setTimeout> | undefined
  let sweep: ReturnType<typeof setInterval> | undefined

  function refreshSoon(): void {
    // A burst of frames (a macro: fields, a reply, its status) costs one catch-up.
    refreshing ??= setTimeout(() => {
      refreshing = undefined
      page.refresh().catch(() => undefined) // the next frame or action asks again
    }, REFRESH_MS)
  }

  function typed(author: Author, active: boolean): void {
    if (author.type === 'agent' && author.id === me()) return
    // One customer per ticket: their typing frames carry no id, their messages do.
    const key = author.type === 'agent' ? `agent:${author.id}` : author.type
    state.typists = state.typists.filter((typist) => typist.key !== key)
    if (active) state.typists.push({ key, author, until: Date.now() + TYPING_TTL_MS })
  }

  const unsubscribe = socket.subscribe((frame) => {
    if (frame.type === 'hello') {
      if (socket.opens > 1) refreshSoon() // back after an outage: catch up
      return
    }
    if (!('ticket_id' in frame) || frame.ticket_id !== id.value) return
    switch (frame.type) {
      case 'typing':
        typed(frame.author, frame.active)
        break
      case 'viewers':
        state.viewers = frame.agents.filter((agent) => agent.id !== me())
        break
      case 'message.new':
        // Whoever wrote it has stopped typing it.
        typed(frame.author, false)
        refreshSoon()
        break
      case 'resume.done':
        break
      default:
        refreshSoon()
    }
  })

  function open(ticketId: number): void {
    state.viewers = []
    state.typists = []
    socket.setViewing(ticketId, true)
  }

  function leave(ticketId: number): void {
    socket.setViewing(ticketId, false)
    socket.unfollow(ticketId)
  }

  // Follow from where the REST load left off, once the ticket is loaded.
  watch(
    () => page.state.ticket?.id,
    (ticketId) => {
      if (ticketId === id.value) socket.follow(ticketId, page.lastSeq.value)
    },
  )
  watch(
    id,
    (ticketId, before) => {
      if (before !== undefined) leave(before)
      open(ticketId)
    },
    { immediate: true },
  )
  const renew = setInterval(() => socket.setViewing(id.value, true), VIEWING_RENEW_MS)
  sweep = setInterval(() => {
    const now = Date.now()
    if (state.typists.some((typist) => typist.until < now)) {
      state.typists = state.typists.filter((typist) => typist.until >= now)
    }
  }, 1_000)

  onBeforeUnmount(() => {
    unsubscribe()
    clearTimeout(refreshing)
    clearInterval(renew)
    clearInterval(sweep)
    sweep = undefined
    leave(id.value)
  })

  /** The agent is (not) writing on this ticket; `internal`: a note the customer is not
   * told about. */
  function typing(active: boolean, internal: boolean): void {
    socket.typing(id.value, active, internal)
  }

  const typingLine = computed(() => {
    // A visitor's typing frames carry no name: the ticket's contact is who it is.
    const names = state.typists.map(
      ({ author }) => author.name || (author.type === 'contact' ? contactName() : 'Someone'),
    )
    if (names.length === 0) return null
    return `${names.join(' and ')} ${names.length === 1 ? 'is' : 'are'} typing…`
  })

  return { state, typing, typingLine }
}
