// Modules real roles use most beyond the core ones: variables from files, text replacement, file
// search, scripts and raw commands, pauses, temporary files, name service lookups, inventory changes,
// async jobs' status.
import type { Module } from './types.js'
import { includeVarsModule } from './include_vars.js'
import { replaceModule } from './replace.js'
import { findModule } from './find.js'
import { rawModule } from './raw.js'
import { scriptModule } from './script.js'
import { pauseModule } from './pause.js'
import { tempfileModule } from './tempfile.js'
import { getentModule } from './getent.js'
import { addHostModule, groupByModule } from './add_host.js'
import { asyncStatusModule } from './async_status.js'

export const commonModules: Module[] = [
  includeVarsModule,
  replaceModule,
  findModule,
  rawModule,
  scriptModule,
  pauseModule,
  tempfileModule,
  getentModule,
  addHostModule,
  groupByModule,
  asyncStatusModule,
]
