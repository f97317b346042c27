// Raw bytes on the server's stdin, no client library: malformed JSON-RPC of every kind, each
// followed by a valid ping that must still be answered (and nothing else in between but the
// expected error); a 20 MB line; invalid UTF-8; framing details; then the end of input and
// SIGTERM with a call in flight.
import fs from 'node:fs';
import { BASE_CONF, assert, ms, run, until } from './lib/harness.mjs';

const J = (o) => JSON.stringify(o) + '\n';
const INIT = {
    jsonrpc: '2.0',
    id: 'init',
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw-stdin', version: '1' } },
};

run('raw-stdin', async (t) => {
    const emu = await t.emulator({ account: 'demo.json' });
    const srv = t.directServer({ label: 'raw', emu, conf: BASE_CONF });

    await t.test('initialize + notifications/initialized over raw stdin', async () => {
        const r = await srv.request(INIT);
        assert.equal(r.msg.result.protocolVersion, '2025-11-25');
        await srv.write(J({ jsonrpc: '2.0', method: 'notifications/initialized' }));
    });

    const unreadableIdErrors = [];
    let pings = 0;
    /**
     * Writes `input`, then a ping; the ping must be answered, and before it exactly the expected
     * answer to the input: expect = null (no answer at all), {code, id} (an error; id undefined:
     * the id could not be read), or {result: id} (a normal answer with that id).
     */
    async function probe(label, input, expect) {
        await t.test(`${label} -> ${expect === null ? 'no answer' : expect.result !== undefined ? 'answered' : `error ${expect.code}`}, then a ping is still answered`, async () => {
            const from = srv.mark();
            if (typeof input === 'function') await input();
            else await srv.write(input);
            const pid = `ping-${++pings}`;
            await srv.write(J({ jsonrpc: '2.0', id: pid, method: 'ping' }));
            const pong = await srv.waitFor((m) => m.msg && m.msg.id === pid, ms(20000), `the ping after: ${label}`, from);
            const got = srv.messages.slice(from, srv.messages.indexOf(pong));
            assert.deepEqual(pong.msg, { jsonrpc: '2.0', id: pid, result: {} });
            const shown = got.map((m) => m.text.slice(0, 300)).join('\n');
            if (expect === null) {
                assert.equal(got.length, 0, `expected no answer, got:\n${shown}`);
                return;
            }
            assert.equal(got.length, 1, `expected one answer, got ${got.length}:\n${shown}`);
            const m = got[0].msg;
            assert.ok(m, `not JSON: ${got[0].text.slice(0, 300)}`);
            assert.equal(m.jsonrpc, '2.0');
            if (expect.result !== undefined) {
                assert.ok('result' in m, shown);
                assert.deepEqual(m.id, expect.result);
                return;
            }
            assert.ok(m.error, `expected an error: ${shown}`);
            assert.equal(m.error.code, expect.code, `error code: ${shown}`);
            assert.equal(typeof m.error.message, 'string');
            assert.ok(!('result' in m));
            if (expect.id === undefined) {
                assert.ok(m.id === undefined || m.id === null, `the id could not be read, yet the error says id ${JSON.stringify(m.id)}`);
                unreadableIdErrors.push({ label, text: got[0].text });
            } else {
                assert.deepEqual(m.id, expect.id);
            }
        });
    }

    // ---- not JSON-RPC at all
    await probe('a line that is not JSON', 'this is not json\n', { code: -32700 });
    await probe('truncated JSON', '{"jsonrpc":"2.0","id":1,"method":"pi\n', { code: -32700 });
    await probe('trailing garbage after an object', '{"jsonrpc":"2.0","id":2,"method":"ping"} x\n', { code: -32700 });
    await probe('a NUL byte after an object', '{"jsonrpc":"2.0","id":3,"method":"ping"}\u0000\n', { code: -32700 });
    await probe('a bad escape in a string', '{"jsonrpc":"2.0","id":4,"method":"p\\xing"}\n', { code: -32700 });
    await probe('a JSON array (a batch)', '[{"jsonrpc":"2.0","id":5,"method":"ping"}]\n', { code: -32600 });
    await probe('an empty JSON array', '[]\n', { code: -32600 });
    await probe('a JSON number', '42\n', { code: -32600 });
    await probe('a JSON string', '"ping"\n', { code: -32600 });
    await probe('JSON null', 'null\n', { code: -32600 });
    // ---- JSON objects that are not valid requests
    await probe('jsonrpc "1.0"', J({ jsonrpc: '1.0', id: 10, method: 'ping' }), { code: -32600, id: 10 });
    await probe('no jsonrpc member', J({ id: 11, method: 'ping' }), { code: -32600, id: 11 });
    await probe('id null', J({ jsonrpc: '2.0', id: null, method: 'ping' }), { code: -32600 });
    await probe('id 1.5', '{"jsonrpc":"2.0","id":1.5,"method":"ping"}\n', { code: -32600 });
    // an id the server could only answer under another value (json-c used to clamp it to 2^64-1)
    await probe('id beyond 64 bits', '{"jsonrpc":"2.0","id":99999999999999999999999,"method":"ping"}\n', { code: -32600 });
    await probe('id {}', J({ jsonrpc: '2.0', id: {}, method: 'ping' }), { code: -32600 });
    await probe('id []', J({ jsonrpc: '2.0', id: [], method: 'ping' }), { code: -32600 });
    await probe('id true', J({ jsonrpc: '2.0', id: true, method: 'ping' }), { code: -32600 });
    await probe('method missing', J({ jsonrpc: '2.0', id: 20 }), { code: -32600, id: 20 });
    await probe('method not a string', J({ jsonrpc: '2.0', id: 21, method: 42 }), { code: -32600, id: 21 });
    await probe('params an array', J({ jsonrpc: '2.0', id: 22, method: 'tools/list', params: [1] }), { code: -32602, id: 22 });
    await probe('params a string', J({ jsonrpc: '2.0', id: 23, method: 'ping', params: 'x' }), { code: -32602, id: 23 });
    await probe('params null', J({ jsonrpc: '2.0', id: 24, method: 'ping', params: null }), { code: -32602, id: 24 });
    await probe('params._meta not an object', J({ jsonrpc: '2.0', id: 25, method: 'tools/list', params: { _meta: 'x' } }), { code: -32602, id: 25 });
    await probe('an unknown method', J({ jsonrpc: '2.0', id: 26, method: 'no/such/method', params: {} }), { code: -32601, id: 26 });
    // ---- things that must get no answer at all
    await probe('an unknown notification', J({ jsonrpc: '2.0', method: 'notifications/no_such_thing', params: {} }), null);
    await probe('notifications/cancelled with garbage params', J({ jsonrpc: '2.0', method: 'notifications/cancelled', params: 'garbage' }), null);
    await probe('notifications/cancelled with an object requestId', J({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: { x: 1 } } }), null);
    await probe('notifications/cancelled for a request that does not exist', J({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 12345 } }), null);
    await probe('notifications/initialized with array params', J({ jsonrpc: '2.0', method: 'notifications/initialized', params: [1, 2] }), null);
    await probe('a notification without jsonrpc', J({ method: 'notifications/initialized' }), null);
    await probe('a result response from the client', J({ jsonrpc: '2.0', id: 99, result: {} }), null);
    await probe('an error response from the client', J({ jsonrpc: '2.0', id: 98, error: { code: -1, message: 'no' } }), null);
    await probe('a response without an id from the client', J({ jsonrpc: '2.0', result: {} }), null);
    await probe('an empty line', '\n', null);
    // ---- framing
    await probe('a CRLF line ending', '{"jsonrpc":"2.0","id":"crlf","method":"ping"}\r\n', { result: 'crlf' });
    await probe('a string id', J({ jsonrpc: '2.0', id: 'a b "c" \u00e9', method: 'ping' }), { result: 'a b "c" \u00e9' });
    await probe('id 0', J({ jsonrpc: '2.0', id: 0, method: 'ping' }), { result: 0 });
    await probe('a negative id', J({ jsonrpc: '2.0', id: -7, method: 'ping' }), { result: -7 });
    await probe(
        'a message written one byte at a time',
        async () => {
            const b = Buffer.from(J({ jsonrpc: '2.0', id: 'bytes', method: 'ping' }));
            for (let i = 0; i < b.length; i++) await srv.write(b.subarray(i, i + 1));
        },
        { result: 'bytes' },
    );

    await t.test('two messages in one write: both answered, in order', async () => {
        const from = srv.mark();
        await srv.write(J({ jsonrpc: '2.0', id: 'two-a', method: 'ping' }) + J({ jsonrpc: '2.0', id: 'two-b', method: 'ping' }));
        await srv.waitFor((m) => m.msg && m.msg.id === 'two-b', ms(10000), 'two-b', from);
        assert.deepEqual(
            srv.since(from).map((m) => m.msg.id),
            ['two-a', 'two-b'],
        );
    });

    await t.test('an integer id beyond 2^53 is echoed exactly', async () => {
        const from = srv.mark();
        await srv.write('{"jsonrpc":"2.0","id":9007199254740993,"method":"ping"}\n');
        const m = await srv.waitFor((x) => /"id":\s*9007199254740993\b/.test(x.text) || (x.msg && 'error' in x.msg), ms(10000), 'the big id', from);
        assert.match(m.text, /"id":\s*9007199254740993\b/, m.text);
        assert.ok(m.msg && 'result' in m.msg, m.text);
    });

    // ---- invalid UTF-8
    const withBytes = (id, bytes) =>
        Buffer.concat([Buffer.from(`{"jsonrpc":"2.0","id":${id},"method":"ping","params":{"s":"ab`), Buffer.from(bytes), Buffer.from('cd"}}\n')]);
    await probe('invalid UTF-8 (FF FE) inside a JSON string', withBytes(30, [0xff, 0xfe]), { code: -32700 });
    await probe('an overlong UTF-8 encoding (C0 AF) inside a string', withBytes(31, [0xc0, 0xaf]), { code: -32700 });
    await probe('a UTF-8-encoded surrogate (ED A0 80) inside a string', withBytes(32, [0xed, 0xa0, 0x80]), { code: -32700 });
    await probe('a truncated UTF-8 sequence (E2 82) inside a string', withBytes(33, [0xe2, 0x82]), { code: -32700 });
    await probe('valid multi-byte UTF-8 inside a string', withBytes(34, [0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80]), { result: 34 });

    // ---- size limits (default max_message_size: 8 MiB)
    const padded = (id, size) => {
        const head = `{"jsonrpc":"2.0","id":"${id}","method":"ping","params":{"pad":"`;
        const tail = '"}}\n';
        return Buffer.concat([Buffer.from(head), Buffer.alloc(size - head.length - tail.length, 'a'), Buffer.from(tail)]);
    };
    await probe('a 1 MB line (under the limit)', () => srv.writeChunked(padded('one-mb', 1 << 20)), { result: 'one-mb' });
    await probe('a 20 MB line, written in chunks with backpressure', () => srv.writeChunked(padded('twenty-mb', 20 << 20)), { code: -32600 });
    await probe('deeply nested JSON (200 levels)', `{"jsonrpc":"2.0","id":40,"method":"ping","params":{"a":${'['.repeat(200)}${']'.repeat(200)}}}\n`, {
        code: -32700,
    });

    await t.test('after all that: tools/list and tools/call still work', async () => {
        const l = await srv.request({ jsonrpc: '2.0', id: 'list-after', method: 'tools/list', params: {} });
        assert.equal(l.msg.result.tools.length, 9);
        const c = await srv.request({ jsonrpc: '2.0', id: 'call-after', method: 'tools/call', params: { name: 'greet', arguments: { name: 'raw' } } });
        assert.deepEqual(c.msg.result.structuredContent, { greeting: 'Hello, raw!' });
    });

    await t.test('an idle server uses no CPU, after a burst of parallel calls too', async () => {
        // (an idle thread of the pool once spun: its wait's deadline was read on another clock)
        const calls = [];
        for (let i = 0; i < 12; i++)
            calls.push(srv.request({ jsonrpc: '2.0', id: `burst-${i}`, method: 'tools/call', params: { name: 'greet', arguments: { name: `b${i}` } } }));
        for (const c of await Promise.all(calls)) assert.ok(c.msg.result && !c.msg.result.isError, JSON.stringify(c.msg));
        const cpu = () => {
            const stat = fs.readFileSync(`/proc/${srv.pid}/stat`, 'utf8');
            const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from the 3rd on
            return Number(f[11]) + Number(f[12]); // utime + stime (fields 14, 15), in 1/100 s
        };
        await new Promise((res) => setTimeout(res, 200));
        const c0 = cpu(), t0 = Date.now();
        await new Promise((res) => setTimeout(res, 1500));
        const used = (cpu() - c0) * 10, span = Date.now() - t0;
        assert.ok(used <= span / 10, `the idle server used ${used} ms of CPU in ${span} ms`);
    });

    await t.test('integers beyond 64 bits reach the function and come back digit for digit', async () => {
        // JSON.stringify cannot write these: the request is raw text. The emulator's echo (Python)
        // keeps integers exact and returns its input, so what comes back is what the server sent.
        const from = srv.mark();
        const ints = {
            big: '99999999999999999999999',
            neg: '-9223372036854775809',
            u64: '18446744073709551615',
            min: '-9223372036854775808',
            max: '9223372036854775807',
        };
        const members = Object.entries(ints).map(([k, v]) => `"${k}":${v}`).join(',');
        await srv.write(
            `{"jsonrpc":"2.0","id":"digits","method":"tools/call","params":{"name":"echo","arguments":` +
                `{"message":"\\u00e9\\ud83d\\ude00","esc":"a\\u0000b\\/\\n",${members}}}}\n`,
        );
        const m = await srv.waitFor((x) => x.msg && x.msg.id === 'digits', ms(20000), 'the answer to the call', from);
        assert.equal(m.msg.result.isError, false, m.text.slice(0, 400));
        const sc = m.text.slice(m.text.indexOf('"structuredContent"'));
        for (const [k, v] of Object.entries(ints)) assert.ok(sc.includes(`"${k}":${v}`), `"${k}":${v} not in ${sc.slice(0, 400)}`);
        assert.equal(m.msg.result.structuredContent.message, '\u00e9\u{1f600}');
        assert.equal(m.msg.result.structuredContent.esc, 'a\u0000b/\n');
        // the largest id that is still an integer of 64 bits comes back as it was sent
        const from2 = srv.mark();
        await srv.write('{"jsonrpc":"2.0","id":18446744073709551615,"method":"tools/call","params":{"name":"echo","arguments":{"message":"id"}}}\n');
        const a = await srv.waitFor((x) => x.text.startsWith('{"jsonrpc":"2.0","id":18446744073709551615,"result":'), ms(20000), 'the answer to id 2^64-1', from2);
        assert.equal(a.msg.result.isError, false);
    });

    await t.test(`error responses to requests whose id could not be read omit "id" (MCP schema: id?: RequestId, never null)`, () => {
        const withNull = unreadableIdErrors.filter((e) => /"id"\s*:\s*null/.test(e.text));
        assert.ok(unreadableIdErrors.length > 0);
        assert.deepEqual(
            withNull.map((e) => `${e.label}: ${e.text.slice(0, 160)}`),
            [],
            `${withNull.length} of ${unreadableIdErrors.length} such errors carry "id": null`,
        );
    });

    await t.test('end of input: the server exits with status 0 within 5 s', async () => {
        const t0 = Date.now();
        srv.closeStdin();
        const ex = await srv.exited;
        t.note(`exit ${JSON.stringify({ code: ex.code, signal: ex.signal })} ${Date.now() - t0} ms after the end of input`);
        assert.equal(ex.signal, null);
        assert.equal(ex.code, 0);
        assert.ok(Date.now() - t0 < ms(5000), `took ${Date.now() - t0} ms`);
    });

    // ---- signals and the end of input with calls in flight
    await t.test('SIGTERM during an in-flight slow call: answered isError, exit status 0, promptly (long before the call would end)', async () => {
        const s = t.directServer({ label: 'sigterm', emu, conf: BASE_CONF });
        await s.request(INIT);
        await s.write(J({ jsonrpc: '2.0', method: 'notifications/initialized' }));
        await s.write(J({ jsonrpc: '2.0', id: 'slow', method: 'tools/call', params: { name: 'slow', arguments: { seconds: 5 } } }));
        await s.waitForStderr(/tools\/call id="slow".*queued/, ms(10000), 'the slow call to be queued');
        // and running in the emulator (its stats say so, where the emulator reports it)
        if ('invocations_in_progress' in (await emu.stats()))
            await until(async () => ((await emu.stats()).invocations_in_progress.slow || 0) > 0, ms(10000), 'the slow Invoke to run in the emulator');
        const t0 = Date.now();
        s.kill('SIGTERM');
        const ex = await s.exited;
        const took = Date.now() - t0;
        t.note(`SIGTERM -> exit ${JSON.stringify({ code: ex.code, signal: ex.signal })} in ${took} ms`);
        assert.equal(ex.signal, null, 'killed by a signal instead of exiting');
        assert.equal(ex.code, 0);
        // the call would last 3 s (the function's own timeout): "promptly" must stay well below
        // that even in sanitizer builds, so this bound is not scaled
        assert.ok(took < 2500, `exit took ${took} ms`);
        const answers = s.messages.filter((m) => m.msg && m.msg.id === 'slow');
        assert.equal(answers.length, 1, `${answers.length} answers to the call the shutdown abandoned`);
        assert.equal(answers[0].msg.result?.isError, true, answers[0].text);
        assert.match(answers[0].msg.result.content[0].text, /the server shut down while the call to slow was running/);
    });

    await t.test('end of input with a call in flight: the call is answered, then the server exits 0', async () => {
        const s = t.directServer({ label: 'eof-drain', emu, conf: BASE_CONF });
        await s.request(INIT);
        await s.write(J({ jsonrpc: '2.0', method: 'notifications/initialized' }));
        await s.write(J({ jsonrpc: '2.0', id: 'drain', method: 'tools/call', params: { name: 'slow', arguments: { seconds: 1 } } }));
        await s.waitForStderr(/tools\/call id="drain".*queued/, ms(10000), 'the call to be queued');
        s.closeStdin();
        const r = await s.waitFor((m) => m.msg && m.msg.id === 'drain', ms(10000), 'the answer to the call in flight');
        assert.equal(r.msg.result?.isError, false, r.text);
        assert.deepEqual(r.msg.result.structuredContent?.slept, 1);
        const ex = await s.exited;
        assert.equal(ex.signal, null);
        assert.equal(ex.code, 0);
    });

    await t.test('SIGINT while idle: exit status 0', async () => {
        const s = t.directServer({ label: 'sigint', emu, conf: BASE_CONF });
        await s.request(INIT);
        s.kill('SIGINT');
        const ex = await s.exited;
        assert.equal(ex.signal, null);
        assert.equal(ex.code, 0);
    });
}, { timeoutSec: 120 });
