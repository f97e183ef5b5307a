import { ref } from 'vue'

import { ApiError, errorMessage } from '@/api/errors'
import type { SessionStore } from '@/stores/session'

import type { SignInForm } from './types'

/** What the page shows for a failed attempt: the server's words, or plainer ones. */
export function messageFor(error: unknown): string {
  if (error instanceof ApiError && error.code === 'invalid_credentials') {
    return 'The email or password is wrong'
  }
  if (error instanceof ApiError && error.status === 422) return 'Enter your email and password'
  return errorMessage(error)
}

export function useSignIn(session: SessionStore) {
  const form = ref<SignInForm>({ email: '', password: '' })
  const submitting = ref(false)
  const error = ref<string | null>(null)

  /** True when the agent is signed in. */
  async function submit(): Promise<boolean> {
    if (submitting.value) return false
    submitting.value = true
    error.value = null
    try {
      await session.signIn({ email: form.value.email.trim(), password: form.value.password })
      return true
    } catch (caught) {
      error.value = messageFor(caught)
      form.value.password = ''
      return false
    } finally {
      submitting.value = false
    }
  }

  return { form, submitting, error, submit }
}
