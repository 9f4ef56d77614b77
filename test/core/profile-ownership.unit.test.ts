/** A merchant or terminal stays with the acquirer that registered it; its own acquirer may still change it. */
import { describe, expect, it } from 'vitest';
import { PosguardError } from '../../services/core/errors.ts';
import { ProfileOwners } from '../../services/core/profile-ownership.ts';
import { paris, tills } from '../detectors/world.ts';

const refusalOf = (action: () => void) => {
  try {
    action();
    return undefined;
  } catch (error) {
    return (error as PosguardError).code;
  }
};

describe('profile ownership', () => {
  it('lets the registering acquirer change its merchant (near miss: same id, same acquirer)', () => {
    const owners = new ProfileOwners();
    owners.claim('merchant', paris);
    expect(refusalOf(() => owners.claim('merchant', { ...paris, riskTier: 'HIGH', updatedAt: paris.updatedAt + 1 }))).toBeUndefined();
    expect(owners.ownerOf('merchant', paris.merchantId)).toBe('acq-1');
  });

  it('refuses another acquirer\'s profile of a registered merchant, naming the owner', () => {
    const owners = new ProfileOwners();
    owners.claim('merchant', paris);
    expect(() => owners.claim('merchant', { ...paris, acquirerId: 'acq-2', mcc: '6011' })).toThrow(/registered by acquirer acq-1; this profile names acquirer acq-2/);
    expect(owners.ownerOf('merchant', paris.merchantId)).toBe('acq-1');
  });

  it('takes a terminal profile naming no acquirer while nobody owns the terminal, and refuses one once somebody does', () => {
    const owners = new ProfileOwners();
    const unnamed = { ...tills.paris, acquirerId: null };
    expect(refusalOf(() => owners.claim('terminal', unnamed))).toBeUndefined();
    expect(owners.ownerOf('terminal', tills.paris.terminalId)).toBeUndefined();
    owners.claim('terminal', tills.paris);
    expect(refusalOf(() => owners.claim('terminal', unnamed))).toBe('POSGUARD_ERR_PROFILE_OF_ANOTHER_ACQUIRER');
  });

  it('refuses a terminal placed under another acquirer\'s merchant, as every reader of the profile topics applies it', () => {
    const owners = new ProfileOwners();
    owners.claim('merchant', paris);
    expect(refusalOf(() => owners.claim('terminal', { ...tills.paris, terminalId: 't-planted', acquirerId: 'acq-2' }))).toBe('POSGUARD_ERR_PROFILE_OF_ANOTHER_ACQUIRER');
    expect(owners.ownerOf('terminal', 't-planted')).toBeUndefined();
    expect(refusalOf(() => owners.claim('terminal', tills.paris))).toBeUndefined();
  });

  it('keeps the first owner it is told of (the sink learns owners from its tables)', () => {
    const owners = new ProfileOwners();
    owners.remember('merchant', 'm-1', 'acq-1');
    owners.remember('merchant', 'm-1', 'acq-2');
    expect(owners.ownerOf('merchant', 'm-1')).toBe('acq-1');
  });
});
