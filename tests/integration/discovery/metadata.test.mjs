// Tool metadata from function tags (plugins/discovery/tags.c, beyond upstream): a title, a
// description override, the MCP annotations (readOnlyHint, destructiveHint, idempotentHint,
// openWorldHint) and a qualifier — an alias or a version the call goes to (the emulator logs the
// Qualifier of every Invoke, and the handler reports the version that ran, which is what the
// emulator sends back as X-Amz-Executed-Version). The `metadata` setting: auto (only when tags are
// read anyway), always (read tags for it), off; and the tag keys are configurable.
import { assert, run } from '../lib/harness.mjs';
import { account, byName, conf, counters, listAll, names, opsOf } from './common.mjs';

const FULL_TAGS = {
    expose: 'true',
    'lambda-mcp:title': 'Order Lookup',
    'lambda-mcp:description': 'Looks up an order (description from a tag)',
    'lambda-mcp:read-only': 'true',
    'lambda-mcp:destructive': 'false',
    'lambda-mcp:idempotent': 'true',
    'lambda-mcp:open-world': 'false',
    'lambda-mcp:qualifier': 'live',
    'display-name': 'Title from a custom key',
};
const FUNCTIONS = [
    { name: 'meta-full', handler: 'context_info', description: 'Plain description', versions: ['1', '2'], aliases: { live: '2' }, tags: FULL_TAGS },
    { name: 'meta-version', handler: 'context_info', description: 'Pinned', versions: ['1', '2'], tags: { expose: 'true', 'lambda-mcp:title': 'Pinned to version 1', 'lambda-mcp:qualifier': '1' } },
    { name: 'meta-bad', handler: 'echo', description: 'Bad hints', tags: { expose: 'true', 'lambda-mcp:read-only': 'maybe', 'lambda-mcp:destructive': 'yes' } },
    { name: 'meta-none', handler: 'echo', description: 'No metadata', tags: { expose: 'true' } },
    { name: 'meta-hidden', handler: 'echo', description: 'Not exposed' },
];
const FULL_ANNOTATIONS = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };

run('discovery-metadata', async (t) => {
    const emu = await t.emulator({ account: account({ functions: FUNCTIONS }) });
    const filterConf = (tagsPlugin) => conf({ plugins: ['{ plugin = "prefix"; }', tagsPlugin] });

    const legacy = await t.legacyClient({ label: 'tag-filter', emu, env: { FUNCTION_PREFIX: 'meta-', FUNCTION_TAG_KEY: 'expose', FUNCTION_TAG_VALUE: 'true' }, conf: filterConf('{ plugin = "tags"; }') });
    const tools = byName(await listAll(legacy.client));

    await t.test('metadata = auto with a tag filter: title, description, the four annotations from tags', () => {
        assert.deepEqual(Object.keys(tools), ['bad', 'full', 'none', 'version']);
        const f = tools.full;
        assert.equal(f.title, 'Order Lookup');
        assert.equal(f.description, 'Looks up an order (description from a tag)');
        assert.deepEqual(f.annotations, FULL_ANNOTATIONS);
        assert.equal(tools.version.title, 'Pinned to version 1');
        assert.equal(tools.version.description, 'Pinned');
        assert.equal(tools.none.title, undefined);
        assert.equal(tools.none.annotations, undefined);
        assert.equal(tools.none.description, 'No metadata');
    });

    await t.test('a hint tag that is not true/false is ignored with a warning; "yes" counts as true', () => {
        assert.deepEqual(tools.bad.annotations, { destructiveHint: true });
        assert.match(legacy.session.stderrText(), /warn +tags: function meta-bad: tag lambda-mcp:read-only=maybe is not true or false: ignored/);
    });

    await t.test('the qualifier tag: the call goes to alias live (version 2); the emulator logs Qualifier=live', async () => {
        await emu.reset();
        const r = await legacy.client.callTool({ name: 'full', arguments: { order: 42 } });
        assert.equal(r.isError, false, JSON.stringify(r));
        const out = r.structuredContent;
        assert.equal(out.function_name, 'meta-full');
        assert.equal(out.function_version, '2', 'the executed version');
        assert.equal(out.invoked_function_arn, 'arn:aws:lambda:us-east-1:123456789012:function:meta-full:live');
        assert.deepEqual(out.event, { order: 42 });
        const inv = (await emu.recent()).filter((x) => x.operation === 'Invoke');
        assert.equal(inv.length, 1);
        assert.equal(inv[0].qualifier, 'live');
        assert.equal(inv[0].status, 200);
        assert.deepEqual((await counters(emu)).byQualifier, { 'meta-full:live': 1 });
    });

    await t.test('the qualifier tag naming a version: the call runs version 1', async () => {
        await emu.reset();
        const r = await legacy.client.callTool({ name: 'version', arguments: {} });
        assert.equal(r.isError, false, JSON.stringify(r));
        assert.equal(r.structuredContent.function_version, '1');
        assert.match(r.structuredContent.invoked_function_arn, /:function:meta-version:1$/);
        assert.deepEqual((await counters(emu)).byQualifier, { 'meta-version:1': 1 });
    });

    await t.test('a tool without a qualifier tag calls $LATEST (no Qualifier sent)', async () => {
        await emu.reset();
        const r = await legacy.client.callTool({ name: 'none', arguments: { x: 1 } });
        assert.equal(r.isError, false);
        const inv = (await emu.recent()).filter((x) => x.operation === 'Invoke');
        assert.equal(inv[0].qualifier, null);
        assert.deepEqual((await counters(emu)).byQualifier, { 'meta-none:$LATEST': 1 });
    });
    await legacy.session.close();

    await t.test('2026-07-28 client: the same tool objects (title, annotations, description)', async () => {
        const m = await t.modernClient({ label: 'modern', emu, env: { FUNCTION_PREFIX: 'meta-', FUNCTION_TAG_KEY: 'expose', FUNCTION_TAG_VALUE: 'true' }, conf: filterConf('{ plugin = "tags"; }') });
        assert.deepEqual(byName(await listAll(m.client, { modern: true })), tools);
        const r = await m.client.callTool({ name: 'full', arguments: {} });
        assert.equal(r.structuredContent.function_version, '2');
        await m.session.close();
    });

    await t.test('metadata = off: the filter still applies, but no title, annotations, description or qualifier', async () => {
        const s = await t.legacyClient({ label: 'off', emu, env: { FUNCTION_PREFIX: 'meta-', FUNCTION_TAG_KEY: 'expose', FUNCTION_TAG_VALUE: 'true' }, conf: filterConf('{ plugin = "tags"; metadata = "off"; }') });
        const tl = byName(await listAll(s.client));
        assert.deepEqual(Object.keys(tl), ['bad', 'full', 'none', 'version']);
        for (const x of Object.values(tl)) {
            assert.equal(x.title, undefined, x.name);
            assert.equal(x.annotations, undefined, x.name);
        }
        assert.equal(tl.full.description, 'Plain description');
        await emu.reset();
        const r = await s.client.callTool({ name: 'full', arguments: {} });
        assert.equal(r.structuredContent.function_version, '$LATEST');
        assert.deepEqual((await counters(emu)).byQualifier, { 'meta-full:$LATEST': 1 });
        await s.session.close();
    });

    await t.test('metadata = auto and nothing else reads tags: no metadata, and no tag API call at all', async () => {
        await emu.reset();
        const s = await t.legacyClient({ label: 'auto-no-tags', emu, env: { FUNCTION_PREFIX: 'meta-' }, conf: filterConf('{ plugin = "tags"; }') });
        const tl = byName(await listAll(s.client));
        assert.deepEqual(Object.keys(tl), ['bad', 'full', 'hidden', 'none', 'version']);
        assert.equal(tl.full.title, undefined);
        assert.equal(tl.full.annotations, undefined);
        assert.deepEqual(opsOf(await counters(emu), 'GetResources', 'ListTags'), { GetResources: 0, ListTags: 0 });
        await s.session.close();
    });

    await t.test('metadata = always without a filter: tags are read for it (one GetResources), metadata applied', async () => {
        await emu.reset();
        const s = await t.legacyClient({ label: 'always', emu, env: { FUNCTION_PREFIX: 'meta-' }, conf: filterConf('{ plugin = "tags"; metadata = "always"; }') });
        const tl = byName(await listAll(s.client));
        assert.deepEqual(names(Object.values(tl)), ['bad', 'full', 'hidden', 'none', 'version']);
        assert.equal(tl.full.title, 'Order Lookup');
        assert.deepEqual(tl.full.annotations, FULL_ANNOTATIONS);
        assert.equal(tl.hidden.title, undefined);
        assert.deepEqual(opsOf(await counters(emu), 'GetResources', 'ListTags'), { GetResources: 1, ListTags: 0 });
        await s.session.close();
    });

    await t.test('configurable tag keys: title_tag = "display-name", read_only_tag = "" (disabled)', async () => {
        const s = await t.legacyClient({
            label: 'custom-keys',
            emu,
            env: { FUNCTION_PREFIX: 'meta-' },
            conf: filterConf('{ plugin = "tags"; metadata = "always"; title_tag = "display-name"; read_only_tag = ""; }'),
        });
        const tl = byName(await listAll(s.client));
        assert.equal(tl.full.title, 'Title from a custom key');
        assert.deepEqual(tl.full.annotations, { destructiveHint: false, idempotentHint: true, openWorldHint: false });
        assert.equal(tl.version.title, undefined, 'lambda-mcp:title is not the title tag any more');
        await s.session.close();
    });
}, { timeoutSec: 60 });
