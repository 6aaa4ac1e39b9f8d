// The one atomic file write on a host: every module that writes a file and every upload goes
// through this script, so all of them give the same guarantees:
// - the bytes go into a temp file beside the target (same file system: the rename is atomic);
// - content sent on stdin must arrive whole (a controller killed mid-transfer still ends the
//   channel's input, and the host's shell would go on with a truncated temp file);
// - a hang-up (the SSH session closed under us) or a signal exits through the EXIT trap, which
//   removes the temp file; the target is left as it was;
// - the file being replaced keeps its mode and owner unless new ones are set, a new file gets the
//   umask's default mode (mktemp makes 0600 files);
// - `mv -T`: never a move *into* a directory that happens to sit at the target's name.
// Where the script reaches no process's arguments (over SSH without become or timeout: the
// long-lived shell evaluates it), small content goes inside the script itself (inlineWrite),
// written by printf, a builtin of every POSIX shell: no base64, cat or wc process and no pipe
// (three processes fewer per file: on a first run the hosts' process starts are most of its
// time). It cannot arrive short: a script cut off mid-transfer ends inside a quoted word, which the
// shell refuses to run, and a printf that cannot write (a full disk) fails under `set -e` before
// the rename. With become the script is an argument of `sh -c` (visible in `ps`, logged by sudo):
// the content then stays on stdin.
import { shQuote } from './quote.js'

/**
 * Content whose printf format (printfFormat) is at most this long goes inside the script. With
 * become the whole script is one argument of `sh -c` (sudo, su), and Linux takes at most 128 KiB in
 * one argument: the bound keeps every script well under it.
 */
export const INLINE_MAX = 32 * 1024

/**
 * A printf format that prints exactly `b`: printable ASCII as itself, newline and tab as
 * themselves, `%` and `\\` doubled, every other byte (NUL, the quote, bytes above 0x7e, and a
 * leading `-`, which printf would take for an option) as a three-digit octal escape, which POSIX
 * printf, dash, bash and BusyBox all read the same way.
 * No single quote is left in it, so quoting it again (become) does not make it grow.
 */
export function printfFormat(b: Buffer): string {
  let out = ''
  let run = 0
  for (let i = 0; i < b.length; i++) {
    const c = b[i]
    // a leading "-" would be read as an option of printf
    const plain = ((c >= 0x20 && c <= 0x7e && c !== 0x25 && c !== 0x5c && c !== 0x27) || c === 0x0a || c === 0x09) && !(i === 0 && c === 0x2d)
    if (plain) continue
    out += b.toString('latin1', run, i) + (c === 0x25 ? '%%' : c === 0x5c ? '\\\\' : '\\' + c.toString(8).padStart(3, '0'))
    run = i + 1
  }
  return out + b.toString('latin1', run)
}

export interface AtomicWrite {
  /** The byte count stdin must deliver; checked before the rename. Omitted only with `fromPath` or `tempFile`. */
  size?: number
  /** Copy from this path on the host instead of stdin. */
  fromPath?: string
  /**
   * The content is already in this temp file beside the target (a shell word, e.g. "$tmp": a
   * download): it becomes "$t", is removed on failure and renamed into place on success.
   */
  tempFile?: string
  /** Write through a symlink at the target to the file it points to. */
  followLink?: boolean
  /** Make the parent directory first. */
  mkdirParent?: boolean
  /**
   * Lines run after the content and the kept attributes are on the temp file and before the
   * rename: "$t" is the temp file, "$d" the target (chown/chmod, validation, a backup copy).
   * Under `set -e`: a failing line leaves the target as it was.
   */
  beforeRename?: string[]
  /** Lines run after the rename (printing what was written). */
  after?: string[]
  /** chmod "$t" to this mode before the rename (and before beforeRename's lines). */
  mode?: string
  /**
   * beforeRename sets an absolute mode (octal) and both owner and group on "$t": the kept or
   * default ones need not be put there first (four processes fewer for a file replaced, one for a
   * new file: every write of a first run). An octal `mode` sets setsMode itself.
   */
  setsMode?: boolean
  setsOwner?: boolean
}

/** The script: `set -e`, `$d` the target, `$t` the temp file. */
export function atomicWriteScript(dest: string, o: AtomicWrite): string {
  if (o.fromPath === undefined && o.tempFile === undefined && o.size === undefined)
    throw new Error(`atomic write of ${dest}: the content's size is needed (the check against a short write)`)
  const lines = ['set -e', `d=${shQuote(dest)}`]
  // No $(dirname …): command substitution would eat trailing newlines of a directory name.
  if (o.followLink) lines.push('if [ -L "$d" ]; then d=$(readlink -f -- "$d"; printf x); d=${d%??}; fi')
  lines.push('case $d in */*) dir=${d%/*}; [ -n "$dir" ] || dir=/ ;; *) dir=. ;; esac')
  if (o.mkdirParent) lines.push('mkdir -p -- "$dir"')
  lines.push(
    o.tempFile !== undefined ? `t=${o.tempFile}` : 't=$(mktemp "$dir/.k3sbook.XXXXXXXX")',
    'trap \'rm -f -- "$t"\' EXIT',
    "trap 'exit 129' HUP INT TERM PIPE",
  )
  if (o.fromPath !== undefined) lines.push(`cat -- ${shQuote(o.fromPath)} > "$t"`)
  else if (o.tempFile === undefined) lines.push(readStdin(0)[0])
  if (o.size !== undefined) lines.push(readStdin(o.size)[1])
  const setsMode = o.setsMode || /^[0-7]+$/.test(o.mode ?? '')
  // Both kept: one stat for the two (a process fewer for every file replaced).
  const onExisting =
    !setsMode && !o.setsOwner
      ? ['  k3sb_m=$(stat -L -c \'%a %u:%g\' -- "$d")', '  chmod "${k3sb_m% *}" "$t"', '  chown "${k3sb_m#* }" "$t" 2>/dev/null || true']
      : [
          ...(setsMode ? [] : ['  chmod "$(stat -L -c %a -- "$d")" "$t"']),
          ...(o.setsOwner ? [] : ['  chown "$(stat -L -c %u:%g -- "$d")" "$t" 2>/dev/null || true']),
        ]
  const onNew = setsMode ? [] : ['  chmod "$(printf %o $((0666 & ~$(umask))))" "$t"']
  if (onExisting.length && onNew.length) lines.push('if [ -e "$d" ]; then', ...onExisting, 'else', ...onNew, 'fi')
  else if (onExisting.length) lines.push('if [ -e "$d" ]; then', ...onExisting, 'fi')
  else if (onNew.length) lines.push('if [ ! -e "$d" ]; then', ...onNew, 'fi')
  if (o.mode) lines.push(`chmod ${shQuote(o.mode)} "$t"`)
  lines.push(...(o.beforeRename ?? []))
  lines.push('mv -Tf -- "$t" "$d"', 'trap - EXIT', ...(o.after ?? []))
  return lines.join('\n') + '\n'
}

/** The lines that take the content from stdin into "$t" (after the mktemp line), size-checked. */
function readStdin(size: number): string[] {
  return ['cat > "$t"', `[ $(wc -c < "$t") -eq ${size} ] || { printf '%s\\n' "short write: the content did not arrive whole; $d left as it was" >&2; exit 1; }`]
}

/**
 * The atomic write `script` (atomicWriteScript with `size`) with `content` inside it instead of on
 * stdin, or undefined when the script is not one or the content is too large (INLINE_MAX). Only for
 * a script that no process gets as an argument (ExecOptions.inline).
 */
export function inlineWrite(script: string, content: Buffer | string): string | undefined {
  const bytes = Buffer.isBuffer(content) ? content : Buffer.from(content)
  if (bytes.length > INLINE_MAX) return undefined
  const reads = readStdin(bytes.length).join('\n') + '\n'
  const at = script.indexOf('\n' + reads)
  if (at < 0 || !script.startsWith('set -e\n') || script.indexOf('\n' + reads, at + 1) >= 0) return undefined
  const format = printfFormat(bytes)
  if (format.length > INLINE_MAX) return undefined
  // printf (dash's) says only "I/O error" when the disk is full: say what GNU cat would.
  const failed =
    `{ k3sb_f=$(df -Pk -- "$dir" 2>/dev/null | awk 'NR == 2 { print $4 }'); ` +
    `if [ -n "$k3sb_f" ] && [ "$k3sb_f" -le ${Math.ceil(bytes.length / 1024)} ]; then printf '%s\\n' "No space left on device: $d needs ${bytes.length} bytes" >&2; ` +
    `else printf '%s\\n' "the content could not be written beside $d" >&2; fi; exit 1; }`
  return script.slice(0, at + 1) + `printf ${shQuote(format)} > "$t" || ${failed}\n` + script.slice(at + 1 + reads.length)
}

/** Whether a script is this atomic write (its rename line), for callers that look at steps. */
export function isAtomicWrite(script: string): boolean {
  return /\bmv -Tf -- "\$t" "\$d"/.test(script)
}
