// A failed admin save, shaped for a form: the message for the form's alert, and each
// offending field's message for the field itself. The server names fields in a 422's
// `errors`; a duplicate (409) names its constraint in `code`, which says the field too.
import { ApiError, errorMessage } from '@/api/errors'

export interface FormProblem {
  message: string
  /** field path (`email`, `capacity.chat`, `[0].level`) → what is wrong with it */
  fields: Record<string, string>
}

const DUPLICATE_FIELDS: Record<string, string> = {
  'duplicate:agent_email': 'email',
  'duplicate:team_name': 'name',
  'duplicate:skill_name': 'name',
}

export function problemOf(error: unknown): FormProblem {
  const fields: Record<string, string> = {}
  if (error instanceof ApiError) {
    for (const { field, message } of error.fieldErrors) fields[field] = message
    const duplicate = DUPLICATE_FIELDS[error.code]
    if (duplicate) fields[duplicate] = error.message
  }
  return { message: errorMessage(error), fields }
}

/** What is wrong with `field` or anything inside it (`capacity` covers `capacity.chat`). */
export function fieldProblem(problem: FormProblem | null, field: string): string | null {
  if (!problem) return null
  for (const [path, message] of Object.entries(problem.fields)) {
    if (path === field || path.startsWith(`${field}.`) || path.startsWith(`${field}[`)) {
      return path === field ? message : `${path}: ${message}`
    }
  }
  return null
}
