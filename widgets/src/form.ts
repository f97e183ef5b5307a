// The form before the chat: the inbox's pre-chat fields, or, when nobody is online and we
// do not know where to reply, the visitor's email ("we reply by email").
import { h } from './dom'
import type { Strings } from './locale'
import type { PreChatFieldSpec } from './types'

const INPUT_TYPES: Record<string, string> = { email: 'email', tel: 'tel', text: 'text' }
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/

export interface FormOptions {
  strings: Strings
  fields: PreChatFieldSpec[]
  intro: string | null
  submitLabel: string
  /** Resolves to the server's complaints by field name (empty: accepted). */
  submit: (answers: Record<string, string>) => Promise<Record<string, string>>
}

export class StartForm {
  readonly element: HTMLFormElement
  private readonly controls = new Map<string, HTMLInputElement | HTMLTextAreaElement>()
  private readonly problems = new Map<string, HTMLElement>()

  constructor(private readonly options: FormOptions) {
    const { strings } = options
    this.element = h('form', { class: 'start', novalidate: true })
    if (options.intro) this.element.append(h('p', { class: 'intro' }, options.intro))
    for (const field of options.fields) {
      const id = `relaydesk-field-${field.name}`
      const control =
        field.type === 'textarea'
          ? h('textarea', { id, name: field.name, rows: '3' })
          : h('input', { id, name: field.name, type: INPUT_TYPES[field.type] ?? 'text' })
      if (field.required) control.setAttribute('aria-required', 'true')
      if (field.type === 'email') control.setAttribute('autocomplete', 'email')
      if (field.name === 'name') control.setAttribute('autocomplete', 'name')
      const problem = h('span', { class: 'problem', id: `${id}-problem` })
      control.setAttribute('aria-describedby', problem.id)
      control.addEventListener('input', () => {
        problem.textContent = ''
        control.setAttribute('aria-invalid', 'false')
      })
      this.controls.set(field.name, control)
      this.problems.set(field.name, problem)
      this.element.append(
        h(
          'div',
          { class: 'field' },
          h('label', { for: id }, field.label, field.required ? h('span', { 'aria-hidden': 'true' }, ' *') : null),
          control,
          problem,
        ),
      )
    }
    this.element.append(h('button', { type: 'submit', class: 'primary' }, options.submitLabel))
    this.element.addEventListener('submit', (event) => {
      event.preventDefault()
      void this.submit(strings)
    })
  }

  focus(): void {
    this.controls.values().next().value?.focus()
  }

  private show(problems: Record<string, string>): boolean {
    let first: HTMLElement | null = null
    for (const [name, control] of this.controls) {
      const problem = problems[name] ?? ''
      const span = this.problems.get(name)
      if (span) span.textContent = problem
      control.setAttribute('aria-invalid', problem ? 'true' : 'false')
      if (problem && !first) first = control
    }
    first?.focus()
    return first === null
  }

  private async submit(strings: Strings): Promise<void> {
    const answers: Record<string, string> = {}
    const problems: Record<string, string> = {}
    for (const field of this.options.fields) {
      const value = this.controls.get(field.name)?.value.trim() ?? ''
      if (!value) {
        if (field.required) problems[field.name] = strings.required
        continue
      }
      if (field.type === 'email' && !EMAIL.test(value)) problems[field.name] = strings.invalidEmail
      answers[field.name] = value
    }
    if (!this.show(problems)) return
    this.show(await this.options.submit(answers))
  }
}
