// FUNCTION_LIST without listing the account (plugins/discovery/list.c, run_fetch in
// core/discovery/pipeline.c): one GetFunction per name, in parallel, and no ListFunctions at all;
// a name that does not exist is skipped with a warning; when GetFunction is not permitted (a role
// made for the upstream server, which only needs ListFunctions) the account is listed once per
// run instead and the same tools come out (only for AccessDeniedException: a 403 for bad
// credentials is an error like any other); the refusal is remembered, so later runs do not ask
// again and share the listing a prefix or tag selector makes. Tags that GetFunction does not
// send (TagsError: no lambda:ListTags) are read from the tagging API. discovery.list_tags_threshold
// (tags_from auto) picks ListTags or the tagging API for candidates that came without tags.
import { assert, ms, run, until } from '../lib/harness.mjs';
import { account, conf, counters, fnArn, listAll, names, opsOf } from './common.mjs';

const FUNCTIONS = [
    { name: 'svc-a', handler: 'echo', description: 'Service A', tags: { expose: 'true' } },
    { name: 'svc-b', handler: 'echo', description: 'Service B', tags: { team: 'blue' } },
    { name: 'svc-c', handler: 'greet', description: 'Service C', versions: ['1'], aliases: { live: '1' } },
    // 55 more: listing the account takes two ListFunctions pages
    { generate: { count: 55, name: 'bulk-{i:02d}', handler: 'echo', description: 'Bulk {i}' } },
];
const DENY_GETFUNCTION = { operation: 'GetFunction', status: 403, code: 'AccessDeniedException', message: 'User: arn:aws:iam::123456789012:user/mcp is not authorized to perform: lambda:GetFunction' };

run('discovery-list', async (t) => {
    const emu = await t.emulator({ account: account({ functions: FUNCTIONS }) });

    async function discover(label, env, { faults, confText } = {}) {
        await emu.reset();
        if (faults) await emu.addFaults(faults);
        const s = await t.legacyClient({ label, emu, env, conf: confText });
        const tools = await listAll(s.client);
        const c = await counters(emu);
        const recent = await emu.recent();
        t.note(`${label}: ${JSON.stringify(names(tools))}; ${JSON.stringify(opsOf(c, 'ListFunctions', 'GetFunction', 'GetResources', 'ListTags'))}`);
        return { s, tools, c, recent, stderr: () => s.session.stderrText() };
    }

    await t.test('FUNCTION_LIST=svc-a,svc-b: one GetFunction per name, zero ListFunctions; the tools carry the configurations', async () => {
        const r = await discover('list', { FUNCTION_LIST: 'svc-a,svc-b' });
        assert.deepEqual(names(r.tools), ['svc_a', 'svc_b']);
        assert.deepEqual(r.tools.map((x) => x.description), ['Service A', 'Service B']);
        assert.deepEqual(opsOf(r.c, 'ListFunctions', 'GetFunction', 'GetResources', 'ListTags'), { ListFunctions: 0, GetFunction: 2, GetResources: 0, ListTags: 0 });
        assert.deepEqual(r.recent.filter((x) => x.operation === 'GetFunction').map((x) => x.function).sort(), ['svc-a', 'svc-b']);
        const call = await r.s.client.callTool({ name: 'svc_b', arguments: { hello: 'b' } });
        assert.equal(call.isError, false);
        assert.deepEqual(call.structuredContent, { hello: 'b' });
        await r.s.session.close();
    });

    await t.test('a name that does not exist is skipped with a warning; the others are served', async () => {
        const r = await discover('missing-name', { FUNCTION_LIST: 'svc-a, no-such-function' });
        assert.deepEqual(names(r.tools), ['svc_a']);
        assert.deepEqual(opsOf(r.c, 'ListFunctions', 'GetFunction'), { ListFunctions: 0, GetFunction: 2 });
        assert.equal(r.c.errors.GetFunction, 1, 'the 404');
        assert.match(r.stderr(), /warn +list: function 'no-such-function' is in the list but does not exist: skipped/);
        assert.doesNotMatch(r.stderr(), /discovery failed/);
        await r.s.session.close();
    });

    await t.test('GetFunction without the tags (a caller not allowed lambda:ListTags gets a TagsError): the tags come from '
        + 'the tagging API, so the tag filter still selects', async () => {
        await emu.reset();
        await emu.control('POST', '/__emu/tagging', { list_tags_deny: true });
        const s = await t.legacyClient({ label: 'tags-error', emu, env: { FUNCTION_LIST: 'svc-a,svc-b', FUNCTION_TAG_KEY: 'expose', FUNCTION_TAG_VALUE: 'true' } });
        const tools = await listAll(s.client);
        const c = await counters(emu);
        t.note(JSON.stringify(opsOf(c, 'ListFunctions', 'GetFunction', 'GetResources', 'ListTags')));
        assert.deepEqual(names(tools), ['svc_a'], 'before: no tool at all (the missing tags were taken for no tags)');
        // ListTags first (two functions), refused as well; then the tagging API, once
        assert.deepEqual(opsOf(c, 'GetFunction', 'GetResources', 'ListTags'), { GetFunction: 2, GetResources: 1, ListTags: 2 });
        assert.match(s.session.stderrText(), /ListTags is not permitted: reading tags with the tagging API/);
        await s.session.close();
        await emu.control('POST', '/__emu/tagging', { list_tags_deny: false });
    });

    await t.test('a function ARN in the list works like its name', async () => {
        const r = await discover('arn', { FUNCTION_LIST: fnArn('svc-c') });
        assert.deepEqual(names(r.tools), ['svc_c']);
        assert.deepEqual(opsOf(r.c, 'ListFunctions', 'GetFunction'), { ListFunctions: 0, GetFunction: 1 });
        const call = await r.s.client.callTool({ name: 'svc_c', arguments: { name: 'Ada' } });
        assert.equal(call.isError, false, JSON.stringify(call));
        await r.s.session.close();
    });

    await t.test('GetFunction denied (403 AccessDeniedException): the account is listed once (2 pages) and the right tools come out', async () => {
        const r = await discover('getfunction-denied', { FUNCTION_LIST: 'svc-a,svc-c,no-such-function' }, { faults: [DENY_GETFUNCTION] });
        assert.deepEqual(names(r.tools), ['svc_a', 'svc_c']);
        assert.deepEqual(r.tools.map((x) => x.description), ['Service A', 'Service C']);
        assert.deepEqual(opsOf(r.c, 'ListFunctions', 'GetFunction'), { ListFunctions: 2, GetFunction: 3 });
        assert.equal(r.c.errors.GetFunction, 3, 'every GetFunction was denied');
        const err = r.stderr();
        assert.equal((err.match(/info +discovery: GetFunction is not permitted: listing the account to find the listed functions/g) || []).length, 1);
        assert.match(err, /warn +list: function 'no-such-function' is in the list but does not exist: skipped/);
        const call = await r.s.client.callTool({ name: 'svc_c', arguments: { name: 'Grace' } });
        assert.equal(call.isError, false, JSON.stringify(call));
        await r.s.session.close();
    });

    await t.test('GetFunction denied: a qualified name and a partial ARN are found in the listing too', async () => {
        const r = await discover('denied-qualified', { FUNCTION_LIST: 'svc-c:live,123456789012:function:svc-b,svc-a:nope:x' }, { faults: [DENY_GETFUNCTION] });
        assert.deepEqual(names(r.tools), ['svc_b', 'svc_c']);
        assert.deepEqual(r.tools.map((x) => x.description), ['Service B', 'Service C']);
        assert.match(r.stderr(), /warn +list: function 'svc-a:nope:x' is in the list but is not a function name or ARN: skipped/);
        assert.deepEqual(opsOf(r.c, 'ListFunctions', 'GetFunction'), { ListFunctions: 2, GetFunction: 3 });
        await emu.reset();
        const call = await r.s.client.callTool({ name: 'svc_c', arguments: { name: 'Ada' } });
        assert.equal(call.isError, false, JSON.stringify(call));
        assert.deepEqual((await counters(emu)).byQualifier, { 'svc-c:live': 1 }, 'the alias is called');
        await r.s.session.close();
    });

    await t.test('GetFunction denied for one cross-account ARN only: it becomes a tool from its ARN, the others still use '
        + 'GetFunction, and a refresh neither lists the account nor asks for the refused ARN again', async () => {
        const partner = 'arn:aws:lambda:us-east-1:999999999999:function:partner-fn';
        const confText = conf({ discovery: 'refresh_interval = "1s";', plugins: ['{ plugin = "list"; }'] });
        const r = await discover('cross-account', { FUNCTION_LIST: `svc-a,${partner}` },
            { faults: [{ ...DENY_GETFUNCTION, function: 'partner-fn' }], confText });
        assert.deepEqual(names(r.tools), ['partner_fn', 'svc_a']);
        assert.equal(r.tools.find((x) => x.name === 'partner_fn').description, 'AWS Lambda function: partner-fn');
        // the first run lists this account once to learn that the ARN is another account's
        assert.deepEqual(opsOf(r.c, 'ListFunctions', 'GetFunction'), { ListFunctions: 2, GetFunction: 2 });
        assert.match(r.stderr(), new RegExp(`warn +discovery: GetFunction is not permitted for ${partner} \\(another account's function\\?\\): it becomes a tool from its ARN alone`));
        const scheduled = /info +discovery: scheduled discovery: /g;
        await until(() => (r.stderr().match(scheduled) || []).length >= 1, ms(10000), 'the first scheduled discovery');
        const c2 = await counters(emu);
        const delta = (op) => (c2.ops[op] || 0) - (r.c.ops[op] || 0);
        assert.equal((r.stderr().match(scheduled) || []).length, 1, 'read within the second');
        assert.equal(delta('GetFunction'), 1, 'svc-a is still read with GetFunction; the refused ARN is not asked again');
        assert.equal(delta('ListFunctions'), 0, 'the account is not listed again');
        assert.match(r.stderr(), /info +discovery: scheduled discovery: .*; no change/);
        assert.equal((r.stderr().match(/GetFunction is not permitted for arn/g) || []).length, 1, 'warned once');
        // the call reaches Lambda with the ARN (the emulator has no such account: Lambda's 404 comes back)
        const call = await r.s.client.callTool({ name: 'partner_fn', arguments: {} });
        assert.equal(call.isError, true);
        assert.match(call.content[0].text, /ResourceNotFoundException/);
        await r.s.session.close();
    });

    await t.test('GetFunction and ListFunctions both denied: an ARN of another account still becomes a tool', async () => {
        const partner = 'arn:aws:lambda:us-east-1:999999999999:function:partner-fn';
        const denyList = { operation: 'ListFunctions', status: 403, code: 'AccessDeniedException', message: 'not authorized to perform: lambda:ListFunctions' };
        const r = await discover('both-denied', { FUNCTION_LIST: partner }, { faults: [DENY_GETFUNCTION, denyList] });
        assert.deepEqual(names(r.tools), ['partner_fn']);
        assert.match(r.stderr(), /GetFunction is not permitted for arn:aws:lambda:us-east-1:999999999999:function:partner-fn/);
        await r.s.session.close();
    });

    await t.test('GetFunction denied + a tag filter: the listing carries no tags, so they are read with ListTags for the two candidates', async () => {
        const r = await discover('denied-with-tags', { FUNCTION_LIST: 'svc-a,svc-b', FUNCTION_TAG_KEY: 'expose', FUNCTION_TAG_VALUE: 'true' }, { faults: [DENY_GETFUNCTION] });
        assert.deepEqual(names(r.tools), ['svc_a']);
        assert.deepEqual(opsOf(r.c, 'ListFunctions', 'GetFunction', 'ListTags', 'GetResources'), { ListFunctions: 2, GetFunction: 2, ListTags: 2, GetResources: 0 });
        await r.s.session.close();
    });

    await t.test('discovery.list_tags_threshold: 3 candidates without tags use ListTags at threshold 3, the tagging API (one GetResources, no ListTags) at 2', async () => {
        const env = { FUNCTION_LIST: 'svc-a,svc-b,svc-c', FUNCTION_TAG_KEY: 'expose', FUNCTION_TAG_VALUE: 'true' };
        for (const [threshold, want] of [
            [3, { ListTags: 3, GetResources: 0 }],
            [2, { ListTags: 0, GetResources: 1 }],
            [0, { ListTags: 0, GetResources: 1 }],
        ]) {
            const r = await discover(`threshold-${threshold}`, env, { faults: [DENY_GETFUNCTION], confText: conf({ discovery: `list_tags_threshold = ${threshold};` }) });
            assert.deepEqual(names(r.tools), ['svc_a'], `threshold ${threshold}`);
            assert.deepEqual(opsOf(r.c, 'GetFunction', 'ListTags', 'GetResources'), { GetFunction: 3, ...want }, `threshold ${threshold}`);
            await r.s.session.close();
        }
    });

    await t.test('GetFunction denied with a prefix matcher too: the refusal is remembered, a scheduled refresh asks no GetFunction and lists the account once', async () => {
        const confText = conf({ discovery: 'refresh_interval = "1s";', plugins: ['{ plugin = "prefix"; }', '{ plugin = "list"; }'] });
        const r = await discover('denied-remembered', { FUNCTION_PREFIX: 'svc-b', FUNCTION_LIST: 'svc-a,svc-c' }, { faults: [DENY_GETFUNCTION], confText });
        assert.deepEqual(names(r.tools), ['svc_a', 'svc_b', 'svc_c']);
        // the first run learns of the refusal while the prefix's listing is already under way:
        // both list the account (two pages each)
        assert.deepEqual(opsOf(r.c, 'ListFunctions', 'GetFunction'), { ListFunctions: 4, GetFunction: 2 });
        // exactly one scheduled discovery between these two readings (the next one is 1 s later)
        const scheduled = /info +discovery: scheduled discovery: /g;
        await until(() => (r.stderr().match(scheduled) || []).length >= 1, ms(10000), 'the first scheduled discovery');
        const c2 = await counters(emu);
        const delta = (op) => (c2.ops[op] || 0) - (r.c.ops[op] || 0);
        t.note(`the scheduled discovery: ListFunctions ${delta('ListFunctions')}, GetFunction ${delta('GetFunction')}`);
        assert.equal((r.stderr().match(scheduled) || []).length, 1, 'read within the second');
        assert.equal(delta('GetFunction'), 0, 'the refusal is remembered');
        assert.equal(delta('ListFunctions'), 2, 'one listing (two pages) serves the prefix and the list');
        assert.match(r.stderr(), /info +discovery: scheduled discovery: .*; no change/);
        assert.deepEqual(names(await listAll(r.s.client)), ['svc_a', 'svc_b', 'svc_c']);
        const call = await r.s.client.callTool({ name: 'svc_c', arguments: { name: 'Lin' } });
        assert.equal(call.isError, false, JSON.stringify(call));
        await r.s.session.close();
    });

    await t.test('GetFunction refused for bad credentials (403 UnrecognizedClientException): no account listing, the error is reported', async () => {
        const r = await discover('getfunction-bad-key', { FUNCTION_LIST: 'svc-a' }, {
            faults: [{ operation: 'GetFunction', status: 403, code: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' }],
        });
        assert.deepEqual(names(r.tools), []);
        assert.deepEqual(opsOf(r.c, 'ListFunctions', 'GetFunction'), { ListFunctions: 0, GetFunction: 1 });
        const err = r.stderr();
        assert.doesNotMatch(err, /GetFunction is not permitted/);
        assert.match(err, /error +list: cannot look up function 'svc-a': GetFunction: UnrecognizedClientException: The security token included in the request is invalid\./);
        await r.s.session.close();
    });

    await t.test('GetFunction failing otherwise (500 on every attempt): discovery fails and says why (no silent partial tool set)', async () => {
        const r = await discover(
            'getfunction-500',
            { FUNCTION_LIST: 'svc-a' },
            { faults: [{ operation: 'GetFunction', status: 500 }], confText: conf({ plugins: ['{ plugin = "list"; }'], extra: 'aws = { max_attempts = 2; retry_base = "10ms"; };\n' }) },
        );
        assert.deepEqual(names(r.tools), []);
        assert.match(r.stderr(), /retrying lambda GET \/2015-03-31\/functions\/svc-a: attempt 1 of 2 failed \(HTTP 500 ServiceException\)/);
        assert.match(r.stderr(), /error +list: cannot look up function 'svc-a': GetFunction: ServiceException/);
        assert.match(r.stderr(), /error +discovery: initial discovery failed, keeping the previous \(empty\) tool set: selector list failed/);
        await r.s.session.close();
    });
}, { timeoutSec: 60 });
