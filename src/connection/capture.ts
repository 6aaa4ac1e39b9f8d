// Bounded capture of a command's output: the first and the last half of the limit are kept, the
// middle is dropped and a one-line note says how many bytes went (600 MB of stdout would
// otherwise be held in memory whole, twice over, and then as a string).

/** What `command`/`shell` keep of each of stdout and stderr: 1 MiB at the start and 1 MiB at the end. */
export const OUTPUT_LIMIT = 2 * 1024 * 1024

export function droppedNote(bytes: number): Buffer {
  const mib = bytes / (1024 * 1024)
  const size = mib >= 1 ? `${mib.toFixed(1)} MiB` : `${bytes} bytes`
  return Buffer.from(`\n[k3sbook: ${bytes} bytes (${size}) of output dropped here; the first and last ${OUTPUT_LIMIT / 2 / 1024} KiB are kept]\n`)
}

/**
 * Bytes arriving in chunks, kept whole up to `limit`, else head + tail. `reserve` more bytes are
 * kept at the end beyond the tail (the shell's framing marker and its line live there).
 */
export class CappedBuffer {
  private head: Buffer[] = []
  private headLen = 0
  private tail: Buffer[] = []
  private tailLen = 0
  /** Bytes dropped between the head and the tail. */
  dropped = 0
  /** Every byte pushed, kept or not. */
  total = 0
  private readonly headMax: number
  private readonly tailMax: number

  constructor(
    limit = Infinity,
    private readonly reserve = 0,
  ) {
    this.headMax = limit === Infinity ? Infinity : Math.floor(limit / 2)
    this.tailMax = limit === Infinity ? Infinity : limit - this.headMax
  }

  push(b: Buffer): void {
    this.total += b.length
    if (this.headLen < this.headMax) {
      const take = Math.min(b.length, this.headMax - this.headLen)
      this.head.push(take === b.length ? b : b.subarray(0, take))
      this.headLen += take
      if (take === b.length) return
      b = b.subarray(take)
    }
    this.tail.push(b)
    this.tailLen += b.length
    const keep = this.tailMax + this.reserve
    // Trimmed in batches: a copy per chunk would cost more than the bytes it saves.
    if (this.tailLen > keep * 2 + 65536) this.trim(keep)
  }

  private trim(keep: number): void {
    if (this.tailLen <= keep) return
    const all = Buffer.concat(this.tail, this.tailLen)
    const cut = this.tailLen - keep
    this.dropped += cut
    this.tail = [Buffer.from(all.subarray(cut))]
    this.tailLen = keep
  }

  /** The kept bytes as one buffer (the head and the tail side by side), and where the gap is. */
  joined(): { bytes: Buffer; gapAt: number } {
    if (this.tailMax !== Infinity) this.trim(this.tailMax + this.reserve)
    const bytes = this.head.length + this.tail.length === 1 ? (this.head[0] ?? this.tail[0]) : Buffer.concat([...this.head, ...this.tail])
    return { bytes, gapAt: this.headLen }
  }

  /** The kept bytes, with the note at the gap when anything was dropped. */
  result(): Buffer {
    const { bytes, gapAt } = this.joined()
    if (!this.dropped) return bytes
    return Buffer.concat([bytes.subarray(0, gapAt), droppedNote(this.dropped), bytes.subarray(gapAt)])
  }
}
