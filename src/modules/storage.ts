// Storage modules (ZFS pools and datasets, file systems on block devices).
import type { Module } from './types.js'

export const storageModules: Module<any>[] = []
