/**
 * How the card stage's output reaches the keyed stages: authorisations re-keyed by terminal and by
 * merchant; notices split so the merchant stage only gets what concerns each merchant. Used by the
 * in-memory engine and by the repartition producers of the detectors service alike.
 */
import type { CardAssessment } from './decision/card-assessment.ts';
import type { CompromiseNotice, DisputeNotice, StageInput } from './inputs.ts';

/** A stage input with the key it travels under to its next stage. */
export type KeyedStageInput = StageInput & { readonly key: string };

type AuthorisationInput = Extract<StageInput, { kind: 'authorisation' }>;

/** The card stage's input, re-keyed: same id, time and record (built field by field: this runs twice per authorisation). */
const rekeyed = (input: AuthorisationInput, key: string): KeyedStageInput => ({ kind: input.kind, time: input.time, id: input.id, value: input.value, key });

function splitCompromise(notice: CompromiseNotice): KeyedStageInput[] {
  const byKey = new Map<string, CompromiseNotice['visits'][number][]>();
  for (const visit of notice.visits) {
    const key = visit.merchantId;
    const list = byKey.get(key) ?? [];
    list.push(visit);
    byKey.set(key, list);
  }
  return [...byKey.entries()].map(([key, visits]) => ({
    kind: 'compromise', time: notice.time, id: `c:${notice.cardToken}:${key}`, value: { ...notice, visits }, key,
  }));
}

const dispute = (n: DisputeNotice, key: string): KeyedStageInput => ({ kind: 'dispute', time: n.time, id: `d:${n.outcomeId}:${n.eventId}`, value: n, key });

export const toTerminalStage = {
  /** With what the card's history said of it: the terminal stage decides on it. */
  authorisation: (input: AuthorisationInput, card: CardAssessment): KeyedStageInput =>
    ({ kind: input.kind, time: input.time, id: input.id, value: input.value, card, key: input.value.authorisation.terminalId }),
  /** Confirmed fraud at the terminal, for its fraud rate (every disputed authorisation, online ones included). */
  confirmedFraud: (n: DisputeNotice): KeyedStageInput => dispute(n, n.terminalId),
};

export const toMerchantStage = {
  authorisation: (input: AuthorisationInput): KeyedStageInput => rekeyed(input, input.value.authorisation.merchantId),
  compromise: (n: CompromiseNotice): KeyedStageInput[] => splitCompromise(n),
  dispute: (n: DisputeNotice): KeyedStageInput => dispute(n, n.merchantId),
};
