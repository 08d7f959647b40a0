/**
 * A session's hash chain recomputed in the browser, from the events `GET …/events` returned, so
 * that an auditor need not take the server's `…/verify` on trust. The rules are the server's
 * (`verifyChain` in src/chat-session/hash-chain.ts, DESIGN.md's "Hash chain"); SHA-256 is
 * WebCrypto's, which browsers expose only to secure contexts (https, or http on localhost).
 */
import canonicalize from 'canonicalize';
import type { AuditedEvent, ChainVerdict } from './protocol.js';

/** The `prevHash` of a stream's first event: 64 zeros. */
const GENESIS_HASH = '0'.repeat(64);

/**
 * Recomputes the chain of a whole history, in the order given: each event's hash is
 * `sha256(prevHash + type + canonicalJson(data) + occurredAt)` as lowercase hex, where the
 * canonical JSON is RFC 8785's. Broken at the first revision whose `prevHash` is not the previous
 * event's hash (`GENESIS_HASH` for the first), or whose `hash` does not match its content.
 *
 * As on the server, the event at place `i` of the list is revision `i`, whatever revision it is
 * stored as: a history that lacks a revision breaks at the missing one, where the next event's
 * `prevHash` names a hash the list does not have.
 * @throws when WebCrypto fails (never for what the events hold).
 */
export async function verifyChain(events: readonly AuditedEvent[], subtle: SubtleCrypto): Promise<ChainVerdict> {
  let expectedPrevHash = GENESIS_HASH;
  for (const [revision, { type, data, metadata }] of events.entries()) {
    const jsonData = canonicalJson(data);
    const intact =
      metadata.prevHash === expectedPrevHash &&
      jsonData !== undefined &&
      (await sha256Hex(subtle, expectedPrevHash + type + jsonData + String(metadata.occurredAt))) === metadata.hash;
    if (!intact) return { ok: false, brokenAtRevision: revision };
    expectedPrevHash = String(metadata.hash);
  }
  return { ok: true };
}

/** RFC 8785 JSON, or `undefined` for data with none: stored so, it cannot be what was hashed. */
function canonicalJson(data: unknown): string | undefined {
  try {
    return canonicalize(data);
  } catch {
    return undefined; // canonicalize throws for what has no JSON form (a lone surrogate, NaN, a cycle)
  }
}

async function sha256Hex(subtle: SubtleCrypto, text: string): Promise<string> {
  const digest = await subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('');
}
