// A stand-in for the API client in unit tests: each function answers what the test says.
import { vi } from 'vitest'

import type { Agent, Api, Me, Session } from '@/api/client'

export const ADA: Agent = {
  id: 7,
  email: 'ada@example.test',
  name: 'Ada Lovelace',
  avatar_url: null,
  role: 'admin',
  presence: 'online',
  channel_presence: { email: 'online', chat: 'online' },
  is_active: true,
  capacity: {},
  routing_paused: false,
  skills: [],
  team_ids: [],
  created_at: '2026-01-01T00:00:00Z',
}

export const ADA_ME: Me = { ...ADA, two_factor_enabled: false, two_factor_setup_required: false }

export function sessionOf(agent: Agent): Session {
  return {
    csrf_token: 'csrf',
    expires_at: '2026-02-01T00:00:00Z',
    agent: { two_factor_enabled: false, two_factor_setup_required: false, ...agent },
  }
}

export function fakeApi() {
  return {
    auth: {
      signIn: vi.fn<Api['auth']['signIn']>(),
      me: vi.fn<Api['auth']['me']>(),
      signOut: vi.fn<Api['auth']['signOut']>(),
    },
    twoFactor: {
      status: vi.fn<Api['twoFactor']['status']>(),
      start: vi.fn<Api['twoFactor']['start']>(),
      confirm: vi.fn<Api['twoFactor']['confirm']>(),
      newRecoveryCodes: vi.fn<Api['twoFactor']['newRecoveryCodes']>(),
      disable: vi.fn<Api['twoFactor']['disable']>(),
      policy: vi.fn<Api['twoFactor']['policy']>(),
      setPolicy: vi.fn<Api['twoFactor']['setPolicy']>(),
    },
    directory: {
      agents: vi.fn<Api['directory']['agents']>().mockResolvedValue([ADA]),
      teams: vi.fn<Api['directory']['teams']>().mockResolvedValue([]),
    },
    tickets: {
      get: vi.fn<Api['tickets']['get']>(),
      events: vi.fn<Api['tickets']['events']>(),
      update: vi.fn<Api['tickets']['update']>(),
      reply: vi.fn<Api['tickets']['reply']>(),
      retry: vi.fn<Api['tickets']['retry']>(),
    },
    customers: {
      contact: vi.fn<Api['customers']['contact']>(),
      contactTickets: vi.fn<Api['customers']['contactTickets']>(),
      account: vi.fn<Api['customers']['account']>(),
    },
    attachments: {
      upload: vi.fn<Api['attachments']['upload']>(),
    },
    replies: {
      canned: vi.fn<Api['replies']['canned']>().mockResolvedValue([]),
      render: vi.fn<Api['replies']['render']>(),
      macros: vi.fn<Api['replies']['macros']>().mockResolvedValue([]),
      applyMacro: vi.fn<Api['replies']['applyMacro']>(),
    },
    admin: {
      inboxes: vi.fn<Api['admin']['inboxes']>().mockResolvedValue([]),
      createInbox: vi.fn<Api['admin']['createInbox']>(),
      testConnection: vi.fn<Api['admin']['testConnection']>(),
      createAgent: vi.fn<Api['admin']['createAgent']>(),
      updateAgent: vi.fn<Api['admin']['updateAgent']>(),
      setAgentSkills: vi.fn<Api['admin']['setAgentSkills']>(),
      deactivateAgent: vi.fn<Api['admin']['deactivateAgent']>(),
      createTeam: vi.fn<Api['admin']['createTeam']>(),
      updateTeam: vi.fn<Api['admin']['updateTeam']>(),
      removeTeam: vi.fn<Api['admin']['removeTeam']>(),
      skills: vi.fn<Api['admin']['skills']>().mockResolvedValue([]),
      createSkill: vi.fn<Api['admin']['createSkill']>(),
      renameSkill: vi.fn<Api['admin']['renameSkill']>(),
      removeSkill: vi.fn<Api['admin']['removeSkill']>(),
      createCanned: vi.fn<Api['admin']['createCanned']>(),
      removeCanned: vi.fn<Api['admin']['removeCanned']>(),
      createMacro: vi.fn<Api['admin']['createMacro']>(),
      removeMacro: vi.fn<Api['admin']['removeMacro']>(),
    },
    views: {
      list: vi.fn<Api['views']['list']>().mockResolvedValue([]),
      tickets: vi.fn<Api['views']['tickets']>(),
      having: vi.fn<Api['views']['having']>().mockResolvedValue([]),
      create: vi.fn<Api['views']['create']>(),
      update: vi.fn<Api['views']['update']>(),
      remove: vi.fn<Api['views']['remove']>(),
    },
  } satisfies Api
}

export type FakeApi = ReturnType<typeof fakeApi>
