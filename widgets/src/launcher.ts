// The launcher button, in a shadow root attached to our own element at the end of <body>.
//
// The shadow root is open: a closed one hides nothing from the page's scripts (they run
// with the same rights and could patch attachShadow first), but it would hide the widget
// from accessibility checkers, browser extensions and our own end-to-end tests.
import type { WidgetConfig } from './config'
import { h, ICONS, icon } from './dom'
import type { Strings } from './locale'
import styles from './styles.css?inline'
import { applyTheme, type Theme } from './theme'

export const HOST_TAG = 'relaydesk-widget'

// Set inline with !important: the one element the page's stylesheets can select. A page
// rule like `* { all: unset }` or `div { display: none }` loses to these.
const HOST_STYLE: [string, string][] = [
  ['all', 'initial'],
  ['display', 'block'],
  ['position', 'fixed'],
  ['bottom', '20px'],
  ['z-index', '2147483647'],
]

export interface Mounted {
  host: HTMLElement
  wrapper: HTMLElement
  launcher: HTMLButtonElement
  setUnread(count: number): void
}

function adoptStyles(root: ShadowRoot): void {
  // A constructed stylesheet is not subject to the page's style-src policy; a <style>
  // element is the fallback for browsers without adoptedStyleSheets.
  if ('adoptedStyleSheets' in root && 'replaceSync' in CSSStyleSheet.prototype) {
    const sheet = new CSSStyleSheet()
    sheet.replaceSync(styles)
    root.adoptedStyleSheets = [sheet]
  } else {
    const style = document.createElement('style')
    style.textContent = styles
    root.append(style)
  }
}

export function mountLauncher(
  parent: HTMLElement,
  config: WidgetConfig,
  strings: Strings,
  theme: Theme,
  dir: 'ltr' | 'rtl' = 'ltr',
): Mounted {
  const host = document.createElement(HOST_TAG)
  for (const [property, value] of HOST_STYLE) host.style.setProperty(property, value, 'important')
  // Right-to-left pages expect the launcher in the other corner.
  host.style.setProperty(dir === 'rtl' ? 'left' : 'right', '20px', 'important')
  host.dataset.inbox = config.inbox
  const root = host.attachShadow({ mode: 'open' })
  adoptStyles(root)

  const wrapper = h('div', { class: 'root', dir })
  applyTheme(wrapper, theme)
  const launcher = h('button', { type: 'button', class: 'launcher', 'aria-label': strings.openChat, title: strings.openChat })
  const badge = h('span', { class: 'badge', 'aria-hidden': 'true', hidden: true })
  launcher.append(icon(ICONS.chat), badge)
  wrapper.append(launcher)
  root.append(wrapper)
  parent.append(host)

  const setUnread = (count: number) => {
    badge.hidden = count === 0
    badge.textContent = count > 9 ? '9+' : String(count)
    const label = count ? `${strings.openChat}, ${strings.unread(count)}` : strings.openChat
    launcher.setAttribute('aria-label', label)
  }
  return { host, wrapper, launcher, setUnread }
}
