// The one shape of every command's --json output (docs/json.md): {"command": "...", "metrics": {...}, ...}.
// `metrics` holds the command's numbers (null where there is none); the other keys are command-specific.
export type JsonMetrics = Record<string, number | null>;

export function jsonResult(command: string, metrics: JsonMetrics, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ command, metrics, ...extra });
}

export function printJson(command: string, metrics: JsonMetrics, extra: Record<string, unknown> = {}): void {
  console.log(jsonResult(command, metrics, extra));
}
