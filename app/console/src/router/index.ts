// The console's pages. The app answers every /console/... path with the same shell, and
// this router decides what it shows; a page that needs an agent sends a visitor who is not
// signed in to the sign-in page, and back where they were going afterwards.
import {
  createRouter,
  createWebHistory,
  type RouteLocationRaw,
  type RouteRecordRaw,
  type Router,
  type RouterHistory,
} from 'vue-router'

import DeskLayout from '@/layouts/DeskLayout/DeskLayout.vue'
import ViewPage from '@/pages/ViewPage/ViewPage.vue'
import type { SessionStore } from '@/stores/session'

declare module 'vue-router' {
  interface RouteMeta {
    /** Shown without signing in. */
    public?: boolean
  }
}

export const BASE = '/console/'

export const routes: RouteRecordRaw[] = [
  {
    path: '/sign-in',
    name: 'sign-in',
    component: () => import('@/pages/SignInPage/SignInPage.vue'),
    meta: { public: true },
  },
  {
    path: '/',
    // The desk and its lists are what nearly every first load shows: in the entry bundle,
    // not fetched one after the other once the app is running.
    component: DeskLayout,
    children: [
      { path: '', name: 'home', redirect: { name: 'view', params: { key: 'mine' } } },
      {
        path: 'views/:key',
        name: 'view',
        component: ViewPage,
      },
      {
        path: 'board',
        name: 'board',
        component: () => import('@/pages/BoardPage/BoardPage.vue'),
      },
      {
        path: 'admin/:section?',
        name: 'admin',
        component: () => import('@/pages/AdminPage/AdminPage.vue'),
      },
      {
        path: 'settings/security',
        name: 'security',
        component: () => import('@/pages/SecurityPage/SecurityPage.vue'),
      },
      {
        path: 'tickets/:id(\\d+)',
        name: 'ticket',
        component: () => import('@/pages/TicketPage/TicketPage.vue'),
      },
    ],
  },
  {
    path: '/:unknown(.*)*',
    name: 'not-found',
    component: () => import('@/pages/NotFoundPage/NotFoundPage.vue'),
  },
]

/** Where to go after signing in: only a path inside the console, never another site. */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && next.startsWith('/') && !next.startsWith('//') ? next : '/'
}

export function createConsoleRouter(
  session: SessionStore,
  history: RouterHistory = createWebHistory(BASE),
): Router {
  const router = createRouter({ history, routes })
  router.beforeEach(async (to): Promise<RouteLocationRaw | true> => {
    // The server failing to answer is not a reason for a blank page: the sign-in page
    // shows what goes wrong when the agent tries, and the next navigation asks again.
    const signedIn = await session.check().catch(() => false)
    if (to.meta.public) {
      return signedIn && to.name === 'sign-in' ? safeNext(to.query.next) : true
    }
    // An agent whose role requires a second factor enrols before anything else.
    if (signedIn && session.state.agent?.two_factor_setup_required && to.name !== 'security') {
      return { name: 'security' }
    }
    if (signedIn) return true
    // `/` redirects to the agent's first view; signing in goes there by itself.
    const path = to.redirectedFrom?.fullPath ?? to.fullPath
    return { name: 'sign-in', query: path === '/' ? {} : { next: path } }
  })
  return router
}
