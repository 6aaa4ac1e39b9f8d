// uri: an HTTP request made from the host with curl, checked against expected status codes, with
// the body returned (and parsed when JSON). Reports changed=false, like Ansible, unless `dest`
// is written; use changed_when for requests that change something.
import type { Module } from './types.js'
import { alias, bool, choice, dict, int, intList, objectSchema, str } from './provision-util.js'

export const uriSchema = objectSchema(
  {
    url: str('http or https URL to request.'),
    method: str('HTTP method. Default GET.'),
    body: { description: 'Request body: text, or data encoded as `body_format` says.' },
    body_format: choice(['raw', 'json', 'form-urlencoded'], 'How `body` is encoded: `json` serializes data and sets Content-Type; `form-urlencoded` encodes a mapping. Default raw.'),
    status_code: intList('Status codes that count as success. Default [200].'),
    return_content: bool('Return the body in `content` (JSON bodies are always parsed into `json`).'),
    headers: dict('Request headers, as a mapping.'),
    validate_certs: bool('Verify the server\'s TLS certificate. Default true.'),
    timeout: int('Seconds before the request is abandoned. Default 30.'),
    url_username: str('User name for HTTP basic authentication.'),
    user: alias('url_username', str('')),
    url_password: str('Password for HTTP basic authentication.'),
    password: alias('url_password', str('')),
    force_basic_auth: bool('Send basic authentication without waiting for a 401 challenge.'),
    follow_redirects: choice(['all', 'no', 'none', 'safe', 'urllib2', 'yes'], 'Follow redirects: `safe` (default) only for GET/HEAD, `all` always, `none` never.'),
    dest: str('Write the body to this file on the host.'),
    creates: str('Skip the request when this path exists on the host.'),
    removes: str('Skip the request unless this path exists on the host.'),
    ca_path: str('CA certificate file on the host to verify the server with.'),
    unix_socket: str('Connect through this Unix socket on the host.'),
    http_agent: str('User-Agent header.'),
    use_proxy: bool('Use proxy settings from the environment. Default true.'),
    client_cert: str('Client certificate (PEM) on the host.'),
    client_key: str('Client private key (PEM) on the host.'),
  },
  { required: ['url'] },
)

export const uriModule: Module<any> = {
  name: 'uri',
  description: 'Makes an HTTP request from the host and checks the status; returns status, content and parsed json.',
  schema: uriSchema,
  async plan() {
    return { status: 'fail', msg: 'uri: not implemented yet' }
  },
}
