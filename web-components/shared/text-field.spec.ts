import { parseCommandPayload } from '../../src/chat-session/chat-session.commands.js';
import { MAX_BODY_CHARACTERS } from '../../src/chat-session/chat-session.decider.js';
import { characterCount, hasVisibleText } from '../../src/chat-session/text.js';
import { messageOf } from './composer.js';
import { acceptedText, COMMENT, MESSAGE, newlyTooLong, SUBJECT, tooLong } from './text-field.js';

describe("the composers' length limit", () => {
  it("is the server's: 4,000 characters of the trimmed text, an emoji one, however many UTF-16 units", () => {
    expect(MESSAGE.max).toBe(MAX_BODY_CHARACTERS);
    const drafts = ['😀'.repeat(4_000), ` \n${'😀'.repeat(4_000)}\t `, 'a'.repeat(4_000), '😀'.repeat(4_001), `${'a'.repeat(3_999)}😀😀`, '👩‍👩‍👧'.repeat(800), '👩‍👩‍👧'.repeat(801)];
    // What the server stores (the decider's count, after its trim), and only that, is sent. A
    // family of three is five code points: two joiners between three people.
    expect(drafts.map((draft) => messageOf(draft) !== undefined)).toEqual(drafts.map((draft) => characterCount(draft.trim()) <= MAX_BODY_CHARACTERS));
    expect(drafts.map((draft) => messageOf(draft) !== undefined)).toEqual([true, true, true, false, false, true, false]);
    expect(messageOf(` \n${'😀'.repeat(4_000)}\t `)).toBe('😀'.repeat(4_000));
  });

  it('says why a message is too long, with its length; sends nothing of an empty one', () => {
    expect(tooLong('😀'.repeat(4_001), MESSAGE)).toBe('This message is too long to send: 4,001 characters, 4,000 at most.');
    expect(tooLong('👩‍👩‍👧'.repeat(801), MESSAGE)).toBe('This message is too long to send: 4,005 characters, 4,000 at most.');
    expect(tooLong(`  ${'😀'.repeat(4_000)}\n`, MESSAGE)).toBeUndefined();
    expect(messageOf(' \n\t')).toBeUndefined();
  });

  it("sends nothing the server would refuse as blank: only white space or invisible characters", () => {
    const drafts = [' \n\t', '\u200b\u200b\u200b', '\u200b \ufeff', '\u202e\u2066', '\u0007', ' \u200bHi\u200b ', '\u{1f469}\u200d\u{1f4bb}'];
    expect(drafts.map((draft) => messageOf(draft) !== undefined)).toEqual(drafts.map((draft) => hasVisibleText(draft.trim())));
    expect(drafts.map((draft) => messageOf(draft))).toEqual([undefined, undefined, undefined, undefined, undefined, '\u200bHi\u200b', '\u{1f469}\u200d\u{1f4bb}']);
  });

  it('has a screen reader told once, when the draft becomes too long, not at each key after', () => {
    const [fits, over, further] = ['😀'.repeat(4_000), '😀'.repeat(4_001), '😀'.repeat(4_002)];
    expect(newlyTooLong(fits, over, MESSAGE)).toBe(tooLong(over, MESSAGE));
    expect(newlyTooLong(over, further, MESSAGE)).toBeUndefined();
    expect(newlyTooLong(over, fits, MESSAGE)).toBeUndefined();
  });
});

describe("the widget's subject and rating comment", () => {
  const sessionId = '0b5c4e59-6b53-4a0e-9d7e-2f7d3c1a9e01';
  const texts = (max: number) => [
    '😀'.repeat(max), ` ${'😀'.repeat(max)}\t`, 'a'.repeat(max), '😀'.repeat(max + 1), `${'a'.repeat(max - 1)}😀😀`, '', ' \t', '\u200b\u200b', ' Hi ',
  ];

  it("takes a subject as the server does: 1 to 200 characters of the trimmed text, with something to read", () => {
    const subjects = texts(200);
    const server = subjects.map((subject) => parseCommandPayload('open', { sessionId, subject }));
    expect(subjects.map((subject) => acceptedText(subject, SUBJECT))).toEqual(server.map((result) => (result.ok ? result.value.subject : undefined)));
    expect(subjects.map((subject) => acceptedText(subject, SUBJECT) !== undefined)).toEqual([true, true, true, false, false, false, false, false, true]);
    expect(tooLong(subjects[3]!, SUBJECT)).toBe('This subject is too long to send: 201 characters, 200 at most.');
  });

  it("takes a comment as the server does: up to 2,000 characters of the trimmed text, none at all too", () => {
    const comments = texts(2_000);
    const server = comments.map((comment) => parseCommandPayload('rating', { rating: 4, comment }));
    expect(comments.map((comment) => acceptedText(comment, COMMENT))).toEqual(server.map((result) => (result.ok ? result.value.comment : undefined)));
    expect(comments.map((comment) => acceptedText(comment, COMMENT) !== undefined)).toEqual([true, true, true, false, false, true, true, true, true]);
    expect(tooLong(comments[3]!, COMMENT)).toBe('This comment is too long to send: 2,001 characters, 2,000 at most.');
  });
});
