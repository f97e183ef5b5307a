// Starting the widget: read the script tag, announce the one global, then start the chat.
import { readConfig } from './config'
import { startWidget } from './widget'

export interface RelaydeskGlobal {
  readonly inbox: string
  readonly server: string
}

declare global {
  interface Window {
    Relaydesk?: RelaydeskGlobal
  }
}

function whenBodyExists(start: () => void): void {
  if (document.body) start()
  else document.addEventListener('DOMContentLoaded', start, { once: true })
}

export function boot(script: Element | null, start = startWidget): void {
  if (window.Relaydesk) return // the tag is on the page twice: the first one wins
  const config = readConfig(script)
  if (typeof config === 'string') {
    console.warn(`Relaydesk widget: ${config}`)
    return
  }
  window.Relaydesk = Object.freeze({ inbox: config.inbox, server: config.server })
  whenBodyExists(() => void start(config))
}
