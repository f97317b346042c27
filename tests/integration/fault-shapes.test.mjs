// Broken HTTP answers to Lambda Invoke, end to end: a fault proxy (lib/fault-proxy.mjs) between
// the server and the emulator forwards discovery unchanged and answers an Invoke of `echo` with
// one broken shape at a time. For each, through the official client: the call ends with isError
// (not a JSON-RPC error, no crash, no hang past the call timeout) and a message that tells
// whether the function may have run; an Invoke that reached the proxy is not sent again; the
// next normal call on the same server succeeds. The end-of-test checks prove stdout held only
// valid JSON-RPC and stderr only log lines (and no sanitizer report).
import { BASE_CONF, assert, ms, run } from './lib/harness.mjs';
import { FaultProxy } from './lib/fault-proxy.mjs';

const text = (r) => (r.content || []).map((c) => c.text).join('\n');

const MAY_HAVE_RUN = /the function may or may not have run, so the call was not retried/;
const MAY_BE_RUNNING = /did not answer within [\d.]+ s, the call timeout; the function may still be running in AWS/;
const SAYS_NOT_RUN = /never sent|did not run|was not called|cannot reach/i;

run('fault-shapes', async (t) => {
    const emu = await t.emulator();
    const fp = await FaultProxy.start(emu.url);
    t.note(`fault proxy ${fp.url} -> emulator ${emu.url}`);
    // a short call timeout for every tool keeps the shapes that hang fast; max_attempts 3 so a
    // retry would show; no re-discovery during the test
    const callTimeoutMs = ms(1000);
    const { client, session } = await t.legacyClient({
        label: 'fault-shapes',
        emu,
        env: { AWS_ENDPOINT_URL: fp.url, LAMBDA_MCP_CALL_TIMEOUT: `${callTimeoutMs}ms` },
        conf: BASE_CONF + 'aws = { max_attempts = 3; retry_base = "10ms"; };\n',
    });
    assert.equal((await client.listTools()).tools.length, 9, 'discovery through the proxy');

    /* One shape: arm it for echo, call echo, check the outcome, then a normal echo call. */
    const shape = (name, title, check, { fresh = false, label = name } = {}) =>
        t.test(`${label}: ${title}`, async () => {
            const before = fp.invokes('echo');
            const unreadBefore = fp.unread;
            fp.arm('echo', name, { fresh });
            const t0 = Date.now();
            let r;
            try {
                r = await client.callTool({ name: 'echo', arguments: { shape: name } }, undefined, { timeout: ms(8000) });
            } finally {
                fp.disarm();
            }
            const took = Date.now() - t0;
            const n = fp.invokes('echo') - before;
            const unread = fp.unread - unreadBefore;
            const req = fp.requests.filter((x) => x.shape === name).at(-1);
            const conn = req ? (req.reused ? ', on a reused connection' : ', on a new connection') : '';
            t.note(`${label}: ${took} ms, ${n} Invoke read by the proxy${conn}, ${unread} connection never read\n  -> ${text(r).replace(/[^\x20-\x7e]/g, '?')}`);
            assert.equal(typeof r.isError, 'boolean', 'not a CallToolResult');
            if (fresh) assert.equal(req && req.reused, false, 'the Invoke came on a reused connection');
            check(r, { took, n, unread });
            // the same tool works again at once
            const ok = await client.callTool({ name: 'echo', arguments: { after: name } });
            assert.equal(ok.isError, false, `the next call failed: ${text(ok)}`);
            assert.deepEqual(ok.structuredContent, { after: name });
        });

    /* the answer was cut after the request went out: may have run, sent once */
    const mayHaveRun = (r, { n }) => {
        assert.equal(r.isError, true);
        assert.match(text(r), MAY_HAVE_RUN);
        assert.doesNotMatch(text(r), SAYS_NOT_RUN);
        assert.equal(n, 1, `the Invoke reached the proxy ${n} times`);
    };
    /* the answer began with a 200, so the function ran (Invoke sends its status line when the
       function has finished): its result is lost, and calling again would run it again */
    const ranButLost = (r, { n }) => {
        assert.equal(r.isError, true);
        assert.match(text(r), /^.*echo ran \(AWS Lambda answered HTTP 200\), but .*, so its result is lost; the call was not retried \(calling again runs the function again\)/s);
        assert.doesNotMatch(text(r), SAYS_NOT_RUN);
        assert.doesNotMatch(text(r), /may or may not have run|still be running/);
        assert.equal(n, 1, `the Invoke reached the proxy ${n} times`);
    };
    /* within the call timeout (plus slack for a loaded host) */
    const inTime = (took) => assert.ok(took < callTimeoutMs + ms(1500), `the call took ${took} ms with a ${callTimeoutMs} ms timeout`);

    // (1) a 200 promising more than it sends
    await shape('short-body', 'a 200 with Content-Length beyond the body, then close', (r, x) => {
        ranButLost(r, x);
        assert.match(text(r), /the connection failed before its whole answer came/);
    });
    // (2) slower than the call timeout
    // (the function did answer, slowly: not "did not answer", not "may still be running")
    await shape('trickle', 'a 200 whose body comes a byte at a time, slower than the call timeout', (r, x) => {
        ranButLost(r, x);
        assert.match(text(r), /but its whole answer did not come within [\d.]+ s, the call timeout/);
        assert.doesNotMatch(text(r), /did not answer/);
        inTime(x.took);
    });
    // (3)
    await shape('bad-chunk', 'a 200 in chunked encoding with an invalid chunk size', ranButLost);
    // (4) on the kept-alive connection (libcurl would send again by itself: refused) and on a new one
    await shape('close-no-response', 'the request read, the connection closed with no answer', (r, x) => {
        mayHaveRun(r, x);
        assert.match(text(r), /the connection closed without a response/);
    });
    await shape('close-no-response', 'the request read on a new connection, closed with no answer', (r, x) => {
        mayHaveRun(r, x);
        assert.match(text(r), /Empty reply from server/);
    }, { fresh: true, label: 'close-no-response (new connection)' });
    // (5)
    // (the status line, 200, came before the reset)
    await shape('reset-in-headers', 'a connection reset in the middle of the headers of a 200', (r, x) => {
        ranButLost(r, x);
        assert.match(text(r), /reset/i);
    });
    await shape('reset-in-headers', 'a reset in the middle of the headers of a 200 on a new connection', ranButLost, {
        fresh: true,
        label: 'reset-in-headers (new connection)',
    });
    // (6)
    await shape('garbage-status', 'a status line that is not HTTP', mayHaveRun);
    await shape('bad-status-code', 'an HTTP/1.1 status line with a code that is not a number', mayHaveRun);
    // (7) beyond the limits: more than 1000 header lines (http.c), a header line beyond libcurl's
    // 100 kB, a body beyond 64 MB announced (Content-Length) or streamed (chunked)
    // (the size limits of the header block are told as such: neither a 64 MB body nor libcurl's
    // "Out of memory" for a line it will not take)
    await shape('many-headers', 'a 200 with 3000 header lines', (r, { n }) => {
        assert.equal(r.isError, true);
        assert.match(text(r), /echo ran, but its response is larger than lambda-mcp accepts, so it was discarded: .*the response has more than 1000 header lines/);
        assert.doesNotMatch(text(r), /67108864/);
        assert.equal(n, 1);
    });
    await shape('huge-header', 'a 200 with a 400 kB header line', (r, { n }) => {
        assert.equal(r.isError, true);
        assert.match(text(r), /echo ran, but its response is larger than lambda-mcp accepts, so it was discarded: .*a response header line is longer than 102400 bytes/);
        assert.doesNotMatch(text(r), /memory/i);
        assert.equal(n, 1);
    });
    await shape('too-large', 'a 200 announcing a body beyond the 64 MB limit', (r, { n }) => {
        assert.equal(r.isError, true);
        assert.match(text(r), /echo ran, but its response is larger than lambda-mcp accepts, so it was discarded: .*exceeds 67108864 bytes/);
        assert.equal(n, 1);
    });
    // (an error answer that is too large does not show that the function ran)
    await shape('too-large-502', 'a 502 announcing a body beyond the 64 MB limit', (r, x) => {
        mayHaveRun(r, x);
        assert.match(text(r), /the answer to the call to echo \(HTTP 502\) is larger than lambda-mcp accepts, so it was discarded/);
        assert.doesNotMatch(text(r), /echo ran/);
    });
    await shape('too-large-chunked', 'a 200 whose chunked body grows beyond the 64 MB limit', (r, { n }) => {
        assert.equal(r.isError, true);
        assert.match(text(r), /echo ran, but its response is larger than lambda-mcp accepts, so it was discarded: .*exceeds 67108864 bytes/);
        assert.equal(n, 1);
    });
    // (8) Lambda passes on whatever bytes a function (a custom runtime) answers: a success whose
    // payload is not JSON is the function's own answer, given as text (not isError), as it came
    await shape('not-json', 'a success whose body is not JSON (nor UTF-8)', (r, { n }) => {
        assert.equal(r.isError, false, text(r));
        assert.match(text(r), /^<html>502 Bad Gateway<\/html> \x00 .* \{"half":$/s);
        assert.equal(r.structuredContent, undefined);
        assert.equal(n, 1);
    });
    // (9) nothing read: the request sits in the socket buffers, so it may have gone out as far as
    // the server can tell
    await shape('no-read', 'the connection accepted and never read', (r, { n, unread, took }) => {
        assert.equal(r.isError, true);
        assert.match(text(r), MAY_BE_RUNNING);
        assert.equal(n, 0);
        assert.equal(unread, 1, `${unread} connections accepted while not reading`);
        inTime(took);
    });

    await t.test('the server still serves: ping, tools/list, greet', async () => {
        assert.deepEqual(await client.ping(), {});
        assert.equal((await client.listTools()).tools.length, 9);
        const r = await client.callTool({ name: 'greet', arguments: { name: 'after' } });
        assert.deepEqual(r.structuredContent, { greeting: 'Hello, after!' });
    });
    await t.test('stdout held JSON-RPC messages only (the schema check below looks at each in full)', () => {
        const out = session.outMessages();
        assert.ok(out.length > 20, `${out.length} messages`);
        for (const m of out) assert.ok(m.msg && m.msg.jsonrpc === '2.0', `not JSON-RPC on stdout: ${m.text.slice(0, 200)}`);
    });
    await session.close();
    await fp.close();
}, { timeoutSec: 60 });
