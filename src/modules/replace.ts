// `replace`: replaces every match of a (Python) regular expression in a file, optionally only in the
// part between `after` and `before`, as Ansible's replace module does. The edit is computed on the
// controller from the file's content (replaceText, exact re.subn rules) and written atomically
// only when the text differs, so a second run is a no-op.
import type { Vars } from '../model.js'
import type { Plan } from './types.js'
import {
  argFail,
  bool,
  defineModule,
  groupSchema,
  modeSchema,
  moduleSchema,
  optStr,
  ownerSchema,
  pick,
  pyExpand,
  pyRegex,
  requireOneOf,
  str,
  alias,
} from './lib/index.js'
import { editResult, planTextEdit } from './lineinfile.js'

/**
 * Python's re.subn(pattern, repl, text) with MULTILINE: every non-overlapping match, left to right;
 * an empty match right after the previous match is allowed (Python 3.7+), an empty match where the
 * previous empty match was is not. Returns the new text and the count.
 */
export function subn(pattern: string, repl: string, text: string, flags = 'm'): [string, number] {
  const re = pyRegex(pattern, flags + 'g')
  let out = ''
  let pos = 0
  let n = 0
  let lastEmptyAt = -1
  let copied = 0
  while (pos <= text.length) {
    re.lastIndex = pos
    let m = re.exec(text)
    if (m && m[0] === '' && m.index === lastEmptyAt) {
      // must advance: no second empty match at the same place
      if (m.index + 1 > text.length) break
      re.lastIndex = m.index + 1
      m = re.exec(text)
    }
    if (!m) break
    out += text.slice(copied, m.index) + pyExpand(m, repl)
    n++
    copied = m.index + m[0].length
    if (m[0] === '') lastEmptyAt = m.index
    pos = copied
  }
  return [out + text.slice(copied), n]
}

/** Ansible's replace on a file's text: the section between after/before, re.subn in it. */
export function replaceText(
  contents: string,
  o: { regexp: string; replace?: string; after?: string; before?: string },
): { text: string; count: number; changed: boolean; msg: string } {
  let pattern = ''
  if (o.after && o.before) pattern = `${o.after}(?P<subsection>.*?)${o.before}`
  else if (o.after) pattern = `${o.after}(?P<subsection>.*)`
  else if (o.before) pattern = `(?P<subsection>.*)${o.before}`
  let section = contents
  let start = 0
  let end = contents.length
  if (pattern) {
    const m = pyRegex(pattern, 'sd').exec(contents) as (RegExpExecArray & { indices?: { groups?: Record<string, [number, number]> } }) | null
    if (!m) return { text: contents, count: 0, changed: false, msg: `Pattern for before/after params did not match the given file: ${pattern}` }
    ;[start, end] = m.indices!.groups!.subsection
    section = contents.slice(start, end)
  }
  const [replaced, count] = subn(o.regexp, o.replace ?? '', section)
  if (count > 0 && replaced !== section) {
    return { text: contents.slice(0, start) + replaced + contents.slice(end), count, changed: true, msg: `${count} replacements made` }
  }
  return { text: contents, count, changed: false, msg: '' }
}

export const replaceModule = defineModule({
  name: 'replace',
  commandArgs: { validate: 'shell' },
  description: 'Replace every match of a regular expression in a file (optionally only between `after` and `before`). Written only when the text changes.',
  readAhead: true,
  schema: moduleSchema(
    {
      path: str('The file to edit (on the host); links are followed.'),
      dest: alias('path', str('')),
      destfile: alias('path', str('')),
      name: alias('path', str('')),
      regexp: str('A Python regular expression, applied with MULTILINE: `^`/`$` match at every line; every match is replaced.'),
      replace: str('The replacement; may use `\\1`, `\\g<name>` backreferences. Default empty: matches are deleted.'),
      after: str('Only replace after the first match of this expression (DOTALL: `.` matches newlines).'),
      before: str('Only replace before the first match of this expression (DOTALL).'),
      backup: bool('Keep a timestamped copy of the file before changing it.'),
      validate: str('A command run on the new file (`%s` is its path) before it replaces the old one.'),
      encoding: str("The file's character encoding (only utf-8 is supported, Ansible's default)."),
      mode: modeSchema(),
      owner: ownerSchema(),
      group: groupSchema(),
      unsafe_writes: bool('Accepted for compatibility; the write is always atomic.'),
    },
    { allOf: [requireOneOf('path', 'dest', 'destfile', 'name'), { required: ['regexp'] }] },
  ),
  plan: async (args, ctx): Promise<Plan> => {
    try {
      const path = String(pick(args, 'path', 'dest', 'destfile', 'name'))
      const enc = optStr(args.encoding)
      if (enc !== undefined && !/^utf-?8$/i.test(enc)) return { status: 'fail', msg: `encoding ${enc}: only utf-8 is supported` }
      const o = { regexp: String(args.regexp), replace: optStr(args.replace), after: optStr(args.after), before: optStr(args.before) }
      // validate the expressions before the host is asked
      pyRegex(o.regexp)
      return await planTextEdit(path, { ...args, validate: optStr(args.validate) }, ctx, {
        create: false,
        missingMsg: (p) => `Path ${p} does not exist !`,
        absentMsg: '',
        // Text, not bytes: Ansible decodes the file (utf-8) and encodes the result again.
        edit: (bytes) => {
          const r = replaceText(Buffer.from(bytes, 'latin1').toString('utf8'), o)
          return { changed: r.changed, text: Buffer.from(r.text, 'utf8').toString('latin1'), msg: r.msg }
        },
        state: 'present',
        backupKey: 'backup_file',
      })
    } catch (e) {
      return argFail(e)
    }
  },
  result: (plan, steps): Vars => {
    const r = editResult(plan, steps, 'backup_file')
    if (plan.status !== 'fail') r.rc = 0
    if (r.backup_file === '') delete r.backup_file
    return r
  },
})
