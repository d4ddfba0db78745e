import { InvalidArgumentError, type Command } from "commander";
import { ExplainRouteResponseSchema, RouteService, SelectBackendResponseSchema } from "../../gen/llmux/route/v1/route_service_pb.js";
import { formatExplain, formatSelect } from "./route-output.js";
import { protoJson, runCommand } from "./runner.js";

/** The request-shape flags shared by `route explain` and `route select`. */
interface RequirementFlags {
  promptTokens?: number;
  maxTokens?: number;
  images?: boolean;
  thinking?: boolean;
}

function requirements(model: string, flags: RequirementFlags) {
  return {
    model,
    promptTokens: flags.promptTokens ?? 0,
    maxOutputTokens: flags.maxTokens ?? 0,
    hasImages: flags.images === true,
    wantsThinking: flags.thinking === true,
  };
}

/** Token counts are uint32 on the wire; anything else is a usage error naming the flag. */
function tokens(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 0xffff_ffff) throw new InvalidArgumentError("must be a whole number of tokens (0 to 4294967295)");
  return n;
}

/** Adds the flags that describe the request being routed. */
function withRequirementFlags(cmd: Command): Command {
  return cmd
    .argument("<model>", "the model a client would ask for (\"provider:model\", a model name, an alias or any other name)")
    .option("--prompt-tokens <n>", "estimated prompt size in tokens", tokens)
    .option("--max-tokens <n>", "output tokens the client asks for (max_tokens)", tokens)
    .option("--images", "the request carries at least one image")
    .option("--thinking", "the request asks for reasoning (thinking or reasoning_effort)");
}

/** `route explain` and `route select`: how the gateway would route a request, and why. */
export function registerRouteCommands(program: Command): void {
  const route = program.command("route").description("See how the gateway routes a request.");

  withRequirementFlags(
    route.command("explain").description("Show, for every configured backend, whether it would serve the request and why not."),
  )
    .addHelpText("after", "\nExamples:\n  llmuxctl route explain fast\n  llmuxctl route explain gpt-4o --images --prompt-tokens 150000")
    .action(async (model: string, flags: RequirementFlags, cmd: Command) => {
      await runCommand(cmd, async (ctx) => {
        const res = await ctx.client(RouteService).explainRoute({ requirements: requirements(model, flags) });
        return ctx.json ? protoJson(ExplainRouteResponseSchema, res) : formatExplain(res);
      });
    });

  withRequirementFlags(route.command("select").description("List the backends that would serve the request, in the order they are tried.")).action(
    async (model: string, flags: RequirementFlags, cmd: Command) => {
      await runCommand(cmd, async (ctx) => {
        const res = await ctx.client(RouteService).selectBackend({ requirements: requirements(model, flags) });
        return ctx.json ? protoJson(SelectBackendResponseSchema, res) : formatSelect(res);
      });
    },
  );
}
