/**
 * Once per test run: services and CLI processes started by tests keep their galleries in a temporary
 * DATA_DIR (the default, ./data, would leave a database in the checkout and share it between runs).
 * Tests that need their own folder set DATA_DIR themselves.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  if (process.env.DATA_DIR) return () => {};
  const dir = mkdtempSync(join(tmpdir(), 'fv-test-data-'));
  process.env.DATA_DIR = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
