// The sidebar's views with their counts. Asked again after the agent changes something and
// when the agent socket says tickets changed (every half minute while the socket is away).
import { reactive, readonly, type DeepReadonly, type InjectionKey } from 'vue'

import type { Api, SavedViewCreate, SavedViewUpdate, View } from '@/api/client'

import { injectStore } from './inject'

interface ViewsState {
  views: View[]
  loaded: boolean
  error: string | null
}

export interface ViewsStore {
  readonly state: DeepReadonly<ViewsState>
  refresh(): Promise<void>
  byKey(key: string): DeepReadonly<View> | undefined
  create(body: SavedViewCreate): Promise<View>
  update(id: number, body: SavedViewUpdate): Promise<View>
  remove(id: number): Promise<void>
}

export const viewsKey: InjectionKey<ViewsStore> = Symbol('views')

export function createViewsStore(api: Api): ViewsStore {
  const state = reactive<ViewsState>({ views: [], loaded: false, error: null })
  let asking: Promise<void> | null = null

  async function refresh(): Promise<void> {
    // Two refreshes at once (a poll and an action) ask once.
    asking ??= api.views
      .list()
      .then((views) => {
        state.views = views
        state.loaded = true
        state.error = null
      })
      .catch((error: unknown) => {
        state.error = error instanceof Error ? error.message : 'The views could not be loaded'
      })
      .finally(() => {
        asking = null
      })
    return asking
  }

  return {
    state: readonly(state),
    refresh,
    byKey: (key) => state.views.find((view) => view.key === key),
    async create(body) {
      const view = await api.views.create(body)
      await refresh()
      return view
    },
    async update(id, body) {
      const view = await api.views.update(id, body)
      await refresh()
      return view
    },
    async remove(id) {
      await api.views.remove(id)
      await refresh()
    },
  }
}

export const useViews = (): ViewsStore => injectStore(viewsKey, 'useViews()')
