// Every colour the widget uses, as CSS custom properties; the inbox config will set them.

export interface Theme {
  accent: string
  onAccent: string
}

export const defaultTheme: Theme = {
  accent: '#1d4ed8',
  onAccent: '#ffffff',
}

export function applyTheme(element: HTMLElement, theme: Theme): void {
  element.style.setProperty('--rd-accent', theme.accent)
  element.style.setProperty('--rd-on-accent', theme.onAccent)
}
