/**
 * Where the test photos are: `FACES_DIR`, default `../shared/faces` beside the project. Tests that
 * need them call `describeWithFaces`: on a machine without the photos they are skipped with a loud
 * warning, and under `CI=true` they fail instead, so CI can never pass without them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const FACES_DIR = resolve(ROOT, process.env.FACES_DIR ?? '../shared/faces');
export const HAVE_FACES = existsSync(join(FACES_DIR, 'README.md'));

if (!HAVE_FACES) {
  const msg = `Test photos not found at ${FACES_DIR} (set FACES_DIR)`;
  if (process.env.CI === 'true') throw new Error(`${msg}: CI must have them`);
  console.warn(`\n*** WARNING: ${msg}; the tests that need them are SKIPPED ***\n`);
}

/** `describe` for suites that need the photos. */
export const describeWithFaces = describe.skipIf(!HAVE_FACES);

export function facePath(relative: string): string {
  return join(FACES_DIR, relative);
}

export function readFace(relative: string): Buffer {
  return readFileSync(facePath(relative));
}

/** Parses one of the manifests (simple CSV with quoted fields). */
export function readManifest(relative: string): Record<string, string>[] {
  const lines = readFileSync(facePath(relative), 'utf8').trim().split(/\r?\n/);
  const header = parseCsvLine(lines[0] ?? '');
  return lines.slice(1).map((line) => {
    const cells = parseCsvLine(line);
    return Object.fromEntries(header.map((h, i) => [h, cells[i] ?? '']));
  });
}

function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}
