// The composer's draft and what sending it takes: the ticket's last seq as it was when the
// agent started writing goes along as `expected_seq`, so a ticket someone else changed
// meanwhile is refused (409) and the agent sees what changed before choosing to send.
import { reactive, watch, type Ref } from 'vue'

import type { Api, Attachment } from '@/api/client'
import { ApiError, errorMessage } from '@/api/errors'
import { changesSince, type Names } from '@/pages/TicketPage/timeline'
import type { TicketPageState } from '@/pages/TicketPage/useTicket'

export interface Draft {
  body: string
  internal: boolean
  attachments: Attachment[]
}

export function useComposer(
  api: Api,
  page: TicketPageState,
  ticketId: Ref<number>,
  names: Names,
  me: () => number,
) {
  const draft = reactive<Draft>({ body: '', internal: false, attachments: [] })
  const status = reactive({
    sending: false,
    uploading: 0,
    error: null as string | null,
    /** What others changed since the draft was started, when the server refused it. */
    stale: null as string[] | null,
    /** The seq the agent had seen when they started writing. */
    since: page.lastSeq.value,
  })

  watch(
    () => draft.body === '' && draft.attachments.length === 0,
    (empty, wasEmpty) => {
      if (wasEmpty && !empty) status.since = page.lastSeq.value
    },
  )
  watch(ticketId, () => reset())

  function reset(): void {
    Object.assign(draft, { body: '', internal: false, attachments: [] })
    Object.assign(status, { error: null, stale: null, since: page.lastSeq.value })
  }

  async function send(anyway = false): Promise<boolean> {
    if (status.sending || status.uploading || !draft.body.trim()) return false
    status.sending = true
    status.error = null
    const expected = anyway ? page.lastSeq.value : status.since
    try {
      await api.tickets.reply(ticketId.value, {
        body: draft.body,
        internal: draft.internal,
        attachment_ids: draft.attachments.map((file) => file.id),
        expected_seq: expected,
      })
      Object.assign(draft, { body: '', attachments: [] })
      status.stale = null
      await page.refresh()
      status.since = page.lastSeq.value
      return true
    } catch (error) {
      if (error instanceof ApiError && error.code === 'ticket_changed') {
        await page.refresh().catch(() => undefined)
        const ticket = page.state.ticket
        status.stale = changesSince(page.state.events, ticket?.messages ?? [], names, expected, me())
        if (status.stale.length === 0) status.stale = ['The ticket changed.']
      } else {
        status.error = errorMessage(error)
      }
      return false
    } finally {
      status.sending = false
    }
  }

  /** The agent read what changed and keeps writing: the warning is theirs to dismiss. */
  function acknowledge(): void {
    status.stale = null
    status.since = page.lastSeq.value
  }

  async function attach(files: Iterable<File>): Promise<void> {
    status.error = null
    for (const file of files) {
      status.uploading++
      try {
        draft.attachments.push(await api.attachments.upload(file))
      } catch (error) {
        status.error = `${file.name}: ${errorMessage(error)}`
      } finally {
        status.uploading--
      }
    }
  }

  function detach(id: number): void {
    draft.attachments = draft.attachments.filter((file) => file.id !== id)
  }

  /** A canned reply filled in for this ticket (the server knows the placeholders). */
  async function cannedText(replyId: number): Promise<string | null> {
    try {
      return await api.replies.render(replyId, ticketId.value)
    } catch (error) {
      status.error = errorMessage(error)
      return null
    }
  }

  async function applyMacro(macroId: number): Promise<boolean> {
    status.error = null
    try {
      await api.replies.applyMacro(macroId, ticketId.value, page.lastSeq.value)
    } catch (error) {
      const changed = error instanceof ApiError && error.code === 'ticket_changed'
      status.error = changed
        ? 'The ticket changed meanwhile: see what changed, then apply the macro again'
        : errorMessage(error)
      if (changed) await page.refresh().catch(() => undefined)
      return false
    }
    await page.refresh()
    return true
  }

  return { draft, status, send, acknowledge, attach, detach, cannedText, applyMacro, reset }
}
