import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Model conversion and ONNX sessions are shared per worker; keep workers few on a 2-core machine.
    pool: 'forks',
    maxWorkers: 2,
    // Hang guards, not time budgets (those are in bench/): far above any test's run time on a busy
    // machine. At load 20 on 2 cores CPU-bound tests run ~10x slower than idle: the slowest tests
    // (a CLI run with two models, 120 fuzzed HTTP requests) take 3-8 s idle and 30-70 s there.
    // Tests that need longer (a full-size network, fuzz properties, several processes) name theirs.
    testTimeout: 120_000,
    // beforeAll hooks load models or start services: ~2-5 s idle, up to a minute under that load.
    hookTimeout: 300_000,
    reporters: ['default', './test/support/summary-reporter.ts'],
    globalSetup: ['./test/support/global-setup.ts'],
  },
});
