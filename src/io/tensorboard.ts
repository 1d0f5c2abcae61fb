// TensorBoard event files: scalars as `Event` protobuf messages (encoded by protobufjs from the few
// messages declared below, as tensorflow/core/util/event.proto and framework/summary.proto define them)
// in TFRecord framing (tfrecord.ts). `tensorboard --logdir runs/` reads every `events.out.tfevents.*`
// file of a folder in name order and merges them, so each writer opens a file of its own.
import { appendFileSync, readdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { tfRecord } from './tfrecord.js';

const SCHEMA = {
  nested: {
    Event: {
      oneofs: { what: { oneof: ['file_version', 'summary', 'session_log'] } },
      fields: {
        wall_time: { type: 'double', id: 1 },
        step: { type: 'int64', id: 2 },
        file_version: { type: 'string', id: 3 },
        summary: { type: 'Summary', id: 5 },
        session_log: { type: 'SessionLog', id: 6 },
      },
    },
    Summary: {
      fields: { value: { rule: 'repeated', type: 'Value', id: 1 } },
      nested: {
        Value: {
          oneofs: { value: { oneof: ['simple_value'] } },
          // metadata is optional and flm writes none: TensorBoard files simple_value under its scalars plugin itself
          fields: { tag: { type: 'string', id: 1 }, simple_value: { type: 'float', id: 2 }, metadata: { type: 'SummaryMetadata', id: 9 } },
        },
      },
    },
    SummaryMetadata: {
      fields: { plugin_data: { type: 'PluginData', id: 1 }, display_name: { type: 'string', id: 2 }, summary_description: { type: 'string', id: 3 } },
      nested: { PluginData: { fields: { plugin_name: { type: 'string', id: 1 }, content: { type: 'bytes', id: 2 } } } },
    },
    SessionLog: {
      fields: { status: { type: 'SessionStatus', id: 1 }, checkpoint_path: { type: 'string', id: 2 }, msg: { type: 'string', id: 3 } },
      nested: { SessionStatus: { values: { STATUS_UNSPECIFIED: 0, START: 1, STOP: 2, CHECKPOINT: 3 } } },
    },
  },
};

const Event = protobuf.Root.fromJSON(SCHEMA).lookupType('Event');

const FILE_PREFIX = 'events.out.tfevents.';

/** The event files of a folder, in the order TensorBoard reads them (by name). */
export function eventFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => n.startsWith(FILE_PREFIX)).sort();
}

/** Removes a folder's event files (a new run in a used folder starts a new record, as its metrics log does). */
export function removeEventFiles(dir: string): void {
  for (const n of eventFiles(dir)) rmSync(join(dir, n), { force: true });
}

export interface EventFileOptions {
  /**
   * A resumed run: the first step it writes. The file starts with a SessionLog START at this step, which
   * tells TensorBoard to drop what earlier files hold at this step and later (what the crashed run wrote
   * past its checkpoint), as PyTorch's `SummaryWriter(purge_step=...)` does.
   */
  purgeStep?: number;
}

/**
 * Writes one event file `events.out.tfevents.<seconds>.<host>` in `dir`. Every call appends its
 * records synchronously in one write, so a live TensorBoard sees each point as it is logged and a crash
 * loses nothing already returned.
 */
export class EventFileWriter {
  readonly path: string;

  constructor(dir: string, o: EventFileOptions = {}) {
    // names sort in writing order: a run resumed within the second of its previous file still comes after it
    const last = eventFiles(dir).map((n) => Number(n.slice(FILE_PREFIX.length).split('.')[0])).filter(Number.isFinite);
    const seconds = Math.max(Math.floor(Date.now() / 1000), ...last.map((s) => s + 1));
    this.path = join(dir, `${FILE_PREFIX}${String(seconds).padStart(10, '0')}.${hostname()}`);
    const step = o.purgeStep ?? 0;
    const first = [encodeEvent({ wall_time: Date.now() / 1000, step, file_version: 'brain.Event:2' })];
    if (o.purgeStep !== undefined) first.push(encodeEvent({ wall_time: Date.now() / 1000, step, session_log: { status: 1 } }));
    appendFileSync(this.path, Buffer.concat(first), { flag: 'wx' });
  }

  /** One event at `step` holding a scalar per entry (tag -> value; non-finite values are written as they are). */
  scalars(step: number, values: Record<string, number>, wallTime = Date.now() / 1000): void {
    const value = Object.entries(values).map(([tag, v]) => ({ tag, simple_value: v }));
    if (value.length === 0) return;
    appendFileSync(this.path, encodeEvent({ wall_time: wallTime, step, summary: { value } }));
  }
}

function encodeEvent(fields: Record<string, unknown>): Buffer {
  return tfRecord(Event.encode(Event.fromObject(fields)).finish());
}
