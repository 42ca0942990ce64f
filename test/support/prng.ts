/** mulberry32: a tiny seeded PRNG, so "random" test cases are the same on every run. */
export { seededRandom as prng } from '../../src/eval/seeded-random.js';
