// The scenarios of issue 6 §2 and the bar each is held to (§3). Every target gets the same bytes on the same path:
// the upstream and the bare proxy answer an Anthropic request in Anthropic's format themselves, so for the
// translated scenarios their numbers are the transport ceiling (same body, passed through), not a translator.
import { claudeCodeBody, CLAUDE_CODE_HEADERS } from "./claude-code-body.mjs";

// No credential here: the API key exists only once llmux runs, and the runner adds it to every scenario's headers
// (`withApiKey`), for every target alike.
const OPENAI_HEADERS = { "content-type": "application/json", accept: "application/json", "user-agent": "OpenAI/JS 6.49.0" };
const ANTHROPIC_HEADERS = {
  "content-type": "application/json",
  accept: "application/json",
  "anthropic-version": "2023-06-01",
  "user-agent": "Anthropic/JS 1.12.0",
};

const openaiBody = (stream) =>
  JSON.stringify({
    model: "gpt-bench",
    messages: [
      { role: "system", content: "You are a concise assistant. Answer in one paragraph." },
      { role: "user", content: "Explain in two sentences what an LLM gateway does and why latency matters for it." },
    ],
    max_tokens: 256,
    temperature: 0.2,
    ...(stream ? { stream: true } : {}),
  });

const anthropicBody = (model, stream) =>
  JSON.stringify({
    model,
    max_tokens: 256,
    system: "You are a concise assistant. Answer in one paragraph.",
    messages: [{ role: "user", content: "Explain in two sentences what an LLM gateway does and why latency matters for it." }],
    temperature: 0.2,
    ...(stream ? { stream: true } : {}),
  });

/** Mock settings: fast answers of 50 chunks, each frame its own write as a real model sends them. */
const FAST = { chunks: 50, chunkDelayMs: 0, latencyMs: 0, framesPerWrite: 1 };

/**
 * @typedef {object} Scenario
 * @property {string} name
 * @property {string} title
 * @property {"wrk" | "ttfb" | "streams"} kind  wrk: throughput and latency; ttfb: the undici probe alone;
 *   streams: many long streams at once.
 * @property {string} path
 * @property {Record<string, string>} headers  Without the credential (see {@link withApiKey}).
 * @property {string} body
 * @property {boolean} stream
 * @property {"openai" | "anthropic"} dialect  The dialect of the answer every target gives (that of the path).
 * @property {number} connections
 * @property {object} mock  Settings for the mock upstream (`POST /_bench/config`).
 * @property {"same-dialect" | "translated" | "streaming" | undefined} bar  The throughput bar it is held to.
 * @property {string} [note]
 */

/** @type {Scenario[]} */
export const SCENARIOS = [
  {
    name: "openai-json-c1",
    title: "OpenAI chat, JSON, 1 connection",
    kind: "wrk",
    path: "/v1/chat/completions",
    headers: OPENAI_HEADERS,
    body: openaiBody(false),
    stream: false,
    dialect: "openai",
    connections: 1,
    mock: FAST,
    bar: "same-dialect",
  },
  {
    name: "openai-json-c32",
    title: "OpenAI chat, JSON, 32 connections",
    kind: "wrk",
    path: "/v1/chat/completions",
    headers: OPENAI_HEADERS,
    body: openaiBody(false),
    stream: false,
    dialect: "openai",
    connections: 32,
    mock: FAST,
    bar: "same-dialect",
  },
  {
    name: "anthropic-json-c32",
    title: "Anthropic messages, JSON, 32 connections (Anthropic backend)",
    kind: "wrk",
    path: "/v1/messages",
    headers: ANTHROPIC_HEADERS,
    body: anthropicBody("claude-bench", false),
    stream: false,
    dialect: "anthropic",
    connections: 32,
    mock: FAST,
    bar: "same-dialect",
  },
  {
    name: "openai-stream-c32",
    title: "OpenAI chat, SSE 50 chunks, 32 connections",
    kind: "wrk",
    path: "/v1/chat/completions",
    headers: OPENAI_HEADERS,
    body: openaiBody(true),
    stream: true,
    dialect: "openai",
    connections: 32,
    mock: FAST,
    bar: "streaming",
  },
  {
    name: "a2o-json-c32",
    title: "Anthropic client → OpenAI backend (translated), JSON, 32 connections",
    kind: "wrk",
    path: "/v1/messages",
    headers: ANTHROPIC_HEADERS,
    body: anthropicBody("gpt-bench", false),
    stream: false,
    dialect: "anthropic",
    connections: 32,
    mock: FAST,
    bar: "translated",
  },
  {
    name: "a2o-stream-c32",
    title: "Anthropic client → OpenAI backend (translated), SSE 50 chunks, 32 connections",
    kind: "wrk",
    path: "/v1/messages",
    headers: ANTHROPIC_HEADERS,
    body: anthropicBody("gpt-bench", true),
    stream: true,
    dialect: "anthropic",
    connections: 32,
    mock: FAST,
    bar: "translated",
  },
  {
    name: "claude-code-c32",
    title: "Claude Code request (85 KB, 24 tools) → OpenAI backend (translated), SSE, 32 connections",
    kind: "wrk",
    path: "/v1/messages?beta=true",
    headers: CLAUDE_CODE_HEADERS,
    body: claudeCodeBody(),
    stream: true,
    dialect: "anthropic",
    connections: 32,
    mock: FAST,
    bar: "translated",
  },
  {
    name: "ttfb-stream-c1",
    title: "Time to first byte of an OpenAI stream, 1 connection, no other load",
    kind: "ttfb",
    path: "/v1/chat/completions",
    headers: OPENAI_HEADERS,
    body: openaiBody(true),
    stream: true,
    dialect: "openai",
    connections: 1,
    mock: FAST,
    bar: undefined,
  },
  {
    name: "streams-1000",
    title: "1,000 concurrent OpenAI streams of 10 s (50 chunks × 200 ms)",
    kind: "streams",
    path: "/v1/chat/completions",
    headers: OPENAI_HEADERS,
    body: openaiBody(true),
    stream: true,
    dialect: "openai",
    connections: 1000,
    mock: { chunks: 50, chunkDelayMs: 200, latencyMs: 0, framesPerWrite: 1 },
    bar: undefined,
  },
];

/**
 * `scenario` with the API key in its headers as `Authorization: Bearer`: how the OpenAI SDK sends it, and the
 * Anthropic SDK and Claude Code with an auth token (ANTHROPIC_AUTH_TOKEN); llmux takes it there or in `x-api-key`.
 */
export function withApiKey(scenario, apiKey) {
  return { ...scenario, headers: { ...scenario.headers, authorization: `Bearer ${apiKey}` } };
}
