// The launcher button, in a shadow root attached to our own element at the end of <body>.
//
// The shadow root is open: a closed one hides nothing from the page's scripts (they run
// with the same rights and could patch attachShadow first), but it would hide the widget
// from accessibility checkers, browser extensions and our own end-to-end tests.
import type { WidgetConfig } from './config'
import type { Strings } from './locale'
import styles from './styles.css?inline'
import { applyTheme, type Theme } from './theme'

export const HOST_TAG = 'relaydesk-widget'
const SVG = 'http://www.w3.org/2000/svg'
const CHAT_ICON = 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-5 4V6a2 2 0 0 1 1-2z'

// Set inline with !important: the one element the page's stylesheets can select. A page
// rule like `* { all: unset }` or `div { display: none }` loses to these.
const HOST_STYLE: [string, string][] = [
  ['all', 'initial'],
  ['display', 'block'],
  ['position', 'fixed'],
  ['right', '20px'],
  ['bottom', '20px'],
  ['z-index', '2147483647'],
]

export interface Mounted {
  host: HTMLElement
  launcher: HTMLButtonElement
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

function chatIcon(): SVGSVGElement {
  const svg = document.createElementNS(SVG, 'svg')
  svg.setAttribute('viewBox', '0 0 24 24')
  svg.setAttribute('aria-hidden', 'true')
  const path = document.createElementNS(SVG, 'path')
  path.setAttribute('d', CHAT_ICON)
  svg.append(path)
  return svg
}

export function mountLauncher(
  parent: HTMLElement,
  config: WidgetConfig,
  strings: Strings,
  theme: Theme,
): Mounted {
  const host = document.createElement(HOST_TAG)
  for (const [property, value] of HOST_STYLE) host.style.setProperty(property, value, 'important')
  host.dataset.inbox = config.inbox
  const root = host.attachShadow({ mode: 'open' })
  adoptStyles(root)

  const wrapper = document.createElement('div')
  wrapper.className = 'root'
  applyTheme(wrapper, theme)
  const launcher = document.createElement('button')
  launcher.type = 'button'
  launcher.className = 'launcher'
  launcher.setAttribute('aria-label', strings.openChat)
  launcher.title = strings.openChat
  launcher.append(chatIcon())
  wrapper.append(launcher)
  root.append(wrapper)
  parent.append(host)
  return { host, launcher }
}
