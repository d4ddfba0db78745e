import { startGateway, type TestGateway } from "./gateway.js";
import { defaultMockScript, startMockUpstream, type MockUpstream } from "./mock-upstream.js";

/**
 * The translation tests' fixture: one OpenAI-compatible mock ("gpt-up" → `oai:gpt-upstream`) and one Anthropic mock
 * ("claude-up" → `ant:claude-upstream`) behind one gateway whose clock the test moves forward, so a backend cooled
 * down by one test is available to the next.
 */
export interface TwoUpstreams {
  oai: MockUpstream;
  ant: MockUpstream;
  gw: TestGateway;
  /** Moves the gateway's clock on and resets both mocks (requests and script). Call in beforeEach. */
  reset(): void;
  close(): Promise<void>;
}

export async function startTwoUpstreams(options: {
  token: string;
  openaiKey: string;
  anthropicKey: string;
  /** Whether the Anthropic backend accepts images (default true). */
  claudeVision?: boolean;
  /** How far `reset()` moves the clock (default one day). */
  clockStepMs?: number;
}): Promise<TwoUpstreams> {
  let clockOffset = 0;
  const oai = await startMockUpstream();
  const ant = await startMockUpstream();
  const gw = await startGateway(
    `
[provider.oai]
kind = "openai"
base_url = "${oai.url}/v1"
api_key = "${options.openaiKey}"
[provider.ant]
kind = "anthropic"
base_url = "${ant.url}"
api_key = "${options.anthropicKey}"
[[backend]]
model = "oai:gpt-upstream"
alias = "gpt-up"
vision = true
[[backend]]
model = "ant:claude-upstream"
alias = "claude-up"
vision = ${options.claudeVision ?? true}
[tokens]
tests = "${options.token}"
`,
    { now: () => Date.now() + clockOffset },
  );
  return {
    oai,
    ant,
    gw,
    reset() {
      clockOffset += options.clockStepMs ?? 86_400_000;
      for (const mock of [oai, ant]) {
        mock.requests.length = 0;
        mock.script(defaultMockScript);
      }
    },
    async close() {
      await gw.close();
      await oai.close();
      await ant.close();
    },
  };
}
