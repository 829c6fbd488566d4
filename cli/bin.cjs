#!/usr/bin/env node
// Launcher named by package.json "bin": loads the TypeScript CLI through tsx's require hook, in
// this same process, so signals (Ctrl-C in `tail`) reach the command without a wrapper process.
'use strict';
const path = require('node:path');
const { register } = require('tsx/cjs/api');

register();
const { run } = require(path.join(__dirname, 'index.ts'));
const { processIO } = require(path.join(__dirname, 'io.ts'));
require(path.join(__dirname, 'aws.ts')).silenceSdkNodeVersionWarning();

run(process.argv.slice(2), processIO()).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`error: ${(err && err.stack) || String(err)}\n`);
    process.exitCode = 1;
  },
);
