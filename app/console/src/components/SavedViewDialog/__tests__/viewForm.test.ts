import { describe, expect, it } from 'vitest'

import type { View } from '@/api/client'

import { bodyOf, emptyForm, formOf } from '../viewForm'

describe('the saved-view form', () => {
  it('sends only the filters chosen, and a team only when shared with one', () => {
    const form = { ...emptyForm(), name: '  Urgent  ', priority: ['urgent'], shareTeamId: 3 }
    expect(bodyOf(form)).toEqual({
      name: 'Urgent',
      filters: {
        status: [],
        priority: ['urgent'],
        assignee: null,
        team_id: null,
        channel: null,
        tag: null,
      },
      visibility: 'personal',
      team_id: null,
    })
    expect(bodyOf({ ...form, visibility: 'team' }).team_id).toBe(3)
  })

  it('reads a saved view back into the form it was made with', () => {
    const view: View = {
      key: '12',
      kind: 'saved',
      name: 'Billing',
      count: 4,
      id: 12,
      filters: { status: ['open'], priority: [], assignee: 'me', team_id: 2, channel: 'email', tag: 'vip' },
      visibility: 'team',
      team_id: 2,
      owner_id: 7,
      editable: true,
    }
    const form = formOf(view)
    expect(form).toMatchObject({ name: 'Billing', assignee: 'me', teamId: 2, tag: 'vip', shareTeamId: 2 })
    expect(bodyOf(form)).toEqual({
      name: 'Billing',
      filters: view.filters,
      visibility: 'team',
      team_id: 2,
    })
  })
})
