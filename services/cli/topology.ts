import { loadSettings } from '../pipeline/settings.ts';
import { describeTopology } from '../topology/describe.ts';
import type { Command } from './main.ts';

export const topologyCommand: Command = {
  summary: 'print the pipeline\'s stages, their groups, tasks, state and the topics between them',
  usage: 'usage: posguard topology\n\nPrints the declared topology with POSGUARD_PARTITIONS partitions per topic (internal topics may fix their own).',
  async run() {
    process.stdout.write(describeTopology(loadSettings().config.partitions));
    return 0;
  },
};
