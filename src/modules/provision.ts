// Provisioning modules (packages, services, downloads, kernel settings, waits, data off hosts).
import type { Module } from './types.js'
import { aptModule } from './apt.js'
import { aptRepositoryModule } from './apt_repository.js'
import { aptKeyModule } from './apt_key.js'
import { serviceModule, systemdModule } from './service.js'
import { getUrlModule } from './get_url.js'
import { unarchiveModule } from './unarchive.js'
import { sysctlModule } from './sysctl.js'
import { modprobeModule } from './modprobe.js'
import { userModule } from './user.js'
import { groupModule } from './group.js'
import { hostnameModule } from './hostname.js'
import { mountModule } from './mount.js'
import { waitForModule } from './wait_for.js'
import { slurpModule } from './slurp.js'
import { fetchModule } from './fetch.js'
import { uriModule } from './uri.js'
import { kubeManifestModule } from './kube_manifest.js'

export const provisionModules: Module[] = [
  aptModule,
  aptRepositoryModule,
  aptKeyModule,
  serviceModule,
  systemdModule,
  getUrlModule,
  unarchiveModule,
  sysctlModule,
  modprobeModule,
  userModule,
  groupModule,
  hostnameModule,
  mountModule,
  waitForModule,
  slurpModule,
  fetchModule,
  uriModule,
  kubeManifestModule,
]
