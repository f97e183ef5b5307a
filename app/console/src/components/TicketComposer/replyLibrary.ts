// The canned replies and macros the composer offers, asked once a minute at most rather
// than on every ticket opened (an agent opens dozens an hour; the library rarely changes).
import type { Api, CannedReply, Macro } from '@/api/client'

export const LIBRARY_TTL_MS = 60_000

let library: { at: number; load: Promise<[CannedReply[], Macro[]]> } | null = null

export function replyLibrary(api: Api): Promise<[CannedReply[], Macro[]]> {
  if (!library || Date.now() - library.at > LIBRARY_TTL_MS) {
    const load = Promise.all([api.replies.canned(), api.replies.macros()])
    load.catch(() => (library = null)) // a failure is asked again next time
    library = { at: Date.now(), load }
  }
  return library.load
}

/** After a reply or macro was added or removed (the admin screens). */
export function forgetReplyLibrary(): void {
  library = null
}
