// The ticket page's state: the ticket with its messages, its events (the timeline), its
// contact and account. Loaded over REST; after each of the agent's own actions, and while
// a reply waits for its channel, the page asks for what happened since its last seq.
import { computed, onBeforeUnmount, reactive, watch, type Ref } from 'vue'

import type {
  Account,
  Api,
  Contact,
  Ticket,
  TicketChanges,
  TicketDetail,
  TicketEvent,
} from '@/api/client'
import { errorMessage } from '@/api/errors'

// How often to look for a queued reply's fate until the agent socket tells.
export const DELIVERY_POLL_MS = 2_000

export interface TicketState {
  ticket: TicketDetail | null
  events: TicketEvent[]
  contact: Contact | null
  account: Account | null
  otherTickets: Ticket[]
  error: string | null
  /** A failed action's message (the page stays). */
  actionError: string | null
}

export function useTicket(api: Api, id: Ref<number>) {
  const state = reactive<TicketState>({
    ticket: null,
    events: [],
    contact: null,
    account: null,
    otherTickets: [],
    error: null,
    actionError: null,
  })
  const lastSeq = computed(() => state.events.at(-1)?.seq ?? state.ticket?.last_seq ?? 0)
  let poll: ReturnType<typeof setTimeout> | undefined

  async function load(ticketId: number): Promise<void> {
    Object.assign(state, { ticket: null, events: [], contact: null, account: null, error: null })
    state.otherTickets = []
    try {
      const [ticket, events] = await Promise.all([
        api.tickets.get(ticketId),
        api.tickets.events(ticketId),
      ])
      if (ticketId !== id.value) return // the agent moved on meanwhile
      state.ticket = ticket
      state.events = events.items
      void loadCustomer(ticket)
      watchDelivery()
    } catch (error) {
      state.error = errorMessage(error)
    }
  }

  async function loadCustomer(ticket: Ticket): Promise<void> {
    try {
      const [contact, others] = await Promise.all([
        api.customers.contact(ticket.contact_id),
        api.customers.contactTickets(ticket.contact_id, 11),
      ])
      state.contact = contact
      state.otherTickets = others.items.filter((other) => other.id !== ticket.id).slice(0, 10)
      if (contact.account_id) state.account = await api.customers.account(contact.account_id)
    } catch (error) {
      state.actionError = errorMessage(error)
    }
  }

  /** The ticket as it is now and the events after the last one the page has. */
  async function refresh(): Promise<void> {
    const ticketId = id.value
    const [ticket, events] = await Promise.all([
      api.tickets.get(ticketId),
      api.tickets.events(ticketId, lastSeq.value),
    ])
    if (ticketId !== id.value) return
    state.ticket = ticket
    const known = new Set(state.events.map((event) => event.seq))
    state.events.push(...events.items.filter((event) => !known.has(event.seq)))
    watchDelivery()
  }

  function watchDelivery(): void {
    clearTimeout(poll)
    const waiting = state.ticket?.messages.some((message) => message.status === 'queued')
    if (waiting) poll = setTimeout(() => void refresh().catch(() => watchDelivery()), DELIVERY_POLL_MS)
  }

  /** Run one of the agent's actions, then catch up; a failure is shown, not thrown. */
  async function act(action: () => Promise<unknown>): Promise<boolean> {
    state.actionError = null
    try {
      await action()
      await refresh()
      return true
    } catch (error) {
      state.actionError = errorMessage(error)
      return false
    }
  }

  const update = (changes: TicketChanges) => act(() => api.tickets.update(id.value, changes))
  const retry = (messageId: number) => act(() => api.tickets.retry(id.value, messageId))

  watch(id, (ticketId) => void load(ticketId), { immediate: true })
  onBeforeUnmount(() => clearTimeout(poll))

  return { state, lastSeq, refresh, update, retry, act }
}

export type TicketPageState = ReturnType<typeof useTicket>
