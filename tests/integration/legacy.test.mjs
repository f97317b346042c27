// The legacy era (initialize-based, 2024-11-05 .. 2025-11-25) through the official TypeScript
// SDK 1.x client and its stdio transport, against the emulator's demo account.
import fs from 'node:fs';
import path from 'node:path';
import { BASE_CONF, assert, cfg, run } from './lib/harness.mjs';

const DEMO_TOOLS = ['context_info', 'echo', 'fail', 'greet', 'logs', 'sleep_100ms', 'slow', 'text', 'text_raw'];
// 2025-03-26 is not offered (its servers must accept JSON-RPC batches): asked for, 2025-11-25 is answered
const LEGACY_VERSIONS = ['2024-11-05', '2025-06-18', '2025-11-25'];
/* structuredContent (an object) exists from 2025-06-18 on */
const STRUCTURED = new Set(['2025-06-18', '2025-11-25']);

/* Schema Registry input schemas with the demo credentials: "wrapped" (OpenAPI, converted with a
 * $defs reference) is served in upstream's {"parameters": ...} shape; "loose" has a keyword the
 * validator does not enforce (a lookahead in a pattern) and is closed by unevaluatedProperties,
 * which it does enforce. */
const SCHEMA_TAG = 'lambda-mcp:input-schema';
const schemaArn = (n) => `arn:aws:schemas:us-east-1:123456789012:schema/lambda-mcp/${n}`;
function schemaAccount() {
    const demo = JSON.parse(fs.readFileSync(path.join(cfg.accounts, 'demo.json'), 'utf8'));
    return {
        ...demo,
        functions: [
            { name: 'wrapped', handler: 'echo', description: 'upstream input shape', tags: { [SCHEMA_TAG]: schemaArn('wrapped-input') } },
            { name: 'loose', handler: 'echo', description: 'a keyword that is not enforced', tags: { [SCHEMA_TAG]: schemaArn('loose-input') } },
        ],
        schemas: {
            registries: [
                {
                    name: 'lambda-mcp',
                    schemas: [
                        {
                            name: 'wrapped-input',
                            type: 'OpenApi3',
                            content: {
                                openapi: '3.0.0',
                                info: { title: 'Wrapped', version: '1.0.0' },
                                paths: {},
                                components: {
                                    schemas: {
                                        AWSEvent: {
                                            type: 'object',
                                            properties: { message: { type: 'string' }, item: { $ref: '#/components/schemas/Item' } },
                                            required: ['message'],
                                        },
                                        Item: { type: 'object', properties: { sku: { type: 'string' } }, required: ['sku'] },
                                    },
                                },
                            },
                        },
                        {
                            name: 'loose-input',
                            type: 'JSONSchemaDraft4',
                            content: { type: 'object', properties: { a: { type: 'string', pattern: '^(?=x)' } }, unevaluatedProperties: false },
                        },
                    ],
                },
            ],
        },
    };
}
const SCHEMA_CONF = `credentials = ( { plugin = "env"; } );
discovery = { plugins = ( { plugin = "schema-registry"; tag_key = "${SCHEMA_TAG}"; } ); };
tools = ( { match = "wrapped"; parameters_wrapper = true; } );
`;

run('legacy', async (t) => {
    const C = await t.clients();
    await t.test(`the pinned clients are installed (sdk ${C.installed['@modelcontextprotocol/sdk']}, client ${C.installed['@modelcontextprotocol/client']})`, () => {
        assert.equal(C.installed['@modelcontextprotocol/sdk'], '1.32.2');
        assert.equal(C.installed['@modelcontextprotocol/client'], '2.4.0');
    });
    const emu = await t.emulator({ account: 'demo.json' });

    // page_size 4: the 9 demo tools come in 3 pages, so the cursor is exercised
    const { client, session } = await t.legacyClient({
        label: 'sdk-1.x',
        emu,
        conf: BASE_CONF + 'server = { page_size = 4; progress_interval = "200ms"; };\n',
    });

    await t.test('initialize: negotiated 2025-11-25 (the SDK asks for its latest), tools and logging capabilities, server info', () => {
        const init = session.outMessages().find((m) => m.msg && m.msg.result && m.msg.result.protocolVersion);
        assert.ok(init, 'no initialize result on the wire');
        assert.equal(init.msg.result.protocolVersion, '2025-11-25');
        assert.equal(C.LEGACY_LATEST_PROTOCOL_VERSION, '2025-11-25');
        const caps = client.getServerCapabilities();
        assert.deepEqual(caps.tools, { listChanged: true });
        assert.ok(caps.logging && typeof caps.logging === 'object', 'logging capability');
        assert.equal(client.getServerVersion().name, 'lambda-mcp');
        assert.match(client.getServerVersion().version, /^\d+\.\d+\.\d+/);
        assert.equal(typeof client.getInstructions(), 'string');
    });

    await t.test('ping answers an empty result', async () => {
        assert.deepEqual(await client.ping(), {});
    });

    await t.test('tools/list: all 9 demo tools over 3 pages following nextCursor, sorted, no duplicates', async () => {
        const pages = [];
        let cursor;
        do {
            const page = await client.listTools(cursor ? { cursor } : {});
            pages.push(page.tools.map((x) => x.name));
            cursor = page.nextCursor;
            assert.ok(pages.length <= 10, 'nextCursor never ends');
        } while (cursor);
        t.note(`pages: ${pages.map((p) => p.length).join(' + ')} = ${pages.flat().length} tools`);
        assert.deepEqual(
            pages.map((p) => p.length),
            [4, 4, 1],
        );
        assert.deepEqual(pages.flat(), DEMO_TOOLS);
        for (const p of await client.listTools().then((r) => r.tools)) {
            assert.equal(p.inputSchema.type, 'object', `${p.name} inputSchema`);
            assert.equal(typeof p.description, 'string');
        }
    });

    await t.test('tools/list with a cursor that is not ours -> -32602', async () => {
        await assert.rejects(client.listTools({ cursor: 'not-a-cursor!' }), (e) => e.code === -32602);
    });

    await t.test('tools/call greet -> text and structuredContent', async () => {
        const r = await client.callTool({ name: 'greet', arguments: { name: 'Ada' } });
        assert.equal(r.isError, false);
        assert.equal(r.content.length, 1);
        assert.equal(r.content[0].type, 'text');
        assert.deepEqual(JSON.parse(r.content[0].text), { greeting: 'Hello, Ada!' });
        assert.deepEqual(r.structuredContent, { greeting: 'Hello, Ada!' });
    });

    await t.test('tools/call fail -> isError with the errorMessage and errorType of the function', async () => {
        const r = await client.callTool({ name: 'fail', arguments: {} });
        assert.equal(r.isError, true);
        const text = r.content.map((c) => c.text).join('\n');
        assert.match(text, /order 42 not found/);
        assert.match(text, /ValueError/);
    });

    await t.test('tools/call of an unknown tool -> JSON-RPC error -32602', async () => {
        await assert.rejects(client.callTool({ name: 'no_such_tool', arguments: {} }), (e) => {
            assert.equal(e.code, -32602, `code ${e.code}: ${e.message}`);
            return true;
        });
    });

    for (const [what, args] of [
        ['an array', [1, 2]],
        ['a string', 'name=Ada'],
        ['a number', 7],
        ['null', null],
    ]) {
        await t.test(`tools/call with arguments that are ${what} -> -32602`, async () => {
            await assert.rejects(
                client.request({ method: 'tools/call', params: { name: 'greet', arguments: args } }, C.LegacyCallToolResultSchema),
                (e) => {
                    assert.equal(e.code, -32602, `code ${e.code}: ${e.message}`);
                    return true;
                },
            );
        });
    }

    await t.test('tools/call without params.name -> -32602', async () => {
        await assert.rejects(client.request({ method: 'tools/call', params: { arguments: {} } }, C.LegacyCallToolResultSchema), (e) => e.code === -32602);
    });

    await t.test('progress: a call that sent a progressToken gets notifications/progress (every 200 ms), strictly increasing, none after the result', async () => {
        const seen = [];
        const r = await client.callTool({ name: 'slow', arguments: { seconds: 1 } }, C.LegacyCallToolResultSchema, {
            onprogress: (p) => seen.push(p),
        });
        assert.equal(r.isError, false, JSON.stringify(r));
        t.note(`progress notifications: ${seen.length} (${seen.map((p) => p.progress).join(', ')})`);
        assert.ok(seen.length >= 2, `only ${seen.length} progress notifications in 1 s`);
        for (let i = 1; i < seen.length; i++) assert.ok(seen[i].progress > seen[i - 1].progress, 'progress does not increase');
        const wire = session.outMessages();
        const res = wire.findIndex((m) => m.msg?.result?.structuredContent?.slept === 1);
        const token = wire.find((m) => m.msg?.method === 'notifications/progress')?.msg.params.progressToken;
        const late = wire.slice(res + 1).filter((m) => m.msg?.method === 'notifications/progress' && m.msg.params.progressToken === token);
        assert.equal(late.length, 0, 'progress after the result');
    });

    await t.test('logging/setLevel debug -> empty result; a bad level -> -32602', async () => {
        assert.deepEqual(await client.setLoggingLevel('debug'), {});
        await assert.rejects(client.request({ method: 'logging/setLevel', params: { level: 'verbose' } }, C.LegacyEmptyResultSchema), (e) => e.code === -32602);
    });

    await t.test('a second initialize on the same session -> -32600', async () => {
        await assert.rejects(
            client.request(
                { method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } } },
                C.LegacyEmptyResultSchema,
            ),
            (e) => e.code === -32600,
        );
    });

    await t.test('an unknown method -> -32601', async () => {
        await assert.rejects(client.request({ method: 'prompts/list', params: {} }, C.LegacyEmptyResultSchema), (e) => e.code === -32601);
    });

    // ---- every legacy version, and an unknown one, each in its own session (in parallel)
    const matrix = [...LEGACY_VERSIONS, '2025-03-26', '2099-01-01'];
    const results = await Promise.all(
        matrix.map(async (v) => {
            const rpc = await t.rpcSession({ label: `initialize-${v}`, emu, conf: BASE_CONF });
            const init = await rpc.request('initialize', {
                protocolVersion: v,
                capabilities: {},
                clientInfo: { name: 'lambda-mcp-integration', version: '1.0.0' },
            });
            await rpc.notify('notifications/initialized');
            const greet = await rpc.request('tools/call', { name: 'greet', arguments: { name: v } });
            const text = await rpc.request('tools/call', { name: 'text', arguments: { name: v } });
            const fail = await rpc.request('tools/call', { name: 'fail', arguments: {} });
            const errors = rpc.errors.map(String);
            await rpc.close();
            return { v, init, greet, text, fail, errors };
        }),
    );
    for (const { v, init, greet, text, fail, errors } of results) {
        const expected = LEGACY_VERSIONS.includes(v) ? v : '2025-11-25';
        await t.test(`initialize ${v} -> protocolVersion ${expected}`, () => {
            assert.equal(init.result && init.result.protocolVersion, expected, JSON.stringify(init));
            assert.deepEqual(errors, [], 'transport errors');
        });
        await t.test(`${v}: structuredContent ${STRUCTURED.has(expected) ? 'present (object payload)' : 'absent'}; never for a plain-string payload`, () => {
            assert.ok(greet.result, JSON.stringify(greet));
            assert.equal(greet.result.isError, false);
            assert.deepEqual(JSON.parse(greet.result.content[0].text), { greeting: `Hello, ${v}!` });
            if (STRUCTURED.has(expected)) assert.deepEqual(greet.result.structuredContent, { greeting: `Hello, ${v}!` });
            else assert.ok(!('structuredContent' in greet.result), `structuredContent in a ${v} result: ${JSON.stringify(greet.result)}`);
            // "text" returns a JSON string literal: not an object, so never structuredContent in legacy
            assert.ok(text.result, JSON.stringify(text));
            assert.equal(text.result.isError, false);
            assert.match(text.result.content[0].text, /Hello, .*plain text/);
            assert.ok(!('structuredContent' in text.result), `structuredContent for a string payload: ${JSON.stringify(text.result)}`);
            assert.ok(!('resultType' in greet.result), 'resultType is a 2026-07-28 field');
            assert.equal(fail.result.isError, true);
            if (!STRUCTURED.has(expected)) assert.ok(!('structuredContent' in fail.result), `structuredContent in a ${v} error result`);
        });
    }

    await t.test('a request before initialize (no _meta version) -> an error, and the session still initializes', async () => {
        const rpc = await t.rpcSession({ label: 'before-initialize', emu, conf: BASE_CONF });
        const early = await rpc.request('tools/list', {});
        assert.ok(early.error, JSON.stringify(early));
        assert.equal(early.error.code, -32600, JSON.stringify(early));
        const pong = await rpc.request('ping');
        assert.deepEqual(pong.result, {});
        const init = await rpc.request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } });
        assert.equal(init.result.protocolVersion, '2025-06-18');
        await rpc.notify('notifications/initialized');
        const list = await rpc.request('tools/list', {});
        assert.equal(list.result.tools.length, DEMO_TOOLS.length);
        await rpc.close();
    });

    // ---- parameters_wrapper and schema warnings, with Schema Registry schemas
    const semu = await t.emulator({ account: schemaAccount(), label: 'schemas' });
    const ws = await t.legacyClient({ label: 'parameters-wrapper', emu: semu, conf: SCHEMA_CONF });
    const wtools = Object.fromEntries((await ws.client.listTools()).tools.map((x) => [x.name, x]));
    const invokes = async () => (await semu.stats()).operations?.Invoke || 0;
    const text = (r) => (r.content || []).map((c) => c.text).join('\n');

    await t.test('parameters_wrapper: the advertised schema is the wrapped one, and it resolves (ajv compiles it)', async () => {
        const w = wtools.wrapped.inputSchema;
        t.note(JSON.stringify(w));
        assert.deepEqual(w.required, ['parameters']);
        assert.deepEqual(w.properties.parameters.required, ['message']);
        assert.ok(w.$defs && w.$defs.Item, 'the $defs of the function schema are at the root of the document');
        const ajv = new C.Ajv2020({ strict: false, allErrors: true });
        const validate = ajv.compile(w);
        assert.equal(validate({ parameters: { message: 'hi', item: { sku: 'a' } } }), true);
        assert.equal(validate({ parameters: { message: 'hi', item: {} } }), false);
        assert.equal(validate({ message: 'hi' }), false);
    });

    await t.test('parameters_wrapper: arguments are checked as the client sent them, before Lambda; valid ones reach it unwrapped', async () => {
        const n0 = await invokes();
        const bad = await ws.client.callTool({ name: 'wrapped', arguments: { parameters: { message: 'hi', item: {} } } });
        assert.equal(bad.isError, true, text(bad));
        assert.match(text(bad), /do not match the input schema of tool 'wrapped' \(1 violation\):\n\$\.parameters\.item: missing required property 'sku'$/);
        const unwrapped = await ws.client.callTool({ name: 'wrapped', arguments: { message: 'hi' } });
        assert.equal(unwrapped.isError, true, text(unwrapped));
        assert.match(text(unwrapped), /\(1 violation\):\n\$: missing required property 'parameters'$/);
        assert.equal(await invokes(), n0, 'an invalid call reached Lambda');
        const ok = await ws.client.callTool({ name: 'wrapped', arguments: { parameters: { message: 'hi', item: { sku: 'a' } } } });
        assert.equal(ok.isError, false, text(ok));
        assert.deepEqual(ok.structuredContent, { message: 'hi', item: { sku: 'a' } });
        assert.equal(await invokes(), n0 + 1);
    });

    await t.test('a schema keyword that is not enforced: one warning naming the function, not repeated when the tool is called', async () => {
        for (let i = 0; i < 2; i++) {
            const r = await ws.client.callTool({ name: 'loose', arguments: { a: 'y' } });
            assert.equal(r.isError, false, text(r));
        }
        const lines = ws.session.stderrText().split('\n');
        const named = lines.filter((l) => / warn +discovery: function loose: parts of its input schema are not enforced: .*lookaround assertions are not supported/.test(l));
        t.note(named[0] || '(none)');
        assert.equal(named.length, 1, lines.filter((l) => /lookaround/.test(l)).join('\n'));
        assert.deepEqual(lines.filter((l) => / warn +schema: /.test(l)), [], 'an anonymous schema warning');
    });

    await t.test('unevaluatedProperties is enforced: a property no subschema evaluates is refused before Lambda', async () => {
        const n0 = await invokes();
        const r = await ws.client.callTool({ name: 'loose', arguments: { a: 'x', b: 1 } });
        assert.equal(r.isError, true, text(r));
        assert.match(text(r), /do not match the input schema of tool 'loose' \(1 violation\):\n\$\.b: property is not allowed \(unevaluatedProperties is false\)$/);
        assert.equal(await invokes(), n0, 'an invalid call reached Lambda');
    });
    await ws.session.close();
}, { timeoutSec: 90 });

