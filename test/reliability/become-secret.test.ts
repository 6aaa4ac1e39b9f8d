// The become password never shows in `ps` or /proc/PID/environ on the host, on every path a become
// task takes: a command and a small copy (the long-lived shell), a large copy and a large template
// (their own exec channel, stdin over 256 KB), an archive streamed from the controller (upload).
// The lab host gets a stand-in `sudo` (the lab has none) that, like the real one, stays the parent
// of the command while it runs and asks its SUDO_ASKPASS helper for the password.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { useLab } from '../helpers/lab.js'
import { sh } from '../executor/helpers.js'
import { cli, tree } from './helpers.js'

const PASSWORD = `Pw-${randomBytes(6).toString('hex')}-z`

const FAKE_SUDO = `#!/bin/sh
user=root; mode=
while [ $# -gt 0 ]; do
  case "$1" in
    -n) mode="\${mode}n" ;;
    -A) mode="\${mode}A" ;;
    -u) shift; user=$1 ;;
    --) shift; break ;;
    *) echo "sudo: unexpected option $1" >&2; exit 1 ;;
  esac
  shift
done
want=$(cat /etc/k3sbook-sudo-password)
case "$mode" in
  *A*) got=$("$SUDO_ASKPASS" "[sudo] password:") ;;
  *) echo "sudo: a password is required" >&2; exit 1 ;;
esac
[ "$got" = "$want" ] || { echo "sudo: incorrect password" >&2; exit 1; }
echo "$mode $user" >> /var/log/k3sbook-sudo.log
# as the real sudo: it stays the command's parent, and the command gets a cleaned environment
env -u K3SBOOK_BECOME_PASS -u SUDO_ASKPASS -u K3SBOOK_ASKPASS_FILE su -s /bin/sh -c "$3" "$user"
`

// Every process's argv (NULs as spaces, as ps shows it) and environment, every 10 ms until
// stopped, by one perl process reading /proc: no fork per sample. Measured on an idle lab host at
// load 20: 88 listings a second for 0.07 CPU-s a second, where `ps -eo args` and a `tr` per
// process in a shell loop running flat out made 13 listings a second for 0.64 CPU-s a second.
const WATCH = `perl -e '
until (-e "/tmp/ps-stop") {
  for my $p (glob "/proc/[0-9]*") {
    for my $f ("cmdline", "environ") {
      open(my $h, "<", "$p/$f") or next;
      local $/;
      my $s = <$h>;
      close $h;
      next unless defined $s && length $s;
      if ($f eq "cmdline") { $s =~ tr/\\0/ / } else { $s =~ tr/\\0/\\n/ }
      print $s, "\\n";
    }
  }
  print "---\\n";
  select(undef, undef, undef, 0.01);
}' > /tmp/ps-watch.log 2>&1`

const PLAY = `- hosts: all
  gather_facts: false
  vars:
    # a template, as in inventories that read a vaulted variable: rendered for each become
    ansible_become_password: "{{ sudo_secret }}"
    sudo_secret: ${PASSWORD}
  tasks:
    - name: Folder for nobody
      file: { path: /tmp/bt, state: directory, owner: nobody, mode: "0755" }
    - name: Command
      command: sleep 1
      become: true
      become_user: nobody
    - name: Small copy
      copy: { content: "small\\n", dest: /tmp/bt/small.txt }
      become: true
      become_user: nobody
    - name: Large copy
      copy: { content: "{{ 'x' * 600000 }}", dest: /tmp/bt/large.txt }
      become: true
      become_user: nobody
    - name: Small template
      template: { src: small.j2, dest: /tmp/bt/small.conf }
      become: true
      become_user: nobody
    - name: Large template
      template: { src: large.j2, dest: /tmp/bt/large.conf }
      become: true
      become_user: nobody
    - name: Archive from the controller
      unarchive: { src: big.tar, dest: /tmp/bt }
      become: true
      become_user: nobody
`

test('the become password is in no argv and no environment on the host, on every path', { timeout: 600_000 }, async (t) => {
  const lab = await useLab(t, { hosts: 1, tag: 'bpass' })
  await sh(
    lab,
    1,
    `cat > /usr/local/bin/sudo <<'EOF'\n${FAKE_SUDO}EOF\nchmod 755 /usr/local/bin/sudo; printf '%s' '${PASSWORD}' > /etc/k3sbook-sudo-password; chmod 600 /etc/k3sbook-sudo-password`,
  )
  const dir = tree({
    'site.yml': PLAY,
    'templates/small.j2': 'name={{ inventory_hostname }}\n',
    'templates/large.j2': '{% for i in range(40000) %}line {{ i }} of {{ inventory_hostname }}\n{% endfor %}',
  })
  execFileSync('sh', ['-c', 'mkdir -p a && head -c 3000000 /dev/urandom > a/big.bin && tar -cf big.tar -C a big.bin && mkdir -p files && mv big.tar files/'], {
    cwd: dir,
  })
  // the watcher runs at normal priority (a password in argv may show only for a moment; at nice 19
  // on a loaded machine it listed the processes too rarely to prove anything); the run and the
  // test get generous budgets for load 30
  // what the run writes is what changes after this mark (see the end)
  await sh(lab, 1, 'touch /var/tmp/k3sbook-before-run')
  await sh(lab, 1, `rm -f /tmp/ps-stop; (${WATCH}) </dev/null >/dev/null 2>&1 &`)
  let r
  try {
    r = await cli(['run', 'site.yml', '-i', lab.inventoryPath, '-o', 'plain'], { cwd: dir, timeoutMs: 500_000 })
  } finally {
    await sh(lab, 1, 'touch /tmp/ps-stop; sleep 1')
  }
  assert.equal(r.code, 0, r.stdout + r.stderr)
  // every become task ran as nobody through the askpass helper
  const owners = await sh(lab, 1, "stat -c '%U %s %n' /tmp/bt/small.txt /tmp/bt/large.txt /tmp/bt/small.conf /tmp/bt/large.conf /tmp/bt/big.bin")
  assert.match(owners, /nobody 6 \/tmp\/bt\/small\.txt/)
  assert.match(owners, /nobody 600000 \/tmp\/bt\/large\.txt/)
  assert.match(owners, /nobody \d+ \/tmp\/bt\/small\.conf/)
  assert.match(owners, /nobody \d{6,} \/tmp\/bt\/large\.conf/)
  assert.match(owners, /nobody 3000000 \/tmp\/bt\/big\.bin/)
  const log = await sh(lab, 1, 'cat /tmp/ps-watch.log')
  // the watcher saw the become processes (so it was looking while they ran)
  assert.match(log, /sudo -A -u nobody/, 'the watcher never saw sudo run')
  assert.ok(log.split('---').length > 20, 'the watcher listed the processes only a few times')
  assert.equal(log.includes(PASSWORD), false, 'the become password showed in ps or /proc/*/environ')
  const sudoLog = await sh(lab, 1, 'cat /var/log/k3sbook-sudo.log')
  assert.ok(sudoLog.trim().split('\n').length >= 6, sudoLog)
  // nothing with the password is left on the host: no file the run created or changed (a status
  // change time after the mark, which no one can set back) holds it. Only those are searched: the
  // lab host's /root is the machine's, whose toolchains a `grep -r` read for 90 s (23 s of CPU).
  const left = await sh(
    lab,
    1,
    `find /tmp /var/tmp /root -xdev -type f -cnewer /var/tmp/k3sbook-before-run -print0 2>/dev/null | xargs -0 -r grep -lF -- '${PASSWORD}' 2>/dev/null || true`,
  )
  assert.equal(left.trim(), '')
})
