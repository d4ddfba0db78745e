import { describe, expect, it } from "vitest";
import { lazyExchanges, type Exchange } from "./exchange.js";

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
