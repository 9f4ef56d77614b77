/**
 * The terminal-keyed stage: terminal tampering and card testing, over authorisations re-keyed by
 * terminal.
 */
import type { EnrichedAuthorisation } from '../core/records.ts';
import { CardTesting } from './card-testing/card-testing.ts';
import type { Verdict } from './kernel/alert.ts';
import { TerminalCompromise } from './terminal-compromise/terminal-compromise.ts';
import type { Thresholds } from './thresholds.ts';
import { evictionEveryAuthorisations } from './kernel/eviction.ts';

export class TerminalStage {
  private readonly compromise: TerminalCompromise;
  private readonly cardTesting: CardTesting;
  private sinceEviction = 0;

  constructor(t: Thresholds) {
    this.compromise = new TerminalCompromise(t);
    this.cardTesting = new CardTesting(t);
  }

  authorisation(e: EnrichedAuthorisation, verdicts: Verdict[]): void {
    const tampered = this.compromise.authorisation(e);
    if (tampered !== undefined) verdicts.push(tampered);
    const testing = this.cardTesting.authorisation(e);
    if (testing !== undefined) verdicts.push(testing);
    if (++this.sinceEviction >= evictionEveryAuthorisations) {
      this.sinceEviction = 0;
      this.compromise.evict(e.authorisation.eventTime);
      this.cardTesting.evict(e.authorisation.eventTime);
    }
  }
}
