// The controller-side helper, in Python because only Ansible's own code can find its modules and
// build their payloads (AnsiballZ): it runs as one long-lived process (`python3 -c HELPER`) and
// answers JSON lines on stdin/stdout. Kept as a string so the bundle needs no extra file.
export const HELPER_SOURCE = String.raw`
import json, sys, base64, inspect, os, signal
signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides; it closes our stdin
out = sys.stdout
sys.stdout = sys.stderr  # nothing a module prints at import may break the protocol
try:
    import ansible
    import ansible.constants as C
    from ansible.plugins.loader import module_loader, action_loader
    from ansible.executor.module_common import modify_module
    from ansible.template import Templar
    from ansible.parsing.dataloader import DataLoader
    from ansible.module_utils import basic
    from ansible.module_utils.basic import AnsibleModule
    HAVE = None
except Exception as e:
    HAVE = '%s: %s' % (type(e).__name__, e)

added = set()
specs = {}
templar = None

def send(o):
    out.write(json.dumps(o, default=str) + '\n')
    out.flush()

def plain(v):
    try:
        json.dumps(v)
        return v
    except Exception:
        return str(v)

def opt(o):
    o = o or {}
    t = o.get('type', 'str')
    r = {'type': t if isinstance(t, str) else 'raw'}
    for k in ('required', 'aliases', 'no_log'):
        if o.get(k):
            r[k] = plain(o[k])
    if o.get('choices') is not None:
        r['choices'] = [plain(c) for c in o['choices']]
    if o.get('options'):
        r['suboptions'] = True
    return r

class Captured(Exception):
    pass

def argspec(path):
    if path in specs:
        return specs[path]
    got = {}
    def fake(self, *a, **kw):
        got['b'] = inspect.signature(real).bind(self, *a, **kw).arguments
        raise Captured()
    real = AnsibleModule.__init__
    AnsibleModule.__init__ = fake
    argv = sys.argv
    sys.argv = [path]
    spec = None
    try:
        # not runpy.run_path: the collection finder's path hook claims the path as a package
        pkg = None
        i = path.rfind('/ansible_collections/')
        if i >= 0:
            pkg = os.path.dirname(path[i + 1:]).replace('/', '.')
        with open(path, 'rb') as f:
            code = compile(f.read(), path, 'exec')
        exec(code, {'__name__': '__main__', '__file__': path, '__package__': pkg, '__builtins__': __builtins__})
    except Captured:
        pass
    except BaseException:
        pass
    finally:
        AnsibleModule.__init__ = real
        sys.argv = argv
    b = got.get('b')
    if b is not None:
        a = dict(b.get('argument_spec') or {})
        if b.get('add_file_common_args'):
            for k, v in basic.FILE_COMMON_ARGUMENTS.items():
                a.setdefault(k, v)
        spec = {
            'options': dict((k, opt(v)) for k, v in a.items()),
            'mutually_exclusive': plain(b.get('mutually_exclusive') or []),
            'required_one_of': plain(b.get('required_one_of') or []),
            'supports_check_mode': bool(b.get('supports_check_mode')),
        }
    specs[path] = spec
    return spec

def resolve(req):
    for d in req.get('libraryDirs') or []:
        if d not in added and os.path.isdir(d):
            module_loader.add_directory(d)
            added.add(d)
    ctx = module_loader.find_plugin_with_context(req['name'], collection_list=req.get('collections') or None)
    if not ctx.resolved or not ctx.plugin_resolved_path:
        return {'found': False}
    path = ctx.plugin_resolved_path
    r = {'found': True, 'path': path, 'fqcn': ctx.resolved_fqcn or req['name'], 'python': path.endswith('.py')}
    # an action plugin of its own (not 'normal'): Ansible runs controller code around the module
    a = action_loader.find_plugin_with_context(req['name'], collection_list=req.get('collections') or None)
    r['action'] = bool(a.resolved)
    if r['python']:
        # documentation only (add_host, group_by ...): the action plugin on the controller is the module
        with open(path, 'rb') as f:
            data = f.read()
        r['stub'] = b'AnsibleModule' not in data and b'def main' not in data
    if req.get('spec') and r['python']:
        r['spec'] = argspec(path)
    return r

def build(req):
    global templar
    if templar is None:
        templar = Templar(loader=DataLoader())
    args = dict(req['args'])
    args.update({
        '_ansible_check_mode': bool(req.get('check')),
        '_ansible_no_log': bool(req.get('noLog')),
        '_ansible_debug': False,
        '_ansible_diff': bool(req.get('diff')),
        '_ansible_verbosity': 0,
        '_ansible_version': ansible.__version__,
        '_ansible_module_name': req['name'],
        '_ansible_syslog_facility': 'LOG_USER',
        '_ansible_selinux_special_fs': C.DEFAULT_SELINUX_SPECIAL_FS,
        '_ansible_string_conversion_action': C.STRING_CONVERSION_ACTION,
        '_ansible_socket': None,
        '_ansible_shell_executable': '/bin/sh',
        '_ansible_keep_remote_files': False,
        '_ansible_tmpdir': None,
        '_ansible_remote_tmp': '~/.ansible/tmp',
    })
    data, style, shebang = modify_module(req['name'], req['path'], args, templar,
                                         task_vars={'ansible_python_interpreter': req.get('interpreter') or '/usr/bin/python3'},
                                         module_compression=C.DEFAULT_MODULE_COMPRESSION)
    return {'style': style, 'payload': base64.b64encode(data).decode('ascii')}

for line in sys.stdin:
    try:
        req = json.loads(line)
    except Exception:
        continue
    rid = req.get('id')
    if HAVE is not None:
        send({'id': rid, 'noAnsible': HAVE})
        continue
    try:
        if req['op'] == 'resolve':
            res = resolve(req)
        elif req['op'] == 'build':
            res = build(req)
        elif req['op'] == 'version':
            res = {'version': ansible.__version__}
        else:
            res = {'error': 'unknown op'}
        res['id'] = rid
        send(res)
    except KeyboardInterrupt:
        break
    except BaseException as e:
        send({'id': rid, 'error': '%s: %s' % (type(e).__name__, e)})
`
