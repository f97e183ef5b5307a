// The names behind ids: agents and teams, loaded once per page load and on demand after an
// admin changes them. Lists and the ticket page show "Ada Lovelace", never "agent 7".
import { reactive, readonly, type DeepReadonly, type InjectionKey } from 'vue'

import type { Agent, Api, Team } from '@/api/client'

import { injectStore } from './inject'

interface DirectoryState {
  agents: Agent[]
  teams: Team[]
  loaded: boolean
}

export interface DirectoryStore {
  readonly state: DeepReadonly<DirectoryState>
  load(force?: boolean): Promise<void>
  agentName(id: number | null | undefined): string | null
  teamName(id: number | null | undefined): string | null
}

export const directoryKey: InjectionKey<DirectoryStore> = Symbol('directory')

export function createDirectoryStore(api: Api): DirectoryStore {
  const state = reactive<DirectoryState>({ agents: [], teams: [], loaded: false })
  let loading: Promise<void> | null = null

  return {
    state: readonly(state),

    load(force = false) {
      if (state.loaded && !force) return Promise.resolve()
      loading ??= Promise.all([api.directory.agents(), api.directory.teams()])
        .then(([agents, teams]) => {
          state.agents = agents
          state.teams = teams
          state.loaded = true
        })
        .finally(() => {
          loading = null
        })
      return loading
    },

    agentName(id) {
      if (id == null) return null
      return state.agents.find((agent) => agent.id === id)?.name ?? `Agent ${id}`
    },

    teamName(id) {
      if (id == null) return null
      return state.teams.find((team) => team.id === id)?.name ?? `Team ${id}`
    },
  }
}

export const useDirectory = (): DirectoryStore => injectStore(directoryKey, 'useDirectory()')
