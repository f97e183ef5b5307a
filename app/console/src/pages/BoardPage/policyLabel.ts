// Which promise put a ticket on the board: the customer policy, or a team's own (group) one.
import type { BoardTicket } from './boardApi'

type Names = (id: number | null | undefined) => string | null

/** "Standard", "Tier 2 · Support's own target", or "No policy". */
export function policyLabel(
  ticket: Pick<BoardTicket, 'policy_id' | 'policy_name' | 'group_team_id'>,
  teamName: Names,
): string {
  if (ticket.policy_id == null) return 'No policy'
  const name = ticket.policy_name ?? `Policy ${ticket.policy_id}`
  if (ticket.group_team_id == null) return name
  return `${name} · ${teamName(ticket.group_team_id) ?? `Team ${ticket.group_team_id}`}'s own target`
}
