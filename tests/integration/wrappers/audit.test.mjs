// The audit wrapper end to end: one JSON line per call with the documented fields in the
// documented order, the AWS request id the emulator issued, the error type of a failure,
// from_cache for a cache hit, the SHA-256 of the canonical arguments and never the arguments
// themselves (unless log_arguments = true); the file is created 0600 and reopened after rotation.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { assert, run } from '../lib/harness.mjs';

const text = (r) => (r.content || []).map((c) => c.text).join('\n');
const FIELDS = ['v', 'time', 'tool', 'function', 'qualifier', 'duration_ms', 'outcome', 'request_id', 'error_type', 'from_cache', 'arguments_sha256'];
const ARN = (fn) => `arn:aws:lambda:us-east-1:123456789012:function:${fn}`;

/* The canonical JSON of plugins/wrappers/README.md (for ASCII strings and integers). */
const canonical = (v) =>
    Array.isArray(v)
        ? `[${v.map(canonical).join(',')}]`
        : v && typeof v === 'object'
          ? `{${Object.keys(v)
                .sort()
                .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
                .join(',')}}`
          : JSON.stringify(v);
const sha256 = (s) => crypto.createHash('sha256').update(s).digest('hex');
const lines = (file) =>
    fs.existsSync(file)
        ? fs
              .readFileSync(file, 'utf8')
              .split('\n')
              .filter(Boolean)
              .map((l) => JSON.parse(l))
        : [];

run('wrappers-audit', async (t) => {
    const C = await t.clients();
    const emu = await t.emulator({ account: 'demo.json' });
    // greet is invoked through its alias "live" (the tags plugin reads lambda-mcp:qualifier)
    await emu.control('POST', '/__emu/functions', { add_tags: { greet: { 'lambda-mcp:qualifier': 'live' } } });
    const file = t.path('audit', 'calls.jsonl');
    fs.mkdirSync(t.path('audit'), { recursive: true });
    const conf = `credentials = ( { plugin = "env"; } );
discovery = { plugins = ( { plugin = "prefix"; }, { plugin = "list"; }, { plugin = "tags"; metadata = "always"; } ); };
wrappers = ( { plugin = "audit"; file = "${file}"; },
             { plugin = "cache"; overrides = ( { tools = "echo"; cacheable = true; } ); } );
`;
    const { client, session } = await t.legacyClient({ label: 'legacy', emu, conf });
    const call = (p) => client.callTool(p, C.LegacyCallToolResultSchema);
    const calls = [
        { name: 'greet', arguments: { name: 'argval-Ada', note: { z: 1, a: [3, 2, 1] } } },
        { name: 'fail', arguments: { order_id: 99, secret: 'argval-s3cr3t' } },
        { name: 'echo', arguments: { b: 'argval-b', a: 'argval-a' } },
        { name: 'echo', arguments: { a: 'argval-a', b: 'argval-b' } },
        { name: 'text_raw', arguments: {} },
    ];
    const before = await emu.stats();
    const t0 = Date.now();
    const results = [];
    for (const c of calls) results.push(await call(c));
    const t1 = Date.now();
    const recent = (await emu.control('GET', `/__emu/stats?since=${before.last_seq}`)).recent.filter((e) => e.operation === 'Invoke');

    await t.test('one line per call, the fields in the documented order, nothing else', () => {
        const got = lines(file);
        assert.equal(got.length, calls.length, fs.readFileSync(file, 'utf8'));
        for (const l of got) assert.deepEqual(Object.keys(l), FIELDS);
        t.note(`first line: ${fs.readFileSync(file, 'utf8').split('\n')[0]}`);
    });

    await t.test('time (RFC 3339 UTC, ms), tool, function ARN, qualifier, duration, outcome, request id, error type', () => {
        const got = lines(file);
        for (const [i, l] of got.entries()) {
            assert.equal(l.v, 1);
            assert.match(l.time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
            const ms = Date.parse(l.time);
            assert.ok(ms >= t0 - 1000 && ms <= t1 + 1000, `time ${l.time} outside the test`);
            assert.equal(l.tool, calls[i].name);
            assert.equal(typeof l.duration_ms, 'number');
            assert.ok(l.duration_ms >= 0 && l.duration_ms < 10000);
        }
        assert.equal(got[0].function, ARN('greet'));
        assert.equal(got[0].qualifier, 'live');
        assert.equal(got[0].outcome, 'ok');
        assert.equal(got[0].error_type, null);
        assert.equal(got[1].function, ARN('fail'));
        assert.equal(got[1].qualifier, null);
        assert.equal(got[1].outcome, 'function_error');
        assert.equal(got[1].error_type, 'ValueError');
        assert.equal(got[4].function, ARN('text-raw'));
        assert.equal(got[4].outcome, 'ok');
        // request ids: the ones the emulator issued, in order (the cache hit made no request)
        assert.equal(recent.length, 4);
        assert.deepEqual([got[0], got[1], got[2], got[4]].map((l) => l.request_id), recent.map((e) => e.request_id));
        assert.equal(results[1].isError, true);
    });

    await t.test('from_cache marks the cache hit, which replays the request id it came from', () => {
        const got = lines(file);
        assert.deepEqual(got.map((l) => l.from_cache), [false, false, false, true, false]);
        assert.equal(got[3].request_id, got[2].request_id);
        assert.equal(got[3].outcome, 'ok');
    });

    await t.test('arguments: only the SHA-256 of their canonical JSON (key order does not matter); no raw value anywhere', () => {
        const got = lines(file);
        for (const [i, l] of got.entries()) assert.equal(l.arguments_sha256, sha256(canonical(calls[i].arguments)), `line ${i}`);
        assert.equal(got[2].arguments_sha256, got[3].arguments_sha256);
        const raw = fs.readFileSync(file, 'utf8');
        assert.ok(!raw.includes('argval-'), 'a raw argument value is in the audit file');
        assert.ok(!session.stderrText().includes('argval-'), 'a raw argument value is in the server log');
    });

    await t.test('the file was created with mode 0600', () => {
        assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    });

    await t.test('rotation: renamed away, the next line goes to a new file at the path', async () => {
        fs.renameSync(file, `${file}.1`);
        await call({ name: 'greet', arguments: { name: 'argval-after-rotation' } });
        assert.equal(lines(`${file}.1`).length, calls.length);
        const fresh = lines(file);
        assert.equal(fresh.length, 1);
        assert.equal(fresh[0].tool, 'greet');
        assert.equal(fs.statSync(file).mode & 0o777, 0o600);
        assert.match(session.stderrText(), / info  audit: the audit file \S+calls\.jsonl was rotated: reopening it/);
    });

    // the 2026-07-28 client, with log_arguments = true: the arguments are in the line (canonical)
    const file2 = t.path('audit', 'with-arguments.jsonl');
    const conf2 = `credentials = ( { plugin = "env"; } );
discovery = { plugins = ( { plugin = "prefix"; }, { plugin = "list"; } ); };
wrappers = ( { plugin = "audit"; file = "${file2}"; log_arguments = true; } );
`;
    const modern = await t.modernClient({ label: 'modern', emu, conf: conf2 });
    await t.test('2026-07-28 client, log_arguments = true: the arguments themselves are in the line, canonical, last; a warning at start', async () => {
        const args = { zeta: 'argval-z', alpha: { y: 2, x: [1, 'two'] } };
        const r = await modern.client.callTool({ name: 'echo', arguments: args });
        assert.equal(r.isError, false, text(r));
        const raw = fs.readFileSync(file2, 'utf8');
        const [l] = lines(file2);
        assert.deepEqual(Object.keys(l), [...FIELDS, 'arguments']);
        assert.deepEqual(l.arguments, args);
        assert.ok(raw.endsWith(`,"arguments":${canonical(args)}}\n`), raw);
        assert.equal(l.arguments_sha256, sha256(canonical(args)));
        assert.match(modern.session.stderrText(), / warn  audit: log_arguments = true: call arguments are written to the audit trail/);
    });
}, { timeoutSec: 90 });
