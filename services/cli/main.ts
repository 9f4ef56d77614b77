/**
 * `posguard <command>`: the one entry point. Each command parses its own flags, reads the
 * configuration once, and returns an exit code; errors with a posguard code are printed as
 * `code: message` without a stack (they are the user's to fix), anything else with its stack.
 */
import { isPosguardError } from '../core/errors.ts';
import { UsageError } from './arguments.ts';
import { backtestCommand } from './backtest.ts';
import { benchCommand } from './bench.ts';
import { demoCommand } from './demo.ts';
import { generateCommand } from './generate.ts';
import { migrateCommand } from './migrate.ts';
import { queryCommand } from './query.ts';
import { replayCommand } from './replay.ts';
import { runCommand } from './run.ts';
import { topologyCommand } from './topology.ts';

export interface Command {
  readonly summary: string;
  readonly usage: string;
  run(args: string[]): Promise<number>;
}

const commands: Record<string, Command> = {
  demo: demoCommand,
  generate: generateCommand,
  replay: replayCommand,
  backtest: backtestCommand,
  run: runCommand,
  query: queryCommand,
  migrate: migrateCommand,
  bench: benchCommand,
  topology: topologyCommand,
};

function help(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: posguard <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nConfiguration comes from environment variables: see docs/CONFIGURATION.md.\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(help());
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (command === undefined) {
    process.stderr.write(`posguard: unknown command "${name}"\n\n${help()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`posguard ${name}: ${error.message}\n`);
      return 2;
    }
    if (isPosguardError(error)) {
      process.stderr.write(`posguard ${name}: ${error.code}: ${error.message}\n`);
    } else {
      process.stderr.write(`posguard ${name}: ${(error as Error).stack ?? String(error)}\n`);
    }
    return 1;
  }
}
