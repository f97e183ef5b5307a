// Every string the widget shows. One table per language; the inbox config will pick one.

export interface Strings {
  openChat: string
}

export const en: Strings = {
  openChat: 'Chat with us',
}
