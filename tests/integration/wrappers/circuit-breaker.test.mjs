// The circuit-breaker wrapper end to end: 5xx answers (emulator fault injection) open it; then
// calls are refused without reaching Lambda (the emulator's Invoke count does not move); after
// the cooldown exactly one trial goes through (the others are still refused) and its success
// closes the breaker; a failed trial opens it again. Every state change is in the server log.
import { assert, ms, run, sleep } from '../lib/harness.mjs';

const text = (r) => (r.content || []).map((c) => c.text).join('\n');
const ECHO_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:echo';

run('wrappers-circuit-breaker', async (t) => {
    const C = await t.clients();
    const emu = await t.emulator({ account: 'demo.json' });
    const conf = `credentials = ( { plugin = "env"; } );
discovery = { plugins = ( { plugin = "prefix"; }, { plugin = "list"; } ); };
wrappers = ( { plugin = "circuit-breaker"; failure_threshold = 3; failure_ratio = 0; cooldown = "1500ms"; } );
`;
    const invokes = async () => (await emu.stats()).operations.Invoke || 0;
    const legacy = await t.legacyClient({ label: 'legacy', emu, conf });
    const modern = await t.modernClient({ label: 'modern', emu, conf });
    const eras = [
        { name: 'legacy', ...legacy, call: (p) => legacy.client.callTool(p, C.LegacyCallToolResultSchema, { timeout: ms(30000) }) },
        { name: '2026-07-28', ...modern, call: (p) => modern.client.callTool(p, { timeout: ms(30000) }) },
    ];

    for (const era of eras) {
        let retryHint = 0;
        await t.test(`${era.name}: three 5xx answers in a row open the breaker (warn in the log, with the function and the reason)`, async () => {
            await emu.addFaults([{ operation: 'Invoke', function: 'echo', status: 500 }]);
            const n0 = await invokes();
            for (let i = 0; i < 3; i++) {
                const r = await era.call({ name: 'echo', arguments: { i } });
                assert.equal(r.isError, true);
                assert.match(text(r), /ServiceException/);
            }
            assert.equal((await invokes()) - n0, 3);
            const log = era.session.stderrText();
            assert.match(log, new RegExp(` warn  circuit-breaker: function ${ECHO_ARN}: circuit closed -> open for 1500 ms: 3 consecutive failures \\(last: service_error \\(ServiceException\\)\\)`));
        });

        await t.test(`${era.name}: while open, calls are refused at once without reaching Lambda, with the time until the trial`, async () => {
            const before = await emu.stats();
            const t0 = Date.now();
            const r = await era.call({ name: 'echo', arguments: { refused: true } });
            const took = Date.now() - t0;
            const after = await emu.control('GET', `/__emu/stats?since=${before.last_seq}`);
            t.note(`refused in ${took} ms: ${text(r)}`);
            assert.equal(r.isError, true);
            const m = /^Refused \(CircuitOpen\): circuit breaker open for function (\S+) after repeated failures \(last: service_error \(ServiceException\)\); Lambda was not called; next trial in (\d+) ms \(retry after \d+ ms\)$/.exec(text(r));
            assert.ok(m, text(r));
            assert.equal(m[1], ECHO_ARN);
            retryHint = Number(m[2]);
            assert.ok(retryHint > 0 && retryHint <= 1500, `next trial in ${retryHint} ms`);
            assert.equal(after.recent.filter((e) => e.operation === 'Invoke').length, 0, 'Lambda was called while the breaker was open');
            assert.equal(after.operations.Invoke, before.operations.Invoke);
            // another function is not affected
            const g = await era.call({ name: 'greet', arguments: { name: 'other' } });
            assert.equal(g.isError, false, text(g));
        });

        await t.test(`${era.name}: after the cooldown one trial goes through (others refused meanwhile); it succeeds and closes the breaker`, async () => {
            await emu.clearFaults();
            // the trial's Invoke takes 600 ms, so the calls that follow it find it running
            await emu.addFaults([{ operation: 'Invoke', function: 'echo', latency_ms: 600, count: 1 }]);
            await sleep(retryHint + 100);
            const n0 = await invokes();
            const trial = era.call({ name: 'echo', arguments: { trial: 1 } });
            await sleep(150);
            const others = await Promise.all([1, 2, 3].map((i) => era.call({ name: 'echo', arguments: { meanwhile: i } })));
            const tr = await trial;
            assert.equal(tr.isError, false, text(tr));
            for (const o of others) {
                assert.equal(o.isError, true);
                assert.match(text(o), /^Refused \(CircuitOpen\): circuit breaker half-open \(a trial call is running\) for function /);
            }
            assert.equal((await invokes()) - n0, 1, 'more than one call reached Lambda while half-open');
            const log = era.session.stderrText();
            assert.match(log, new RegExp(` info  circuit-breaker: function ${ECHO_ARN}: circuit open -> half-open: the cooldown of 1500 ms is over, letting one trial call through`));
            assert.match(log, new RegExp(` info  circuit-breaker: function ${ECHO_ARN}: circuit half-open -> closed: the trial call succeeded \\(ok\\)`));
            // closed: calls reach Lambda again
            const n1 = await invokes();
            for (let i = 0; i < 3; i++) assert.equal((await era.call({ name: 'echo', arguments: { closed: i } })).isError, false);
            assert.equal((await invokes()) - n1, 3);
        }, { timeoutMs: ms(30000) });

        await t.test(`${era.name}: a failed trial opens the breaker again`, async () => {
            await emu.addFaults([{ operation: 'Invoke', function: 'echo', status: 503, count: 4 }]);
            for (let i = 0; i < 3; i++) await era.call({ name: 'echo', arguments: { again: i } });
            const r = await era.call({ name: 'echo', arguments: {} });
            assert.match(text(r), /^Refused \(CircuitOpen\)/);
            const hint = Number(/next trial in (\d+) ms/.exec(text(r))[1]);
            await sleep(hint + 100);
            const trial = await era.call({ name: 'echo', arguments: { trial: 2 } }); // the 4th 503
            assert.equal(trial.isError, true);
            assert.match(text(trial), /ServiceUnavailableException/);
            const after = await era.call({ name: 'echo', arguments: {} });
            assert.match(text(after), /^Refused \(CircuitOpen\): circuit breaker open .*\(last: service_error \(ServiceUnavailableException\)\)/);
            assert.match(era.session.stderrText(), / warn  circuit-breaker: function \S+echo: circuit half-open -> open for 1500 ms: the trial call failed \(service_error \(ServiceUnavailableException\)\)/);
            await emu.clearFaults();
        }, { timeoutMs: ms(30000) });
    }
}, { timeoutSec: 120 });
