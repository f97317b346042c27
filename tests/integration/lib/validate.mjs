// Validation of recorded server traffic against the official MCP JSON Schemas
// (tests/data/mcp-schema/<revision>/schema.json, JSON Schema 2020-12, checked with ajv).
//
// For each server process (one .jsonl recording, see recorder.mjs) every line the server wrote
// must be a UTF-8 JSON-RPC 2.0 message; requests the client sent are tracked so that each
// response can be checked against the result type of its request's method, in the era the
// request was made in:
//   legacy (no _meta protocol version; 2024-11-05 .. 2025-11-25): the 2025-11-25 schema
//   modern (params._meta["io.modelcontextprotocol/protocolVersion"]): the 2026-07-28 schema
import fs from 'node:fs';
import path from 'node:path';

export const META_PROTOCOL_VERSION = 'io.modelcontextprotocol/protocolVersion';
export const LEGACY_SCHEMA = '2025-11-25';
export const MODERN_SCHEMA = '2026-07-28';

/* result type of each method, per era: [definition of the whole response message?, of the result] */
const LEGACY_RESULTS = {
    initialize: { result: 'InitializeResult' },
    ping: { result: 'EmptyResult' },
    'tools/list': { result: 'ListToolsResult' },
    'tools/call': { result: 'CallToolResult' },
    'logging/setLevel': { result: 'EmptyResult' },
};
const MODERN_RESULTS = {
    'server/discover': { message: 'DiscoverResultResponse', result: 'DiscoverResult' },
    'tools/list': { message: 'ListToolsResultResponse', result: 'ListToolsResult' },
    'tools/call': { message: 'CallToolResultResponse', result: 'CallToolResult' },
    'subscriptions/listen': { message: 'SubscriptionsListenResultResponse', result: 'SubscriptionsListenResult' },
    ping: { result: 'EmptyResult' },
};
/* JSON-RPC error codes with their own definition in the 2026-07-28 schema */
const MODERN_ERRORS = {
    '-32700': 'ParseError',
    '-32600': 'InvalidRequestError',
    '-32601': 'MethodNotFoundError',
    '-32602': 'InvalidParamsError',
    '-32603': 'InternalError',
};

export class SchemaSet {
    constructor({ Ajv2020, addFormats, schemaDir }) {
        this.ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
        addFormats(this.ajv);
        this.defs = {};
        for (const rev of [LEGACY_SCHEMA, MODERN_SCHEMA]) {
            const file = path.join(schemaDir, rev, 'schema.json');
            const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
            doc.$id = `urn:mcp-schema:${rev}`;
            this.ajv.addSchema(doc);
            this.defs[rev] = new Set(Object.keys(doc.$defs));
        }
        this.cache = new Map();
    }
    has(rev, def) {
        return this.defs[rev].has(def);
    }
    validator(rev, def) {
        const key = `${rev}#${def}`;
        let v = this.cache.get(key);
        if (!v) {
            if (!this.has(rev, def)) throw new Error(`the ${rev} schema has no definition ${def}`);
            v = this.ajv.compile({ $ref: `urn:mcp-schema:${rev}#/$defs/${def}` });
            this.cache.set(key, v);
        }
        return v;
    }
    /* null when valid, else a short description of what is wrong */
    check(rev, def, value) {
        const v = this.validator(rev, def);
        if (v(value)) return null;
        return (v.errors || [])
            .slice(0, 6)
            .map((e) => `${e.instancePath || '/'} ${e.message}${e.params ? ' ' + JSON.stringify(e.params) : ''}`)
            .join('; ');
    }
}

export function readRecording(file) {
    const out = [];
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    for (const line of text.split('\n')) {
        if (!line) continue;
        try {
            out.push(JSON.parse(line));
        } catch {
            out.push({ k: 'corrupt', s: line });
        }
    }
    return out;
}

export function recordText(r) {
    if (typeof r.s === 'string') return r.s;
    if (typeof r.b64 === 'string') return Buffer.from(r.b64, 'base64').toString('latin1');
    return r.head || '';
}

const short = (s, n = 400) => (s.length > n ? s.slice(0, n) + `… (${s.length} chars)` : s);
const isId = (v) => typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v));
const idKey = (v) => (typeof v === 'string' ? 's:' + v : 'n:' + v);

/* Parses the server's output lines of one recording: [{rec, msg|null, error|null}] */
export function outMessages(records) {
    const out = [];
    for (const r of records) {
        if (r.k !== 'out') continue;
        if (r.bad_utf8) {
            out.push({ rec: r, msg: null, error: 'not valid UTF-8' });
            continue;
        }
        try {
            out.push({ rec: r, msg: JSON.parse(r.s), error: null });
        } catch (e) {
            out.push({ rec: r, msg: null, error: `not JSON (${e.message})` });
        }
    }
    return out;
}

/**
 * Checks one server process's recording. Returns { problems: [string], stats }.
 * opts.allowUnanswered: requests left without a response are not a problem (killed servers)
 * opts.expectExit: the exit code expected (default 0); null: do not check the exit
 */
export function validateRecording(records, schemas, opts = {}) {
    const problems = [];
    const stats = { in: 0, out: 0, responses: 0, notifications: 0, requests: 0, pid: null, exit: null };
    const pending = new Map(); // idKey -> {method, era}
    const answered = new Set();
    const cancelled = new Set(); // idKey of requests the client cancelled: no answer is due
    let era = 'legacy';
    let seq = 0;
    let idless = 0;
    const expectExit = opts.expectExit === undefined ? 0 : opts.expectExit;

    for (const r of records) {
        switch (r.k) {
            case 'start':
                stats.pid = r.pid;
                break;
            case 'corrupt':
                problems.push(`recording line is corrupt: ${short(r.s, 120)}`);
                break;
            case 'in': {
                stats.in++;
                // lines too long to keep cannot be read back (the server answers them without an id);
                // lines that are not UTF-8 are read as latin1: the server may or may not accept them
                if (r.truncated) break;
                let m;
                try {
                    m = JSON.parse(recordText(r));
                } catch {
                    break;
                }
                if (!m || typeof m !== 'object' || Array.isArray(m) || 'result' in m || 'error' in m) break;
                if (m.method === 'notifications/cancelled' && !('id' in m) && m.params && isId(m.params.requestId))
                    cancelled.add(idKey(m.params.requestId));
                if (!('id' in m) || !isId(m.id)) break; // a notification, or an id the server cannot echo
                const pv = m.params && typeof m.params === 'object' && m.params._meta && m.params._meta[META_PROTOCOL_VERSION];
                const reqEra = pv !== undefined ? 'modern' : 'legacy';
                era = reqEra;
                const key = idKey(m.id);
                if (!pending.has(key)) pending.set(key, { method: typeof m.method === 'string' ? m.method : '(no method)', era: reqEra, id: m.id, seq: seq++ });
                answered.delete(key);
                break;
            }
            case 'out-partial':
                problems.push(`the server's stdout ended in the middle of a line: ${short(recordText(r))}`);
                break;
            case 'out': {
                stats.out++;
                const text = recordText(r);
                if (r.bad_utf8) {
                    problems.push(`stdout line is not valid UTF-8: ${short(text)}`);
                    break;
                }
                if (text.endsWith('\r')) problems.push(`stdout line ends with CR: ${short(text)}`);
                let m;
                try {
                    m = JSON.parse(text);
                } catch (e) {
                    problems.push(`stdout line is not JSON (${e.message}): ${short(text)}`);
                    break;
                }
                if (!m || typeof m !== 'object' || Array.isArray(m)) {
                    problems.push(`stdout line is not a JSON-RPC message object: ${short(text)}`);
                    break;
                }
                const rev = (e) => (e === 'modern' ? MODERN_SCHEMA : LEGACY_SCHEMA);
                if ('method' in m) {
                    if ('id' in m) {
                        stats.requests++;
                        problems.push(`the server sent a request (it has nothing to ask): ${short(text)}`);
                        break;
                    }
                    stats.notifications++;
                    const err = schemas.check(rev(era), 'ServerNotification', m);
                    if (err) problems.push(`notification fails ${rev(era)} ServerNotification: ${err}\n    ${short(text)}`);
                    break;
                }
                if (!('result' in m) && !('error' in m)) {
                    problems.push(`stdout message is neither a notification nor a response: ${short(text)}`);
                    break;
                }
                stats.responses++;
                let req = null;
                if ('id' in m && isId(m.id)) {
                    const key = idKey(m.id);
                    req = pending.get(key) || null;
                    if (req) {
                        pending.delete(key);
                        answered.add(key);
                    } else if (answered.has(key)) {
                        problems.push(`a second response to request id ${JSON.stringify(m.id)}: ${short(text)}`);
                    } else {
                        problems.push(`a response to id ${JSON.stringify(m.id)}, which no pending request has: ${short(text)}`);
                    }
                } else if ('result' in m) {
                    problems.push(`a result response without a valid id: ${short(text)}`);
                } else {
                    // an error for a line whose id the server could not read; it may be one that
                    // parsed here (e.g. JSON nested deeper than the server accepts)
                    idless++;
                }
                const e = req ? req.era : era;
                const R = rev(e);
                if ('result' in m) {
                    const err = schemas.check(R, 'JSONRPCResultResponse', m);
                    if (err) problems.push(`response fails ${R} JSONRPCResultResponse: ${err}\n    ${short(text)}`);
                    if (req) {
                        const spec = (e === 'modern' ? MODERN_RESULTS : LEGACY_RESULTS)[req.method];
                        if (!spec) {
                            problems.push(`a result for ${req.method}, which the server should not implement in the ${e} era: ${short(text)}`);
                        } else {
                            if (spec.message) {
                                const err2 = schemas.check(R, spec.message, m);
                                if (err2) problems.push(`${req.method} response fails ${R} ${spec.message}: ${err2}\n    ${short(text)}`);
                            }
                            const err3 = schemas.check(R, spec.result, m.result);
                            if (err3) problems.push(`${req.method} result fails ${R} ${spec.result}: ${err3}\n    ${short(text)}`);
                        }
                    }
                } else {
                    const err = schemas.check(R, 'JSONRPCErrorResponse', m);
                    if (err) problems.push(`error response fails ${R} JSONRPCErrorResponse: ${err}\n    ${short(text)}`);
                    const code = m.error && m.error.code;
                    if (e === 'modern' && code === -32022) {
                        const err2 = schemas.check(R, 'UnsupportedProtocolVersionError', m);
                        if (err2) problems.push(`-32022 fails ${R} UnsupportedProtocolVersionError: ${err2}\n    ${short(text)}`);
                    } else if (e === 'modern' && MODERN_ERRORS[String(code)]) {
                        const err2 = schemas.check(R, MODERN_ERRORS[String(code)], m.error);
                        if (err2) problems.push(`error ${code} fails ${R} ${MODERN_ERRORS[String(code)]}: ${err2}\n    ${short(text)}`);
                    }
                }
                break;
            }
            case 'exit':
                stats.exit = { code: r.code, signal: r.signal };
                break;
            default:
                break;
        }
    }
    // each error without an id may stand for one of the requests left: the server could not
    // read that request's id (it did not parse the line the way JSON.parse does)
    for (const key of cancelled) pending.delete(key); // MCP: the server sends nothing for a cancelled request
    if (!opts.allowUnanswered && pending.size > idless) {
        const list = [...pending.values()].map((p) => `${p.method} (id ${JSON.stringify(p.id)})`).join(', ');
        problems.push(`requests never answered: ${list}${idless ? ` (${idless} errors without an id may answer some of them)` : ''}`);
    }
    if (expectExit !== null && stats.exit) {
        if (stats.exit.signal || stats.exit.code !== expectExit) {
            problems.push(
                `server exited with ${stats.exit.signal ? 'signal ' + stats.exit.signal : 'status ' + stats.exit.code}, expected status ${expectExit}`,
            );
        }
    }
    return { problems, stats };
}
