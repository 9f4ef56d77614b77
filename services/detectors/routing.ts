/**
 * How the card stage's output reaches the keyed stages: authorisations re-keyed by terminal and by
 * merchant; notices split so the merchant stage only gets what concerns each merchant. Used by the
 * in-memory engine and by the repartition producers of the detectors service alike.
 */
import type { EnrichedAuthorisation } from '../core/records.ts';
import type { CompromiseNotice, DisputeNotice, StageInput } from './inputs.ts';
import { authorisationInput } from './inputs.ts';

export interface KeyedInput {
  readonly key: string;
  readonly input: StageInput;
}

function splitCompromise(notice: CompromiseNotice): KeyedInput[] {
  const byKey = new Map<string, CompromiseNotice['visits'][number][]>();
  for (const visit of notice.visits) {
    const key = visit.merchantId;
    const list = byKey.get(key) ?? [];
    list.push(visit);
    byKey.set(key, list);
  }
  return [...byKey.entries()].map(([key, visits]) => ({
    key,
    input: { kind: 'compromise', time: notice.time, id: `c:${notice.cardToken}:${key}`, value: { ...notice, visits } },
  }));
}

export const toTerminalStage = {
  authorisation: (e: EnrichedAuthorisation): KeyedInput => ({ key: e.authorisation.terminalId, input: authorisationInput(e) }),
};

export const toMerchantStage = {
  authorisation: (e: EnrichedAuthorisation): KeyedInput => ({ key: e.authorisation.merchantId, input: authorisationInput(e) }),
  compromise: (n: CompromiseNotice): KeyedInput[] => splitCompromise(n),
  dispute: (n: DisputeNotice): KeyedInput => ({
    key: n.merchantId, input: { kind: 'dispute', time: n.time, id: `d:${n.outcomeId}:${n.eventId}`, value: n },
  }),
};
