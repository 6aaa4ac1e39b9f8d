// The text files a lab writes: the Ansible inventory, ssh_config and known_hosts on the machine, and
// sshd_config, /etc/hosts and the stock root profile inside each host. Pure: data in, text out.
import { stringify } from 'yaml'

export interface HostEntry {
  name: string
  address: string
}

export interface LabFiles {
  name: string
  keyPath: string
  knownHostsPath: string
}

/** `ansible_ssh_common_args` as both ansible-playbook and k3sbook read it. */
export function sshCommonArgs(knownHostsPath: string): string {
  return `-o UserKnownHostsFile=${knownHostsPath} -o StrictHostKeyChecking=yes -o GlobalKnownHostsFile=/dev/null`
}

export function inventoryYaml(lab: LabFiles, hosts: HostEntry[]): string {
  const hostMap: Record<string, { ansible_host: string }> = {}
  for (const h of hosts) hostMap[h.name] = { ansible_host: h.address }
  const doc = {
    all: {
      children: {
        lab: {
          hosts: hostMap,
          vars: {
            ansible_user: 'root',
            ansible_ssh_private_key_file: lab.keyPath,
            ansible_ssh_common_args: sshCommonArgs(lab.knownHostsPath),
            ansible_python_interpreter: '/usr/bin/python3',
          },
        },
      },
    },
  }
  return `# Written by \`k3sbook lab up\` for lab "${lab.name}"; rewritten on every \`lab up\`.\n${stringify(doc)}`
}

export function knownHosts(hosts: HostEntry[], hostPublicKey: string): string {
  const key = hostPublicKey.trim().split(/\s+/).slice(0, 2).join(' ')
  return hosts.map((h) => `${h.address},${h.name} ${key}\n`).join('')
}

export function sshConfig(lab: LabFiles, hosts: HostEntry[]): string {
  const lines = [`# Written by \`k3sbook lab up\` for lab "${lab.name}": ssh -F <this file> ${hosts[0]?.name ?? 'HOST'}`]
  for (const h of hosts) lines.push(`Host ${h.name}`, `  HostName ${h.address}`)
  lines.push(
    `Host ${[...hosts.map((h) => h.name), ...hosts.map((h) => h.address)].join(' ')}`,
    '  User root',
    `  IdentityFile ${lab.keyPath}`,
    '  IdentitiesOnly yes',
    `  UserKnownHostsFile ${lab.knownHostsPath}`,
    '  GlobalKnownHostsFile /dev/null',
    '  StrictHostKeyChecking yes',
    '  LogLevel ERROR',
  )
  return lines.join('\n') + '\n'
}

/** The host's own /etc/ssh/sshd_config: key-only root login on the lab address, no PAM (no login stack in a lab host). */
export function sshdConfig(address: string): string {
  return [
    '# Written by `k3sbook lab up`.',
    `ListenAddress ${address}`,
    'HostKey /etc/ssh/ssh_host_ed25519_key',
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'UseDNS no',
    'PrintMotd no',
    'AcceptEnv LANG LC_*',
    'PidFile /run/sshd.pid',
    'Subsystem sftp /usr/lib/openssh/sftp-server',
    '',
  ].join('\n')
}

export function etcHosts(self: string, hosts: HostEntry[]): string {
  const lines = ['127.0.0.1\tlocalhost', `127.0.1.1\t${self}`, '::1\tlocalhost ip6-localhost ip6-loopback', '']
  for (const h of hosts) lines.push(`${h.address}\t${h.name}`)
  return lines.join('\n') + '\n'
}

/**
 * Debian's stock root ~/.bashrc (base-files dot.bashrc). The machine's own may start version managers;
 * a lab host must not pay for them on every SSH command.
 */
export const STOCK_BASHRC = `# ~/.bashrc: executed by bash(1) for non-login shells.

# Note: PS1 and umask are already set in /etc/profile. You should not
# need this unless you want different defaults for root.
# PS1='\${debian_chroot:+($debian_chroot)}\\h:\\w\\$ '
# umask 022

# You may uncomment the following lines if you want \`ls' to be colorized:
# export LS_OPTIONS='--color=auto'
# eval "$(dircolors)"
# alias ls='ls $LS_OPTIONS'
# alias ll='ls $LS_OPTIONS -l'
# alias l='ls $LS_OPTIONS -lA'
#
# Some more alias to avoid making mistakes:
# alias rm='rm -i'
# alias cp='cp -i'
# alias mv='mv -i'
`

/** Debian's stock root ~/.profile (base-files dot.profile). */
export const STOCK_PROFILE = `# ~/.profile: executed by Bourne-compatible login shells.

if [ "$BASH" ]; then
  if [ -f ~/.bashrc ]; then
    . ~/.bashrc
  fi
fi

mesg n 2> /dev/null || true
`
