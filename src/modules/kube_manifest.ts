// kube_manifest (k3sbook): Kubernetes manifests placed in K3S's auto-deploy folder on a server,
// from YAML text, a template, or a HelmChart (helm.cattle.io/v1) built from chart/repo/version/
// values. The objects are validated before anything is written; the file changes only when its
// content's sha does. K3S names an AddOn object after the file, so the file name must be a valid
// Kubernetes object name.
import { parseAllDocuments, stringify } from 'yaml'
import { shQuote } from '../connection/quote.js'
import type { Module } from './types.js'
import {
  fileDiff,
  MAX_DIFF_SIZE,
  ArgError,
  bool,
  dict,
  guardPlan,
  modeSchema,
  moduleSchema,
  sha256,
  str,
  modeArg,
  attrSummaries,
  writeFileStep,
  defineModule,
  toBool,
} from './lib/index.js'

export const MANIFESTS_DIR = '/var/lib/rancher/k3s/server/manifests'

export const kubeManifestSchema = moduleSchema({
  name: str(
    "File name without .yaml (lower-case letters, digits, `-`, `.`), written to DEST/NAME.yaml; K3S names its AddOn after it. Default: the HelmChart's name, or the single object's metadata.name.",
  ),
  content: { description: 'Manifests: YAML text (documents separated by ---), one object, or a list of objects.' },
  src: str("A template (role's templates/) that renders to the manifests."),
  chart: str('Build a K3S `HelmChart` (helm.cattle.io/v1) for this chart: a chart name in `repo`, `repo/chart`, or a URL of a .tgz.'),
  repo: str('Helm repository URL (spec.repo).'),
  version: str('Chart version (spec.version).'),
  namespace: str("Namespace of the HelmChart object itself. Default kube-system (K3S's helm controller watches it)."),
  target_namespace: str('Namespace the chart is installed into (spec.targetNamespace).'),
  create_namespace: bool('Create the target namespace when missing (spec.createNamespace).'),
  values: dict('Chart values (→ spec.valuesContent as YAML text).'),
  set: dict('Individual values (spec.set), e.g. {"replicas": "2"}.'),
  helm_version: str('Helm major version (spec.helmVersion), e.g. v3.'),
  bootstrap: bool('Install before the cluster has nodes ready (spec.bootstrap).'),
  release_name: str('HelmChart object name (the Helm release name). Default: the chart name.'),
  state: { type: 'string', enum: ['present', 'absent'], description: 'Default: present. `absent` removes the file (K3S then uninstalls what it deployed).' },
  dest: str(`Directory for the manifest file. Default ${MANIFESTS_DIR}.`),
  mode: modeSchema(' Default 0600.'),
})

const NAME_RE = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/

export interface KubeObject {
  apiVersion: string
  kind: string
  metadata: { name: string; namespace?: string; [k: string]: unknown }
  [k: string]: unknown
}

/** Checks each document is a Kubernetes object (apiVersion, kind, metadata.name); throws naming the first bad one. */
export function validateObjects(objs: unknown[]): KubeObject[] {
  if (objs.length === 0) throw new ArgError('kube_manifest: no Kubernetes objects in the manifest')
  objs.forEach((o, i) => {
    const where = `document ${i + 1}`
    if (!o || typeof o !== 'object' || Array.isArray(o)) throw new ArgError(`kube_manifest: ${where} is not a mapping`)
    const r = o as Record<string, any>
    for (const k of ['apiVersion', 'kind']) if (typeof r[k] !== 'string' || !r[k]) throw new ArgError(`kube_manifest: ${where} has no ${k}`)
    if (!r.metadata || typeof r.metadata !== 'object' || typeof r.metadata.name !== 'string' || !r.metadata.name)
      throw new ArgError(`kube_manifest: ${where} (${r.kind}) has no metadata.name`)
  })
  return objs as KubeObject[]
}

/** Parses multi-document YAML into objects (empty documents skipped); syntax errors are argument errors. */
export function parseManifests(text: string): unknown[] {
  const docs = parseAllDocuments(text)
  const out: unknown[] = []
  for (const d of Array.isArray(docs) ? docs : [docs]) {
    if (d.errors.length) throw new ArgError(`kube_manifest: YAML error: ${d.errors[0].message}`)
    const v = d.toJS()
    if (v === null || v === undefined) continue
    // A `kind: List` is unpacked like kubectl does.
    if (v.kind === 'List' && Array.isArray(v.items)) out.push(...v.items)
    else out.push(v)
  }
  return out
}

/** K3S's HelmChart custom resource for the arguments. */
export function helmChart(args: Record<string, any>): KubeObject {
  const chart = String(args.chart)
  const name = String(
    args.release_name ??
      chart
        .replace(/^.*\//, '')
        .replace(/\.tgz$/, '')
        .replace(/-\d+\.\d[^]*$/, ''),
  )
  const spec: Record<string, unknown> = { chart }
  if (args.repo) spec.repo = String(args.repo)
  if (args.version !== undefined) spec.version = String(args.version)
  if (args.target_namespace) spec.targetNamespace = String(args.target_namespace)
  if (args.create_namespace !== undefined) spec.createNamespace = toBool(args.create_namespace, false, 'create_namespace')
  if (args.helm_version) spec.helmVersion = String(args.helm_version)
  if (args.bootstrap !== undefined) spec.bootstrap = toBool(args.bootstrap, false, 'bootstrap')
  if (args.set) spec.set = Object.fromEntries(Object.entries(args.set).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)]))
  if (args.values !== undefined) spec.valuesContent = typeof args.values === 'string' ? args.values : stringify(args.values)
  return { apiVersion: 'helm.cattle.io/v1', kind: 'HelmChart', metadata: { name, namespace: String(args.namespace ?? 'kube-system') }, spec }
}

/** Objects → the file's text: documents joined by `---`. */
export function renderManifests(objs: KubeObject[]): string {
  return objs.map((o) => stringify(o)).join('---\n')
}

export const kubeManifestModule = defineModule({
  readAhead: true,
  name: 'kube_manifest',
  description: "Places Kubernetes manifests (text, template or a K3S HelmChart) into K3S's auto-deploy folder, validated first.",
  schema: kubeManifestSchema,
  sourceArgs: { src: 'templates' },
  plan: (args, ctx) =>
    guardPlan(async () => {
      const sources = (['content', 'src', 'chart'] as const).filter((k) => args[k] !== undefined)
      const state = String(args.state ?? 'present')
      if (state === 'present' && sources.length !== 1)
        throw new ArgError(`kube_manifest: give exactly one of content, src or chart (got ${sources.join(', ') || 'none'})`)
      let objs: KubeObject[] = []
      if (state === 'present') {
        let raw: unknown[]
        if (args.chart !== undefined) raw = [helmChart(args)]
        else if (args.src !== undefined) {
          const f = await ctx.controller.find(String(args.src), 'templates')
          raw = parseManifests(ctx.controller.render(f.content.toString('utf8'), ctx.vars, f.path))
        } else if (typeof args.content === 'string') raw = parseManifests(args.content)
        else raw = Array.isArray(args.content) ? args.content : [args.content]
        objs = validateObjects(raw)
      }
      const name = String(args.name ?? (args.chart !== undefined ? objs[0]?.metadata.name : objs.length === 1 ? objs[0].metadata.name : ''))
      if (!name) throw new ArgError('kube_manifest: name is required when the manifest holds several objects')
      if (!NAME_RE.test(name) || name.length > 253)
        throw new ArgError(
          `kube_manifest: "${name}" cannot name a K3S manifest: K3S names its AddOn after the file, so use lower-case letters, digits, '-' and '.'`,
        )
      const dir = String(args.dest ?? MANIFESTS_DIR).replace(/(?<!\/)\/+$/, '')
      const path = `${dir}/${name}.yaml`
      const info = (await ctx.reader.files([path], { sha256: true, content: ctx.diff ? MAX_DIFF_SIZE : false })).get(path)!
      if (state === 'absent') {
        if (!info.exists) return { status: 'ok', result: { changed: false, path } }
        return {
          status: 'change',
          changes: [{ summary: `remove ${path}` }],
          steps: [{ describe: `remove ${path}`, script: `rm -f -- ${shQuote(path)}`, effects: [{ path, state: 'absent' }] }],
          result: { changed: true, path },
        }
      }
      const text = renderManifests(objs)
      const mode = modeArg(args.mode) ?? '0600'
      const result = {
        path,
        objects: objs.map((o) => ({ apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, namespace: o.metadata.namespace })),
        checksum: sha256(text),
      }
      const sameContent = info.exists && info.sha256 === sha256(text)
      const attrs = attrSummaries(info, { mode })
      if (sameContent && attrs.length === 0) return { status: 'ok', result: { ...result, changed: false } }
      const changes = sameContent
        ? attrs.map((summary) => ({ summary }))
        : [
            {
              summary: info.exists ? `update ${path}` : `create ${path}`,
              ...(ctx.diff ? { diff: fileDiff(path, info.content, text, info.exists ? info.size : undefined) } : {}),
            },
          ]
      return {
        status: 'change',
        changes,
        steps: [writeFileStep(path, Buffer.from(text), { mode, mkdirParent: true })],
        result: { ...result, changed: true },
      }
    }),
})
