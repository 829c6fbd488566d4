/**
 * Reading JSON from the command line: inline text, a file, or stdin, with errors that name the
 * option and, for JSON Lines, the line.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from './errors';
import { readAll, type CliIO } from './io';

/**
 * The text of an option that takes JSON: inline when it starts with `{` or `[`, stdin for `-`,
 * otherwise a file path (an optional leading `@` is accepted, as in the AWS CLI's `file://`).
 */
export async function readJsonText(option: string, value: string, io: CliIO): Promise<string> {
  const trimmed = value.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) return value;
  if (value === '-') return readAll(io.stdin);
  const path = resolve(io.cwd, value.replace(/^@/, '').replace(/^file:\/\//, ''));
  if (!existsSync(path)) {
    throw new UsageError(`${option}: no such file '${value}' (give inline JSON starting with '{', a file path, or - for stdin)`);
  }
  if (statSync(path).isDirectory())
    throw new UsageError(`${option}: '${value}' is a directory; give a JSON file, inline JSON or - for stdin`);
  return readFileSync(path, 'utf8');
}

/** Parses JSON, naming the option and the parser's reason when it is not JSON. */
export function parseJson(option: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${option}: not valid JSON (${(err as Error).message})`);
  }
}

/** Reads and parses one JSON object option. */
export async function readJsonObject(option: string, value: string, io: CliIO): Promise<Record<string, unknown>> {
  const parsed = parseJson(option, await readJsonText(option, value, io));
  if (!isRecord(parsed)) throw new UsageError(`${option}: must be a JSON object`);
  return parsed;
}

/** Parses JSON Lines: one JSON value per non-empty line; errors name the 1-based line number. */
export function parseJsonLines(option: string, text: string): { line: number; value: unknown }[] {
  const out: { line: number; value: unknown }[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    if (raw.trim().length === 0) return;
    try {
      out.push({ line: i + 1, value: JSON.parse(raw) });
    } catch (err) {
      throw new UsageError(`${option}: line ${i + 1} is not valid JSON (${(err as Error).message})`);
    }
  });
  return out;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses an ISO 8601 time or a relative one such as `-2h`, `-30m`, `-7d` (before `now`). */
export function parseTime(option: string, value: string, now: Date = new Date()): Date {
  const rel = /^-(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(value.trim());
  if (rel) {
    const unit = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[rel[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(now.getTime() - Number(rel[1]) * unit);
  }
  if (value.trim() === 'now') return now;
  const d = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value.trim()) || Number.isNaN(d.getTime())) {
    throw new UsageError(
      `${option}: '${value}' is not a time (use ISO 8601 like 2026-01-15T10:00:00Z, 'now', or relative like -2h, -30m, -7d)`,
    );
  }
  return d;
}
