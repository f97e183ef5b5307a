import { describe, expect, it } from 'vitest'

import { ApiError } from '@/api/errors'

import { fieldProblem, problemOf } from '../formProblem'

describe('problemOf', () => {
  it('puts each field the server named under that field', () => {
    const error = new ApiError(422, 'validation_failed', 'capacity: unknown channel fax', [
      { field: 'capacity', message: 'unknown channel fax; use email, chat' },
    ])
    const problem = problemOf(error)
    expect(problem.message).toBe('capacity: unknown channel fax')
    expect(fieldProblem(problem, 'capacity')).toBe('unknown channel fax; use email, chat')
    expect(fieldProblem(problem, 'name')).toBeNull()
  })

  it('names the field of a duplicate from its code', () => {
    const error = new ApiError(409, 'duplicate:agent_email', 'an agent with the email a@b.test already exists')
    expect(fieldProblem(problemOf(error), 'email')).toBe('an agent with the email a@b.test already exists')
    const team = new ApiError(409, 'duplicate:team_name', "a team named 'Returns' already exists")
    expect(fieldProblem(problemOf(team), 'name')).toBe("a team named 'Returns' already exists")
  })

  it('finds a problem inside a field and says where', () => {
    const error = new ApiError(422, 'validation_failed', 'bad', [
      { field: 'capacity.chat', message: 'Expected `int` >= 0' },
    ])
    expect(fieldProblem(problemOf(error), 'capacity')).toBe('capacity.chat: Expected `int` >= 0')
    expect(fieldProblem(problemOf(error), 'capacity.chat')).toBe('Expected `int` >= 0')
  })

  it('keeps a failure that is not the server’s to a plain message', () => {
    const problem = problemOf(new TypeError('boom'))
    expect(problem.fields).toEqual({})
    expect(problem.message).toBe('Something went wrong; please try again')
  })
})
