import { negotiateVersion } from './version.js';

describe('negotiateVersion', () => {
  it.each([
    ['1.2', '1.2'],
    ['1.0,1.1,1.2', '1.2'],
    ['1.1, 1.0', '1.1'],
    [undefined, '1.0'],
    ['2.0', undefined],
    ['', undefined],
  ])('accept-version %j → %s', (header, version) => {
    expect(negotiateVersion(header)).toBe(version);
  });
});
