// `k3sbook lab up|status|down|ssh|exec`: real SSH test hosts on this machine (root only).
import type { Command } from 'commander'
import { spawnSync } from 'node:child_process'
import { LabError } from '../errors.js'
import { DEFAULT_LAB, findRunningLab, labDown, labExec, labStatus, labUp, listLabs, type LabInfo, type LabInit } from '../lab/index.js'

function initKind(v: string): LabInit {
  if (v !== 'systemd' && v !== 'none') throw new LabError(`--init must be systemd or none, got "${v}"`)
  return v
}

function positiveInt(v: string): number {
  const n = Number(v)
  if (!/^\d+$/.test(v) || n < 1) throw new LabError(`host count must be a whole number ≥ 1, got "${v}"`)
  return n
}

/** The lab a host argument means: --name if given, else the running lab that has a host of that name. */
function labFor(host: string, name?: string): LabInfo {
  if (!name) {
    for (const n of listLabs()) {
      const info = findRunningLab(n)
      if (info?.hosts.some((h) => h.name === host)) return info
    }
  }
  let info: LabInfo | undefined
  try {
    info = findRunningLab(name)
  } catch (e) {
    if (e instanceof LabError) throw new LabError(e.message, { hint: 'name one with --name NAME' })
    throw e
  }
  if (!info) throw new LabError(name ? `lab ${name} is not running` : 'no lab is running', { hint: '`k3sbook lab up` first' })
  return info
}

export function register(program: Command): void {
  // `lab exec HOST sh -c '…'`: everything after the host is the command, options included
  program.enablePositionalOptions()
  const lab = program.command('lab').description('real SSH test hosts on this machine (network + mount namespaces, root only)').enablePositionalOptions()

  lab
    .command('up')
    .description('bring a lab up with N hosts (default 3); run again to grow it or to remake dead hosts')
    .argument('[N]', 'number of hosts', positiveInt)
    .option('-n, --name <name>', 'lab name (hosts are NAME-1..NAME-N)', DEFAULT_LAB)
    .option('--subnet <cidr>', 'IPv4 range for the lab (default: a free /24 in 172.31.0.0/16)')
    .option(
      '--init <init>',
      "pid 1 of each host: 'systemd' (boots systemd, sshd is ssh.service) or 'none' (no init system: sshd under a reaper; SysV-style services); fixed when the lab is made (default: none, or what the lab has)",
      initKind,
    )
    .option('--json', 'print the lab as JSON')
    .action(async (n: number | undefined, o: { name: string; subnet?: string; json?: boolean; init?: LabInit }) => {
      const t0 = Date.now()
      const info = await labUp({ name: o.name, hosts: n, subnet: o.subnet, init: o.init })
      if (o.json) {
        process.stdout.write(JSON.stringify(info, null, 2) + '\n')
        return
      }
      const w = Math.max(...info.hosts.map((h) => h.name.length))
      const lines = [
        `lab ${info.name}: ${info.hosts.length} hosts on ${info.bridge} ${info.subnet}, init ${info.init} (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
        ...info.hosts.map((h) => `  ${h.name.padEnd(w)}  ${h.address}`),
        `inventory   ${info.inventoryPath}`,
        `ssh         ssh -F ${info.sshConfigPath} ${info.hosts[0].name}`,
        `run         k3sbook run -i ${info.inventoryPath} PLAYBOOK`,
      ]
      process.stdout.write(lines.join('\n') + '\n')
    })

  lab
    .command('status')
    .description('show labs and whether each host and its sshd runs')
    .option('-n, --name <name>', 'only this lab')
    .option('--json', 'print as JSON')
    .action(async (o: { name?: string; json?: boolean }) => {
      const labs = await labStatus(o.name)
      if (o.json) {
        process.stdout.write(JSON.stringify(labs, null, 2) + '\n')
        return
      }
      if (labs.length === 0) {
        process.stdout.write(o.name ? `no lab named ${o.name}\n` : 'no labs\n')
        return
      }
      for (const l of labs) {
        const up = l.hosts.filter((h) => h.running && h.sshd).length
        process.stdout.write(
          `lab ${l.name}: ${up}/${l.hosts.length} hosts up, init ${l.init}, ${l.bridge}${l.bridgeUp ? '' : ' (missing)'} ${l.subnet}, ${l.dir}\n`,
        )
        for (const h of l.hosts)
          process.stdout.write(
            `  ${h.name}  ${h.address}  ${h.running ? `pid ${h.pid}` : 'dead'}  sshd ${h.sshd ? 'up' : 'down'}${h.system ? `  systemd ${h.system}` : ''}\n`,
          )
      }
    })

  lab
    .command('down')
    .description('remove a lab: every host process, link and file it made')
    .option('-n, --name <name>', 'lab name', DEFAULT_LAB)
    .option('-a, --all', 'remove every lab')
    .action(async (o: { name: string; all?: boolean }) => {
      const names = o.all ? listLabs() : [o.name]
      for (const n of names) {
        const t0 = Date.now()
        const removed = await labDown(n)
        process.stdout.write(removed ? `lab ${n}: removed (${((Date.now() - t0) / 1000).toFixed(1)} s)\n` : `lab ${n}: nothing to remove\n`)
      }
      if (o.all && names.length === 0) process.stdout.write('no labs\n')
    })

  lab
    .command('ssh')
    .description('open ssh to a lab host (with the lab key and known_hosts), or run a command there')
    .argument('<host>', 'host name, number or address')
    .argument('[command...]', 'command to run instead of a shell (everything after the host, options included; or after --)')
    .option('-n, --name <name>', 'lab name (before the host)')
    .passThroughOptions()
    .action((host: string, command: string[], o: { name?: string }) => {
      const info = labFor(host, o.name)
      const h = info.hosts.find((x) => x.name === host || x.address === host || String(x.index) === host)
      if (!h) throw new LabError(`lab ${info.name} has no host ${host}`, { hint: `hosts: ${info.hosts.map((x) => x.name).join(', ')}` })
      const r = spawnSync('ssh', ['-F', info.sshConfigPath, h.name, ...command], { stdio: 'inherit' })
      process.exitCode = r.status ?? 1
    })

  lab
    .command('exec')
    .description('run a command inside a lab host without SSH (nsenter)')
    .argument('<host>', 'host name, number or address')
    .argument(
      '<command...>',
      "command and arguments: everything after the host, options included (`lab exec HOST sh -c 'cmd'`); one argument with spaces runs with sh -c; `--` before the command is allowed",
    )
    .option('-n, --name <name>', 'lab name (before the host)')
    .passThroughOptions()
    .action(async (host: string, command: string[], o: { name?: string }) => {
      const info = labFor(host, o.name)
      const key = /^\d+$/.test(host) ? Number(host) : host
      if (command[0] === '--') command = command.slice(1)
      // `lab exec HOST 'k3s kubectl get nodes'`: one word with spaces is a shell command line
      if (command.length === 1 && /\s/.test(command[0])) command = ['sh', '-c', command[0]]
      const r = await labExec(info, key, command)
      process.stdout.write(r.stdout)
      process.stderr.write(r.stderr)
      process.exitCode = r.code
    })
}
