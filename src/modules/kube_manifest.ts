// kube_manifest (k3sbook): Kubernetes manifests placed in K3S's auto-deploy folder on a server,
// from YAML text, a template, or a HelmChart built from chart/repo/version/values. The objects are
// validated before anything is written; the file changes only when its content's sha does.
import type { Module } from './types.js'
import { bool, dict, modeSchema, objectSchema, str } from './provision-util.js'

export const kubeManifestSchema = objectSchema({
  name: str('File name without .yaml (letters, digits, `.`, `_`, `-`), written to MANIFESTS_DIR/NAME.yaml. Default: the HelmChart\'s `chart` name, or the single object\'s metadata.name.'),
  content: { description: 'Manifests: YAML text (documents separated by ---), one object, or a list of objects.' },
  src: str('A template (role\'s templates/) that renders to the manifests.'),
  chart: str('Build a K3S `HelmChart` (helm.cattle.io/v1) for this chart: a chart name in `repo`, `repo/chart`, or a URL of a .tgz.'),
  repo: str('Helm repository URL (spec.repo).'),
  version: str('Chart version (spec.version).'),
  namespace: str('Namespace of the HelmChart object itself. Default kube-system (K3S\'s helm controller watches it).'),
  target_namespace: str('Namespace the chart is installed into (spec.targetNamespace).'),
  create_namespace: bool('Create the target namespace when missing (spec.createNamespace).'),
  values: dict('Chart values (→ spec.valuesContent as YAML text).'),
  set: dict('Individual values (spec.set), e.g. {"replicas": "2"}.'),
  helm_version: str('Helm major version (spec.helmVersion), e.g. v3.'),
  bootstrap: bool('Install before the cluster has nodes ready (spec.bootstrap).'),
  release_name: str('HelmChart object name (the Helm release name). Default: the chart name.'),
  state: { anyOf: [{ type: 'string', enum: ['present', 'absent'] }], description: 'Default: present. `absent` removes the file (K3S then uninstalls what it deployed).' },
  dest: str('Directory for the manifest file. Default /var/lib/rancher/k3s/server/manifests.'),
  mode: modeSchema('Permissions of the manifest file. Default 0600.'),
})

export const kubeManifestModule: Module<any> = {
  name: 'kube_manifest',
  description: 'Places Kubernetes manifests (text, template or a K3S HelmChart) into K3S\'s auto-deploy folder, validated first.',
  schema: kubeManifestSchema,
  async plan() {
    return { status: 'fail', msg: 'kube_manifest: not implemented yet' }
  },
}
