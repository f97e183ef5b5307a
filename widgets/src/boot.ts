// Starting the widget: read the script tag, announce the one global, mount the launcher.
import { readConfig } from './config'
import { mountLauncher } from './launcher'
import { en } from './locale'
import { defaultTheme } from './theme'

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

export function boot(script: Element | null): void {
  if (window.Relaydesk) return // the tag is on the page twice: the first one wins
  const config = readConfig(script)
  if (typeof config === 'string') {
    console.warn(`Relaydesk widget: ${config}`)
    return
  }
  window.Relaydesk = Object.freeze({ inbox: config.inbox, server: config.server })
  whenBodyExists(() => mountLauncher(document.body, config, en, defaultTheme))
}
