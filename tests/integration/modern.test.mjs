// The 2026-07-28 era (no handshake: server/discover and a protocol version in every request's
// _meta) through the official @modelcontextprotocol/client 2.x and its stdio transport.
import { BASE_CONF, assert, run } from './lib/harness.mjs';

const DEMO_TOOLS = ['context_info', 'echo', 'fail', 'greet', 'logs', 'sleep_100ms', 'slow', 'text', 'text_raw'];
const MODERN = '2026-07-28';
const PV = 'io.modelcontextprotocol/protocolVersion';

run('modern', async (t) => {
    const C = await t.clients();
    const emu = await t.emulator({ account: 'demo.json' });
    const conf = BASE_CONF + 'server = { page_size = 4; progress_interval = "200ms"; };\n';

    // mode 'auto': the client probes with server/discover and falls back to initialize unless the
    // answer is definitive modern evidence; so a modern era here is the server's doing
    const { client, session } = await t.modernClient({ label: 'client-2.x-auto', emu, conf, mode: 'auto' });

    await t.test(`connect (auto negotiation): era modern, protocol ${MODERN}, not a legacy fallback`, () => {
        assert.equal(client.getProtocolEra(), 'modern');
        assert.equal(client.getNegotiatedProtocolVersion(), MODERN);
        const d = client.getDiscoverResult();
        assert.ok(d, 'no DiscoverResult kept by the client');
        assert.ok(d.supportedVersions.includes(MODERN), `supportedVersions ${JSON.stringify(d.supportedVersions)}`);
        assert.deepEqual(client.getServerCapabilities().tools, { listChanged: true });
        assert.equal(client.getServerVersion()?.name, 'lambda-mcp');
        const methods = session.processes().flatMap((p) => p.methods);
        assert.ok(methods.includes('server/discover'), `methods on the wire: ${methods}`);
        assert.ok(!methods.includes('initialize'), 'the client fell back to initialize');
    });

    await t.test('server/discover result on the wire: supportedVersions, capabilities, resultType, ttlMs, cacheScope, serverInfo', () => {
        const d = session.outMessages().find((m) => m.msg?.result?.supportedVersions);
        assert.ok(d, 'no discover result on the wire');
        const r = d.msg.result;
        assert.equal(r.resultType, 'complete');
        assert.equal(typeof r.ttlMs, 'number');
        assert.ok(['public', 'private'].includes(r.cacheScope));
        assert.equal(r._meta?.['io.modelcontextprotocol/serverInfo']?.name, 'lambda-mcp');
        assert.ok(r.supportedVersions.includes('2025-11-25'), 'the legacy versions are listed too');
    });

    await t.test('tools/list page by page: 4 + 4 + 1, sorted, each page with resultType, ttlMs and cacheScope on the wire', async () => {
        const pages = [];
        let cursor;
        do {
            // listTools() without a cursor aggregates every page: the first page needs request()
            const page = cursor ? await client.listTools({ cursor }) : await client.request({ method: 'tools/list', params: {} });
            pages.push(page);
            cursor = page.nextCursor;
            assert.ok(pages.length <= 10, 'nextCursor never ends');
        } while (cursor);
        assert.deepEqual(
            pages.map((p) => p.tools.length),
            [4, 4, 1],
        );
        assert.deepEqual(
            pages.flatMap((p) => p.tools.map((x) => x.name)),
            DEMO_TOOLS,
        );
        for (const p of pages) {
            assert.equal(typeof p.ttlMs, 'number', 'ttlMs');
            assert.ok(['public', 'private'].includes(p.cacheScope), 'cacheScope');
        }
        const wire = session.outMessages().filter((m) => m.msg?.result?.tools);
        assert.ok(wire.length >= 3);
        for (const w of wire) {
            assert.equal(w.msg.result.resultType, 'complete', w.text.slice(0, 200));
            assert.equal(typeof w.msg.result.ttlMs, 'number');
            assert.ok(w.msg.result.ttlMs >= 0);
            assert.ok(['public', 'private'].includes(w.msg.result.cacheScope));
        }
        t.note(`pages: ${pages.map((p) => p.tools.length).join(' + ')}; ttlMs ${pages[0].ttlMs}, cacheScope ${pages[0].cacheScope}`);
    });

    await t.test('tools/list without a cursor: the client aggregates all 9 tools', async () => {
        const all = await client.listTools(undefined, { cacheMode: 'bypass' });
        assert.deepEqual(
            all.tools.map((x) => x.name),
            DEMO_TOOLS,
        );
    });

    await t.test('tools/call greet -> text and structuredContent (resultType complete on the wire)', async () => {
        const r = await client.callTool({ name: 'greet', arguments: { name: 'Grace' } });
        assert.equal(r.isError, false);
        assert.deepEqual(JSON.parse(r.content[0].text), { greeting: 'Hello, Grace!' });
        assert.deepEqual(r.structuredContent, { greeting: 'Hello, Grace!' });
        const wire = session.outMessages().filter((m) => m.msg?.result?.structuredContent?.greeting === 'Hello, Grace!');
        assert.equal(wire.length, 1);
        assert.equal(wire[0].msg.result.resultType, 'complete');
    });

    await t.test('tools/call text -> a plain string payload: structuredContent is allowed any JSON value in 2026-07-28', async () => {
        const r = await client.callTool({ name: 'text', arguments: { name: 'Grace' } });
        assert.equal(r.isError, false);
        assert.match(r.content[0].text, /Hello, Grace! This is plain text/);
    });

    await t.test('tools/call fail -> isError with the errorMessage ("order 42 not found") and errorType', async () => {
        const r = await client.callTool({ name: 'fail', arguments: {} });
        assert.equal(r.isError, true);
        const text = r.content.map((c) => c.text).join('\n');
        assert.match(text, /order 42 not found/);
        assert.match(text, /ValueError/);
    });

    await t.test('progress in the 2026-07-28 era: notifications/progress for a call with a progressToken', async () => {
        const seen = [];
        const r = await client.callTool({ name: 'slow', arguments: { seconds: 1 } }, { onprogress: (p) => seen.push(p) });
        assert.equal(r.isError, false, JSON.stringify(r));
        t.note(`progress notifications: ${seen.length}`);
        assert.ok(seen.length >= 2, `only ${seen.length} progress notifications in 1 s`);
    });

    await t.test('tools/call of an unknown tool -> -32602', async () => {
        await assert.rejects(client.callTool({ name: 'no_such_tool', arguments: {} }), (e) => {
            assert.equal(e.code, -32602, `${e.constructor.name} ${e.code} ${e.message}`);
            return true;
        });
    });

    await t.test('a request with an unsupported _meta protocol version -> -32022 with data.supported and data.requested', async () => {
        await assert.rejects(client.request({ method: 'tools/list', params: { _meta: { [PV]: '2099-01-01' } } }), (e) => {
            assert.equal(e.code, -32022, `${e.constructor.name} ${e.code} ${e.message}`);
            assert.ok(Array.isArray(e.data?.supported), JSON.stringify(e.data));
            assert.ok(e.data.supported.includes(MODERN));
            assert.equal(e.data.requested, '2099-01-01');
            return true;
        });
    });

    // ---- the same through raw JSON-RPC on the official 2.x transport: exact wire shapes
    const rpc = await t.rpcSession({ label: 'raw-2026', flavor: 'modern', emu, conf: BASE_CONF });
    const meta = (extra = {}) => ({ _meta: { [PV]: MODERN, 'io.modelcontextprotocol/clientCapabilities': {}, ...extra } });

    await t.test('raw: -32022 for an unknown version names it and lists what is supported', async () => {
        for (const [method, params] of [
            ['tools/list', { _meta: { [PV]: '2099-01-01' } }],
            ['server/discover', { _meta: { [PV]: '2025-11-25' } }], // a legacy version is not a per-request version
            ['tools/call', { name: 'greet', arguments: {}, _meta: { [PV]: '' } }],
        ]) {
            const r = await rpc.request(method, params);
            assert.ok(r.error, `${method} ${JSON.stringify(params)} -> ${JSON.stringify(r)}`);
            assert.equal(r.error.code, -32022, JSON.stringify(r));
            assert.deepEqual(r.error.data.requested, params._meta[PV]);
            assert.ok(r.error.data.supported.includes(MODERN));
        }
    });

    await t.test('raw: a protocol version that is not a string -> -32602', async () => {
        const r = await rpc.request('tools/list', { _meta: { [PV]: 20260728 } });
        assert.equal(r.error?.code, -32602, JSON.stringify(r));
    });

    await t.test('raw: server/discover, tools/list and tools/call all carry resultType "complete"', async () => {
        const d = await rpc.request('server/discover', meta());
        assert.equal(d.result?.resultType, 'complete', JSON.stringify(d));
        const l = await rpc.request('tools/list', meta());
        assert.equal(l.result?.resultType, 'complete');
        assert.equal(l.result.tools.length, DEMO_TOOLS.length); // default page size 100
        assert.ok(!('nextCursor' in l.result));
        const c = await rpc.request('tools/call', { name: 'echo', arguments: { a: [1, 2, { b: null }] }, ...meta() });
        assert.equal(c.result?.resultType, 'complete');
        assert.deepEqual(c.result.structuredContent, { a: [1, 2, { b: null }] });
    });

    await t.test('raw: initialize is not a 2026-07-28 method (-32601), and no legacy session is started by it', async () => {
        const r = await rpc.request('initialize', {
            protocolVersion: MODERN,
            capabilities: {},
            clientInfo: { name: 'x', version: '1' },
            ...meta(),
        });
        assert.equal(r.error?.code, -32601, JSON.stringify(r));
    });

    await t.test('raw: a 2026-07-28 request without clientCapabilities is malformed (-32602), as the spec requires', async () => {
        const r = await rpc.request('tools/list', { _meta: { [PV]: MODERN } });
        assert.equal(r.error?.code, -32602, JSON.stringify(r));
        assert.match(r.error.message, /clientCapabilities.*is required/);
    });

    await t.test('raw: an unknown method in the modern era -> -32601', async () => {
        const r = await rpc.request('resources/list', meta());
        assert.equal(r.error?.code, -32601, JSON.stringify(r));
    });

    await t.test('raw: a bad per-request log level -> -32602', async () => {
        const r = await rpc.request('tools/list', meta({ 'io.modelcontextprotocol/logLevel': 'loud' }));
        assert.equal(r.error?.code, -32602, JSON.stringify(r));
    });

    await t.test('pinned mode ({ pin: "2026-07-28" }) connects too', async () => {
        const pinned = await t.modernClient({ label: 'client-2.x-pin', emu, conf: BASE_CONF, mode: { pin: MODERN } });
        assert.equal(pinned.client.getProtocolEra(), 'modern');
        assert.equal(pinned.client.getNegotiatedProtocolVersion(), MODERN);
        const r = await pinned.client.callTool({ name: 'greet', arguments: { name: 'pin' } });
        assert.deepEqual(r.structuredContent, { greeting: 'Hello, pin!' });
    });
}, { timeoutSec: 90 });
