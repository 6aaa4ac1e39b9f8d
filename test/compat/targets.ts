// The integration targets of ansible/ansible (test/integration/targets) that exercise a feature
// k3sbook claims (README: keywords, loops, lookups, filters, tests, and its modules). Only targets
// ansible-test runs as a role (tasks/main.yml) are run: ansible-test wraps such a target in a
// one-play playbook, which both tools get here with the same adaptations (see run.ts).
//
// Targets driven by a runme.sh are not run: each script calls ansible-playbook with its own
// options, inventories and shell assertions against the controller, which is not a comparison of
// two runners on a lab host. They are listed in docs/COMPAT.md with that reason.

/** Role-style targets tried, grouped by the feature they exercise. */
export const TARGETS: Record<string, string[]> = {
  keywords: [
    'changed_when',
    'failed_when',
    'ignore_errors',
    'until',
    'loop-until',
    'loops',
    'task_ordering',
    'include_import_tasks_nested',
    'include_parent_role_vars',
    'special_vars',
    'var_inheritance',
    'undefined',
    'add_host',
    'command_nonexisting',
  ],
  templating: [
    'templating',
    'groupby_filter',
    'dict_transformations',
    'yaml_parsing',
    'filter_core',
    'filter_mathstuff',
    'filter_urls',
    'filter_urlsplit',
    'test_core',
    'test_files',
    'test_mathstuff',
    'split',
    'jinja_plugins',
  ],
  lookups: [
    'lookup_items',
    'lookup_list',
    'lookup_nested',
    'lookup_dict',
    'lookup_indexed_items',
    'lookup_sequence',
    'lookup_subelements',
    'lookup_together',
    'lookup_first_found',
    'lookup_lines',
    'lookup_pipe',
    'lookup_random_choice',
    'lookup_file',
    'lookup_env',
    'lookup_varnames',
    'lookup_vars',
    'lookup_password',
    'lookup_template',
    'lookup_config',
    'lookup_csvfile',
  ],
  modules: [
    'command_shell',
    'shell',
    'copy',
    'file',
    'lineinfile',
    'blockinfile',
    'stat',
    'slurp',
    'apt',
    'package',
    'service',
    'systemd',
    'unarchive',
    'user',
    'group',
    'hostname',
    'wait_for',
    'ping',
    'find',
    'tempfile',
    'getent',
    'replace',
    'known_hosts',
    'template',
  ],
}

export function allTargets(): string[] {
  return Object.values(TARGETS).flat()
}
