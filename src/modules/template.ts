// `template`: renders a Jinja2 template on the controller (role's templates/ first, like Ansible)
// with the host's variables and writes the result like `copy`: compared by sha256, written
// atomically only when it differs.
import { posix } from 'node:path'
import { hostname } from 'node:os'
import { stat } from 'node:fs/promises'
import type { Module, Plan, PlanContext } from './types.js'
import { argFail, bool, choice, groupSchema, md5, modeSchema, moduleSchema, optStr, ownerSchema, pick, sha1, str, defineModule, toBool } from './lib/index.js'
import { planWrites, writeResult } from './copy.js'
import { TemplateError } from '../errors.js'
import { RenderError } from '../template/runtime.js'
import { layeredView } from '../template/views.js'

export interface TemplateArgs {
  src?: string
  dest?: string
  mode?: unknown
  owner?: unknown
  group?: unknown
  backup?: unknown
  force?: unknown
  validate?: string
  follow?: unknown
  trim_blocks?: unknown
  lstrip_blocks?: unknown
  newline_sequence?: string
  output_encoding?: string
  variable_start_string?: string
  variable_end_string?: string
  block_start_string?: string
  block_end_string?: string
  comment_start_string?: string
  comment_end_string?: string
  unsafe_writes?: unknown
}

const NEWLINES = ['\\n', '\\r', '\\r\\n'] as const

export const template = defineModule<TemplateArgs>({
  readAhead: true,
  name: 'template',
  commandArgs: { validate: 'shell' },
  controllerFiles: () => ({ src: 'read' }),
  writesWholeFile: 'dest',
  description: "Render a Jinja2 template from the controller with the host's variables and write it to the host. Writes only when the result differs.",
  sourceArgs: { src: 'templates' },
  schema: moduleSchema({
    src: str("The template file, looked up in the role's templates/ then beside the playbook (required)."),
    dest: str("Where to write the result on the host (required). Ending in '/': the template's name inside that directory."),
    mode: modeSchema(" 'preserve' gives dest the template file's mode."),
    owner: ownerSchema(),
    group: groupSchema(),
    backup: bool('Keep a timestamped copy of the file being replaced (reported as `backup_file`).'),
    force: bool('Replace dest when it differs (default true). false: only write when dest does not exist.'),
    validate: str('Command that checks the new file before it replaces dest; %s is the file.'),
    follow: bool('When dest is a symlink, write to the file it points to instead of replacing the link.'),
    trim_blocks: bool('Remove the first newline after a block tag (default true).'),
    lstrip_blocks: bool('Strip spaces and tabs before a block tag at the start of a line (default false).'),
    newline_sequence: choice(NEWLINES, "Line ending of the written file: '\\n' (default), '\\r' or '\\r\\n'."),
    output_encoding: str("Encoding of the written file (only 'utf-8' is supported)."),
    variable_start_string: str("Marks the start of an expression (default '{{')."),
    variable_end_string: str("Marks the end of an expression (default '}}')."),
    block_start_string: str("Marks the start of a block tag (default '{%')."),
    block_end_string: str("Marks the end of a block tag (default '%}')."),
    comment_start_string: str("Marks the start of a comment (default '{#')."),
    comment_end_string: str("Marks the end of a comment (default '#}')."),
    unsafe_writes: bool('Accepted for compatibility; writes are always atomic.'),
  }),
  plan: planTemplate,
  result: writeResult,
})

const OVERRIDES = [
  'trim_blocks',
  'lstrip_blocks',
  'variable_start_string',
  'variable_end_string',
  'block_start_string',
  'block_end_string',
  'comment_start_string',
  'comment_end_string',
] as const

/** Template options given as arguments, as a `#jinja2:` header (a header in the file itself wins, as in Ansible). */
export function withOverrides(text: string, args: TemplateArgs): string {
  const pairs: string[] = []
  for (const k of OVERRIDES) {
    const v = (args as Record<string, unknown>)[k]
    if (v === undefined || v === null) continue
    if (k === 'trim_blocks' || k === 'lstrip_blocks') pairs.push(`${k}: ${toPyBool(v)}`)
    else pairs.push(`${k}: ${JSON.stringify(String(v))}`)
  }
  if (pairs.length === 0) return text
  if (text.startsWith('#jinja2:')) return `#jinja2: ${pairs.join(', ')}, ${text.slice(8).trimStart()}`
  return `#jinja2: ${pairs.join(', ')}\n${text}`
}

function toPyBool(v: unknown): string {
  return toBool(v, false, 'trim_blocks/lstrip_blocks') ? 'True' : 'False'
}

async function planTemplate(args: TemplateArgs, ctx: PlanContext): Promise<Plan> {
  try {
    const src = optStr(args.src)
    const dest = optStr(args.dest)
    if (src === undefined || dest === undefined) return { status: 'fail', msg: 'src and dest are required' }
    const enc = optStr(args.output_encoding)
    if (enc !== undefined && !/^utf-?8$/i.test(enc)) return { status: 'fail', msg: `output_encoding ${enc} is not supported (utf-8 only)` }
    const found = await ctx.controller.find(src, 'templates')
    const target = dest.endsWith('/') ? posix.join(dest, posix.basename(src)) : dest
    // The host's variables as a view, not a copy: a copy would template every variable the host
    // has (a broken one the template never reads would fail it, unlike Ansible), for every item.
    const vars = layeredView(
      ctx.vars,
      {
        template_path: found.path,
        template_fullpath: found.path,
        template_destpath: target,
        template_host: hostname(),
        template_uid: String(process.getuid?.() ?? ''),
        template_run_date: new Date().toISOString(),
      },
      // Ansible's default; a user-defined ansible_managed wins.
      { ansible_managed: 'Ansible managed' },
    )
    let text: string
    try {
      text = ctx.controller.render(withOverrides(found.content.toString('utf8'), args), vars, found.path)
    } catch (e) {
      // Ansible's template action reports "<exception type>: <message>"
      const c = e instanceof TemplateError ? e.cause : undefined
      if (c instanceof RenderError && c.pyType) return { status: 'fail', msg: `${c.pyType}: ${c.message}` }
      throw e
    }
    const nl = String(pick(args, 'newline_sequence') ?? '\\n')
    const seq = nl === '\\r\\n' ? '\r\n' : nl === '\\r' ? '\r' : '\n'
    if (seq !== '\n') text = text.replace(/\r?\n/g, seq)
    const content = Buffer.from(text, 'utf8')
    let srcMode: string | undefined
    if (args.mode === 'preserve') {
      srcMode = ((await stat(found.path)).mode & 0o7777).toString(8).padStart(4, '0')
    }
    return await planWrites([{ dest: target, content, srcMode }], [], args, ctx, {
      dest: target,
      src: found.path,
      checksum: sha1(content),
      md5sum: md5(content),
    })
  } catch (e) {
    return argFail(e)
  }
}
