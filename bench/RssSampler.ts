/**
 * Peak resident set size sampled on a timer (every 100 ms by default), for the bench's
 * own process or another one; the timer only fires while its event loop gets a turn.
 */
export interface RssPeak {
  readonly peakBytes: number
  readonly samples: number
}

export const sampleRss = (read: () => number | undefined, everyMs = 100): { readonly stop: () => RssPeak } => {
  let peakBytes = 0
  let samples = 0
  const sample = () => {
    const rss = read()
    if (rss === undefined) return
    samples++
    peakBytes = Math.max(peakBytes, rss)
  }
  sample()
  const timer = setInterval(sample, everyMs)
  return {
    stop: () => {
      clearInterval(timer)
      sample()
      return { peakBytes, samples }
    }
  }
}
