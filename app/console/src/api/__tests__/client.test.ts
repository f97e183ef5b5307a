import { describe, expect, it } from 'vitest'

import { createApi, readCookie } from '../client'
import { ApiError } from '../errors'

const BASE = 'http://desk.test'

const AGENT = {
  id: 7,
  email: 'ada@example.test',
  name: 'Ada Lovelace',
  role: 'admin',
  presence: 'online',
  is_active: true,
  capacity: {},
  routing_paused: false,
  skills: [],
  team_ids: [],
  created_at: '2026-01-01T00:00:00Z',
}

function json(body: unknown, status = 200, type = 'application/json'): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': type } })
}

/** A fetch that answers from a list and remembers what it was asked. */
function fakeServer(...answers: (Response | Error)[]) {
  const requests: Request[] = []
  const fetch = async (input: RequestInfo | URL): Promise<Response> => {
    requests.push(input as Request)
    const answer = answers.shift()
    if (!answer) throw new Error('no answer left')
    if (answer instanceof Error) throw answer
    return answer
  }
  return { fetch: fetch as typeof globalThis.fetch, requests }
}

async function failure(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  )
  expect(error).toBeInstanceOf(ApiError)
  return error as ApiError
}

describe('the API client', () => {
  it('signs in with 200 or 201 alike and sends the CSRF token it was given', async () => {
    for (const status of [200, 201]) {
      const server = fakeServer(
        json({ csrf_token: 'c-1', expires_at: '2026-02-01T00:00:00Z', agent: AGENT }, status),
        new Response(null, { status: 204 }),
      )
      const api = createApi({ baseUrl: BASE, fetch: server.fetch, cookies: () => '' })
      const session = await api.auth.signIn({ email: 'ada@example.test', password: 'secret' })
      expect(session.agent.name).toBe('Ada Lovelace')
      await api.auth.signOut()

      const [signIn, signOut] = server.requests
      expect(signIn?.method).toBe('POST')
      expect(signIn?.url).toBe(`${BASE}/api/v1/auth/session`)
      expect(await signIn?.json()).toEqual({ email: 'ada@example.test', password: 'secret' })
      expect(signOut?.headers.get('X-CSRF-Token')).toBe('c-1')
    }
  })

  it('after a reload takes the CSRF token from the cookie, and never sends it on a GET', async () => {
    const server = fakeServer(json(AGENT), new Response(null, { status: 204 }))
    const api = createApi({
      baseUrl: BASE,
      fetch: server.fetch,
      cookies: () => 'other=1; relaydesk_csrf=from%20cookie; x=y',
    })
    expect((await api.auth.me()).email).toBe('ada@example.test')
    await api.auth.signOut()
    expect(server.requests[0]?.headers.get('X-CSRF-Token')).toBeNull()
    expect(server.requests[1]?.headers.get('X-CSRF-Token')).toBe('from cookie')
  })

  it('turns problem details into an ApiError with code, detail and fields', async () => {
    const api = createApi({
      baseUrl: BASE,
      cookies: () => '',
      fetch: fakeServer(
        json(
          {
            type: 'https://relaydesk.dev/problems/invalid_credentials',
            title: 'Authentication required',
            status: 401,
            detail: 'email or password is wrong',
            code: 'invalid_credentials',
          },
          401,
          'application/problem+json',
        ),
        json(
          {
            status: 422,
            detail: 'email: required',
            code: 'validation_failed',
            errors: [{ field: 'email', message: 'required' }, { junk: true }],
          },
          422,
          'application/problem+json',
        ),
      ).fetch,
    })
    const wrong = await failure(api.auth.signIn({ email: 'a@b.test', password: 'x' }))
    expect([wrong.status, wrong.code, wrong.message, wrong.needsSignIn]).toEqual([
      401,
      'invalid_credentials',
      'email or password is wrong',
      true,
    ])
    const invalid = await failure(api.auth.signIn({ email: '', password: 'x' }))
    expect(invalid.code).toBe('validation_failed')
    expect(invalid.fieldErrors).toEqual([{ field: 'email', message: 'required' }])
  })

  it('describes an answer that is no problem document by its status', async () => {
    const api = createApi({
      baseUrl: BASE,
      cookies: () => '',
      fetch: fakeServer(
        new Response('<html>Bad gateway</html>', { status: 502, headers: { 'Content-Type': 'text/html' } }),
        new Response(null, { status: 503 }),
        new Response('', { status: 418 }),
      ).fetch,
    })
    const proxy = await failure(api.auth.me())
    expect([proxy.status, proxy.code]).toEqual([502, 'http_502'])
    expect(proxy.message).toMatch(/not answering/)
    expect((await failure(api.auth.me())).message).toMatch(/unavailable/)
    expect((await failure(api.auth.me())).message).toBe('The server answered 418')
  })

  it('lets an error that is not about the server through unchanged', async () => {
    const cookies = (): string => {
      throw new RangeError('a bug')
    }
    const api = createApi({ baseUrl: BASE, fetch: fakeServer(json(AGENT)).fetch, cookies })
    await expect(api.auth.signOut()).rejects.toThrow(RangeError)
  })

  it('says so when the server cannot be reached or sends unreadable JSON', async () => {
    const api = createApi({
      baseUrl: BASE,
      cookies: () => '',
      fetch: fakeServer(
        new TypeError('Failed to fetch'),
        new Response('{"id": 7,', { status: 200, headers: { 'Content-Type': 'application/json' } }),
      ).fetch,
    })
    const offline = await failure(api.auth.me())
    expect([offline.status, offline.code]).toEqual([0, 'network_error'])
    expect(offline.cause).toBeInstanceOf(TypeError)
    const garbled = await failure(api.auth.me())
    expect(garbled.code).toBe('bad_response')
  })
})

describe('readCookie', () => {
  it('finds one cookie among several, decoded, and null when absent', () => {
    expect(readCookie('a=1; relaydesk_csrf=x%3Dy; b=2', 'relaydesk_csrf')).toBe('x=y')
    expect(readCookie('relaydesk_csrf_old=1', 'relaydesk_csrf')).toBeNull()
    expect(readCookie('', 'relaydesk_csrf')).toBeNull()
  })
})
