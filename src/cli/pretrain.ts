// `flm pretrain`: options from the settings table (config/settings.ts + tasks/pretrain/spec.ts).
import type { Command } from 'commander';
import { taskEntry } from '../tasks/registry.js';
import { registerTrainCommand } from './train-command.js';

export function registerPretrain(p: Command): void {
  registerTrainCommand(p, taskEntry('pretrain'));
}
