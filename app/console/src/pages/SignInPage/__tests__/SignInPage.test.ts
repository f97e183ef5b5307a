// @vitest-environment happy-dom
import { flushPromises, mount } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'
import { createMemoryHistory } from 'vue-router'

import { ApiError } from '@/api/errors'
import { createConsoleRouter } from '@/router'
import { createSessionStore, sessionKey } from '@/stores/session'
import { ADA, fakeApi, sessionOf } from '@/test/fakeApi'

import SignInPage from '../SignInPage.vue'

async function mountPage(api: ReturnType<typeof fakeApi>, path = '/sign-in') {
  api.auth.me.mockRejectedValue(new ApiError(401, 'not_authenticated', 'sign in'))
  const session = createSessionStore(api)
  const router = createConsoleRouter(session, createMemoryHistory())
  await router.push(path)
  const wrapper = mount(SignInPage, { global: { plugins: [router], provide: { [sessionKey]: session } } })
  return { wrapper, router }
}

describe('the sign-in page', () => {
  it('signs in with the trimmed email and goes where the agent was going', async () => {
    const api = fakeApi()
    api.auth.signIn.mockResolvedValue(sessionOf(ADA))
    const { wrapper, router } = await mountPage(api, '/sign-in?next=/tickets/9')
    await wrapper.get('input[type=email]').setValue('  ada@example.test ')
    await wrapper.get('input[type=password]').setValue('secret')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(api.auth.signIn).toHaveBeenCalledWith({ email: 'ada@example.test', password: 'secret' })
    // The next page loads lazily (its own chunk), so the navigation ends a little later.
    await vi.waitFor(() => expect(router.currentRoute.value.fullPath).toBe('/tickets/9'), {
      timeout: 20_000,
    })
  })

  it.each([
    [new ApiError(401, 'invalid_credentials', 'email or password is wrong'), 'The email or password is wrong'],
    [new ApiError(429, 'too_many_requests', 'too many failed sign-ins; try again in 60 seconds'), 'too many failed sign-ins; try again in 60 seconds'],
    [new ApiError(0, 'network_error', 'The server could not be reached; check your connection'), 'The server could not be reached; check your connection'],
    [new Error('bug'), 'Something went wrong; please try again'],
  ])('shows what went wrong (%s) and clears the password', async (error, shown) => {
    const api = fakeApi()
    api.auth.signIn.mockRejectedValue(error)
    const { wrapper, router } = await mountPage(api)
    await wrapper.get('input[type=email]').setValue('ada@example.test')
    await wrapper.get('input[type=password]').setValue('wrong')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(wrapper.get('[role=alert]').text()).toBe(shown)
    expect((wrapper.get('input[type=password]').element as HTMLInputElement).value).toBe('')
    expect((wrapper.get('input[type=email]').element as HTMLInputElement).value).toBe('ada@example.test')
    expect(router.currentRoute.value.name).toBe('sign-in')
  })

  it('asks for the second factor when the agent has one, and keeps the password meanwhile', async () => {
    const api = fakeApi()
    api.auth.signIn
      .mockRejectedValueOnce(new ApiError(401, 'two_factor_required', 'enter the code'))
      .mockRejectedValueOnce(new ApiError(401, 'invalid_code', 'the code is wrong'))
      .mockResolvedValueOnce(sessionOf(ADA))
    const { wrapper, router } = await mountPage(api)
    await wrapper.get('input[type=email]').setValue('ada@example.test')
    await wrapper.get('input[type=password]').setValue('secret')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(wrapper.find('[role=alert]').exists()).toBe(false)
    await wrapper.get('#sign-in-code').setValue('123456')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(wrapper.get('[role=alert]').text()).toBe('The code is wrong or was used already')
    expect((wrapper.get('#sign-in-code').element as HTMLInputElement).value).toBe('')
    expect((wrapper.get('input[type=password]').element as HTMLInputElement).value).toBe('secret')
    await wrapper.get('#sign-in-code').setValue(' 654321 ')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(api.auth.signIn).toHaveBeenLastCalledWith({
      email: 'ada@example.test',
      password: 'secret',
      code: '654321',
    })
    await vi.waitFor(() => expect(router.currentRoute.value.name).not.toBe('sign-in'), { timeout: 20_000 })
  })

  it('does not send a second request while the first is on its way', async () => {
    const api = fakeApi()
    api.auth.signIn.mockReturnValue(new Promise(() => {}))
    const { wrapper } = await mountPage(api)
    await wrapper.get('form').trigger('submit')
    await wrapper.get('form').trigger('submit')
    expect(api.auth.signIn).toHaveBeenCalledTimes(1)
    expect(wrapper.get('button').attributes('disabled')).toBeDefined()
    expect(wrapper.get('button').text()).toBe('Signing in…')
  })
})
