// Writing a message: a text area (Enter sends, Shift+Enter is a new line), files checked
// against the inbox's limits and uploaded as they are picked, and "typing" told to the
// agent while the visitor writes (at most every few seconds, and "stopped" after a pause).
import { formatBytes, h, ICONS, icon } from './dom'
import type { Strings } from './locale'
import type { AttachmentRef } from './types'

const TYPING_REPEAT_MS = 3000
const TYPING_IDLE_MS = 4000

export interface ComposerOptions {
  strings: Strings
  limits: { max_bytes: number; types: string[] }
  upload: (file: File) => Promise<AttachmentRef>
  send: (body: string, attachments: AttachmentRef[]) => void
  typing: (active: boolean) => void
}

export function acceptsType(types: readonly string[], type: string): boolean {
  const t = type.toLowerCase()
  return types.includes(t) || types.includes(`${t.split('/')[0]}/*`)
}

export class Composer {
  readonly element: HTMLFormElement
  readonly input: HTMLTextAreaElement
  private readonly files: HTMLUListElement
  private readonly problem: HTMLElement
  private readonly picker: HTMLInputElement
  private attached: AttachmentRef[] = []
  private uploading = 0
  private typingSince = 0
  private idle: ReturnType<typeof setTimeout> | null = null

  constructor(private readonly options: ComposerOptions) {
    const { strings, limits } = options
    this.input = h('textarea', {
      class: 'input',
      rows: '1',
      placeholder: strings.placeholder,
      'aria-label': strings.message,
      maxlength: '20000',
    })
    this.picker = h('input', {
      type: 'file',
      class: 'picker',
      tabindex: '-1',
      'aria-hidden': 'true',
      accept: limits.types.join(','),
    })
    const attach = h('button', { type: 'button', class: 'icon-button attach', 'aria-label': strings.attach, title: strings.attach })
    attach.append(icon(ICONS.attach))
    attach.addEventListener('click', () => this.picker.click())
    const send = h('button', { type: 'submit', class: 'icon-button send', 'aria-label': strings.send, title: strings.send })
    send.append(icon(ICONS.send))
    this.files = h('ul', { class: 'files', 'aria-label': strings.attach })
    this.problem = h('p', { class: 'problem', role: 'alert' })
    this.element = h(
      'form',
      { class: 'composer' },
      this.problem,
      this.files,
      h('div', { class: 'row' }, attach, this.input, send),
      this.picker,
    )
    this.element.addEventListener('submit', (event) => {
      event.preventDefault()
      this.submit()
    })
    this.input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault()
        this.submit()
      }
    })
    this.input.addEventListener('input', () => this.typed())
    this.picker.addEventListener('change', () => {
      for (const file of Array.from(this.picker.files ?? [])) void this.add(file)
      this.picker.value = ''
    })
  }

  focus(): void {
    this.input.focus()
  }

  private say(problem: string | null): void {
    this.problem.textContent = problem ?? ''
  }

  private async add(file: File): Promise<void> {
    const { strings, limits } = this.options
    if (file.size > limits.max_bytes) return this.say(strings.tooLarge(file.name, formatBytes(limits.max_bytes)))
    if (!acceptsType(limits.types, file.type || 'application/octet-stream')) return this.say(strings.badType(file.name))
    this.say(null)
    this.uploading++
    try {
      this.attached.push(await this.options.upload(file))
      this.showFiles()
    } catch {
      this.say(strings.uploadFailed(file.name))
    } finally {
      this.uploading--
    }
  }

  private showFiles(): void {
    this.files.replaceChildren(
      ...this.attached.map((file) => {
        const remove = h('button', { type: 'button', class: 'remove', 'aria-label': `${this.options.strings.remove} ${file.filename}` }, '×')
        remove.addEventListener('click', () => {
          this.attached = this.attached.filter((a) => a !== file)
          this.showFiles()
          this.input.focus()
        })
        return h('li', {}, `${file.filename} (${formatBytes(file.size)})`, remove)
      }),
    )
  }

  private submit(): void {
    const body = this.input.value.trim()
    if ((!body && !this.attached.length) || this.uploading) return
    this.options.send(body, this.attached)
    this.input.value = ''
    this.attached = []
    this.showFiles()
    this.say(null)
    this.stopTyping()
  }

  private typed(): void {
    const now = Date.now()
    if (now - this.typingSince > TYPING_REPEAT_MS) {
      this.typingSince = now
      this.options.typing(true)
    }
    if (this.idle !== null) clearTimeout(this.idle)
    this.idle = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS)
  }

  private stopTyping(): void {
    if (this.idle !== null) clearTimeout(this.idle)
    this.idle = null
    if (this.typingSince) this.options.typing(false)
    this.typingSince = 0
  }
}
