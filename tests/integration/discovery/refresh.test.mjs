// Live refresh (core/app.c, core/mcp/server.c): discovery every discovery.refresh_interval and on
// SIGHUP (which re-reads the conf file). When the tool set changes, an initialized legacy session
// gets notifications/tools/list_changed, and every 2026-07-28 subscriptions/listen stream that
// asked for toolsListChanged gets it tagged with its subscription id, after the acknowledgement;
// nothing is sent when nothing changed. A broken conf on SIGHUP and a failed discovery keep the
// previous tools (and say so); a call in flight when its tool disappears still finishes.
import fs from 'node:fs';
import { assert, ms, run, until } from '../lib/harness.mjs';
import { account, listAll, names, resultText, wire } from './common.mjs';

const SUB_ID = 'io.modelcontextprotocol/subscriptionId';
const INTERVAL_MS = 200;

const confText = (prefix) => `# tests/integration/discovery/refresh.test.mjs
credentials = ( { plugin = "env"; } );
aws = { max_attempts = 2; retry_base = "5ms"; };
discovery = {
    refresh_interval = "${INTERVAL_MS}ms";
    plugins = ( { plugin = "prefix"; prefix = "${prefix}"; } );
};
`;
// a syntax error on line 4
const BROKEN_CONF = `credentials = ( { plugin = "env"; } );
discovery = {
    refresh_interval = "${INTERVAL_MS}ms";
    plugins = ( { plugin = = "prefix"; prefix = "svc-"; } );
};
`;

run('discovery-refresh', async (t) => {
    const emu = await t.emulator({
        account: account({
            functions: [
                { name: 'app-one', handler: 'echo', description: 'One' },
                { name: 'app-two', handler: 'echo', description: 'Two' },
                { name: 'app-slow', handler: 'slow', description: 'Sleeps event.seconds', timeout: 30 },
                { name: 'svc-alpha', handler: 'echo', description: 'Alpha' },
            ],
        }),
    });
    const confFile = t.writeFile('conf/refresh.conf', confText('app-'));

    // ---- a legacy session (the SDK sends notifications/initialized on connect) and a 2026-07-28 one
    const legacy = await t.legacyClient({ label: 'legacy', emu, confFile, logLevel: 'info' });
    const legacyChanges = [];
    legacy.client.fallbackNotificationHandler = async (n) => {
        if (n.method === 'notifications/tools/list_changed') legacyChanges.push({ n, at: Date.now() });
    };
    const modern = await t.modernClient({ label: 'modern', emu, confFile, logLevel: 'info' });
    const modernChanges = [];
    modern.client.setNotificationHandler('notifications/tools/list_changed', (n) => {
        modernChanges.push({ n, at: Date.now() });
    });

    const serverPid = (s, method) => {
        const p = s.session.processes().filter((x) => x.methods.includes(method));
        assert.equal(p.length, 1, `one server handled ${method}: ${JSON.stringify(s.session.processes())}`);
        return p[0].pid;
    };
    const stderrOf = (s, pid) => s.session.stderrFiles().map((f) => fs.readFileSync(f, 'utf8')).join('').split('\n').filter((l) => l.includes(`lambda-mcp[${pid}]`));
    const count = (lines, re) => lines.filter((l) => re.test(l)).length;
    /* where each server's log is now: wait for lines logged after it */
    const mark = () => ({ legacy: stderrOf(legacy, legacyPid).length, modern: stderrOf(modern, modernPid).length });
    /* wait until the server logged `n` lines matching re after `from` (a mark(), default now) */
    async function logged(s, pid, re, n = 1, what = String(re), from) {
        const start = from ? from[s === legacy ? 'legacy' : 'modern'] : stderrOf(s, pid).length;
        await until(() => count(stderrOf(s, pid).slice(start), re) >= n, ms(10000), `${s.session.label}: ${what}`);
    }
    const NO_CHANGE = /info +discovery: scheduled discovery: .*; no change$/;

    let sub;
    let legacyPid;
    let modernPid;
    await t.test('initial tools (prefix app-, stripped); the 2026-07-28 client opens subscriptions/listen for toolsListChanged', async () => {
        assert.deepEqual(names(await listAll(legacy.client)), ['one', 'slow', 'two']);
        assert.deepEqual(names(await listAll(modern.client, { modern: true })), ['one', 'slow', 'two']);
        sub = await modern.client.listen({ toolsListChanged: true });
        assert.deepEqual(sub.honoredFilter, { toolsListChanged: true });
        legacyPid = serverPid(legacy, 'notifications/initialized');
        modernPid = serverPid(modern, 'subscriptions/listen');
    });

    const listenId = () => modern.session.inMessages().find((m) => m.msg?.method === 'subscriptions/listen').msg.id;

    await t.test('the acknowledgement names the subscription and what it grants', () => {
        const ack = wire(modern.session).filter((m) => m.msg.method === 'notifications/subscriptions/acknowledged');
        assert.equal(ack.length, 1);
        assert.deepEqual(ack[0].msg.params.notifications, { toolsListChanged: true });
        assert.deepEqual(ack[0].msg.params._meta[SUB_ID], listenId());
    });

    await t.test('nothing changed: scheduled refreshes run ("no change") and nothing is sent to either client', async () => {
        const m = mark();
        await logged(legacy, legacyPid, NO_CHANGE, 2, 'two refreshes without change', m);
        await logged(modern, modernPid, NO_CHANGE, 2, 'two refreshes without change', m);
        assert.equal(legacyChanges.length, 0);
        assert.equal(modernChanges.length, 0);
        const sent = [...wire(legacy.session), ...wire(modern.session)].filter((m) => m.msg.method === 'notifications/tools/list_changed');
        assert.equal(sent.length, 0, 'a list_changed was written');
    });

    await t.test(`discovery.refresh_interval (${INTERVAL_MS} ms) is honoured: 2 to 8 scheduled discoveries in 1 s`, async () => {
        const before = count(stderrOf(legacy, legacyPid), /scheduled discovery/);
        await new Promise((r) => setTimeout(r, 1000));
        const n = count(stderrOf(legacy, legacyPid), /scheduled discovery/) - before;
        t.note(`scheduled discoveries in 1 s with refresh_interval ${INTERVAL_MS} ms: ${n}`);
        assert.ok(n >= 2 && n <= 8, `${n} scheduled discoveries in 1 s`);
    });

    // two sessions that must hear nothing: a legacy one that never sent notifications/initialized,
    // and a 2026-07-28 listen stream that did not ask for toolsListChanged
    const PV = 'io.modelcontextprotocol/protocolVersion';
    const quietLegacy = await t.rpcSession({ label: 'legacy-not-initialized', flavor: 'legacy', emu, confFile });
    const quietModern = await t.rpcSession({ label: 'listen-without-tools', flavor: 'modern', emu, confFile });
    await t.test('control sessions: a legacy initialize without notifications/initialized; a listen stream without toolsListChanged', async () => {
        const init = await quietLegacy.request('initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'quiet', version: '1' } });
        assert.ok(init.result, JSON.stringify(init));
        await quietModern.send({ jsonrpc: '2.0', id: 'quiet-listen', method: 'subscriptions/listen', params: { notifications: {}, _meta: { [PV]: '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} } } });
        const ack = await quietModern.waitFor((m) => m.method === 'notifications/subscriptions/acknowledged', ms(10000), 'the acknowledgement');
        assert.deepEqual(ack.params.notifications, {}, 'nothing granted');
        // initialize and listen are answered while the first discovery runs: let it end before
        // the function is added, or it could find the new function itself (no change to hear)
        for (const rpc of [quietLegacy, quietModern])
            await until(() => /info +discovery: initial discovery: /.test(rpc.session.stderrText()), ms(10000), `${rpc.session.label}: its first discovery`);
    });

    await t.test('a function added (emulator control API): both clients get list_changed, and the next tools/list has it', async () => {
        await emu.putFunctions([{ name: 'app-three', handler: 'echo', description: 'Three (added)' }]);
        await until(() => legacyChanges.length >= 1 && modernChanges.length >= 1, ms(10000), 'list_changed on both clients');
        assert.deepEqual(names(await listAll(legacy.client)), ['one', 'slow', 'three', 'two']);
        assert.deepEqual(names(await listAll(modern.client, { modern: true })), ['one', 'slow', 'three', 'two']);
        const r = await legacy.client.callTool({ name: 'three', arguments: { n: 3 } });
        assert.deepEqual(r.structuredContent, { n: 3 });
    });

    await t.test('on the wire: the legacy notification is plain; the 2026-07-28 one comes after the acknowledgement, tagged with the subscription id', () => {
        const l = wire(legacy.session).filter((m) => m.msg.method === 'notifications/tools/list_changed');
        assert.equal(l.length, 1);
        assert.equal(l[0].msg.params?._meta?.[SUB_ID], undefined);
        const init = legacy.session.inMessages().find((m) => m.msg?.method === 'notifications/initialized');
        assert.ok(init && init.t <= l[0].t, 'sent to a session that had sent notifications/initialized');
        const w = wire(modern.session).filter((m) => m.msg.method);
        const ackAt = w.findIndex((m) => m.msg.method === 'notifications/subscriptions/acknowledged');
        const changedAt = w.findIndex((m) => m.msg.method === 'notifications/tools/list_changed');
        assert.ok(ackAt >= 0 && changedAt > ackAt, `acknowledged at ${ackAt}, list_changed at ${changedAt}`);
        assert.deepEqual(w[changedAt].msg.params._meta[SUB_ID], listenId());
        assert.equal(modernChanges[0].n.params._meta[SUB_ID], listenId());
    });

    await t.test('the same change sends nothing to the uninitialized legacy session nor to the listen stream without toolsListChanged', async () => {
        for (const rpc of [quietLegacy, quietModern]) {
            // the initial discovery notifies nobody (what waited for it gets its result): the
            // line is the function added
            await until(() => (rpc.session.stderrText().match(/tools changed: notified 0 listener\(s\)/g) || []).length >= 1, ms(10000), `${rpc.session.label}: its server saw the change`);
            assert.deepEqual(rpc.messages.filter((m) => m.method === 'notifications/tools/list_changed'), [], rpc.session.label);
        }
        await quietLegacy.session.close();
        await quietModern.session.close();
        // at the end of input the server ends the listen stream with its (empty) result
        const end = quietModern.messages.find((m) => m.id === 'quiet-listen');
        assert.ok(end && end.result, `the listen request was answered at shutdown: ${JSON.stringify(end)}`);
    });

    await t.test('one change, one notification per listener: the next refreshes send nothing more', async () => {
        const m = mark();
        await logged(legacy, legacyPid, NO_CHANGE, 2, 'two more refreshes', m);
        await logged(modern, modernPid, NO_CHANGE, 2, 'two more refreshes', m);
        assert.equal(legacyChanges.length, 1);
        assert.equal(modernChanges.length, 1);
    });

    await t.test('a call in flight when a refresh removes its tool finishes normally (both eras)', async () => {
        const seconds = (ms(1500) / 1000).toFixed(2);
        const calls = [
            legacy.client.callTool({ name: 'slow', arguments: { seconds: Number(seconds) } }, undefined, { timeout: ms(20000) }),
            modern.client.callTool({ name: 'slow', arguments: { seconds: Number(seconds) } }, { timeout: ms(20000) }),
        ];
        const done = calls.map((p) => p.then((r) => ({ r, at: Date.now() })));
        await until(async () => ((await emu.stats()).invocations_in_progress || {})['app-slow'] === 2, ms(5000), 'both invocations running');
        await emu.control('POST', '/__emu/functions', { remove: ['app-slow'] });
        await until(() => legacyChanges.length >= 2 && modernChanges.length >= 2, ms(10000), 'list_changed after the removal');
        assert.deepEqual(names(await listAll(legacy.client)), ['one', 'three', 'two']);
        const [l, m] = await Promise.all(done);
        for (const [x, changes] of [
            [l, legacyChanges],
            [m, modernChanges],
        ]) {
            assert.equal(x.r.isError, false, resultText(x.r));
            assert.equal(x.r.structuredContent.slept, Number(seconds));
            assert.ok(changes[1].at <= x.at, 'the tool was gone (list_changed) before the call finished');
        }
    });

    await t.test('SIGHUP with an edited conf (prefix svc-): the tool set changes and both clients are notified', async () => {
        fs.writeFileSync(confFile, confText('svc-'));
        const l0 = legacyChanges.length;
        const m0 = modernChanges.length;
        process.kill(legacyPid, 'SIGHUP');
        process.kill(modernPid, 'SIGHUP');
        await until(() => legacyChanges.length > l0 && modernChanges.length > m0, ms(10000), 'list_changed after SIGHUP');
        assert.deepEqual(names(await listAll(legacy.client)), ['alpha']);
        assert.deepEqual(names(await listAll(modern.client, { modern: true })), ['alpha']);
        const err = stderrOf(legacy, legacyPid).join('\n');
        assert.ok(err.includes(`info  lambda-mcp: SIGHUP: re-reading ${confFile}`), err.slice(-2000));
        assert.match(err, /info +discovery: reload discovery: 1 tool from \d+ listed functions? \(1 page\)/);
    });

    await t.test('SIGHUP with a broken conf: the old tools stay, stderr gives file:line, nobody is notified', async () => {
        fs.writeFileSync(confFile, BROKEN_CONF);
        const l0 = legacyChanges.length;
        const m0 = modernChanges.length;
        const failed = new RegExp(`error +lambda-mcp: reload failed, keeping the current configuration: ${confFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4: syntax error`);
        const m = mark();
        process.kill(legacyPid, 'SIGHUP');
        process.kill(modernPid, 'SIGHUP');
        await logged(legacy, legacyPid, failed, 1, 'the reload error', m);
        await logged(modern, modernPid, failed, 1, 'the reload error', m);
        // the refresh goes on with the previous conf
        const m2 = mark();
        await logged(legacy, legacyPid, NO_CHANGE, 1, 'a refresh after the failed reload', m2);
        await logged(modern, modernPid, NO_CHANGE, 1, 'a refresh after the failed reload', m2);
        assert.deepEqual(names(await listAll(legacy.client)), ['alpha']);
        assert.deepEqual(names(await listAll(modern.client, { modern: true })), ['alpha']);
        assert.equal(legacyChanges.length, l0);
        assert.equal(modernChanges.length, m0);
    });

    await t.test('a discovery failure (ListFunctions faults beyond the retries) keeps the previous tools and logs so; nobody is notified', async () => {
        const l0 = legacyChanges.length;
        const m0 = modernChanges.length;
        const m = mark();
        await emu.addFaults([{ operation: 'ListFunctions', status: 500 }]);
        const failed = /error +discovery: scheduled discovery failed, keeping the previous tool set: ListFunctions page 1: ListFunctions: ServiceException: /;
        await logged(legacy, legacyPid, failed, 1, 'a failed scheduled discovery', m);
        await logged(modern, modernPid, failed, 1, 'a failed scheduled discovery', m);
        assert.deepEqual(names(await listAll(legacy.client)), ['alpha']);
        assert.deepEqual(names(await listAll(modern.client, { modern: true })), ['alpha']);
        const m2 = mark();
        await emu.clearFaults();
        await logged(legacy, legacyPid, NO_CHANGE, 1, 'a good refresh after the faults are gone', m2);
        await logged(modern, modernPid, NO_CHANGE, 1, 'a good refresh after the faults are gone', m2);
        assert.equal(legacyChanges.length, l0);
        assert.equal(modernChanges.length, m0);
        const r = await legacy.client.callTool({ name: 'alpha', arguments: { still: 'served' } });
        assert.deepEqual(r.structuredContent, { still: 'served' });
    });

    await t.test('every list_changed written went to a listener: legacy plain, 2026-07-28 tagged with its subscription', () => {
        const l = wire(legacy.session).filter((m) => m.msg.method === 'notifications/tools/list_changed');
        const m = wire(modern.session).filter((x) => x.msg.method === 'notifications/tools/list_changed');
        assert.equal(l.length, legacyChanges.length);
        assert.equal(m.length, modernChanges.length);
        for (const x of m) assert.deepEqual(x.msg.params._meta[SUB_ID], listenId());
        t.note(`list_changed: legacy ${l.length}, 2026-07-28 ${m.length}`);
    });
    // the subscription stays open: at the end of input the server closes it with the empty
    // subscriptions/listen result (checked by the end-of-test validation: every request answered)
}, { timeoutSec: 60 });
