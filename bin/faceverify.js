#!/usr/bin/env node
// Entry point of the `faceverify` command; the code lives in dist/ (built by `npm ci` / `npm run build`).
/* global process */
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
