/**
 * Detection over a recorded stream in one process, without a log in between: profiles into the
 * tables, authorisations enriched and fed with outcomes to the detection engine. Deterministic for
 * a given record order; `replay` and the quality benchmark use it.
 */
import type { Decision, FraudAlert } from '../core/records.ts';
import type { DecisionPolicies } from '../detectors/decision/decide.ts';
import type { ParsedRecord } from '../core/jsonl/record-line.ts';
import { keyPartitioner } from '../core/transport/key-partition.ts';
import { DetectionEngine } from '../detectors/engine.ts';
import { authorisationInput, outcomeInput } from '../detectors/inputs.ts';
import type { Thresholds } from '../detectors/thresholds.ts';
import { ProfileTables, enrich } from '../enricher/enrich.ts';

export class ReplayPipeline {
  readonly tables = new ProfileTables();
  private readonly engine: DetectionEngine;
  readonly counts = { authorisation: 0, merchant: 0, terminal: 0, outcome: 0 };

  /** `partitions`: of the card-keyed topics, so per-partition state matches the distributed run. */
  constructor(thresholds: Thresholds, partitions: number, onAlert: (alert: FraudAlert) => void,
    onDecision?: (decision: Decision) => void, policies?: DecisionPolicies) {
    this.engine = new DetectionEngine(thresholds, keyPartitioner(partitions), onAlert, onDecision, policies);
  }

  get lateInputs(): number {
    return this.engine.lateInputs;
  }

  feed(record: Extract<ParsedRecord, { ok: true }>): void {
    this.counts[record.kind]++;
    switch (record.kind) {
      case 'merchant':
        return this.tables.putMerchant(record.record);
      case 'terminal':
        return this.tables.putTerminal(record.record);
      case 'authorisation':
        return this.engine.push(authorisationInput(enrich(this.tables, record.record)));
      case 'outcome':
        return this.engine.push(outcomeInput(record.record));
      default: {
        const unreachable: never = record;
        throw new Error(`unknown record ${String(unreachable)}`);
      }
    }
  }

  finish(): void {
    this.engine.finish();
  }
}
