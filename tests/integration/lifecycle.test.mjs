// The request lifecycle under an adversarial client, raw JSON-RPC on the server's pipes: the end
// of input with more calls than server.max_inflight, a queued call cancelled while every slot is
// busy, and cancels racing the responses of hundreds of calls that asked for progress.
import { BASE_CONF, assert, ms, run, until } from './lib/harness.mjs';

const J = (o) => JSON.stringify(o) + '\n';
const INIT = {
    jsonrpc: '2.0',
    id: 'init',
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'lifecycle', version: '1' } },
};
const MODERN_META = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} };
const call = (id, name, args, meta) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args, ...(meta ? { _meta: meta } : {}) } });
const cancel = (id) => ({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: 'test' } });

// Wait until the emulator has started an invocation of `name` since the stats `before`: its count
// of runs, not the runs in progress, which may still hold one an earlier test's server left behind
// (eof-grace's 8-second call outlives its server: counting it, sigterm-queued sent SIGTERM before
// its own call had reached the emulator).
async function untilStarted(emu, before, name, what) {
    const was = before.invocations?.[name] ?? 0;
    await until(async () => ((await emu.stats()).invocations?.[name] ?? 0) > was, ms(10000), what);
}

async function start(t, emu, label, conf) {
    const s = t.directServer({ label, emu, conf: BASE_CONF + conf });
    await s.request(INIT);
    await s.write(J({ jsonrpc: '2.0', method: 'notifications/initialized' }));
    await s.request({ jsonrpc: '2.0', id: 'list', method: 'tools/list' }); // the tools are known
    return s;
}

run('lifecycle', async (t) => {
    const emu = await t.emulator({ account: 'demo.json' });

    await t.test('end of input with 6 calls and max_inflight = 2: all 6 answered, then exit 0 at once (not after shutdown_grace)', async () => {
        const s = await start(t, emu, 'eof-queued', 'server = { max_inflight = 2; max_queued = 10; shutdown_grace = "20s"; };\n');
        for (let i = 0; i < 6; i++) await s.send(call(`q${i}`, 'slow', { seconds: 0.3 }));
        await s.waitForStderr(/tools\/call id="q5".*queued/, ms(10000), 'the sixth call to be queued');
        s.closeStdin();
        let last = 0;
        for (let i = 0; i < 6; i++) {
            const r = await s.waitFor((m) => m.msg && m.msg.id === `q${i}`, ms(10000), `the answer to q${i}`);
            assert.equal(r.msg.result?.isError, false, r.text);
            last = Math.max(last, r.t);
        }
        const ex = await s.exited;
        assert.equal(ex.code, 0);
        // the threads left waiting for a free slot were never woken: the drain hung until
        // shutdown_grace + 3 s and the server _exit()ed with a warning
        const after = ex.t - last;
        assert.ok(after < ms(2500), `the server exited ${after} ms after the last answer`);
        assert.doesNotMatch(s.stderr, /shutdown did not finish/);
    });

    await t.test('end of input, shutdown_grace = 1s, max_inflight = 1: the running call and the two queued are answered isError when the grace ends, saying which may have run', async () => {
        const s = await start(t, emu, 'eof-grace', 'server = { max_inflight = 1; max_queued = 10; shutdown_grace = "1s"; };\n');
        const before = await emu.stats();
        await s.send(call('long', 'slow', { seconds: 8 }));
        await s.waitForStderr(/tools\/call id="long".*queued/, ms(10000), 'the long call');
        await untilStarted(emu, before, 'slow', 'the long Invoke to run');
        await s.send(call('w1', 'slow', { seconds: 0.1 }));
        await s.send(call('w2', 'echo', { n: 2 }));
        await s.waitForStderr(/tools\/call id="w2".*queued/, ms(10000), 'the two calls behind it');
        const t0 = Date.now();
        s.closeStdin();
        const ex = await s.exited;
        const took = Date.now() - t0;
        assert.equal(ex.code, 0);
        assert.ok(took >= 900 && took < ms(4000), `exited ${took} ms after the end of input (grace 1 s)`);
        const answer = (id) => {
            const rs = s.messages.filter((m) => m.msg && m.msg.id === id);
            assert.equal(rs.length, 1, `${rs.length} answers to ${id}`);
            assert.equal(rs[0].msg.result?.isError, true, rs[0].text);
            return rs[0].msg.result.content[0].text;
        };
        assert.match(answer('long'), /server shut down while the call to slow was running.*may or may not have run/);
        assert.match(answer('w1'), /server shut down before the call to slow was sent: the function did not run/);
        assert.match(answer('w2'), /server shut down before the call to echo was sent: the function did not run/);
        const after = await emu.stats();
        assert.equal((after.invocations.slow ?? 0) - (before.invocations.slow ?? 0), 1, 'a queued call reached Lambda');
        assert.equal((after.invocations.echo ?? 0) - (before.invocations.echo ?? 0), 0, 'a queued call reached Lambda');
    });

    await t.test('SIGTERM with a call running and one queued: both answered isError at once', async () => {
        const s = await start(t, emu, 'sigterm-queued', 'server = { max_inflight = 1; shutdown_grace = "30s"; };\n');
        const before = await emu.stats();
        await s.send(call('long', 'slow', { seconds: 8 }));
        await untilStarted(emu, before, 'slow', 'the long Invoke to run');
        await s.send(call('w1', 'echo', { n: 1 }));
        await s.waitForStderr(/tools\/call id="w1".*queued/, ms(10000), 'the call behind it');
        const t0 = Date.now();
        s.kill('SIGTERM');
        const ex = await s.exited;
        assert.equal(ex.code, 0);
        assert.ok(Date.now() - t0 < 2500, `exit took ${Date.now() - t0} ms`);
        for (const [id, re] of [['long', /while the call to slow was running/], ['w1', /before the call to echo was sent/]]) {
            const rs = s.messages.filter((m) => m.msg && m.msg.id === id);
            assert.equal(rs.length, 1, `${rs.length} answers to ${id}`);
            assert.equal(rs[0].msg.result?.isError, true, rs[0].text);
            assert.match(rs[0].msg.result.content[0].text, re);
        }
    });

    await t.test('max_inflight = 1, max_queued = 1: a queued call cancelled frees its place at once; the next call waits and runs, the cancelled one never does', async () => {
        const s = await start(t, emu, 'cancel-queued', 'server = { max_inflight = 1; max_queued = 1; };\n');
        const before = await emu.stats();
        await s.send(call('run', 'slow', { seconds: 1.5 }));
        await s.waitForStderr(/tools\/call id="run".*queued/, ms(10000), 'the first call');
        await s.send(call('wait', 'slow', { seconds: 0.1 }));
        await s.waitForStderr(/tools\/call id="wait".*queued/, ms(10000), 'the second call to be queued');
        await s.send(cancel('wait'));
        await s.waitForStderr(/notifications\/cancelled requestId="wait"/, ms(10000), 'the cancel of the queued call');
        const from = s.mark();
        await s.send(call('next', 'echo', { n: 1 }));
        const r = await s.waitFor((m) => m.msg && m.msg.id === 'next', ms(10000), 'the answer to the call after the cancel', from);
        assert.equal(r.msg.result?.isError, false, `refused though the only queued call was cancelled: ${r.text}`);
        assert.deepEqual(r.msg.result.structuredContent, { n: 1 });
        const first = await s.waitFor((m) => m.msg && m.msg.id === 'run', ms(10000), 'the answer to the first call');
        assert.ok(first.t <= r.t, 'the queued call ran before the one holding the slot ended');
        assert.equal(s.messages.filter((m) => m.msg && m.msg.id === 'wait').length, 0, 'the cancelled call was answered');
        const after = await emu.stats();
        assert.equal((after.invocations.slow ?? 0) - (before.invocations.slow ?? 0), 1, 'the cancelled call reached Lambda');
        s.closeStdin();
        assert.equal((await s.exited).code, 0);
    });

    await t.test('400 calls with progress tokens of both eras, half of them cancelled at random moments: at most one answer each, every call not cancelled answered, no progress after an answer (nor for a token no call sent)', async () => {
        const s = await start(t, emu, 'cancel-race', 'server = { progress_interval = "2ms"; };\n');
        let seed = 12345;
        const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
        const N = 400;
        const cancelled = new Set();
        const byToken = new Map(); // JSON of the token -> the call's id
        for (let i = 0; i < N; i++) {
            const token = rnd() < 0.5 ? `tok-${i}` : 1000000 + i;
            byToken.set(JSON.stringify(token), i);
            const modern = rnd() < 0.5;
            const name = rnd() < 0.5 ? 'echo' : 'sleep_100ms';
            await s.send(call(i, name, { i }, { ...(modern ? MODERN_META : {}), progressToken: token }));
            if (rnd() < 0.5) {
                const wait = rnd() * 4;
                if (wait > 1) await new Promise((res) => setTimeout(res, wait));
                await s.send(cancel(i));
                cancelled.add(i);
            }
        }
        const end = await s.request({ jsonrpc: '2.0', id: 'end', method: 'ping' });
        s.closeStdin();
        assert.equal((await s.exited).code, 0);
        const answeredAt = new Map();
        let progress = 0;
        s.messages.forEach((m, idx) => {
            if (!m.msg) return;
            if (typeof m.msg.id === 'number' && !m.msg.method) {
                assert.ok(!answeredAt.has(m.msg.id), `a second answer for id ${m.msg.id}`);
                answeredAt.set(m.msg.id, idx);
            } else if (m.msg.method === 'notifications/progress') {
                progress++;
                const id = byToken.get(JSON.stringify(m.msg.params.progressToken));
                assert.ok(id !== undefined, `progress for a token no call sent: ${m.text}`);
                assert.ok(!answeredAt.has(id), `progress for call ${id} after its answer: ${m.text}`);
            }
        });
        for (let i = 0; i < N; i++) if (!cancelled.has(i)) assert.ok(answeredAt.has(i), `call ${i} (not cancelled) was never answered`);
        t.note(`${N} calls, ${cancelled.size} cancelled (${[...cancelled].filter((i) => answeredAt.has(i)).length} of them answered first), ${progress} progress notifications; the last ping at message ${s.messages.indexOf(end)}`);
    });
}, { timeoutSec: 180 });
