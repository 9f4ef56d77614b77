-- Merchants by share of round amounts and of purchases outside opening hours over the data.
SELECT merchantId, sum(purchases) AS purchases, round(sum(roundAmounts) / purchases, 3) AS roundShare,
       round(sum(outsideOpeningHours) / purchases, 3) AS offHoursShare, round(sum(mccMismatches) / purchases, 3) AS mccMismatchShare
FROM posguard.merchant_daily
GROUP BY merchantId
HAVING purchases >= 20
ORDER BY roundShare + offHoursShare + mccMismatchShare DESC
LIMIT 50;
