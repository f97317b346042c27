// The command line: --version, --help, usage errors, --check (credentials shown masked, the
// secret never), --list-tools, --list-plugins, conf files with errors (exit 1 before serving,
// file:line on stderr), and plugins that must be refused (wrong ABI version, no entry symbol,
// wrong kind, missing) - two of them built here from the public header.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { BASE_CONF, assert, cfg, ms, run } from './lib/harness.mjs';

const DEMO = { access_key_id: 'AKIAEMULATORDEMO0001', secret_access_key: 'emulatorDemoSecretKey/0000000000000000001' };
const TOKEN_CREDS = {
    access_key_id: 'ASIACLITESTSESSION99',
    secret_access_key: 'cliTestSecret/with+special=chars0000000000',
    session_token: 'cliTestSessionToken/AAAABBBBCCCCDDDD+eeee==',
};

run('cli', async (t) => {
    const base = ['--plugin-dir', cfg.pluginDir];
    const env = (creds = DEMO, extra = {}) => t.serverEnv({ creds, env: extra });
    const cli = async (label, args, opts = {}) => {
        const r = await t.runCli(args, { label, env: opts.env || env(), input: opts.input === undefined ? '' : opts.input, timeoutMs: ms(20000) });
        t.checkOutput(label, r.stdout + r.stderr);
        return r;
    };
    const show = (r) => `status ${r.code} signal ${r.signal}${r.timedOut ? ' (TIMED OUT: it did not exit)' : ''}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;

    // ---- version and help
    await t.test('--version / -V: one line "lambda-mcp X.Y.Z (plugin ABI N)", status 0, nothing on stderr', async () => {
        for (const flag of ['--version', '-V']) {
            const r = await cli(flag, [flag]);
            assert.equal(r.code, 0, show(r));
            assert.match(r.stdout, /^lambda-mcp \d+\.\d+\.\d+\S* \(plugin ABI \d+\)\n$/, show(r));
            assert.equal(r.stderr, '');
        }
    });

    await t.test('--help / -h: usage naming every option, status 0', async () => {
        for (const flag of ['--help', '-h']) {
            const r = await cli(flag, [flag]);
            assert.equal(r.code, 0, show(r));
            for (const o of ['--config', '--plugin-dir', '--check', '--list-tools', '--list-plugins', '--log-level', '--version', '--help'])
                assert.ok(r.stdout.includes(o), `${o} missing from --help`);
            assert.equal(r.stderr, '');
        }
    });

    await t.test('usage errors (unknown option, stray argument, bad --log-level): status 2, message on stderr, nothing on stdout', async () => {
        for (const args of [['--no-such-option'], ['stray-argument'], ['--log-level', 'loud']]) {
            const r = await cli(`usage ${args.join(' ')}`, args);
            assert.equal(r.code, 2, show(r));
            assert.equal(r.stdout, '', show(r));
            assert.notEqual(r.stderr, '');
        }
    });

    // ---- --check: credentials source shown, secret never
    await t.test('--check: prints the credentials source with the key masked; the secret appears nowhere (also at trace level)', async () => {
        for (const extra of [[], ['--log-level', 'trace']]) {
            const r = await cli(`check ${extra.join(' ')}`, [...base, '--check', ...extra]);
            assert.equal(r.code, 0, show(r));
            assert.match(r.stdout, /credentials: from env/, show(r));
            assert.match(r.stdout, /\*{4,}0001/, 'the masked access key id');
            assert.ok(!r.stdout.includes(DEMO.access_key_id), 'the whole access key id is shown');
            assert.ok(!(r.stdout + r.stderr).includes(DEMO.secret_access_key), 'the secret key is shown');
            assert.match(r.stdout, /^OK$/m);
        }
    });

    await t.test('--check with a session token: says so, shows neither secret nor token', async () => {
        const r = await cli('check-token', [...base, '--check', '--log-level', 'trace'], { env: env(TOKEN_CREDS) });
        assert.equal(r.code, 0, show(r));
        assert.match(r.stdout, /session token/, show(r));
        for (const s of [TOKEN_CREDS.secret_access_key, TOKEN_CREDS.session_token]) assert.ok(!(r.stdout + r.stderr).includes(s));
    });

    await t.test('--check without credentials: status 1, says there are none', async () => {
        const r = await cli('check-none', [...base, '--check'], { env: env(null) });
        assert.equal(r.code, 1, show(r));
        assert.match(r.stdout + r.stderr, /credentials: NONE|no credentials/i, show(r));
    });

    // ---- --list-tools (needs AWS: the emulator)
    const emu = await t.emulator({ account: 'demo.json' });
    await t.test('--list-tools: the demo tools on stdout, a count on stderr, status 0', async () => {
        const r = await cli('list-tools', [...base, '--config', t.writeFile('list-tools.conf', BASE_CONF), '--list-tools'], {
            env: t.serverEnv({ emu }),
        });
        assert.equal(r.code, 0, show(r));
        const names = r.stdout.trim().split('\n').map((l) => l.split(/\s+/)[0]);
        assert.deepEqual(names, ['context_info', 'echo', 'fail', 'greet', 'logs', 'sleep_100ms', 'slow', 'text', 'text_raw']);
        assert.match(r.stderr, /9 tools/);
    });

    await t.test('--list-tools with a conf of wrappers only: the default credentials and discovery, FUNCTION_PREFIX honoured', async () => {
        const file = t.writeFile('wrappers-only.conf', 'wrappers = ( { plugin = "cache"; } );\n');
        const r = await cli('list-tools-wrappers-only', [...base, '--config', file, '--list-tools'], {
            env: t.serverEnv({ emu, env: { FUNCTION_PREFIX: 'sl' } }),
        });
        assert.equal(r.code, 0, show(r));
        assert.deepEqual(r.stdout.trim().split('\n').map((l) => l.split(/\s+/)[0]), ['eep_100ms', 'ow']);
        assert.match(r.stderr, /has no credentials section: the default chain/);
        assert.match(r.stderr, /has no discovery plugins list: the default \(prefix, list, tags, schema-registry/);
    });

    await t.test('--list-tools with a wrong secret: status 1, the reason on stderr', async () => {
        const wrong = { access_key_id: DEMO.access_key_id, secret_access_key: 'wrongSecretForListTools/000000000000000' };
        const r = await cli('list-tools-wrong', [...base, '--config', t.writeFile('list-tools.conf', BASE_CONF), '--list-tools'], {
            env: t.serverEnv({ emu, creds: wrong }),
        });
        assert.equal(r.code, 1, show(r));
        assert.match(r.stderr, /InvalidSignature|signature/i, show(r));
    });

    await t.test('Ctrl-C (SIGINT) and SIGTERM stop a --list-tools waiting on an endpoint that never answers', async () => {
        // a listener that takes the connection and never answers: the request's own timeout
        // (30 s, 3 attempts) is far away; the signals used to be blocked in every mode
        const silent = net.createServer(() => {});
        await new Promise((res) => silent.listen(0, '127.0.0.1', res));
        try {
            for (const sig of ['SIGINT', 'SIGTERM']) {
                const child = spawn(cfg.bin, [...base, '--list-tools'], {
                    env: { ...env(), AWS_ENDPOINT_URL: `http://127.0.0.1:${silent.address().port}` },
                    stdio: ['ignore', 'pipe', 'pipe'],
                });
                let err = '';
                child.stderr.on('data', (d) => { err += d; });
                const ended = new Promise((res) => child.on('exit', (code, signal) => res({ code, signal })));
                await new Promise((res) => setTimeout(res, ms(700)));
                const sent = Date.now();
                child.kill(sig);
                const r = await Promise.race([ended, new Promise((res) => setTimeout(() => res(null), ms(5000)))]);
                if (!r) child.kill('SIGKILL');
                assert.ok(r, `${sig}: --list-tools was still running 5 s after it (stderr: ${err})`);
                assert.equal(r.signal, sig, `${sig}: ended with status ${r.code} signal ${r.signal} (stderr: ${err})`);
                assert.ok(Date.now() - sent < ms(5000));
            }
        } finally {
            silent.close();
        }
    });

    // ---- --list-plugins
    await t.test('--list-plugins: env, prefix and list with their kind and settings, status 0', async () => {
        const r = await cli('list-plugins', [...base, '--list-plugins']);
        assert.equal(r.code, 0, show(r));
        assert.match(r.stdout, /^env \(credentials plugin/m);
        assert.match(r.stdout, /^prefix \(discovery plugin/m);
        assert.match(r.stdout, /^list \(discovery plugin/m);
        assert.match(r.stdout, /FUNCTION_PREFIX/);
        assert.match(r.stdout, /FUNCTION_LIST/);
        // string defaults as the conf spells them: "" and "auto" quoted, numbers and durations not
        assert.match(r.stdout, /^ {4}prefix +string +default: "" +env: FUNCTION_PREFIX$/m);
        assert.match(r.stdout, /^ {4}tags_from +string +default: "auto"$/m);
        assert.match(r.stdout, /^ {4}page_size +integer +default: 100 /m);
    });

    // ---- conf files with errors: exit 1 before serving, file:line on stderr
    const confCases = [
        { what: 'a syntax error', line: 3, text: '# lambda-mcp test conf\nserver = {\n  page_size = ;\n};\n', re: /./ },
        { what: 'an unknown key', line: 3, text: 'server = {\n  page_size = 50;\n  bogus_key = 1;\n};\n', re: /bogus_key/ },
        { what: 'an unknown section', line: 2, text: BASE_CONF.split('\n')[0] + '\nfrobnicate = { a = 1; };\n', re: /frobnicate/ },
        { what: 'a value of the wrong type', line: 2, text: '\nserver = { page_size = "many"; };\n', re: /page_size/ },
        { what: 'a value out of range', line: 1, text: 'server = { page_size = 0; };\n', re: /page_size/ },
        { what: 'a bad duration', line: 2, text: BASE_CONF.split('\n')[0] + '\ntools = ( { match = "x"; timeout = "soon"; } );\n', re: /timeout|duration/ },
        { what: 'an unknown key in a plugin block', line: 1, text: 'credentials = ( { plugin = "env"; no_such_setting = 1; } );\n', re: /no_such_setting/ },
        { what: 'a typo in a wrapper setting', line: 2, text: 'credentials = ( { plugin = "env"; } );\nwrappers = ( { plugin = "cache"; ttl_sec = 5; } );\n', re: /unknown setting 'ttl_sec' for plugin cache/ },
        { what: 'a duplicate key', line: 2, text: '\nserver = { page_size = 5; page_size = 6; };\n', re: /duplicate setting/ },
        { what: 'an @include of a missing file', line: 2, text: '#\n@include "/nonexistent/lambda-mcp-extra.conf"\n', re: /include/ },
        { what: 'an integer libconfig would wrap', line: 2, text: '#\nserver = { max_queued = 4294967297; };\n', re: /4294967297 does not fit in 32 bits.*4294967297L/ },
        { what: 'a string that is not UTF-8', line: 2, text: Buffer.concat([Buffer.from('#\nserver = { instructions = "caf'), Buffer.from([0xe9]), Buffer.from('"; };\n')]), re: /'instructions' is not valid UTF-8/ },
        { what: 'a tools pattern that matches no tool name', line: 2, text: '#\ntools = ( { match = "get-prices"; timeout = "5s"; } );\n', re: /"get-prices" matches no tool/ },
        { what: 'two entries with one name', line: 2, text: 'credentials = ( { plugin = "env"; },\n { plugin = "env"; } );\n', re: /already has an entry named 'env'/ },
        { what: 'an empty credentials list', line: 2, text: '#\ncredentials = ( );\n', re: /no credentials plugins are configured/ },
        { what: 'an instance-wide wrapper setting in an overrides block (audit log_arguments)', line: 3, text: 'credentials = ( { plugin = "env"; } );\nwrappers = ( { plugin = "audit"; log_arguments = true; overrides = ( { tools = "secret_*";\n    log_arguments = false; } ); } );\n', re: /'log_arguments' cannot be set per tool: plugin audit reads it once for all tools/ },
        { what: 'an instance-wide wrapper setting in an overrides block (rate-limit global_rate)', line: 2, text: 'credentials = ( { plugin = "env"; } );\nwrappers = ( { plugin = "rate-limit"; overrides = ( { tools = "x"; global_rate = 5; } ); } );\n', re: /'global_rate' cannot be set per tool/ },
        { what: 'an instance-wide wrapper setting in an overrides block (cache max_entries)', line: 2, text: 'credentials = ( { plugin = "env"; } );\nwrappers = ( { plugin = "cache"; overrides = ( { tools = "x"; max_entries = 5; } ); } );\n', re: /'max_entries' cannot be set per tool/ },
        { what: 'an instance-wide wrapper setting in an overrides block (log-tail level)', line: 2, text: 'credentials = ( { plugin = "env"; } );\nwrappers = ( { plugin = "log-tail"; overrides = ( { tools = "x"; level = "error"; } ); } );\n', re: /'level' cannot be set per tool/ },
    ];
    for (const c of confCases) {
        await t.test(`a conf file with ${c.what}: status 1 before serving, stderr names file:${c.line}`, async () => {
            const file = t.writeFile(`bad-${c.what.replace(/\W+/g, '-')}.conf`, c.text);
            // serve mode with stdin left open: a server that started serving would not exit
            const r = await cli(`conf ${c.what}`, [...base, '--config', file], { input: null });
            assert.equal(r.timedOut, false, `it did not exit: ${show(r)}`);
            assert.equal(r.code, 1, show(r));
            assert.equal(r.stdout, '', `something was written on the MCP channel: ${show(r)}`);
            assert.ok(r.stderr.includes(`${file}:${c.line}`), `stderr does not name ${file}:${c.line}:\n${r.stderr}`);
            assert.match(r.stderr, c.re);
            const chk = await cli(`conf ${c.what} --check`, [...base, '--config', file, '--check']);
            assert.equal(chk.code, 1, show(chk));
            // the same message as the server's
            const msg = r.stderr.split('\n').find((l) => l.startsWith('lambda-mcp: '));
            assert.ok(msg && chk.stderr.split('\n').includes(msg), `--check does not say "${msg}":\n${show(chk)}`);
        });
    }

    await t.test('a relative plugin path is relative to the conf file, not to the working directory', async () => {
        const file = t.writeFile('relpath/lambda-mcp.conf', 'credentials = ( { path = "myplugins/env.so"; } );\n');
        fs.mkdirSync(path.join(path.dirname(file), 'myplugins'), { recursive: true });
        fs.copyFileSync(path.join(cfg.pluginDir, 'env.so'), path.join(path.dirname(file), 'myplugins', 'env.so'));
        const chk = await cli('relative plugin path', [...base, '--config', file, '--check']);
        assert.equal(chk.code, 0, show(chk));
        assert.match(chk.stdout, /credentials: from env/, show(chk));
    });

    for (const [what, text] of [['an empty conf file', ''], ['a conf file with wrappers only', 'wrappers = ( { plugin = "audit"; } );\n']]) {
        await t.test(`${what}: the default credentials chain signs (no credentials section), --check says so`, async () => {
            const file = t.writeFile(`no-creds-${what.replace(/\W+/g, '-')}.conf`, text);
            const chk = await cli(`conf ${what} --check`, [...base, '--config', file, '--check']);
            assert.equal(chk.code, 0, show(chk));
            assert.match(chk.stdout, /credentials: from env/, show(chk));
            assert.ok(chk.stderr.includes(`${file} has no credentials section: the default chain (env, profile, web-identity, container, imds)`), show(chk));
        });
    }

    await t.test('a conf file that does not exist: status 1, named on stderr', async () => {
        const file = t.path('no-such.conf');
        const r = await cli('conf missing', [...base, '--config', file], { input: null });
        assert.equal(r.code, 1, show(r));
        assert.ok(r.stderr.includes(file), r.stderr);
        assert.equal(r.stdout, '');
    });

    // ---- plugins that must be refused
    const pdir = t.path('bad-plugins');
    fs.mkdirSync(pdir, { recursive: true });
    const cc = process.env.CC || 'cc';
    const build = (name, src) => {
        const c = path.join(pdir, `${name}.c`);
        fs.writeFileSync(c, src);
        const so = path.join(pdir, `${name}.so`);
        const r = spawnSync(cc, ['-shared', '-fPIC', `-I${path.join(cfg.srcdir, 'include')}`, '-o', so, c], { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`${cc} failed for ${name}: ${r.error || ''}${r.stderr}`);
        return so;
    };
    let badAbi;
    let noEntry;
    await t.test('build two plugins with cc from include/lambda-mcp/plugin.h: one with a wrong ABI version, one without the entry symbol', () => {
        badAbi = build(
            'bad_abi',
            `#include <lambda-mcp/plugin.h>
static int init(const lmcp_plugin_ctx *c, void **s, char *e, size_t n) { (void)c; (void)s; (void)e; (void)n; return LMCP_OK; }
static int resolve(void *s, lmcp_credentials *o, char *e, size_t n) { (void)s; (void)o; (void)e; (void)n; return LMCP_ERR; }
static const lmcp_credentials_ops ops = { .resolve = resolve };
static const lmcp_plugin_def def = {
    .abi_version = LMCP_PLUGIN_ABI_VERSION + 41,
    .struct_size = sizeof(lmcp_plugin_def),
    .kind = LMCP_PLUGIN_CREDENTIALS,
    .name = "bad_abi",
    .version = "0",
    .init = init,
    .credentials = &ops,
};
LMCP_PLUGIN_DEFINE(def)
`,
        );
        noEntry = build('no_entry', `int lmcp_plugin_entry_misspelled(void);\nint lmcp_plugin_entry_misspelled(void) { return 42; }\n`);
    });

    const refuse = async (label, conf, pluginDir, re) => {
        const file = t.writeFile(`${label}.conf`, conf);
        const r = await cli(label, ['--plugin-dir', pluginDir, '--config', file], { input: null });
        assert.equal(r.timedOut, false, `it did not exit: ${show(r)}`);
        assert.equal(r.code, 1, show(r));
        assert.equal(r.stdout, '', `something was written on the MCP channel: ${show(r)}`);
        for (const x of [].concat(re)) assert.match(r.stderr, x, show(r));
        return r;
    };

    await t.test('a plugin with the wrong ABI version: status 1 before serving, stderr names the file and the ABI versions', async () => {
        assert.ok(badAbi, 'not built');
        await refuse('plugin-bad-abi', 'credentials = ( { plugin = "bad_abi"; } );\n', pdir, [/bad_abi\.so/, /ABI version 42/, /ABI version 1\b/]);
    });

    await t.test('a plugin without the entry symbol (by path): status 1 before serving, stderr names the file and the symbol', async () => {
        assert.ok(noEntry, 'not built');
        await refuse('plugin-no-entry', `credentials = ( { path = "${noEntry}"; } );\n`, cfg.pluginDir, [/no_entry\.so/, /lmcp_plugin_entry/]);
    });

    await t.test('a plugin of the wrong kind (the prefix discovery plugin as credentials): status 1, says so', async () => {
        await refuse('plugin-wrong-kind', 'credentials = ( { plugin = "prefix"; } );\n', cfg.pluginDir, [/prefix\.so/, /discovery plugin/, /credentials plugin/]);
    });

    await t.test('a plugin that does not exist: status 1, names it and the directory', async () => {
        await refuse('plugin-missing', 'credentials = ( { plugin = "no_such_plugin"; } );\n', cfg.pluginDir, [/no_such_plugin/, new RegExp(cfg.pluginDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))]);
    });

    await t.test('a plugin file writable by every user (by path): status 1 before serving, file:line, says why and how to mend it', async () => {
        const dir = t.path('open-plugin');
        fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
        const so = path.join(dir, 'prefix.so');
        fs.copyFileSync(path.join(cfg.pluginDir, 'prefix.so'), so);
        fs.chmodSync(so, 0o666);
        const conf = `discovery = {\n  plugins = ( { path = "${so}"; } );\n};\n`;
        await refuse('plugin-world-writable', conf, cfg.pluginDir, [/plugin-world-writable\.conf:2: /, /prefix\.so: refused: writable by every user; a plugin runs with the server's AWS credentials \(chmod o-w it\)/]);
        fs.chmodSync(so, 0o644);
        const file = t.writeFile('plugin-mended.conf', conf);
        const r = await cli('plugin-mended', ['--plugin-dir', cfg.pluginDir, '--config', file, '--check']);
        assert.equal(r.code, 0, show(r));
        assert.doesNotMatch(r.stderr, /refused/, show(r));
    });

    await t.test('a conf file writable by every user: status 1 before serving, says why and how to mend it; --check says the same', async () => {
        const file = t.writeFile('open.conf', BASE_CONF);
        fs.chmodSync(file, 0o666);
        const serve = await cli('conf-open', [...base, '--config', file], { input: null });
        assert.equal(serve.code, 1, show(serve));
        assert.equal(serve.stdout, '', show(serve));
        assert.match(serve.stderr, /open\.conf: refused: writable by every user; the conf file decides which plugins run and where calls and their arguments go \(chmod o-w it\)/, show(serve));
        const chk = await cli('conf-open --check', [...base, '--config', file, '--check']);
        assert.equal(chk.code, 1, show(chk));
        assert.match(chk.stderr, /open\.conf: refused: writable by every user/, show(chk));
        fs.chmodSync(file, 0o644);
        const ok = await cli('conf-mended --check', [...base, '--config', file, '--check']);
        assert.equal(ok.code, 0, show(ok));
    });

    await t.test('--list-plugins in a directory with both broken plugins: status 1, each named with its reason', async () => {
        const r = await cli('list-plugins-bad', ['--plugin-dir', pdir, '--list-plugins']);
        assert.equal(r.code, 1, show(r));
        assert.match(r.stderr, /bad_abi\.so.*ABI version/);
        assert.match(r.stderr, /no_entry\.so.*lmcp_plugin_entry/);
    });

    await t.test('--list-plugins with a conf: the plugins it names by path, outside the plugin directory, are listed too (once); a broken one is named with file:line, status 1', async () => {
        // README: declare your settings and `--list-plugins` documents them; a vendor plugin is
        // enabled with path = "..." (relative: from the conf file's directory)
        const vendor = t.path('vendor-plugins', 'vendor.so');
        fs.mkdirSync(path.dirname(vendor), { recursive: true, mode: 0o755 });
        fs.copyFileSync(path.join(cfg.pluginDir, 'prefix.so'), vendor);
        fs.chmodSync(vendor, 0o755);
        const conf = t.writeFile('list-vendor.conf',
            'discovery = {\n  plugins = ( { path = "vendor-plugins/vendor.so"; },\n' +
            '              { path = "vendor-plugins/vendor.so"; name = "again"; },\n' +
            `              { path = "${path.join(cfg.pluginDir, 'list.so')}"; } );\n};\n`);
        const r = await cli('list-plugins-vendor', [...base, '--config', conf, '--list-plugins']);
        assert.equal(r.code, 0, show(r));
        const files = [...r.stdout.matchAll(/^ {4}file: (.*)$/gm)].map((m) => m[1]);
        assert.equal(files.filter((f) => f === vendor).length, 1, `${vendor} described once\n${show(r)}`);
        assert.equal(files.filter((f) => f.endsWith('/list.so')).length, 1, `list.so (in the plugin directory) described once\n${show(r)}`);
        const tail = r.stdout.slice(r.stdout.indexOf('names by path'));
        assert.match(tail, new RegExp(`^prefix \\(discovery plugin[^\\n]*\\n {4}file: ${vendor.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n {4}prefix +string`, 'm'), show(r));

        assert.ok(noEntry, 'not built');
        const bad = t.writeFile('list-vendor-bad.conf', `credentials = ( { plugin = "env"; },\n  { path = "${noEntry}"; } );\n`);
        const rb = await cli('list-plugins-vendor-bad', [...base, '--config', bad, '--list-plugins']);
        assert.equal(rb.code, 1, show(rb));
        assert.match(rb.stderr, /list-vendor-bad\.conf:2: .*no_entry\.so.*lmcp_plugin_entry/, show(rb));
    });
}, { timeoutSec: 90 });
