/**
 * Forms of `secret` a reader could turn back into it, written independently of the masker:
 * raw, base64 (standard, URL-safe, at the three alignments), hex, URL-encoded, JSON-escaped.
 */
export function revealingForms(secret: string): string[] {
  const inner = (prefix: string, url: boolean) => {
    const text = Buffer.from(`${prefix}${secret}`).toString(url ? 'base64url' : 'base64');
    return text.slice(4, text.length - 4);
  };
  const forms = [secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)];
  for (const url of [false, true]) forms.push(inner('', url), inner('x', url), inner('xy', url), inner('xyz', url));
  const hex = Buffer.from(secret).toString('hex');
  forms.push(hex, hex.toUpperCase());
  return forms;
}

/** The revealing forms of `secret`, and of each of its lines, that `text` holds (6 characters or more). */
export const leaks = (text: string, secret: string): string[] =>
  secret
    .split('\n')
    .concat(secret)
    .flatMap(revealingForms)
    .filter((form) => form.length >= 6 && text.includes(form));
