// @vitest-environment happy-dom
import { flushPromises, mount } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'
import { createMemoryHistory } from 'vue-router'

import { ApiError } from '@/api/errors'
import { createConsoleRouter } from '@/router'
import { createSessionStore, sessionKey } from '@/stores/session'
import { ADA, fakeApi } from '@/test/fakeApi'

import HomePage from '../HomePage.vue'

async function mountPage(api: ReturnType<typeof fakeApi>) {
  api.auth.me.mockResolvedValue(ADA)
  const session = createSessionStore(api)
  const router = createConsoleRouter(session, createMemoryHistory())
  await router.push('/')
  const wrapper = mount(HomePage, { global: { plugins: [router], provide: { [sessionKey]: session } } })
  return { wrapper, router }
}

describe('the home page', () => {
  it("shows the signed-in agent's name and signs out to the sign-in page", async () => {
    const api = fakeApi()
    api.auth.signOut.mockResolvedValue(undefined)
    const { wrapper, router } = await mountPage(api)
    expect(wrapper.text()).toContain('Signed in as Ada Lovelace')
    await wrapper.get('button').trigger('click')
    await vi.waitFor(() => expect(router.currentRoute.value.name).toBe('sign-in'))
    expect(api.auth.signOut).toHaveBeenCalledOnce()
  })

  it('stays and says why when signing out fails', async () => {
    const api = fakeApi()
    api.auth.signOut.mockRejectedValue(new ApiError(503, 'unavailable', 'the server is restarting'))
    const { wrapper, router } = await mountPage(api)
    await wrapper.get('button').trigger('click')
    await flushPromises()
    expect(wrapper.get('[role=alert]').text()).toBe('the server is restarting')
    expect(router.currentRoute.value.name).toBe('home')
  })
})
