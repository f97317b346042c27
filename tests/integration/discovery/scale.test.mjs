// Discovery at scale: an account of 230 tagged functions. ListFunctions is followed through its
// NextMarker chain (50 a page: 5 calls) and the Resource Groups Tagging API through its
// PaginationToken chain (100 a page: 3 calls), both proven by the emulator's counters and by the
// result: the exposed functions of the last pages of both chains are tools. ListTags gives the
// same tools with one call per function.
import { assert, run } from '../lib/harness.mjs';
import { account, conf, counters, listAll, names, opsOf } from './common.mjs';

const N = 230;
const pad = (i) => String(i).padStart(3, '0');
// every function is tagged (so every one is in the GetResources chain); two in three are exposed
const exposed = (i) => i % 3 !== 0;
const FUNCTIONS = Array.from({ length: N }, (_, k) => {
    const i = k + 1;
    return { name: `fn-${pad(i)}`, handler: 'echo', description: `Function ${i}`, tags: { team: i % 2 ? 'odd' : 'even', ...(exposed(i) ? { expose: 'true' } : {}) } };
});
const EXPECTED = FUNCTIONS.map((f, k) => (exposed(k + 1) ? f.name.replace(/-/g, '_') : null)).filter(Boolean);
const TAG_ENV = { FUNCTION_TAG_KEY: 'expose', FUNCTION_TAG_VALUE: 'true' };

run('discovery-scale', async (t) => {
    const emu = await t.emulator({ account: account({ functions: FUNCTIONS }) });
    let reference;

    await t.test(`tagging API: ${EXPECTED.length} of ${N} tools; 5 ListFunctions pages (NextMarker) and 3 GetResources pages (PaginationToken)`, async () => {
        await emu.reset();
        const s = await t.legacyClient({ label: 'tagging-api', emu, env: TAG_ENV });
        const tools = await listAll(s.client);
        const c = await counters(emu);
        t.note(`${tools.length} tools; ${JSON.stringify(opsOf(c, 'ListFunctions', 'GetResources', 'ListTags'))}`);
        assert.deepEqual(opsOf(c, 'ListFunctions', 'GetResources', 'ListTags'), { ListFunctions: 5, GetResources: 3, ListTags: 0 });
        assert.deepEqual(c.errors, {});
        assert.deepEqual(names(tools), EXPECTED);
        // fn-229 and fn-230 are only on the last page of each chain
        assert.ok(names(tools).includes('fn_229') && names(tools).includes('fn_230'));
        assert.match(s.session.stderrText(), /debug discovery: tag index: 230 tagged functions in 3 page\(s\)/);
        assert.match(s.session.stderrText(), /initial discovery: 154 tools from 230 listed functions \(5 pages\)/);
        reference = tools;
        const r = await s.client.callTool({ name: 'fn_230', arguments: { last: true } });
        assert.deepEqual(r.structuredContent, { last: true });
        await s.session.close();
    });

    await t.test(`tools/list pages (page_size 100): 2 pages through the legacy client, and the 2026-07-28 client aggregates all ${EXPECTED.length}`, async () => {
        const m = await t.modernClient({ label: 'modern', emu, env: TAG_ENV });
        const all = await m.client.listTools(undefined, { cacheMode: 'bypass' });
        assert.deepEqual(all.tools, reference);
        const first = await m.client.request({ method: 'tools/list', params: {} });
        assert.equal(first.tools.length, 100);
        assert.ok(first.nextCursor);
        await m.session.close();
    });

    await t.test(`ListTags per function: the same ${EXPECTED.length} tools with ${N} ListTags calls and no GetResources`, async () => {
        await emu.reset();
        const s = await t.legacyClient({ label: 'list-tags', emu, env: TAG_ENV, conf: conf({ discovery: 'tags_from = "list-tags"; concurrency = 8;' }) });
        const tools = await listAll(s.client);
        const c = await counters(emu);
        t.note(`${JSON.stringify(opsOf(c, 'ListFunctions', 'GetResources', 'ListTags'))}`);
        assert.deepEqual(opsOf(c, 'ListFunctions', 'GetResources', 'ListTags'), { ListFunctions: 5, GetResources: 0, ListTags: N });
        assert.deepEqual(tools, reference);
        await s.session.close();
    });

    await t.test('the tagging API denied at scale: the same tools through ListTags (one per function)', async () => {
        await emu.reset();
        await emu.control('POST', '/__emu/tagging', { deny: true });
        const s = await t.legacyClient({ label: 'denied', emu, env: TAG_ENV });
        const tools = await listAll(s.client);
        const c = await counters(emu);
        assert.deepEqual(opsOf(c, 'ListFunctions', 'GetResources', 'ListTags'), { ListFunctions: 5, GetResources: 1, ListTags: N });
        assert.deepEqual(tools, reference);
        await s.session.close();
    });
}, { timeoutSec: 60 });
