export { type SlugifyOptions, slugify } from './slugify.js';
export { DurationError, formatDuration, parseDuration } from './duration.js';
