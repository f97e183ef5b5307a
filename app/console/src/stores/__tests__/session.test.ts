import { describe, expect, it } from 'vitest'

import { ApiError } from '@/api/errors'
import { ADA, ADA_ME, fakeApi, sessionOf } from '@/test/fakeApi'

import { createSessionStore } from '../session'

describe('the session store', () => {
  it('asks the server once whether someone is signed in', async () => {
    const api = fakeApi()
    api.auth.me.mockResolvedValue(ADA_ME)
    const session = createSessionStore(api)
    expect(await session.check()).toBe(true)
    expect(await session.check()).toBe(true)
    expect(api.auth.me).toHaveBeenCalledTimes(1)
    expect(session.state.agent?.name).toBe('Ada Lovelace')
  })

  it('takes a 401 for "nobody", and any other failure as a failure to retry', async () => {
    const api = fakeApi()
    api.auth.me.mockRejectedValueOnce(new ApiError(503, 'unavailable', 'down'))
    api.auth.me.mockRejectedValueOnce(new ApiError(401, 'not_authenticated', 'sign in'))
    const session = createSessionStore(api)
    await expect(session.check()).rejects.toThrow('down')
    expect(await session.check()).toBe(false)
    expect(await session.check()).toBe(false)
    expect(api.auth.me).toHaveBeenCalledTimes(2)
  })

  it('signs in and out; an expired session signs out without complaint', async () => {
    const api = fakeApi()
    api.auth.signIn.mockResolvedValue(sessionOf(ADA))
    api.auth.signOut.mockRejectedValueOnce(new ApiError(401, 'token_expired', 'expired'))
    const session = createSessionStore(api)
    await session.signIn({ email: ADA.email, password: 'secret' })
    expect(await session.check()).toBe(true)
    expect(api.auth.me).not.toHaveBeenCalled()
    await session.signOut()
    expect(session.state.agent).toBeNull()
  })

  it('stays signed in when signing out fails for another reason', async () => {
    const api = fakeApi()
    api.auth.signIn.mockResolvedValue(sessionOf(ADA))
    api.auth.signOut.mockRejectedValue(new ApiError(0, 'network_error', 'offline'))
    const session = createSessionStore(api)
    await session.signIn({ email: ADA.email, password: 'secret' })
    await expect(session.signOut()).rejects.toThrow('offline')
    expect(session.state.agent?.email).toBe(ADA.email)
  })
})
