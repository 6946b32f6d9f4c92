/**
 * `@hiveforge/archive`: the archive stream checks HiveForge's agent (as it packs, and before it
 * extracts) and coordinator (as an upload streams into the store) share, on top of the SDK's
 * archive rules (`createArchiveEntryChecker`). Internal to HiveForge's packages; the SDK stays
 * free of `tar`.
 * @example
 * import { createArchiveCheck } from '@hiveforge/archive';
 * await store.putBlob(request, { verify: createArchiveCheck() });
 * @module
 */
export {
  MAX_ARCHIVE_PROBLEMS,
  checkArchive,
  createArchiveCheck,
  type ArchiveCheck,
  type ArchiveCheckOptions,
} from './archive-check.js';
