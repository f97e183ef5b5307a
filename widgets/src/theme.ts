// Every colour the widget uses, as CSS custom properties, from the inbox config.

export interface Theme {
  accent: string
  onAccent: string
}

export const defaultTheme: Theme = {
  accent: '#1d4ed8',
  onAccent: '#ffffff',
}

const COLOR = /^#[0-9a-fA-F]{6}$/

/** The inbox's colours where they are colours (the server checks them; so do we). */
export function themeOf(colors: { accent?: unknown; accent_text?: unknown } | undefined): Theme {
  const pick = (value: unknown, fallback: string) =>
    typeof value === 'string' && COLOR.test(value) ? value : fallback
  return {
    accent: pick(colors?.accent, defaultTheme.accent),
    onAccent: pick(colors?.accent_text, defaultTheme.onAccent),
  }
}

export function applyTheme(element: HTMLElement, theme: Theme): void {
  element.style.setProperty('--rd-accent', theme.accent)
  element.style.setProperty('--rd-on-accent', theme.onAccent)
}
