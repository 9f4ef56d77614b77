/**
 * What the detector stages consume. The card stage reads enriched authorisations and outcomes
 * (both keyed by card); it derives notices for the terminal and merchant stages, which also get the
 * authorisations re-keyed by terminal and by merchant.
 */
import type { CardOutcome, EnrichedAuthorisation } from '../core/records.ts';
import type { CardAssessment } from './decision/card-assessment.ts';

/** A genuine visit of a card, now known compromised, to a terminal, before its first fraud. */
export interface CompromisedVisit {
  readonly eventId: string;
  readonly time: number;
  readonly terminalId: string;
  readonly merchantId: string;
}

/** A card became compromised at `time` (an outcome said so, or the cloned-card detector did). */
export interface CompromiseNotice {
  readonly cardToken: string;
  readonly time: number;
  readonly source: string;
  readonly visits: readonly CompromisedVisit[];
}

/** An outcome disputed this authorisation as fraud. */
export interface DisputeNotice {
  readonly cardToken: string;
  readonly outcomeId: string;
  readonly time: number;
  readonly eventId: string;
  readonly eventTime: number;
  readonly terminalId: string;
  readonly merchantId: string;
}

export type StageInput =
  /** `card`: what the card's history said of it, set by the card stage for the terminal stage's decision. */
  | { readonly kind: 'authorisation'; readonly time: number; readonly id: string; readonly value: EnrichedAuthorisation; readonly card?: CardAssessment }
  | { readonly kind: 'outcome'; readonly time: number; readonly id: string; readonly value: CardOutcome }
  | { readonly kind: 'compromise'; readonly time: number; readonly id: string; readonly value: CompromiseNotice }
  | { readonly kind: 'dispute'; readonly time: number; readonly id: string; readonly value: DisputeNotice };

export const authorisationInput = (value: EnrichedAuthorisation): StageInput => ({
  kind: 'authorisation', time: value.authorisation.eventTime, id: `a:${value.authorisation.eventId}`, value,
});

export const outcomeInput = (value: CardOutcome): StageInput => ({ kind: 'outcome', time: value.reportedAt, id: `o:${value.outcomeId}`, value });
