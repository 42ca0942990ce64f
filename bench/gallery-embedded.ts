/**
 * Which embedded database for galleries (not a test): better-sqlite3 (native SQLite) against PGlite
 * (PostgreSQL compiled to WebAssembly), each in a fresh temp folder, on the store's workload:
 *
 * - create: opening a new, empty database folder;
 * - enrol: one transaction per face (a face row with a 768-byte template and its JSON, plus an audit
 *   row), `--enrols` of them, one after another;
 * - restart: `--faces` faces (filled 1000 per transaction), then close, open again and read every
 *   template (what GalleryStore.open does), median of 3.
 *
 *   npx tsx bench/gallery-embedded.ts [--enrols 2000] [--faces 100000]
 *
 * Writes bench/results/gallery-embedded.json.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PGlite } from '@electric-sql/pglite';
import Database from 'better-sqlite3';
import { numberArg } from './args.js';
import { stats } from './stats.js';

const enrols = numberArg('enrols', 2000);
const faces = numberArg('faces', 100_000);
const faceJson = JSON.stringify({
  box: [10, 20, 110, 140],
  score: 0.999,
  landmarks: [[40, 60]],
  quality: 0.8,
});

/** The two engines behind the same three calls. */
interface Engine {
  name: string;
  open(dir: string): Promise<void>;
  insert(rows: { id: string; template: Uint8Array }[]): Promise<void>;
  readAll(): Promise<number>;
  close(): Promise<void>;
}

function sqlite(): Engine {
  let db: Database.Database;
  return {
    name: 'better-sqlite3',
    open(dir) {
      db = new Database(join(dir, 'g.sqlite'));
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.exec(`CREATE TABLE IF NOT EXISTS faces (face_id TEXT PRIMARY KEY, embedding BLOB NOT NULL, face TEXT NOT NULL, created_at INTEGER NOT NULL);
               CREATE TABLE IF NOT EXISTS audit_log (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER, face_id TEXT)`);
      return Promise.resolve();
    },
    insert(rows) {
      const face = db.prepare(`INSERT INTO faces VALUES (?, ?, ?, ?)`);
      const audit = db.prepare(`INSERT INTO audit_log (at, face_id) VALUES (?, ?)`);
      db.transaction(() => {
        for (const r of rows) {
          face.run(r.id, r.template, faceJson, Date.now());
          audit.run(Date.now(), r.id);
        }
      }).immediate();
      return Promise.resolve();
    },
    readAll() {
      return Promise.resolve(db.prepare(`SELECT face_id, embedding FROM faces`).all().length);
    },
    close() {
      db.close();
      return Promise.resolve();
    },
  };
}

function pglite(): Engine {
  let db: PGlite;
  return {
    name: 'PGlite',
    async open(dir) {
      db = new PGlite(join(dir, 'pg'));
      await db.waitReady;
      await db.exec(`CREATE TABLE IF NOT EXISTS faces (face_id uuid PRIMARY KEY, embedding bytea NOT NULL, face jsonb NOT NULL, created_at bigint NOT NULL);
                     CREATE TABLE IF NOT EXISTS audit_log (id bigserial PRIMARY KEY, at bigint, face_id uuid)`);
    },
    async insert(rows) {
      await db.transaction(async (tx) => {
        for (const r of rows) {
          await tx.query(`INSERT INTO faces VALUES ($1, $2, $3, $4)`, [
            r.id,
            r.template,
            faceJson,
            Date.now(),
          ]);
          await tx.query(`INSERT INTO audit_log (at, face_id) VALUES ($1, $2)`, [Date.now(), r.id]);
        }
      });
    },
    async readAll() {
      return (await db.query(`SELECT face_id, embedding FROM faces`)).rows.length;
    },
    close: () => db.close(),
  };
}

const row = () => ({ id: randomUUID(), template: randomBytes(192 * 4) });

async function measure(make: () => Engine) {
  const dir = mkdtempSync(join(tmpdir(), 'fv-embedded-'));
  try {
    let engine = make();
    let t0 = performance.now();
    await engine.open(dir);
    const createMs = performance.now() - t0;
    t0 = performance.now();
    for (let i = 0; i < enrols; i++) await engine.insert([row()]);
    const enrolPerS = enrols / ((performance.now() - t0) / 1000);
    for (let i = enrols; i < faces; i += 1000) {
      await engine.insert(Array.from({ length: Math.min(1000, faces - i) }, row));
    }
    await engine.close();
    const opens: number[] = [];
    for (let k = 0; k < 3; k++) {
      engine = make();
      t0 = performance.now();
      await engine.open(dir);
      const read = await engine.readAll();
      opens.push(performance.now() - t0);
      if (read !== Math.max(faces, enrols)) throw new Error(`read ${read} faces`);
      await engine.close();
    }
    return {
      engine: engine.name,
      create_ms: Math.round(createMs),
      enrol_per_s: Math.round(enrolPerS),
      faces: Math.max(faces, enrols),
      open_and_read_ms: stats(opens),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const runs = [await measure(sqlite), await measure(pglite)];
for (const r of runs) {
  console.log(
    `${r.engine}: create ${r.create_ms} ms; ${r.enrol_per_s} enrols/s; open + read ${r.faces} faces ${r.open_and_read_ms.median} ms (min ${r.open_and_read_ms.min})`,
  );
}
writeFileSync(
  new URL('results/gallery-embedded.json', import.meta.url),
  `${JSON.stringify({ date: new Date().toISOString(), machine: { cpu: cpus()[0]?.model, cores: cpus().length, shared: 'other sessions ran on the machine' }, node: process.version, runs }, null, 2)}\n`,
);
