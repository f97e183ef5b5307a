// Every string the widget shows, one table per language; the inbox's locale (or the script
// tag's data-locale) picks one, falling back by language and then to English.

export interface Strings {
  openChat: string
  closeChat: string
  unread: (count: number) => string
  messages: string
  message: string
  placeholder: string
  send: string
  attach: string
  remove: string
  you: string
  agent: string
  sending: string
  sent: string
  delivered: string
  read: string
  failed: string
  typing: (name: string) => string
  offline: string
  leaveMessage: string
  name: string
  email: string
  emailForReply: string
  start: string
  required: string
  invalidEmail: string
  reconnecting: string
  unavailable: string
  tooLarge: (file: string, limit: string) => string
  badType: (file: string) => string
  uploadFailed: (file: string) => string
}

export const en: Strings = {
  openChat: 'Chat with us',
  closeChat: 'Close chat',
  unread: (n) => (n === 1 ? '1 unread message' : `${n} unread messages`),
  messages: 'Messages',
  message: 'Your message',
  placeholder: 'Type your message…',
  send: 'Send',
  attach: 'Attach a file',
  remove: 'Remove',
  you: 'You',
  agent: 'Support',
  sending: 'Sending…',
  sent: 'Sent',
  delivered: 'Delivered',
  read: 'Read',
  failed: 'Not sent',
  typing: (name) => `${name} is typing…`,
  offline: 'We are away',
  leaveMessage: 'Leave a message',
  name: 'Your name',
  email: 'Your email',
  emailForReply: 'We reply by email: where should we write?',
  start: 'Start the chat',
  required: 'Required',
  invalidEmail: 'Enter an email address',
  reconnecting: 'Reconnecting…',
  unavailable: 'The chat is not available on this site.',
  tooLarge: (file, limit) => `${file} is larger than ${limit}`,
  badType: (file) => `${file}: this kind of file cannot be sent`,
  uploadFailed: (file) => `${file} could not be uploaded`,
}

const de: Strings = {
  ...en,
  openChat: 'Chatten Sie mit uns',
  closeChat: 'Chat schließen',
  unread: (n) => (n === 1 ? '1 ungelesene Nachricht' : `${n} ungelesene Nachrichten`),
  messages: 'Nachrichten',
  message: 'Ihre Nachricht',
  placeholder: 'Nachricht schreiben…',
  send: 'Senden',
  attach: 'Datei anhängen',
  remove: 'Entfernen',
  you: 'Sie',
  sending: 'Wird gesendet…',
  sent: 'Gesendet',
  delivered: 'Zugestellt',
  read: 'Gelesen',
  failed: 'Nicht gesendet',
  typing: (name) => `${name} schreibt…`,
  offline: 'Wir sind gerade nicht da',
  leaveMessage: 'Nachricht hinterlassen',
  name: 'Ihr Name',
  email: 'Ihre E-Mail-Adresse',
  emailForReply: 'Wir antworten per E-Mail: wohin dürfen wir schreiben?',
  start: 'Chat starten',
  required: 'Pflichtfeld',
  invalidEmail: 'Bitte eine E-Mail-Adresse eingeben',
  reconnecting: 'Verbindung wird wiederhergestellt…',
  unavailable: 'Der Chat ist auf dieser Website nicht verfügbar.',
  tooLarge: (file, limit) => `${file} ist größer als ${limit}`,
  badType: (file) => `${file}: diese Art Datei kann nicht gesendet werden`,
  uploadFailed: (file) => `${file} konnte nicht hochgeladen werden`,
}

const fr: Strings = {
  ...en,
  openChat: 'Discutez avec nous',
  closeChat: 'Fermer la discussion',
  unread: (n) => (n === 1 ? '1 message non lu' : `${n} messages non lus`),
  messages: 'Messages',
  message: 'Votre message',
  placeholder: 'Écrivez votre message…',
  send: 'Envoyer',
  attach: 'Joindre un fichier',
  remove: 'Retirer',
  you: 'Vous',
  sending: 'Envoi…',
  sent: 'Envoyé',
  delivered: 'Remis',
  read: 'Lu',
  failed: 'Non envoyé',
  typing: (name) => `${name} écrit…`,
  offline: 'Nous sommes absents',
  leaveMessage: 'Laisser un message',
  name: 'Votre nom',
  email: 'Votre e-mail',
  emailForReply: 'Nous répondons par e-mail : à quelle adresse ?',
  start: 'Commencer',
  required: 'Obligatoire',
  invalidEmail: 'Saisissez une adresse e-mail',
  reconnecting: 'Reconnexion…',
  unavailable: 'La discussion n’est pas disponible sur ce site.',
}

const es: Strings = {
  ...en,
  openChat: 'Chatea con nosotros',
  closeChat: 'Cerrar el chat',
  unread: (n) => (n === 1 ? '1 mensaje sin leer' : `${n} mensajes sin leer`),
  messages: 'Mensajes',
  message: 'Tu mensaje',
  placeholder: 'Escribe tu mensaje…',
  send: 'Enviar',
  attach: 'Adjuntar un archivo',
  remove: 'Quitar',
  you: 'Tú',
  sending: 'Enviando…',
  sent: 'Enviado',
  delivered: 'Entregado',
  read: 'Leído',
  failed: 'No enviado',
  typing: (name) => `${name} está escribiendo…`,
  offline: 'Ahora no estamos',
  leaveMessage: 'Deja un mensaje',
  name: 'Tu nombre',
  email: 'Tu correo electrónico',
  emailForReply: 'Respondemos por correo: ¿a qué dirección?',
  start: 'Empezar el chat',
  required: 'Obligatorio',
  invalidEmail: 'Escribe una dirección de correo',
  reconnecting: 'Reconectando…',
  unavailable: 'El chat no está disponible en este sitio.',
}

const ar: Strings = {
  ...en,
  openChat: 'تحدث معنا',
  closeChat: 'إغلاق المحادثة',
  unread: (n) => (n === 1 ? 'رسالة واحدة غير مقروءة' : `${n} رسائل غير مقروءة`),
  messages: 'الرسائل',
  message: 'رسالتك',
  placeholder: 'اكتب رسالتك…',
  send: 'إرسال',
  attach: 'إرفاق ملف',
  remove: 'إزالة',
  you: 'أنت',
  agent: 'الدعم',
  sending: 'جارٍ الإرسال…',
  sent: 'أُرسلت',
  delivered: 'وصلت',
  read: 'قُرئت',
  failed: 'لم تُرسل',
  typing: (name) => `${name} يكتب…`,
  offline: 'نحن غير متاحين الآن',
  leaveMessage: 'اترك رسالة',
  name: 'اسمك',
  email: 'بريدك الإلكتروني',
  emailForReply: 'سنرد عبر البريد الإلكتروني: إلى أي عنوان؟',
  start: 'ابدأ المحادثة',
  required: 'مطلوب',
  invalidEmail: 'أدخل عنوان بريد إلكتروني',
  reconnecting: 'جارٍ إعادة الاتصال…',
  unavailable: 'المحادثة غير متاحة على هذا الموقع.',
  tooLarge: (file, limit) => `${file} أكبر من ${limit}`,
  badType: (file) => `${file}: لا يمكن إرسال هذا النوع من الملفات`,
  uploadFailed: (file) => `تعذر رفع ${file}`,
}

const he: Strings = {
  ...en,
  openChat: 'דברו איתנו',
  closeChat: 'סגירת הצ׳אט',
  unread: (n) => (n === 1 ? 'הודעה אחת שלא נקראה' : `${n} הודעות שלא נקראו`),
  messages: 'הודעות',
  message: 'ההודעה שלך',
  placeholder: 'כתבו הודעה…',
  send: 'שליחה',
  attach: 'צירוף קובץ',
  remove: 'הסרה',
  you: 'את/ה',
  agent: 'תמיכה',
  sending: 'שולח…',
  sent: 'נשלחה',
  delivered: 'נמסרה',
  read: 'נקראה',
  failed: 'לא נשלחה',
  typing: (name) => `${name} מקליד/ה…`,
  offline: 'איננו זמינים כרגע',
  leaveMessage: 'השאירו הודעה',
  name: 'השם שלך',
  email: 'הדוא״ל שלך',
  emailForReply: 'נענה בדוא״ל: לאיזו כתובת?',
  start: 'התחלת צ׳אט',
  required: 'שדה חובה',
  invalidEmail: 'נא להזין כתובת דוא״ל',
  reconnecting: 'מתחבר מחדש…',
  unavailable: 'הצ׳אט אינו זמין באתר זה.',
}

const TABLES: Record<string, Strings> = { en, de, fr, es, ar, he }
const RIGHT_TO_LEFT = new Set(['ar', 'he', 'fa', 'ur'])

export interface Locale {
  tag: string
  strings: Strings
  dir: 'ltr' | 'rtl'
}

export function pickLocale(tag: string | null | undefined): Locale {
  const language = (tag ?? 'en').toLowerCase().split('-')[0] ?? 'en'
  const strings = TABLES[language]
  const chosen = strings ? language : 'en'
  return {
    tag: chosen,
    strings: strings ?? en,
    dir: RIGHT_TO_LEFT.has(chosen) ? 'rtl' : 'ltr',
  }
}
