/** SPEC 5.1 rounding: half-up to 2 decimals, and percentages of an empty group are 0. */
export const round2 = (x: number): number => Math.floor(x * 100 + 0.5) / 100

export const percentage = (count: number, total: number): number => (total === 0 ? 0 : round2((count / total) * 100))
