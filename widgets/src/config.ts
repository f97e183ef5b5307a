// What the embedding page tells the widget, from the script tag that loaded it:
//   <script src="https://help.example.com/widget.js" data-inbox="<public key>" async></script>
// Optional: data-locale="ar" (else the inbox's language), and for a signed-in user of the
// site data-user-id, data-user-email, data-user-name and data-user-hmac (computed by the
// site's backend; without a valid HMAC the claims are ignored by the server).
import type { Identity } from './api'

export interface WidgetConfig {
  /** The inbox the conversations go to (its public key). */
  inbox: string
  /** The Relaydesk server: where the script came from, not the page it runs on. */
  server: string
  locale?: string
  identity?: Identity
}

const MAX_INBOX_LENGTH = 200
const MAX_ATTRIBUTE = 500

function attribute(script: HTMLScriptElement, name: string): string | undefined {
  const value = (script.dataset[name] ?? '').trim()
  return value && value.length <= MAX_ATTRIBUTE ? value : undefined
}

/** The config, or a sentence saying what is wrong with the tag. */
export function readConfig(script: Element | null): WidgetConfig | string {
  if (!(script instanceof HTMLScriptElement) || !script.src) {
    return 'load widget.js with a <script src="…"> tag (not as a module or inline)'
  }
  const inbox = (script.dataset.inbox ?? '').trim()
  if (!inbox || inbox.length > MAX_INBOX_LENGTH) {
    return 'the script tag needs a data-inbox="…" attribute naming your inbox'
  }
  const config: WidgetConfig = { inbox, server: new URL(script.src, document.baseURI).origin }
  const locale = attribute(script, 'locale')
  if (locale) config.locale = locale
  const userId = attribute(script, 'userId')
  const hmac = attribute(script, 'userHmac')
  if (userId && hmac) {
    const identity: Identity = { user_id: userId, hmac }
    const email = attribute(script, 'userEmail')
    const name = attribute(script, 'userName')
    if (email) identity.email = email
    if (name) identity.name = name
    config.identity = identity
  }
  return config
}
