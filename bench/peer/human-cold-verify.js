/**
 * The peer's cold start: a whole process that verifies two image files with human and prints the
 * answer, the counterpart of `faceverify verify a.jpg b.jpg --json`. Timed from outside by bench/peer.ts.
 *
 *   node bench/peer/human-cold-verify.js a.jpg b.jpg
 */
/* global process, console */
import { readFile } from 'node:fs/promises';
import { createHumanPeer } from './human-peer.js';

const [a, b] = process.argv.slice(2);
if (!a || !b) throw new Error('usage: human-cold-verify.js A B');
const [peer, bytesA, bytesB] = await Promise.all([createHumanPeer(), readFile(a), readFile(b)]);
const result = await peer.verify(bytesA, bytesB);
console.log(JSON.stringify(result));
