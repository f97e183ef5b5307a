// One view's tickets, page by page. Each view's loaded pages and scroll position are kept
// for the page load, so going to a ticket and back puts the agent where they were. Lists
// stay live: the tickets the agent socket says changed are checked against the server
// (the view's first page, and for tickets further down, whether they are still in it).
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
  /** Tickets heard to have changed since the list was last brought up to date. */
  stale: number[]
}

export const PAGE_SIZE = 50

export function createTicketLists(api: Api, pageSize = PAGE_SIZE) {
  const lists = new Map<string, TicketList>()
  const syncing = new Map<TicketList, Promise<void>>()
  const again = new Set<TicketList>()

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
        stale: [],
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

  /** Ask for the first page again: tickets changed in place, new ones where they belong,
   * gone ones removed. Tickets further down that were heard to change (`ids`, and those
   * marked by `touch`) are asked about by id. */
  async function refreshTop(list: TicketList, ids: readonly number[] = []): Promise<void> {
    list.stale.push(...ids)
    if (!list.loaded || list.loading) {
      if (!list.loaded) await loadMore(list)
      return
    }
    const running = syncing.get(list)
    if (running) {
      again.add(list)
      return running
    }
    const sync = syncOnce(list).finally(() => syncing.delete(list))
    syncing.set(list, sync)
    await sync
    if (again.delete(list)) await refreshTop(list)
  }

  async function syncOnce(list: TicketList): Promise<void> {
    const stale = new Set(list.stale)
    list.stale = []
    try {
      const page = await api.views.tickets(list.key, null, pageSize)
      mergeTop(list, page.items, page.next_cursor !== null)
      const top = new Set(page.items.map((ticket) => ticket.id))
      const below = list.items
        .filter((ticket) => stale.has(ticket.id) && !top.has(ticket.id))
        .map((ticket) => ticket.id)
      if (below.length) {
        const still = new Map((await api.views.having(list.key, below)).map((t) => [t.id, t]))
        list.items = list.items
          .filter((ticket) => !below.includes(ticket.id) || still.has(ticket.id))
          .map((ticket) => still.get(ticket.id) ?? ticket)
      }
      list.error = null
    } catch (error) {
      list.stale.push(...stale) // asked again next time
      list.error = errorMessage(error)
    }
  }

  /** Tickets changed: every loaded list checks them when it is next brought up to date. */
  function touch(ids: readonly number[]): void {
    for (const list of lists.values()) if (list.loaded) list.stale.push(...ids)
  }

  function reload(list: TicketList): Promise<void> {
    Object.assign(list, {
      items: [],
      cursor: null,
      loaded: false,
      error: null,
      scrollTop: 0,
      stale: [],
    })
    return loadMore(list)
  }

  return { listFor, loadMore, refreshTop, touch, reload }
}

/** The view's first page as it is now, merged into the list: `fresh` is the truth for the
 * tickets from its newest down to its oldest (down to the end when it is the whole view,
 * `more` false); the list is kept newest first, as the view orders it. */
export function mergeTop(list: TicketList, fresh: ViewTicket[], more = true): void {
  const byId = new Map(fresh.map((ticket) => [ticket.id, ticket]))
  const lowest = more ? (fresh.at(-1)?.id ?? Infinity) : 0
  const kept = list.items
    .filter((ticket) => ticket.id < lowest || byId.has(ticket.id))
    .map((ticket) => byId.get(ticket.id) ?? ticket)
  const known = new Set(kept.map((ticket) => ticket.id))
  const added = fresh.filter((ticket) => !known.has(ticket.id))
  list.items = added.length ? [...kept, ...added].sort((a, b) => b.id - a.id) : kept
}

export type TicketLists = ReturnType<typeof createTicketLists>

export const ticketListsKey: InjectionKey<TicketLists> = Symbol('ticketLists')
export const useTicketLists = (): TicketLists => injectStore(ticketListsKey, 'useTicketLists()')
