// Serving while the first discovery runs (core/app.c initial_discovery, core/mcp/server.c
// mcp_server_tools_ready): initialize, server/discover and ping are answered at once;
// tools/list and tools/call wait for the first discovery and get its result, in order; a waiting
// call the client cancels never runs; at the end of input the waiting requests are still answered,
// after SIGTERM (also one during that wait) they get an error. ListFunctions is slowed down by the emulator so that "before
// discovery has finished" is a wide window.
import { BASE_CONF, assert, ms, run, until } from './lib/harness.mjs';

const DEMO_TOOLS = ['context_info', 'echo', 'fail', 'greet', 'logs', 'sleep_100ms', 'slow', 'text', 'text_raw'];
const DISCOVERED = /info +discovery: initial discovery: 9 tools/;
const INIT = {
    jsonrpc: '2.0',
    id: 'init',
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'startup', version: '1' } },
};

run('startup', async (t) => {
    const emu = await t.emulator({ account: 'demo.json' });
    const LIST_MS = ms(2000);
    await emu.control('POST', '/__emu/latency', { operation: 'ListFunctions', ms: LIST_MS });
    const invocations = async (fn) => (await emu.stats()).invocations[fn] || 0;
    const listCalls = async () => (await emu.stats()).operations.ListFunctions || 0;

    await t.test('legacy client: initialize is answered before discovery ends; tools/list and a tools/call sent meanwhile get its result', async () => {
        const lists0 = await listCalls();
        const echo0 = await invocations('echo');
        const t0 = Date.now();
        const { client, session } = await t.legacyClient({ label: 'legacy-early', emu, conf: BASE_CONF });
        const connected = Date.now() - t0;
        assert.doesNotMatch(session.stderrText(), DISCOVERED, 'discovery had finished before initialize was answered');
        t.note(`connect (initialize) took ${connected} ms; ListFunctions takes ${LIST_MS} ms`);
        const [list, call] = await Promise.all([client.listTools(), client.callTool({ name: 'echo', arguments: { early: 1 } })]);
        assert.deepEqual(list.tools.map((x) => x.name).sort(), DEMO_TOOLS);
        assert.equal(call.isError, false, JSON.stringify(call));
        assert.deepEqual(call.structuredContent, { early: 1 });
        await until(() => DISCOVERED.test(session.stderrText()), ms(5000), 'the initial discovery log line');
        assert.match(session.stderrText(), /tools\/list id=\S+ waits for the first discovery/);
        assert.match(session.stderrText(), /tools\/call id=\S+ waits for the first discovery/);
        assert.equal((await invocations('echo')) - echo0, 1, 'one Invoke for the one call');
        assert.equal((await listCalls()) - lists0, 1, 'one ListFunctions: discovery ran once');
        // nothing changed since the tools were first listed: no list_changed for the first discovery
        assert.doesNotMatch(session.stderrText(), /tools changed: notified/);
        await session.close();
    });

    await t.test('2026-07-28 client: server/discover is answered before discovery ends; tools/list waits for it', async () => {
        const { client, session } = await t.modernClient({ label: 'modern-early', emu, conf: BASE_CONF });
        assert.doesNotMatch(session.stderrText(), DISCOVERED, 'discovery had finished before the client was connected');
        const list = await client.listTools();
        assert.deepEqual(list.tools.map((x) => x.name).sort(), DEMO_TOOLS);
        await session.close();
    });

    await t.test('raw: a tools/call cancelled while it waits never runs and is never answered; ping is answered meanwhile', async () => {
        const echo0 = await invocations('echo');
        const srv = t.directServer({ label: 'cancel-waiting', emu, conf: BASE_CONF });
        const init = await srv.request(INIT);
        assert.equal(init.msg.result.protocolVersion, '2025-11-25');
        await srv.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
        await srv.send({ jsonrpc: '2.0', id: 'c1', method: 'tools/call', params: { name: 'echo', arguments: { n: 1 } } });
        await srv.send({ jsonrpc: '2.0', id: 'c2', method: 'tools/call', params: { name: 'echo', arguments: { n: 2 } } });
        await srv.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'c1', reason: 'changed my mind' } });
        const pong = await srv.request({ jsonrpc: '2.0', id: 'p1', method: 'ping' });
        assert.deepEqual(pong.msg.result, {});
        assert.doesNotMatch(srv.stderr, DISCOVERED, 'the ping waited for discovery');
        await srv.waitForStderr(/requestId="?c1"? reason=changed my mind: cancelled before it started/, ms(5000), 'the cancellation log line');
        const c2 = await srv.waitFor((m) => m.msg && m.msg.id === 'c2', ms(20000), 'the answer to c2');
        assert.deepEqual(c2.msg.result.structuredContent, { n: 2 });
        const last = await srv.request({ jsonrpc: '2.0', id: 'p2', method: 'ping' });
        assert.ok(last);
        assert.equal(srv.messages.filter((m) => m.msg && m.msg.id === 'c1').length, 0, 'the cancelled call was answered');
        assert.equal((await invocations('echo')) - echo0, 1, 'only c2 reached Lambda');
        srv.closeStdin();
        assert.equal((await srv.exited).code, 0);
    });

    await t.test('raw: requests written and stdin closed at once are all answered after discovery, in order', async () => {
        const srv = t.directServer({ label: 'eof-waiting', emu, conf: BASE_CONF });
        const lines = [
            INIT,
            { jsonrpc: '2.0', method: 'notifications/initialized' },
            { jsonrpc: '2.0', id: 'l1', method: 'tools/list' },
            { jsonrpc: '2.0', id: 'c1', method: 'tools/call', params: { name: 'echo', arguments: { eof: true } } },
            { jsonrpc: '2.0', id: 'u1', method: 'tools/call', params: { name: 'no_such_tool', arguments: {} } },
        ];
        await srv.write(lines.map((l) => JSON.stringify(l) + '\n').join(''));
        srv.closeStdin();
        const exit = await srv.exited;
        assert.equal(exit.code, 0);
        const byId = (id) => srv.messages.find((m) => m.msg && m.msg.id === id)?.msg;
        assert.deepEqual(byId('l1').result.tools.map((x) => x.name).sort(), DEMO_TOOLS);
        assert.deepEqual(byId('c1').result.structuredContent, { eof: true });
        assert.equal(byId('u1').error.code, -32602, 'an unknown tool is known to be unknown only after discovery');
        const order = srv.messages.map((m) => m.msg && m.msg.id).filter((id) => id === 'l1' || id === 'u1');
        assert.deepEqual(order, ['l1', 'u1'], 'waiting requests are handled in arrival order');
    });

    await t.test('raw: stdin closed while a tools/list waits, then SIGTERM: the wait ends at once with the error', async () => {
        const srv = t.directServer({ label: 'eof-then-sigterm', emu, conf: BASE_CONF });
        await srv.request(INIT);
        await srv.send({ jsonrpc: '2.0', id: 'l1', method: 'tools/list' });
        await srv.waitForStderr(/tools\/list id="?l1"? waits for the first discovery/, ms(5000), 'tools/list waiting');
        srv.closeStdin();
        await srv.waitForStderr(/end of input/, ms(5000), 'the end of input');
        const t0 = Date.now();
        srv.kill('SIGTERM');
        const exit = await srv.exited;
        const took = Date.now() - t0;
        assert.equal(exit.code, 0);
        assert.doesNotMatch(srv.stderr, DISCOVERED, 'the server waited for discovery after SIGTERM');
        t.note(`exit ${took} ms after SIGTERM (ListFunctions takes ${LIST_MS} ms)`);
        const r = srv.messages.find((m) => m.msg && m.msg.id === 'l1');
        assert.ok(r, 'no answer to the waiting tools/list');
        assert.match(r.msg.error.message, /shutting down/);
    });

    await t.test('raw: SIGTERM while a tools/list waits: it gets an error saying the server is shutting down', async () => {
        const srv = t.directServer({ label: 'sigterm-waiting', emu, conf: BASE_CONF });
        await srv.request(INIT);
        await srv.send({ jsonrpc: '2.0', id: 'l1', method: 'tools/list' });
        await srv.waitForStderr(/tools\/list id="?l1"? waits for the first discovery/, ms(5000), 'tools/list waiting');
        srv.kill('SIGTERM');
        const exit = await srv.exited;
        assert.equal(exit.code, 0);
        const r = srv.messages.find((m) => m.msg && m.msg.id === 'l1');
        assert.ok(r, 'no answer to the waiting tools/list');
        assert.equal(r.msg.error.code, -32603);
        assert.match(r.msg.error.message, /shutting down/);
    });
});
