// timezone's pure parts, cases from community.general's module code.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { debianZone, editEtcTimezone, parseTimedatectl } from '../../../src/modules/timezone.js'

describe('timezone pure functions', () => {
  it('reads timedatectl status', () => {
    const status =
      '               Local time: Sun 2026-12-06 08:00:00 CET\n                Time zone: Europe/Berlin (CET, +0100)\nSystem clock synchronized: no\n          RTC in local TZ: no\n'
    assert.deepEqual(parseTimedatectl(status), { name: 'Europe/Berlin', hwclock: 'UTC' })
    assert.deepEqual(parseTimedatectl('Timezone: UTC\nRTC in local TZ: yes\n'), { name: 'UTC', hwclock: 'local' })
  })
  it('reads the zone the Debian way: /etc/timezone, checked against /etc/localtime', () => {
    const base = { isLink: true, linkExists: true, sameAsZoneFile: false }
    assert.equal(debianZone({ ...base, etcTimezone: undefined }, 'UTC'), 'n/a')
    assert.equal(debianZone({ ...base, etcTimezone: 'Europe/Paris\n', link: '/usr/share/zoneinfo/Europe/Paris' }, 'UTC'), 'Europe/Paris')
    assert.equal(debianZone({ ...base, etcTimezone: 'UTC\n', link: '/usr/share/zoneinfo/UTC' }, 'UTC'), 'UTC')
    // /etc/timezone says the planned zone, the link another: the link's zone wins
    assert.equal(debianZone({ ...base, etcTimezone: 'UTC\n', link: '/usr/share/zoneinfo/Asia/Tokyo' }, 'UTC'), 'Asia/Tokyo')
    assert.equal(debianZone({ ...base, etcTimezone: 'UTC\n', link: '/elsewhere/UTC' }, 'UTC'), 'n/a')
    assert.equal(debianZone({ ...base, etcTimezone: 'UTC\n', linkExists: false, link: '/usr/share/zoneinfo/UTC' }, 'UTC'), 'n/a')
    assert.equal(debianZone({ ...base, isLink: false, etcTimezone: 'UTC\n', sameAsZoneFile: true }, 'UTC'), 'UTC')
    assert.equal(debianZone({ ...base, isLink: false, etcTimezone: 'UTC\n' }, 'UTC'), 'n/a')
    assert.equal(debianZone({ ...base, etcTimezone: '\n' }, 'UTC'), 'n/a')
  })
  it('edits /etc/timezone as _edit_file does', () => {
    assert.deepEqual(editEtcTimezone('', 'UTC'), { text: 'UTC\n', deleted: 0 })
    assert.deepEqual(editEtcTimezone(' # note\nEurope/Paris\nAsia/Tokyo\n', 'UTC'), { text: ' # note\nUTC\n', deleted: 2 })
  })
})
