export interface ArtifactRecord {
  _id: string;
  runId: string;
  name: string;
  jobId: string | null;
  attempt: number | null;
  size: number;
  sha256: string;
  createdAt: number;
}

/** Artifacts of the Store: metadata and bytes. */
export interface ArtifactStore {
  putArtifact(meta: ArtifactRecord, data: Buffer): Promise<void>;
  getArtifact(id: string): Promise<{ meta: ArtifactRecord; data: Buffer } | null>;
  listArtifacts(runId: string): Promise<ArtifactRecord[]>;
}
