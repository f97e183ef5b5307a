import { afterEach, describe, expect, it, vi } from 'vitest'

import { boot } from '../boot'
import { readConfig } from '../config'
import { HOST_TAG, mountLauncher } from '../launcher'
import { en } from '../locale'
import { defaultTheme } from '../theme'

function scriptTag(src: string | null, attributes: Record<string, string> = {}): HTMLScriptElement {
  const script = document.createElement('script')
  if (src !== null) script.setAttribute('src', src)
  for (const [name, value] of Object.entries(attributes)) script.setAttribute(name, value)
  return script
}

afterEach(() => {
  document.body.replaceChildren()
  delete window.Relaydesk
  vi.restoreAllMocks()
})

describe('readConfig', () => {
  it('reads the inbox from data-inbox and the server from the script URL', () => {
    const config = readConfig(
      scriptTag('https://help.example.test/widget.js', { 'data-inbox': ' support ' }),
    )
    expect(config).toEqual({ inbox: 'support', server: 'https://help.example.test' })
  })

  it.each([
    [scriptTag('https://help.example.test/widget.js'), /data-inbox/],
    [scriptTag('https://help.example.test/widget.js', { 'data-inbox': '  ' }), /data-inbox/],
    [scriptTag('https://h.test/widget.js', { 'data-inbox': 'x'.repeat(201) }), /data-inbox/],
    [scriptTag(null, { 'data-inbox': 'support' }), /script src/],
    [null, /script src/],
    [document.createElement('div'), /script src/],
  ])('explains a tag it cannot use (%#)', (tag, problem) => {
    expect(readConfig(tag)).toMatch(problem)
  })
})

describe('the launcher', () => {
  it('is a labelled button inside an open shadow root at the end of the body', () => {
    document.body.append(document.createElement('main'))
    const { host, launcher } = mountLauncher(
      document.body,
      { inbox: 'support', server: 'https://h.test' },
      en,
      defaultTheme,
    )
    expect(document.body.lastElementChild).toBe(host)
    expect(host.tagName.toLowerCase()).toBe(HOST_TAG)
    expect(host.shadowRoot?.contains(launcher)).toBe(true)
    expect(launcher.getAttribute('aria-label')).toBe('Chat with us')
    expect(launcher.type).toBe('button')
    // The host's own placement is inline and !important, so page rules cannot move it.
    expect(host.style.getPropertyValue('position')).toBe('fixed')
    expect(host.style.getPropertyPriority('position')).toBe('important')
    const wrapper = launcher.parentElement as HTMLElement
    expect(wrapper.style.getPropertyValue('--rd-accent')).toBe(defaultTheme.accent)
  })
})

describe('boot', () => {
  const tag = () => scriptTag('https://help.example.test/widget.js', { 'data-inbox': 'support' })

  it('announces window.Relaydesk and starts once, even when loaded twice', () => {
    const start = vi.fn(async () => null)
    boot(tag(), start)
    boot(scriptTag('https://other.test/widget.js', { 'data-inbox': 'other' }), start)
    expect(window.Relaydesk).toEqual({ inbox: 'support', server: 'https://help.example.test' })
    expect(Object.isFrozen(window.Relaydesk)).toBe(true)
    expect(start).toHaveBeenCalledTimes(1)
    expect(start).toHaveBeenCalledWith({ inbox: 'support', server: 'https://help.example.test' })
  })

  it('passes the locale and a signed-in user from the tag', () => {
    const start = vi.fn(async () => null)
    boot(
      scriptTag('https://help.example.test/widget.js', {
        'data-inbox': 'support',
        'data-locale': 'ar',
        'data-user-id': 'u-7',
        'data-user-email': 'grace@example.test',
        'data-user-hmac': 'abc123',
      }),
      start,
    )
    expect(start).toHaveBeenCalledWith({
      inbox: 'support',
      server: 'https://help.example.test',
      locale: 'ar',
      identity: { user_id: 'u-7', email: 'grace@example.test', hmac: 'abc123' },
    })
  })

  it('warns and stays away from the page when the tag is wrong', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const start = vi.fn(async () => null)
    boot(scriptTag('https://help.example.test/widget.js'), start)
    expect(start).not.toHaveBeenCalled()
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^Relaydesk widget: .*data-inbox/))
    expect(window.Relaydesk).toBeUndefined()
    expect(document.querySelector(HOST_TAG)).toBeNull()
  })
})
