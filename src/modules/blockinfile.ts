// `blockinfile`: keeps a block of lines between two marker lines in a file (inserted, replaced
// or removed). The edit is Ansible's (editBlock, on text); the file is written atomically and only
// when the result differs, so re-runs are no-ops.
import type { Module, Plan, PlanContext } from './types.js'
import {
  argFail,
  ArgError,
  bin,
  bool,
  choice,
  groupSchema,
  modeSchema,
  moduleSchema,
  optBool,
  optStr,
  ownerSchema,
  pick,
  pyRegex,
  str,
  defineModule,
} from './lib/index.js'
import { editResult, planTextEdit, type EditResult } from './lineinfile.js'

export interface BlockArgs {
  path?: string
  dest?: string
  destfile?: string
  name?: string
  block?: string
  content?: string
  marker?: string
  marker_begin?: string
  marker_end?: string
  state?: string
  insertafter?: string
  insertbefore?: string
  create?: unknown
  backup?: unknown
  validate?: string
  mode?: unknown
  owner?: unknown
  group?: unknown
  unsafe_writes?: unknown
}

export interface BlockEdit {
  block?: string
  marker?: string
  marker_begin?: string
  marker_end?: string
  state?: 'present' | 'absent'
  insertafter?: string
  insertbefore?: string
}

/** Python's bytes.splitlines(keepends=True): breaks after \n, \r\n and lone \r. */
function splitKeep(s: string): string[] {
  return s.match(/[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$/g) ?? []
}

/** Ansible blockinfile's edit (a port of main() in ansible/modules/blockinfile.py). `text` undefined: the file does not exist. */
export function editBlock(text: string | undefined, a: BlockEdit): EditResult {
  const present = (a.state ?? 'present') === 'present'
  const lines = text === undefined ? [] : splitKeep(text)
  let insertafter = a.insertafter
  const insertbefore = a.insertbefore
  if (insertafter !== undefined && insertbefore !== undefined) throw new ArgError('parameters are mutually exclusive: insertbefore|insertafter')
  if (insertbefore === undefined && insertafter === undefined) insertafter = 'EOF'
  const insertre =
    insertafter !== undefined && insertafter !== 'EOF'
      ? pyRegex(insertafter)
      : insertbefore !== undefined && insertbefore !== 'BOF'
        ? pyRegex(insertbefore)
        : undefined
  const marker = a.marker ?? '# {mark} ANSIBLE MANAGED BLOCK'
  const marker0 = marker.split('{mark}').join(a.marker_begin ?? 'BEGIN') + '\n'
  const marker1 = marker.split('{mark}').join(a.marker_end ?? 'END') + '\n'
  let block = a.block ?? ''
  let blocklines: string[] = []
  if (present && block) {
    if (!block.endsWith('\n')) block += '\n'
    blocklines = [marker0, ...splitKeep(block), marker1]
  }
  let n0: number | undefined
  let n1: number | undefined
  lines.forEach((l, i) => {
    if (l === marker0) n0 = i
    if (l === marker1) n1 = i
  })
  if (n0 === undefined || n1 === undefined) {
    n0 = undefined
    if (insertre) {
      if (insertre.multiline) {
        const m = insertre.exec(text ?? '')
        if (m) {
          const upTo = (text ?? '').slice(0, insertafter !== undefined ? m.index + m[0].length : m.index)
          n0 = upTo.split('\n').length - 1
        }
      } else lines.forEach((l, i) => insertre.test(l) && (n0 = i))
      if (n0 === undefined) n0 = lines.length
      else if (insertafter !== undefined) n0 += 1
    } else if (insertbefore !== undefined) n0 = 0
    else n0 = lines.length
  } else if (n0 < n1) lines.splice(n0, n1 - n0 + 1)
  else {
    lines.splice(n1, n0 - n1 + 1)
    n0 = n1
  }
  if (n0 > 0 && !lines[n0 - 1].endsWith('\n')) lines[n0 - 1] += '\n'
  lines.splice(n0, 0, ...blocklines)
  const result = lines.join('')
  if (text === result) return { text: result, changed: false, msg: '' }
  if (text === undefined) return { text: result, changed: true, msg: 'File created' }
  if (blocklines.length === 0) return { text: result, changed: true, msg: 'Block removed' }
  return { text: result, changed: true, msg: 'Block inserted' }
}

export const blockinfile = defineModule<BlockArgs>({
  readAhead: true,
  name: 'blockinfile',
  commandArgs: { validate: 'shell' },
  description: 'Insert, update or remove a block of lines between marker lines in a file. Re-runs change nothing.',
  schema: moduleSchema({
    path: str('The file to edit. Aliases: dest, destfile, name.'),
    dest: str('Alias of path.'),
    destfile: str('Alias of path.'),
    name: str('Alias of path.'),
    block: str('The text to keep between the markers. Empty (or state=absent) removes the block with its markers. Alias: content.'),
    content: str('Alias of block.'),
    marker: str("The marker line template; {mark} becomes marker_begin or marker_end. Default '# {mark} ANSIBLE MANAGED BLOCK'."),
    marker_begin: str("What {mark} becomes in the first marker line (default 'BEGIN')."),
    marker_end: str("What {mark} becomes in the last marker line (default 'END')."),
    state: choice(['present', 'absent'], 'Whether the block should be there (default present).'),
    insertafter: str("Where a new block goes: after the last line matching this regexp, or 'EOF' (the default)."),
    insertbefore: str("Where a new block goes: before the last line matching this regexp, or 'BOF'."),
    create: bool('Create the file when missing. Default false: a missing file is an error.'),
    backup: bool('Keep a timestamped copy of the file before changing it (reported as `backup_file`).'),
    validate: str('Command that checks the new file before it replaces the old one; %s is the file.'),
    mode: modeSchema(),
    owner: ownerSchema(),
    group: groupSchema(),
    unsafe_writes: bool('Accepted for compatibility; writes are always atomic.'),
  }),
  plan: planBlockinfile,
  result: (plan, steps) => editResult(plan, steps, 'backup_file'),
})

async function planBlockinfile(args: BlockArgs, ctx: PlanContext): Promise<Plan> {
  try {
    const path = optStr(pick(args, 'path', 'dest', 'destfile', 'name'))
    if (path === undefined) return { status: 'fail', msg: 'missing required arguments: path' }
    const state = String(args.state ?? 'present')
    if (state !== 'present' && state !== 'absent') return { status: 'fail', msg: `state must be one of: absent, present, got: ${state}` }
    const edit: BlockEdit = {
      block: bin(optStr(pick(args, 'block', 'content')) ?? ''),
      marker: bin(optStr(args.marker) ?? '# {mark} ANSIBLE MANAGED BLOCK'),
      marker_begin: bin(optStr(args.marker_begin) ?? 'BEGIN'),
      marker_end: bin(optStr(args.marker_end) ?? 'END'),
      state,
      insertafter: args.insertafter === undefined ? undefined : bin(String(args.insertafter)),
      insertbefore: args.insertbefore === undefined ? undefined : bin(String(args.insertbefore)),
    }
    return await planTextEdit(path, args, ctx, {
      create: optBool(args.create, false, 'create'),
      missingMsg: (p) => `Path ${p} does not exist !`,
      absentMsg: `File ${path} not present`,
      edit: (text, exists) => editBlock(exists ? text : undefined, edit),
      state,
      backupKey: 'backup_file',
    })
  } catch (e) {
    return argFail(e)
  }
}
