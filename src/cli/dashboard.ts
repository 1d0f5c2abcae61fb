// `flm dashboard`: serves the local web page over a runs folder (src/dashboard/server.ts) until Ctrl-C.
import type { Command } from 'commander';
import { num } from './config-file.js';
import { setExitCode } from './exit-code.js';

interface DashboardFlags {
  runs: string; port: string; host: string;
}

export function registerDashboard(p: Command): void {
  p.command('dashboard')
    .description('a local web page over a runs folder: runs and their settings side by side, live curves, races, FLM\'s attention masks, and a try-it page for checkpoints (read-only)')
    .option('--runs <dir>', 'the folder of run and race folders it shows (nothing outside it is served)', 'runs')
    .option('--port <n>', 'port (0: a free one, printed)', '8080')
    .option('--host <address>', 'address to listen on; the default serves this machine only, 0.0.0.0 opens it to the network', '127.0.0.1')
    .action(async (f: DashboardFlags, cmd: Command) => {
      const { startDashboard } = await import('../dashboard/server.js');
      const port = num('port', f.port, { int: true, min: 0, max: 65535 })!;
      const d = await startDashboard({ runs: f.runs, port, host: f.host });
      console.log(d.url);
      console.error(`flm dashboard: serving ${f.runs} at ${d.url} (Ctrl-C to stop)`);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await d.close();
      setExitCode(cmd, 0);
    });
}
