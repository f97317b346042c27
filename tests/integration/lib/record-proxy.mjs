#!/usr/bin/env node
// A recording stdio proxy: the official MCP clients spawn this instead of the server, so that
// every line the server writes to stdout (and every line the client writes to its stdin) is
// kept for the schema checks that run at the end of each test.
//
//   node record-proxy.mjs RECORD_DIR -- /path/to/lambda-mcp [server args...]
//
// It spawns the real server with the same environment, pipes stdin and stdout straight
// through (with backpressure), and appends one JSON record a line to
// RECORD_DIR/<proxy pid>.jsonl:
//   {"k":"start","pid":N,"argv":[...],"t":ms}       the server was spawned
//   {"k":"in","s":"<line>","t":ms}                  a line the client sent (huge ones: head + len)
//   {"k":"out","s":"<line>","t":ms}                 a line the server sent ("b64" instead of "s" when
//                                                   it is not valid UTF-8)
//   {"k":"out-partial",...}                         bytes after the last newline when stdout closed
//   {"k":"stdin-eof","t":ms}                        the client closed the server's stdin
//   {"k":"signal","sig":"SIGTERM","t":ms}           a signal the proxy received and forwarded
//   {"k":"exit","code":N|null,"signal":S|null,"t":ms}
// The server's stderr is appended to RECORD_DIR/<proxy pid>.stderr and forwarded to ours.
// The proxy exits with the server's status, or re-raises the signal that killed it.
// Several servers may record into one directory (the 2026 client spawns a probe sibling).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { LineSplitter, Recorder } from './recorder.mjs';

const FORWARDED = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2'];

const argv = process.argv.slice(2);
if (argv.length < 3 || argv[1] !== '--') {
    process.stderr.write('usage: record-proxy.mjs RECORD_DIR -- COMMAND [ARGS...]\n');
    process.exit(2);
}
const dir = argv[0];
const [cmd, ...args] = argv.slice(2);
fs.mkdirSync(dir, { recursive: true });
const base = path.join(dir, String(process.pid));
const rec = new Recorder(base + '.jsonl');
const errFd = fs.openSync(base + '.stderr', 'a');

const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: process.env });
rec.record({ k: 'start', pid: child.pid ?? null, argv: [cmd, ...args], proxy_pid: process.pid });

child.on('error', (e) => {
    rec.record({ k: 'spawn-error', error: String(e) });
    const msg = `record-proxy: cannot start ${cmd}: ${e}\n`;
    try {
        fs.writeSync(errFd, msg);
    } catch {}
    process.stderr.write(msg);
    process.exit(127);
});

// client -> server
const inLines = new LineSplitter(rec, 'in');
process.stdin.on('data', (chunk) => inLines.push(chunk));
process.stdin.on('end', () => {
    inLines.end();
    rec.record({ k: 'stdin-eof' });
    child.stdin.end();
});
process.stdin.on('error', () => child.stdin.end());
process.stdin.pipe(child.stdin, { end: false });
child.stdin.on('error', () => {
    /* EPIPE: the server is gone; its exit is recorded below */
});

// server -> client
const outLines = new LineSplitter(rec, 'out');
let clientGone = false;
process.stdout.on('error', () => {
    clientGone = true;
});
child.stdout.on('data', (chunk) => {
    outLines.push(chunk);
    if (!clientGone && !process.stdout.write(chunk)) {
        child.stdout.pause();
        process.stdout.once('drain', () => child.stdout.resume());
    }
});
child.stdout.on('end', () => outLines.end());

child.stderr.on('data', (chunk) => {
    try {
        fs.writeSync(errFd, chunk);
    } catch {}
    try {
        process.stderr.write(chunk);
    } catch {}
});
process.stderr.on('error', () => {});

for (const sig of FORWARDED) {
    process.on(sig, () => {
        rec.record({ k: 'signal', sig });
        try {
            child.kill(sig);
        } catch {}
    });
}

child.on('close', (code, signal) => {
    outLines.end();
    rec.record({ k: 'exit', code, signal });
    rec.close();
    try {
        fs.closeSync(errFd);
    } catch {}
    let done = false;
    const finish = () => {
        if (done) return;
        done = true;
        if (signal) {
            for (const s of FORWARDED) process.removeAllListeners(s);
            process.kill(process.pid, signal);
            setTimeout(() => process.exit(129), 1000).unref();
        } else {
            process.exit(code ?? 1);
        }
    };
    // let what we forwarded reach the client before we go
    if (clientGone || process.stdout.writableLength === 0) finish();
    else process.stdout.once('drain', finish);
    setTimeout(finish, 2000).unref();
});
