import type { OutboxEntry } from './outbox.js';
import { pendingLines } from './own-messages.js';

const S = '7d1d1a8e-3b0e-4b6e-9a51-0f1b8c2d4e6f';
const entry = (id: string, createdAt: number, state: OutboxEntry['state'] = 'queued'): OutboxEntry =>
  ({ id, destination: `/app/chat/${S}/messages`, body: { messageId: id, body: `text ${id}` }, state, attempts: 0, createdAt });

describe('the own messages a component shows', () => {
  it('shows unsent messages as queued while offline and sending while online, stored and refused ones too, in the order written', () => {
    const outbox = [entry('m2', 20), entry('m3', 30)];
    const confirmed = [{ messageId: 'm1', body: 'text m1', createdAt: 10 }];
    const failures = [{ messageId: 'm0', body: 'text m0', createdAt: 5, code: 'INVALID_MESSAGE', reason: 'too long' }];

    const offline = pendingLines(outbox, confirmed, failures, S, false, () => false);
    expect(offline.map((line) => [line.messageId, line.delivery])).toEqual([['m0', 'failed'], ['m1', 'stored'], ['m2', 'queued'], ['m3', 'queued']]);
    const online = pendingLines([entry('m2', 20, 'sending'), entry('m3', 30)], [], [], S, true, () => false);
    expect(online.map((line) => line.delivery)).toEqual(['sending', 'sending']);
  });

  it('shows a message refused for now as queued, saying why, until it is sent again', () => {
    const waiting = { ...entry('m1', 10), notBefore: 2_000, refusedWith: 'UNAVAILABLE' };
    expect(pendingLines([waiting], [], [], S, true, () => false)).toEqual([
      expect.objectContaining({ messageId: 'm1', delivery: 'queued', reason: 'The chat service is having trouble; this will be sent again in a moment.' }),
    ]);
  });

  it('leaves out what the conversation holds already, and what belongs to another session', () => {
    const other = { ...entry('x', 1), destination: '/app/chat/another/messages' };
    expect(pendingLines([entry('m1', 1), other], [], [], S, true, (id) => id === 'm1')).toEqual([]);
  });
});
