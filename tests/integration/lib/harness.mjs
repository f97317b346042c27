// The integration-test harness: a tiny TAP-ish runner, the emulator, an isolated environment
// for the server, sessions through the official MCP clients (recorded by record-proxy.mjs),
// raw sessions, and the checks every test gets at its end:
//   - every line a server wrote to stdout is a JSON-RPC message valid against the official
//     schema of its era, and every response matches the result type of its request;
//   - every stderr line is a log line, and no sanitizer (ASan/UBSan/LSan) reported anything;
//   - no secret access key or session token the test handed out appears in anything a server
//     wrote (stdout or stderr);
//   - every server exited with status 0 (or what the test said) and none is left running.
// Exit status of a test script: 0 pass, 1 fail, 77 skip (automake's convention).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Emulator } from './emulator.mjs';
import { LineSplitter, Recorder } from './recorder.mjs';
import { SchemaSet, readRecording, recordText, validateRecording } from './validate.mjs';

export { assert };

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SRCDIR = process.env.LMCP_SRCDIR || path.resolve(HERE, '..', '..', '..');
const BUILDDIR = process.env.LMCP_BUILDDIR || SRCDIR;

export const cfg = Object.freeze({
    srcdir: SRCDIR,
    builddir: BUILDDIR,
    bin: process.env.LMCP_BIN || path.join(BUILDDIR, 'lambda-mcp'),
    pluginDir: process.env.LMCP_PLUGIN_DIR || path.join(BUILDDIR, 'plugins', '.libs'),
    node: process.env.LMCP_NODE && process.env.LMCP_NODE !== 'no' ? process.env.LMCP_NODE : process.execPath,
    python: process.env.LMCP_PYTHON && process.env.LMCP_PYTHON !== 'no' ? process.env.LMCP_PYTHON : '/usr/bin/python3',
    clientsDir: process.env.LMCP_MCP_CLIENTS || path.join(SRCDIR, 'tests', 'mcp-clients'),
    schemaDir: path.join(SRCDIR, 'tests', 'data', 'mcp-schema'),
    accounts: path.join(SRCDIR, 'tests', 'emulator', 'accounts'),
    proxy: path.join(HERE, 'record-proxy.mjs'),
    sanitizers: !!(process.env.LMCP_SANITIZERS || '').trim(),
    keepTmp: !!process.env.LMCP_KEEP_TMP,
});

/* Timeouts scale up for sanitizer builds (LMCP_SANITIZERS) or by LMCP_TIMEOUT_SCALE. */
export const SCALE = Number(process.env.LMCP_TIMEOUT_SCALE) || (cfg.sanitizers ? 3 : 1);
export const ms = (n) => Math.round(n * SCALE);

export const BASE_CONF = `credentials = ( { plugin = "env"; } );
discovery = { plugins = ( { plugin = "prefix"; }, { plugin = "list"; } ); };
`;

/* One log line of the server: "2026-01-02T03:04:05.678Z lambda-mcp[123] info  component: text" */
export const LOG_LINE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z lambda-mcp\[\d+\] (error|warn|info|debug|trace) +[^\s:][^:]*: /;
export const SANITIZER_REPORT =
    /(ERROR|WARNING): (AddressSanitizer|LeakSanitizer|ThreadSanitizer|MemorySanitizer)|:\d+(:\d+)?: runtime error: |SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer)/;

export class Skip extends Error {}

export function withTimeout(promise, timeoutMs, what) {
    let timer;
    const t = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms: ${what}`)), timeoutMs);
    });
    return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

export const sleep = (n) => new Promise((r) => setTimeout(r, n));

/* Poll fn() until it returns a truthy value (for conditions that have no event to await). */
export async function until(fn, timeoutMs, what, every = 25) {
    const end = Date.now() + timeoutMs;
    for (;;) {
        const v = await fn();
        if (v) return v;
        if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await sleep(every);
    }
}

const indent = (s, p = '#   ') =>
    String(s)
        .split('\n')
        .map((l) => p + l)
        .join('\n');

function tail(file, n) {
    try {
        const lines = fs.readFileSync(file, 'utf8').split('\n');
        if (lines.length && lines[lines.length - 1] === '') lines.pop();
        const cut = lines.length > n ? [`... (${lines.length - n} earlier lines in ${file})`] : [];
        return cut.concat(lines.slice(-n)).join('\n');
    } catch {
        return `(cannot read ${file})`;
    }
}

function pidAlive(pid) {
    if (!pid) return false;
    try {
        process.kill(pid, 0);
    } catch {
        return false;
    }
    // a zombie is not running; /proc tells the difference on Linux
    try {
        const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        return !/^\d+ \(.*\) Z /.test(st);
    } catch {
        return true;
    }
}

/* ------------------------------------------------------------------ sessions */

class Session {
    constructor(t, label, kind, opts = {}) {
        this.t = t;
        this.label = label;
        this.kind = kind;
        this.dir = t.path('sessions', `${String(t.sessions.length + 1).padStart(2, '0')}-${label.replace(/[^\w.-]+/g, '_')}`);
        fs.mkdirSync(this.dir, { recursive: true });
        this.allowUnanswered = !!opts.allowUnanswered;
        this.expectExit = opts.expectExit === undefined ? 0 : opts.expectExit;
        this.logLines = opts.logLines !== false; // stderr must be log lines only
        this.closers = [];
        this.closed = false;
        t.sessions.push(this);
    }
    onClose(fn) {
        this.closers.push(fn);
    }
    async close() {
        if (this.closed) return;
        this.closed = true;
        for (const fn of this.closers.reverse()) await fn();
    }
    recordings() {
        return fs
            .readdirSync(this.dir)
            .filter((f) => f.endsWith('.jsonl'))
            .map((f) => path.join(this.dir, f));
    }
    stderrFiles() {
        return fs
            .readdirSync(this.dir)
            .filter((f) => f.endsWith('.stderr'))
            .map((f) => path.join(this.dir, f));
    }
    /* all messages the servers of this session wrote so far: [{msg, text, file}] */
    outMessages() {
        const out = [];
        for (const f of this.recordings()) {
            for (const r of readRecording(f)) {
                if (r.k !== 'out') continue;
                const text = recordText(r);
                let msg = null;
                try {
                    msg = JSON.parse(text);
                } catch {}
                out.push({ msg, text, file: f, t: r.t });
            }
        }
        return out.sort((a, b) => a.t - b.t);
    }
    inMessages() {
        const out = [];
        for (const f of this.recordings()) {
            for (const r of readRecording(f)) {
                if (r.k !== 'in' || r.truncated) continue;
                let msg = null;
                try {
                    msg = JSON.parse(recordText(r));
                } catch {}
                out.push({ msg, text: recordText(r), file: f, t: r.t });
            }
        }
        return out.sort((a, b) => a.t - b.t);
    }
    /* the start records: one per server process */
    processes() {
        return this.recordings().map((f) => {
            const recs = readRecording(f);
            const start = recs.find((r) => r.k === 'start') || {};
            const exit = recs.find((r) => r.k === 'exit') || null;
            const methods = recs
                .filter((r) => r.k === 'in')
                .map((r) => {
                    try {
                        return JSON.parse(recordText(r)).method;
                    } catch {
                        return undefined;
                    }
                })
                .filter(Boolean);
            return { file: f, pid: start.pid, exit, methods };
        });
    }
    stderrText() {
        return this.stderrFiles()
            .map((f) => fs.readFileSync(f, 'utf8'))
            .join('');
    }
}

/* JSON-RPC over one of the official stdio transports, with no Client on top: for what the
 * Client classes will not send (other protocol versions, malformed params). */
export class RpcSession {
    constructor(transport) {
        this.transport = transport;
        this.messages = [];
        this.errors = [];
        this.waiters = [];
        this.nextId = 1;
        transport.onmessage = (m) => {
            this.messages.push(m);
            this._wake();
        };
        transport.onerror = (e) => {
            this.errors.push(e);
            this._wake();
        };
        transport.onclose = () => {
            this.closed = true;
            this._wake();
        };
    }
    _wake() {
        for (const w of [...this.waiters]) w();
    }
    start() {
        return this.transport.start();
    }
    send(msg) {
        return this.transport.send(msg);
    }
    notify(method, params) {
        const m = { jsonrpc: '2.0', method };
        if (params !== undefined) m.params = params;
        return this.send(m);
    }
    waitFor(pred, timeoutMs, what) {
        return withTimeout(
            new Promise((resolve, reject) => {
                const check = () => {
                    const m = this.messages.find(pred);
                    if (m) {
                        this.waiters = this.waiters.filter((w) => w !== check);
                        resolve(m);
                    } else if (this.closed) {
                        this.waiters = this.waiters.filter((w) => w !== check);
                        reject(new Error(`the server closed the connection while waiting for ${what}`));
                    }
                };
                this.waiters.push(check);
                check();
            }),
            timeoutMs,
            what,
        );
    }
    /* sends a request; resolves with the whole response message (result or error) */
    async request(method, params, { id, timeoutMs = ms(20000) } = {}) {
        const rid = id === undefined ? this.nextId++ : id;
        const m = { jsonrpc: '2.0', id: rid, method };
        if (params !== undefined) m.params = params;
        await this.send(m);
        return this.waitFor((x) => x.id === rid && ('result' in x || 'error' in x), timeoutMs, `the response to ${method} (id ${rid})`);
    }
    close() {
        return this.transport.close();
    }
}

/* The server spawned directly (no client library, no proxy): raw bytes in, lines out, all of it
 * recorded in the same format as record-proxy.mjs so the end-of-test checks apply. */
export class DirectServer {
    constructor(t, session, { env, args }) {
        this.t = t;
        this.session = session;
        this.child = spawn(cfg.bin, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
        this.pid = this.child.pid;
        const base = path.join(session.dir, String(this.pid));
        this.rec = new Recorder(base + '.jsonl');
        this.rec.record({ k: 'start', pid: this.pid, argv: [cfg.bin, ...args] });
        this.errFd = fs.openSync(base + '.stderr', 'a');
        this.stderr = '';
        this.messages = []; // {msg, text, t}
        this.waiters = [];
        this.inLines = new LineSplitter(this.rec, 'in');
        const out = new LineSplitter(this.rec, 'out', (buf) => {
            const text = buf.toString('utf8');
            let msg = null;
            try {
                msg = JSON.parse(text);
            } catch {}
            this.messages.push({ msg, text, t: Date.now() });
            this._wake();
        });
        this.child.stdout.on('data', (c) => out.push(c));
        this.child.stdout.on('end', () => out.end());
        this.child.stderr.on('data', (c) => {
            try {
                fs.writeSync(this.errFd, c);
            } catch {}
            this.stderr += c.toString();
            this._wake();
        });
        this.child.stdin.on('error', (e) => {
            this.stdinError = e;
        });
        this.child.on('error', (e) => {
            this.rec.record({ k: 'spawn-error', error: String(e) });
            this.stderr += `cannot run ${cfg.bin}: ${e.message}\n`;
            try {
                fs.writeSync(this.errFd, `cannot run ${cfg.bin}: ${e.message}\n`);
            } catch {}
        });
        this.exited = new Promise((resolve) => {
            this.child.on('close', (code, signal) => {
                out.end();
                this.rec.record({ k: 'exit', code, signal });
                this.rec.close();
                try {
                    fs.closeSync(this.errFd);
                } catch {}
                this.exit = { code, signal, t: Date.now() };
                this._wake();
                resolve(this.exit);
            });
        });
        t.children.add(this.child);
    }
    _wake() {
        for (const w of [...this.waiters]) w();
    }
    /* writes bytes, honouring backpressure (resolves when the pipe took them) */
    write(data) {
        const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
        this.inLines.push(buf);
        return new Promise((resolve, reject) => {
            if (this.child.stdin.destroyed || this.child.stdin.writableEnded) {
                reject(new Error('the server stdin is closed'));
                return;
            }
            if (this.child.stdin.write(buf)) resolve();
            else {
                const onErr = (e) => reject(e);
                this.child.stdin.once('error', onErr);
                this.child.stdin.once('drain', () => {
                    this.child.stdin.off('error', onErr);
                    resolve();
                });
            }
        });
    }
    /* writes a big buffer in chunks, each after the previous one drained */
    async writeChunked(buf, chunk = 64 * 1024) {
        for (let i = 0; i < buf.length; i += chunk) await this.write(buf.subarray(i, Math.min(buf.length, i + chunk)));
    }
    send(obj) {
        return this.write(JSON.stringify(obj) + '\n');
    }
    mark() {
        return this.messages.length;
    }
    since(mark) {
        return this.messages.slice(mark);
    }
    waitFor(pred, timeoutMs, what, from = 0) {
        return withTimeout(
            new Promise((resolve, reject) => {
                const check = () => {
                    const m = this.messages.slice(from).find(pred);
                    if (m) {
                        this.waiters = this.waiters.filter((w) => w !== check);
                        resolve(m);
                    } else if (this.exit) {
                        this.waiters = this.waiters.filter((w) => w !== check);
                        reject(new Error(`the server exited (${JSON.stringify(this.exit)}) while waiting for ${what}`));
                    }
                };
                this.waiters.push(check);
                check();
            }),
            timeoutMs,
            what,
        );
    }
    waitForStderr(re, timeoutMs, what) {
        return withTimeout(
            new Promise((resolve, reject) => {
                const check = () => {
                    const m = re.exec(this.stderr);
                    if (m) {
                        this.waiters = this.waiters.filter((w) => w !== check);
                        resolve(m);
                    } else if (this.exit) {
                        this.waiters = this.waiters.filter((w) => w !== check);
                        reject(new Error(`the server exited while waiting for ${what}`));
                    }
                };
                this.waiters.push(check);
                check();
            }),
            timeoutMs,
            what,
        );
    }
    async request(obj, timeoutMs = ms(20000)) {
        const from = this.mark();
        await this.send(obj);
        return this.waitFor((m) => m.msg && m.msg.id === obj.id, timeoutMs, `the response to ${obj.method} id ${obj.id}`, from);
    }
    closeStdin() {
        this.inLines.end();
        this.rec.record({ k: 'stdin-eof' });
        this.child.stdin.end();
    }
    kill(sig = 'SIGTERM') {
        if (!this.exit) {
            this.rec.record({ k: 'signal', sig });
            this.child.kill(sig);
        }
    }
}

/* ------------------------------------------------------------------ the test run */

class TestRun {
    constructor(name, opts) {
        this.name = name;
        this.opts = opts;
        this.n = 0;
        this.failed = [];
        this.skipped = 0;
        this.sessions = [];
        this.emulators = [];
        this.children = new Set();
        this.secrets = new Map(); // secret -> where it came from
        this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), `lmcp-it-${name}-`));
        this._clients = null;
        this._schemas = null;
        this.cliRuns = 0;
        this.confs = 0;
        this.started = Date.now();
    }

    // ---- output
    log(line) {
        process.stdout.write(line + '\n');
    }
    note(msg) {
        this.log(indent(msg, '# '));
    }
    pass(name) {
        this.n++;
        this.log(`ok ${this.n} - ${name}`);
    }
    fail(name, err) {
        this.n++;
        this.failed.push(name);
        this.log(`not ok ${this.n} - ${name}`);
        if (err !== undefined) this.log(indent(err instanceof Error ? (err.stack || err.message) : err));
    }
    ok(cond, name, detail) {
        if (cond) this.pass(name);
        else this.fail(name, detail);
        return !!cond;
    }
    /* a subtest: fn may use assert; a thrown error fails it, the run goes on */
    async test(name, fn, { timeoutMs = ms(30000) } = {}) {
        const t0 = Date.now();
        try {
            const v = await withTimeout(Promise.resolve().then(fn), timeoutMs, name);
            this.pass(`${name} (${Date.now() - t0} ms)`);
            return v;
        } catch (e) {
            if (e instanceof Skip) {
                this.n++;
                this.skipped++;
                this.log(`ok ${this.n} - ${name} # SKIP ${e.message}`);
                return undefined;
            }
            this.fail(`${name} (${Date.now() - t0} ms)`, e);
            return undefined;
        }
    }

    // ---- scratch files
    path(...parts) {
        return path.join(this.tmp, ...parts);
    }
    writeFile(name, text) {
        const p = this.path(name);
        fs.mkdirSync(path.dirname(p), { recursive: true });
        fs.writeFileSync(p, text);
        return p;
    }

    // ---- dependencies
    async clients() {
        if (this._clients) return this._clients;
        const index = path.join(cfg.clientsDir, 'index.mjs');
        if (!fs.existsSync(path.join(cfg.clientsDir, 'node_modules'))) {
            throw new Error(
                `the official MCP clients are not installed: ${cfg.clientsDir}/node_modules is missing.\n` +
                    `Run: (cd ${cfg.clientsDir} && npm ci)   (or configure --with-mcp-clients=DIR)`,
            );
        }
        const mod = await import(pathToFileURL(index).href);
        for (const [pkg, want] of Object.entries(mod.pinned)) {
            if (mod.installed[pkg] !== want)
                throw new Error(`${pkg} ${mod.installed[pkg]} is installed in ${cfg.clientsDir}, but ${want} is pinned: run npm ci there`);
        }
        this._clients = mod;
        return mod;
    }
    async schemas() {
        if (!this._schemas) {
            const c = await this.clients();
            this._schemas = new SchemaSet({ Ajv2020: c.Ajv2020, addFormats: c.addFormats, schemaDir: cfg.schemaDir });
        }
        return this._schemas;
    }

    // ---- the emulator
    /* account: a file name under tests/emulator/accounts, a path, or an account object */
    async emulator({ account = 'demo.json', label = 'emulator', verbose = false } = {}) {
        let acc = account;
        if (typeof account === 'string' && !account.includes('/')) acc = path.join(cfg.accounts, account);
        const emu = await Emulator.start({
            python: cfg.python,
            srcdir: cfg.srcdir,
            dir: this.path('emulators'),
            account: acc,
            label: `${label}-${this.emulators.length + 1}`,
            timeoutMs: ms(30000),
            verbose,
        });
        this.emulators.push(emu);
        return emu;
    }

    addSecret(secret, where) {
        if (secret && secret.length >= 8) this.secrets.set(secret, where);
    }

    /**
     * The server's environment: nothing inherited but PATH, locale and sanitizer options; a
     * fresh HOME with empty ~/.aws files; every AWS endpoint on the emulator (loopback).
     * creds: {access_key_id, secret_access_key, session_token} | null (none) | undefined (the
     * emulator account's first credentials).
     */
    serverEnv({ emu = null, creds, env = {}, region = 'us-east-1' } = {}) {
        const out = {};
        for (const k of ['PATH', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TMPDIR']) if (process.env[k] !== undefined) out[k] = process.env[k];
        const asan = process.env.ASAN_OPTIONS || '';
        out.ASAN_OPTIONS = /detect_leaks=/.test(asan) ? asan : [asan, 'detect_leaks=1'].filter(Boolean).join(':');
        out.UBSAN_OPTIONS = process.env.UBSAN_OPTIONS || 'print_stacktrace=1';
        if (process.env.LSAN_OPTIONS) out.LSAN_OPTIONS = process.env.LSAN_OPTIONS;
        if (process.env.TSAN_OPTIONS) out.TSAN_OPTIONS = process.env.TSAN_OPTIONS;
        const home = this.path('home');
        if (!fs.existsSync(home)) {
            fs.mkdirSync(path.join(home, '.aws'), { recursive: true });
            fs.writeFileSync(path.join(home, '.aws', 'config'), '# isolated by tests/integration: no profiles\n');
            fs.writeFileSync(path.join(home, '.aws', 'credentials'), '# isolated by tests/integration: no profiles\n');
        }
        out.HOME = home;
        out.AWS_CONFIG_FILE = path.join(home, '.aws', 'config');
        out.AWS_SHARED_CREDENTIALS_FILE = path.join(home, '.aws', 'credentials');
        out.AWS_EC2_METADATA_DISABLED = 'true';
        if (region) out.AWS_REGION = region;
        if (emu) out.AWS_ENDPOINT_URL = emu.url;
        const c = creds === undefined ? (emu ? emu.credentials[0] : null) : creds;
        if (c) {
            out.AWS_ACCESS_KEY_ID = c.access_key_id;
            out.AWS_SECRET_ACCESS_KEY = c.secret_access_key;
            this.addSecret(c.secret_access_key, 'AWS_SECRET_ACCESS_KEY');
            if (c.session_token) {
                out.AWS_SESSION_TOKEN = c.session_token;
                this.addSecret(c.session_token, 'AWS_SESSION_TOKEN');
            }
        }
        for (const [k, v] of Object.entries(env)) {
            if (v === undefined || v === null) delete out[k];
            else out[k] = String(v);
        }
        for (const k of ['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) if (out[k]) this.addSecret(out[k], k);
        return out;
    }

    /* conf: the text of a conf file (written to the scratch dir); confFile: a path */
    serverArgs({ conf, confFile, args = [], logLevel = 'debug' } = {}) {
        const out = ['--plugin-dir', cfg.pluginDir];
        if (conf !== undefined) confFile = this.writeFile(`conf/${String(++this.confs).padStart(2, '0')}.conf`, conf);
        if (confFile !== undefined) out.push('--config', confFile);
        if (logLevel) out.push('--log-level', logLevel);
        return out.concat(args);
    }

    _transportParams(session, serverArgs, env) {
        const fd = fs.openSync(path.join(session.dir, 'transport-stderr.log'), 'a');
        session.onClose(async () => {
            try {
                fs.closeSync(fd);
            } catch {}
        });
        return { command: cfg.node, args: [cfg.proxy, session.dir, '--', cfg.bin, ...serverArgs], env, stderr: fd };
    }

    /** The legacy client (SDK 1.x): connect() runs initialize. Returns {client, transport, session}. */
    async legacyClient({ label = 'legacy', emu, creds, env, conf, confFile, args, logLevel, sessionOpts, clientOptions = {} } = {}) {
        const C = await this.clients();
        const session = new Session(this, label, 'legacy-client', sessionOpts);
        const transport = new C.LegacyStdioClientTransport(
            this._transportParams(session, this.serverArgs({ conf, confFile, args, logLevel }), this.serverEnv({ emu, creds, env })),
        );
        const client = new C.LegacyClient({ name: 'lambda-mcp-integration', version: '1.0.0' }, { capabilities: {}, ...clientOptions });
        session.onClose(() => withTimeout(client.close(), ms(15000), `closing ${label}`).catch((e) => this.fail(`${label}: close`, e)));
        await withTimeout(client.connect(transport, { timeout: ms(20000) }), ms(25000), `${label}: connect`);
        return { client, transport, session };
    }

    /** The 2026-07-28 client (client 2.x), negotiating with server/discover. */
    async modernClient({ label = 'modern', emu, creds, env, conf, confFile, args, logLevel, sessionOpts, mode = 'auto', clientOptions = {} } = {}) {
        const C = await this.clients();
        const session = new Session(this, label, 'modern-client', sessionOpts);
        const transport = new C.ModernStdioClientTransport(
            this._transportParams(session, this.serverArgs({ conf, confFile, args, logLevel }), this.serverEnv({ emu, creds, env })),
        );
        const client = new C.ModernClient(
            { name: 'lambda-mcp-integration', version: '1.0.0' },
            { versionNegotiation: { mode, probe: { timeoutMs: ms(20000) } }, ...clientOptions },
        );
        session.onClose(() => withTimeout(client.close(), ms(15000), `closing ${label}`).catch((e) => this.fail(`${label}: close`, e)));
        await withTimeout(client.connect(transport, { timeout: ms(20000) }), ms(30000), `${label}: connect`);
        return { client, transport, session };
    }

    /** Raw JSON-RPC over an official stdio transport (flavor 'legacy' = SDK 1.x, 'modern' = client 2.x). */
    async rpcSession({ label = 'rpc', flavor = 'legacy', emu, creds, env, conf, confFile, args, logLevel, sessionOpts } = {}) {
        const C = await this.clients();
        const session = new Session(this, label, 'rpc', sessionOpts);
        const Transport = flavor === 'modern' ? C.ModernStdioClientTransport : C.LegacyStdioClientTransport;
        const transport = new Transport(this._transportParams(session, this.serverArgs({ conf, confFile, args, logLevel }), this.serverEnv({ emu, creds, env })));
        const rpc = new RpcSession(transport);
        session.onClose(() => withTimeout(rpc.close(), ms(15000), `closing ${label}`).catch((e) => this.fail(`${label}: close`, e)));
        await rpc.start();
        rpc.session = session;
        return rpc;
    }

    /** The server spawned directly (see DirectServer). */
    directServer({ label = 'direct', emu, creds, env, conf, confFile, args, logLevel, sessionOpts } = {}) {
        const session = new Session(this, label, 'direct', sessionOpts);
        const srv = new DirectServer(this, session, { env: this.serverEnv({ emu, creds, env }), args: this.serverArgs({ conf, confFile, args, logLevel }) });
        session.onClose(async () => {
            if (!srv.exit) {
                srv.closeStdin();
                try {
                    await withTimeout(srv.exited, ms(10000), `${label}: exit after end of input`);
                } catch (e) {
                    srv.kill('SIGKILL');
                    await srv.exited;
                    this.fail(`${label}: the server exits at end of input`, e);
                }
            }
        });
        return srv;
    }

    /**
     * Runs the binary to completion (CLI modes). stdin stays open unless input is given, so a
     * server that would serve is caught by the timeout. Returns {code, signal, stdout, stderr, ms}.
     */
    runCli(args, { env, input = null, timeoutMs = ms(20000), label } = {}) {
        const started = Date.now();
        return new Promise((resolve) => {
            const child = spawn(cfg.bin, args, { env: env || this.serverEnv({}), stdio: ['pipe', 'pipe', 'pipe'] });
            this.children.add(child);
            let stdout = '';
            let stderr = '';
            let timedOut = false;
            child.stdout.on('data', (c) => (stdout += c));
            child.stderr.on('data', (c) => (stderr += c));
            child.stdin.on('error', () => {});
            child.on('error', (e) => (stderr += `cannot run ${cfg.bin}: ${e.message}\n`));
            if (input !== null) child.stdin.end(input);
            const timer = setTimeout(() => {
                timedOut = true;
                child.kill('SIGKILL');
            }, timeoutMs);
            child.on('close', (code, signal) => {
                clearTimeout(timer);
                this.children.delete(child);
                const res = { code, signal, stdout, stderr, ms: Date.now() - started, timedOut, args };
                this.cliRuns++;
                fs.writeFileSync(
                    this.path('cli', `${String(this.cliRuns).padStart(2, '0')}-${(label || 'run').replace(/[^\w.-]+/g, '_')}.txt`),
                    `$ lambda-mcp ${args.join(' ')}\n[status ${code} signal ${signal}${timedOut ? ' TIMED OUT' : ''}, ${res.ms} ms]\n--- stdout\n${stdout}--- stderr\n${stderr}`,
                    { flag: 'w' },
                );
                resolve(res);
            });
            fs.mkdirSync(this.path('cli'), { recursive: true });
        });
    }

    /* secrets and sanitizer reports in some output that is not a session (CLI runs) */
    checkOutput(label, text) {
        const leaks = this.findSecrets(text);
        this.ok(leaks.length === 0, `${label}: no secret in the output`, leaks.join('\n'));
        const san = SANITIZER_REPORT.exec(text);
        this.ok(!san, `${label}: no sanitizer report`, san ? text : undefined);
    }

    findSecrets(text) {
        const found = [];
        for (const [secret, where] of this.secrets) {
            const forms = new Set([secret, JSON.stringify(secret).slice(1, -1), secret.replace(/\//g, '\\/')]);
            for (const f of forms) {
                if (text.includes(f)) {
                    found.push(`the ${where} used by this test (${secret.slice(0, 4)}…) appears in the output`);
                    break;
                }
            }
        }
        return found;
    }

    // ---- the end of every test
    async postChecks() {
        const schemas = await this.schemas().catch((e) => {
            this.fail('load the official MCP schemas', e);
            return null;
        });
        for (const s of this.sessions) {
            const procs = s.recordings();
            let problems = [];
            const summary = [];
            let lines = 0;
            for (const f of procs) {
                const recs = readRecording(f);
                if (schemas) {
                    const v = validateRecording(recs, schemas, { allowUnanswered: s.allowUnanswered, expectExit: s.expectExit });
                    lines += v.stats.out;
                    problems = problems.concat(v.problems.map((p) => `[${path.basename(f)} pid ${v.stats.pid}] ${p}`));
                    summary.push(
                        `pid ${v.stats.pid}: ${v.stats.in} lines in, ${v.stats.out} out (${v.stats.responses} responses, ${v.stats.notifications} notifications), exit ${v.stats.exit ? JSON.stringify(v.stats.exit) : 'not recorded'}`,
                    );
                    if (!v.stats.exit && s.expectExit !== null && s.kind !== 'modern-client') {
                        // the 2026 client's probe sibling may be SIGKILLed before its proxy logs the exit;
                        // anything else must have exited by now
                        problems.push(`[${path.basename(f)} pid ${v.stats.pid}] the server's exit was not recorded`);
                    }
                }
                const start = recs.find((r) => r.k === 'start');
                if (start && pidAlive(start.pid)) {
                    // a server whose proxy was killed (the 2026 client's probe sibling) may still be
                    // on its way out, slowly under sanitizers: give it a moment
                    try {
                        await until(() => !pidAlive(start.pid), ms(5000), `pid ${start.pid} to exit`, 50);
                    } catch {
                        problems.push(`[pid ${start.pid}] the server is still running ${ms(5000)} ms after the session closed (killed now)`);
                        try {
                            process.kill(start.pid, 'SIGKILL');
                        } catch {}
                    }
                }
            }
            if (procs.length === 0) problems.push('no server process was recorded');
            this.ok(
                problems.length === 0,
                `${s.label}: every stdout line (${lines}) is a JSON-RPC message valid against the official schema of its era; servers exited cleanly`,
                problems.concat(summary).join('\n'),
            );
            // stderr: log lines only, no sanitizer reports
            const bad = [];
            let san = null;
            for (const f of s.stderrFiles()) {
                const text = fs.readFileSync(f, 'utf8');
                if (!san && SANITIZER_REPORT.test(text)) san = `${f}:\n${text.split('\n').slice(0, 80).join('\n')}`;
                if (s.logLines) {
                    for (const line of text.split('\n')) {
                        if (line && !LOG_LINE.test(line) && !SANITIZER_REPORT.test(line)) bad.push(`${path.basename(f)}: ${line.slice(0, 200)}`);
                    }
                }
            }
            this.ok(!san, `${s.label}: no sanitizer report on stderr`, san || undefined);
            if (s.logLines) this.ok(bad.length === 0, `${s.label}: every stderr line is a log line`, bad.slice(0, 20).join('\n'));
            // secrets
            if (this.secrets.size) {
                const texts = [];
                for (const f of procs) for (const r of readRecording(f)) if (r.k === 'out' || r.k === 'out-partial') texts.push(recordText(r));
                const leaks = this.findSecrets(texts.join('\n') + '\n' + s.stderrText());
                this.ok(leaks.length === 0, `${s.label}: no secret key or session token in anything the server wrote`, leaks.join('\n'));
            }
        }
    }

    async finish(exitEarly = false) {
        for (const s of this.sessions) {
            try {
                await withTimeout(s.close(), ms(20000), `closing session ${s.label}`);
            } catch (e) {
                this.fail(`${s.label}: closing the session`, e);
            }
        }
        if (!exitEarly) await this.postChecks();
        for (const emu of this.emulators) await emu.stop();
        for (const c of this.children) {
            try {
                c.kill('SIGKILL');
            } catch {}
        }
        this.log(`1..${this.n}`);
        const passed = this.n - this.failed.length - this.skipped;
        if (this.failed.length) {
            this.log(`# FAILED: ${this.failed.length} of ${this.n}:`);
            for (const f of this.failed) this.log(`#   - ${f}`);
            for (const s of this.sessions) {
                for (const f of s.stderrFiles()) {
                    this.log(`# ---- server stderr, session ${s.label} (${f})`);
                    this.log(indent(tail(f, 80), '#   '));
                }
                // what the recording proxy itself said (when it could not start the server)
                const ts = path.join(s.dir, 'transport-stderr.log');
                if (s.stderrFiles().length === 0 && fs.existsSync(ts) && fs.statSync(ts).size) {
                    this.log(`# ---- transport stderr, session ${s.label} (${ts})`);
                    this.log(indent(tail(ts, 40), '#   '));
                }
            }
            for (const emu of this.emulators) {
                this.log(`# ---- emulator stderr (${emu.stderrPath})`);
                this.log(indent(emu.stderrTail(30), '#   '));
            }
            this.log(`# recordings and logs kept in ${this.tmp}`);
        } else if (!cfg.keepTmp) {
            fs.rmSync(this.tmp, { recursive: true, force: true });
        } else {
            this.log(`# kept ${this.tmp}`);
        }
        this.log(`# ${this.name}: ${((Date.now() - this.started) / 1000).toFixed(1)} s`);
        this.log(`# ${this.name}: ${passed} checks passed, ${this.failed.length} failed${this.skipped ? `, ${this.skipped} skipped` : ''}`);
        return this.failed.length ? 1 : this.n === this.skipped ? 77 : 0;
    }

    killEverything() {
        for (const emu of this.emulators) emu.killNow();
        for (const c of this.children) {
            try {
                c.kill('SIGKILL');
            } catch {}
        }
        for (const s of this.sessions) {
            try {
                for (const p of s.processes()) if (pidAlive(p.pid)) process.kill(p.pid, 'SIGKILL');
            } catch {}
        }
    }
}

/**
 * Runs one test script: body(t) does the work with t.test(...); the end-of-test checks,
 * cleanup, summary and exit status follow. opts.timeoutSec bounds the whole script.
 */
export async function run(name, body, { timeoutSec = 120 } = {}) {
    const t = new TestRun(name);
    process.on('exit', () => t.killEverything());
    for (const sig of ['SIGINT', 'SIGTERM']) {
        process.on(sig, () => {
            t.killEverything();
            process.exit(1);
        });
    }
    process.on('unhandledRejection', (e) => t.fail('unhandled promise rejection', e));
    if (cfg.clientsDir === 'none') {
        t.log(`1..0 # SKIP configured --without-mcp-clients: the integration tests need the official MCP clients`);
        fs.rmSync(t.tmp, { recursive: true, force: true });
        process.exit(77);
    }
    t.log(`# ${name}: server ${cfg.bin}${cfg.sanitizers ? ' (sanitizer build, timeouts x' + SCALE + ')' : ''}`);
    t.log(`# scratch ${t.tmp}`);
    const budget = ms(timeoutSec * 1000);
    const guard = setTimeout(async () => {
        t.fail(`${name}: the whole test finished within ${budget} ms`, 'global timeout: killing everything');
        t.killEverything();
        const code = await withTimeout(t.finish(true), 10000, 'finish').catch(() => 1);
        process.exit(code || 1);
    }, budget);
    let code;
    try {
        await body(t);
    } catch (e) {
        if (e instanceof Skip) {
            t.n++;
            t.skipped++;
            t.log(`ok ${t.n} - ${name} # SKIP ${e.message}`);
        } else {
            t.fail(`${name}: the test body ran to its end`, e);
        }
    }
    try {
        code = await t.finish();
    } catch (e) {
        t.fail('end-of-test checks', e);
        code = 1;
    }
    clearTimeout(guard);
    process.exit(code);
}
