import { describe, expect, it } from 'vitest'

import type { ViewTicket } from '@/api/client'
import { fakeApi } from '@/test/fakeApi'

import { createTicketLists } from '../ticketLists'

function ticket(id: number, subject = `Ticket ${id}`): ViewTicket {
  return {
    id,
    number: 1000 + id,
    subject,
    status: 'open',
    priority: 'normal',
    channel: 'email',
    inbox_id: null,
    contact_id: 1,
    account_id: null,
    assignee_id: null,
    team_id: null,
    required_skill_ids: [],
    required_skills: [],
    tags: [],
    custom_fields: {},
    created_at: '2026-01-01T00:00:00Z',
    updated_at: '2026-01-01T00:00:00Z',
    first_responded_at: null,
    solved_at: null,
    closed_at: null,
    last_seq: 2,
    merged_into_id: null,
    linked_ticket_id: null,
    contact: { id: 1, name: 'Pat', email: 'pat@customer.test' },
  }
}

describe('ticket lists', () => {
  it('pages by cursor and stops asking at the end', async () => {
    const api = fakeApi()
    api.views.tickets
      .mockResolvedValueOnce({ items: [ticket(5), ticket(4)], next_cursor: 'c1' })
      .mockResolvedValueOnce({ items: [ticket(3)], next_cursor: null })
    const lists = createTicketLists(api, 2)
    const list = lists.listFor('mine')
    await lists.loadMore(list)
    await lists.loadMore(list)
    await lists.loadMore(list)
    expect(list.items.map((t) => t.id)).toEqual([5, 4, 3])
    expect(api.views.tickets.mock.calls).toEqual([
      ['mine', null, 2],
      ['mine', 'c1', 2],
    ])
    // The same view is the same list: what was loaded (and the scroll) is kept.
    expect(lists.listFor('mine')).toBe(list)
  })

  it('refreshing the top changes tickets in place and puts new ones first', async () => {
    const api = fakeApi()
    api.views.tickets
      .mockResolvedValueOnce({ items: [ticket(5), ticket(4)], next_cursor: 'c1' })
      .mockResolvedValueOnce({ items: [ticket(7), ticket(6), ticket(5, 'Renamed')], next_cursor: 'x' })
    const lists = createTicketLists(api, 3)
    const list = lists.listFor('unassigned')
    await lists.loadMore(list)
    await lists.refreshTop(list)
    expect(list.items.map((t) => [t.id, t.subject])).toEqual([
      [7, 'Ticket 7'],
      [6, 'Ticket 6'],
      [5, 'Renamed'],
      [4, 'Ticket 4'],
    ])
    expect(list.cursor).toBe('c1') // where the next page starts has not moved
  })

  it('live: a ticket taken by someone else leaves, one that joined shows where it belongs', async () => {
    const api = fakeApi()
    api.views.tickets
      .mockResolvedValueOnce({ items: [ticket(9), ticket(7), ticket(5)], next_cursor: 'c1' })
      .mockResolvedValueOnce({ items: [ticket(9), ticket(6)], next_cursor: 'c2' })
      .mockResolvedValueOnce({ items: [ticket(9), ticket(6)], next_cursor: 'c2' })
    const lists = createTicketLists(api, 3)
    const list = lists.listFor('unassigned')
    await lists.loadMore(list)
    // 7 was taken; 6 came back unassigned; the top page is now 9 and 6 (and what follows).
    api.views.tickets.mockClear()
    await lists.refreshTop(list, [7, 6])
    expect(list.items.map((t) => t.id)).toEqual([9, 6, 5])
    // 5 is below the top page: asked about by id, and it was taken too.
    api.views.having.mockResolvedValueOnce([])
    await lists.refreshTop(list, [5])
    expect(api.views.having).toHaveBeenCalledWith('unassigned', [5])
    expect(list.items.map((t) => t.id)).toEqual([9, 6])
  })

  it('live: a list not shown checks the tickets it was told of when it is next refreshed', async () => {
    const api = fakeApi()
    api.views.tickets
      .mockResolvedValueOnce({ items: [ticket(9), ticket(8)], next_cursor: 'c1' })
      .mockResolvedValueOnce({ items: [ticket(9), ticket(8)], next_cursor: 'c1' })
    const lists = createTicketLists(api, 2)
    const list = lists.listFor('mine')
    await lists.loadMore(list)
    list.items.push(ticket(3))
    lists.touch([3])
    api.views.having.mockResolvedValueOnce([ticket(3, 'Changed')])
    await lists.refreshTop(list)
    expect(list.items.map((t) => t.subject)).toEqual(['Ticket 9', 'Ticket 8', 'Changed'])
    expect(list.stale).toEqual([])
  })

  it('keeps what it had and says why when a page fails', async () => {
    const api = fakeApi()
    api.views.tickets
      .mockResolvedValueOnce({ items: [ticket(5)], next_cursor: 'c1' })
      .mockRejectedValueOnce(new Error('boom'))
    const lists = createTicketLists(api, 1)
    const list = lists.listFor('pending')
    await lists.loadMore(list)
    await lists.loadMore(list)
    expect(list.items.map((t) => t.id)).toEqual([5])
    expect(list.error).toBe('Something went wrong; please try again')
    expect(list.loading).toBe(false)
  })
})
