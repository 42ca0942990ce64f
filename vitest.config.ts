import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Model conversion and ONNX sessions are shared per worker; keep workers few on a 2-core machine.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    reporters: ['default', './test/support/summary-reporter.ts'],
    hookTimeout: 120_000,
  },
});
