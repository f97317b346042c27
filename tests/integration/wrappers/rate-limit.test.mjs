// The rate-limit wrapper end to end: a burst beyond the bucket is delayed (waiting calls get
// their slot in turn), and beyond max_wait refused at once with a retry hint, without reaching
// Lambda; a limit from a function tag; other tools unaffected.
import { assert, ms, run, sleep } from '../lib/harness.mjs';

const text = (r) => (r.content || []).map((c) => c.text).join('\n');

run('wrappers-rate-limit', async (t) => {
    const C = await t.clients();
    const emu = await t.emulator({ account: 'demo.json' });
    await emu.putFunctions([{ name: 'metered', handler: 'echo', description: 'Echoes; limited by its tags.', tags: { 'lambda-mcp:rate-limit': '1', 'lambda-mcp:rate-burst': '1' } }]);
    const conf = `credentials = ( { plugin = "env"; } );
discovery = { plugins = ( { plugin = "prefix"; }, { plugin = "list"; }, { plugin = "tags"; metadata = "always"; } ); };
wrappers = ( { plugin = "rate-limit"; max_wait = "1200ms";
               overrides = ( { tools = "echo"; rate = 2; burst = 2; } ); } );
`;
    const legacy = await t.legacyClient({ label: 'legacy', emu, conf });
    const modern = await t.modernClient({ label: 'modern', emu, conf });
    const eras = [
        { name: 'legacy', ...legacy, call: (p) => legacy.client.callTool(p, C.LegacyCallToolResultSchema, { timeout: ms(30000) }) },
        { name: '2026-07-28', ...modern, call: (p) => modern.client.callTool(p, { timeout: ms(30000) }) },
    ];

    for (const era of eras) {
        await t.test(`${era.name}: 6 calls at once on a 2/s bucket of 2 (max_wait 1.2 s): 2 at once, 2 delayed by ~0.5 s and ~1 s, 2 refused with a retry hint`, async () => {
            await sleep(1100); // a full bucket
            const before = await emu.stats();
            const t0 = Date.now();
            const results = await Promise.all(
                Array.from({ length: 6 }, (_, i) => era.call({ name: 'echo', arguments: { i } }).then((r) => ({ r, ms: Date.now() - t0 }))),
            );
            const after = await emu.stats();
            const ok = results.filter((x) => !x.r.isError).sort((a, b) => a.ms - b.ms);
            const refused = results.filter((x) => x.r.isError);
            t.note(`ok after ${ok.map((x) => x.ms).join(', ')} ms; refused after ${refused.map((x) => x.ms).join(', ')} ms: ${refused[0] ? text(refused[0].r) : ''}`);
            assert.equal(ok.length, 4, `${ok.length} calls admitted`);
            assert.equal(refused.length, 2, `${refused.length} calls refused`);
            assert.ok(ok[1].ms < ms(400), `the burst was delayed: ${ok[1].ms} ms`);
            assert.ok(ok[2].ms >= 450 && ok[2].ms < ms(900), `third call after ${ok[2].ms} ms, expected ~500`);
            assert.ok(ok[3].ms >= 950 && ok[3].ms < ms(1500), `fourth call after ${ok[3].ms} ms, expected ~1000`);
            for (const x of refused) {
                assert.ok(x.ms < ms(400), `a refusal took ${x.ms} ms: it waited`);
                const m = /^Refused \(RateLimited\): rate limit: tool echo allows 2 calls per second \(burst 2\); too many calls are waiting; retry in (\d+) ms/.exec(text(x.r));
                assert.ok(m, text(x.r));
                const retry = Number(m[1]);
                assert.ok(retry > 1200 && retry <= 1500, `retry hint ${retry} ms`);
                assert.match(text(x.r), new RegExp(`retry after ${retry} ms\\)$`));
            }
            // the refused calls never reached Lambda
            assert.equal((after.invocations.echo || 0) - (before.invocations.echo || 0), 4);
            // a retry after the hint is admitted
            const hint = Number(/retry in (\d+) ms/.exec(text(refused[0].r))[1]);
            await sleep(Math.max(0, hint - (Date.now() - t0 - refused[0].ms)) + 50);
            const again = await era.call({ name: 'echo', arguments: { again: true } });
            assert.equal(again.isError, false, text(again));
        }, { timeoutMs: ms(30000) });

        await t.test(`${era.name}: the limit of one tool leaves the others alone`, async () => {
            const t0 = Date.now();
            const rs = await Promise.all(Array.from({ length: 8 }, (_, i) => era.call({ name: 'greet', arguments: { name: `g${i}` } })));
            assert.ok(rs.every((r) => !r.isError));
            assert.ok(Date.now() - t0 < ms(1000));
        });

        await t.test(`${era.name}: a limit from function tags (lambda-mcp:rate-limit = 1, lambda-mcp:rate-burst = 1)`, async () => {
            await sleep(1100);
            const t0 = Date.now();
            const rs = await Promise.all(
                Array.from({ length: 3 }, (_, i) => era.call({ name: 'metered', arguments: { i } }).then((r) => ({ r, ms: Date.now() - t0 }))),
            );
            const ok = rs.filter((x) => !x.r.isError).sort((a, b) => a.ms - b.ms);
            const refused = rs.filter((x) => x.r.isError);
            t.note(`metered: ok after ${ok.map((x) => x.ms).join(', ')} ms; ${refused.length} refused`);
            assert.equal(ok.length, 2); // one at once, one after ~1 s (within max_wait 1.2 s)
            assert.equal(refused.length, 1); // would wait ~2 s
            assert.ok(ok[1].ms >= 950);
            assert.match(text(refused[0].r), /tool metered allows 1 call per second \(burst 1\)/);
        }, { timeoutMs: ms(30000) });
    }
}, { timeoutSec: 120 });
