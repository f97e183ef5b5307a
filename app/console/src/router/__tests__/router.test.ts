import { describe, expect, it } from 'vitest'
import { createMemoryHistory } from 'vue-router'

import { ApiError } from '@/api/errors'
import { createSessionStore } from '@/stores/session'
import { ADA_ME, fakeApi } from '@/test/fakeApi'

import { createConsoleRouter, safeNext } from '..'

async function routerFor(signedIn: boolean) {
  const api = fakeApi()
  if (signedIn) api.auth.me.mockResolvedValue(ADA_ME)
  else api.auth.me.mockRejectedValue(new ApiError(401, 'not_authenticated', 'sign in'))
  return createConsoleRouter(createSessionStore(api), createMemoryHistory())
}

describe('the console router', () => {
  it('sends a visitor to the sign-in page, remembering where they were going', async () => {
    const router = await routerFor(false)
    await router.push('/tickets/42')
    expect(router.currentRoute.value.fullPath).toBe('/sign-in?next=/tickets/42')
    await router.push('/')
    expect(router.currentRoute.value.fullPath).toBe('/sign-in')
  })

  it('lets a signed-in agent in, and past the sign-in page to where they were going', async () => {
    const router = await routerFor(true)
    await router.push('/')
    expect(router.currentRoute.value.fullPath).toBe('/views/mine')
    await router.push('/sign-in?next=/tickets/42')
    expect(router.currentRoute.value.fullPath).toBe('/tickets/42')
    expect(router.currentRoute.value.name).toBe('ticket')
    await router.push('/tickets/nope')
    expect(router.currentRoute.value.name).toBe('not-found')
  })

  it('never follows `next` off the console', () => {
    expect(safeNext('/tickets/1')).toBe('/tickets/1')
    for (const next of ['//evil.test/x', 'https://evil.test', 'tickets', undefined, ['/a']]) {
      expect(safeNext(next)).toBe('/')
    }
  })
})
