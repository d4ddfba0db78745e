#!/usr/bin/env node
// A fast fake LLM upstream for the bench: OpenAI Chat Completions and Anthropic Messages, JSON and SSE, on plain
// node:http with keep-alive. Every body and every SSE frame is built once per configuration, so a request costs one
// body read, a byte search for `"stream":true` and a few writes: the mock must never be what limits a measurement.
//
//   node bench/mock-upstream.mjs [--port 0] [--host 127.0.0.1] [--chunks 50] [--chunk-delay-ms 0] [--latency-ms 0]
//                                [--frames-per-write 1] [--exit-with-parent]
//
// Prints one JSON line `{"port":N}` on stdout once listening. The runner changes the reply between scenarios with
// `POST /_bench/config` and a JSON body of the same settings (camelCase), answered with the settings in force.
//
// Wire facts reproduced (spec/translation.md, the OpenAI and Anthropic API references):
// - OpenAI stream: a role chunk, N content chunks, a finish chunk, then, only when the request has
//   `stream_options.include_usage`, a usage chunk with `choices: []` (every earlier chunk then carries
//   `"usage": null`), then `data: [DONE]`. Chunks carry `obfuscation` padding as the live API does.
// - Anthropic stream: message_start, content_block_start, ping, N content_block_delta, content_block_stop,
//   message_delta (with usage), message_stop; each frame is `event: NAME\ndata: JSON\n\n`.
import { createServer } from "node:http";
import { pathToFileURL } from "node:url";

/** The settings of the reply; `POST /_bench/config` replaces any subset of them. */
export const DEFAULT_SETTINGS = Object.freeze({
  /** Content chunks per streamed answer (the non-streaming answer carries the same text). */
  chunks: 50,
  /** Delay between streamed frames, in ms. 0: frames follow each other in consecutive event-loop turns. */
  chunkDelayMs: 0,
  /** Delay before the response headers, in ms. */
  latencyMs: 0,
  /** Frames per socket write when chunkDelayMs is 0 (1: every frame is its own write, as from a real model). */
  framesPerWrite: 1,
});

const CREATED = 1_763_769_600;
const PROMPT_TOKENS = 24;
const OBFUSCATION = "Xq3vB7kLm9Pz";
const WORDS = [" The", " gateway", " forwards", " each", " token", " as", " soon", " as", " it", " arrives", ",", " and"];

/** The n-th token of every answer: short pieces like a real model's, so a frame is ~200-300 bytes. */
function token(n) {
  return WORDS[n % WORDS.length];
}

function sse(data) {
  return `data: ${JSON.stringify(data)}\n\n`;
}

function event(name, data) {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

function openaiUsage(completion) {
  return {
    prompt_tokens: PROMPT_TOKENS,
    completion_tokens: completion,
    total_tokens: PROMPT_TOKENS + completion,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

function anthropicUsage(output) {
  return {
    input_tokens: PROMPT_TOKENS,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
    output_tokens: output,
    service_tier: "standard",
  };
}

/** The OpenAI stream's frames, with or without the usage chunk (and the `usage: null` members it implies). */
function openaiFrames(chunks, includeUsage) {
  const base = (n, choices) => ({
    id: "chatcmpl-bench0000000000000000000000",
    object: "chat.completion.chunk",
    created: CREATED,
    model: "gpt-bench",
    service_tier: "default",
    system_fingerprint: "fp_bench",
    choices,
    ...(includeUsage ? { usage: null } : {}),
    obfuscation: OBFUSCATION.slice(0, 1 + ((n * 5) % OBFUSCATION.length)),
  });
  const frames = [sse(base(0, [{ index: 0, delta: { role: "assistant", content: "", refusal: null }, logprobs: null, finish_reason: null }]))];
  for (let i = 0; i < chunks; i++) {
    frames.push(sse(base(i + 1, [{ index: 0, delta: { content: token(i) }, logprobs: null, finish_reason: null }])));
  }
  frames.push(sse(base(chunks + 1, [{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }])));
  if (includeUsage) {
    const { obfuscation, ...usageChunk } = base(chunks + 2, []);
    frames.push(sse({ ...usageChunk, usage: openaiUsage(chunks), obfuscation }));
  }
  frames.push("data: [DONE]\n\n");
  return frames;
}

function anthropicFrames(chunks) {
  const frames = [
    event("message_start", {
      type: "message_start",
      message: {
        id: "msg_bench00000000000000000000",
        type: "message",
        role: "assistant",
        model: "claude-bench",
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: anthropicUsage(1),
      },
    }),
    event("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
    event("ping", { type: "ping" }),
  ];
  for (let i = 0; i < chunks; i++) {
    frames.push(event("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: token(i) } }));
  }
  frames.push(
    event("content_block_stop", { type: "content_block_stop", index: 0 }),
    event("message_delta", {
      type: "message_delta",
      delta: { stop_reason: "end_turn", stop_sequence: null },
      usage: { input_tokens: PROMPT_TOKENS, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: chunks },
    }),
    event("message_stop", { type: "message_stop" }),
  );
  return frames;
}

/** Groups frames into the buffers written one per turn (or per timer tick when the stream is slow). */
function writes(frames, settings) {
  const per = settings.chunkDelayMs > 0 ? 1 : Math.max(1, settings.framesPerWrite);
  const out = [];
  for (let i = 0; i < frames.length; i += per) out.push(Buffer.from(frames.slice(i, i + per).join("")));
  return out;
}

const JSON_HEADERS = (length) => ({ "content-type": "application/json", "content-length": String(length) });
const SSE_HEADERS = { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" };

/** Everything a reply needs, built once per settings. */
function precompute(settings) {
  const text = Array.from({ length: settings.chunks }, (_, i) => token(i)).join("");
  const openaiJson = Buffer.from(
    JSON.stringify({
      id: "chatcmpl-bench0000000000000000000000",
      object: "chat.completion",
      created: CREATED,
      model: "gpt-bench",
      choices: [{ index: 0, message: { role: "assistant", content: text, refusal: null, annotations: [] }, logprobs: null, finish_reason: "stop" }],
      usage: openaiUsage(settings.chunks),
      service_tier: "default",
      system_fingerprint: "fp_bench",
    }),
  );
  const anthropicJson = Buffer.from(
    JSON.stringify({
      id: "msg_bench00000000000000000000",
      type: "message",
      role: "assistant",
      model: "claude-bench",
      content: [{ type: "text", text }],
      stop_reason: "end_turn",
      stop_sequence: null,
      usage: anthropicUsage(settings.chunks),
    }),
  );
  return {
    settings,
    openaiJson: { body: openaiJson, headers: JSON_HEADERS(openaiJson.length) },
    anthropicJson: { body: anthropicJson, headers: JSON_HEADERS(anthropicJson.length) },
    openaiStream: writes(openaiFrames(settings.chunks, false), settings),
    openaiStreamUsage: writes(openaiFrames(settings.chunks, true), settings),
    anthropicStream: writes(anthropicFrames(settings.chunks), settings),
  };
}

const MODELS = Buffer.from(
  JSON.stringify({
    object: "list",
    data: [
      { id: "gpt-bench", object: "model", created: CREATED, owned_by: "bench", type: "model", display_name: "gpt-bench", created_at: "2025-11-22T00:00:00Z" },
      { id: "claude-bench", object: "model", created: CREATED, owned_by: "bench", type: "model", display_name: "claude-bench", created_at: "2025-11-22T00:00:00Z" },
    ],
    has_more: false,
    first_id: "gpt-bench",
    last_id: "claude-bench",
  }),
);

/** True when a compact or conventionally spaced JSON body has `"KEY":true`; no decoding, no parsing. */
function hasTrue(body, key) {
  return body.indexOf(`"${key}":true`) !== -1 || body.indexOf(`"${key}": true`) !== -1;
}

function validSettings(input, current) {
  const next = { ...current };
  for (const key of Object.keys(DEFAULT_SETTINGS)) {
    if (input[key] === undefined) continue;
    const value = Number(input[key]);
    if (!Number.isInteger(value) || value < 0 || value > 100_000) throw new Error(`${key} must be an integer 0..100000`);
    next[key] = value;
  }
  return next;
}

/** Writes `parts` one per turn (or per `delayMs`), stopping if the client goes away. */
function stream(res, parts, delayMs) {
  let i = 0;
  let timer;
  const next = () => {
    if (res.destroyed) return;
    if (i === parts.length - 1) return void res.end(parts[i]);
    res.write(parts[i++]);
    timer = delayMs > 0 ? setTimeout(next, delayMs) : setImmediate(next);
  };
  res.on("close", () => (delayMs > 0 ? clearTimeout(timer) : clearImmediate(timer)));
  next();
}

/**
 * Creates the mock server (not listening). `settings` are the initial reply settings.
 * @param {Partial<typeof DEFAULT_SETTINGS>} [settings]
 */
export function createMockUpstream(settings = {}) {
  let state = precompute(validSettings(settings, DEFAULT_SETTINGS));

  const reply = (req, res, body) => {
    const url = req.url;
    if (req.method === "POST" && url.startsWith("/v1/chat/completions")) {
      if (hasTrue(body, "stream")) return send(res, SSE_HEADERS, hasTrue(body, "include_usage") ? state.openaiStreamUsage : state.openaiStream);
      return send(res, state.openaiJson.headers, state.openaiJson.body);
    }
    if (req.method === "POST" && url.startsWith("/v1/messages")) {
      if (hasTrue(body, "stream")) return send(res, SSE_HEADERS, state.anthropicStream);
      return send(res, state.anthropicJson.headers, state.anthropicJson.body);
    }
    if (req.method === "GET" && url.startsWith("/v1/models")) return send(res, JSON_HEADERS(MODELS.length), MODELS);
    if (url === "/_bench/config") {
      try {
        if (req.method === "POST") state = precompute(validSettings(JSON.parse(body.toString("utf8") || "{}"), state.settings));
      } catch (err) {
        res.writeHead(400, { "content-type": "text/plain" });
        return void res.end(String(err.message));
      }
      const out = Buffer.from(JSON.stringify(state.settings));
      return send(res, JSON_HEADERS(out.length), out);
    }
    res.writeHead(404, { "content-type": "application/json" });
    res.end('{"error":{"message":"not found","type":"invalid_request_error"}}');
  };

  const send = (res, headers, payload) => {
    const { latencyMs, chunkDelayMs } = state.settings;
    const go = () => {
      if (res.destroyed) return;
      res.writeHead(200, headers);
      if (Array.isArray(payload)) stream(res, payload, chunkDelayMs);
      else res.end(payload);
    };
    if (latencyMs > 0) setTimeout(go, latencyMs);
    else go();
  };

  const server = createServer({ keepAliveTimeout: 60_000, requestTimeout: 0, headersTimeout: 60_000 }, (req, res) => {
    const parts = [];
    req.on("data", (c) => parts.push(c));
    req.on("end", () => reply(req, res, parts.length === 1 ? parts[0] : Buffer.concat(parts)));
  });
  server.maxHeadersCount = 200;
  return server;
}

function parseArgs(argv) {
  const out = { port: 0, host: "127.0.0.1", settings: {}, exitWithParent: false };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === "--exit-with-parent") {
      out.exitWithParent = true;
      i--;
    } else if (flag === "--port") out.port = Number(value);
    else if (flag === "--host") out.host = value;
    else if (flag === "--chunks") out.settings.chunks = value;
    else if (flag === "--chunk-delay-ms") out.settings.chunkDelayMs = value;
    else if (flag === "--latency-ms") out.settings.latencyMs = value;
    else if (flag === "--frames-per-write") out.settings.framesPerWrite = value;
    else throw new Error(`unknown flag ${flag}`);
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const args = parseArgs(process.argv.slice(2));
  const { exitWithParent } = args;
  const server = createMockUpstream(args.settings);
  // A deep accept queue: 1,000 streams arrive within a second (the default backlog is 511).
  server.listen({ port: args.port, host: args.host, backlog: 4096 }, () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  // Started by the runner: go when it goes, even if it was killed too hard to clean up (SIGKILL).
  if (exitWithParent) {
    const parent = process.ppid;
    setInterval(() => process.ppid !== parent && process.exit(0), 500).unref();
  }
}
