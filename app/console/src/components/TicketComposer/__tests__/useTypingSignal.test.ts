import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { effectScope, nextTick, reactive } from 'vue'

import type { Draft } from '../useComposer'
import { TYPING_PAUSE_MS, TYPING_REPEAT_MS, useTypingSignal } from '../useTypingSignal'

function setUp() {
  const draft = reactive<Draft>({ body: '', internal: false, attachments: [] })
  const said: [boolean, boolean][] = []
  const scope = effectScope()
  scope.run(() => useTypingSignal(draft, (active, internal) => said.push([active, internal])))
  return { draft, said, scope }
}

beforeEach(() => vi.useFakeTimers())
afterEach(() => vi.useRealTimers())

describe('the typing signal', () => {
  it('says once when writing starts, again while it goes on, and stopped after a pause', async () => {
    const { draft, said } = setUp()
    draft.body = 'H'
    await nextTick()
    draft.body = 'He'
    await nextTick()
    expect(said).toEqual([[true, false]])
    vi.advanceTimersByTime(TYPING_REPEAT_MS)
    draft.body = 'Hel'
    await nextTick()
    expect(said).toEqual([[true, false], [true, false]])
    vi.advanceTimersByTime(TYPING_PAUSE_MS)
    expect(said.at(-1)).toEqual([false, false])
  })

  it('says stopped when the draft is emptied (sent), and marks a note internal', async () => {
    const { draft, said } = setUp()
    draft.internal = true
    draft.body = 'Checking'
    await nextTick()
    draft.body = ''
    await nextTick()
    expect(said).toEqual([
      [true, true],
      [false, true],
    ])
  })

  it('turning a reply into a note tells the customer the typing stopped', async () => {
    const { draft, said } = setUp()
    draft.body = 'Hello'
    await nextTick()
    draft.internal = true
    await nextTick()
    expect(said).toEqual([
      [true, false],
      [false, false],
      [true, true],
    ])
  })
})
