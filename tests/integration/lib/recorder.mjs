// Recording of a server's stdio traffic, one JSON record a line (the format is described in
// record-proxy.mjs). Shared by the recording proxy (sessions driven by the official clients)
// and by harness.mjs's DirectServer (raw stdin tests that spawn the server themselves).
import fs from 'node:fs';

export const MAX_IN_RECORD = 4 * 1024 * 1024; // longer client lines are kept as head + length

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class Recorder {
    constructor(file) {
        this.fd = fs.openSync(file, 'a');
    }
    record(obj) {
        if (this.fd === null) return;
        obj.t = Date.now();
        try {
            fs.writeSync(this.fd, JSON.stringify(obj) + '\n');
        } catch {
            /* disk full or directory gone: nothing sensible to do */
        }
    }
    close() {
        if (this.fd !== null) {
            try {
                fs.closeSync(this.fd);
            } catch {}
            this.fd = null;
        }
    }
}

function lineRecord(kind, buf, totalLen) {
    if (kind === 'in' && totalLen > MAX_IN_RECORD) {
        return { k: kind, len: totalLen, head: buf.subarray(0, 200).toString('latin1'), truncated: true };
    }
    try {
        return { k: kind, s: utf8.decode(buf) };
    } catch {
        return { k: kind, b64: buf.toString('base64'), bad_utf8: true };
    }
}

/* Splits a byte stream into '\n'-terminated lines and records each; onLine(buf, rec) is called
 * for every complete line (not for 'in' lines too long to keep). */
export class LineSplitter {
    constructor(recorder, kind, onLine = null) {
        this.recorder = recorder;
        this.kind = kind;
        this.onLine = onLine;
        this.parts = [];
        this.pending = 0;
        this.overflow = 0;
    }
    push(chunk) {
        let start = 0;
        for (;;) {
            const nl = chunk.indexOf(10, start);
            if (nl < 0) break;
            this.add(chunk.subarray(start, nl));
            this.flush(false);
            start = nl + 1;
        }
        if (start < chunk.length) this.add(chunk.subarray(start));
    }
    add(part) {
        if (this.kind === 'in' && this.pending + part.length > MAX_IN_RECORD + 1) {
            const room = Math.max(0, MAX_IN_RECORD + 1 - this.pending);
            if (room > 0) {
                this.parts.push(Buffer.from(part.subarray(0, room)));
                this.pending += room;
            }
            this.overflow += part.length - room;
            return;
        }
        this.parts.push(Buffer.from(part));
        this.pending += part.length;
    }
    flush(partial) {
        const buf = Buffer.concat(this.parts, this.pending);
        const total = this.pending + this.overflow;
        const rec = lineRecord(this.kind, buf, total);
        if (partial) rec.k = this.kind + '-partial';
        this.recorder.record(rec);
        this.parts = [];
        this.pending = 0;
        this.overflow = 0;
        if (!partial && this.onLine && !rec.truncated) this.onLine(buf, rec);
    }
    end() {
        if (this.pending || this.overflow) this.flush(true);
    }
}
