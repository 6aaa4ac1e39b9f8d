// get_url: a file downloaded from a URL onto the host. Idempotent by checksum: when the file on
// the host already matches, nothing is downloaded at all; a new file is verified on the host
// before it replaces the old one, so a mismatch leaves the old file in place.
import type { Module } from './types.js'
import { bool, choice, dict, int, modeSchema, objectSchema, str } from './provision-util.js'

export const getUrlSchema = objectSchema(
  {
    url: str('http, https or ftp URL to download.'),
    dest: str('Where to put the file on the host. An existing directory keeps the URL\'s file name.'),
    checksum: str('`ALGO:HEX` (sha256, sha512, sha1, md5) or `ALGO:URL` of a sums file (the line naming the file is used). When the file already matches, nothing is downloaded.'),
    force: bool('Download again even when dest exists and no checksum is given (default: an existing dest is kept).'),
    mode: modeSchema(),
    owner: str('Owner of the file.'),
    group: str('Group of the file.'),
    timeout: int('Seconds before the download is abandoned. Default 10.'),
    headers: dict('Extra HTTP request headers, as a mapping.'),
    url_username: str('User name for HTTP basic authentication.'),
    url_password: str('Password for HTTP basic authentication.'),
    force_basic_auth: bool('Send basic authentication without waiting for a 401 challenge.'),
    validate_certs: bool('Verify the server\'s TLS certificate. Default true.'),
    http_agent: str('User-Agent header. Default: k3sbook.'),
    use_proxy: bool('Use proxy settings from the environment. Default true.'),
    tmp_dest: str('Directory on the host for the partial download (default: beside dest).'),
    backup: bool('Keep a copy of the replaced file as DEST.TIMESTAMP~.'),
    download: choice(['host', 'controller'], 'k3sbook: where the bytes are fetched. `host` (default) downloads on each host; `controller` downloads once per run on the control machine and uploads to every host (air-gapped nodes).'),
  },
  { required: ['url', 'dest'] },
)

export const getUrlModule: Module<any> = {
  name: 'get_url',
  description: 'Downloads a file from a URL onto the host, verified by checksum; skips the download when the file already matches.',
  schema: getUrlSchema,
  async plan() {
    return { status: 'fail', msg: 'get_url: not implemented yet' }
  },
}
