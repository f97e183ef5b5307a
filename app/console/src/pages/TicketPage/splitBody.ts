// A message's text as an agent wants to read it: what is new first, the signature and the
// quoted history folded away. Email already arrives split from what it quotes
// (`quoted_text`); the signature is cut here, at the `-- ` line (RFC 3676) or a mobile
// "Sent from my ..." line.

const SIGNATURE_DELIMITER = /^-- ?$/
const SENT_FROM = /^(Sent from my |Sent from Mail for |Get Outlook for )/i

export interface SplitBody {
  text: string
  signature: string | null
}

export function splitSignature(body: string): SplitBody {
  const lines = body.replace(/\r\n/g, '\n').split('\n')
  for (let n = lines.length - 1; n >= 0; n--) {
    const line = lines[n] ?? ''
    // The delimiter is a line of its own; "Sent from my ..." starts one near the end.
    const delimiter = line === '-- ' || SIGNATURE_DELIMITER.test(line)
    const sentFrom = SENT_FROM.test(line.trim()) && lines.length - n <= 3
    if (!delimiter && !sentFrom) continue
    const text = lines.slice(0, n).join('\n').trimEnd()
    if (!text) return { text: body.trim(), signature: null } // nothing but a signature
    const signature = lines.slice(delimiter ? n + 1 : n).join('\n').trim()
    return { text, signature: signature || null }
  }
  return { text: body.trimEnd(), signature: null }
}
