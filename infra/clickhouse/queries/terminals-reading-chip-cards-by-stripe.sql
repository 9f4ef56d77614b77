-- Terminals where chip cards are read by magstripe or fallback: a tampered reader forces it.
SELECT terminalId, merchantId, sum(chipCardsReadWithoutChip) AS stripeReadsOfChipCards, sum(authorisations) AS authorisations,
       round(stripeReadsOfChipCards / authorisations, 3) AS share
FROM posguard.terminal_daily
GROUP BY terminalId, merchantId
HAVING stripeReadsOfChipCards > 0
ORDER BY share DESC
LIMIT 50;
