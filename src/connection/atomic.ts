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
import { shQuote } from './quote.js'

export interface AtomicWrite {
  /** The byte count stdin must deliver; checked before the rename. Omitted only with `fromPath`. */
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
  else if (o.tempFile === undefined) lines.push('cat > "$t"')
  if (o.size !== undefined)
    lines.push(`[ $(wc -c < "$t") -eq ${o.size} ] || { printf '%s\\n' "short write: the content did not arrive whole; $d left as it was" >&2; exit 1; }`)
  const setsMode = o.setsMode || /^[0-7]+$/.test(o.mode ?? '')
  const onExisting = [
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

/** Whether a script is this atomic write (its rename line), for callers that look at steps. */
export function isAtomicWrite(script: string): boolean {
  return /\bmv -Tf -- "\$t" "\$d"/.test(script)
}
