// `flm finetune <task>`: one command per registered fine-tuning task, options from its settings table.
import type { Command } from 'commander';
import { FINETUNE_TASKS } from '../tasks/registry.js';
import { commandGroup } from './inference.js';
import { registerTrainCommand } from './train-command.js';

export function registerFinetune(p: Command): void {
  const group = commandGroup(p, 'finetune', 'fine-tune a model on a downstream task');
  for (const entry of FINETUNE_TASKS) registerTrainCommand(group, entry);
}
