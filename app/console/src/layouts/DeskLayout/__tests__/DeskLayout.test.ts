// @vitest-environment happy-dom
import { flushPromises, mount } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'
import { createMemoryHistory } from 'vue-router'

import { apiKey } from '@/api/client'
import { ApiError } from '@/api/errors'
import { createConsoleRouter } from '@/router'
import { AgentSocket } from '@/api/socket'
import { createDirectoryStore, directoryKey } from '@/stores/directory'
import { createLive, liveKey } from '@/stores/live'
import { createSessionStore, sessionKey } from '@/stores/session'
import { createShortcuts, shortcutsKey } from '@/stores/shortcuts'
import { createTicketLists, ticketListsKey } from '@/stores/ticketLists'
import { createViewsStore, viewsKey } from '@/stores/views'
import { ADA_ME, fakeApi, type FakeApi } from '@/test/fakeApi'

import DeskLayout from '../DeskLayout.vue'

class FakeSocket {
  readyState = 0
  onopen = null
  onmessage = null
  onclose = null
  onerror = null
  send(): void {}
  close(): void {}
}

async function mountLayout(api: FakeApi) {
  api.auth.me.mockResolvedValue(ADA_ME)
  api.views.list.mockResolvedValue([
    { key: 'mine', kind: 'built_in', name: 'Mine', count: 3, editable: false },
  ])
  const session = createSessionStore(api)
  const router = createConsoleRouter(session, createMemoryHistory())
  await router.push('/settings/security')
  const wrapper = mount(DeskLayout, {
    global: {
      plugins: [router],
      provide: {
        [apiKey]: api,
        [sessionKey]: session,
        [viewsKey]: createViewsStore(api),
        [directoryKey]: createDirectoryStore(api),
        [ticketListsKey]: createTicketLists(api),
        [shortcutsKey]: createShortcuts(),
        [liveKey]: createLive(new AgentSocket({ open: () => new FakeSocket() })),
      },
      stubs: { RouterView: true },
    },
  })
  await flushPromises()
  return { wrapper, router }
}

describe('the desk layout', () => {
  it('shows who is signed in and the views with their counts', async () => {
    const { wrapper } = await mountLayout(fakeApi())
    expect(wrapper.text()).toContain('Signed in as Ada Lovelace')
    expect(wrapper.get('nav[aria-label=Views]').text()).toContain('Mine3')
  })

  it('signs out to the sign-in page, and stays saying why when that fails', async () => {
    const api = fakeApi()
    api.auth.signOut.mockRejectedValueOnce(new ApiError(503, 'unavailable', 'the server is restarting'))
    api.auth.signOut.mockResolvedValueOnce(undefined)
    const { wrapper, router } = await mountLayout(api)
    const signOut = wrapper.findAll('button').find((button) => button.text() === 'Sign out')
    await signOut?.trigger('click')
    await flushPromises()
    expect(wrapper.get('[role=alert]').text()).toBe('the server is restarting')
    await signOut?.trigger('click')
    await vi.waitFor(() => expect(router.currentRoute.value.name).toBe('sign-in'), { timeout: 20_000 })
  })
})
