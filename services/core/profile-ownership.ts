/**
 * A merchant or terminal belongs to the acquirer that registered it first: a later profile naming
 * another acquirer would let one acquirer rewrite another's merchant (its category, its position,
 * its risk tier) and so blind or mislead the detectors. Applied in log order by every reader of the
 * profile topics (HTTP ingest before it writes, the enricher's tables, the sink), so all of them
 * agree on which profiles count.
 */
import { topics } from './codec/topics.ts';
import { PosguardError } from './errors.ts';
import { admitRecord } from './record-admission.ts';
import type { MerchantProfile, TerminalProfile } from './records.ts';

export type ProfileKind = 'merchant' | 'terminal';

/** The kind of profile a topic carries, if it carries profiles. */
export const profileKindOf = (topic: string): ProfileKind | undefined =>
  topic === topics.merchantProfiles ? 'merchant' : topic === topics.terminalProfiles ? 'terminal' : undefined;

export const profileIdOf = (kind: ProfileKind, profile: MerchantProfile | TerminalProfile): string =>
  kind === 'merchant' ? (profile as MerchantProfile).merchantId : (profile as TerminalProfile).terminalId;

export class ProfileOwners {
  // One entry per merchant and terminal ever registered: bounded by the acquirers' registries.
  private readonly owners = new Map<string, string>();

  ownerOf(kind: ProfileKind, id: string): string | undefined {
    return this.owners.get(`${kind}:${id}`);
  }

  /** Records an owner learnt elsewhere (the sink reads its table); the first one stays. */
  remember(kind: ProfileKind, id: string, acquirerId: string): void {
    const key = `${kind}:${id}`;
    if (!this.owners.has(key)) this.owners.set(key, acquirerId);
  }

  /**
   * Takes a profile into ownership: the first one naming an acquirer makes it the owner; a profile
   * of an owned merchant or terminal must name the same acquirer (a terminal profile naming none,
   * from before terminals carried one, cannot show that it may change an owned terminal).
   */
  claim(kind: ProfileKind, profile: MerchantProfile | TerminalProfile): void {
    const id = profileIdOf(kind, profile);
    const owner = this.ownerOf(kind, id);
    const named = profile.acquirerId;
    if (owner !== undefined && named !== owner) {
      throw new PosguardError('POSGUARD_ERR_PROFILE_OF_ANOTHER_ACQUIRER',
        `${kind} ${id} was registered by acquirer ${owner}; this profile names ${named === null ? 'no acquirer' : `acquirer ${named}`}`,
        { kind, id, owner, named });
    }
    // A terminal stands in its merchant's shop: only the merchant's acquirer may place one there.
    const merchantOwner = kind === 'terminal' ? this.ownerOf('merchant', profile.merchantId) : undefined;
    if (named !== null && merchantOwner !== undefined && merchantOwner !== named) {
      throw new PosguardError('POSGUARD_ERR_PROFILE_OF_ANOTHER_ACQUIRER',
        `terminal ${id} names merchant ${profile.merchantId}, which acquirer ${merchantOwner} registered; this profile names acquirer ${named}`,
        { kind, id, owner: merchantOwner, named });
    }
    if (named !== null) this.remember(kind, id, named);
  }
}

/**
 * Whether a profile read from its topic may be used: no clear card number, values that make sense,
 * and no change of owner. Throws the refusal (a PosguardError naming the field or the owner).
 */
export function admitProfile(owners: ProfileOwners, kind: ProfileKind, topic: string, profile: MerchantProfile | TerminalProfile): void {
  admitRecord(kind, profile, topic);
  owners.claim(kind, profile);
}
