// Core modules (files, commands, control flow). Each lives in its own file, named as its YAML key.
import type { Module } from './types.js'
import { assert } from './assert.js'
import { blockinfile } from './blockinfile.js'
import { command } from './command.js'
import { copy } from './copy.js'
import { debug } from './debug.js'
import { fail } from './fail.js'
import { file } from './file.js'
import { lineinfile } from './lineinfile.js'
import { meta } from './meta.js'
import { set_fact } from './set_fact.js'
import { shell } from './shell.js'
import { stat } from './stat.js'
import { template } from './template.js'
import { validate_argument_spec } from './validate_argument_spec.js'

export const coreModules: Module[] = [
  command,
  shell,
  copy,
  template,
  file,
  lineinfile,
  blockinfile,
  stat,
  debug,
  set_fact,
  assert,
  fail,
  meta,
  validate_argument_spec,
]
