// The saved-view form and the API's documents, both ways.
import type { SavedViewCreate, View, ViewFilters } from '@/api/client'

import type { ViewForm } from './types'

export function emptyForm(): ViewForm {
  return {
    name: '',
    status: [],
    priority: [],
    assignee: 'any',
    teamId: null,
    channel: null,
    tag: '',
    visibility: 'personal',
    shareTeamId: null,
  }
}

export function formOf(view: View): ViewForm {
  const filters = view.filters ?? {}
  return {
    name: view.name,
    status: [...(filters.status ?? [])],
    priority: [...(filters.priority ?? [])],
    assignee: filters.assignee ?? 'any',
    teamId: filters.team_id ?? null,
    channel: filters.channel ?? null,
    tag: filters.tag ?? '',
    visibility: (view.visibility as ViewForm['visibility'] | null) ?? 'personal',
    shareTeamId: view.team_id ?? null,
  }
}

export function bodyOf(form: ViewForm): SavedViewCreate {
  const filters: ViewFilters = {
    status: form.status as ViewFilters['status'],
    priority: form.priority as ViewFilters['priority'],
    assignee: form.assignee === 'any' ? null : form.assignee,
    team_id: form.teamId,
    channel: form.channel as ViewFilters['channel'],
    tag: form.tag.trim() || null,
  }
  return {
    name: form.name.trim(),
    filters,
    visibility: form.visibility,
    team_id: form.visibility === 'team' ? form.shareTeamId : null,
  }
}
