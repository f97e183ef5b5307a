import { describe, expect, it } from 'vitest'

import { policyLabel } from '../policyLabel'

const teams = (id: number | null | undefined): string | null => (id === 4 ? 'Second line' : null)

describe('the policy a board row names', () => {
  it('names the customer policy', () => {
    expect(policyLabel({ policy_id: 1, policy_name: 'Standard', group_team_id: null }, teams)).toBe(
      'Standard',
    )
  })

  it('names a group policy with the team whose target it is', () => {
    expect(policyLabel({ policy_id: 2, policy_name: 'Tier 2', group_team_id: 4 }, teams)).toBe(
      "Tier 2 · Second line's own target",
    )
    expect(policyLabel({ policy_id: 2, policy_name: null, group_team_id: 9 }, teams)).toBe(
      "Policy 2 · Team 9's own target",
    )
  })

  it('says when no policy applies', () => {
    expect(policyLabel({ policy_id: null, policy_name: null, group_team_id: null }, teams)).toBe(
      'No policy',
    )
  })
})
