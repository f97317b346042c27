// The cache wrapper end to end: a repeated call (arguments in another key order) is answered
// without invoking Lambda (the emulator's invocation count does not move), errors are never
// cached, cacheability and TTL can come from function tags, and hits are visible at debug level.
import { assert, ms, run, sleep } from '../lib/harness.mjs';

const text = (r) => (r.content || []).map((c) => c.text).join('\n');

run('wrappers-cache', async (t) => {
    const C = await t.clients();
    const emu = await t.emulator({ account: 'demo.json' });
    // a function that says it is cacheable (for 1 s) through its tags
    await emu.putFunctions([
        { name: 'quote', handler: 'echo', description: 'Echoes, cacheable by tag.', tags: { 'lambda-mcp:cacheable': 'true', 'lambda-mcp:cache-ttl': '1s' } },
    ]);
    // the tags plugin with metadata = "always" makes discovery read tags (wrapper settings with a
    // tag key only see tags when discovery reads them)
    const conf = `credentials = ( { plugin = "env"; } );
discovery = { plugins = ( { plugin = "prefix"; }, { plugin = "list"; }, { plugin = "tags"; metadata = "always"; } ); };
wrappers = ( { plugin = "cache"; ttl = "60s";
               overrides = ( { tools = ["echo", "fail"]; cacheable = true; } ); } );
`;
    const invocations = async (fn) => (await emu.stats()).invocations[fn] || 0;

    const legacy = await t.legacyClient({ label: 'legacy', emu, conf });
    const modern = await t.modernClient({ label: 'modern', emu, conf });
    // server/discover is answered before the initial discovery ends; a tools/list waits for it,
    // so no discovery request of this server lands among the calls the tests below count
    await modern.client.listTools();
    const eras = [
        { name: 'legacy', ...legacy, call: (p) => legacy.client.callTool(p, C.LegacyCallToolResultSchema) },
        { name: '2026-07-28', ...modern, call: (p) => modern.client.callTool(p) },
    ];

    for (const era of eras) {
        await t.test(`${era.name}: the second identical call, arguments in another key order, makes no Lambda call`, async () => {
            const args1 = { era: era.name, a: 1, b: { x: [1, 2, { p: true, q: null }], y: 'argval-3e7c' } };
            const args2 = { b: { y: 'argval-3e7c', x: [1, 2, { q: null, p: true }] }, a: 1, era: era.name };
            const before = await emu.stats();
            const r1 = await era.call({ name: 'echo', arguments: args1 });
            const mid = await emu.stats();
            const r2 = await era.call({ name: 'echo', arguments: args2 });
            const after = await emu.stats();
            assert.equal(r1.isError, false, text(r1));
            assert.equal(r2.isError, false, text(r2));
            assert.deepEqual(r2.structuredContent, r1.structuredContent);
            assert.equal(text(r2), text(r1));
            assert.equal((mid.invocations.echo || 0) - (before.invocations.echo || 0), 1, 'the first call did not invoke');
            assert.equal((after.invocations.echo || 0) - (mid.invocations.echo || 0), 0, 'the second call invoked Lambda');
            const since = await emu.control('GET', `/__emu/stats?since=${mid.last_seq}`);
            assert.deepEqual(since.recent.filter((e) => e.service === 'lambda'), [], 'AWS was called for a cache hit');
            t.note(`echo invocations: ${before.invocations.echo || 0} -> ${mid.invocations.echo} -> ${after.invocations.echo}`);
        });

        await t.test(`${era.name}: different arguments (an array in another order) are another entry`, async () => {
            const n0 = await invocations('echo');
            await era.call({ name: 'echo', arguments: { era: era.name, a: 1, b: { x: [2, 1, { p: true, q: null }], y: 'z' } } });
            assert.equal((await invocations('echo')) - n0, 1);
        });

        await t.test(`${era.name}: errors are not cached: function errors, and a 5xx (fault injection)`, async () => {
            const f0 = await invocations('fail');
            for (let i = 0; i < 3; i++) {
                const r = await era.call({ name: 'fail', arguments: { order_id: 7 } });
                assert.equal(r.isError, true);
                assert.match(text(r), /order 7 not found/);
            }
            assert.equal((await invocations('fail')) - f0, 3, 'a function error was answered from the cache');
            // a 5xx first: not stored; the next identical call reaches Lambda and is stored
            await emu.addFaults([{ operation: 'Invoke', function: 'echo', status: 500, count: 1 }]);
            const before = await emu.stats();
            const args = { era: era.name, after: 'fault' };
            const bad = await era.call({ name: 'echo', arguments: args });
            assert.equal(bad.isError, true, text(bad));
            assert.match(text(bad), /ServiceException|HTTP 500/);
            const good = await era.call({ name: 'echo', arguments: args });
            assert.equal(good.isError, false, text(good));
            const hit = await era.call({ name: 'echo', arguments: args });
            assert.equal(hit.isError, false, text(hit));
            const after = await emu.stats();
            const invokes = (after.operations.Invoke || 0) - (before.operations.Invoke || 0);
            assert.equal(invokes, 2, `${invokes} Invoke requests for fault, retry, hit`);
            assert.equal(after.faults_injected - before.faults_injected, 1);
        });

        await t.test(`${era.name}: calls waiting on an identical call that fails: one invokes again, the others share its answer`, async () => {
            // the first call's Invoke answers 500 after 800 ms; four identical calls arrive meanwhile
            // and wait for it (single flight). Errors are not shared, but the waiting calls must not
            // all invoke at once: one leads the next attempt and the other three wait for it.
            const args = { era: era.name, stampede: 'argval-5b2e' };
            await emu.addFaults([{ operation: 'Invoke', function: 'echo', status: 500, count: 1, latency_ms: 800 }]);
            const before = await emu.stats();
            const first = era.call({ name: 'echo', arguments: args });
            await sleep(250);
            const rest = await Promise.all([1, 2, 3, 4].map(() => era.call({ name: 'echo', arguments: args })));
            const r0 = await first;
            const after = await emu.stats();
            assert.equal(r0.isError, true, text(r0));
            for (const r of rest) {
                assert.equal(r.isError, false, text(r));
                assert.equal(text(r), text(rest[0]));
            }
            const invokes = (after.operations.Invoke || 0) - (before.operations.Invoke || 0);
            assert.equal(invokes, 2, `${invokes} Invoke requests (the failed one, then one for the four waiting calls)`);
            assert.equal(after.faults_injected - before.faults_injected, 1);
        });

        await t.test(`${era.name}: a tool that is not cacheable is never cached`, async () => {
            const n0 = await invocations('greet');
            await era.call({ name: 'greet', arguments: { name: 'x' } });
            await era.call({ name: 'greet', arguments: { name: 'x' } });
            assert.equal((await invocations('greet')) - n0, 2);
        });

        await t.test(`${era.name}: cacheable and TTL from function tags (lambda-mcp:cacheable, lambda-mcp:cache-ttl = 1s)`, async () => {
            const n0 = await invocations('quote');
            const args = { era: era.name, q: 'argval-9d41' };
            await era.call({ name: 'quote', arguments: args });
            await era.call({ name: 'quote', arguments: args });
            assert.equal((await invocations('quote')) - n0, 1, 'the tag did not make it cacheable');
            await sleep(1300);
            await era.call({ name: 'quote', arguments: args });
            assert.equal((await invocations('quote')) - n0, 2, 'the entry outlived its 1 s TTL');
        });

        await t.test(`${era.name}: hits, misses and evictions are logged at debug level, with no argument in the log`, async () => {
            const log = era.session.stderrText();
            assert.match(log, / debug cache: miss tool=echo key=[0-9a-f]{12} \(hits \d+, misses \d+/);
            assert.match(log, / debug cache: hit tool=echo key=[0-9a-f]{12} \(hits [1-9]\d*, misses \d+/);
            assert.ok(!log.includes('argval-'), 'argument values appear in the server log');
        });
    }

    // a list selector fetches its functions with GetFunction, which returns their tags: the tag
    // settings apply with no tag filter, and the start-up hint says so
    const listOnly = await t.legacyClient({ label: 'list-only', emu, conf: `credentials = ( { plugin = "env"; } );
discovery = { plugins = ( { plugin = "list"; functions = ["quote"]; } ); };
wrappers = ( { plugin = "cache"; } );
` });
    await t.test('list selector only: a function tag (lambda-mcp:cacheable) applies, and the hint names that case', async () => {
        const n0 = await invocations('quote');
        const args = { q: 'argval-list-only' };
        await listOnly.client.callTool({ name: 'quote', arguments: args }, C.LegacyCallToolResultSchema);
        await listOnly.client.callTool({ name: 'quote', arguments: args }, C.LegacyCallToolResultSchema);
        assert.equal((await invocations('quote')) - n0, 1, 'the tag from GetFunction did not make it cacheable');
        assert.match(listOnly.session.stderrText(), /the functions a list selector fetches, which come with their tags/);
    });
}, { timeoutSec: 120 });
