import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { backendConfig } from "../../../test/helpers/backend-config.js";
import { validateAnthropicRequest } from "../anthropic/validate.js";
import type { AnthropicMessagesRequest } from "../anthropic/wire.js";
import { validateOpenAIRequest, type OpenAIChatBody } from "../openai/validate.js";
import { createAnthropicPassthrough } from "./anthropic-to-anthropic.js";
import { createAnthropicToOpenAI } from "./anthropic-to-openai.js";
import { lazyExchanges, type Exchange, type RequestSource } from "./exchange.js";
import { createOpenAIToAnthropic } from "./openai-to-anthropic.js";
import { createOpenAIPassthrough } from "./openai-to-openai.js";

describe("lazyExchanges", () => {
  it("creates each dialect's exchange on first use only, and hands the same one to later attempts", () => {
    const created: string[] = [];
    const exchange = (label: string) => () => {
      created.push(label);
      return { label } as unknown as Exchange;
    };
    const exchangeFor = lazyExchanges("anthropic", exchange("same"), exchange("translated"));
    expect(created).toEqual([]);
    const translated = exchangeFor("openai");
    expect(exchangeFor("openai")).toBe(translated);
    const same = exchangeFor("anthropic");
    expect(exchangeFor("anthropic")).toBe(same);
    expect([translated, same]).toEqual([{ label: "translated" }, { label: "same" }]);
    expect(created).toEqual(["translated", "same"]);
  });
});

describe("an exchange and the request it reads", () => {
  const hi = [{ role: "user", content: "hi" }];
  const routes: Array<[string, (source: () => unknown) => Exchange, () => unknown]> = [
    ["openai → openai", (source) => createOpenAIPassthrough(source as RequestSource<OpenAIChatBody>), () => validateOpenAIRequest({ model: "m", stream: true, messages: hi })],
    ["openai → anthropic", (source) => createOpenAIToAnthropic(source as RequestSource<OpenAIChatBody>, { id: "id-1", created: 1 }), () => validateOpenAIRequest({ model: "m", stream: true, messages: hi })],
    ["anthropic → anthropic", (source) => createAnthropicPassthrough(source as RequestSource<AnthropicMessagesRequest>), () => validateAnthropicRequest({ model: "m", max_tokens: 9, stream: true, messages: hi })],
    ["anthropic → openai", (source) => createAnthropicToOpenAI(source as RequestSource<AnthropicMessagesRequest>, { id: "id-1", created: 1 }), () => validateAnthropicRequest({ model: "m", max_tokens: 9, stream: true, messages: hi })],
  ];

  it.each(routes)("%s keeps none of it once the attempt's upstream body is built", async (_, create, parse) => {
    let held: unknown = parse();
    const watched = new WeakRef(held as object);
    const exchange = create(() => held);
    exchange.upstreamBody(backendConfig({ gptOssFix: true }));
    // What the caller does while the attempt waits: it parks the request.
    held = undefined;
    await new Promise((resolve) => setImmediate(resolve));
    setFlagsFromString("--expose-gc");
    (runInNewContext("gc") as () => void)();
    expect(watched.deref()).toBeUndefined();
    // The answer's translation needs only what the exchange kept.
    const translator = exchange.stream(backendConfig({ gptOssFix: true }));
    expect(translator.contentSeen()).toBe(false);
  });
});
