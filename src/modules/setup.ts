// `setup` and `gather_facts`: the host's facts as a task (the same probe as the play's implicit
// "Gathering Facts"), narrowed by Ansible's gather_subset and filter, merged into the host's facts.
// Read-only, so always ok, in check mode too.
import type { Plan } from './types.js'
import { FACTS_SCRIPT, defineModule, guardPlan, int, moduleSchema, parseFacts, setupFacts, str, strList, toList, bool, ArgError } from './lib/index.js'

const setupArgs = {
  gather_subset: strList(
    "Which facts: `all` (default), `min`, collector names (`network`, `hardware`, `distribution`, `platform`, `env`, `user`, `service_mgr`, …) or fact names, `!name` to leave one out (Ansible's rules: `min` always unless `!min`).",
  ),
  filter: strList('Keep only the facts whose name (`ansible_…`) matches one of these shell-style patterns (fnmatch).'),
  gather_timeout: int('Accepted for Ansible; the facts probe is one short read-only script, bounded by the task timeout.'),
  fact_path: str('Accepted for Ansible; k3sbook reads no local facts (`/etc/ansible/facts.d`): `ansible_local` is not set.'),
}

function setupPlan(
  args: { gather_subset?: unknown; filter?: unknown },
  probe: (s: string) => Promise<{ rc: number; stdout: Buffer; stderr: Buffer }>,
): Promise<Plan> {
  return guardPlan(async (): Promise<Plan> => {
    const subset = toList(args.gather_subset)
    const filter = toList(args.filter)
    const r = await probe(FACTS_SCRIPT)
    if (r.rc !== 0) return { status: 'fail', msg: `gathering facts failed: ${r.stderr.toString().trim()}` }
    let facts
    try {
      facts = setupFacts(parseFacts(r.stdout.toString()), subset, filter)
    } catch (e) {
      throw new ArgError((e as Error).message)
    }
    return { status: 'ok', result: { ansible_facts: facts } }
  })
}

const result = (plan: Plan) => ({ changed: false, ...(plan.result ?? {}), ...(plan.status === 'fail' ? { failed: true, msg: plan.msg } : {}) })

export const setupModule = defineModule({
  name: 'setup',
  description: "Gather the host's facts (the implicit fact gathering as a task), with Ansible's gather_subset and filter. Changes nothing.",
  readAhead: true,
  probeIsLast: true,
  namesAtRun: true,
  gathersFacts: true,
  schema: moduleSchema(setupArgs),
  plan: (args, ctx) => setupPlan(args, (s) => ctx.reader.probe(s)),
  result,
})

export const gatherFactsModule = defineModule({
  name: 'gather_facts',
  description: "Gather the host's facts as a task: Ansible's gather_facts action, which runs setup with these arguments. Changes nothing.",
  readAhead: true,
  probeIsLast: true,
  namesAtRun: true,
  gathersFacts: true,
  schema: moduleSchema({ ...setupArgs, parallel: bool('Accepted for Ansible (one fact module is run, so there is nothing to run in parallel).') }),
  plan: (args, ctx) => setupPlan(args, (s) => ctx.reader.probe(s)),
  result,
})
