/** "12m 05s left" / "3h 02m overdue": how a supervisor reads a due time at a glance. */
export function dueText(secondsOverdue: number): string {
  const overdue = secondsOverdue >= 0
  let rest = Math.abs(Math.round(secondsOverdue))
  const days = Math.floor(rest / 86400)
  rest -= days * 86400
  const hours = Math.floor(rest / 3600)
  rest -= hours * 3600
  const minutes = Math.floor(rest / 60)
  const seconds = rest - minutes * 60
  const pad = (n: number): string => String(n).padStart(2, '0')
  const text =
    days > 0
      ? `${days}d ${hours}h`
      : hours > 0
        ? `${hours}h ${pad(minutes)}m`
        : `${minutes}m ${pad(seconds)}s`
  return overdue ? `${text} overdue` : `${text} left`
}

export function metricLabel(metric: string | null | undefined): string {
  return (metric ?? 'target').replace(/_/g, ' ')
}
