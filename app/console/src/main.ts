import { createApp } from 'vue'

import App from './App.vue'
import { api } from './api/client'
import { createConsoleRouter } from './router'
import { createSessionStore, sessionKey } from './stores/session'
import './styles/base.css'

const session = createSessionStore(api)

createApp(App).provide(sessionKey, session).use(createConsoleRouter(session)).mount('#app')
