// Core modules (files, commands, control flow). Each lives in its own file, named as its YAML key.
import type { Module } from './types.js'

export const coreModules: Module<any>[] = []
