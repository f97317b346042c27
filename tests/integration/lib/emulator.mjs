// The local AWS emulator (tests/emulator/emulator.py) as a child process of a test.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export class Emulator {
    /**
     * opts: { python, srcdir, dir (scratch directory), account (path or object), label, timeoutMs }
     * Resolves once the emulator printed EMULATOR_READY.
     */
    static async start(opts) {
        const emu = new Emulator(opts);
        await emu._start();
        return emu;
    }

    constructor({ python, srcdir, dir, account, label = 'emulator', timeoutMs = 30000, verbose = false }) {
        this.python = python;
        this.script = path.join(srcdir, 'tests', 'emulator', 'emulator.py');
        this.label = label;
        this.timeoutMs = timeoutMs;
        this.verbose = verbose;
        fs.mkdirSync(dir, { recursive: true });
        if (typeof account === 'string') {
            this.accountPath = account;
            this.account = JSON.parse(fs.readFileSync(account, 'utf8'));
        } else {
            this.accountPath = path.join(dir, `${label}-account.json`);
            fs.writeFileSync(this.accountPath, JSON.stringify(account, null, 1));
            this.account = account;
        }
        this.stderrPath = path.join(dir, `${label}.stderr`);
        this.proc = null;
        this.url = null;
        this.exited = null;
    }

    /* credentials of the account file: [{access_key_id, secret_access_key, session_token}] */
    get credentials() {
        return this.account.credentials || [];
    }

    async _start() {
        const errFd = fs.openSync(this.stderrPath, 'a');
        const args = [this.script, '--account', this.accountPath, '--port', '0'];
        if (this.verbose) args.push('--verbose');
        this.proc = spawn(this.python, args, {
            stdio: ['ignore', 'pipe', errFd],
            // never write __pycache__ into the (possibly read-only) source tree
            env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' },
        });
        fs.closeSync(errFd);
        this.exited = new Promise((resolve) => this.proc.on('exit', (code, signal) => resolve({ code, signal })));
        const ready = new Promise((resolve, reject) => {
            let buf = '';
            const onData = (chunk) => {
                buf += chunk.toString();
                const m = /^EMULATOR_READY (\S+)\s*$/m.exec(buf);
                if (m) {
                    this.proc.stdout.off('data', onData);
                    this.proc.stdout.resume(); // nothing more is expected; never let the pipe fill
                    resolve(m[1]);
                }
            };
            this.proc.stdout.on('data', onData);
            this.proc.on('error', (e) => reject(new Error(`cannot run ${this.python}: ${e.message}`)));
            this.exited.then(({ code, signal }) =>
                reject(new Error(`the emulator exited before it was ready (status ${code}, signal ${signal}):\n${this.stderrTail(40)}`)),
            );
        });
        let timer;
        const timeout = new Promise((_, reject) => {
            timer = setTimeout(
                () => reject(new Error(`the emulator printed no EMULATOR_READY within ${this.timeoutMs} ms:\n${this.stderrTail(40)}`)),
                this.timeoutMs,
            );
        });
        try {
            this.url = await Promise.race([ready, timeout]);
        } catch (e) {
            await this.stop();
            throw e;
        } finally {
            clearTimeout(timer);
        }
        const u = new URL(this.url);
        if (!['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname)) {
            await this.stop();
            throw new Error(`the emulator is not on loopback: ${this.url}`);
        }
    }

    stderrTail(n = 60) {
        try {
            const lines = fs.readFileSync(this.stderrPath, 'utf8').split('\n');
            return lines.slice(-n - 1).join('\n');
        } catch {
            return '(no emulator stderr)';
        }
    }

    /* The unsigned control API under /__emu/ (see tests/emulator/emu/control.py). */
    async control(method, p, body) {
        const res = await fetch(this.url + p, {
            method,
            headers: body !== undefined ? { 'content-type': 'application/json' } : {},
            body: body !== undefined ? JSON.stringify(body) : undefined,
        });
        const text = await res.text();
        if (!res.ok) throw new Error(`emulator control ${method} ${p} -> ${res.status}: ${text}`);
        return text ? JSON.parse(text) : {};
    }
    stats() {
        return this.control('GET', '/__emu/stats?recent=0');
    }
    recent(n = 1000) {
        return this.control('GET', `/__emu/stats?recent=${n}`).then((s) => s.recent);
    }
    reset(body = {}) {
        return this.control('POST', '/__emu/reset', body);
    }
    addFaults(faults) {
        return this.control('POST', '/__emu/faults', { faults });
    }
    clearFaults() {
        return this.control('DELETE', '/__emu/faults');
    }
    putFunctions(put) {
        return this.control('POST', '/__emu/functions', { put });
    }

    async stop() {
        if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null) return;
        this.proc.kill('SIGTERM');
        let timer;
        const t = new Promise((resolve) => {
            timer = setTimeout(resolve, 5000);
        });
        await Promise.race([this.exited, t]);
        clearTimeout(timer);
        if (this.proc.exitCode === null && this.proc.signalCode === null) {
            this.proc.kill('SIGKILL');
            await this.exited;
        }
    }

    /* synchronous last resort (process 'exit' handler) */
    killNow() {
        try {
            if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
        } catch {}
    }
}
