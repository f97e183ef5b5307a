// The open chat: a non-modal dialog with the conversation (a `log`, so screen readers
// announce new messages politely), who is typing, and below it the composer or a form.
import { formatBytes, h, ICONS, icon, initials } from './dom'
import type { Strings } from './locale'
import type { Entry } from './thread'
import type { AttachmentRef, Author } from './types'

export const PANEL_ID = 'relaydesk-panel'

export interface PanelOptions {
  title: string
  subtitle: string
  offline: boolean
  strings: Strings
  attachmentUrl: (attachment: AttachmentRef) => string | null
  onClose: () => void
}

export class Panel {
  readonly element: HTMLElement
  readonly footer: HTMLElement
  private readonly log: HTMLDivElement
  private readonly typing: HTMLElement
  private readonly notice: HTMLElement
  private readonly subtitle: HTMLElement
  private readonly items = new Map<string, HTMLDivElement>()

  constructor(private readonly options: PanelOptions) {
    const { strings } = options
    const close = h('button', { type: 'button', class: 'close', 'aria-label': strings.closeChat })
    close.append(icon(ICONS.close))
    close.addEventListener('click', () => options.onClose())
    // dir=auto on everything the inbox or a person wrote: an English greeting stays readable
    // in an Arabic widget, and an Arabic message in an English one.
    this.subtitle = h('p', { class: 'subtitle', dir: 'auto' }, options.subtitle)
    this.log = h('div', { class: 'log', role: 'log', 'aria-label': strings.messages, tabindex: '0' })
    this.typing = h('p', { class: 'typing', 'aria-live': 'polite' })
    this.notice = h('p', { class: 'notice', role: 'status' })
    this.footer = h('div', { class: 'footer' })
    this.element = h(
      'section',
      {
        id: PANEL_ID,
        class: `panel${options.offline ? ' offline' : ''}`,
        role: 'dialog',
        'aria-labelledby': `${PANEL_ID}-title`,
        hidden: true,
      },
      h(
        'header',
        { class: 'header' },
        h('div', { class: 'heading' }, h('h2', { id: `${PANEL_ID}-title`, dir: 'auto' }, options.title), this.subtitle),
        close,
      ),
      this.notice,
      this.log,
      this.typing,
      this.footer,
    )
    this.element.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        event.stopPropagation()
        options.onClose()
      }
    })
  }

  get open(): boolean {
    return !this.element.hidden
  }

  setOffline(offline: boolean, subtitle: string): void {
    this.element.classList.toggle('offline', offline)
    this.subtitle.textContent = subtitle
  }

  setNotice(text: string | null): void {
    this.notice.textContent = text ?? ''
    this.notice.hidden = !text
  }

  setTyping(name: string | null): void {
    this.typing.textContent = name ? this.options.strings.typing(name) : ''
  }

  /** Show the entry where the thread has it (entries are in conversation order). */
  render(entry: Entry, entries: readonly Entry[]): void {
    const existing = this.items.get(entry.key)
    const item = this.item(entry)
    if (existing) {
      existing.replaceWith(item)
    } else {
      const index = entries.indexOf(entry)
      const next = entries.slice(index + 1).find((e) => this.items.has(e.key))
      this.log.insertBefore(item, next ? (this.items.get(next.key) ?? null) : null)
    }
    this.items.set(entry.key, item)
    for (const key of this.items.keys()) {
      if (!entries.some((e) => e.key === key)) {
        this.items.get(key)?.remove()
        this.items.delete(key)
      }
    }
    this.scrollToEnd()
  }

  scrollToEnd(): void {
    this.log.scrollTop = this.log.scrollHeight
  }

  private item(entry: Entry): HTMLDivElement {
    const { strings } = this.options
    const who = entry.mine ? strings.you : entry.author.name || strings.agent
    const item = h('div', {
      class: `message ${entry.mine ? 'mine' : entry.author.type === 'system' ? 'system' : 'theirs'}`,
      'data-message-id': entry.messageId === null ? undefined : String(entry.messageId),
      'data-status': entry.status,
    })
    if (!entry.mine) {
      item.append(h('div', { class: 'author' }, avatar(entry.author, who), h('bdi', {}, who)))
    } else {
      item.append(h('span', { class: 'visually-hidden' }, `${who}: `))
    }
    const bubble = h('div', { class: 'bubble' })
    if (entry.body) bubble.append(h('p', { class: 'body', dir: 'auto' }, entry.body))
    for (const attachment of entry.attachments) bubble.append(this.attachment(attachment))
    item.append(bubble)
    if (entry.mine) item.append(h('span', { class: 'state' }, this.delivery(entry.status)))
    return item
  }

  private attachment(attachment: AttachmentRef): HTMLElement {
    const label = `${attachment.filename} (${formatBytes(attachment.size)})`
    const url = attachment.id ? this.options.attachmentUrl(attachment) : null
    if (!url) return h('span', { class: 'file' }, label)
    return h('a', { class: 'file', dir: 'auto', href: url, target: '_blank', rel: 'noopener noreferrer' }, label)
  }

  private delivery(status: string): string {
    const { strings } = this.options
    const labels: Record<string, string> = {
      sending: strings.sending,
      sent: strings.sent,
      delivered: strings.delivered,
      read: strings.read,
      failed: strings.failed,
    }
    return labels[status] ?? strings.sent
  }
}

/** The agent's picture when they set one (https only, checked by the server), else their
 * initials; a picture that fails to load falls back to the initials too. */
function avatar(author: Author, who: string): HTMLElement {
  const letters = h('span', { class: 'avatar', 'aria-hidden': 'true' }, initials(who))
  const url = author.avatar_url
  if (!url || !url.startsWith('https://')) return letters
  const image = h('img', {
    class: 'avatar',
    src: url,
    alt: '',
    'aria-hidden': 'true',
    referrerpolicy: 'no-referrer',
    loading: 'lazy',
  })
  image.addEventListener('error', () => image.replaceWith(letters), { once: true })
  return image
}
