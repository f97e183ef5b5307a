// @vitest-environment happy-dom
import { describe, expect, it, vi } from 'vitest'

import { createShortcuts } from '../shortcuts'

function press(shortcuts: ReturnType<typeof createShortcuts>, key: string, target: EventTarget = document.body) {
  const event = new KeyboardEvent('keydown', { key })
  Object.defineProperty(event, 'target', { value: target })
  shortcuts.onKeydown(event)
}

describe('keyboard shortcuts', () => {
  it('runs single keys and two-key sequences, and only while registered', () => {
    const shortcuts = createShortcuts()
    const next = vi.fn()
    const mine = vi.fn()
    const unregister = shortcuts.register([
      { keys: 'j', description: 'Next', run: next },
      { keys: 'g m', description: 'Mine', run: mine },
    ])
    press(shortcuts, 'j')
    press(shortcuts, 'g')
    press(shortcuts, 'm')
    press(shortcuts, 'm') // an "m" alone is nothing
    expect([next.mock.calls.length, mine.mock.calls.length]).toEqual([1, 1])
    unregister()
    press(shortcuts, 'j')
    expect(next).toHaveBeenCalledTimes(1)
    expect(shortcuts.active).toEqual([])
  })

  it('leaves what the agent types into a field alone', () => {
    const shortcuts = createShortcuts()
    const next = vi.fn()
    shortcuts.register([{ keys: 'j', description: 'Next', run: next }])
    const field = document.createElement('textarea')
    press(shortcuts, 'j', field)
    expect(next).not.toHaveBeenCalled()
  })
})
