// Input schemas from the EventBridge Schema Registry (plugins/discovery/schema-registry.c):
// FUNCTION_INPUT_SCHEMA_ARN_TAG_KEY names the function tag holding a schema ARN. A
// JSONSchemaDraft4 schema is the tool's inputSchema exactly as stored; an OpenApi3 schema is
// converted (the event schema at the root, components under $defs, references rewritten) and must
// resolve; a version tag pins a version. Arguments that violate the schema are refused with every
// violation and its JSON path, and no Invoke reaches Lambda. A missing, unreadable or unusable
// schema, or a malformed ARN, leaves the tool with the generic schema and says why on stderr:
// the tool is never removed.
import { assert, ms, run, until } from '../lib/harness.mjs';
import { account, byName, counters, listAll, names, opsOf, resultText, schemaArn } from './common.mjs';

const D4 = 'http://json-schema.org/draft-04/schema#';
const ORDER_V1 = { $schema: D4, title: 'Order v1', type: 'object', properties: { orderId: { type: 'string' } }, required: ['orderId'] };
const ORDER_V2 = {
    $schema: D4,
    title: 'Order',
    description: 'An order to place',
    type: 'object',
    properties: {
        orderId: { type: 'string', pattern: '^ORD-[0-9]+$' },
        quantity: { type: 'integer', minimum: 1 },
        items: { type: 'array', items: { type: 'object', properties: { sku: { type: 'string' } }, required: ['sku'] } },
    },
    required: ['orderId', 'quantity'],
    additionalProperties: false,
};
const ORDER_EVENT = {
    openapi: '3.0.0',
    info: { title: 'OrderPlaced', version: '1.0.0' },
    paths: {},
    components: {
        schemas: {
            AWSEvent: {
                type: 'object',
                required: ['detail', 'detail-type', 'source'],
                'x-amazon-events-detail-type': 'OrderPlaced',
                'x-amazon-events-source': 'shop.orders',
                properties: {
                    detail: { $ref: '#/components/schemas/OrderPlaced' },
                    'detail-type': { type: 'string' },
                    source: { type: 'string' },
                },
            },
            OrderPlaced: {
                type: 'object',
                required: ['orderId', 'customer'],
                properties: {
                    orderId: { type: 'string' },
                    customer: { $ref: '#/components/schemas/Customer' },
                    coupon: { type: 'string', nullable: true },
                },
            },
            Customer: { type: 'object', required: ['id'], properties: { id: { type: 'string' }, email: { type: 'string' } } },
        },
    },
};
const REG = 'lambda-mcp';
const TAG = 'input-schema';
const VERSION_TAG = 'lambda-mcp:schema-version';

const ACCOUNT = account({
    functions: [
        { name: 'orders', handler: 'echo', description: 'Places an order', tags: { [TAG]: schemaArn(REG, 'orders-input') } },
        { name: 'orders-v1', handler: 'echo', description: 'Places an order (schema v1)', tags: { [TAG]: schemaArn(REG, 'orders-input'), [VERSION_TAG]: '1' } },
        { name: 'events', handler: 'echo', description: 'Handles OrderPlaced', tags: { [TAG]: schemaArn(REG, 'order-event') } },
        { name: 'missing', handler: 'echo', description: 'Schema does not exist', tags: { [TAG]: schemaArn(REG, 'no-such-schema') } },
        { name: 'unreadable', handler: 'echo', description: 'Schema content is not JSON', tags: { [TAG]: schemaArn(REG, 'broken-input') } },
        { name: 'not-object', handler: 'echo', description: 'Schema of a string', tags: { [TAG]: schemaArn(REG, 'string-input') } },
        { name: 'malformed', handler: 'echo', description: 'Tag is not an ARN', tags: { [TAG]: 'orders-input' } },
        { name: 'wrong-service', handler: 'echo', description: 'Tag is a Lambda ARN', tags: { [TAG]: 'arn:aws:lambda:us-east-1:123456789012:function:orders' } },
        { name: 'plain', handler: 'echo', description: 'No schema tag' },
    ],
    schemas: {
        registries: [
            {
                name: REG,
                schemas: [
                    {
                        name: 'orders-input',
                        type: 'JSONSchemaDraft4',
                        versions: [
                            { version: '1', content: ORDER_V1 },
                            { version: '2', content: ORDER_V2 },
                        ],
                    },
                    { name: 'order-event', type: 'OpenApi3', content: ORDER_EVENT },
                    { name: 'broken-input', type: 'JSONSchemaDraft4', content: '{ "type": "object", this is not JSON' },
                    { name: 'string-input', type: 'JSONSchemaDraft4', content: { $schema: D4, type: 'string' } },
                ],
            },
        ],
    },
});
const ENV = { FUNCTION_INPUT_SCHEMA_ARN_TAG_KEY: TAG };
const ALL = ['events', 'malformed', 'missing', 'not_object', 'orders', 'orders_v1', 'plain', 'unreadable', 'wrong_service'];

run('discovery-schema-registry', async (t) => {
    const C = await t.clients();
    const emu = await t.emulator({ account: ACCOUNT });
    const { client, session } = await t.legacyClient({ label: 'legacy', emu, env: ENV });
    const tools = byName(await listAll(client)); /* answered once the first discovery has finished */
    const stats0 = await counters(emu);
    const generic = tools.plain.inputSchema;
    const stderr = () => session.stderrText();

    await t.test('every function is a tool, whatever happened to its schema', () => {
        assert.deepEqual(Object.keys(tools), ALL);
    });

    await t.test('one DescribeSchema per distinct (ARN, version): 6, none for the malformed tags', () => {
        assert.equal(opsOf(stats0, 'DescribeSchema').DescribeSchema, 6);
    });

    await t.test('JSONSchemaDraft4: inputSchema is exactly the registry content (latest version)', () => {
        assert.deepEqual(tools.orders.inputSchema, ORDER_V2);
        assert.equal(tools.orders.description, 'Places an order', 'the description is not polluted with the schema (upstream pastes it there)');
    });

    await t.test('the version tag pins version 1', () => {
        assert.deepEqual(tools.orders_v1.inputSchema, ORDER_V1);
    });

    await t.test('OpenApi3: the event schema at the root, every component under $defs, references rewritten, nullable mapped', () => {
        const s = tools.events.inputSchema;
        const { AWSEvent, OrderPlaced, Customer } = ORDER_EVENT.components.schemas;
        assert.equal(s.$schema, 'https://json-schema.org/draft/2020-12/schema');
        assert.equal(s.type, 'object');
        assert.deepEqual(s.required, AWSEvent.required);
        assert.deepEqual(s.properties.detail, { $ref: '#/$defs/OrderPlaced' });
        assert.deepEqual(Object.keys(s.$defs).sort(), ['AWSEvent', 'Customer', 'OrderPlaced']);
        assert.deepEqual(s.$defs.OrderPlaced.properties.customer, { $ref: '#/$defs/Customer' });
        assert.deepEqual(s.$defs.OrderPlaced.properties.coupon.type, ['string', 'null']);
        assert.deepEqual(s.$defs.Customer, Customer);
        assert.deepEqual(s.$defs.OrderPlaced.required, OrderPlaced.required);
        assert.ok(!JSON.stringify(s).includes('#/components/'), 'a reference was left pointing into components');
    });

    await t.test('the converted schema resolves: an independent validator (ajv, 2020-12) compiles it and agrees on instances', () => {
        const ajv = new C.Ajv2020({ strict: false, allErrors: true });
        const validate = ajv.compile(tools.events.inputSchema);
        const good = { detail: { orderId: 'o-1', customer: { id: 'c-1' }, coupon: null }, 'detail-type': 'OrderPlaced', source: 'shop.orders' };
        assert.equal(validate(good), true, JSON.stringify(validate.errors));
        assert.equal(validate({ detail: { orderId: 5, customer: {} }, 'detail-type': 'x', source: 'y' }), false);
        assert.deepEqual(validate.errors.map((e) => e.instancePath).sort(), ['/detail/customer', '/detail/orderId']);
    });

    const genericCases = [
        ['missing', /warn +schema-registry: function missing: schema arn:aws:schemas:us-east-1:123456789012:schema\/lambda-mcp\/no-such-schema: DescribeSchema: NotFoundException: .*\(HTTP 404\); the tool keeps the generic schema/],
        ['unreadable', /warn +schema-registry: function unreadable: schema arn:aws:schemas:.*\/broken-input: the schema content is not valid JSON: .*; the tool keeps the generic schema/],
        ['not_object', /warn +schema-registry: function not-object: schema arn:aws:schemas:.*\/string-input cannot be an input schema: an input schema must have "type": "object" at its root.*; the tool keeps the generic schema/],
        ['malformed', /warn +schema-registry: function malformed: tag input-schema = 'orders-input' has 1 ARN fields, expected 6; a schema ARN looks like arn:aws:schemas:<region>:<account>:schema\/<registry>\/<schema>\. The tool keeps the generic schema/],
        ['wrong_service', /warn +schema-registry: function wrong-service: tag input-schema = 'arn:aws:lambda:.*' is not a Schema Registry ARN \(service 'lambda', expected 'schemas'\).*The tool keeps the generic schema/],
    ];
    for (const [tool, why] of genericCases) {
        await t.test(`${tool}: the generic schema, and stderr says why`, () => {
            assert.deepEqual(tools[tool].inputSchema, generic);
            assert.match(stderr(), why);
        });
    }
    await t.test('the generic schema is an open object (any JSON object is an event)', () => {
        assert.equal(generic.type, 'object');
        assert.equal(generic.additionalProperties, true);
    });

    await t.test('a call violating the draft-4 schema: isError listing each violation with its JSON path, and no Invoke', async () => {
        await emu.reset();
        const r = await client.callTool({ name: 'orders', arguments: { orderId: 'X-1', quantity: 0, items: [{ sku: 'a' }, {}], extra: true } });
        const text = resultText(r);
        t.note(text);
        assert.equal(r.isError, true);
        assert.match(text, /do not match the input schema of tool 'orders' \(4 violations\)/);
        // one line per violation, each starting with the JSON path of the offending value
        const lines = text.split('\n').slice(1);
        assert.deepEqual(lines, [
            '$.orderId: must match pattern ^ORD-[0-9]+$',
            '$.quantity: must be >= 1, got 0',
            "$.items[1]: missing required property 'sku'",
            '$.extra: property is not allowed (additionalProperties is false)',
        ]);
        const c = await counters(emu);
        assert.equal(c.ops.Invoke || 0, 0, 'an Invoke reached the emulator');
        assert.deepEqual(c.invocations, {});
    });

    await t.test('a missing required property is reported at its parent path', async () => {
        const r = await client.callTool({ name: 'orders', arguments: { quantity: 2 } });
        assert.equal(r.isError, true);
        assert.match(resultText(r), /\(1 violation\):\n\$: missing required property 'orderId'$/);
        assert.equal((await counters(emu)).ops.Invoke || 0, 0);
    });

    await t.test('a valid call goes through to Lambda (one Invoke) and returns the event', async () => {
        await emu.reset();
        const args = { orderId: 'ORD-42', quantity: 2, items: [{ sku: 'A-1' }] };
        const r = await client.callTool({ name: 'orders', arguments: args });
        assert.equal(r.isError, false, resultText(r));
        assert.deepEqual(r.structuredContent, args);
        assert.deepEqual((await counters(emu)).invocations, { orders: 1 });
    });

    await t.test('the pinned version validates with version 1 (quantity not required there)', async () => {
        const r = await client.callTool({ name: 'orders_v1', arguments: { orderId: 'anything' } });
        assert.equal(r.isError, false, resultText(r));
    });

    await t.test('the OpenAPI schema validates through its $defs: violations deep in referenced schemas, no Invoke', async () => {
        await emu.reset();
        const r = await client.callTool({ name: 'events', arguments: { detail: { orderId: 5, customer: {} }, 'detail-type': 'OrderPlaced', source: 'shop.orders' } });
        const text = resultText(r);
        t.note(text);
        assert.equal(r.isError, true);
        assert.match(text, /\(2 violations\)/);
        assert.deepEqual(text.split('\n').slice(1), ['$.detail.orderId: expected string, got integer', "$.detail.customer: missing required property 'id'"]);
        assert.equal((await counters(emu)).ops.Invoke || 0, 0);
        const ok = await client.callTool({ name: 'events', arguments: { detail: { orderId: 'o-1', customer: { id: 'c' }, coupon: null }, 'detail-type': 'OrderPlaced', source: 'shop.orders' } });
        assert.equal(ok.isError, false, resultText(ok));
        assert.deepEqual((await counters(emu)).invocations, { events: 1 });
    });

    await t.test('tools with the generic schema accept any object', async () => {
        const r = await client.callTool({ name: 'missing', arguments: { anything: [1, 2] } });
        assert.equal(r.isError, false, resultText(r));
        assert.deepEqual(r.structuredContent, { anything: [1, 2] });
    });

    await t.test('DescribeSchema denied (403 ForbiddenException): every tool stays, with the generic schema, and stderr says why', async () => {
        await emu.reset();
        await emu.addFaults([{ operation: 'DescribeSchema', status: 403, code: 'ForbiddenException', message: 'not authorized to perform schemas:DescribeSchema' }]);
        const d = await t.legacyClient({ label: 'describe-denied', emu, env: ENV });
        const dt = byName(await listAll(d.client));
        assert.deepEqual(Object.keys(dt), ALL);
        for (const n of ALL) assert.deepEqual(dt[n].inputSchema, generic, n);
        assert.match(d.session.stderrText(), /warn +schema-registry: function orders: schema arn:aws:schemas:.*\/orders-input: DescribeSchema: ForbiddenException: not authorized to perform schemas:DescribeSchema \(HTTP 403\); the tool keeps the generic schema/);
        await d.session.close();
        await emu.clearFaults();
    });

    await t.test('schemas shared by functions on several pages: one DescribeSchema per (ARN, version) and run, failures too; '
        + 'a refresh fetches the latest version and the missing schema again but not the pinned version', async () => {
        // 130 functions on 3 ListFunctions pages, 25 ms per AWS request so that the pages reach the
        // enricher as separate batches (checked below: otherwise this proves nothing)
        const N = 130;
        const functions = [];
        for (let i = 0; i < N; i++) {
            const tags = i % 10 === 9 ? { [TAG]: schemaArn(REG, 'no-such-schema') }
                : i % 2 ? { [TAG]: schemaArn(REG, 'orders-input'), [VERSION_TAG]: '1' } : { [TAG]: schemaArn(REG, 'orders-input') };
            functions.push({ name: `shared-${String(i).padStart(3, '0')}`, handler: 'echo', tags });
        }
        const pe = await t.emulator({ label: 'emulator-pages', account: account({ latency_ms: 25, functions, schemas: ACCOUNT.schemas }) });
        const conf = `credentials = ( { plugin = "env"; } );
discovery = {
    refresh_interval = "250ms";
    plugins = ( { plugin = "prefix"; prefix = "shared-"; strip = false; },
                { plugin = "schema-registry"; tag_key = "${TAG}"; } );
};
`;
        const p = await t.legacyClient({ label: 'pages', emu: pe, conf, logLevel: 'debug' });
        const pt = byName(await listAll(p.client));
        const first = await counters(pe);
        const log = () => p.session.stderrText().split('\n');
        const batchLines = log().filter((l) => /schema-registry: \d+ distinct schemas? in this batch: \d+ fetched/.test(l));
        t.note(batchLines.join('\n'));
        assert.equal(Object.keys(pt).length, N);
        assert.ok(batchLines.length >= 2, `the pages reached the enricher as ${batchLines.length} batch(es): the test needs at least 2`);
        for (let i = 0; i < N; i++) {
            const want = i % 10 === 9 ? generic : i % 2 ? ORDER_V1 : ORDER_V2;
            assert.deepEqual(pt[`shared_${String(i).padStart(3, '0')}`].inputSchema, want, String(i));
        }
        assert.equal(opsOf(first, 'DescribeSchema').DescribeSchema, 3, 'latest, version 1, the missing schema: once each in the first run');

        // refreshes: wait for two scheduled runs that start after this point and end
        await pe.reset();
        const from = log().length;
        const done = () => log().slice(from).filter((l) => /info +discovery: scheduled discovery: .*no change$/.test(l)).length;
        await until(() => done() >= 2, ms(10000), 'two scheduled discoveries');
        const recent = (await pe.control('GET', '/__emu/stats?recent=1000')).recent.filter((e) => e.operation === 'DescribeSchema');
        const pinned = recent.filter((e) => /(^|&)schemaVersion=/.test(e.query));
        const latest = recent.filter((e) => !e.query && /schemas\/name\/orders-input$/.test(e.path));
        const missing = recent.filter((e) => /schemas\/name\/no-such-schema$/.test(e.path));
        t.note(`after reset: ${done()} scheduled runs done; DescribeSchema latest ${latest.length}, pinned ${pinned.length}, missing ${missing.length}`);
        assert.equal(pinned.length, 0, 'the pinned version was fetched again by a refresh');
        assert.ok(latest.length >= 2, `the latest version is fetched again by every run (${latest.length} for ${done()} runs)`);
        assert.ok(missing.length >= 2, `a failed schema is asked again by every run (${missing.length})`);
        assert.equal(latest.length + pinned.length + missing.length, recent.length);
        assert.ok(latest.length <= done() + 1 && missing.length <= done() + 1, 'more than one DescribeSchema per schema and run');
        // and the tools are unchanged
        const again = byName(await listAll(p.client));
        for (const n of Object.keys(pt)) assert.deepEqual(again[n].inputSchema, pt[n].inputSchema, n);

        // DescribeSchema failing for a passing reason (503 on every attempt): the refresh keeps the
        // previous run's schemas instead of giving those tools the generic schema. The message is
        // long (1,200 bytes of two-byte characters): cut, so that the status still shows
        await pe.addFaults([{ operation: 'DescribeSchema', status: 503, code: 'ServiceUnavailableException', message: 'try later ' + '\u00e9'.repeat(600) }]);
        const from2 = log().length;
        const done2 = () => log().slice(from2).filter((l) => /info +discovery: scheduled discovery: /.test(l));
        await until(() => done2().length >= 2, ms(15000), 'two scheduled discoveries with DescribeSchema failing');
        t.note(done2().join('\n'));
        assert.ok(done2().every((l) => /no change$/.test(l)), 'a refresh changed the tools');
        assert.match(log().slice(from2).join('\n'), /warn +schema-registry: schema arn:aws:schemas:.*\/orders-input: DescribeSchema: ServiceUnavailableException: try later \u00e9{195}\.\.\. \(HTTP 503\); its tools keep the schema of the previous discovery/);
        const kept = byName(await listAll(p.client));
        for (const n of Object.keys(pt)) assert.deepEqual(kept[n].inputSchema, pt[n].inputSchema, n);
        await pe.clearFaults();
        await p.session.close();
    });

    await t.test('2026-07-28 client: the same schemas, and the same refusal (isError, no Invoke)', async () => {
        const m = await t.modernClient({ label: 'modern', emu, env: ENV });
        const mt = byName(await listAll(m.client, { modern: true }));
        assert.deepEqual(names(Object.values(mt)), ALL);
        for (const n of ALL) assert.deepEqual(mt[n].inputSchema, tools[n].inputSchema, n);
        await emu.reset();
        const r = await m.client.callTool({ name: 'orders', arguments: { orderId: 'ORD-1' } });
        assert.equal(r.isError, true);
        assert.match(resultText(r), /\$: missing required property 'quantity'/);
        assert.equal((await counters(emu)).ops.Invoke || 0, 0);
        await m.session.close();
    });
    await t.test('version_tag = "schema-ver": that tag pins version 1, the default tag no longer does; version_tag = "": nothing is pinned', async () => {
        const ve = await t.emulator({
            label: 'emulator-version-tag',
            account: account({
                functions: [
                    { name: 'vt-custom', handler: 'echo', tags: { [TAG]: schemaArn(REG, 'orders-input'), 'schema-ver': '1' } },
                    { name: 'vt-default', handler: 'echo', tags: { [TAG]: schemaArn(REG, 'orders-input'), [VERSION_TAG]: '1' } },
                    { name: 'vt-none', handler: 'echo', tags: { [TAG]: schemaArn(REG, 'orders-input') } },
                ],
                schemas: ACCOUNT.schemas,
            }),
        });
        const vconf = (setting) => `credentials = ( { plugin = "env"; } );
discovery = { plugins = ( { plugin = "prefix"; prefix = "vt-"; }, { plugin = "schema-registry"; tag_key = "${TAG}"; ${setting} } ); };
`;
        for (const [setting, v1] of [
            ['version_tag = "schema-ver";', ['custom']],
            ['version_tag = "";', []],
        ]) {
            await ve.reset();
            const v = await t.legacyClient({ label: `version-tag-${v1.length}`, emu: ve, conf: vconf(setting) });
            const vt = byName(await listAll(v.client));
            assert.deepEqual(Object.keys(vt), ['custom', 'default', 'none']);
            for (const n of ['custom', 'default', 'none']) assert.deepEqual(vt[n].inputSchema, v1.includes(n) ? ORDER_V1 : ORDER_V2, `${setting} ${n}`);
            const recent = (await ve.control('GET', '/__emu/stats?recent=100')).recent.filter((e) => e.operation === 'DescribeSchema');
            assert.deepEqual(recent.map((e) => e.query).sort(), v1.length ? ['', 'schemaVersion=1'] : [''], setting);
            await v.session.close();
        }
    });
}, { timeoutSec: 90 });
