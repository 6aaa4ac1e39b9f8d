// ssh_config and ssh argument parsing, on strings: word splitting, -o forms, Host patterns with
// first-value-wins, Include, Match, tokens, and the precedence of inventory > args > config.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { splitShellWords, parseSshArgs, parseSshConfig, resolveSshConfig, settingsFrom, parseJumpHop, splitKeyValue } from '../../src/connection/sshconfig.js'
import { resolveSshTarget, connSpecFromVars } from '../../src/connection/index.js'
import { ValidationError } from '../../src/errors.js'

test('shell-like word splitting as shlex does it for ansible_ssh_common_args', () => {
  assert.deepEqual(splitShellWords(`-o ProxyCommand="ssh -W %h:%p -q user@bastion" -o 'StrictHostKeyChecking=no'`), [
    '-o',
    'ProxyCommand=ssh -W %h:%p -q user@bastion',
    '-o',
    'StrictHostKeyChecking=no',
  ])
  assert.deepEqual(splitShellWords(`a\\ b "c\\"d" '' e"f g"h`), ['a b', 'c"d', '', 'ef gh'])
  assert.deepEqual(splitShellWords('  '), [])
  assert.throws(() => splitShellWords(`-o "unterminated`), /unterminated double quote/)
})

test('-o Key=Value, -o Key Value, -oKey=Value, -i, -p, -J, -l, -F and bundled flags', () => {
  const a = parseSshArgs(
    `-o Port=2222 -o "User admin" -oIdentityFile=~/.ssh/a -i /k/b -p 3333 -J j1,j2 -qC -o ConnectTimeout=5`,
    `-l other -F /etc/my_config -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=/dev/null -i /k/c -p2200 -v`,
  )
  const o = Object.fromEntries(a.options)
  assert.deepEqual(o.port, ['2222'], 'first value wins, as in ssh')
  assert.deepEqual(o.user, ['admin'])
  assert.deepEqual(o.identityfile, ['~/.ssh/a', '/k/b', '/k/c'], 'IdentityFile accumulates')
  assert.deepEqual(o.proxyjump, ['j1,j2'])
  assert.deepEqual(o.connecttimeout, ['5'])
  assert.deepEqual(o.stricthostkeychecking, ['accept-new'])
  assert.deepEqual(o.userknownhostsfile, ['/dev/null'])
  assert.equal(a.configFile, '/etc/my_config')
  assert.deepEqual(splitKeyValue('ProxyCommand = nc %h %p'), ['ProxyCommand', 'nc %h %p'])
  assert.throws(() => parseSshArgs('-o'), /needs an argument/)
  assert.throws(() => parseSshArgs('-o =x'), /bad ssh option/)
})

test('ProxyJump and ProxyCommand compete: the first one given wins', () => {
  const a = parseSshArgs(`-o ProxyCommand="nc %h %p" -J bastion`)
  assert.equal(a.options.has('proxyjump'), false)
  const b = parseSshArgs(`-J bastion -o ProxyCommand="nc %h %p"`)
  assert.equal(b.options.has('proxycommand'), false)
})

const CONFIG = `
# global
User globaluser
Host web* !web-legacy
  HostName %h.example.net
  Port 2201
  IdentityFile ~/.ssh/web_key
  IdentityFile "/path with space/key2"
Host web-legacy
  HostName legacy.example.net
Host db?.internal, cache
  Port=2202
  User dbadmin
  ProxyJump admin@bastion:2222
  ProxyCommand nc %h %p
Match host *.internal user dbadmin
  ConnectTimeout 7
Match exec "true"
  Port 1
Host *
  Port 22
  User fallback
  StrictHostKeyChecking accept-new
  UserKnownHostsFile ~/.ssh/kh1 "~/.ssh/kh 2"
  ServerAliveInterval 15
`

test('Host patterns with * ? !, first value wins, tokens and ~ expanded', () => {
  const cfg = parseSshConfig(CONFIG, '/cfg')
  const web = resolveSshConfig(cfg, 'web1')
  const s = settingsFrom(web.options, 'web1', { USER: 'me' }, '/home/me')
  assert.equal(s.hostName, 'web1.example.net')
  assert.equal(s.port, 2201)
  assert.equal(s.user, 'globaluser', 'a value before any Host applies to all and wins over Host *')
  assert.deepEqual(s.identityFiles, ['/home/me/.ssh/web_key', '/path with space/key2'])
  assert.equal(s.strictHostKeyChecking, 'accept-new')
  assert.deepEqual(s.userKnownHostsFiles, ['/home/me/.ssh/kh1', '/home/me/.ssh/kh 2'])
  assert.equal(s.serverAliveInterval, 15)
  const legacy = settingsFrom(resolveSshConfig(cfg, 'web-legacy').options, 'web-legacy', {}, '/h')
  assert.equal(legacy.hostName, 'legacy.example.net', 'negated pattern excludes the first block')
  assert.equal(legacy.port, 22)
})

test('Match host/user applies; Match exec is reported unsupported and not applied', () => {
  const cfg = parseSshConfig(CONFIG, '/cfg')
  const r = resolveSshConfig(cfg, 'db1.internal', new Map([['user', ['dbadmin']]]))
  const s = settingsFrom(r.options, 'db1.internal', {}, '/h')
  assert.equal(s.port, 2202)
  assert.equal(s.connectTimeout, 7)
  assert.equal(s.proxyJump, 'admin@bastion:2222')
  assert.equal(s.proxyCommand, undefined, 'ProxyJump came first')
  assert.deepEqual(r.unsupported, ['Match exec true'])
  const cache = settingsFrom(resolveSshConfig(cfg, 'cache').options, 'cache', {}, '/h')
  assert.equal(cache.port, 2202, 'comma-separated Host patterns')
  assert.equal(cache.user, 'globaluser')
})

test('Include: relative to ~/.ssh, globbed, and inside a Host block only for that block', () => {
  const home = mkdtempSync(join(tmpdir(), 'k3sbook-cfg-'))
  try {
    mkdirSync(join(home, '.ssh', 'conf.d'), { recursive: true })
    writeFileSync(join(home, '.ssh', 'conf.d', 'a.conf'), 'Host alpha\n  HostName 10.0.0.1\n')
    writeFileSync(join(home, '.ssh', 'conf.d', 'b.conf'), 'Host beta\n  HostName 10.0.0.2\n')
    writeFileSync(join(home, '.ssh', 'inner'), 'Port 2022\n')
    const cfg = parseSshConfig('Include conf.d/*.conf\nHost gamma\n  Include inner\n  User g\n', '/cfg', { home })
    const h = (n: string) => settingsFrom(resolveSshConfig(cfg, n).options, n, { USER: 'u' }, home)
    assert.equal(h('alpha').hostName, '10.0.0.1')
    assert.equal(h('beta').hostName, '10.0.0.2')
    assert.equal(h('gamma').port, 2022)
    assert.equal(h('gamma').user, 'g', 'lines after the Include stay in the Host block')
    assert.equal(h('alpha').port, 22, 'an Include inside Host gamma does not leak')
  } finally {
    rmSync(home, { recursive: true, force: true })
  }
})

test('bad config lines carry file:line', () => {
  assert.throws(
    () => parseSshConfig('Host a\n  Port "2222\n', '/x/config'),
    (e: unknown) => e instanceof ValidationError && e.format().startsWith('/x/config:2:1: unterminated double quote'),
  )
})

test('ProxyJump hops', () => {
  assert.deepEqual(parseJumpHop('admin@bastion:2222'), { user: 'admin', host: 'bastion', port: 2222 })
  assert.deepEqual(parseJumpHop('ssh://u@[::1]:22'), { user: 'u', host: '::1', port: 22 })
  assert.deepEqual(parseJumpHop('jump'), { user: undefined, host: 'jump', port: undefined })
  assert.throws(() => parseJumpHop('host:99999'), /bad ProxyJump port/)
})

test('resolveSshTarget: inventory values beat args, args beat ~/.ssh/config; CLI host key flags beat all', () => {
  const home = mkdtempSync(join(tmpdir(), 'k3sbook-res-'))
  try {
    mkdirSync(join(home, '.ssh'))
    const cfg = join(home, '.ssh', 'config')
    writeFileSync(
      cfg,
      `Host node1\n  HostName 192.0.2.10\n  Port 2000\n  User cfguser\n  IdentityFile ~/.ssh/cfg_key\n  StrictHostKeyChecking no\n  ConnectTimeout 3\nHost bastion\n  User jumper\n  Port 2022\n`,
    )
    const t = resolveSshTarget(
      { host: 'node1', port: 2100, connection: 'ssh', privateKeyFile: '/inv/key', commonArgs: '-o Port=2200 -o User=arguser -J bastion', password: 'pw' },
      { home, env: { USER: 'me', SSH_AUTH_SOCK: '/agent.sock' }, systemSshConfigFile: false, acceptNewHostKeys: true },
    )
    assert.equal(t.hostName, '192.0.2.10')
    assert.equal(t.port, 2100)
    assert.equal(t.user, 'arguser')
    assert.equal(t.hostKeys.strict, 'accept-new')
    assert.equal(t.connectTimeoutMs, 3000)
    assert.deepEqual(t.hostKeys.userFiles, [join(home, '.ssh/known_hosts'), join(home, '.ssh/known_hosts2')])
    assert.deepEqual(t.auth, [
      { type: 'key', file: '/inv/key' },
      { type: 'key', file: join(home, '.ssh/cfg_key') },
      { type: 'agent', socket: '/agent.sock' },
      { type: 'password', password: 'pw' },
    ])
    assert.equal(t.jumps.length, 1)
    assert.deepEqual([t.jumps[0].hostName, t.jumps[0].port, t.jumps[0].user], ['bastion', 2022, 'jumper'])
    assert.deepEqual(
      t.jumps[0].auth.map((a) => (a.type === 'key' ? a.file : a.type)),
      ['agent', ...['id_rsa', 'id_ecdsa', 'id_ed25519'].map((k) => join(home, '.ssh', k))],
    )
    const plain = resolveSshTarget(
      { host: 'node1', connection: 'ssh' },
      { home, env: { USER: 'me' }, systemSshConfigFile: false, connectTimeoutMs: 9000, knownHostsFile: '/kh' },
    )
    assert.deepEqual([plain.port, plain.user, plain.connectTimeoutMs, plain.hostKeys.strict, plain.hostKeys.userFiles], [2000, 'cfguser', 9000, 'no', ['/kh']])
    assert.throws(
      () =>
        resolveSshTarget(
          { host: 'x', connection: 'ssh', commonArgs: '-o StrictHostKeyChecking=maybe' },
          { home, sshConfigFile: false, systemSshConfigFile: false },
        ),
      /bad StrictHostKeyChecking/,
    )
  } finally {
    rmSync(home, { recursive: true, force: true })
  }
})

test('connSpecFromVars reads Ansible variable names and their aliases', () => {
  const s = connSpecFromVars('h1', {
    ansible_ssh_host: '10.0.0.5',
    ansible_port: '2222',
    ansible_user: 'deploy',
    ansible_private_key_file: '~/.ssh/deploy',
    ansible_ssh_pass: 'pw',
    ansible_ssh_common_args: '-o ProxyJump=b',
    ansible_become_pass: 'bp',
  })
  assert.deepEqual(s, {
    host: '10.0.0.5',
    port: 2222,
    user: 'deploy',
    privateKeyFile: '~/.ssh/deploy',
    password: 'pw',
    connection: 'ssh',
    commonArgs: '-o ProxyJump=b',
    extraArgs: undefined,
    becomePassword: 'bp',
  })
  assert.equal(connSpecFromVars('localhost', { ansible_connection: 'local' }).connection, 'local')
  assert.equal(connSpecFromVars('n', {}).host, 'n')
  assert.throws(() => connSpecFromVars('w', { ansible_connection: 'winrm' }), /not supported/)
})
