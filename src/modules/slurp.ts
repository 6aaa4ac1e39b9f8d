// slurp: reads a file on the host into a registered variable (base64, as Ansible returns it).
// Read-only: always ok, never changed.
import type { Module } from './types.js'
import { alias, guardPlan, moduleSchema, pick, requireOneOf, str, defineModule } from './lib/index.js'
import { hostReadLimit, tooLarge } from './lib/limits.js'

const src = str('File on the host to read.')

export const slurpSchema = moduleSchema({ src, path: alias('src', src) }, requireOneOf('src', 'path'))

export const slurpModule = defineModule({
  readAhead: true,
  resultAfterRun: true,
  name: 'slurp',
  description: 'Reads a file from the host into a variable (base64 `content`).',
  schema: slurpSchema,
  plan: (args, ctx) =>
    guardPlan(async () => {
      const src = String(pick(args, 'src', 'path'))
      const limit = hostReadLimit()
      // files larger than the limit are not read (the probe checks the size before base64)
      const info = (await ctx.reader.files([src], { content: limit, follow: true })).get(src)!
      if (!info.exists) return { status: 'fail', msg: `file not found: ${src}` }
      if (info.type === 'directory') return { status: 'fail', msg: `source is a directory and must be a file: ${src}` }
      if (!info.content && info.size !== undefined && info.size > limit)
        return { status: 'fail', msg: `slurp: ${tooLarge(src, info.size, limit)}; fetch copies a file to the controller` }
      if (!info.content) return { status: 'fail', msg: info.unknown ?? `file is not readable: ${src}` }
      return { status: 'ok', result: { content: info.content.toString('base64'), encoding: 'base64', source: src, changed: false } }
    }),
})
