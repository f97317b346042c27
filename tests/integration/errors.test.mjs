// AWS failures end to end, with the emulator's fault injection: bad credentials (403), an
// unreachable endpoint, throttling (retried, then given up), a 500 on Invoke (not retried),
// a 500 on ListFunctions (retried: a read), a per-tool timeout; the server keeps serving after
// each. The main session runs with --log-level trace and session credentials, so the suite's
// secret check covers the most verbose logging with a session token.
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { BASE_CONF, assert, cfg, ms, run, sleep } from './lib/harness.mjs';

const SESSION_CREDS = {
    access_key_id: 'ASIAEMULATORSESSION1',
    secret_access_key: 'sessionSecretKey/emulator+0000000000000000077',
    session_token: 'IQoJb3JpZ2luX2VjEmulatorSessionToken/0123456789+abcdefghijklmnopqrstuvwxyz==',
};

const text = (r) => (r.content || []).map((c) => c.text).join('\n');
const delta = (a, b, op) => ((b.operations || {})[op] || 0) - ((a.operations || {})[op] || 0);

async function closedPort() {
    const srv = net.createServer();
    await new Promise((r) => srv.listen(0, '127.0.0.1', r));
    const port = srv.address().port;
    await new Promise((r) => srv.close(r));
    return port;
}

run('errors', async (t) => {
    // the demo account plus credentials with a session token
    const demo = JSON.parse(fs.readFileSync(path.join(cfg.accounts, 'demo.json'), 'utf8'));
    demo.credentials = [...demo.credentials, SESSION_CREDS];
    const emu = await t.emulator({ account: demo });

    // ---- a wrong secret: every AWS call is refused with 403 InvalidSignatureException
    let wrongSecret = null;
    await t.test('a wrong secret key: the server starts and answers, tools/list is empty, stderr says why', async () => {
        const before = await emu.stats();
        const wrong = { access_key_id: 'AKIAEMULATORDEMO0001', secret_access_key: 'thisIsNotTheSecret/0000000000000000000001' };
        const { client, session } = await t.legacyClient({ label: 'wrong-secret', emu, creds: wrong, conf: BASE_CONF });
        const list = await client.listTools(); /* answered once the first discovery has failed */
        assert.deepEqual(list.tools, []);
        const after = await emu.stats();
        t.note(`emulator: signature failures ${after.signature_failures - before.signature_failures}, auth failures ${JSON.stringify(after.auth_failures)}`);
        assert.ok(after.signature_failures > before.signature_failures, 'the emulator saw no bad signature');
        assert.deepEqual(await client.ping(), {});
        await assert.rejects(client.callTool({ name: 'greet', arguments: {} }), (e) => e.code === -32602);
        const err = session.stderrText();
        assert.match(err, /discovery failed/i, 'stderr does not say discovery failed');
        assert.match(err, /InvalidSignatureException|signature/i, 'stderr does not name the signature problem');
        t.note(`stderr: ${err.split('\n').find((l) => /discovery failed/i.test(l))?.slice(0, 300)}`);
        wrongSecret = session;
    });

    // A failed discovery is retried "within 30 s" (core/app.c): not in a tight loop. Watching for
    // one second is enough to tell a paced retry from a busy one.
    await t.test('after a failed discovery the server does not retry in a tight loop (<= 1 retry in 1 s)', async () => {
        assert.ok(wrongSecret, 'no wrong-secret session');
        const a = await emu.stats();
        await sleep(1000);
        const b = await emu.stats();
        const n = b.signature_failures - a.signature_failures;
        t.note(`ListFunctions attempts with the wrong secret during 1 s after startup: ${n}`);
        assert.ok(n <= 1, `${n} discovery attempts in one second`);
    });
    if (wrongSecret) await wrongSecret.close();

    await t.test('discovery.refresh_interval = "10s": no re-discovery during the first second', async () => {
        const { client: c, session: s } = await t.legacyClient({
            label: 'refresh-10s',
            emu,
            conf: BASE_CONF.replace('discovery = {', 'discovery = { refresh_interval = "10s";'),
        });
        await c.listTools(); /* answered once the first discovery has finished */
        const a = await emu.stats();
        await sleep(1000);
        const b = await emu.stats();
        const n = delta(a, b, 'ListFunctions');
        t.note(`ListFunctions calls during the first second with refresh_interval 10s: ${n}`);
        await s.close();
        assert.ok(n === 0, `${n} re-discoveries in one second`);
    });

    await t.test('an unreachable endpoint (connection refused): the server starts and answers, tools/list is empty', async () => {
        const port = await closedPort();
        const { client, session } = await t.legacyClient({
            label: 'unreachable',
            emu: null,
            creds: emu.credentials[0],
            env: { AWS_ENDPOINT_URL: `http://127.0.0.1:${port}` },
            conf: BASE_CONF + 'aws = { max_attempts = 2; retry_base = "10ms"; };\n',
        });
        assert.deepEqual((await client.listTools()).tools, []);
        assert.match(session.stderrText(), /discovery failed/i);
        await session.close();
    });

    await t.test('a 500 on the first ListFunctions: retried (a read), discovery succeeds', async () => {
        const before = await emu.stats();
        await emu.addFaults([{ operation: 'ListFunctions', status: 500, count: 1 }]);
        const { client, session } = await t.legacyClient({ label: 'list-500-once', emu, conf: BASE_CONF + 'aws = { retry_base = "10ms"; };\n' });
        assert.equal((await client.listTools()).tools.length, 9); /* after the first discovery */
        const after = await emu.stats();
        assert.equal(delta(before, after, 'ListFunctions'), 2, `ListFunctions calls: ${delta(before, after, 'ListFunctions')}`);
        await emu.clearFaults();
        await session.close();
    });

    // ---- the main session: session credentials, trace logging, faults on Invoke
    const conf =
        BASE_CONF +
        `aws = { max_attempts = 3; retry_base = "20ms"; retry_max_backoff = "200ms"; };
tools = ( { match = "slow"; timeout = "1s"; } );
`;
    const { client, session } = await t.legacyClient({ label: 'faults-trace', emu, creds: SESSION_CREDS, conf, logLevel: 'trace' });

    await t.test('session credentials (with a token) are accepted: greet works', async () => {
        const r = await client.callTool({ name: 'greet', arguments: { name: 'token' } });
        assert.equal(r.isError, false, text(r));
        const s = await emu.stats();
        assert.ok((s.access_keys[SESSION_CREDS.access_key_id] || 0) > 0, 'the emulator never saw the session credentials');
    });

    await t.test('Invoke throttled (429) twice: retried, the third attempt succeeds', async () => {
        const before = await emu.stats();
        await emu.addFaults([{ operation: 'Invoke', function: 'greet', status: 429, count: 2 }]);
        const r = await client.callTool({ name: 'greet', arguments: { name: 'retry' } });
        const after = await emu.stats();
        t.note(`Invoke attempts: ${delta(before, after, 'Invoke')}, faults injected: ${after.faults_injected - before.faults_injected}`);
        assert.equal(r.isError, false, text(r));
        assert.deepEqual(r.structuredContent, { greeting: 'Hello, retry!' });
        assert.equal(delta(before, after, 'Invoke'), 3);
        assert.equal(after.faults_injected - before.faults_injected, 2);
        await emu.clearFaults();
    });

    await t.test('Invoke always throttled: isError saying it was throttled, after max_attempts (3) attempts', async () => {
        const before = await emu.stats();
        await emu.addFaults([{ operation: 'Invoke', function: 'echo', status: 429 }]);
        const r = await client.callTool({ name: 'echo', arguments: { x: 1 } });
        const after = await emu.stats();
        await emu.clearFaults();
        t.note(`Invoke attempts: ${delta(before, after, 'Invoke')}; text: ${text(r).slice(0, 200)}`);
        assert.equal(r.isError, true);
        assert.match(text(r), /throttl/i);
        assert.equal(delta(before, after, 'Invoke'), 3);
    });

    await t.test('a 500 on Invoke: isError, and not retried (one attempt)', async () => {
        const before = await emu.stats();
        await emu.addFaults([{ operation: 'Invoke', function: 'echo', status: 500 }]);
        const r = await client.callTool({ name: 'echo', arguments: { x: 2 } });
        const after = await emu.stats();
        await emu.clearFaults();
        t.note(`Invoke attempts: ${delta(before, after, 'Invoke')}; text: ${text(r).slice(0, 200)}`);
        assert.equal(r.isError, true);
        assert.match(text(r), /ServiceException|500|service error/i);
        assert.equal(delta(before, after, 'Invoke'), 1, 'Invoke was retried after a 500');
    });

    await t.test('an HTML 502 from a proxy on Invoke: isError that says what came back, without "HTTP502: HTTP 502"', async () => {
        await emu.addFaults([{ operation: 'Invoke', function: 'echo', status: 502, body: '<html><body><h1>502 Bad Gateway</h1></body></html>', count: 1 }]);
        const r = await client.callTool({ name: 'echo', arguments: { x: 4 } });
        await emu.clearFaults();
        t.note(`text: ${text(r).slice(0, 300)}`);
        assert.equal(r.isError, true);
        assert.match(text(r), /AWS Lambda failed to run echo \(HTTP 502: no error code or message in the answer from 127\.0\.0\.1:\d+\); the function may or may not have run/);
        assert.doesNotMatch(text(r), /HTTP ?502[:,] HTTP ?502/);
    });

    // Found in the fault review: a connection lost after the Invoke went out was reported as
    // "cannot reach AWS Lambda", which invites the model to call again a function that may have run.
    await t.test('Invoke read, then the connection closed: isError says it may have run, one attempt', async () => {
        const before = await emu.stats();
        await emu.addFaults([{ operation: 'Invoke', function: 'echo', drop: true, count: 1 }]);
        const r = await client.callTool({ name: 'echo', arguments: { x: 3 } });
        const after = await emu.stats();
        await emu.clearFaults();
        t.note(`Invoke attempts: ${delta(before, after, 'Invoke')}; text: ${text(r).slice(0, 300)}`);
        assert.equal(r.isError, true);
        assert.match(text(r), /may or may not have run/);
        assert.match(text(r), /not retried/);
        assert.doesNotMatch(text(r), /cannot reach/i);
        assert.equal(delta(before, after, 'Invoke'), 1, 'Invoke was sent again after the connection closed');
    });


    await t.test('a per-tool timeout (slow: 1s) ends a 2.5 s call with isError saying it timed out', async () => {
        const t0 = Date.now();
        const r = await client.callTool({ name: 'slow', arguments: { seconds: 2.5 } });
        const took = Date.now() - t0;
        t.note(`slow call ended after ${took} ms: ${text(r).slice(0, 200)}`);
        assert.equal(r.isError, true);
        assert.match(text(r), /timed out|timeout/i);
        // not scaled: the function itself answers after 2.5 s
        assert.ok(took < 2300, `the call took ${took} ms: the timeout did not cut it short`);
    });

    await t.test('the server keeps serving after all of that', async () => {
        assert.deepEqual(await client.ping(), {});
        const r = await client.callTool({ name: 'greet', arguments: { name: 'after' } });
        assert.deepEqual(r.structuredContent, { greeting: 'Hello, after!' });
        assert.equal((await client.listTools()).tools.length, 9);
    });

    await t.test('trace logging was on (so the secret check below covers the most verbose output)', () => {
        assert.match(session.stderrText(), / trace /);
    });
}, { timeoutSec: 120 });
