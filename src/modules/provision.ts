// Provisioning modules (packages, services, downloads, kernel settings, waits, data off hosts).
import type { Module } from './types.js'

export const provisionModules: Module<any>[] = []
