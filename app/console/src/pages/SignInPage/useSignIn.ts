import { ref } from 'vue'

import { ApiError, errorMessage } from '@/api/errors'
import type { SessionStore } from '@/stores/session'

import type { SignInForm } from './types'

/** What the page shows for a failed attempt: the server's words, or plainer ones. */
export function messageFor(error: unknown): string {
  if (error instanceof ApiError && error.code === 'invalid_credentials') {
    return 'The email or password is wrong'
  }
  if (error instanceof ApiError && error.code === 'invalid_code') {
    return 'The code is wrong or was used already'
  }
  if (error instanceof ApiError && error.status === 422) return 'Enter your email and password'
  return errorMessage(error)
}

export function useSignIn(session: SessionStore) {
  const form = ref<SignInForm>({ email: '', password: '', code: '' })
  const submitting = ref(false)
  const error = ref<string | null>(null)
  /** The agent has two-factor sign-in: the form asks for the code. */
  const needsCode = ref(false)

  /** True when the agent is signed in. */
  async function submit(): Promise<boolean> {
    if (submitting.value) return false
    submitting.value = true
    error.value = null
    const code = form.value.code.trim()
    try {
      await session.signIn({
        email: form.value.email.trim(),
        password: form.value.password,
        ...(needsCode.value && code ? { code } : {}),
      })
      return true
    } catch (caught) {
      if (caught instanceof ApiError && caught.code === 'two_factor_required') {
        needsCode.value = true
      } else if (caught instanceof ApiError && caught.code === 'invalid_code') {
        error.value = messageFor(caught)
        form.value.code = ''
      } else {
        error.value = messageFor(caught)
        form.value.password = ''
        form.value.code = ''
        needsCode.value = false
      }
      return false
    } finally {
      submitting.value = false
    }
  }

  return { form, submitting, error, needsCode, submit }
}
