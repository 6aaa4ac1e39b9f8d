// What a module's plan() learns and its own apply() or result() needs again (a pending request, a
// controller-side file): carried on the plan itself (Plan.data), typed per module, instead of in
// module-level maps keyed by plan objects. The executor never reads it.
import type { ActionablePlan, ApplyContext, Plan, Step, StepResult } from '../types.js'

export interface PlanData<D> {
  /** The plan, carrying `data`. */
  attach<P extends ActionablePlan>(plan: P, data: D): P
  /** The data plan() attached, if any. */
  of(plan: Plan): D | undefined
}

/** A typed slot on plans for one module: `const pending = planData<Pending>()`. */
export function planData<D>(): PlanData<D> {
  const tag = Symbol('plan data')
  return {
    attach: (plan, data) => ({ ...plan, data: { tag, data } }),
    of: (plan) => {
      const d = 'data' in plan ? (plan.data as { tag?: symbol; data?: D } | undefined) : undefined
      return d?.tag === tag ? d.data : undefined
    },
  }
}

/** Runs steps in order, stopping at the first that exits outside its okCodes: the executor's own rule, for a module's apply() to fall back on. */
export async function applySteps(steps: readonly Step[], ctx: ApplyContext): Promise<StepResult[]> {
  const out: StepResult[] = []
  for (const step of steps) {
    const r = await ctx.run(step)
    out.push(r)
    if (!(step.okCodes ?? [0]).includes(r.rc)) break
  }
  return out
}
