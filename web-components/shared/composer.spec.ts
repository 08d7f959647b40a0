import { MAX_BODY_CHARACTERS } from '../../src/chat-session/chat-session.decider.js';
import { characterCount, hasVisibleText } from '../../src/chat-session/text.js';
import { MAX_MESSAGE_CHARACTERS, messageOf, newlyTooLong, tooLong } from './composer.js';

describe("the composers' length limit", () => {
  it("is the server's: 4,000 characters of the trimmed text, an emoji one, however many UTF-16 units", () => {
    expect(MAX_MESSAGE_CHARACTERS).toBe(MAX_BODY_CHARACTERS);
    const drafts = ['😀'.repeat(4_000), ` \n${'😀'.repeat(4_000)}\t `, 'a'.repeat(4_000), '😀'.repeat(4_001), `${'a'.repeat(3_999)}😀😀`, '👩‍👩‍👧'.repeat(800), '👩‍👩‍👧'.repeat(801)];
    // What the server stores (the decider's count, after its trim), and only that, is sent. A
    // family of three is five code points: two joiners between three people.
    expect(drafts.map((draft) => messageOf(draft) !== undefined)).toEqual(drafts.map((draft) => characterCount(draft.trim()) <= MAX_BODY_CHARACTERS));
    expect(drafts.map((draft) => messageOf(draft) !== undefined)).toEqual([true, true, true, false, false, true, false]);
    expect(messageOf(` \n${'😀'.repeat(4_000)}\t `)).toBe('😀'.repeat(4_000));
  });

  it('says why a message is too long, with its length; sends nothing of an empty one', () => {
    expect(tooLong('😀'.repeat(4_001))).toBe('This message is too long to send: 4,001 characters, 4,000 at most.');
    expect(tooLong('👩‍👩‍👧'.repeat(801))).toBe('This message is too long to send: 4,005 characters, 4,000 at most.');
    expect(tooLong(`  ${'😀'.repeat(4_000)}\n`)).toBeUndefined();
    expect(messageOf(' \n\t')).toBeUndefined();
  });

  it("sends nothing the server would refuse as blank: only white space or invisible characters", () => {
    const drafts = [' \n\t', '\u200b\u200b\u200b', '\u200b \ufeff', '\u202e\u2066', '\u0007', ' \u200bHi\u200b ', '\u{1f469}\u200d\u{1f4bb}'];
    expect(drafts.map((draft) => messageOf(draft) !== undefined)).toEqual(drafts.map((draft) => hasVisibleText(draft.trim())));
    expect(drafts.map((draft) => messageOf(draft))).toEqual([undefined, undefined, undefined, undefined, undefined, '\u200bHi\u200b', '\u{1f469}\u200d\u{1f4bb}']);
  });

  it('has a screen reader told once, when the draft becomes too long, not at each key after', () => {
    const [fits, over, further] = ['😀'.repeat(4_000), '😀'.repeat(4_001), '😀'.repeat(4_002)];
    expect(newlyTooLong(fits, over)).toBe(tooLong(over));
    expect(newlyTooLong(over, further)).toBeUndefined();
    expect(newlyTooLong(over, fits)).toBeUndefined();
  });
});
