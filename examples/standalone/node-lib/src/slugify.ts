/** Options of {@link slugify}. */
export interface SlugifyOptions {
  /** The separator between words. Default `-`. */
  separator?: string;
  /** The longest slug, cut at a word boundary. Default 64. */
  maxLength?: number;
}

/** Turns a title into a URL slug: lower case ASCII words joined by a separator. */
export function slugify(title: string, options: SlugifyOptions = {}): string {
  const separator = options.separator ?? '-';
  const maxLength = options.maxLength ?? 64;
  const words = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  let slug = '';
  for (const word of words) {
    const next = slug ? `${slug}${separator}${word}` : word;
    if (next.length > maxLength) break;
    slug = next;
  }
  return slug;
}
