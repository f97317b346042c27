// The log-tail wrapper end to end: the last 4 KB of the function's log (X-Amz-Log-Type: Tail)
// reaches a client that asked for logs — legacy logging/setLevel, or the 2026-07-28
// per-request _meta logLevel — as notifications/message from logger "lambda/<function>" before
// the call's response; a client that did not ask (or asked for a higher level) gets none.
import { assert, ms, run } from '../lib/harness.mjs';

const LOG_LEVEL = 'io.modelcontextprotocol/logLevel';
const text = (r) => (r.content || []).map((c) => c.text).join('\n');

/* notifications/message the client received, and those the server wrote (the recording) */
function capture(client) {
    const got = [];
    client.fallbackNotificationHandler = async (n) => {
        if (n.method === 'notifications/message') got.push(n.params);
    };
    return got;
}
const onWire = (session) => session.outMessages().filter((m) => m.msg?.method === 'notifications/message');

run('wrappers-log-tail', async (t) => {
    const C = await t.clients();
    const emu = await t.emulator({ account: 'demo.json' });
    const conf = `credentials = ( { plugin = "env"; } );
discovery = { plugins = ( { plugin = "prefix"; }, { plugin = "list"; } ); };
wrappers = ( { plugin = "log-tail"; } );
`;
    const tailAsked = async (since) =>
        (await emu.control('GET', `/__emu/stats?since=${since}`)).recent.filter((e) => e.operation === 'Invoke').length;

    await t.test('legacy client with logging/setLevel info: the tail arrives as notifications/message (logger lambda/logs, info) before the result', async () => {
        const { client, session } = await t.legacyClient({ label: 'legacy-set-level', emu, conf });
        const got = capture(client);
        assert.deepEqual(await client.setLoggingLevel('info'), {});
        const r = await client.callTool({ name: 'logs', arguments: { lines: 3 } }, C.LegacyCallToolResultSchema);
        assert.equal(r.isError, false, text(r));
        assert.equal(got.length, 1, JSON.stringify(got));
        assert.equal(got[0].logger, 'lambda/logs');
        assert.equal(got[0].level, 'info');
        t.note(`the tail as the client got it:\n${got[0].data}`);
        for (const want of ['START RequestId: ', 'log line 1 of 3', 'log line 3 of 3', 'a line on stderr', 'END RequestId: ', 'REPORT RequestId: '])
            assert.ok(got[0].data.includes(want), `"${want}" is not in the tail`);
        assert.ok(got[0].data.includes(r.structuredContent.request_id), 'the tail is not that invocation\'s');
        // a NUL byte in the log does not end the tail there: it arrives as U+FFFD
        const nul = await client.callTool({ name: 'logs', arguments: { lines: 1, print: 'before\u0000after the NUL' } }, C.LegacyCallToolResultSchema);
        assert.equal(nul.isError, false, text(nul));
        assert.equal(got.length, 2, JSON.stringify(got));
        assert.ok(got[1].data.includes('before\ufffdafter the NUL'), got[1].data);
        assert.ok(got[1].data.includes('REPORT RequestId: '), 'the tail stops at the NUL');
        got.splice(1, 1);
        // on the wire: the notification precedes the response
        const wire = session.outMessages();
        const n = wire.findIndex((m) => m.msg?.method === 'notifications/message');
        const res = wire.findIndex((m) => m.msg?.result?.structuredContent?.lines === 3);
        assert.ok(n >= 0 && res > n, `notification at ${n}, response at ${res}`);
        // a function that failed: its tail too (with the traceback)
        const f = await client.callTool({ name: 'fail', arguments: {} }, C.LegacyCallToolResultSchema);
        assert.equal(f.isError, true);
        assert.equal(got.length, 2);
        assert.equal(got[1].logger, 'lambda/fail');
        assert.match(got[1].data, /looking up order 42/);
        // a higher level than info: no more tails
        assert.deepEqual(await client.setLoggingLevel('warning'), {});
        await client.callTool({ name: 'logs', arguments: { lines: 1 } }, C.LegacyCallToolResultSchema);
        assert.equal(got.length, 2, 'a tail at info was sent to a client that asked for warning');
        assert.equal(onWire(session).length, 3);
    });

    await t.test('legacy client that never set a log level: no notifications/message (the tail was still asked for)', async () => {
        const { client, session } = await t.legacyClient({ label: 'legacy-no-level', emu, conf });
        const got = capture(client);
        const seq = (await emu.stats()).last_seq;
        const r = await client.callTool({ name: 'logs', arguments: { lines: 2 } }, C.LegacyCallToolResultSchema);
        assert.equal(r.isError, false);
        assert.equal(await tailAsked(seq), 1);
        assert.equal(got.length, 0);
        assert.equal(onWire(session).length, 0);
    });

    await t.test('2026-07-28 client with a per-request _meta logLevel: the tail arrives for that request', async () => {
        const { client, session } = await t.modernClient({ label: 'modern-meta-level', emu, conf });
        const got = capture(client);
        const r = await client.callTool({ name: 'logs', arguments: { lines: 2 }, _meta: { [LOG_LEVEL]: 'debug' } });
        assert.equal(r.isError, false, text(r));
        assert.equal(got.length, 1, JSON.stringify(got));
        assert.equal(got[0].logger, 'lambda/logs');
        assert.equal(got[0].level, 'info');
        assert.match(got[0].data, /log line 2 of 2/);
        // the request on the wire carried the level
        const req = session.inMessages().find((m) => m.msg?.method === 'tools/call' && m.msg.params?.name === 'logs');
        assert.equal(req.msg.params._meta[LOG_LEVEL], 'debug');
        // the next request without it: nothing; with "error": nothing
        await client.callTool({ name: 'logs', arguments: { lines: 1 } }, { timeout: ms(20000) });
        await client.callTool({ name: 'logs', arguments: { lines: 1 }, _meta: { [LOG_LEVEL]: 'error' } });
        assert.equal(got.length, 1);
        assert.equal(onWire(session).length, 1);
    });

    await t.test('2026-07-28 client without a log level: no notifications/message', async () => {
        const { client, session } = await t.modernClient({ label: 'modern-no-level', emu, conf });
        const got = capture(client);
        const r = await client.callTool({ name: 'logs', arguments: { lines: 2 } });
        assert.equal(r.isError, false);
        assert.equal(got.length, 0);
        assert.equal(onWire(session).length, 0);
    });
    await t.test('tag lambda-mcp:log-tail-errors-only = true: no tail for a successful call, the tail for a failed one; untagged functions keep theirs', async () => {
        await emu.putFunctions([
            { name: 'logs-errs', handler: 'logs', description: 'Logs; tail only on errors (tag).', tags: { 'lambda-mcp:log-tail-errors-only': 'true' } },
            { name: 'fail-errs', handler: 'fail', description: 'Fails; tail only on errors (tag).', tags: { 'lambda-mcp:log-tail-errors-only': 'true' } },
        ]);
        const tagsConf = conf.replace('{ plugin = "list"; }', '{ plugin = "list"; }, { plugin = "tags"; metadata = "always"; }');
        const { client, session } = await t.legacyClient({ label: 'legacy-errors-only-tag', emu, conf: tagsConf });
        const got = capture(client);
        assert.deepEqual(await client.setLoggingLevel('info'), {});
        const seq = (await emu.stats()).last_seq;
        const ok = await client.callTool({ name: 'logs_errs', arguments: { lines: 2 } }, C.LegacyCallToolResultSchema);
        assert.equal(ok.isError, false, text(ok));
        assert.equal(await tailAsked(seq), 1);
        assert.equal(got.length, 0, `a tail for a successful call of a tagged function: ${JSON.stringify(got)}`);
        const f = await client.callTool({ name: 'fail_errs', arguments: {} }, C.LegacyCallToolResultSchema);
        assert.equal(f.isError, true);
        assert.equal(got.length, 1, JSON.stringify(got));
        assert.equal(got[0].logger, 'lambda/fail-errs');
        assert.match(got[0].data, /looking up order 42/);
        const plain = await client.callTool({ name: 'logs', arguments: { lines: 1 } }, C.LegacyCallToolResultSchema);
        assert.equal(plain.isError, false);
        assert.equal(got.length, 2, 'the untagged function lost its tail');
        assert.equal(got[1].logger, 'lambda/logs');
        assert.equal(onWire(session).length, 2);
    });
}, { timeoutSec: 90 });
