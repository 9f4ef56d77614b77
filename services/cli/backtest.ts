import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadSchemaCatalog } from '../core/codec/schema-catalog.ts';
import type { FraudAlert } from '../core/records.ts';
import { ConfirmedFraud, compareAlerts, scoreBacktest, type AlertChanges, type BacktestScore } from '../backtest/score.ts';
import { scoreDecisions, type DecisionScore, type ScoredAuthorisation, type TestWindow } from '../backtest/decision-score.ts';
import { DAY_MS } from '../core/geo.ts';
import { thresholdsWithOverrides, type Thresholds } from '../detectors/thresholds.ts';
import { loadSettings } from '../pipeline/settings.ts';
import { ReplayPipeline } from '../replay/replay-pipeline.ts';
import { readRecordedStream, readReport } from '../replay/recorded-stream.ts';
import { UsageError, positiveInteger, recordedStreamFlags, recordedStreamOptionsFrom, recordedStreamUsage } from './arguments.ts';
import type { Command } from './main.ts';

export const backtestCommand: Command = {
  summary: 'replay a recorded stream and score every detector and reason code against its confirmed outcomes',
  usage: 'usage: posguard backtest --input <events.jsonl[.gz]> [--profiles <profiles.jsonl[.gz]>] [--outcome-delay-days <n>]\n' +
    '                         [--test-from <YYYY-MM-DD>] [--test-to <YYYY-MM-DD>] [--top-k <n>]\n' +
    '                         [--compare <thresholds.json>] [--json] [--rejected <file>] [--lenient] [--max-rejected-share <0..1>]\n\n' +
    `${recordedStreamUsage}\n\n` +
    'Confirmed fraud is what the stream\'s own outcomes say: CONFIRMED_FRAUD, fraud-related CHARGEBACK and LOST_STOLEN,\n' +
    'with the authorisations they dispute. A card, terminal or merchant with disputed authorisations is found when an\n' +
    'alert on it was detected between its first disputed authorisation and its last one plus --outcome-delay-days\n' +
    '(default 7); earlier alerts do not count. Precision is found subjects over alerted subjects.\n' +
    '--compare runs a second threshold set (a JSON object of threshold names to numbers, see docs/DETECTORS.md) over\n' +
    'the same stream and shows its scores and the alerts gained and lost per detector.\n' +
    'Decisions are scored over the authorisations of the test window (--test-from and --test-to, UTC days, both\n' +
    'included; default the whole stream): AUC ROC, average precision, and card precision top-k (--top-k, default 100:\n' +
    'each day the k cards with the highest score that day, the share of them with fraud that day, averaged over days;\n' +
    'a card found drops out of later days). An authorisation is fraudulent when a confirming outcome disputes it.',
  async run(args) {
    const { values } = parseArgs({
      args, options: {
        ...recordedStreamFlags, 'outcome-delay-days': { type: 'string' }, compare: { type: 'string' }, json: { type: 'boolean' },
        'test-from': { type: 'string' }, 'test-to': { type: 'string' }, 'top-k': { type: 'string' },
      },
    });
    const options = recordedStreamOptionsFrom(values);
    const outcomeDelayDays = positiveInteger('--outcome-delay-days', values['outcome-delay-days'], 7);
    const topK = positiveInteger('--top-k', values['top-k'], 100);
    const window: TestWindow = { from: dayFlag('--test-from', values['test-from'], Number.NEGATIVE_INFINITY), to: dayFlag('--test-to', values['test-to'], Number.POSITIVE_INFINITY - DAY_MS) + DAY_MS };
    const settings = loadSettings();
    const runs: { name: string; thresholds: Thresholds; alerts: FraudAlert[]; scored: ScoredAuthorisation[]; pipeline?: ReplayPipeline }[] = [
      { name: 'current thresholds', thresholds: settings.thresholds, alerts: [], scored: [] },
    ];
    if (values.compare !== undefined) {
      let overrides: unknown;
      try {
        overrides = JSON.parse(readFileSync(values.compare, 'utf8'));
      } catch (error) {
        throw new UsageError(`--compare ${values.compare}: ${(error as Error).message}`);
      }
      runs.push({ name: values.compare, thresholds: thresholdsWithOverrides(process.env, overrides, values.compare), alerts: [], scored: [] });
    }
    const { partitions } = settings.config;
    for (const r of runs) {
      r.pipeline = new ReplayPipeline(r.thresholds, partitions, (alert) => r.alerts.push(alert),
        (d) => r.scored.push({ eventId: d.eventId, cardToken: d.cardToken, eventTime: d.eventTime, score: d.score }), settings.config.decisionPolicies);
    }
    const fraud = new ConfirmedFraud();
    const started = Date.now();
    const summary = await readRecordedStream(loadSchemaCatalog(), options.paths, options, (record) => {
      if (record.kind === 'authorisation') fraud.authorisation(record.record);
      else if (record.kind === 'outcome') fraud.outcome(record.record);
      for (const r of runs) r.pipeline!.feed(record);
    });
    for (const r of runs) r.pipeline!.finish();
    const windows = fraud.windowsBySubject();
    const scores = runs.map((r) => ({
      name: r.name, alerts: r.alerts.length, score: scoreBacktest(r.alerts, windows, outcomeDelayDays),
      decisions: scoreDecisions(r.scored, fraud.fraudulentEventIds, window, topK),
    }));
    const changes = runs.length > 1 ? compareAlerts(runs[0]!.alerts, runs[1]!.alerts) : undefined;
    if (values.json === true) {
      process.stdout.write(`${JSON.stringify({ input: summary, outcomesConfirmingFraud: fraud.outcomesConfirmingFraud, unknownDisputedEvents: fraud.unknownDisputedEvents, runs: scores, changes }, null, 2)}\n`);
      return 0;
    }
    const out: string[] = [readReport(summary),
      `${fraud.outcomesConfirmingFraud} outcomes confirm fraud${fraud.unknownDisputedEvents > 0 ? ` (${fraud.unknownDisputedEvents} disputed event ids are not in the stream)` : ''}; ` +
      `scored in ${((Date.now() - started) / 1000).toFixed(1)}s`];
    for (const s of scores) out.push('', `## ${s.name}: ${s.alerts} alerts`, '', scoreTable(s.score));
    out.push('', `## decisions${values['test-from'] ?? values['test-to'] ? ` from ${values['test-from'] ?? 'the start'} to ${values['test-to'] ?? 'the end'}` : ''}`, '',
      decisionTable(scores.map((s) => ({ name: s.name, score: s.decisions }))));
    if (changes !== undefined) out.push('', `## alerts gained and lost with ${runs[1]!.name}`, '', changesTable(changes));
    process.stdout.write(`${out.join('\n')}\n`);
    return 0;
  },
};

const ratio = (x: number) => x.toFixed(3);

/** A UTC day given as YYYY-MM-DD, as the time its day starts. */
function dayFlag(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const time = Date.parse(`${raw}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(raw) || Number.isNaN(time)) throw new UsageError(`${flag} must be a day as YYYY-MM-DD, got "${raw}"`);
  return time;
}

/** A plain-text table: the first `textColumns` columns left-aligned, the numbers after them right-aligned. */
function table(header: readonly string[], rows: readonly (readonly string[])[], textColumns: number): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i < textColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function scoreTable(score: BacktestScore): string {
  return table(
    ['subject', 'detector', 'reason code', 'with fraud', 'alerted', 'found', 'no fraud', 'recall', 'precision', 'median h'],
    score.rows.map((r) => [
      r.subjectType, r.detector === '*' ? 'all detectors' : r.detector, r.reasonCode === '*' ? 'all' : r.reasonCode,
      String(r.subjectsWithConfirmedFraud), String(r.alertedSubjects), String(r.found), String(r.alertedWithoutFraud),
      ratio(r.recall), ratio(r.precision), r.medianHoursToAlert === null ? '-' : r.medianHoursToAlert.toFixed(1),
    ]),
    3,
  );
}

function decisionTable(runs: readonly { name: string; score: DecisionScore }[]): string {
  const or = (x: number | null) => (x === null ? '-' : ratio(x));
  return table(['thresholds', 'authorisations', 'fraudulent', 'AUC ROC', 'average precision', 'days', 'card precision top-k', 'ceiling'],
    runs.map(({ name, score: s }) => [name, String(s.authorisations), String(s.fraudulent), or(s.aucRoc), or(s.averagePrecision), String(s.days),
      `${or(s.cardPrecisionTopK)} (k=${s.topK})`, or(s.cardPrecisionTopKCeiling)]), 1);
}

function changesTable(changes: readonly AlertChanges[]): string {
  return table(['detector', 'base', 'compared', 'gained', 'lost'],
    changes.map((c) => [c.detector, String(c.base), String(c.compared), String(c.gained.length), String(c.lost.length)]), 1);
}
