import { parseArgs } from 'node:util';
import { loadSchemaCatalog } from '../core/codec/schema-catalog.ts';
import { toJsonForm } from '../core/codec/json-form.ts';
import { LineWriter } from '../core/jsonl/jsonl.ts';
import { loadSettings } from '../pipeline/settings.ts';
import { ReplayPipeline } from '../replay/replay-pipeline.ts';
import { readRecordedStream, readReport } from '../replay/recorded-stream.ts';
import { UsageError, recordedStreamFlags, recordedStreamOptionsFrom, recordedStreamUsage } from './arguments.ts';
import type { Command } from './main.ts';

export const replayCommand: Command = {
  summary: 'run the detectors over a recorded stream (JSON Lines) and write the alerts and decisions; deterministic',
  usage: 'usage: posguard replay --input <events.jsonl[.gz]> [--profiles <profiles.jsonl[.gz]>] --alerts <alerts.jsonl>\n' +
    '                       [--decisions <decisions.jsonl>] [--rejected <rejected.jsonl>] [--lenient] [--max-rejected-share <0..1>]\n\n' +
    `${recordedStreamUsage}\n` +
    '--decisions writes the decision on every accepted authorisation (eventId, score, decision, reasons …), one per line,\n' +
    'in the order they were made.\n' +
    'The same input always gives byte-identical alerts and decisions (emittedAt equals detectedAt, decidedAt equals\n' +
    'eventTime: replay has no wall clock).',
  async run(args) {
    const { values } = parseArgs({ args, options: { ...recordedStreamFlags, alerts: { type: 'string' }, decisions: { type: 'string' } } });
    const options = recordedStreamOptionsFrom(values);
    const settings = loadSettings();
    if (values.alerts === undefined) throw new UsageError('--alerts <alerts.jsonl> is required');
    const alerts = new LineWriter(values.alerts);
    const decisions = values.decisions === undefined ? undefined : new LineWriter(values.decisions);
    const pending: string[] = [];
    const pendingDecisions: string[] = [];
    const pipeline = new ReplayPipeline(settings.thresholds, settings.config.partitions, (alert) => pending.push(toJsonForm(alert)),
      // A decision holds no bytes: its JSON form is plain JSON (and there is one per authorisation).
      decisions === undefined ? undefined : (decision) => pendingDecisions.push(JSON.stringify(decision)), settings.config.decisionPolicies);
    let alertCount = 0;
    let decisionCount = 0;
    const flush = async () => {
      if (pending.length > 0) await alerts.write(pending.join('\n'));
      if (pendingDecisions.length > 0) await decisions!.write(pendingDecisions.join('\n'));
      alertCount += pending.length;
      decisionCount += pendingDecisions.length;
      pending.length = 0;
      pendingDecisions.length = 0;
    };
    const started = Date.now();
    try {
      const summary = await readRecordedStream(loadSchemaCatalog(), options.paths, options, async (record) => {
        pipeline.feed(record);
        if (pending.length > 0 || pendingDecisions.length > 0) await flush();
      });
      pipeline.finish();
      await flush();
      const seconds = (Date.now() - started) / 1000;
      const c = pipeline.counts;
      process.stdout.write(`${readReport(summary)}\n` +
        `replayed ${c.authorisation} authorisations, ${c.outcome} outcomes, ${c.merchant} merchant and ${c.terminal} terminal profiles ` +
        `in ${seconds.toFixed(1)}s (${Math.round(c.authorisation / seconds)} authorisations/s); ` +
        `${pipeline.lateInputs} inputs arrived later than the allowed lateness; ${alertCount} alerts written to ${values.alerts}` +
        `${decisions === undefined ? '' : `; ${decisionCount} decisions written to ${values.decisions}`}\n`);
      return 0;
    } finally {
      await alerts.close();
      await decisions?.close();
    }
  },
};
