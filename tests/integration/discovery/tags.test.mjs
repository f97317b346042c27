// The tag filter end to end (plugins/discovery/tags.c, the tag sources of core/discovery/pipeline.c):
// FUNCTION_TAG_KEY/FUNCTION_TAG_VALUE and a conf `tags` map, read through the Resource Groups
// Tagging API (one GetResources chain) or ListTags per candidate, as discovery.tags_from says —
// the emulator's counters prove which API was used, and the tool sets must be identical. The
// tagging API denied falls back to ListTags (and says so); a half-configured filter selects
// nothing (and says why); the filter applies after the name selection (prefix/list), as upstream.
import { assert, run } from '../lib/harness.mjs';
import { account, conf, counters, listAll, names, opsOf } from './common.mjs';

const FUNCTIONS = [
    { name: 'mcp-alpha', handler: 'echo', description: 'Alpha', tags: { expose: 'true', team: 'blue' } },
    { name: 'mcp-beta', handler: 'echo', description: 'Beta', tags: { expose: 'true', team: 'red' } },
    { name: 'mcp-gamma', handler: 'echo', description: 'Gamma', tags: { expose: 'false', team: 'blue' } },
    { name: 'mcp-delta', handler: 'echo', description: 'Delta (no tags)' },
    { name: 'ops-one', handler: 'echo', description: 'Ops one', tags: { expose: 'true', team: 'blue' } },
    { name: 'ops-two', handler: 'echo', description: 'Ops two', tags: { team: 'blue' } },
    { name: 'ops-three', handler: 'echo', description: 'Ops three (value differs in case)', tags: { expose: 'TRUE' } },
    { generate: { count: 6, name: 'misc-{i:02d}', handler: 'echo', description: 'Untagged {i}' } },
];
const N_FUNCTIONS = 13;
const TAG_ENV = { FUNCTION_TAG_KEY: 'expose', FUNCTION_TAG_VALUE: 'true' };
const EXPOSED = ['mcp_alpha', 'mcp_beta', 'ops_one'];

run('discovery-tags', async (t) => {
    const emu = await t.emulator({ account: account({ functions: FUNCTIONS }) });

    /* one server through the legacy client: its tools and the AWS calls its discovery made */
    async function discover(label, { env = {}, confText, modern = false, before } = {}) {
        await emu.reset();
        if (before) await before();
        const s = modern
            ? await t.modernClient({ label, emu, env, conf: confText })
            : await t.legacyClient({ label, emu, env, conf: confText });
        const tools = await listAll(s.client, { modern });
        const c = await counters(emu);
        const stderr = s.session.stderrText();
        await s.session.close();
        t.note(`${label}: ${JSON.stringify(names(tools))}; ${JSON.stringify(opsOf(c, 'ListFunctions', 'GetFunction', 'GetResources', 'ListTags'))}`);
        return { tools, c, stderr };
    }

    let reference;
    await t.test('FUNCTION_TAG_KEY/VALUE, built-in conf (tags_from auto): the tagged functions; one GetResources call, no ListTags', async () => {
        const r = await discover('env-auto', { env: TAG_ENV });
        assert.deepEqual(names(r.tools), EXPOSED);
        assert.deepEqual(opsOf(r.c, 'ListFunctions', 'GetResources', 'ListTags'), { ListFunctions: 1, GetResources: 1, ListTags: 0 });
        assert.equal(r.c.errors.GetResources || 0, 0);
        assert.equal(r.tools[0].description, 'Alpha');
        reference = r.tools;
    });

    await t.test('tags_from = "tagging-api": the same tools (identical objects); one GetResources call, no ListTags', async () => {
        const r = await discover('tagging-api', { env: TAG_ENV, confText: conf({ discovery: 'tags_from = "tagging-api";' }) });
        assert.deepEqual(r.tools, reference);
        assert.deepEqual(opsOf(r.c, 'ListFunctions', 'GetResources', 'ListTags'), { ListFunctions: 1, GetResources: 1, ListTags: 0 });
    });

    await t.test(`tags_from = "list-tags": the same tools; ListTags once per candidate (${N_FUNCTIONS}), no GetResources`, async () => {
        const r = await discover('list-tags', { env: TAG_ENV, confText: conf({ discovery: 'tags_from = "list-tags";' }) });
        assert.deepEqual(r.tools, reference);
        assert.deepEqual(opsOf(r.c, 'ListFunctions', 'GetResources', 'ListTags'), { ListFunctions: 1, GetResources: 0, ListTags: N_FUNCTIONS });
        const recent = (await emu.recent()).filter((x) => x.operation === 'ListTags');
        assert.equal(new Set(recent.map((x) => x.function)).size, N_FUNCTIONS, 'one ListTags per function, none twice');
    });

    await t.test('tags_from = "auto" in a conf, through the 2026-07-28 client: the same tools', async () => {
        const r = await discover('auto-modern', { env: TAG_ENV, confText: conf({ discovery: 'tags_from = "auto";' }), modern: true });
        assert.deepEqual(r.tools, reference);
        // the client's version probe may start a short-lived sibling server, which discovers too:
        // one GetResources call per discovery, never a ListTags
        const o = opsOf(r.c, 'ListFunctions', 'GetResources', 'ListTags');
        assert.ok(o.ListFunctions >= 1);
        assert.deepEqual(o, { ListFunctions: o.ListFunctions, GetResources: o.ListFunctions, ListTags: 0 });
    });

    await t.test('the tagging API denied (AccessDeniedException): the same tools through ListTags, and stderr says so', async () => {
        const r = await discover('denied', { env: TAG_ENV, before: () => emu.control('POST', '/__emu/tagging', { deny: true }) });
        assert.deepEqual(r.tools, reference);
        assert.deepEqual(opsOf(r.c, 'ListFunctions', 'GetResources', 'ListTags'), { ListFunctions: 1, GetResources: 1, ListTags: N_FUNCTIONS });
        assert.equal(r.c.errors.GetResources, 1, 'the denied GetResources');
        assert.match(r.stderr, /warn +discovery: tagging API GetResources: AccessDeniedException: .*not authorized.*\(HTTP 400\); falling back to ListTags per function/);
        assert.match(r.stderr, /warn +discovery: reading tags with ListTags, one call per function \(the tagging API is not permitted\)/);
        assert.equal(r.stderr.match(/reading tags with ListTags/g).length, 1, 'the fallback is logged once per run');
    });

    await t.test('ListTags answers 404 for one function (deleted since the listing): that one is skipped, the others are '
        + 'tools (the whole discovery failed before)', async () => {
        const r = await discover('listtags-404', {
            confText: conf({ discovery: 'tags_from = "list-tags";', plugins: ['{ plugin = "tags"; key = "expose"; value = "true"; }'] }),
            before: () => emu.addFaults([{ operation: 'ListTags', function: 'mcp-beta', status: 404, code: 'ResourceNotFoundException', message: 'Function not found' }]),
        });
        assert.deepEqual(names(r.tools), EXPOSED.filter((n) => n !== 'mcp_beta'));
        assert.match(r.stderr, /info +discovery: function mcp-beta no longer exists \(ListTags: .*\): skipped/);
        assert.doesNotMatch(r.stderr, /discovery failed/);
    });

    await t.test('ListTags refused (AccessDeniedException) for one function and the tagging API denied, env only: that one '
        + 'is skipped with a warning, the others are tools (upstream skips a function whose ListTags fails; the whole '
        + 'discovery failed before)', async () => {
        const r = await discover('listtags-denied-one', {
            env: TAG_ENV,
            before: async () => {
                await emu.control('POST', '/__emu/tagging', { deny: true });
                await emu.addFaults([{ operation: 'ListTags', function: 'mcp-beta', status: 403, code: 'AccessDeniedException', message: 'not authorized to perform: lambda:ListTags' }]);
            },
        });
        assert.deepEqual(names(r.tools), EXPOSED.filter((n) => n !== 'mcp_beta'));
        assert.deepEqual(r.tools, reference.filter((x) => x.name !== 'mcp_beta'));
        assert.match(r.stderr, /warn +discovery: ListTags is not permitted for 1 function \(mcp-beta\): its tags are unknown, as if it had none/);
        assert.doesNotMatch(r.stderr, /discovery failed/);
    });

    await t.test('ListTags refused for every function and the tagging API denied: the discovery fails, saying why (no tags '
        + 'could be read at all)', async () => {
        const r = await discover('listtags-denied-all', {
            env: TAG_ENV,
            before: () => emu.control('POST', '/__emu/tagging', { deny: true, list_tags_deny: true }),
        });
        assert.deepEqual(r.tools, []);
        assert.match(r.stderr, /discovery failed.*cannot read function tags to apply the tag filter/);
    });

    await t.test('a listing whose marker repeats would never end: ListFunctions fails the discovery at once (2 pages), '
        + 'GetResources falls back to ListTags', async () => {
        const lf = await discover('marker-loop', {
            env: TAG_ENV,
            before: () => emu.addFaults([{ operation: 'ListFunctions', status: 200, body: '{"Functions":[],"NextMarker":"again"}' }]),
        });
        assert.deepEqual(lf.tools, []);
        assert.equal(opsOf(lf.c, 'ListFunctions').ListFunctions, 2, 'the second page repeated the marker: no third');
        assert.match(lf.stderr, /discovery failed.*ListFunctions page 2: the service sent the marker of an earlier page again/);
        const gr = await discover('token-loop', {
            env: TAG_ENV,
            before: () => emu.addFaults([{ operation: 'GetResources', status: 200, body: '{"ResourceTagMappingList":[],"PaginationToken":"again"}' }]),
        });
        assert.deepEqual(gr.tools, reference);
        assert.equal(opsOf(gr.c, 'GetResources').GetResources, 2);
        assert.match(gr.stderr, /warn +discovery: tagging API GetResources: the service sent the marker of an earlier page again/);
    });

    const MULTI = ['mcp_alpha', 'ops_one'];
    for (const from of ['tagging-api', 'list-tags']) {
        await t.test(`a conf tags map with two pairs (expose = "true", team = "blue"), tags_from ${from}: only functions carrying both`, async () => {
            const r = await discover(`map-${from}`, {
                confText: conf({ discovery: `tags_from = "${from}";`, plugins: ['{ plugin = "tags"; tags = { expose = "true"; team = "blue"; }; }'] }),
            });
            assert.deepEqual(names(r.tools), MULTI);
            assert.deepEqual(r.tools, reference.filter((x) => MULTI.includes(x.name)));
            assert.equal(opsOf(r.c, from === 'list-tags' ? 'ListTags' : 'GetResources')[from === 'list-tags' ? 'ListTags' : 'GetResources'], from === 'list-tags' ? N_FUNCTIONS : 1);
        });
    }

    await t.test('key/value and a tags map together: every pair must match (team = blue AND expose = true AND mcp-* name)', async () => {
        const r = await discover('key-value-map', {
            env: { FUNCTION_PREFIX: 'mcp-' },
            confText: conf({ plugins: ['{ plugin = "prefix"; }', '{ plugin = "tags"; key = "team"; value = "blue"; tags = { expose = "true"; }; }'] }),
        });
        assert.deepEqual(names(r.tools), ['alpha']);
    });

    for (const [what, env, origins] of [
        ['only FUNCTION_TAG_KEY', { FUNCTION_TAG_KEY: 'expose' }, /the tag key is set \(env FUNCTION_TAG_KEY\) but the tag value is not/],
        ['only FUNCTION_TAG_VALUE', { FUNCTION_TAG_VALUE: 'true' }, /the tag value is set \(env FUNCTION_TAG_VALUE\) but the tag key is not/],
    ]) {
        await t.test(`${what} set: no tools (upstream rule), a warning saying both must be set, and no tag reads`, async () => {
            const r = await discover(what.replace(/ /g, '-'), { env });
            assert.deepEqual(r.tools, []);
            assert.match(r.stderr, /warn +tags: .*both FUNCTION_TAG_KEY and FUNCTION_TAG_VALUE \(or `key` and `value`\) must be set to filter by tag, so no function will be selected/);
            assert.match(r.stderr, origins);
            assert.deepEqual(opsOf(r.c, 'GetResources', 'ListTags'), { GetResources: 0, ListTags: 0 });
        });
    }

    await t.test('FUNCTION_PREFIX + tag (list-tags): the intersection; only the 4 name-selected candidates have their tags read', async () => {
        const r = await discover('prefix-and-tag', { env: { ...TAG_ENV, FUNCTION_PREFIX: 'mcp-' }, confText: conf({ discovery: 'tags_from = "list-tags";' }) });
        assert.deepEqual(names(r.tools), ['alpha', 'beta']);
        assert.deepEqual(opsOf(r.c, 'ListFunctions', 'ListTags', 'GetResources'), { ListFunctions: 1, ListTags: 4, GetResources: 0 });
        const read = (await emu.recent()).filter((x) => x.operation === 'ListTags').map((x) => x.function).sort();
        assert.deepEqual(read, ['mcp-alpha', 'mcp-beta', 'mcp-delta', 'mcp-gamma']);
    });

    await t.test('FUNCTION_PREFIX + tag (built-in conf, auto): the same intersection through one GetResources call', async () => {
        const r = await discover('prefix-and-tag-auto', { env: { ...TAG_ENV, FUNCTION_PREFIX: 'mcp-' } });
        assert.deepEqual(names(r.tools), ['alpha', 'beta']);
        assert.deepEqual(opsOf(r.c, 'ListTags', 'GetResources'), { ListTags: 0, GetResources: 1 });
    });

    await t.test('FUNCTION_LIST + tag: the listed functions that carry the tag; their tags come with GetFunction (no listing, no tag API calls)', async () => {
        const r = await discover('list-and-tag', { env: { ...TAG_ENV, FUNCTION_LIST: 'ops-one,mcp-gamma,ops-three,misc-01' } });
        assert.deepEqual(names(r.tools), ['ops_one']);
        assert.deepEqual(opsOf(r.c, 'ListFunctions', 'GetFunction', 'ListTags', 'GetResources'), { ListFunctions: 0, GetFunction: 4, ListTags: 0, GetResources: 0 });
    });

    await t.test('FUNCTION_PREFIX and FUNCTION_LIST + tag: the union of the selections, then the tag filter', async () => {
        const r = await discover('union-and-tag', { env: { ...TAG_ENV, FUNCTION_PREFIX: 'mcp-', FUNCTION_LIST: 'ops-one,ops-two' } });
        assert.deepEqual(names(r.tools), ['alpha', 'beta', 'ops_one']);
    });
}, { timeoutSec: 60 });
