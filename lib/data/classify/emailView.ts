/**
 * The view of a raw e-mail that a classifier reads: the headers that say who wrote to whom about what
 * and through which list or program (From, To, Cc, Reply-To, Sender, Subject, Content-Type, X-Mailer,
 * User-Agent, List-Id, Mailing-List, X-Mailing-List, Precedence, Organization), each unfolded to one
 * line, then the body. Routing and bookkeeping headers (Received, Return-Path, Message-ID, Date,
 * Delivered-To, ...) are dropped: in SpamAssassin's messages they take the first kilobyte or two, so a
 * model with a context of a few hundred tokens would otherwise see little else.
 */

/** The headers kept, lower-case. */
export const EMAIL_VIEW_HEADERS: readonly string[] = [
  'from', 'to', 'cc', 'reply-to', 'sender', 'subject', 'content-type', 'x-mailer', 'user-agent',
  'list-id', 'mailing-list', 'x-mailing-list', 'precedence', 'organization',
];

const KEEP = new RegExp(`^(${EMAIL_VIEW_HEADERS.map((h) => h.replace(/-/g, '\\-')).join('|')})\\s*:`, 'i');

/** The classifier's view of a raw message (headers, a blank line, the body); a text without headers is returned trimmed. */
export function emailView(raw: string): string {
  const split = raw.search(/\r?\n\r?\n/);
  const head = split < 0 ? raw : raw.slice(0, split);
  const body = split < 0 ? '' : raw.slice(split).trim();
  // Header lines continue on lines that start with white space (RFC 5322 folding).
  const headers = head.split(/\r?\n(?![ \t])/);
  if (!headers.some((l) => /^[A-Za-z][A-Za-z0-9-]*\s*:/.test(l))) return raw.trim();
  const kept = headers.filter((l) => KEEP.test(l)).map((l) => l.replace(/\s+/g, ' ').trim());
  return `${kept.join('\n')}\n\n${body}`;
}
