/**
 * What a STOMP client and the server agree on before any chat: the WebSocket sub-protocol, the
 * heart-beats (STOMP 1.2, "Connecting" and "Heart-beating"), and where the token travels (the
 * STOMP version: `stomp/version.ts`, as the codec's escaping depends on it). Pure functions.
 */

/** The WebSocket sub-protocols of STOMP, preferred first. */
export const SUB_PROTOCOLS = ['v12.stomp', 'v11.stomp', 'v10.stomp'] as const;

/**
 * The sub-protocol to answer a WebSocket handshake with (`ws`'s `handleProtocols`): the most
 * recent STOMP one the client offers, or `false` (none) when it offers none of them.
 */
export function selectSubProtocol(offered: ReadonlySet<string>): string | false {
  return SUB_PROTOCOLS.find((protocol) => offered.has(protocol)) ?? false;
}

/** Agreed heart-beat periods in ms; 0 turns a direction off. */
export interface HeartBeats {
  /** How often the server sends something (a heart-beat when it has nothing else to send). */
  readonly outgoingMs: number;
  /** How often the client must send something; silence for twice as long drops it. */
  readonly incomingMs: number;
}

/**
 * The heart-beats agreed from the client's `heart-beat: cx,cy` header (it can send every cx ms,
 * wants to receive every cy ms) and the server's offer of `offerMs` both ways: each direction is
 * the larger of the two wishes, or off when either side says 0. No header means `0,0`.
 * @throws RangeError when the header is not two non-negative integers.
 */
export function negotiateHeartBeats(header: string | undefined, offerMs: number): HeartBeats {
  if (header === undefined) return { outgoingMs: 0, incomingMs: 0 };
  const match = /^\s*(\d{1,9})\s*,\s*(\d{1,9})\s*$/.exec(header);
  if (!match) throw new RangeError(`heart-beat must be two integers such as 10000,10000, got "${header}"`);
  const clientSends = Number(match[1]);
  const clientWants = Number(match[2]);
  return {
    outgoingMs: clientWants === 0 || offerMs === 0 ? 0 : Math.max(clientWants, offerMs),
    incomingMs: clientSends === 0 || offerMs === 0 ? 0 : Math.max(clientSends, offerMs),
  };
}

/**
 * The JWT of a CONNECT frame: the `Authorization: Bearer …` header (either letter case of its
 * name), else the `passcode` header; `undefined` when there is neither.
 */
export function tokenOf(headers: ReadonlyMap<string, string>): string | undefined {
  const authorization = headers.get('Authorization') ?? headers.get('authorization');
  if (authorization !== undefined) return /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
  const passcode = headers.get('passcode')?.trim();
  return passcode === '' ? undefined : passcode;
}
