import { describe, expect, it } from 'vitest';
import { LocalClaims } from './claims.js';

describe('LocalClaims', () => {
  it('a job attempt is claimed by one pull at a time, and skipped a while once leased', () => {
    let now = 0;
    const claims = new LocalClaims(() => now, 1_000, 3);
    expect(claims.claim('j', 1)).toBe(true);
    expect(claims.claim('j', 1)).toBe(false);
    expect(claims.has('j', 1)).toBe(true);
    expect(claims.has('j', 2)).toBe(false);
    // Not leased (lost to another coordinator, say): another pull may try it.
    claims.release('j', 1, false);
    expect(claims.has('j', 1)).toBe(false);
    expect(claims.claim('j', 1)).toBe(true);
    // Leased: skipped until its ready hint is surely gone, then forgotten.
    claims.release('j', 1, true);
    expect(claims.claim('j', 1)).toBe(false);
    now = 999;
    expect(claims.has('j', 1)).toBe(true);
    now = 1_000;
    expect(claims.has('j', 1)).toBe(false);
    expect(claims.size).toBe(0);
  });

  it('keeps at most `limit` leased attempts, dropping the oldest', () => {
    const claims = new LocalClaims(() => 0, 1_000, 2);
    for (const id of ['a', 'b', 'c']) {
      claims.claim(id, 1);
      claims.release(id, 1, true);
    }
    expect(claims.size).toBe(2);
    expect(claims.has('a', 1)).toBe(false);
    expect(claims.has('c', 1)).toBe(true);
  });

  it('counts as contended for a while after a lease race was lost to another coordinator', () => {
    let now = 0;
    const claims = new LocalClaims(() => now, 1_000, 10, 5_000);
    expect(claims.contended).toBe(false);
    claims.lostRace();
    now = 4_999;
    expect(claims.contended).toBe(true);
    now = 5_000;
    expect(claims.contended).toBe(false);
  });

  it('counts the pulls reading candidates until each says it is done, once', () => {
    const claims = new LocalClaims(() => 0);
    const first = claims.startLooking();
    const second = claims.startLooking();
    expect(claims.looking).toBe(2);
    first();
    first();
    expect(claims.looking).toBe(1);
    second();
    expect(claims.looking).toBe(0);
  });
});
