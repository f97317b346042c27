// Settings an ops team relies on for safety and cost, proved by their effect end to end (each
// one had no test of its effect): the call timeout from the function tag lambda-mcp:timeout and
// from LAMBDA_MCP_CALL_TIMEOUT, a tools rule winning over the tag; server.max_inflight and
// server.max_queued refusing what does not fit; aws.timeout ending a slow ListFunctions;
// server.tools_ttl as ttlMs (and refresh_interval when shorter); the circuit-breaker's tags;
// discovery.concurrency after a SIGHUP (GetFunction at once, from the emulator's log);
// server.max_message_size at its boundary; aws.connect_timeout (a loopback port where connect hangs);
// aws.ca_bundle and AWS_CA_BUNDLE over HTTPS (a TLS proxy on loopback with a self-signed certificate).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { BASE_CONF, SCALE, assert, cfg, ms, run, until } from './lib/harness.mjs';

/* The most GetFunction requests the emulator was handling at the same time, from its request log
 * (each entry: end time and duration). Intervals are trimmed by 50 ms at both ends, so requests
 * made one after the other never count as overlapping however the clocks jitter. */
function maxOverlap(entries, op = 'GetFunction') {
    const ev = [];
    for (const e of entries.filter((x) => x.operation === op)) {
        const end = e.time * 1000 - 50;
        const start = e.time * 1000 - e.duration_ms + 50;
        if (end > start) ev.push([start, 1], [end, -1]);
    }
    ev.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let cur = 0;
    let max = 0;
    for (const [, d] of ev) max = Math.max(max, (cur += d));
    return max;
}

const text = (r) => (r.content || []).map((c) => c.text).join('\n');
const TAGS_CONF = `credentials = ( { plugin = "env"; } );
discovery = { plugins = ( { plugin = "prefix"; }, { plugin = "list"; }, { plugin = "tags"; metadata = "always"; } ); };
`;

run('settings', async (t) => {
    const C = await t.clients();
    const emu = await t.emulator({ account: 'demo.json' });
    await emu.putFunctions([
        { name: 'slow-tagged', handler: 'slow', timeout: 30, description: 'Sleeps; call timeout 1s by tag.', tags: { 'lambda-mcp:timeout': '1s' } },
        { name: 'slow-long', handler: 'slow', timeout: 30, description: 'Sleeps; no tag.' },
        { name: 'fail-tagged', handler: 'fail', description: 'Fails; breaker opens after 1 function error (tag).', tags: { 'lambda-mcp:breaker-threshold': '1', 'lambda-mcp:breaker-cooldown': '1h' } },
    ]);
    const call = (client, name, args, timeout = ms(30000)) => client.callTool({ name, arguments: args }, C.LegacyCallToolResultSchema, { timeout });

    await t.test('tag lambda-mcp:timeout = 1s cuts a 2.5 s call of a function whose own Timeout is 30 s; a tools rule wins over the tag', async () => {
        const conf = TAGS_CONF + 'tools = ( { match = "slow_long"; timeout = "1s"; }, { match = "slow_tagged_ruled"; timeout = "10s"; } );\n';
        const { client, session } = await t.legacyClient({ label: 'timeout-tag', emu, conf });
        let t0 = Date.now();
        let r = await call(client, 'slow_tagged', { seconds: 2.5 });
        let took = Date.now() - t0;
        t.note(`slow_tagged: ${took} ms: ${text(r).slice(0, 160)}`);
        assert.equal(r.isError, true, text(r));
        assert.match(text(r), /timed out|timeout/i);
        assert.ok(took < 2300, `the call took ${took} ms: the tag did not set the timeout`); // not scaled: the function answers after 2.5 s
        t0 = Date.now();
        r = await call(client, 'slow_long', { seconds: 2.5 });
        took = Date.now() - t0;
        assert.equal(r.isError, true, text(r));
        assert.ok(took < 2300, `slow_long took ${took} ms`);
        await session.close();
    }, { timeoutMs: ms(30000) });

    await t.test('a tools rule wins over the lambda-mcp:timeout tag (rule 10s, tag 1s: a 2 s call succeeds)', async () => {
        const conf = TAGS_CONF + 'tools = ( { match = "slow_tagged"; timeout = "10s"; } );\n';
        const { client, session } = await t.legacyClient({ label: 'timeout-rule-over-tag', emu, conf });
        const r = await call(client, 'slow_tagged', { seconds: 2 });
        assert.equal(r.isError, false, text(r));
        await session.close();
    }, { timeoutMs: ms(30000) });

    await t.test('LAMBDA_MCP_CALL_TIMEOUT=1s (no tools rule) cuts a 2.5 s call', async () => {
        const { client, session } = await t.legacyClient({ label: 'timeout-env', emu, conf: BASE_CONF, env: { LAMBDA_MCP_CALL_TIMEOUT: '1s' } });
        const t0 = Date.now();
        const r = await call(client, 'slow_long', { seconds: 2.5 });
        const took = Date.now() - t0;
        assert.equal(r.isError, true, text(r));
        assert.ok(took < 2300, `the call took ${took} ms: LAMBDA_MCP_CALL_TIMEOUT was not applied`);
        await session.close();
    }, { timeoutMs: ms(30000) });

    await t.test('server.max_inflight = 1, max_queued = 1: of 3 calls at once, 1 runs, 1 waits, 1 is refused at once (ConcurrencyLimit); 2 Invokes', async () => {
        const conf = BASE_CONF + 'server = { max_inflight = 1; max_queued = 1; };\n';
        const { client, session } = await t.legacyClient({ label: 'inflight', emu, conf });
        await client.listTools();
        const before = await emu.stats();
        const t0 = Date.now();
        const rs = await Promise.all(
            [0, 1, 2].map((i) => call(client, 'slow_long', { seconds: 1, i }).then((r) => ({ r, ms: Date.now() - t0 }))),
        );
        const after = await emu.stats();
        const ok = rs.filter((x) => !x.r.isError).sort((a, b) => a.ms - b.ms);
        const refused = rs.filter((x) => x.r.isError);
        t.note(`ok after ${ok.map((x) => x.ms).join(', ')} ms; refused: ${refused.map((x) => `${x.ms} ms ${text(x.r)}`).join('; ')}`);
        assert.equal(ok.length, 2);
        assert.equal(refused.length, 1);
        assert.match(text(refused[0].r), /ConcurrencyLimit|concurren/i);
        assert.ok(refused[0].ms < ok[0].ms, 'the refusal waited for a running call');
        assert.ok(ok[1].ms >= 1900, `the second call ran at ${ok[1].ms} ms: not after the first (max_inflight 1)`);
        assert.equal((after.invocations['slow-long'] || 0) - (before.invocations['slow-long'] || 0), 2);
        await session.close();
    }, { timeoutMs: ms(30000) });

    await t.test('aws.timeout = 1s, max_attempts = 1: a ListFunctions that takes 3 s ends in a timeout, no tools, the reason logged', async () => {
        await emu.control('POST', '/__emu/latency', { operation: 'ListFunctions', ms: 3000 });
        try {
            const conf = BASE_CONF + 'aws = { timeout = "1s"; max_attempts = 1; };\n';
            const { client, session } = await t.legacyClient({ label: 'aws-timeout', emu, conf });
            const t0 = Date.now();
            const tools = (await client.listTools()).tools;
            const took = Date.now() - t0;
            t.note(`tools/list after ${took} ms: ${tools.length} tools`);
            assert.equal(tools.length, 0);
            assert.ok(took < 2800, `discovery took ${took} ms: aws.timeout was not applied`);
            await until(() => /discovery failed.*ListFunctions.*timed out/.test(session.stderrText()), ms(5000), 'the discovery failure in the log');
            await session.close();
        } finally {
            await emu.control('POST', '/__emu/latency', { reset: true });
        }
    }, { timeoutMs: ms(30000) });

    await t.test('server.tools_ttl = 7s gives ttlMs 7000; refresh_interval 3s, shorter, gives 3000', async () => {
        for (const [extra, want] of [
            ['server = { tools_ttl = "7s"; };\n', 7000],
            ['server = { tools_ttl = "7s"; };\ndiscovery = { refresh_interval = "3s"; plugins = ( { plugin = "prefix"; }, { plugin = "list"; } ); };\n', 3000],
        ]) {
            const conf = `credentials = ( { plugin = "env"; } );\n` + (extra.includes('discovery') ? '' : 'discovery = { plugins = ( { plugin = "prefix"; }, { plugin = "list"; } ); };\n') + extra;
            const { client, session } = await t.modernClient({ label: `ttl-${want}`, emu, conf });
            const page = await client.request({ method: 'tools/list', params: {} });
            assert.equal(page.ttlMs, want, `ttlMs ${page.ttlMs}`);
            await session.close();
        }
    }, { timeoutMs: ms(30000) });

    await t.test('circuit-breaker tags: lambda-mcp:breaker-threshold = 1 (with count_function_errors) opens after one failure, lambda-mcp:breaker-cooldown = 1h', async () => {
        const conf = TAGS_CONF + 'wrappers = ( { plugin = "circuit-breaker"; count_function_errors = true; failure_threshold = 5; cooldown = "1s"; } );\n';
        const { client, session } = await t.legacyClient({ label: 'breaker-tags', emu, conf });
        const before = await emu.stats();
        const r1 = await call(client, 'fail_tagged', {});
        assert.equal(r1.isError, true);
        const r2 = await call(client, 'fail_tagged', {});
        t.note(text(r2));
        assert.match(text(r2), /CircuitOpen/);
        const next = Number(/next trial in (\d+) ms/.exec(text(r2))?.[1]);
        assert.ok(next > 3000000 && next <= 3600000, `next trial in ${next} ms: not the tag's hour (the plugin's cooldown is 1 s)`);
        const after = await emu.stats();
        assert.equal((after.invocations['fail-tagged'] || 0) - (before.invocations['fail-tagged'] || 0), 1);
        await session.close();
    }, { timeoutMs: ms(30000) });
    await t.test('discovery.concurrency after SIGHUP: the reloaded conf\'s first discovery already uses its own value (6 -> 1 -> 6 GetFunction at once)', async () => {
        const NAMES = ['greet', 'echo', 'text', 'logs', 'fail', 'context-info'];
        const confText = (n) => `credentials = ( { plugin = "env"; } );\ndiscovery = { concurrency = ${n}; plugins = ( { plugin = "list"; } ); };\n`;
        const confFile = t.writeFile('conf/concurrency.conf', confText(6));
        await emu.control('POST', '/__emu/latency', { operation: 'GetFunction', ms: 400 });
        try {
            let srv;
            const runs = (re) => (srv.stderr.match(re) || []).length;
            /* one discovery: the most GetFunction requests at once, from the emulator's log */
            const discovery = async (why, trigger) => {
                const seq = (await emu.stats()).last_seq;
                const re = new RegExp(`info +discovery: ${why} discovery: ${NAMES.length} tools`, 'g');
                trigger();
                const before = why === 'initial' ? 0 : runs(re);
                await until(() => runs(re) > before, ms(20000), `the ${why} discovery`);
                const recent = (await emu.control('GET', `/__emu/stats?since=${seq}`)).recent;
                assert.equal(recent.filter((e) => e.operation === 'GetFunction').length, NAMES.length);
                return maxOverlap(recent);
            };
            const initial = await discovery('initial', () => {
                srv = t.directServer({ label: 'concurrency-reload', emu, confFile, env: { FUNCTION_LIST: NAMES.join(',') }, logLevel: 'info' });
            });
            fs.writeFileSync(confFile, confText(1));
            const toOne = await discovery('reload', () => process.kill(srv.pid, 'SIGHUP'));
            fs.writeFileSync(confFile, confText(6));
            const toSix = await discovery('reload', () => process.kill(srv.pid, 'SIGHUP'));
            t.note(`most GetFunction at once: initial (6) ${initial}, reload to 1: ${toOne}, reload to 6: ${toSix}`);
            assert.ok(initial >= 2, `concurrency 6: at most ${initial} GetFunction at once`);
            assert.equal(toOne, 1, `the first discovery after a reload to concurrency 1 ran ${toOne} GetFunction at once`);
            assert.ok(toSix >= 2, `the first discovery after a reload back to concurrency 6 ran ${toSix} GetFunction at once`);
        } finally {
            await emu.control('POST', '/__emu/latency', { reset: true });
        }
    }, { timeoutMs: ms(60000) });
    await t.test('server.max_message_size = 4096: a 4096-byte line is answered, a 4097-byte one (and a 1 MB one) gets -32600 "message too large", the server keeps going', async () => {
        const srv = t.directServer({ label: 'max-message-size', emu, conf: BASE_CONF + 'server = { max_message_size = 4096; };\n' });
        /* a ping of exactly `size` bytes before its newline */
        const line = (id, size, crlf = false) => {
            const head = `{"jsonrpc":"2.0","id":"${id}","method":"ping","params":{"pad":"`;
            const tail = '"}}';
            return Buffer.concat([Buffer.from(head), Buffer.alloc(size - head.length - tail.length, 'a'), Buffer.from(tail + (crlf ? '\r\n' : '\n'))]);
        };
        const init = await srv.request({ jsonrpc: '2.0', id: 'init', method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'settings', version: '1' } } });
        assert.ok(init.msg.result);
        await srv.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
        const exchange = async (buf, pid) => {
            const from = srv.mark();
            await srv.writeChunked(buf);
            await srv.send({ jsonrpc: '2.0', id: pid, method: 'ping' });
            const pong = await srv.waitFor((m) => m.msg && m.msg.id === pid, ms(20000), `the ping ${pid}`, from);
            assert.deepEqual(pong.msg.result, {});
            return srv.messages.slice(from, srv.messages.indexOf(pong));
        };
        const tooLarge = (got, what) => {
            assert.equal(got.length, 1, `${what}: ${got.map((m) => m.text).join('\n')}`);
            assert.equal(got[0].msg.error.code, -32600, got[0].text);
            assert.equal(got[0].msg.error.message, 'message too large: lines are limited to 4096 bytes');
            assert.ok(!('id' in got[0].msg), got[0].text);
        };
        let got = await exchange(line('at-limit', 4096), 'p1');
        assert.deepEqual(got.map((m) => m.msg.id), ['at-limit']);
        got = await exchange(line('at-limit-crlf', 4096, true), 'p2');
        assert.deepEqual(got.map((m) => m.msg.id), ['at-limit-crlf']);
        tooLarge(await exchange(line('over', 4097), 'p3'), '4097 bytes');
        tooLarge(await exchange(line('way-over', 1 << 20), 'p4'), '1 MB');
        const r = await srv.request({ jsonrpc: '2.0', id: 'list', method: 'tools/list', params: {} });
        assert.ok(r.msg.result.tools.some((x) => x.name === 'greet'), r.text.slice(0, 300));
        assert.equal((srv.stderr.match(/message too large: lines are limited to 4096 bytes; the line was skipped/g) || []).length, 2);
    }, { timeoutMs: ms(30000) });
    await t.test('aws.connect_timeout: ListFunctions to a loopback port where connect() hangs gives up after connect_timeout (300ms: soon; 3s: not before), not the 30 s total', async () => {
        // credhelper.py blackhole: a listening socket with a full accept queue, never accepting
        const file = path.join(t.path('blackhole'));
        const hole = spawn(cfg.python, [path.join(cfg.srcdir, 'tests/integration/credentials/credhelper.py'), 'blackhole', file], { stdio: 'ignore' });
        try {
            await until(() => fs.existsSync(file), ms(10000), 'the blackhole port');
            const [verdict, port] = fs.readFileSync(file, 'utf8').trim().split(' ');
            assert.equal(verdict, 'hang', 'this kernel completes a connect to a port with a full accept queue: nothing to test with');
            const took = {};
            for (const ct of ['300ms', '3s']) {
                const conf = BASE_CONF + `aws = { endpoint_url = "http://127.0.0.1:${port}"; connect_timeout = "${ct}"; timeout = "30s"; max_attempts = 1; };\n`;
                const t0 = Date.now(); /* before the server starts: its discovery cannot begin earlier */
                const { client, session } = await t.legacyClient({ label: `connect-timeout-${ct}`, emu, conf });
                const tools = (await client.listTools()).tools;
                took[ct] = Date.now() - t0;
                assert.equal(tools.length, 0);
                await until(() => /discovery failed.*ListFunctions.*connect timeout/.test(session.stderrText()), ms(5000), 'the connect timeout in the log');
                assert.match(session.stderrText(), new RegExp(`127\\.0\\.0\\.1:${port}`));
                await session.close();
            }
            t.note(`tools/list answered after ${JSON.stringify(took)} ms`);
            assert.ok(took['300ms'] < 2900 * SCALE, `connect_timeout 300ms: ${took['300ms']} ms (server start included)`);
            assert.ok(took['3s'] >= 2900, `connect_timeout 3s: ${took['3s']} ms`);
        } finally {
            hole.kill();
        }
    }, { timeoutMs: ms(60000) });
    await t.test('aws.ca_bundle / AWS_CA_BUNDLE: HTTPS to a loopback endpoint with a self-signed certificate; an Invoke refused by TLS says nothing was sent', async () => {
        // two self-signed certificates for 127.0.0.1 (openssl, offline); a TLS proxy in this
        // process in front of the emulator, whose certificate can be swapped for new connections
        const dir = t.path('tls');
        fs.mkdirSync(dir, { recursive: true });
        const pem = {};
        for (const name of ['trusted', 'other']) {
            const key = path.join(dir, `${name}-key.pem`);
            const cert = path.join(dir, `${name}.pem`);
            execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=127.0.0.1',
                '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '2'], { stdio: 'ignore' });
            pem[name] = { key: fs.readFileSync(key), cert: fs.readFileSync(cert), file: cert };
        }
        const emuPort = Number(new URL(emu.url).port);
        const sockets = new Set();
        const proxy = tls.createServer({ key: pem.trusted.key, cert: pem.trusted.cert }, (s) => {
            const up = net.connect(emuPort, '127.0.0.1');
            sockets.add(s);
            s.on('close', () => sockets.delete(s));
            s.pipe(up);
            up.pipe(s);
            s.on('error', () => up.destroy());
            up.on('error', () => s.destroy());
        });
        let refused = 0; /* handshakes the server broke off: each a connection attempt that met a certificate it does not trust */
        proxy.on('tlsClientError', () => refused++);
        await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
        const url = `https://127.0.0.1:${proxy.address().port}`;
        const listTools = (env) =>
            new Promise((resolve) => {
                const p = spawn(cfg.bin, t.serverArgs({ args: ['--list-tools'], logLevel: 'warn' }), { env: t.serverEnv({ emu, env: { AWS_ENDPOINT_URL: url, AWS_MAX_ATTEMPTS: '3', ...env } }) });
                let out = '';
                let err = '';
                p.stdout.on('data', (d) => (out += d));
                p.stderr.on('data', (d) => (err += d));
                p.on('close', (code) => resolve({ code, out, err }));
            });
        try {
            let r = await listTools({});
            t.note(r.err.trim().split('\n').pop());
            assert.equal(r.code, 1, r.err);
            assert.match(r.err, /discovery failed: .*https:\/\/127\.0\.0\.1:\d+.*certificate/);
            assert.equal(refused, 1, 'a certificate that is not trusted is not retried (max_attempts 3)');
            r = await listTools({ AWS_CA_BUNDLE: pem.trusted.file });
            assert.equal(r.code, 0, r.err);
            assert.match(r.out, /^greet +greet /m);

            // the conf's ca_bundle; a call over TLS, then the certificate changes under the server
            const conf = BASE_CONF + `aws = { ca_bundle = "${pem.trusted.file}"; };\n`;
            const { client, session } = await t.legacyClient({ label: 'tls', emu, conf, env: { AWS_ENDPOINT_URL: url } });
            const before = await emu.stats();
            let res = await client.callTool({ name: 'greet', arguments: { name: 'tls' } });
            assert.equal(res.isError, false, text(res));
            proxy.setSecureContext({ key: pem.other.key, cert: pem.other.cert });
            for (const s of sockets) s.destroy(); /* the pooled connection is gone: the next call connects anew */
            res = await client.callTool({ name: 'greet', arguments: { name: 'tls' } });
            t.note(text(res).slice(0, 300));
            assert.equal(res.isError, true, text(res));
            assert.match(text(res), /the request was never sent, so the function did not run/);
            assert.match(text(res), /certificate/);
            assert.equal(refused, 2, 'the Invoke met the untrusted certificate once: not retried');
            const after = await emu.stats();
            assert.equal((after.invocations.greet || 0) - (before.invocations.greet || 0), 1, 'only the first call reached Lambda');
            await session.close();
        } finally {
            proxy.close();
            for (const s of sockets) s.destroy();
        }
    }, { timeoutMs: ms(60000) });
}, { timeoutSec: 180 });
