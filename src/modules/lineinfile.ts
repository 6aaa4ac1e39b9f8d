// `lineinfile`: makes sure one line is in a file (or not), found by regexp, search_string or exact
// text. The edit is computed on the controller from the file's current content (Ansible's exact
// rules, in editLines) and written atomically only when the result differs, so re-runs are no-ops.
import type { Vars } from '../model.js'
import type { FileInfo, Module, Plan, PlanContext, Step, StepResult } from './types.js'
import {
  argFail,
  ArgError,
  attrChanges,
  attrStep,
  backupFromSteps,
  bin,
  bool,
  choice,
  fileDiff,
  groupSchema,
  modeSchema,
  moduleSchema,
  optBool,
  optStr,
  ownerSchema,
  pick,
  pyExpand,
  pyRegex,
  sha256,
  str,
  unbin,
  writeFileStep,
  defineModule,
} from './lib/index.js'
import { trimEndOf } from '../text.js'

export interface LineArgs {
  path?: string
  dest?: string
  destfile?: string
  name?: string
  line?: string
  value?: string
  regexp?: string
  regex?: string
  search_string?: string
  state?: string
  insertafter?: string
  insertbefore?: string
  create?: unknown
  backrefs?: unknown
  backup?: unknown
  firstmatch?: unknown
  validate?: string
  mode?: unknown
  owner?: unknown
  group?: unknown
  unsafe_writes?: unknown
}

export interface LineEdit {
  line?: string
  regexp?: string
  search_string?: string
  state?: 'present' | 'absent'
  insertafter?: string
  insertbefore?: string
  backrefs?: boolean
  firstmatch?: boolean
}

export interface EditResult {
  text: string
  changed: boolean
  msg: string
  /** state=absent: how many lines were removed. */
  found?: number
}

/** Python's bytes.readlines(): split after each "\n", keeping it. */
function readlines(text: string): string[] {
  const out: string[] = []
  let start = 0
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', start)) {
    out.push(text.slice(start, i + 1))
    start = i + 1
  }
  if (start < text.length) out.push(text.slice(start))
  return out
}

const rstripNl = (s: string) => trimEndOf(s, '\r\n')

/**
 * Ansible lineinfile's edit on the file's text (a port of present()/absent() in
 * ansible/modules/lineinfile.py, kept line for line so corner cases match).
 */
export function editLines(text: string, a: LineEdit): EditResult {
  const lines = readlines(text)
  const state = a.state ?? 'present'
  if (state === 'absent') {
    if (a.regexp === undefined && a.search_string === undefined && a.line === undefined)
      throw new ArgError('one of line, search_string, or regexp is required with state=absent')
    const re = a.regexp !== undefined ? pyRegex(a.regexp) : undefined
    let found = 0
    const kept = lines.filter((l) => {
      const hit = re ? re.test(l) : a.search_string !== undefined ? l.includes(a.search_string) : a.line === rstripNl(l)
      if (hit) found++
      return !hit
    })
    return { text: kept.join(''), changed: found > 0, msg: found > 0 ? `${found} line(s) removed` : '', found }
  }

  if (a.backrefs && a.regexp === undefined) throw new ArgError('regexp is required with backrefs=true')
  if (a.line === undefined) throw new ArgError('line is required with state=present')
  const line = a.line
  let insertafter = a.insertafter
  const insertbefore = a.insertbefore
  if (insertafter === undefined && insertbefore === undefined) insertafter = 'EOF'
  const reM = a.regexp !== undefined ? pyRegex(a.regexp) : undefined
  const reIns =
    insertafter !== undefined && insertafter !== 'BOF' && insertafter !== 'EOF'
      ? pyRegex(insertafter)
      : insertbefore !== undefined && insertbefore !== 'BOF'
        ? pyRegex(insertbefore)
        : undefined

  const index = [-1, -1]
  let match: RegExpExecArray | boolean | undefined
  let exact = false
  if (reM) {
    for (let i = 0; i < lines.length; i++) {
      const m = reM.exec(lines[i])
      if (m) {
        index[0] = i
        match = m
        if (a.firstmatch) break
      }
    }
  }
  if (a.search_string !== undefined) {
    for (let i = 0; i < lines.length; i++) {
      if (lines[i].includes(a.search_string)) {
        index[0] = i
        match = true
        if (a.firstmatch) break
      }
    }
  }
  if (!match) {
    for (let i = 0; i < lines.length; i++) {
      if (line === rstripNl(lines[i])) {
        index[0] = i
        exact = true
      } else if (reIns && reIns.test(lines[i])) {
        if (insertafter) {
          index[1] = i + 1
          if (a.firstmatch) break
        }
        if (insertbefore) {
          index[1] = i
          if (a.firstmatch) break
        }
      }
    }
  }

  let msg = ''
  let changed = false
  const add = (at: number) => {
    lines.splice(at, 0, line + '\n')
    msg = 'line added'
    changed = true
  }
  if (index[0] !== -1) {
    let newLine = a.backrefs && match && typeof match !== 'boolean' ? pyExpand(match, line) : line
    if (!newLine.endsWith('\n')) newLine += '\n'
    if (a.regexp === undefined && a.search_string === undefined && !match && !exact) {
      // Unreachable in practice (index[0] is only set by a match or an exact line), kept as in Ansible.
    } else if (lines[index[0]] !== newLine) {
      lines[index[0]] = newLine
      msg = 'line replaced'
      changed = true
    }
  } else if (a.backrefs) {
    // Without a regexp match there is nothing to fill the backrefs with: Ansible does nothing.
  } else if (insertbefore === 'BOF' || insertafter === 'BOF') {
    add(0)
  } else if (insertafter === 'EOF' || index[1] === -1) {
    if (lines.length && !/[\n\r]$/.test(lines[lines.length - 1])) lines.push('\n')
    lines.push(line + '\n')
    msg = 'line added'
    changed = true
  } else if (insertafter && index[1] !== -1) {
    if (lines.length === index[1]) {
      if (rstripNl(lines[index[1] - 1]) !== line) {
        lines.push(line + '\n')
        msg = 'line added'
        changed = true
      }
    } else if (line !== rstripNl(lines[index[1]])) add(index[1])
  } else {
    add(index[1])
  }
  return { text: lines.join(''), changed, msg }
}

export const lineinfile = defineModule<LineArgs>({
  readAhead: true,
  name: 'lineinfile',
  commandArgs: { validate: 'shell' },
  description: 'Ensure a line is present in a file (replacing the line a regexp or search_string matches), or absent. Re-runs change nothing.',
  schema: moduleSchema({
    path: str('The file to edit. Aliases: dest, destfile, name.'),
    dest: str('Alias of path.'),
    destfile: str('Alias of path.'),
    name: str('Alias of path.'),
    line: str('The line to put in the file (state=present). With backrefs, may use \\1 or \\g<name> from regexp.'),
    value: str('Alias of line.'),
    regexp: str(
      'Python regular expression looked for in every line: with state=present the last matching line is replaced (the first with firstmatch); with state=absent all matching lines are removed.',
    ),
    regex: str('Alias of regexp.'),
    search_string: str('Literal text looked for in every line, like regexp but without regular-expression meaning.'),
    state: choice(['present', 'absent'], 'Whether the line should be there (default present).'),
    insertafter: str("Where a new line goes when nothing matched: after the last line matching this regexp, or 'EOF' (the default) / 'BOF'."),
    insertbefore: str("Where a new line goes when nothing matched: before the last line matching this regexp, or 'BOF'."),
    create: bool('Create the file when missing (state=present). Default false: a missing file is an error.'),
    backrefs: bool('Expand backreferences of regexp in line; when regexp matches nothing, the file is left alone.'),
    backup: bool('Keep a timestamped copy of the file before changing it (reported as `backup`).'),
    firstmatch: bool('Use the first line that matches regexp or insertafter/insertbefore instead of the last.'),
    validate: str('Command that checks the new file before it replaces the old one; %s is the file (e.g. `visudo -cf %s`).'),
    mode: modeSchema(),
    owner: ownerSchema(),
    group: groupSchema(),
    unsafe_writes: bool('Accepted for compatibility; writes are always atomic.'),
  }),
  plan: planLineinfile,
  result: (plan, steps) => editResult(plan, steps, 'backup'),
})

async function planLineinfile(args: LineArgs, ctx: PlanContext): Promise<Plan> {
  try {
    const path = optStr(pick(args, 'path', 'dest', 'destfile', 'name'))
    if (path === undefined) return { status: 'fail', msg: 'missing required arguments: path' }
    const state = String(args.state ?? 'present')
    if (state !== 'present' && state !== 'absent') return { status: 'fail', msg: `state must be one of: absent, present, got: ${state}` }
    if (args.insertafter !== undefined && args.insertbefore !== undefined)
      return { status: 'fail', msg: 'parameters are mutually exclusive: insertafter|insertbefore' }
    const edit: LineEdit = {
      line: optStr(pick(args, 'line', 'value')),
      regexp: optStr(pick(args, 'regexp', 'regex')),
      search_string: optStr(args.search_string),
      state,
      insertafter: optStr(args.insertafter),
      insertbefore: optStr(args.insertbefore),
      backrefs: optBool(args.backrefs, false, 'backrefs'),
      firstmatch: optBool(args.firstmatch, false, 'firstmatch'),
    }
    if (edit.regexp !== undefined && edit.search_string !== undefined) return { status: 'fail', msg: 'parameters are mutually exclusive: regexp|search_string' }
    // Ansible's module warns (in the result's `warnings`) when regexp or search_string is empty.
    const warning =
      edit.regexp === '' || edit.search_string === ''
        ? `The ${edit.regexp === '' ? 'regular expression' : 'search string'} is an empty string, which will match every line in the file. ` +
          'This may have unintended consequences, such as replacing the last line in the file rather than appending.' +
          (edit.regexp === '' ? " If this is desired, use '^' to match every line in the file and avoid this warning." : '')
        : undefined
    const plan = await planTextEdit(path, args, ctx, {
      create: optBool(args.create, false, 'create'),
      missingMsg: (p) => `Destination ${p} does not exist !`,
      absentMsg: 'file not present',
      edit: (text) => {
        // Byte-wise, as Ansible's: file and arguments as one char per byte.
        const e = {
          ...edit,
          line: edit.line && bin(edit.line),
          regexp: edit.regexp && bin(edit.regexp),
          search_string: edit.search_string && bin(edit.search_string),
          insertafter: edit.insertafter && bin(edit.insertafter),
          insertbefore: edit.insertbefore && bin(edit.insertbefore),
        }
        return editLines(text, e)
      },
      state,
      backupKey: 'backup',
    })
    if (warning !== undefined) plan.result = { ...plan.result, warnings: [warning] }
    return plan
  } catch (e) {
    return argFail(e)
  }
}

/** Shared by lineinfile and blockinfile: read the file, edit its text, write atomically, fix attributes. */
export async function planTextEdit(
  path: string,
  args: { mode?: unknown; owner?: unknown; group?: unknown; backup?: unknown; validate?: string },
  ctx: PlanContext,
  o: {
    create: boolean
    missingMsg: (p: string) => string
    absentMsg: string
    edit: (text: string, exists: boolean) => EditResult
    state: string
    backupKey: 'backup' | 'backup_file'
    createdMsg?: string
  },
): Promise<Plan> {
  const info = (await ctx.reader.files([path], { content: true, sha256: true, follow: true })).get(path) as FileInfo
  if (info.unknown) return { status: 'unknown', reason: `${path}: ${info.unknown}`, steps: [] }
  if (info.exists && info.type === 'directory') return { status: 'fail', msg: `Path ${path} is a directory !`, result: { rc: 256 } }
  if (!info.exists) {
    if (o.state === 'absent') return { status: 'ok', result: { msg: o.absentMsg, changed: false } }
    if (!o.create) return { status: 'fail', msg: o.missingMsg(path), result: { rc: 257 } }
  }
  if (info.exists && info.content === undefined) {
    // In check mode an earlier step may write this file with bytes the plan can't see (remote_src).
    if (ctx.reader.hasPending?.()) return { status: 'unknown', reason: `${path}: its content depends on an earlier step that was not run`, steps: [] }
    return { status: 'fail', msg: `${path}: cannot read the file (permission denied?)` }
  }
  const before = info.exists ? bin(info.content!) : ''
  const r = o.edit(before, info.exists)
  const steps: Step[] = []
  const changes = []
  let msg = r.msg
  const backup = optBool(args.backup, false, 'backup')
  // A new file gets the wanted attributes in the same write; an existing one keeps its own unless told.
  const attrs = attrChanges(info.exists ? info : undefined, args)
  if (r.changed) {
    const content = unbin(r.text)
    const mode = attrs.mode
    steps.push(
      writeFileStep(path, content, {
        mode,
        owner: attrs.owner,
        group: attrs.group,
        backup: backup && info.exists,
        validate: optStr(args.validate),
        mkdirParent: !info.exists,
        followLink: true,
        effectMode: attrs.effectMode ?? (info.exists ? info.mode : undefined),
        sha: sha256(content),
        describe: `edit ${path}`,
      }),
    )
    changes.push({
      summary: info.exists ? `edit ${path}: ${r.msg}` : `create ${path}`,
      diff: ctx.diff ? fileDiff(path, info.content, content, info.exists ? info.size : undefined) : undefined,
    })
    if (info.exists && attrs.changes.length) {
      changes.push(...attrs.changes)
      msg += ' and ownership, perms or SE linux context changed'
    }
  } else if (info.exists && attrs.changes.length) {
    steps.push(attrStep(path, info, attrs))
    changes.push(...attrs.changes)
    msg = msg ? `${msg} and ownership, perms or SE linux context changed` : 'ownership, perms or SE linux context changed'
  }
  const result: Vars = { msg, [o.backupKey]: '' }
  if (r.found !== undefined) result.found = r.found
  if (!info.exists && o.createdMsg) result.msg = o.createdMsg
  if (steps.length === 0) return { status: 'ok', result: { ...result, changed: false } }
  return { status: 'change', changes, steps, result }
}

export function editResult(plan: Plan, steps: StepResult[] | undefined, backupKey: 'backup' | 'backup_file'): Vars {
  const base = (plan.result ?? {}) as Vars
  if (plan.status === 'fail') return { changed: false, failed: true, ...base, msg: plan.msg }
  if (plan.status === 'ok') return { changed: false, failed: false, ...base }
  if (plan.status === 'skip') return { changed: false, skipped: true, msg: plan.reason }
  const b = backupFromSteps(steps)
  const r: Vars = { ...base, changed: true, failed: false }
  if (b) r[backupKey] = b
  else if (backupKey === 'backup_file') delete r.backup_file
  return r
}
