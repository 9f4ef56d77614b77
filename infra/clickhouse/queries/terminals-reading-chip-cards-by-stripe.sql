-- Terminals where chip cards are read by magstripe or fallback: a tampered reader forces it.
-- @param min_reads UInt32 = 1: terminals with fewer such reads are left out
SELECT terminalId, merchantId, sum(chipCardsReadWithoutChip) AS stripeReadsOfChipCards, sum(authorisations) AS authorisations,
       round(stripeReadsOfChipCards / authorisations, 3) AS share
FROM posguard.terminal_daily
GROUP BY terminalId, merchantId
HAVING stripeReadsOfChipCards >= {min_reads:UInt32}
ORDER BY share DESC
LIMIT 50;
