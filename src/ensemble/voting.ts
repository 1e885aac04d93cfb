/**
 * How lmprobe 0.10.3's `ProbeEnsemble` combines its members: pure functions on their outputs.
 * Soft: the weighted sum of probabilities (weights normalised to 1), label = classes[argmax], first
 * maximum on ties. Hard: the most common label, the smallest label on ties (`scipy.stats.mode`);
 * unlike lmprobe, unequal weights weigh the votes (lmprobe ignores them in hard voting).
 * predictionStd: population std (ddof 0) over members of P(column 1).
 */

/** Weighted sum of the members' probability matrices (n × classes each). */
export function softProba(perMember: number[][][], weights: readonly number[]): number[][] {
  const first = perMember[0]!;
  return first.map((row, i) =>
    row.map((_, c) => {
      let sum = 0;
      perMember.forEach((p, m) => (sum += weights[m]! * p[i]![c]!));
      return sum;
    }),
  );
}

/** classes[argmax] per row (the first maximum on ties, as `np.argmax`). */
export function argmaxLabels(proba: number[][], classes: readonly number[]): number[] {
  return proba.map((row) => {
    let best = 0;
    for (let c = 1; c < row.length; c++) if (row[c]! > row[best]!) best = c;
    return classes[best]!;
  });
}

/** The vote per row: the label with most (weighted) votes, the smallest label on ties. */
export function hardVote(perMember: number[][], weights: readonly number[]): number[] {
  const uniform = weights.every((w) => w === weights[0]);
  return perMember[0]!.map((_, i) => {
    const tally = new Map<number, number>();
    perMember.forEach((labels, m) => {
      const label = labels[i]!;
      // Equal weights count votes as integers: no float sum can break a tie that is exact.
      tally.set(label, (tally.get(label) ?? 0) + (uniform ? 1 : weights[m]!));
    });
    let best: number | undefined;
    let bestVotes = -Infinity;
    for (const [label, votes] of tally)
      if (votes > bestVotes || (votes === bestVotes && label < best!)) [best, bestVotes] = [label, votes];
    return best!;
  });
}

/** Population standard deviation over members of each row's column-1 probability. */
export function positiveStd(perMember: number[][][]): number[] {
  const k = perMember.length;
  return perMember[0]!.map((_, i) => {
    const values = perMember.map((p) => p[i]![1]!);
    const mean = values.reduce((a, b) => a + b, 0) / k;
    return Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / k);
  });
}

/** lmprobe's weights: given ones divided by their sum, else 1/k each. */
export function normaliseWeights(weights: readonly number[] | undefined, k: number): number[] {
  if (!weights) return Array.from({ length: k }, () => 1 / k);
  const total = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => w / total);
}
