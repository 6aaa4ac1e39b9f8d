// Modules about the host as a whole: its facts (setup, gather_facts), its connection and reboots,
// the inventories of its services and packages, its scheduled jobs.
import type { Module } from './types.js'
import { gatherFactsModule, setupModule } from './setup.js'
import { rebootModule, waitForConnectionModule } from './reboot.js'
import { serviceFactsModule } from './service_facts.js'
import { packageFactsModule } from './package_facts.js'
import { cronModule } from './cron.js'
import { knownHostsModule } from './known_hosts.js'
import { timezoneModule } from './timezone.js'

export const systemModules: Module[] = [
  setupModule,
  gatherFactsModule,
  waitForConnectionModule,
  rebootModule,
  serviceFactsModule,
  packageFactsModule,
  cronModule,
  knownHostsModule,
  timezoneModule,
]
