// The official MCP clients and the JSON Schema validator, re-exported for tests/integration.
// Tests import this file by absolute path, so the packages resolve from the node_modules next
// to it (`npm ci` here), wherever the test scripts themselves live (VPATH builds, distcheck).
import fs from 'node:fs';

// ---- 2024-11-05 .. 2025-11-25 (initialize-based): the TypeScript SDK 1.x
export { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
export { StdioClientTransport as LegacyStdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
export {
    McpError as LegacyMcpError,
    ErrorCode as LegacyErrorCode,
    CallToolResultSchema as LegacyCallToolResultSchema,
    ListToolsResultSchema as LegacyListToolsResultSchema,
    EmptyResultSchema as LegacyEmptyResultSchema,
    LATEST_PROTOCOL_VERSION as LEGACY_LATEST_PROTOCOL_VERSION,
    SUPPORTED_PROTOCOL_VERSIONS as LEGACY_SUPPORTED_PROTOCOL_VERSIONS,
} from '@modelcontextprotocol/sdk/types.js';

// ---- 2026-07-28 (server/discover, per-request _meta): the client package 2.x
export {
    Client as ModernClient,
    ProtocolError as ModernProtocolError,
    SdkError as ModernSdkError,
    PROTOCOL_VERSION_META_KEY,
    LATEST_PROTOCOL_VERSION as MODERN_LATEST_PROTOCOL_VERSION,
    SUPPORTED_PROTOCOL_VERSIONS as MODERN_SUPPORTED_PROTOCOL_VERSIONS,
} from '@modelcontextprotocol/client';
export { StdioClientTransport as ModernStdioClientTransport } from '@modelcontextprotocol/client/stdio';

// ---- JSON Schema 2020-12 (the dialect of the official MCP schemas)
export { default as Ajv2020 } from 'ajv/dist/2020.js';
export { default as addFormats } from 'ajv-formats';

/* The versions actually installed (read from node_modules next to this file), so a test can
 * insist on the pinned ones: a `npm install` that drifted is caught, not silently tested. */
function installedVersion(name) {
    const pkg = new URL(`./node_modules/${name}/package.json`, import.meta.url);
    return JSON.parse(fs.readFileSync(pkg, 'utf8')).version;
}
export const installed = Object.freeze({
    '@modelcontextprotocol/sdk': installedVersion('@modelcontextprotocol/sdk'),
    '@modelcontextprotocol/client': installedVersion('@modelcontextprotocol/client'),
    ajv: installedVersion('ajv'),
    'ajv-formats': installedVersion('ajv-formats'),
});
export const pinned = Object.freeze(
    JSON.parse(fs.readFileSync(new URL('./package.json', import.meta.url), 'utf8')).dependencies,
);
