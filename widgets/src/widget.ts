// The widget as a whole: the inbox's config decides the look, the language and whether to
// ask for a form first; the client carries the conversation; the thread and the panel
// show it. Nothing here parses markup: every server value is shown as text.
import { Api, ApiError } from './api'
import { backoffDelay, ChatClient, type ClientState, type TicketFrame } from './client'
import { Composer } from './composer'
import type { WidgetConfig } from './config'
import { StartForm } from './form'
import { mountLauncher, type Mounted } from './launcher'
import { pickLocale, type Strings } from './locale'
import { Panel, PANEL_ID } from './panel'
import { Store } from './store'
import { themeOf } from './theme'
import { Thread } from './thread'
import type { AttachmentRef, HelloFrame, InboxConfig, Outgoing, PreChatFieldSpec } from './types'

const TYPING_SHOWN_MS = 8000
const CONFIG_FRESH_MS = 60_000

export class Widget {
  private readonly api: Api
  private readonly store: Store
  private readonly thread = new Thread()
  private readonly client: ChatClient
  private readonly strings: Strings
  private readonly mounted: Mounted
  private readonly panel: Panel
  private readonly composer: Composer
  private token: string | null
  private session: Promise<string | null> | null = null
  private visitor: HelloFrame['visitor'] | null = null
  private unread = 0
  private sessionAttempts = 0
  private configAt = Date.now()
  private typingTimer: ReturnType<typeof setTimeout> | null = null

  constructor(
    private readonly config: WidgetConfig,
    private inbox: InboxConfig,
  ) {
    this.api = new Api(config.server, config.inbox)
    this.store = new Store(config.server, config.inbox)
    const kept = this.store.load()
    this.token = kept.token
    const locale = pickLocale(config.locale ?? inbox.locale)
    this.strings = locale.strings
    this.mounted = mountLauncher(document.body, config, this.strings, themeOf(inbox.colors), locale.dir)
    this.mounted.wrapper.lang = locale.tag
    this.panel = new Panel({
      title: inbox.name,
      subtitle: this.subtitle(),
      offline: !inbox.online,
      strings: this.strings,
      attachmentUrl: (a) => (this.token ? this.api.attachmentUrl(this.token, a) : null),
      onClose: () => this.close(),
    })
    this.composer = new Composer({
      strings: this.strings,
      limits: inbox.attachments,
      upload: (file) => this.upload(file),
      send: (body, attachments) => this.send(body, attachments),
      typing: (active) => this.client.typing(active),
    })
    this.mounted.wrapper.insertBefore(this.panel.element, this.mounted.launcher)
    const launcher = this.mounted.launcher
    launcher.setAttribute('aria-controls', PANEL_ID)
    launcher.setAttribute('aria-expanded', 'false')
    launcher.addEventListener('click', () => (this.panel.open ? this.close() : this.open()))

    this.client = new ChatClient({
      url: (token) => this.api.socketUrl(token),
      token: null,
      pending: kept.pending,
      events: {
        state: (state) => this.connection(state),
        hello: (frame) => (this.visitor = frame.visitor ?? null),
        frame: (frame) => this.frame(frame),
        acked: (frame) => this.redraw(this.thread.ack(frame)),
        failed: (outgoing) => this.redraw(this.thread.failed(outgoing.client_id)),
        queued: (pending) => this.keep(pending),
        renewToken: () => this.renew(),
      },
    })
    for (const outgoing of kept.pending) this.redraw(this.thread.addOwn(outgoing))
    window.addEventListener('online', () => this.client.reconnectNow())
    document.addEventListener('visibilitychange', () => this.markRead())
    // A returning visitor continues at once (their replies and queue); a new one only
    // becomes a visitor when they open the chat.
    if (this.token) void this.ensureSession()
    this.showFooter()
  }

  private subtitle(): string {
    return this.inbox.online ? this.inbox.greeting : this.inbox.offline_text
  }

  private keep(pending: readonly Outgoing[]): void {
    this.store.save({ token: this.token, pending: [...pending] })
  }

  /** The form to answer first, if any: the inbox's pre-chat fields, or when nobody is
   * online our own email question, so the reply can go by email. */
  private formFields(): PreChatFieldSpec[] {
    if (this.token) return []
    const fields = [...this.inbox.pre_chat_fields]
    const knowsEmail = fields.some((f) => f.type === 'email') || !!this.config.identity?.email
    if (!this.inbox.online && !knowsEmail) {
      if (!fields.some((f) => f.name === 'name'))
        fields.push({ name: 'name', label: this.strings.name, type: 'text', required: false })
      fields.push({ name: 'email', label: this.strings.email, type: 'email', required: true })
    }
    return fields
  }

  private showFooter(): void {
    const fields = this.formFields()
    if (!fields.length) {
      this.panel.footer.replaceChildren(this.composer.element)
      return
    }
    const offline = !this.inbox.online
    const form = new StartForm({
      strings: this.strings,
      fields,
      intro: offline ? this.strings.emailForReply : null,
      submitLabel: offline ? this.strings.leaveMessage : this.strings.start,
      submit: async (answers) => {
        try {
          await this.startSession(answers)
        } catch (error) {
          return problemsOf(error)
        }
        this.panel.footer.replaceChildren(this.composer.element)
        this.composer.focus()
        return {}
      },
    })
    this.panel.footer.replaceChildren(form.element)
  }

  private async startSession(preChat?: Record<string, string>): Promise<string> {
    const answer = await this.api.session({
      token: this.token,
      identity: this.config.identity ?? null,
      ...(preChat ? { pre_chat: preChat } : {}),
    })
    if (this.token && answer.token !== this.token) {
      // Another visitor now (the site's user signed out or changed): what the previous one
      // had queued is theirs, not this person's.
      for (const outgoing of this.client.queue) this.redraw(this.thread.failed(outgoing.client_id))
      this.keep([])
    }
    this.token = answer.token
    this.sessionAttempts = 0
    this.keep(this.client.queue)
    this.client.useToken(answer.token)
    return answer.token
  }

  /** One session request at a time: opening and sending at once must not make two
   * visitors (the second would take over and strand the first one's queue). */
  private ensureSession(): Promise<string | null> {
    if (this.session) return this.session
    this.session = this.startSession().catch((error: unknown) => {
      this.session = null
      if (error instanceof ApiError && error.status === 403) this.connection('refused')
      if (error instanceof ApiError && error.status < 500) return null
      // The server is out of reach. A returning visitor's socket retries on its own (it
      // checks the token too); a new one asks again, with backoff, while it has a reason.
      if (this.token) {
        this.client.useToken(this.token)
        return this.token
      }
      this.connection('waiting')
      setTimeout(() => {
        if (!this.token && (this.panel.open || this.client.queue.length)) void this.ensureSession()
      }, backoffDelay(this.sessionAttempts++))
      return null
    })
    return this.session
  }

  private async renew(): Promise<string | null> {
    this.token = null
    this.session = null
    this.keep(this.client.queue)
    try {
      const answer = await this.api.session({ identity: this.config.identity ?? null })
      this.token = answer.token
      this.keep(this.client.queue)
      return answer.token
    } catch {
      return null
    }
  }

  private async upload(file: File): Promise<AttachmentRef> {
    const token = this.token ?? (await this.ensureSession())
    if (!token) throw new Error('no session')
    return this.api.upload(token, file)
  }

  private send(body: string, attachments: AttachmentRef[]): void {
    this.redraw(this.thread.addOwn(this.client.send(body, attachments)))
    if (!this.token) void this.ensureSession()
  }

  private open(): void {
    this.panel.element.hidden = false
    this.mounted.wrapper.classList.add('open')
    this.mounted.launcher.setAttribute('aria-expanded', 'true')
    this.unread = 0
    this.mounted.setUnread(0)
    this.panel.scrollToEnd()
    if (!this.formFields().length) {
      void this.ensureSession()
      this.composer.focus()
    } else {
      ;(this.panel.footer.querySelector('input, textarea') as HTMLElement | null)?.focus()
    }
    this.markRead()
    if (Date.now() - this.configAt > CONFIG_FRESH_MS) void this.refreshConfig()
  }

  private close(): void {
    this.panel.element.hidden = true
    this.mounted.wrapper.classList.remove('open')
    this.mounted.launcher.setAttribute('aria-expanded', 'false')
    this.mounted.launcher.focus()
  }

  private async refreshConfig(): Promise<void> {
    this.configAt = Date.now()
    try {
      this.inbox = await this.api.config()
    } catch {
      return
    }
    this.panel.setOffline(!this.inbox.online, this.subtitle())
  }

  private connection(state: ClientState): void {
    if (state === 'refused') this.panel.setNotice(this.strings.unavailable)
    else if (state === 'waiting') this.panel.setNotice(this.strings.reconnecting)
    else if (state === 'open') this.panel.setNotice(null)
  }

  private frame(frame: TicketFrame): void {
    if (frame.type === 'typing') {
      if (frame.author.type !== 'agent') return
      this.showTyping(frame.active ? frame.author.name || this.strings.agent : null)
      return
    }
    if (frame.type === 'message.status') {
      this.redraw(this.thread.status(frame.message_id, frame.status))
      return
    }
    const shown = this.thread.message(frame)
    if (!shown) return
    this.redraw(shown.entry)
    if (shown.added && !shown.entry.mine) {
      this.showTyping(null)
      if (!this.panel.open && frame.status !== 'read') this.mounted.setUnread(++this.unread)
      this.markRead()
    }
  }

  private showTyping(name: string | null): void {
    if (this.typingTimer !== null) clearTimeout(this.typingTimer)
    this.panel.setTyping(name)
    this.typingTimer = name ? setTimeout(() => this.panel.setTyping(null), TYPING_SHOWN_MS) : null
  }

  private markRead(): void {
    if (!this.panel.open || document.visibilityState === 'hidden') return
    const seq = this.thread.lastIncomingSeq()
    if (seq) this.client.read(seq)
  }

  private redraw(entry: ReturnType<Thread['ack']>): void {
    if (entry) this.panel.render(entry, this.thread.entries)
  }
}

function problemsOf(error: unknown): Record<string, string> {
  if (!(error instanceof ApiError)) return { '': String(error) }
  const problems: Record<string, string> = {}
  for (const [field, message] of Object.entries(error.fields))
    problems[field.replace(/^pre_chat\./, '')] = message
  return problems
}

/** Fetch the inbox's config, then show the launcher (in its colours, in its language). */
export async function startWidget(config: WidgetConfig): Promise<Widget | null> {
  let inbox: InboxConfig
  try {
    inbox = await new Api(config.server, config.inbox).config()
  } catch (error) {
    const why = error instanceof ApiError && error.status === 404 ? 'no active chat inbox has this key' : String(error)
    console.warn(`Relaydesk widget: ${why}`)
    return null
  }
  return new Widget(config, inbox)
}
