// The live side of the console: the agent socket's state for the screens (connected or
// not, the agent's presence and everyone's), and what changed on which tickets, batched so
// a burst of events costs the lists and the sidebar one round of requests.
import { reactive, readonly, type DeepReadonly, type InjectionKey } from 'vue'

import {
  AgentSocket,
  type ChannelPresences,
  type ConnectionState,
  type Presence,
  type ServerFrame,
} from '@/api/socket'

import { injectStore } from './inject'

export const BATCH_MS = 60
const PRESENCE_KEY = 'relaydesk.presence'

interface LiveState {
  connection: ConnectionState
  /** The signed-in agent's presence as the server has it. */
  presence: Presence | null
  /** The signed-in agent's presence on each channel, as the server has it. */
  channels: ChannelPresences
  /** Other agents' presence as heard since the page loaded. */
  presences: Record<number, Presence>
}

export type TicketsChanged = (ids: number[], reconnected: boolean) => void

export interface LiveStore {
  readonly state: DeepReadonly<LiveState>
  readonly socket: AgentSocket
  start(): void
  stop(): void
  setPresence(status: Presence): void
  /** One channel's presence (chat away while email stays online). */
  setChannelPresence(channel: string, status: Presence): void
  /** Called with the tickets that changed (batched), and with [] after a reconnect, when
   * whatever was missed is unknown: the caller loads its state again. */
  onTicketsChanged(listener: TicketsChanged): () => void
  subscribe(listener: (frame: ServerFrame) => void): () => void
}

export const liveKey: InjectionKey<LiveStore> = Symbol('live')

function storedPresence(): Presence | null {
  try {
    const value = globalThis.localStorage?.getItem(PRESENCE_KEY)
    return value === 'online' || value === 'away' || value === 'offline' ? value : null
  } catch {
    return null // storage refused (privacy mode): the server's default holds
  }
}

export function createLive(socket: AgentSocket = new AgentSocket()): LiveStore {
  const state = reactive<LiveState>({
    connection: 'closed',
    presence: null,
    channels: {},
    presences: {},
  })
  const listeners = new Set<TicketsChanged>()
  let pending = new Set<number>()
  let timer: ReturnType<typeof setTimeout> | undefined
  // The agent's choice holds across page loads (each new socket would start online).
  let chosen = storedPresence()
  if (chosen) socket.setPresence(chosen)

  function flush(reconnected: boolean): void {
    clearTimeout(timer)
    timer = undefined
    const ids = [...pending]
    pending = new Set()
    for (const listener of [...listeners]) listener(ids, reconnected)
  }

  function changed(ticketId: number): void {
    pending.add(ticketId)
    timer ??= setTimeout(() => flush(false), BATCH_MS)
  }

  socket.onState = (connection) => (state.connection = connection)
  socket.subscribe((frame) => {
    switch (frame.type) {
      case 'hello':
        state.presence = chosen ?? frame.presence
        state.channels = { ...(frame.channels ?? {}) }
        if (socket.opens > 1) flush(true)
        break
      case 'presence':
        state.presences[frame.agent_id] = frame.status
        if (frame.agent_id === socket.agent?.id) {
          state.presence = frame.status
          if (frame.channels) state.channels = { ...frame.channels }
        }
        break
      case 'ticket.created':
      case 'ticket.updated':
      case 'ticket.merged':
      case 'message.new':
        changed(frame.ticket_id)
        break
    }
  })

  return {
    state: readonly(state),
    socket,
    start: () => socket.start(),
    stop() {
      socket.stop()
      state.presence = null
    },
    setPresence(status) {
      try {
        globalThis.localStorage?.setItem(PRESENCE_KEY, status)
      } catch {
        // not kept for the next page load, but set for this one
      }
      chosen = status
      state.presence = status
      // Every channel follows: the server clears the choices per channel.
      state.channels = Object.fromEntries(Object.keys(state.channels).map((c) => [c, status]))
      socket.setPresence(status)
    },
    setChannelPresence(channel, status) {
      state.channels = { ...state.channels, [channel]: status }
      socket.setChannelPresence({ [channel]: status })
    },
    onTicketsChanged(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    subscribe: (listener) => socket.subscribe(listener),
  }
}

export const useLive = (): LiveStore => injectStore(liveKey, 'useLive()')
