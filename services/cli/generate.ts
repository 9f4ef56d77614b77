import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { LineWriter } from '../core/jsonl/jsonl.ts';
import { recordLine } from '../core/jsonl/record-line.ts';
import { defaultGeneratorOptions, generateStream, type StreamRecord } from '../generator/stream.ts';
import type { Command } from './main.ts';
import { generatorFlags, generatorOptionsFrom } from './arguments.ts';

function lineOf(r: StreamRecord): string {
  return r.type === 'malformed' ? JSON.stringify({ type: 'authorisation', ...r.json }) : recordLine(r.type, r.record);
}

export const generateCommand: Command = {
  summary: 'write a synthetic, labelled acquirer stream (JSON Lines) and its ground truth',
  usage: 'usage: posguard generate --out <stream.jsonl[.gz]> [--truth <truth.json>] [--seed N] [--days N] [--cards N] [--merchants N]\n\n' +
    `Defaults: seed ${defaultGeneratorOptions.seed}, ${defaultGeneratorOptions.days} days, ${defaultGeneratorOptions.cards} cards, ` +
    `${defaultGeneratorOptions.merchants} merchants. The truth file lists each injected scenario's subjects.`,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: { out: { type: 'string' }, truth: { type: 'string' }, ...generatorFlags },
    });
    if (values.out === undefined) {
      process.stderr.write(`${this.usage}\n`);
      return 2;
    }
    const options = generatorOptionsFrom(values);
    const started = Date.now();
    const stream = generateStream(options);
    const writer = new LineWriter(values.out);
    for (const record of stream.records) await writer.write(lineOf(record));
    await writer.close();
    const truthPath = values.truth ?? `${values.out.replace(/\.jsonl(\.gz)?$/, '')}.truth.json`;
    writeFileSync(truthPath, `${JSON.stringify({ options, truth: stream.truth }, null, 2)}\n`);
    process.stdout.write(`wrote ${stream.records.length} records to ${values.out} (${Object.entries(stream.counts).map(([k, n]) => `${n} ${k}`).join(', ')}) ` +
      `and ${stream.truth.length} labelled subjects to ${truthPath} in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
    return 0;
  },
};
