// The lambda-mcp demo: the server against the local AWS emulator, driven by the official MCP
// client (@modelcontextprotocol/client 2.x, the 2026-07-28 protocol). It prints the tools it
// gets and the result of a few calls. Nothing leaves this machine: every AWS request goes to
// the emulator on 127.0.0.1, which checks each request's SigV4 signature like AWS does.
//
//   node examples/demo/demo.mjs --bin ./lambda-mcp --plugin-dir ./plugins/.libs [--clients DIR]   (or: make demo)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const srcdir = path.resolve(here, '../..');
const args = Object.fromEntries(
    process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const bin = path.resolve(args.bin ?? './lambda-mcp');
const pluginDir = path.resolve(args['plugin-dir'] ?? './plugins/.libs');
const python = args.python ?? '/usr/bin/python3';
// the npm project with the official clients: configure --with-mcp-clients=DIR (make demo passes it)
const clientsDir = path.resolve(args.clients ?? path.join(srcdir, 'tests/mcp-clients'));
if (args.clients === 'none' || !fs.existsSync(path.join(clientsDir, 'node_modules'))) {
    process.stderr.write(
        args.clients === 'none'
            ? 'the demo needs the official MCP clients, and this tree was configured --without-mcp-clients\n'
            : `the official MCP clients are not installed: ${clientsDir}/node_modules is missing.\n` +
                  `Run: (cd ${clientsDir} && npm ci)   (or configure --with-mcp-clients=DIR)\n`,
    );
    process.exit(1);
}
const { ModernClient, ModernStdioClientTransport } = await import(pathToFileURL(path.join(clientsDir, 'index.mjs')).href);

// ---- the emulator, with the demo account (tests/emulator/accounts/demo.json)
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-mcp-demo-'));
const portFile = path.join(tmp, 'emulator.url');
const emulator = spawn(
    python,
    [path.join(srcdir, 'tests/emulator/emulator.py'), '--account', path.join(srcdir, 'tests/emulator/accounts/demo.json'),
     '--port', '0', '--port-file', portFile],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } },
);
const stop = () => {
    emulator.kill();
    fs.rmSync(tmp, { recursive: true, force: true });
};
for (let i = 0; !fs.existsSync(portFile) || !fs.readFileSync(portFile, 'utf8'); i++) {
    if (i > 100 || emulator.exitCode !== null) {
        stop();
        throw new Error('the emulator did not start');
    }
    await new Promise((r) => setTimeout(r, 100));
}
const endpoint = fs.readFileSync(portFile, 'utf8').trim();

// ---- the server, configured like the upstream Python server: environment variables only
const env = {
    PATH: process.env.PATH,
    HOME: tmp,
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL: endpoint,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ACCESS_KEY_ID: 'AKIAEMULATORDEMO0001',
    AWS_SECRET_ACCESS_KEY: 'emulatorDemoSecretKey/0000000000000000001',
    FUNCTION_TAG_KEY: 'lambda-mcp:expose',
    FUNCTION_TAG_VALUE: 'true',
    FUNCTION_INPUT_SCHEMA_ARN_TAG_KEY: 'lambda-mcp:input-schema',
    LAMBDA_MCP_LOG_LEVEL: 'warn',
};
const transport = new ModernStdioClientTransport({ command: bin, args: ['--plugin-dir', pluginDir], env, stderr: 'inherit' });
const client = new ModernClient({ name: 'lambda-mcp-demo', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });

const line = (s = '') => process.stdout.write(s + '\n');
try {
    await client.connect(transport);
    const server = client.getServerVersion();
    line(`Connected to ${server.name} ${server.version} — MCP ${client.getNegotiatedProtocolVersion()} (${client.getProtocolEra()} era)`);
    line(`AWS: the emulator at ${endpoint}; functions tagged lambda-mcp:expose=true become tools`);
    line();

    const { tools } = await client.listTools();
    line(`${tools.length} tools:`);
    for (const t of tools) {
        const props = Object.keys(t.inputSchema.properties ?? {});
        const schema = props.length ? `{ ${props.join(', ')} }` : 'any object';
        line(`  ${t.name.padEnd(8)} ${t.description.padEnd(56)} input: ${schema}`);
    }
    line();

    const show = async (name, args) => {
        line(`tools/call ${name} ${JSON.stringify(args)}`);
        const r = await client.callTool({ name, arguments: args });
        for (const c of r.content) line(`  ${r.isError ? 'isError: ' : ''}${c.text.split('\n').join('\n  ')}`);
        if (r.structuredContent !== undefined) line(`  structuredContent: ${JSON.stringify(r.structuredContent)}`);
        line();
    };
    await show('greet', { name: 'Ada' });
    await show('greet', { nme: 'Ada' }); // refused before any Lambda call: the Schema Registry schema requires name
    await show('fail', { order_id: 42 }); // the function raises: its error message reaches the model
} finally {
    await client.close().catch(() => {});
    stop();
}
