// The module toolkit: everything a module needs besides its own logic. A module imports from here
// only (see docs/MODULES.md).
export * from './args.js'
export * from './mode.js'
export * from './text.js'
export * from './write.js'
export * from './effects.js'
export * from './define.js'
export * from './files.js'
export * from './plan-data.js'
export * from './facts.js'
