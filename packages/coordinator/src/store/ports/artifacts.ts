/** An artifact of a run: a record naming its archive's blob (see `BlobStore`, `store/blobs.ts`). */
export interface ArtifactRecord {
  /** `<runId>/<name>`. */
  _id: string;
  runId: string;
  name: string;
  jobId: string | null;
  attempt: number | null;
  /** The archive's size in bytes. */
  size: number;
  /** The archive's SHA-256 (hex): the key of its blob. */
  sha256: string;
  createdAt: number;
}

/** Artifacts of the Store: records; their bytes are blobs. */
export interface ArtifactStore {
  /**
   * Stores (or replaces) an artifact's record. Its bytes are the blob `meta.sha256`, put first
   * with `putBlob`; a replaced record's blob stays (other records may name it).
   */
  putArtifact(meta: ArtifactRecord): Promise<void>;
  /** An artifact's record; its bytes are `openBlob(record.sha256)`. */
  getArtifact(id: string): Promise<ArtifactRecord | null>;
  listArtifacts(runId: string): Promise<ArtifactRecord[]>;
}
