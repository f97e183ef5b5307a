// The live SLA board's state: breached and at-risk tickets loaded over REST, counted down
// every second against the server's clock, and reloaded when the agent socket says a
// ticket changed or an SLA moment fired, or when a countdown reaches its due time.
import { computed, onBeforeUnmount, onMounted, reactive, ref } from 'vue'

import { watchAgentSocket } from './agentSocket'
import { atRisk, breaches, type BoardFilters, type BoardTicket } from './boardApi'

const RELOAD_DEBOUNCE_MS = 250

export function useBoard(withinMinutes = 60) {
  const filters = reactive<BoardFilters>({})
  const breached = ref<BoardTicket[]>([])
  const risky = ref<BoardTicket[]>([])
  const error = ref<string | null>(null)
  const loaded = ref(false)
  // Server time minus local time, so countdowns agree with the server's due times.
  let skewMs = 0
  const now = ref(Date.now())
  let ticking: number | undefined
  let pending: number | undefined
  let stopSocket: (() => void) | null = null

  function clean(): BoardFilters {
    return Object.fromEntries(
      Object.entries(filters).filter(([, value]) => value !== undefined),
    ) as BoardFilters
  }

  async function load(): Promise<void> {
    try {
      const [late, soon] = await Promise.all([breaches(clean()), atRisk(clean(), withinMinutes)])
      skewMs = Date.parse(late.now) - Date.now()
      breached.value = late.items
      risky.value = soon.items
      error.value = null
    } catch (cause) {
      error.value = cause instanceof Error ? cause.message : 'The board could not be loaded'
    } finally {
      loaded.value = true
    }
  }

  function reloadSoon(): void {
    window.clearTimeout(pending)
    pending = window.setTimeout(() => void load(), RELOAD_DEBOUNCE_MS)
  }

  /** Seconds past (positive) or before (negative) the due time, now. */
  function overdue(ticket: BoardTicket): number {
    return (now.value + skewMs - Date.parse(ticket.due_at)) / 1000
  }

  function tick(): void {
    now.value = Date.now()
    // A countdown that reached zero: the breach is due; the scheduler's frame follows.
    if (risky.value.some((ticket) => overdue(ticket) >= 0)) reloadSoon()
  }

  onMounted(() => {
    void load()
    ticking = window.setInterval(tick, 1000)
    stopSocket = watchAgentSocket((frame) => {
      if (frame.type.startsWith('sla.') || frame.type.startsWith('ticket.')) reloadSoon()
      else if (frame.type === 'message.new' && onBoard(frame.ticket_id)) reloadSoon()
    })
  })
  onBeforeUnmount(() => {
    window.clearInterval(ticking)
    window.clearTimeout(pending)
    stopSocket?.()
  })

  function onBoard(ticketId: number | undefined): boolean {
    return [...breached.value, ...risky.value].some((t) => t.ticket_id === ticketId)
  }

  const all = computed(() => [...breached.value, ...risky.value])

  return { filters, breached, risky, all, error, loaded, load, overdue, now }
}
