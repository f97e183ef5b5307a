import type { ViewFilters } from '@/api/client'

export type AssigneeChoice = 'any' | 'me' | 'none' | number

export interface ViewForm {
  name: string
  status: string[]
  priority: string[]
  assignee: AssigneeChoice
  teamId: number | null
  channel: string | null
  tag: string
  visibility: 'personal' | 'team' | 'everyone'
  shareTeamId: number | null
}

export type Filters = ViewFilters
