// Writing files on a host: the atomic write step (connection/atomic.ts's script with the module's
// attributes, validation and backup), backups, and the path info printed after a change.
import { atomicWriteScript } from '../../connection/atomic.js'
import { shQuote } from '../../connection/quote.js'
import type { Vars } from '../../model.js'
import type { PathEffect, Step, StepResult } from '../types.js'
import { ArgError } from './args.js'
import { attrLines, chmodSpec } from './mode.js'

export { atomicWriteScript, type AtomicWrite } from '../../connection/atomic.js'

export const BACKUP_MARK = '#k3sbook-backup '

/**
 * Shell lines that copy `path` to Ansible's backup name (`path.PID.YYYY-MM-DD@HH:MM:SS~`) and print
 * the name after BACKUP_MARK, so the registered result carries `backup_file`.
 */
export function backupLines(path: string, word = shQuote(path)): string[] {
  return [
    `if [ -e ${word} ]; then`,
    `  b=${word}."$$".$(date +%Y-%m-%d@%H:%M:%S)~`,
    `  cp -p -- ${word} "$b" || exit 1`,
    `  printf '${BACKUP_MARK}%s\\n' "$b"`,
    'fi',
  ]
}

export function backupFromSteps(steps: StepResult[] | undefined): string | undefined {
  for (const s of steps ?? []) {
    for (const line of s.stdout.toString('utf8').split('\n')) if (line.startsWith(BACKUP_MARK)) return line.slice(BACKUP_MARK.length)
  }
  return undefined
}

export interface WriteOptions {
  /** Wanted mode (normalized) or undefined to keep the existing one (or the umask default for a new file). */
  mode?: string
  owner?: string
  group?: string
  backup?: boolean
  /** Command run on the temp file before it replaces the target; `%s` is the temp file's path. */
  validate?: string
  /** Where the bytes come from: stdin (default) or a file on the host (remote_src). */
  fromPath?: string
  /** Ensure the parent directory exists (blockinfile/lineinfile create=true). */
  mkdirParent?: boolean
  /** Write through a symlink at the target to the file it points to (lineinfile, blockinfile, copy follow=true). */
  followLink?: boolean
}

/**
 * One step that writes `dest` atomically (connection/atomic.ts: temp file beside it, size check,
 * clean-up on hang-up, mode and owner of the replaced file kept), with new attributes, optional
 * validation and an optional backup before the rename. Every module that writes a file uses it.
 */
export function writeFileStep(
  dest: string,
  content: Buffer | undefined,
  o: WriteOptions & { describe?: string; effectMode?: string; effectContent?: Buffer; sha?: string },
): Step {
  const before = attrLines('"$t"', { mode: o.mode, owner: o.owner, group: o.group })
  if (o.validate) {
    if (!o.validate.includes('%s')) throw new ArgError(`validate must contain %s: ${o.validate}`)
    // %s is replaced by the quoted temp path; the rest is the user's shell command, as in Ansible.
    before.push(
      `set +e`,
      `${o.validate.split('%s').join('"$t"')}`,
      'rc=$?',
      'set -e',
      'if [ $rc -ne 0 ]; then echo "failed to validate (rc=$rc)" >&2; exit 3; fi',
    )
  }
  if (o.backup) before.push(...backupLines(dest, '"$d"'))
  const script = atomicWriteScript(dest, {
    size: o.fromPath === undefined ? (content?.length ?? 0) : undefined,
    fromPath: o.fromPath,
    followLink: o.followLink,
    mkdirParent: o.mkdirParent,
    beforeRename: before,
    setsMode: o.mode !== undefined && /^[0-7]+$/.test(chmodSpec(o.mode)),
    setsOwner: o.owner !== undefined && o.group !== undefined,
  })
  const effect: PathEffect = { path: dest, state: 'file', mode: o.effectMode ?? o.mode, owner: o.owner, group: o.group }
  if (o.effectContent ?? content) effect.content = o.effectContent ?? content
  if (o.sha) effect.sha256 = o.sha
  return {
    describe: o.describe ?? `write ${dest}`,
    script,
    stdin: o.fromPath !== undefined ? undefined : content,
    effects: [effect],
  }
}

const STAT_MARK = '#k3sbook-stat '

/**
 * A line appended to a step: prints the path's attributes after the change, for the registered
 * result, as Ansible's add_path_info reads them: the path itself (lstat: a link is `link`, with
 * its own mode and size), a file with more than one link `hard`, nothing for a path that does not
 * exist once links are followed.
 */
export function statLine(word: string): string {
  // (os.path.exists follows the link: a dangling one gets no attributes)
  return `{ [ -e ${word} ] && stat -c '${STAT_MARK}%F|%a|%U|%G|%u|%g|%s|%h' -- ${word}; } 2>/dev/null || true`
}

/** Ansible's path info (state, mode, owner, group, uid, gid, size) from statLine output, if any. */
export function statFromSteps(steps: StepResult[] | undefined): Vars | undefined {
  let found: Vars | undefined
  for (const s of steps ?? []) {
    for (const line of s.stdout.toString('utf8').split('\n')) {
      if (!line.startsWith(STAT_MARK)) continue
      const [kind, mode, owner, group, uid, gid, size, links] = line.slice(STAT_MARK.length).split('|')
      found = {
        state: kind === 'symbolic link' ? 'link' : kind === 'directory' ? 'directory' : Number(links) > 1 ? 'hard' : 'file',
        mode: mode.padStart(4, '0'),
        owner,
        group,
        uid: Number(uid),
        gid: Number(gid),
        size: Number(size),
      }
    }
  }
  return found
}
