import { createApp } from 'vue'

import App from './App.vue'
import { api, apiKey } from './api/client'
import { createConsoleRouter } from './router'
import { createDirectoryStore, directoryKey } from './stores/directory'
import { createLive, liveKey } from './stores/live'
import { createSessionStore, sessionKey } from './stores/session'
import { createShortcuts, shortcutsKey } from './stores/shortcuts'
import { createTicketLists, ticketListsKey } from './stores/ticketLists'
import { createViewsStore, viewsKey } from './stores/views'
import './styles/base.css'

const session = createSessionStore(api)

createApp(App)
  .provide(apiKey, api)
  .provide(sessionKey, session)
  .provide(viewsKey, createViewsStore(api))
  .provide(directoryKey, createDirectoryStore(api))
  .provide(ticketListsKey, createTicketLists(api))
  .provide(shortcutsKey, createShortcuts())
  .provide(liveKey, createLive())
  .use(createConsoleRouter(session))
  .mount('#app')
