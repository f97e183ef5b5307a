// Every failed call becomes one ApiError: the server's problem details (RFC 9457, see
// app/errors.py) when it sent them, a plain description of the HTTP status otherwise
// (a proxy's HTML error page, an empty 502), or status 0 when the server was not reached.

export interface FieldError {
  field: string
  message: string
}

export class ApiError extends Error {
  override name = 'ApiError'

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fieldErrors: readonly FieldError[] = [],
  ) {
    super(message)
  }

  /** True when signing in (again) would help: no session, or it expired. */
  get needsSignIn(): boolean {
    return this.status === 401
  }
}

const STATUS_TEXT: Record<number, string> = {
  400: 'The request was not understood',
  401: 'Please sign in',
  403: 'You are not allowed to do this',
  404: 'Not found',
  409: 'This conflicts with a change made meanwhile',
  413: 'This is too large',
  422: 'Some values are not valid',
  429: 'Too many attempts; wait a moment and try again',
  502: 'The server is not answering; try again in a moment',
  503: 'The server is unavailable; try again in a moment',
  504: 'The server took too long to answer; try again',
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function fieldErrorsOf(value: unknown): FieldError[] {
  if (!Array.isArray(value)) return []
  return value.flatMap((item) =>
    isRecord(item) && typeof item.field === 'string' && typeof item.message === 'string'
      ? [{ field: item.field, message: item.message }]
      : [],
  )
}

/** The ApiError for a response that was not 2xx; `body` is what openapi-fetch parsed. */
export function errorFromResponse(response: Response, body: unknown): ApiError {
  const status = response.status
  const fallback = STATUS_TEXT[status] ?? `The server answered ${status}`
  if (!isRecord(body)) return new ApiError(status, `http_${status}`, fallback)
  const code = typeof body.code === 'string' ? body.code : `http_${status}`
  const detail = typeof body.detail === 'string' && body.detail ? body.detail : fallback
  return new ApiError(status, code, detail, fieldErrorsOf(body.errors))
}

export function networkError(cause: unknown): ApiError {
  const error = new ApiError(0, 'network_error', 'The server could not be reached; check your connection')
  error.cause = cause
  return error
}

/** What to show a person for a failed call. */
export function errorMessage(error: unknown): string {
  return error instanceof ApiError ? error.message : 'Something went wrong; please try again'
}
