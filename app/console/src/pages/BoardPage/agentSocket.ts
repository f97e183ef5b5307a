// The board's live path: the agent socket (/ws/agent, the session cookie), whose ticket
// frames say something changed. The board reloads its lists after them (debounced), so
// the REST answer stays the one source of what is shown; a dropped socket reconnects.
export interface SocketFrame {
  type: string
  ticket_id?: number
  seq?: number
  data?: Record<string, unknown>
}

export function watchAgentSocket(onFrame: (frame: SocketFrame) => void): () => void {
  let socket: WebSocket | null = null
  let heartbeat: number | undefined
  let retry: number | undefined
  let stopped = false

  function connect(): void {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws'
    socket = new WebSocket(`${scheme}://${location.host}/ws/agent?v=1`)
    socket.onmessage = (message) => {
      try {
        const frame = JSON.parse(String(message.data)) as SocketFrame
        if (frame.type === 'hello') {
          const seconds = Number((frame as { heartbeat_seconds?: number }).heartbeat_seconds ?? 20)
          window.clearInterval(heartbeat)
          heartbeat = window.setInterval(() => socket?.send('{"type":"ping"}'), seconds * 500)
        }
        onFrame(frame)
      } catch {
        // not JSON: nothing the board can use
      }
    }
    socket.onclose = () => {
      window.clearInterval(heartbeat)
      if (!stopped) retry = window.setTimeout(connect, 2000)
    }
  }

  connect()
  return () => {
    stopped = true
    window.clearTimeout(retry)
    window.clearInterval(heartbeat)
    socket?.close()
  }
}
