import { attemptKey } from './decision-ids.js';

/**
 * Ready jobs this coordinator's own pulls are trying to lease, or whose lease they have just
 * seen decided (won, or lost to another coordinator), by `jobId#attempt`. Pulls of one
 * coordinator skip them when they pick candidates, so that they do not race each other (or
 * again another coordinator) for a job (each lost race costs the store a decision insert and a
 * read) nor read a job whose ready hint is still being retired.
 *
 * Only a hint for picking candidates: the lease decision still decides, so a coordinator that
 * starts empty, or two coordinators that both try a job, lose nothing.
 */
export class LocalClaims {
  /** Keys being tried by a pull of this coordinator. */
  readonly #trying = new Set<string>();
  /** Keys whose lease was decided, until when they are skipped. */
  readonly #taken = new Map<string, number>();
  /** Until when pulls count as contended: a lease race was lost to another coordinator. */
  #contendedUntil = 0;
  /** How many of this coordinator's pulls are reading candidates right now. */
  #looking = 0;

  constructor(
    private readonly now: () => number,
    /** How long a job whose lease was decided is skipped: long enough for its ready hint to be retired. */
    private readonly takenForMs = 5_000,
    /** At most this many leased keys are kept (the oldest go first). */
    private readonly limit = 4_096,
    /** How long after a lost lease race pulls count as contended. */
    private readonly contendedForMs = 5_000,
  ) {}

  /** Whether a pull of this coordinator is trying the job's attempt, or saw its lease decided lately. */
  has(jobId: string, attempt: number): boolean {
    const key = attemptKey(jobId, attempt);
    if (this.#trying.has(key)) return true;
    const until = this.#taken.get(key);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.#taken.delete(key);
    return false;
  }

  /** Claims the job's attempt for one pull; false when another pull of this coordinator has it. */
  claim(jobId: string, attempt: number): boolean {
    if (this.has(jobId, attempt)) return false;
    this.#trying.add(attemptKey(jobId, attempt));
    return true;
  }

  /**
   * Ends a claim. `decided` (the attempt's lease is decided, by this pull or another
   * coordinator's: no pull can lease that attempt any more) keeps the job skipped for a while;
   * otherwise other pulls may try it.
   */
  release(jobId: string, attempt: number, decided: boolean): void {
    const key = attemptKey(jobId, attempt);
    this.#trying.delete(key);
    if (!decided) return;
    const now = this.now();
    // Keys are added in the order they expire: drop the expired ones from the front.
    for (const [old, until] of this.#taken) {
      if (until > now && this.#taken.size < this.limit) break;
      this.#taken.delete(old);
    }
    this.#taken.set(key, now + this.takenForMs);
  }

  /** Records a lease lost to another coordinator's pull (claims cover only this one's). */
  lostRace(): void {
    this.#contendedUntil = this.now() + this.contendedForMs;
  }

  /**
   * Whether a lease was lost to another coordinator lately: then pulls spread over the oldest
   * few jobs instead of all taking the oldest one this coordinator has not claimed.
   */
  get contended(): boolean {
    return this.#contendedUntil > this.now();
  }

  /**
   * Counts a pull as reading candidates until the returned function is called. Pulls that read
   * at once see the same oldest jobs, before any of them has claimed one: each reads one more
   * than the pulls already reading (see `looking`), so that each still finds one to claim.
   */
  startLooking(): () => void {
    this.#looking++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#looking--;
    };
  }

  /** How many of this coordinator's pulls are reading candidates right now. */
  get looking(): number {
    return this.#looking;
  }

  /** How many keys are held (tried or recently leased); for tests. */
  get size(): number {
    return this.#trying.size + this.#taken.size;
  }
}
