/** Running mean and variance of log-amounts; after `memory` purchases, an exponential average. */
export interface LogAmountStatistics {
  n: number;
  mean: number;
  variance: number;
}

export function learn(s: LogAmountStatistics, x: number, memory: number): void {
  if (s.n < memory) s.n++;
  const d = x - s.mean;
  s.mean += d / s.n;
  s.variance += (d * d * (s.n - 1) / s.n - s.variance) / s.n;
}

/**
 * P(X ≥ k) for X ~ Binomial(n, p): how improbable it is to see k or more compromised cards among n
 * visitors if the terminal were no riskier than the population. Summed in log space, exact.
 */
export function binomialTail(n: number, k: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  const logP = Math.log(p);
  const logQ = Math.log1p(-p);
  let logTerm = logChoose(n, k) + k * logP + (n - k) * logQ;
  let sum = 0;
  for (let i = k; i <= n; i++) {
    sum += Math.exp(logTerm);
    // term(i+1) / term(i) = (n - i) / (i + 1) · p / q
    logTerm += Math.log((n - i) / (i + 1)) + logP - logQ;
    if (Math.exp(logTerm) < sum * 1e-12) break;
  }
  return Math.min(1, sum);
}

function logChoose(n: number, k: number): number {
  return logFactorial(n) - logFactorial(k) - logFactorial(n - k);
}

const logFactorials: number[] = [0];
function logFactorial(n: number): number {
  for (let i = logFactorials.length; i <= n; i++) logFactorials[i] = logFactorials[i - 1]! + Math.log(i);
  return logFactorials[n]!;
}
