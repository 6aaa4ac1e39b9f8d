// Exit codes, documented in the README. Kept apart from main.ts, which commands must not import
// (main.ts awaits the command modules at top level).
export const EXIT = {
  ok: 0,
  /** run: a task failed on some host. */
  failed: 2,
  /** check: something would change. */
  changes: 2,
  /** check: a task failed while checking. */
  checkFailed: 3,
  unreachable: 4,
  /** bad input: nothing was contacted. */
  invalid: 5,
  /** SIGINT or SIGTERM: the steps in flight finished, nothing new started; a second signal exits at once. */
  interrupted: 130,
} as const
