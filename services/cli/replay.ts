import { parseArgs } from 'node:util';
import { loadSchemaCatalog } from '../core/codec/schema-catalog.ts';
import { LineWriter, readLines } from '../core/jsonl/jsonl.ts';
import { parseRecordLine } from '../core/jsonl/record-line.ts';
import { toJsonForm } from '../core/codec/json-form.ts';
import { thresholdsFromEnv } from '../detectors/thresholds.ts';
import { ReplayPipeline } from '../replay/replay-pipeline.ts';
import type { Command } from './main.ts';

export const replayCommand: Command = {
  summary: 'run the detectors over a recorded stream (JSON Lines) and write the alerts; deterministic',
  usage: 'usage: posguard replay --input <events.jsonl[.gz]> [--profiles <profiles.jsonl[.gz]>] --alerts <alerts.jsonl> [--rejected <rejected.jsonl>]\n\n' +
    'Each input line is one record in its JSON form with a "type" field (authorisation, merchant, terminal, outcome),\n' +
    'in event-time order. Invalid lines are counted and, with --rejected, written there with the reason.\n' +
    'The same input always gives byte-identical alerts (emittedAt equals detectedAt: replay has no wall clock).',
  async run(args) {
    const { values } = parseArgs({ args, options: { input: { type: 'string' }, profiles: { type: 'string' }, alerts: { type: 'string' }, rejected: { type: 'string' } } });
    if (values.input === undefined || values.alerts === undefined) {
      process.stderr.write(`${this.usage}\n`);
      return 2;
    }
    const catalog = loadSchemaCatalog();
    const alerts = new LineWriter(values.alerts);
    const rejected = values.rejected === undefined ? undefined : new LineWriter(values.rejected);
    const pending: string[] = [];
    const pipeline = new ReplayPipeline(thresholdsFromEnv(process.env), (alert) => pending.push(toJsonForm(alert)));
    let invalid = 0;
    let alertCount = 0;
    const started = Date.now();
    for (const path of [values.profiles, values.input]) {
      if (path === undefined) continue;
      for await (const { line, number } of readLines(path)) {
        const parsed = parseRecordLine(catalog, line);
        if (!parsed.ok) {
          invalid++;
          await rejected?.write(JSON.stringify({ file: path, line: number, kind: parsed.kind ?? null, error: parsed.message, fieldErrors: parsed.fieldErrors }));
          continue;
        }
        pipeline.feed(parsed);
        for (const alert of pending) await alerts.write(alert);
        alertCount += pending.length;
        pending.length = 0;
      }
    }
    pipeline.finish();
    for (const alert of pending) await alerts.write(alert);
    alertCount += pending.length;
    await alerts.close();
    await rejected?.close();
    const seconds = (Date.now() - started) / 1000;
    const c = pipeline.counts;
    process.stdout.write(`replayed ${c.authorisation} authorisations, ${c.outcome} outcomes, ${c.merchant} merchant and ${c.terminal} terminal profiles ` +
      `in ${seconds.toFixed(1)}s (${Math.round(c.authorisation / seconds)} authorisations/s); ${invalid} invalid lines rejected; ` +
      `${pipeline.lateInputs} inputs arrived later than the allowed lateness; ${alertCount} alerts written to ${values.alerts}\n`);
    return 0;
  },
};
