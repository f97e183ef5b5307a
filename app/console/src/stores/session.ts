// Who is signed in: the one piece of state every screen shares. Created once in main.ts and
// provided to the components (useSession) and the router's guard; tests pass a fake Api.
import { inject, reactive, readonly, type DeepReadonly, type InjectionKey } from 'vue'

import type { Api, Credentials, Me } from '@/api/client'
import { ApiError } from '@/api/errors'

interface SessionState {
  agent: Me | null
  /** Whether the server was asked (once per page load). */
  checked: boolean
}

export interface SessionStore {
  readonly state: DeepReadonly<SessionState>
  /** Whether an agent is signed in; asks the server the first time. */
  check(): Promise<boolean>
  signIn(credentials: Credentials): Promise<void>
  signOut(): Promise<void>
  /** Ask the server again who is signed in (after enrolling a second factor). */
  reload(): Promise<void>
}

export const sessionKey: InjectionKey<SessionStore> = Symbol('session')

export function createSessionStore(api: Api): SessionStore {
  const state = reactive<SessionState>({ agent: null, checked: false })

  return {
    state: readonly(state),

    async check() {
      if (!state.checked) {
        try {
          state.agent = await api.auth.me()
        } catch (error) {
          if (!(error instanceof ApiError && error.needsSignIn)) throw error
          state.agent = null
        }
        state.checked = true
      }
      return state.agent !== null
    },

    async signIn(credentials) {
      const session = await api.auth.signIn(credentials)
      state.agent = session.agent
      state.checked = true
    },

    async reload() {
      state.agent = await api.auth.me()
      state.checked = true
    },

    async signOut() {
      try {
        await api.auth.signOut()
      } catch (error) {
        // A session that already expired is as signed out as it gets.
        if (!(error instanceof ApiError && error.needsSignIn)) throw error
      }
      state.agent = null
    },
  }
}

export function useSession(): SessionStore {
  const store = inject(sessionKey)
  if (!store) throw new Error('useSession() needs the session store provided (see main.ts)')
  return store
}
