import { inject, type InjectionKey } from 'vue'

/** The store provided under `key` (main.ts provides them all; tests provide their own). */
export function injectStore<T>(key: InjectionKey<T>, name: string): T {
  const store = inject(key)
  if (!store) throw new Error(`${name} needs its store provided (see main.ts)`)
  return store
}
