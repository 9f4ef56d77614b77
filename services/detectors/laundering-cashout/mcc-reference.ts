/**
 * What a detector may assume about a merchant category: the median ticket of ordinary business
 * (minor units) and whether whole round amounts are normal there. Prior knowledge, kept as data;
 * categories not listed are judged against the merchant's own declared average ticket only.
 */
export interface MccReference {
  readonly label: string;
  readonly medianTicketMinor: number;
  readonly roundAmountsNormal: boolean;
}

export const mccReference: Readonly<Record<string, MccReference>> = {
  '4121': { label: 'taxis', medianTicketMinor: 2500, roundAmountsNormal: true },
  '5311': { label: 'department stores', medianTicketMinor: 8000, roundAmountsNormal: false },
  '5411': { label: 'grocery stores', medianTicketMinor: 3000, roundAmountsNormal: false },
  '5541': { label: 'service stations', medianTicketMinor: 5000, roundAmountsNormal: true },
  '5691': { label: 'clothing stores', medianTicketMinor: 6500, roundAmountsNormal: false },
  '5732': { label: 'electronics stores', medianTicketMinor: 20_000, roundAmountsNormal: false },
  '5812': { label: 'restaurants', medianTicketMinor: 4000, roundAmountsNormal: false },
  '5814': { label: 'fast food', medianTicketMinor: 1100, roundAmountsNormal: false },
  '5912': { label: 'pharmacies', medianTicketMinor: 2300, roundAmountsNormal: false },
  '5944': { label: 'jewellery stores', medianTicketMinor: 30_000, roundAmountsNormal: false },
  '5999': { label: 'miscellaneous retail', medianTicketMinor: 4000, roundAmountsNormal: false },
  '6011': { label: 'cash disbursements', medianTicketMinor: 10_000, roundAmountsNormal: true },
  '7011': { label: 'hotels', medianTicketMinor: 15_000, roundAmountsNormal: false },
  '7995': { label: 'betting', medianTicketMinor: 5000, roundAmountsNormal: true },
};

/** Approval and reporting limits just under which cash-out amounts cluster (minor units). */
export const amountLimitsMinor: readonly number[] = [100_000, 200_000, 300_000, 500_000, 1_000_000];
