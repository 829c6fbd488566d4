import type { Command } from 'commander';
import type { Wrap } from '../program';

export function registerDlq(_program: Command, _wrap: Wrap): void {}
