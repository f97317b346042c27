// Pagination end to end: an account of 130 functions (tests/emulator/accounts/big.json) is listed
// through ListFunctions' NextMarker (the emulator pages by 50), and served back through tools/list
// cursors (page_size 50) to the legacy and the 2026-07-28 clients. Then the upstream selection
// variables: FUNCTION_PREFIX (stripped from tool names) and FUNCTION_LIST, with union semantics.
import { BASE_CONF, assert, run } from './lib/harness.mjs';

const N = 130;
const pad = (i) => String(i).padStart(3, '0');
const ALL = Array.from({ length: N }, (_, i) => `fn_${pad(i + 1)}`);

/* every page of tools/list through a client: [[names of page 1], [page 2], ...] */
async function pagesOf(list) {
    const pages = [];
    let cursor;
    do {
        const page = await list(cursor);
        pages.push(page.tools);
        cursor = page.nextCursor;
        if (pages.length > 50) throw new Error('nextCursor never ends');
    } while (cursor);
    return pages;
}

function checkAll(pages, expected) {
    const names = pages.flat().map((x) => x.name);
    assert.equal(new Set(names).size, names.length, `duplicates: ${names.filter((n, i) => names.indexOf(n) !== i)}`);
    assert.deepEqual(names, [...names].sort(), 'not sorted');
    assert.deepEqual(names, expected);
}

run('pagination', async (t) => {
    const emu = await t.emulator({ account: 'big.json' });
    const conf = BASE_CONF + 'server = { page_size = 50; };\n';

    const before = await emu.stats();
    const legacy = await t.legacyClient({ label: 'legacy-130', emu, conf });
    await legacy.client.listTools(); /* answered once the first discovery has finished */

    await t.test('discovery listed all 130 functions with 3 ListFunctions calls (NextMarker followed, 50 per page)', async () => {
        const s = await emu.stats();
        const calls = (s.operations.ListFunctions || 0) - (before.operations.ListFunctions || 0);
        t.note(`emulator: ${s.requests} AWS requests, ListFunctions x${calls}, operations ${JSON.stringify(s.operations)}`);
        assert.equal(calls, 3);
        assert.equal(s.operation_errors.ListFunctions || 0, 0, 'ListFunctions errors');
        const recent = (await emu.recent()).filter((r) => r.operation === 'ListFunctions');
        assert.equal(recent.length, 3);
        for (const r of recent) assert.equal(r.status, 200);
        const logs = legacy.session.stderrText();
        const m = /discovery: (\d+) tools? from (\d+) listed functions? \((\d+) pages?\)/.exec(logs);
        if (m) t.note(`server: ${m[0]}`);
    });

    await t.test('legacy client: tools/list in 3 pages of 50 + 50 + 30, all 130 names, sorted, no duplicates', async () => {
        const pages = await pagesOf((cursor) => legacy.client.listTools(cursor ? { cursor } : {}));
        t.note(`legacy client pages: ${pages.map((p) => p.length).join(' + ')} = ${pages.flat().length} tools`);
        assert.deepEqual(
            pages.map((p) => p.length),
            [50, 50, 30],
        );
        checkAll(pages, ALL);
        const d = pages.flat().find((x) => x.name === 'fn_077');
        assert.equal(d.description, 'Generated function number 77');
    });

    await t.test('legacy client: a tool from the last page can be called', async () => {
        const r = await legacy.client.callTool({ name: 'fn_130', arguments: { page: 3 } });
        assert.equal(r.isError, false);
        assert.deepEqual(r.structuredContent, { page: 3 });
    });

    const modern = await t.modernClient({ label: 'modern-130', emu, conf });
    await t.test('2026-07-28 client: 3 pages of 50 + 50 + 30, all 130 names, sorted, no duplicates; listTools() aggregates 130', async () => {
        assert.equal(modern.client.getProtocolEra(), 'modern');
        const pages = await pagesOf((cursor) =>
            cursor ? modern.client.listTools({ cursor }) : modern.client.request({ method: 'tools/list', params: {} }),
        );
        t.note(`2026-07-28 client pages: ${pages.map((p) => p.length).join(' + ')} = ${pages.flat().length} tools`);
        assert.deepEqual(
            pages.map((p) => p.length),
            [50, 50, 30],
        );
        checkAll(pages, ALL);
        const all = await modern.client.listTools(undefined, { cacheMode: 'bypass' });
        assert.equal(all.tools.length, N);
        assert.deepEqual(
            all.tools.map((x) => x.name),
            ALL,
        );
    });

    // ---- FUNCTION_PREFIX / FUNCTION_LIST (the built-in default conf, like the upstream server)
    await emu.putFunctions([
        { name: 'mcp-alpha', handler: 'echo', description: 'alpha (prefixed)' },
        { name: 'mcp-beta', handler: 'greet', description: 'beta (prefixed)' },
        { name: 'tools-gamma', handler: 'echo', description: 'gamma (listed)' },
    ]);
    const total = N + 3;

    const cases = [
        { what: 'FUNCTION_PREFIX=mcp- selects the prefixed functions, the prefix stripped from tool names', env: { FUNCTION_PREFIX: 'mcp-' }, expect: ['alpha', 'beta'] },
        { what: 'FUNCTION_LIST=fn-007,tools-gamma selects exactly the named functions', env: { FUNCTION_LIST: 'fn-007,tools-gamma' }, expect: ['fn_007', 'tools_gamma'] },
        {
            what: 'FUNCTION_PREFIX and FUNCTION_LIST together: the union (a listed function with the prefix appears once)',
            env: { FUNCTION_PREFIX: 'mcp-', FUNCTION_LIST: 'fn-007, tools-gamma,mcp-alpha' },
            expect: ['alpha', 'beta', 'fn_007', 'tools_gamma'],
        },
        { what: 'FUNCTION_PREFIX and FUNCTION_LIST both empty: every function', env: { FUNCTION_PREFIX: '', FUNCTION_LIST: '' }, expect: null },
        { what: 'FUNCTION_PREFIX that matches nothing: no tools (not all of them)', env: { FUNCTION_PREFIX: 'zzz-' }, expect: [] },
    ];
    for (const c of cases) {
        await t.test(c.what, async () => {
            const s = await t.legacyClient({ label: `select-${Object.entries(c.env).map(([k, v]) => `${k}=${v}`).join(',') || 'none'}`, emu, env: c.env });
            const pages = await pagesOf((cursor) => s.client.listTools(cursor ? { cursor } : {}));
            const names = pages.flat().map((x) => x.name);
            t.note(`${JSON.stringify(c.env)}: ${names.length} tools${names.length <= 8 ? ' ' + JSON.stringify(names) : ''}`);
            if (c.expect === null) {
                assert.equal(names.length, total);
                assert.deepEqual(names, [...names].sort());
                assert.equal(new Set(names).size, names.length);
            } else {
                assert.deepEqual(names, c.expect);
            }
            if (names.includes('alpha')) {
                // the stripped name still invokes the real function (mcp-alpha, an echo)
                const r = await s.client.callTool({ name: 'alpha', arguments: { via: 'alpha' } });
                assert.equal(r.isError, false, JSON.stringify(r));
                assert.deepEqual(r.structuredContent, { via: 'alpha' });
            }
            await s.session.close();
        });
    }
}, { timeoutSec: 90 });
