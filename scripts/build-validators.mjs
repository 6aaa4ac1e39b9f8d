// Part of `npm run build`: writes ajv's standalone code for every schema the loader validates with
// (plays, blocks, task/handler/role keywords, role meta, each module's arguments) to
// dist/playbook/validators/<content key>.cjs, so the CLI does not load ajv or compile schemas at
// start-up. A schema without a prebuilt file (one changed since the build) is compiled at run time.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(join(root, 'package.json'))
const standaloneCode = require('ajv/dist/standalone').default
const schema = await import(join(root, 'dist/playbook/schema.js'))
const { getModule, moduleNames } = await import(join(root, 'dist/modules/registry.js'))

// The loader's own compositions (src/playbook/load.ts): same shape and key order, same content key.
const schemas = [
  schema.PLAY_SCHEMA,
  schema.BLOCK_SCHEMA,
  schema.ROLE_META_SCHEMA,
  { type: 'object', properties: schema.ROLE_ENTRY_KEYWORDS },
  { type: 'object', properties: schema.TASK_KEYWORDS },
  { type: 'object', properties: schema.HANDLER_KEYWORDS },
  ...new Set(moduleNames().map((n) => getModule(n).schema)),
]

const out = join(root, 'dist/playbook/validators')
// Files are named by content, so old ones are harmless and builds running at once don't clash:
// nothing is removed, and each file appears whole (written aside, then renamed).
mkdirSync(out, { recursive: true })
const written = new Set()
for (const s of schemas) {
  const key = schema.schemaKey(s)
  if (written.has(key)) continue
  const ajv = schema.getAjv({ source: true })
  const tmp = join(out, `.${key}.${process.pid}.tmp`)
  writeFileSync(tmp, standaloneCode(ajv, ajv.compile(s)))
  renameSync(tmp, join(out, `${key}.cjs`))
  written.add(key)
}
// The current set, for the bundle (scripts/bundle.mjs), which carries these and no others.
writeFileSync(join(out, 'manifest.json'), JSON.stringify([...written].sort()) + '\n')
process.stdout.write(`prebuilt ${written.size} schema validators in dist/playbook/validators\n`)
