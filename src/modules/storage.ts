// Storage modules (ZFS pools and datasets, file systems on block devices).
import type { Module } from './types.js'
import { zpoolModule } from './zpool.js'
import { zfsModule } from './zfs.js'
import { filesystemModule } from './filesystem.js'

export const storageModules: Module[] = [zpoolModule, zfsModule, filesystemModule]
