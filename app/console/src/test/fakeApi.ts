// A stand-in for the API client in unit tests: each function answers what the test says.
import { vi } from 'vitest'

import type { Agent, Api, Session } from '@/api/client'

export const ADA: Agent = {
  id: 7,
  email: 'ada@example.test',
  name: 'Ada Lovelace',
  role: 'admin',
  presence: 'online',
  is_active: true,
  capacity: {},
  skills: [],
  team_ids: [],
  created_at: '2026-01-01T00:00:00Z',
}

export function sessionOf(agent: Agent): Session {
  return { csrf_token: 'csrf', expires_at: '2026-02-01T00:00:00Z', agent }
}

export function fakeApi() {
  return {
    auth: {
      signIn: vi.fn<Api['auth']['signIn']>(),
      me: vi.fn<Api['auth']['me']>(),
      signOut: vi.fn<Api['auth']['signOut']>(),
    },
    directory: {
      agents: vi.fn<Api['directory']['agents']>().mockResolvedValue([ADA]),
      teams: vi.fn<Api['directory']['teams']>().mockResolvedValue([]),
    },
    tickets: {
      get: vi.fn<Api['tickets']['get']>(),
    },
    views: {
      list: vi.fn<Api['views']['list']>().mockResolvedValue([]),
      tickets: vi.fn<Api['views']['tickets']>(),
      create: vi.fn<Api['views']['create']>(),
      update: vi.fn<Api['views']['update']>(),
      remove: vi.fn<Api['views']['remove']>(),
    },
  } satisfies Api
}

export type FakeApi = ReturnType<typeof fakeApi>
