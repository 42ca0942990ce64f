#!/usr/bin/env node
// Entry point of the `faceverify` command; the code lives in dist/ (built by `npm ci` / `npm run build`).
/* global process */
// ONNX Runtime's telemetry stays off unless asked for; set before the native library can load.
process.env.ORT_DISABLE_TELEMETRY ??= '1';
const { main } = await import('../dist/cli/main.js');

process.exitCode = await main(process.argv.slice(2));
