import { firstCodePoints, shortened } from './text.js';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

describe('cutting text for display', () => {
  const car = `${'a'.repeat(59)}🚗 was scratched`;

  it('keeps an emoji across the cut whole, counting it as one character', () => {
    expect(firstCodePoints(car, 60)).toBe(`${'a'.repeat(59)}🚗`);
    expect(shortened(car, 60)).toBe(`${'a'.repeat(59)}🚗…`);
    expect(shortened(car, 59)).toBe(`${'a'.repeat(59)}…`);
    expect(firstCodePoints(car, 59)).not.toMatch(LONE_SURROGATE);
  });

  it('keeps a cluster of code points (a family, a flag, an accent) whole when shortening', () => {
    const family = '👩‍👩‍👧'; // three people joined by two zero-width joiners: five code points
    expect(shortened(`ab${family}cd`, 3)).toBe(`ab${family}…`);
    expect(shortened(`e\u0301t\u00e9!`, 2)).toBe('e\u0301t…');
    expect(shortened('🇫🇷🇩🇪', 1)).toBe('🇫🇷…');
  });

  it('leaves text within the bound as it is, without an ellipsis', () => {
    expect(shortened(`${'a'.repeat(59)}🚗`, 60)).toBe(`${'a'.repeat(59)}🚗`);
    expect(firstCodePoints('short', 120)).toBe('short');
  });
});
