// `package_facts`: the installed packages as Ansible's package_facts reports them
// (`ansible_facts.packages`: name → list of {name, version, arch, category, origin, source}). On
// Debian hosts from dpkg's database and apt's package lists (the origin of the installed version),
// without python3-apt on the host. Read-only, always ok.
import type { Vars } from '../model.js'
import type { Plan } from './types.js'
import { choice, defineModule, guardPlan, moduleSchema, sections, strList, toList, oneOf } from './lib/index.js'

/**
 * dpkg's installed packages, then, for each apt list, the `Origin:` of its Release file and the
 * installed versions it carries (one awk over the lists, only installed name/version/arch printed).
 */
export const PACKAGE_FACTS_SCRIPT = `LC_ALL=C; export LC_ALL
command -v dpkg-query >/dev/null 2>&1 || { echo @@none; exit 0; }
inst=$(dpkg-query -W -f='\${db:Status-Abbrev}\\t\${binary:Package}\\t\${Version}\\t\${Architecture}\\t\${Section}\\n' 2>/dev/null)
echo @@dpkg
dpkg --print-architecture 2>/dev/null
printf '%s\\n' "$inst"
echo @@origins
L=/var/lib/apt/lists
cat_list() { case "$1" in *.lz4|*.gz|*.xz|*.bz2|*.zst) /usr/lib/apt/apt-helper cat-file "$1" 2>/dev/null ;; *) cat "$1" ;; esac; }
{
  printf '%s\\n' "$inst"
  echo @@@
  for f in "$L"/*_Packages "$L"/*_Packages.*; do
    [ -e "$f" ] || continue
    rel=''
    for r in "$L"/*_InRelease "$L"/*_Release; do
      [ -e "$r" ] || continue
      p=\${r%_InRelease}; p=\${p%_Release}
      case "$f" in "$p"_*) [ \${#p} -gt \${#rel} ] && rel=$p ;; esac
    done
    o=''
    [ -n "$rel" ] && { o=$(sed -n 's/^Origin: //p' "$rel"_InRelease "$rel"_Release 2>/dev/null | head -n 1); }
    echo "@@@file $o"
    cat_list "$f"
  done
} | awk -F'\\t' '
  !phase { if ($0 == "@@@") { phase = 1; FS = "\\n"; next } n = $2; sub(/:.*/, "", n); want[n "\\t" $3 "\\t" $4] = 1; next }
  /^@@@file / { o = substr($0, 9); next }
  /^Package: / { p = substr($0, 10) }
  /^Version: / { v = substr($0, 10) }
  /^Architecture: / { a = substr($0, 15) }
  /^Section: / { c = substr($0, 10) }
  /^$/ { k = p "\\t" v "\\t" a; if (p != "" && (k in want) && !(k in seen)) { seen[k] = 1; print k "\\t" o "\\t" c } p = ""; c = "" }
'
`

export interface PackageFact {
  name: string
  version: string
  arch: string
  category: string
  origin: string
  source: string
}

/** dpkg's installed packages (not config-files, not not-installed), keyed as python-apt names them (foreign ones `name:arch`). */
export function parsePackageFacts(out: string): Record<string, PackageFact[]> {
  const s = sections(out)
  const origin = new Map<string, string>()
  const section = new Map<string, string>()
  for (const line of (s.origins ?? '').split('\n')) {
    const [p, v, a, o, c] = line.split('\t')
    if (p && v !== undefined) {
      origin.set(`${p}\t${v}\t${a}`, o ?? '')
      if (c) section.set(`${p}\t${v}\t${a}`, c)
    }
  }
  const packages: Record<string, PackageFact[]> = {}
  const [native, ...lines] = (s.dpkg ?? '').split('\n')
  for (const line of lines) {
    const [abbrev, full, version, arch, dpkgSection] = line.split('\t')
    if (!full || abbrev === undefined || /^.[nc]/.test(abbrev)) continue
    const bare = full.split(':')[0]
    // python-apt names a package of the native architecture (or `all`) without `:arch`
    const name = arch === native || arch === 'all' ? bare : `${bare}:${arch}`
    const k = `${bare}\t${version}\t${arch}`
    // the section apt's lists give the installed version, else the one dpkg recorded
    const fact = { name, version, arch, category: section.get(k) ?? dpkgSection ?? '', origin: origin.get(k) ?? '', source: 'apt' }
    ;(packages[name] ??= []).push(fact)
  }
  return packages
}

const MANAGERS = ['auto', 'apt', 'rpm', 'portage', 'pkg', 'pacman', 'apk', 'pkg_info'] as const

export const packageFactsModule = defineModule({
  name: 'package_facts',
  description:
    'Read the installed packages into `ansible_facts.packages` (name → list of {name, version, arch, category, origin, source}), as Ansible reports them. Debian hosts (dpkg, apt lists) only. Changes nothing.',
  // not planned ahead: the probe reads all of apt's lists, and a read-ahead is dropped by any step
  // applied before it, which would pay it twice
  namesAtRun: true,
  gathersFacts: true,
  schema: moduleSchema({
    manager: strList(
      'The package managers to ask: `auto` (default) or `apt`; the others Ansible knows (rpm, portage, pkg, pacman, apk, pkg_info) are not read by k3sbook.',
    ),
    strategy: choice(['first', 'all'], 'Stop at the first manager that answers (default) or ask them all; with apt only, the same.'),
  }),
  plan: (args, ctx) =>
    guardPlan(async (): Promise<Plan> => {
      const managers = toList(args.manager).length ? toList(args.manager) : ['auto']
      oneOf(args.strategy, ['first', 'all'] as const, 'strategy', 'first')
      for (const m of managers)
        if (!(MANAGERS as readonly string[]).includes(m))
          return { status: 'fail', msg: `value of manager must be one or more of: ${MANAGERS.join(', ')}, got: ${m}` }
      const wanted = managers.includes('auto') || managers.includes('apt')
      const r = wanted ? await ctx.reader.probe(PACKAGE_FACTS_SCRIPT) : undefined
      const out = r?.stdout.toString() ?? '@@none\n'
      if (!wanted || sections(out).none !== undefined)
        return {
          status: 'fail',
          msg: `Could not detect a supported package manager from the following list: [${managers.map((m) => `'${m}'`).join(', ')}], or the required Python library is not installed. Check warnings for details.`,
        }
      return { status: 'ok', result: { ansible_facts: { packages: parsePackageFacts(out) } } }
    }),
  result: (plan): Vars => ({ changed: false, ...(plan.result ?? {}), ...(plan.status === 'fail' ? { failed: true, msg: plan.msg } : {}) }),
})
