// The random corruptions every file-format fuzz test applies (see watchdog.ts corrupt()).
import fc from 'fast-check';
import type { Corruption } from './watchdog.ts';

/** Flips (twice as often as the others), truncations, insertions and overwrites. */
export const corruptionArb: fc.Arbitrary<Corruption> = fc.record({
  kind: fc.constantFrom('flip', 'flip', 'truncate', 'insert', 'overwrite'),
  // Half the positions near the start, where the structure (opcodes, shapes, lengths) is; half anywhere.
  where: fc.oneof(fc.integer({ min: 0, max: 511 }), fc.nat()),
  bit: fc.integer({ min: 0, max: 7 }),
  bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
});
