// The invocation pipeline end to end, through both official clients: many calls in flight on
// one connection answered as they finish, cancellation through the client's AbortSignal (the
// server aborts the Lambda transfer and never answers), progress heartbeats, a per-tool timeout.
import { BASE_CONF, assert, ms, run, sleep, until } from '../lib/harness.mjs';

const text = (r) => (r.content || []).map((c) => c.text).join('\n');

run('wrappers-pipeline', async (t) => {
    const C = await t.clients();
    const emu = await t.emulator({ account: 'demo.json' });
    // a function that sleeps as long as asked and may run 10 s, for the per-tool timeout
    await emu.putFunctions([{ name: 'slow-capped', handler: 'slow', description: 'Sleeps event.seconds.', timeout: 10 }]);
    const conf = BASE_CONF + `server = { progress_interval = "200ms"; };
tools = ( { match = "slow_capped"; timeout = "1s"; } );
`;
    // the sessions that cancel leave those requests unanswered on purpose (checked below, by id)
    const legacy = await t.legacyClient({ label: 'legacy', emu, conf, sessionOpts: { allowUnanswered: true } });
    const modern = await t.modernClient({ label: 'modern', emu, conf, sessionOpts: { allowUnanswered: true } });
    const eras = [
        { name: 'legacy (SDK 1.32.2)', ...legacy, call: (p, o = {}) => legacy.client.callTool(p, C.LegacyCallToolResultSchema, o) },
        { name: '2026-07-28 (client 2.4.0)', ...modern, call: (p, o = {}) => modern.client.callTool(p, o) },
    ];
    const cancelled = new Map(); // session -> [request ids the client cancelled]

    // ---- (a) concurrency
    for (const era of eras) {
        await t.test(`${era.name}: 10 calls of a slow function in flight at once finish in about the time of the slowest, answered as they finish`, async () => {
            // call i sleeps 0.8 + 0.15 * (9 - i) s: the last one sent is the first to finish
            const secs = Array.from({ length: 10 }, (_, i) => Math.round((0.8 + 0.15 * (9 - i)) * 100) / 100);
            const order = [];
            let peak = 0;
            const t0 = Date.now();
            const calls = secs.map((s, i) =>
                era.call({ name: 'slow', arguments: { seconds: s } }, { timeout: ms(30000) }).then((r) => {
                    order.push(i);
                    return r;
                }),
            );
            const watch = (async () => {
                await sleep(500);
                peak = (await emu.stats()).invocations_in_progress?.slow || 0;
            })();
            const results = await Promise.all(calls);
            const took = Date.now() - t0;
            await watch;
            t.note(`10 calls (0.8 .. 2.15 s each) took ${took} ms together (one after the other: 14750 ms); ` +
                `${peak} invocations were running at once in the emulator; completion order ${order.join(',')}`);
            results.forEach((r, i) => {
                assert.equal(r.isError, false, text(r));
                assert.equal(r.structuredContent?.slept, secs[i]);
            });
            assert.equal(peak, 10, 'the emulator did not see 10 invocations running at once');
            assert.ok(took >= 2150, `faster than the slowest call: ${took} ms`);
            assert.ok(took < ms(3800), `10 concurrent calls took ${took} ms, the slowest alone 2150 ms`);
            assert.deepEqual(order, [9, 8, 7, 6, 5, 4, 3, 2, 1, 0], 'answers did not come in the order the calls finished');
            // on the wire: responses in order of completion, not of the requests
            const reqs = new Map();
            for (const m of era.session.inMessages())
                if (m.msg?.method === 'tools/call' && m.msg.params?.name === 'slow' && secs.includes(m.msg.params.arguments?.seconds))
                    reqs.set(JSON.stringify(m.msg.id), m.msg.params.arguments.seconds);
            const wire = era.session
                .outMessages()
                .filter((m) => m.msg && 'result' in m.msg && reqs.has(JSON.stringify(m.msg.id)))
                .map((m) => reqs.get(JSON.stringify(m.msg.id)));
            assert.deepEqual(wire, [...secs].sort((a, b) => a - b), `wire order ${wire}`);
        }, { timeoutMs: ms(60000) });
    }

    // ---- (b) cancellation
    for (const era of eras) {
        await t.test(`${era.name}: a call cancelled through its AbortSignal: notifications/cancelled, the Lambda transfer aborted, never a response; later calls work`, async () => {
            const before = await emu.stats();
            const ac = new AbortController();
            const t0 = Date.now();
            const p = era.call({ name: 'slow', arguments: { seconds: 2 } }, { signal: ac.signal, timeout: ms(30000) });
            const outcome = p.then(
                (r) => ({ ok: r }),
                (e) => ({ err: e }),
            );
            // the invocation is running in the emulator: cancel now
            await until(async () => ((await emu.stats()).invocations_in_progress?.slow || 0) >= 1, ms(10000), 'the invocation to be running');
            ac.abort('the user changed their mind');
            const o = await outcome;
            assert.ok(o.err, `the call was answered: ${JSON.stringify(o.ok)}`);
            t.note(`client: ${o.err.name}: ${o.err.message}`);
            // the client told the server
            const note = await until(
                () => era.session.inMessages().find((m) => m.msg?.method === 'notifications/cancelled'
                    && !(cancelled.get(era.session) || []).some((id) => JSON.stringify(id) === JSON.stringify(m.msg.params?.requestId))),
                ms(5000),
                'notifications/cancelled on the wire',
            );
            const rid = note.msg.params.requestId;
            cancelled.set(era.session, [...(cancelled.get(era.session) || []), rid]);
            const callReq = era.session.inMessages().find((m) => m.msg?.method === 'tools/call' && JSON.stringify(m.msg.id) === JSON.stringify(rid));
            assert.ok(callReq, `notifications/cancelled names request ${JSON.stringify(rid)}, which is not the tools/call`);
            assert.equal(callReq.msg.params.arguments.seconds, 2);
            // the server logged the cancellation and aborted the transfer: when the function
            // finished, the emulator found the connection closed and had nobody to answer
            await until(() => /notifications\/cancelled requestId=\S+ .*tools\/call cancelled/.test(era.session.stderrText()), ms(5000), 'the cancellation in the server log');
            const gone = await until(async () => {
                const s = await emu.control('GET', `/__emu/stats?since=${before.last_seq}`);
                return s.client_gone > before.client_gone ? s : null;
            }, ms(8000), 'the emulator to see that the caller hung up');
            const entry = gone.recent.find((e) => e.operation === 'Invoke' && e.function === 'slow' && e.client_gone);
            assert.ok(entry, `no Invoke of slow marked client_gone: ${JSON.stringify(gone.recent)}`);
            t.note(`emulator: Invoke ${entry.request_id} of slow ran ${entry.duration_ms} ms; the caller had hung up (client_gone ${gone.client_gone})`);
            // never a response for it, also well after the function finished
            await sleep(300);
            const answered = era.session.outMessages().filter((m) => m.msg && JSON.stringify(m.msg.id) === JSON.stringify(rid));
            assert.equal(answered.length, 0, `a response to the cancelled request: ${answered.map((m) => m.text).join('\n')}`);
            // the worker ended the call (aborting the HTTP transfer) long before the 2 s function did
            const idText = typeof rid === 'string' ? `"${rid}"` : String(rid);
            const done = new RegExp(`tools/call id=${idText.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} tool=slow: cancelled, cancelled by the client \\(no response\\) in ([0-9.]+) ms`).exec(era.session.stderrText());
            assert.ok(done, 'no "cancelled by the client (no response)" line for the call in the server log');
            t.note(`server: the cancelled call ended ${done[1]} ms after it started (the function sleeps 2000 ms)`);
            assert.ok(Number(done[1]) < 1900, `the call ran ${done[1]} ms: the transfer was not aborted`);
            // the connection is still good
            const r = await era.call({ name: 'greet', arguments: { name: 'after cancel' } });
            assert.deepEqual(r.structuredContent, { greeting: 'Hello, after cancel!' });
            t.note(`cancelled after ${Date.now() - t0} ms in all`);
        }, { timeoutMs: ms(40000) });
    }

    // ---- (c) progress
    for (const era of eras) {
        await t.test(`${era.name}: progress heartbeats for a long call with a progressToken (onprogress), increasing, none after the result`, async () => {
            const seen = [];
            const r = await era.call({ name: 'slow', arguments: { seconds: 1.3 } }, { onprogress: (p) => seen.push(p), timeout: ms(30000) });
            assert.equal(r.isError, false, text(r));
            t.note(`${seen.length} progress notifications: ${seen.map((p) => p.progress).join(', ')}; "${seen[0]?.message}"`);
            assert.ok(seen.length >= 4, `only ${seen.length} heartbeats in 1.3 s at 200 ms`);
            for (let i = 1; i < seen.length; i++) assert.ok(seen[i].progress > seen[i - 1].progress, 'progress does not increase');
            assert.match(seen[0].message || '', /slow/);
            const wire = era.session.outMessages();
            const resIdx = wire.findIndex((m) => m.msg?.result?.structuredContent?.slept === 1.3);
            const token = wire.find((m) => m.msg?.method === 'notifications/progress' && m.t <= wire[resIdx].t)?.msg.params.progressToken;
            assert.ok(token !== undefined, 'no notifications/progress on the wire');
            const late = wire.slice(resIdx + 1).filter((m) => m.msg?.method === 'notifications/progress' && m.msg.params.progressToken === token);
            assert.equal(late.length, 0, 'progress after the result');
        }, { timeoutMs: ms(30000) });
    }

    // ---- (d) a per-tool timeout from the conf
    for (const era of eras) {
        await t.test(`${era.name}: a per-tool timeout (tools = ( { match = "slow_capped"; timeout = "1s"; } )) gives isError with a clear message`, async () => {
            const t0 = Date.now();
            const r = await era.call({ name: 'slow_capped', arguments: { seconds: 3 } }, { timeout: ms(30000) });
            const took = Date.now() - t0;
            t.note(`after ${took} ms: ${text(r)}`);
            assert.equal(r.isError, true);
            assert.match(text(r), /^Timed out: slow-capped did not answer within 1\.0 s, the call timeout; the function may still be running in AWS\. If it needs longer, raise `timeout` for this tool in the conf file/);
            assert.ok(took >= 950 && took < 2500, `the call took ${took} ms with a 1 s timeout`);
            const ok = await era.call({ name: 'slow_capped', arguments: { seconds: 0.2 } });
            assert.equal(ok.isError, false, text(ok));
        }, { timeoutMs: ms(30000) });
    }

    await t.test('sessions: every tools/call was answered except the ones the clients cancelled', async () => {
        for (const era of eras) {
            const ids = new Set((cancelled.get(era.session) || []).map((id) => JSON.stringify(id)));
            assert.equal(ids.size, 1, `${era.name}: ${ids.size} cancelled calls recorded`);
            const answered = new Set(era.session.outMessages().filter((m) => m.msg && ('result' in m.msg || 'error' in m.msg)).map((m) => JSON.stringify(m.msg.id)));
            for (const m of era.session.inMessages()) {
                if (!m.msg || !('id' in m.msg) || !m.msg.method) continue;
                const id = JSON.stringify(m.msg.id);
                if (ids.has(id)) assert.ok(!answered.has(id), `${era.name}: the cancelled ${id} was answered`);
                else assert.ok(answered.has(id), `${era.name}: ${m.msg.method} ${id} was never answered`);
            }
        }
    });
}, { timeoutSec: 150 });
