// Preloaded into CLI runs by the playbook tests: any attempt to open a network connection (TCP,
// Unix socket, child ssh) ends the process with exit code 99, so "validate contacts no host" is
// proven, not assumed.
import net from 'node:net'
import childProcess from 'node:child_process'

function refuse(what) {
  process.stderr.write(`FORBIDDEN: ${what} attempted during a no-contact command\n`)
  process.exit(99)
}
const origConnect = net.Socket.prototype.connect
net.Socket.prototype.connect = function (...args) {
  refuse(`socket connect ${JSON.stringify(args[0])}`)
  return origConnect.apply(this, args)
}
for (const fn of ['spawn', 'exec', 'execFile', 'fork', 'spawnSync', 'execSync', 'execFileSync']) {
  const orig = childProcess[fn]
  childProcess[fn] = function (cmd, ...rest) {
    if (/\bssh\b/.test(String(cmd))) refuse(`${fn} ${cmd}`)
    return orig.call(this, cmd, ...rest)
  }
}
