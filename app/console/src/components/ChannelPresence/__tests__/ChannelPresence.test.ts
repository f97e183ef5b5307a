// @vitest-environment happy-dom
import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'

import { AgentSocket, type SocketLike } from '@/api/socket'
import { createLive, liveKey } from '@/stores/live'

import ChannelPresence from '../ChannelPresence.vue'

class FakeSocket implements SocketLike {
  readyState = 0
  sent: Record<string, unknown>[] = []
  onopen: SocketLike['onopen'] = null
  onmessage: SocketLike['onmessage'] = null
  onclose: SocketLike['onclose'] = null
  onerror: SocketLike['onerror'] = null

  send(data: string): void {
    this.sent.push(JSON.parse(data) as Record<string, unknown>)
  }

  close(): void {
    this.readyState = 3
  }

  frame(frame: Record<string, unknown>): void {
    this.readyState = 1
    this.onmessage?.({ data: JSON.stringify({ v: 1, ...frame }) } as MessageEvent)
  }
}

function mountControl() {
  const sockets: FakeSocket[] = []
  const live = createLive(
    new AgentSocket({
      open: () => {
        const socket = new FakeSocket()
        sockets.push(socket)
        return socket
      },
    }),
  )
  live.start()
  const wrapper = mount(ChannelPresence, { global: { provide: { [liveKey]: live } } })
  return { wrapper, socket: sockets[0]!, live }
}

const HELLO = {
  type: 'hello',
  heartbeat_seconds: 30,
  agent: { id: 7, name: 'Ada' },
  presence: 'online',
  channels: { email: 'online', chat: 'away' },
}

describe('the presence by channel', () => {
  it("shows each channel's presence as the server has it", async () => {
    const { wrapper, socket } = mountControl()
    socket.frame(HELLO)
    await wrapper.vm.$nextTick()
    const chat = wrapper.get<HTMLSelectElement>('select[aria-label="Chat availability"]')
    const email = wrapper.get<HTMLSelectElement>('select[aria-label="Email availability"]')
    expect(chat.element.value).toBe('away')
    expect(email.element.value).toBe('online')
    expect(wrapper.get('summary').text()).toBe('By channel: Chat away')
  })

  it('sets chat away over the socket while email stays online, and follows the server', async () => {
    const { wrapper, socket } = mountControl()
    socket.frame({ ...HELLO, channels: { email: 'online', chat: 'online' } })
    await wrapper.vm.$nextTick()
    await wrapper.get('select[aria-label="Chat availability"]').setValue('away')
    expect(socket.sent.at(-1)).toEqual({ type: 'presence.set', channels: { chat: 'away' } })
    expect(wrapper.get('summary').text()).toBe('By channel: Chat away')
    expect(wrapper.get<HTMLSelectElement>('select[aria-label="Email availability"]').element.value).toBe(
      'online',
    )
    // The idle timeout turns email away too: the server's frame says so.
    socket.frame({ type: 'presence', agent_id: 7, status: 'away', channels: { email: 'away', chat: 'away' } })
    await wrapper.vm.$nextTick()
    expect(wrapper.get<HTMLSelectElement>('select[aria-label="Email availability"]').element.value).toBe('away')
    expect(wrapper.get('summary').text()).toBe('By channel')
  })

  it('is disabled while the socket is not open', () => {
    const { wrapper } = mountControl()
    expect(wrapper.get('select[aria-label="Chat availability"]').attributes('disabled')).toBeDefined()
  })
})
