// apt_key's pure parts, cases from ansible-core 2.14's parse_key_id and parse_output_for_keys.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseKeyId, parseKeys } from '../../../src/modules/apt_key.js'

describe('apt_key pure functions', () => {
  it('parse_key_id: short id, fingerprint (last 16), key id; 0x dropped, upper case', () => {
    assert.deepEqual(parseKeyId('0x430a1734'), ['430A1734', '430A1734', '430A1734'])
    assert.deepEqual(parseKeyId('38CB5DEB0D1D81CB'), ['0D1D81CB', '38CB5DEB0D1D81CB', '38CB5DEB0D1D81CB'])
    assert.deepEqual(parseKeyId('AAAA38CB5DEB0D1D81CB'), ['0D1D81CB', '38CB5DEB0D1D81CB', 'AAAA38CB5DEB0D1D81CB'])
    for (const bad of ['12345', 'xyz', '', '0123456789'] as const) assert.throws(() => parseKeyId(bad), /Invalid key_id/)
  })
  it('parse_output_for_keys: human and colon formats, expired keys skipped', () => {
    const human =
      'pub   ed25519/38CB5DEB0D1D81CB 2026-12-06 [SC]\nuid  x\nsub   cv25519/1111222233334444 2026-12-06 [E]\npub   rsa2048/AAAABBBBCCCCDDDD 2010-01-01 [SC] [expired: 2012-01-01]\n'
    assert.deepEqual(parseKeys(human), ['38CB5DEB0D1D81CB', '1111222233334444'])
    assert.deepEqual(parseKeys(human, true), ['0D1D81CB', '33334444'])
    assert.deepEqual(parseKeys('pub:-:255:22:01E4494E430A1734:1733443200:::-:::scSC::::::23::0:\nfpr:::::::::X:\n'), ['01E4494E430A1734'])
  })
})
