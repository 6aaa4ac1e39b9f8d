// CPython's random.Random, bit for bit: MT19937 seeded as CPython seeds it (random_seed in
// Modules/_randommodule.c: an int's absolute value cut into 32-bit words, low word first, fed to
// init_by_array; a str seed first becomes int.from_bytes(s + sha512(s)), random.py's version 2),
// getrandbits, _randbelow_with_getrandbits, choice, randrange and shuffle of Lib/random.py (3.11).
// Ansible's `random(seed=...)` and `shuffle(seed=...)` filters build random.Random(seed), and users
// rely on seed=inventory_hostname giving the same value on every run and in both tools, so the
// exact sequence matters. Written here rather than taken from npm: the MT19937 packages there
// (mersenne-twister, @stdlib/random-base-mt19937, …) give the generator's core only, not CPython's
// seeding of big integers and strings nor getrandbits/_randbelow, which are most of this file.
import { createHash } from 'node:crypto'
import { PyError } from './pyvalues.js'

const N = 624
const M = 397

export class PyRandom {
  private mt = new Uint32Array(N)
  private mti = N + 1

  /** random.Random(seed) for an int (a JS integer or a BigInt) or a str seed. */
  constructor(seed: number | bigint | string) {
    let n: bigint
    if (typeof seed === 'string') {
      const b = Buffer.from(seed, 'utf8')
      const all = Buffer.concat([b, createHash('sha512').update(b).digest()])
      n = BigInt('0x' + all.toString('hex'))
    } else n = BigInt(seed)
    if (n < 0n) n = -n
    const key: number[] = []
    while (n > 0n) {
      key.push(Number(n & 0xffffffffn))
      n >>= 32n
    }
    if (!key.length) key.push(0)
    this.initByArray(key)
  }

  private initGenrand(s: number): void {
    const mt = this.mt
    mt[0] = s >>> 0
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30)
      mt[i] = (Math.imul(1812433253, prev) + i) >>> 0
    }
    this.mti = N
  }

  private initByArray(key: number[]): void {
    const mt = this.mt
    this.initGenrand(19650218)
    let i = 1
    let j = 0
    for (let k = Math.max(N, key.length); k; k--) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30)
      mt[i] = ((mt[i] ^ Math.imul(prev, 1664525)) + key[j] + j) >>> 0
      i++
      j++
      if (i >= N) {
        mt[0] = mt[N - 1]
        i = 1
      }
      if (j >= key.length) j = 0
    }
    for (let k = N - 1; k; k--) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30)
      mt[i] = ((mt[i] ^ Math.imul(prev, 1566083941)) - i) >>> 0
      i++
      if (i >= N) {
        mt[0] = mt[N - 1]
        i = 1
      }
    }
    mt[0] = 0x80000000
  }

  /** genrand_uint32 */
  private next32(): number {
    const mt = this.mt
    if (this.mti >= N) {
      let kk = 0
      const mag = (y: number) => (y & 1 ? 0x9908b0df : 0)
      for (; kk < N - M; kk++) {
        const y = (mt[kk] & 0x80000000) | (mt[kk + 1] & 0x7fffffff)
        mt[kk] = mt[kk + M] ^ (y >>> 1) ^ mag(y)
      }
      for (; kk < N - 1; kk++) {
        const y = (mt[kk] & 0x80000000) | (mt[kk + 1] & 0x7fffffff)
        mt[kk] = mt[kk + (M - N)] ^ (y >>> 1) ^ mag(y)
      }
      const y = (mt[N - 1] & 0x80000000) | (mt[0] & 0x7fffffff)
      mt[N - 1] = mt[M - 1] ^ (y >>> 1) ^ mag(y)
      this.mti = 0
    }
    let y = mt[this.mti++]
    y ^= y >>> 11
    y ^= (y << 7) & 0x9d2c5680
    y ^= (y << 15) & 0xefc60000
    y ^= y >>> 18
    return y >>> 0
  }

  /** getrandbits(k): k random bits, 32 at a time from the low word up. */
  getrandbits(k: number): bigint {
    if (k <= 32) return BigInt(k === 0 ? 0 : this.next32() >>> (32 - k))
    let out = 0n
    let shift = 0n
    for (let left = k; left > 0; left -= 32) {
      let r = this.next32()
      if (left < 32) r >>>= 32 - left
      out |= BigInt(r) << shift
      shift += 32n
    }
    return out
  }

  /** _randbelow_with_getrandbits(n), n > 0 */
  randbelow(n: bigint): bigint {
    const k = n.toString(2).length
    let r = this.getrandbits(k)
    while (r >= n) r = this.getrandbits(k)
    return r
  }

  choice<T>(seq: T[]): T {
    if (!seq.length) throw new PyError('Cannot choose from an empty sequence', 'IndexError')
    return seq[Number(this.randbelow(BigInt(seq.length)))]
  }

  /** randrange(start, stop, step), integers only (as Ansible's filter passes them). */
  randrange(start: number, stop: number, step: number): number {
    const width = BigInt(stop) - BigInt(start)
    const istep = BigInt(step)
    if (istep === 1n) {
      if (width > 0n) return Number(BigInt(start) + this.randbelow(width))
      throw new PyError(`empty range for randrange() (${start}, ${stop}, ${width})`, 'ValueError')
    }
    let n: bigint
    // Python's // floors; BigInt division truncates
    const floorDiv = (a: bigint, b: bigint) => {
      const q = a / b
      return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q
    }
    if (istep > 0n) n = floorDiv(width + istep - 1n, istep)
    else if (istep < 0n) n = floorDiv(width + istep + 1n, istep)
    else throw new PyError('zero step for randrange()', 'ValueError')
    if (n <= 0n) throw new PyError('empty range for randrange()', 'ValueError')
    return Number(BigInt(start) + istep * this.randbelow(n))
  }

  shuffle<T>(x: T[]): void {
    for (let i = x.length - 1; i >= 1; i--) {
      const j = Number(this.randbelow(BigInt(i + 1)))
      ;[x[i], x[j]] = [x[j], x[i]]
    }
  }
}
