import { mkdirSync, mkdtempSync } from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './cache';

/**
 * A temporary folder inside the project, for files whose imports must resolve from its
 * node_modules. It sits under `.cache/`, which git, ESLint, Biome and the type check all leave
 * alone: a folder a test leaves behind, or writes while a check runs, is never linted or
 * type-checked as if it were source.
 */
export function projectScratchDir(prefix: string): string {
  const parent = path.join(ROOT, '.cache');
  mkdirSync(parent, { recursive: true });
  return mkdtempSync(path.join(parent, prefix));
}
