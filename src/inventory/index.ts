// Inventory: load Ansible inventories (YAML, INI, folders, host lists), resolve variables with
// Ansible's precedence, and select hosts with Ansible's host patterns.
export { loadInventory } from './load.js'
export {
  hostInventoryVars,
  groupsMap,
  groupHosts,
  groupNames,
  groupDepth,
  sortedHostGroups,
  invalidateInventoryCaches,
  isImplicitLocalhost,
  LOCALHOST_NAMES,
} from './vars.js'
export { resolvePattern, limitHosts, splitHostPattern, type PatternOptions } from './patterns.js'
export { connectionSpec, ansibleBool, type ConnectionSpec } from './connection.js'
export { expandHostRange, parseAddress } from './address.js'
