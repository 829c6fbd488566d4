#!/usr/bin/env node
/** Entry point of the command line (package.json "bin"); see docs/cli.md. */
import { silenceSdkNodeVersionWarning } from './aws';
import { processIO } from './io';
import { run } from './program';

export { run } from './program';

if (require.main === module) {
  silenceSdkNodeVersionWarning();
  run(process.argv.slice(2), processIO()).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`error: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
