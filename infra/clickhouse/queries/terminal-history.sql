-- A terminal's days: authorisations, cards, declines and the signals of tampering, day by day.
-- @param terminal String: the terminal id
-- @param days UInt32 = 30: how many days before the terminal's latest day
SELECT day, merchantId, authorisations, distinctCards, amountSumMinor, declines, chipCardsReadWithoutChip, firmwareMismatches, cardNotPresentEntries
FROM posguard.terminal_daily
WHERE terminalId = {terminal:String}
  AND day >= (SELECT max(day) FROM posguard.terminal_daily WHERE terminalId = {terminal:String}) - toIntervalDay({days:UInt32})
ORDER BY day;
