import { everyByteEverywhere, FUZZ_INPUT_KINDS, fuzzParser } from '../../../test/stomp-fuzz.js';

/**
 * A quick seeded fuzz of the parser on every `npm test`; `npm run test:reliability` runs the
 * same generators on hundreds of thousands of inputs from a fresh seed.
 */
describe('StompParser on arbitrary input', () => {
  it.each(FUZZ_INPUT_KINDS.map((kind, i) => [kind, 0x57011 + i] as const))(
    'never throws on %s, and yields the same frames however they are chunked (seed %d)',
    (kind, seed) => {
      const report = fuzzParser(kind, seed, 1500);

      expect(report.problems).toEqual([]);
      if (kind !== 'random bytes') expect(report.inputsWithFrames).toBeGreaterThan(100);
    },
  );

  it('reports an error rather than throwing on every byte value in every position of a frame', () => {
    expect(everyByteEverywhere()).toEqual([]);
  });
});
