// One view's tickets, page by page. Each view's loaded pages and scroll position are kept
// for the page load, so going to a ticket and back puts the agent where they were.
import { reactive, type InjectionKey } from 'vue'

import type { Api, ViewTicket } from '@/api/client'
import { errorMessage } from '@/api/errors'

import { injectStore } from './inject'

export interface TicketList {
  key: string
  items: ViewTicket[]
  cursor: string | null
  loaded: boolean
  loading: boolean
  error: string | null
  scrollTop: number
}

export const PAGE_SIZE = 50

export function createTicketLists(api: Api, pageSize = PAGE_SIZE) {
  const lists = new Map<string, TicketList>()

  function listFor(key: string): TicketList {
    let list = lists.get(key)
    if (!list) {
      list = reactive<TicketList>({
        key,
        items: [],
        cursor: null,
        loaded: false,
        loading: false,
        error: null,
        scrollTop: 0,
      })
      lists.set(key, list)
    }
    return list
  }

  /** The next page (the first one if nothing is loaded yet). */
  async function loadMore(list: TicketList): Promise<void> {
    if (list.loading || (list.loaded && list.cursor === null)) return
    list.loading = true
    list.error = null
    try {
      const page = await api.views.tickets(list.key, list.loaded ? list.cursor : null, pageSize)
      const known = new Set(list.items.map((ticket) => ticket.id))
      list.items.push(...page.items.filter((ticket) => !known.has(ticket.id)))
      list.cursor = page.next_cursor
      list.loaded = true
    } catch (error) {
      list.error = errorMessage(error)
    } finally {
      list.loading = false
    }
  }

  /** Ask for the first page again: tickets changed in place, new ones on top. Tickets that
   * left the view's first page stay until the list is loaded afresh. */
  async function refreshTop(list: TicketList): Promise<void> {
    if (!list.loaded || list.loading) return loadMore(list)
    try {
      const page = await api.views.tickets(list.key, null, pageSize)
      mergeTop(list, page.items)
    } catch (error) {
      list.error = errorMessage(error)
    }
  }

  function reload(list: TicketList): Promise<void> {
    Object.assign(list, { items: [], cursor: null, loaded: false, error: null, scrollTop: 0 })
    return loadMore(list)
  }

  return { listFor, loadMore, refreshTop, reload }
}

export function mergeTop(list: TicketList, fresh: ViewTicket[]): void {
  const byId = new Map(fresh.map((ticket) => [ticket.id, ticket]))
  list.items = list.items.map((ticket) => byId.get(ticket.id) ?? ticket)
  const newest = list.items[0]?.id ?? 0
  list.items.unshift(...fresh.filter((ticket) => ticket.id > newest))
}

export type TicketLists = ReturnType<typeof createTicketLists>

export const ticketListsKey: InjectionKey<TicketLists> = Symbol('ticketLists')
export const useTicketLists = (): TicketLists => injectStore(ticketListsKey, 'useTicketLists()')
