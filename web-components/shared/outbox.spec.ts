import { Outbox, OUTBOX_LIMIT } from './outbox.js';

const message = (id: string, body = `text of ${id}`) => ({ id, destination: '/app/chat/s/messages', body: { messageId: id, body } });

describe('the outbox', () => {
  it('sends one command at a time, in the order they were written', () => {
    const outbox = new Outbox();
    outbox.enqueue(message('m1'));
    outbox.enqueue(message('m2'));

    expect(outbox.next(0)?.id).toBe('m1');
    outbox.sending('m1');
    expect(outbox.next(0)).toBeUndefined(); // m2 waits for m1's receipt
    expect(outbox.stored('m1')?.id).toBe('m1');
    expect(outbox.next(0)?.id).toBe('m2');
  });

  it('puts a command written earlier (in a page since closed) before those written after it, but for one in flight', () => {
    const outbox = new Outbox();
    outbox.enqueue({ ...message('m2'), createdAt: 20 });
    outbox.enqueue({ ...message('m3'), createdAt: 30 });
    outbox.sending('m2');
    outbox.enqueue({ ...message('m1'), createdAt: 10 }, true);
    outbox.enqueue({ ...message('m4'), createdAt: 40 }, true);
    outbox.enqueue({ ...message('m5'), createdAt: 5 }); // written now, with a clock set back meanwhile
    expect(outbox.entries.map((entry) => entry.id)).toEqual(['m2', 'm1', 'm3', 'm4', 'm5']);
  });

  it('does not queue the same id twice', () => {
    const outbox = new Outbox();
    outbox.enqueue(message('m1', 'first'));
    outbox.enqueue(message('m1', 'again'));
    expect(outbox.entries).toHaveLength(1);
    expect(outbox.entries[0]!.body).toEqual({ messageId: 'm1', body: 'first' });
  });

  it(`holds at most ${OUTBOX_LIMIT} commands: refuses the next until one is stored, and takes it then`, () => {
    const outbox = new Outbox();
    for (let i = 0; i < OUTBOX_LIMIT; i++) expect(outbox.enqueue(message(`m${i}`))).toBe(true);
    expect(outbox.enqueue(message('one too many'))).toBe(false);
    expect(outbox.enqueue(message('m0'))).toBe(true); // queued already: nothing to refuse
    expect(outbox.entries).toHaveLength(OUTBOX_LIMIT);

    outbox.sending('m0');
    outbox.stored('m0');
    expect(outbox.enqueue(message('one too many'))).toBe(true);
    expect(outbox.entries.at(-1)?.id).toBe('one too many');
  });

  it('sends what was in flight again, with its original body and messageId, after the connection drops', () => {
    const outbox = new Outbox();
    outbox.enqueue(message('m1'));
    outbox.sending('m1');
    outbox.connectionLost();

    const again = outbox.next(0);
    expect(again).toEqual(expect.objectContaining({ id: 'm1', state: 'queued', attempts: 1, body: { messageId: 'm1', body: 'text of m1' } }));
  });

  it('keeps a command refused for now (UNAVAILABLE, RATE_LIMITED) first in line until its retry time', () => {
    const outbox = new Outbox();
    outbox.enqueue(message('m1'));
    outbox.enqueue(message('m2'));
    outbox.sending('m1');

    const outcome = outbox.rejected('m1', 'UNAVAILABLE', 10_000);

    expect(outcome).toEqual({ retry: true, at: 11_000 });
    expect(outbox.entries[0]).toMatchObject({ state: 'queued', refusedWith: 'UNAVAILABLE' }); // why it waits, to show
    expect(outbox.next(10_500)).toBeUndefined();
    expect(outbox.retryAt).toBe(11_000);
    expect(outbox.next(11_000)?.id).toBe('m1');
    outbox.sending('m1');
    expect(outbox.entries[0]!.refusedWith).toBeUndefined();
    expect(outbox.rejected('m1', 'RATE_LIMITED', 20_000)).toEqual({ retry: true, at: 22_000 });
  });

  it('drops an opening refused with RATE_LIMITED: the customer has the most open sessions, waiting changes nothing', () => {
    const outbox = new Outbox();
    outbox.enqueue({ id: 's1', destination: '/app/chat/open', body: { sessionId: 's1', subject: 'Fourth chat' } });
    outbox.sending('s1');

    expect(outbox.rejected('s1', 'RATE_LIMITED', 0)).toEqual({ retry: false, entry: expect.objectContaining({ id: 's1' }) });
    expect(outbox.entries).toEqual([]);
  });

  it('drops a command refused for good, and goes on with the next', () => {
    const outbox = new Outbox();
    outbox.enqueue(message('m1'));
    outbox.enqueue(message('m2'));
    outbox.sending('m1');

    const outcome = outbox.rejected('m1', 'SESSION_CLOSED', 0);

    expect(outcome).toEqual({ retry: false, entry: expect.objectContaining({ id: 'm1' }) });
    expect(outbox.entries.map((entry) => entry.id)).toEqual(['m2']);
    expect(outbox.next(0)?.id).toBe('m2');
  });

  it('survives a page reload through its JSON, what was in flight queued again', () => {
    const outbox = new Outbox();
    outbox.enqueue(message('m1'));
    outbox.enqueue(message('m2'));
    outbox.sending('m1');

    const restored = new Outbox(JSON.parse(JSON.stringify(outbox)));

    expect(restored.entries.map((entry) => [entry.id, entry.state])).toEqual([['m1', 'queued'], ['m2', 'queued']]);
    expect(restored.next(0)?.id).toBe('m1');
  });

  it('forgets the entries it is told to discard', () => {
    const outbox = new Outbox();
    outbox.enqueue(message('m1'));
    outbox.enqueue({ id: 'o', destination: '/app/chat/open', body: {} });
    outbox.discard((entry) => entry.destination.endsWith('/messages'));
    expect(outbox.entries.map((entry) => entry.id)).toEqual(['o']);
  });
});
