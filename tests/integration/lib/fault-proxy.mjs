// A fault proxy on loopback between the server (AWS_ENDPOINT_URL pointed at it) and the emulator:
// every request is forwarded unchanged (ListFunctions and the rest of discovery work), except an
// Invoke of the function a shape is armed for, which gets that broken HTTP answer instead and
// never reaches the emulator. It reads the raw bytes of each connection itself (keep-alive, one
// request after another), so an answer can be cut, reset or garbled at any byte.
//
//   const fp = await FaultProxy.start(emu.url);
//   fp.arm('echo', 'short-body');   // the next Invokes of echo get that shape (see SHAPES)
//   fp.arm('echo', 'short-body', { fresh: true })  // and the idle connections are closed first,
//                                   // so the Invoke comes on a new connection
//   fp.invokes('echo')              // Invokes of echo read so far (forwarded or not)
//   fp.disarm(); await fp.close();
//
// The shape 'no-read' acts before a request can be read: arming it closes the idle keep-alive
// connections, and every connection accepted afterwards is never read (fp.unread counts them).
import http from 'node:http';
import net from 'node:net';

const INVOKE = /^\/2015-03-31\/functions\/([^/?]+)\/invocations(?:\?|$)/;

/* the function of a name, a partial ARN or an ARN (the server invokes by ARN) */
const functionName = (s) => (s.startsWith('arn:') ? s.split(':')[6] : s.split(':')[0]);

const head = (status, headers) =>
    `HTTP/1.1 ${status}\r\n` + headers.map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n';
const reqId = () => `fault-${Date.now().toString(16)}-${Math.floor(Math.random() * 1e9).toString(16)}`;

/* Each shape answers a read Invoke on sock (a net.Socket), ctx: {timers, log}. */
export const SHAPES = {
    // a 200 promising 1000 bytes, 12 of them sent, then the connection closed
    'short-body': (sock) => {
        sock.end(head('200 OK', [['Content-Type', 'application/json'], ['Content-Length', '1000'], ['X-Amz-Request-Id', reqId()]]) + '{"greeting":');
    },
    // a 200 whose body comes one byte every 150 ms, far slower than the call timeout allows
    trickle: (sock, ctx) => {
        const body = '{"greeting":"' + 'x'.repeat(400) + '"}';
        sock.write(head('200 OK', [['Content-Type', 'application/json'], ['Content-Length', String(body.length)], ['X-Amz-Request-Id', reqId()]]));
        let i = 0;
        const timer = setInterval(() => {
            if (sock.destroyed || i >= body.length) {
                clearInterval(timer);
                return;
            }
            sock.write(body[i++]);
        }, 150);
        ctx.timers.add(timer);
        sock.on('close', () => clearInterval(timer));
    },
    // chunked, but the first chunk size is not hexadecimal
    'bad-chunk': (sock) => {
        sock.end(
            head('200 OK', [['Content-Type', 'application/json'], ['Transfer-Encoding', 'chunked'], ['X-Amz-Request-Id', reqId()]]) +
                'zz9\r\n{"greeting":"hi"}\r\n0\r\n\r\n',
        );
    },
    // the request was read, and the connection closed with no answer at all
    'close-no-response': (sock) => {
        sock.end();
    },
    // a reset (RST) in the middle of the header block
    'reset-in-headers': (sock) => {
        sock.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Amz-Req', () => sock.resetAndDestroy());
    },
    // not an HTTP status line at all
    'garbage-status': (sock) => {
        sock.end('SSH-2.0-OpenSSH_9.2 banana\r\nContent-Length: 2\r\n\r\n{}');
    },
    // an HTTP/1.1 status line whose code is not a number
    'bad-status-code': (sock) => {
        sock.end('HTTP/1.1 2OO OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}');
    },
    // a 200 with 3000 small header lines (about 60 kB: under libcurl's own limits)
    'many-headers': (sock) => {
        const hs = [['Content-Type', 'application/json'], ['Content-Length', '2'], ['X-Amz-Request-Id', reqId()]];
        for (let i = 0; i < 3000; i++) hs.push([`X-Pad-${i}`, 'padding']);
        sock.end(head('200 OK', hs) + '{}');
    },
    // a 200 with one header line of 400 kB
    'huge-header': (sock) => {
        sock.end(head('200 OK', [['Content-Type', 'application/json'], ['X-Pad', 'p'.repeat(400 * 1024)], ['Content-Length', '2']]) + '{}');
    },
    // a 200 announcing 100 MB (beyond the server's 64 MB limit); 1 kB of it sent, then the
    // connection is held open until the server gives up on it
    'too-large': (sock) => {
        sock.write(head('200 OK', [['Content-Type', 'application/json'], ['Content-Length', String(100 << 20)], ['X-Amz-Request-Id', reqId()]]));
        sock.write('{"pad":"' + 'x'.repeat(1024));
    },
    // the same from a gateway on the way: a 502 announcing 100 MB
    'too-large-502': (sock) => {
        sock.write(head('502 Bad Gateway', [['Content-Type', 'text/html'], ['Content-Length', String(100 << 20)]]));
        sock.write('<html>' + 'x'.repeat(1024));
    },
    // a 200 whose chunked body grows past the 64 MB limit, 1 MB a chunk, as fast as it is read
    'too-large-chunked': (sock) => {
        sock.write(head('200 OK', [['Content-Type', 'application/json'], ['Transfer-Encoding', 'chunked'], ['X-Amz-Request-Id', reqId()]]));
        const chunk = Buffer.from(`${(1 << 20).toString(16)}\r\n${'x'.repeat(1 << 20)}\r\n`);
        let sent = 0;
        const more = () => {
            while (!sock.destroyed && sent < 80) {
                sent++;
                if (!sock.write(chunk)) return void sock.once('drain', more);
            }
            if (!sock.destroyed) sock.end('0\r\n\r\n');
        };
        more();
    },
    // valid HTTP, a success (no X-Amz-Function-Error), but the body is not JSON (and not UTF-8)
    'not-json': (sock) => {
        const body = Buffer.concat([Buffer.from('<html>502 Bad Gateway</html> \x00 '), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(' {"half":')]);
        sock.end(
            Buffer.concat([
                Buffer.from(head('200 OK', [['Content-Type', 'application/json'], ['Content-Length', String(body.length)], ['X-Amz-Request-Id', reqId()]])),
                body,
            ]),
        );
    },
};

export class FaultProxy {
    static async start(upstream) {
        const fp = new FaultProxy(upstream);
        await new Promise((resolve, reject) => {
            fp.server.once('error', reject);
            fp.server.listen(0, '127.0.0.1', resolve);
        });
        fp.url = `http://127.0.0.1:${fp.server.address().port}`;
        return fp;
    }

    constructor(upstream) {
        this.upstream = new URL(upstream);
        this.sockets = new Set();
        this.idle = new Set(); // connections waiting for their next request
        this.timers = new Set();
        this.counts = new Map(); // function -> Invokes read
        this.requests = []; // {method, path, fn, shape, reused}
        this.unread = 0; // connections accepted and never read ('no-read')
        this.shape = null;
        this.fn = null;
        this.server = net.createServer((s) => this._accept(s));
    }

    arm(fn, shape, { fresh = false } = {}) {
        if (shape !== 'no-read' && !SHAPES[shape]) throw new Error(`unknown shape ${shape}`);
        this.fn = fn;
        this.shape = shape;
        if (fresh || shape === 'no-read') for (const s of this.idle) s.destroy();
    }
    disarm() {
        this.fn = this.shape = null;
    }
    invokes(fn) {
        return this.counts.get(fn) || 0;
    }

    _accept(sock) {
        this.sockets.add(sock);
        sock.on('close', () => {
            this.sockets.delete(sock);
            this.idle.delete(sock);
        });
        sock.on('error', () => {});
        if (this.shape === 'no-read') {
            // accepted by the kernel and here, never read: the request sits in the socket buffers
            this.unread++;
            sock.pause();
            return;
        }
        this.idle.add(sock);
        let buf = Buffer.alloc(0);
        let served = 0;
        let busy = false;
        const next = () => {
            if (busy || sock.destroyed) return;
            const end = buf.indexOf('\r\n\r\n');
            if (end < 0) return;
            const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
            const [method, target] = lines[0].split(' ');
            const headers = [];
            let len = 0;
            for (const l of lines.slice(1)) {
                const i = l.indexOf(':');
                const k = l.slice(0, i);
                const v = l.slice(i + 1).trim();
                headers.push([k, v]);
                if (k.toLowerCase() === 'content-length') len = Number(v);
            }
            if (buf.length < end + 4 + len) return;
            const body = buf.subarray(end + 4, end + 4 + len);
            buf = buf.subarray(end + 4 + len);
            busy = true;
            this.idle.delete(sock);
            const m = INVOKE.exec(target);
            const fn = m ? functionName(decodeURIComponent(m[1])) : null;
            if (fn) this.counts.set(fn, this.invokes(fn) + 1);
            const shape = fn && fn === this.fn ? this.shape : null;
            this.requests.push({ method, target, fn, shape, reused: served > 0 });
            served++;
            if (shape) {
                SHAPES[shape](sock, this);
                return;
            }
            this._forward(method, target, headers, body, (out) => {
                busy = false;
                if (sock.destroyed) return;
                sock.write(out);
                this.idle.add(sock);
                next();
            }, () => sock.destroy());
        };
        sock.on('data', (d) => {
            buf = Buffer.concat([buf, d]);
            next();
        });
    }

    _forward(method, target, headers, body, done, fail) {
        const h = {};
        for (const [k, v] of headers) if (!/^(connection|keep-alive|transfer-encoding)$/i.test(k)) h[k] = v;
        const req = http.request(
            { host: this.upstream.hostname, port: this.upstream.port, method, path: target, headers: h, agent: false },
            (res) => {
                const chunks = [];
                res.on('data', (c) => chunks.push(c));
                res.on('end', () => {
                    const b = Buffer.concat(chunks);
                    const hs = [];
                    for (let i = 0; i < res.rawHeaders.length; i += 2) {
                        const k = res.rawHeaders[i];
                        if (!/^(connection|keep-alive|transfer-encoding|content-length)$/i.test(k)) hs.push([k, res.rawHeaders[i + 1]]);
                    }
                    hs.push(['Content-Length', String(b.length)]);
                    done(Buffer.concat([Buffer.from(head(`${res.statusCode} ${res.statusMessage}`, hs), 'latin1'), b]));
                });
                res.on('error', fail);
            },
        );
        req.on('error', fail);
        req.end(body);
    }

    async close() {
        this.disarm();
        for (const t of this.timers) clearInterval(t);
        for (const s of this.sockets) s.destroy();
        await new Promise((r) => this.server.close(r));
    }
}
