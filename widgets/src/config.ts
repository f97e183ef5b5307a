// What the embedding page tells the widget, from the script tag that loaded it:
//   <script src="https://help.example.com/widget.js" data-inbox="support" async></script>

export interface WidgetConfig {
  /** The inbox the conversations go to. */
  inbox: string
  /** The Relaydesk server: where the script came from, not the page it runs on. */
  server: string
}

const MAX_INBOX_LENGTH = 200

/** The config, or a sentence saying what is wrong with the tag. */
export function readConfig(script: Element | null): WidgetConfig | string {
  if (!(script instanceof HTMLScriptElement) || !script.src) {
    return 'load widget.js with a <script src="…"> tag (not as a module or inline)'
  }
  const inbox = (script.dataset.inbox ?? '').trim()
  if (!inbox || inbox.length > MAX_INBOX_LENGTH) {
    return 'the script tag needs a data-inbox="…" attribute naming your inbox'
  }
  return { inbox, server: new URL(script.src, document.baseURI).origin }
}
