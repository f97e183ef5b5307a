// The SLA board's calls. They go through openapi-fetch typed from the generated api.d.ts,
// like the console's client (api/client.ts), with the same CSRF rule for writes.
import createClient from 'openapi-fetch'

import type { components, paths } from '@/api/api'
import { CSRF_COOKIE, CSRF_HEADER, readCookie } from '@/api/client'
import { ApiError, errorFromResponse } from '@/api/errors'

export type BoardPage = components['schemas']['BoardPage']
export type BoardTicket = components['schemas']['BoardTicket']
export type Report = components['schemas']['ReportOut']

type Query = NonNullable<paths['/api/v1/sla/breaches']['get']['parameters']['query']>
export type Channel = NonNullable<Query['channel']>

export interface BoardFilters {
  team_id?: number
  assignee_id?: number
  channel?: Channel
  policy_id?: number
}

const http = createClient<paths>({
  baseUrl: '',
  fetch: (input) => globalThis.fetch(input),
  credentials: 'same-origin',
  headers: { Accept: 'application/json' },
})
http.use({
  onRequest({ request }) {
    if (request.method === 'GET') return undefined
    const token = readCookie(document.cookie, CSRF_COOKIE)
    if (token) request.headers.set(CSRF_HEADER, token)
    return request
  },
})

async function body<T>(answer: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await answer
  if (!response.ok) throw errorFromResponse(response, error)
  if (data === undefined) throw new ApiError(502, 'bad_response', 'The server sent no answer')
  return data
}

export function breaches(filters: BoardFilters): Promise<BoardPage> {
  return body(http.GET('/api/v1/sla/breaches', { params: { query: { ...filters, limit: 200 } } }))
}

export function atRisk(filters: BoardFilters, withinMinutes: number): Promise<BoardPage> {
  return body(
    http.GET('/api/v1/sla/at-risk', {
      params: { query: { ...filters, within_minutes: withinMinutes, limit: 200 } },
    }),
  )
}

export function reassign(ticketId: number, assigneeId: number | null): Promise<unknown> {
  return body(
    http.PATCH('/api/v1/tickets/{ticket_id}', {
      params: { path: { ticket_id: ticketId } },
      body: { assignee_id: assigneeId },
    }),
  )
}

export function report(from: string, to: string, groupBy: string): Promise<Report> {
  return body(
    http.GET('/api/v1/reports/sla', {
      params: { query: { since: from, until: to, group_by: groupBy as 'team' } },
    }),
  )
}

export function reportCsvUrl(from: string, to: string, groupBy: string): string {
  const query = new URLSearchParams({ since: from, until: to, group_by: groupBy })
  return `/api/v1/reports/sla.csv?${query.toString()}`
}

export type RoutingQueue = components['schemas']['RoutingQueueOut']
export type AgentLoad = components['schemas']['AgentLoadOut']

export function routingQueue(): Promise<RoutingQueue> {
  return body(http.GET('/api/v1/routing/queue'))
}

export function pauseRouting(agentId: number, paused: boolean): Promise<unknown> {
  return body(
    http.PATCH('/api/v1/agents/{agent_id}', {
      params: { path: { agent_id: agentId } },
      body: { routing_paused: paused },
    }),
  )
}
