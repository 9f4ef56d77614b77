-- Merchants by share of round amounts, of purchases outside opening hours and of other MCCs than registered.
-- @param min_purchases UInt32 = 20: merchants with fewer purchases are left out (their shares are noise)
SELECT merchantId, sum(purchases) AS purchases, round(sum(roundAmounts) / purchases, 3) AS roundShare,
       round(sum(outsideOpeningHours) / purchases, 3) AS offHoursShare, round(sum(mccMismatches) / purchases, 3) AS mccMismatchShare
FROM posguard.merchant_daily
GROUP BY merchantId
HAVING purchases >= {min_purchases:UInt32}
ORDER BY roundShare + offHoursShare + mccMismatchShare DESC
LIMIT 50;
