// `flm launch`: torchrun for flm. Starts --nproc workers on this node running any flm command (or a
// script), with the rank settings c10d reads; see docs/distributed.md.
import { type Command, Option } from 'commander';
import { setExitCode } from './exit-code.js';

function int(name: string): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got '${v}'`);
    return n;
  };
}

/** Adds the launch flags to a training command (`flm pretrain --nproc 2 ...`); see launchSelfIfRequested. */
export function addLaunchOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--nproc <n>', 'data-parallel worker processes on this node (starts them through the launcher)').argParser(int('--nproc')))
    .addOption(new Option('--nnodes <n>', 'nodes taking part').argParser(int('--nnodes')))
    .addOption(new Option('--node-rank <r>', "this node's index (0 hosts rank 0)").argParser(int('--node-rank')))
    .addOption(new Option('--master-addr <addr>', "rank 0's address"))
    .addOption(new Option('--master-port <port>', "the rendezvous store's port").argParser(int('--master-port')))
    .addOption(new Option('--dist-timeout <ms>', 'bound on rendezvous and on each collective').argParser(int('--dist-timeout')))
    .addOption(new Option('--store-token <secret>', 'shared secret every rank presents to the rendezvous store (default FLM_STORE_TOKEN; required with a non-loopback --master-addr)'));
}

export function registerLaunch(p: Command): void {
  p.command('launch')
    .description('start data-parallel workers (torchrun-style): flm launch --nproc N [--nnodes M --node-rank R --master-addr A --master-port P] -- <flm command | script.js>')
    .argument('<command...>', 'after --: an flm subcommand with its options (e.g. pretrain --config c.json), a .js script, or with --exec any program')
    .requiredOption('--nproc <n>', 'worker processes on this node', int('--nproc'))
    .option('--nnodes <n>', 'nodes taking part', int('--nnodes'), 1)
    .option('--node-rank <r>', "this node's index (node 0 hosts rank 0 and the store)", int('--node-rank'), 0)
    .option('--master-addr <addr>', "rank 0's address", '127.0.0.1')
    .option('--master-port <port>', "the store's port (default: a free port on one node, 29500 on several)", int('--master-port'))
    .option('--store-token <secret>', 'shared secret every rank presents to the rendezvous store (default FLM_STORE_TOKEN; required with a non-loopback --master-addr)')
    .option('--timeout <ms>', 'bound on rendezvous and on each collective in the workers (FLM_DIST_TIMEOUT_MS)', int('--timeout'))
    .option('--grace <ms>', 'after a worker failed, time the others get to stop by themselves before SIGTERM', int('--grace'), 10000)
    .option('--exec', 'run the command as a program instead of an flm subcommand')
    .option('--no-prefix', 'do not prefix output lines with the rank')
    .allowUnknownOption()
    .action(async (tokens: string[], o: {
      nproc: number; nnodes: number; nodeRank: number; masterAddr: string; masterPort?: number; timeout?: number;
      storeToken?: string; grace: number; exec?: boolean; prefix: boolean;
    }, cmd: Command) => {
      const { launch, workerCommand } = await import('../dist/launch.js');
      const { command, args } = workerCommand(tokens, { exec: o.exec });
      const r = await launch({
        nproc: o.nproc,
        nnodes: o.nnodes,
        nodeRank: o.nodeRank,
        masterAddr: o.masterAddr,
        masterPort: o.masterPort,
        storeToken: o.storeToken,
        timeoutMs: o.timeout,
        graceMs: o.grace,
        prefix: o.prefix,
        command,
        args,
      });
      for (const l of r.report) console.error(`[flm launch] ${l}`);
      // the launcher exits with the first failing worker's code (recorded on the root command)
      setExitCode(cmd, r.exitCode);
    });
}
