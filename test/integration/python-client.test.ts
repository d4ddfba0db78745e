import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSuperAdmin } from "../../server/services/admin/bootstrap.js";
import { createDatabase } from "../../server/store/database.js";
import { ROOT, startLlmux, stopAll, type RunningLlmux } from "../helpers/cli.js";

// A client in another language: Python stubs generated from proto/ with grpc_tools.protoc drive llmux over gRPC
// on the admin port (HTTP/2 cleartext). Debian's python3-grpcio and python3-grpc-tools provide the tools; CI
// installs them (`apt-get install -y python3-grpcio python3-grpc-tools`), and there a missing tool fails the test.

const run = promisify(execFile);
const INSTALL = "apt-get update && apt-get install -y python3-grpcio python3-grpc-tools";

/**
 * The first Python that can import grpc and grpc_tools: LLMUX_PYTHON, then `python3` on PATH, then Debian's
 * /usr/bin/python3 (a pyenv or venv python3 on PATH does not see Debian's packages).
 */
async function findPython(): Promise<string | undefined> {
  const candidates = [process.env.LLMUX_PYTHON, "python3", "/usr/bin/python3"].filter((c): c is string => c !== undefined && c !== "");
  for (const python of candidates) {
    try {
      await run(python, ["-c", "import grpc, grpc_tools.protoc"]);
      return python;
    } catch {
      // Not this one.
    }
  }
  return undefined;
}

const python = await findPython();
const inCi = process.env.CI !== undefined && process.env.CI !== "" && process.env.CI !== "false";

// In CI the tools are required: the file fails to load without them. Elsewhere a machine without them skips the
// suite, visibly, with the line that installs them in its name.
if (python === undefined && inCi) throw new Error(`no python3 can import grpc and grpc_tools.protoc; install them: ${INSTALL}`);

describe("a Python gRPC client generated from proto/", () => {
  describe.skipIf(python === undefined)(`against a running llmux (needs: ${INSTALL})`, () => {
    const TOKEN = "python-client-token";
    let dir: string;
    let generated: string;
    let gateway: RunningLlmux;
    let admin: { username: string; password: string };

    beforeAll(async () => {
      dir = await mkdtemp(path.join(tmpdir(), "llmux-python-"));
      generated = path.join(dir, "gen");
      // protoc writes into an existing directory only.
      await mkdir(generated);
      const protoDir = path.join(ROOT, "proto");
      await run(python!, ["-m", "grpc_tools.protoc", "-I", protoDir, `--python_out=${generated}`, `--grpc_python_out=${generated}`, ...(await protoFiles(protoDir))]);

      const database = path.join(dir, "llmux.db");
      const store = await createDatabase({ sqlitePath: database });
      admin = await createSuperAdmin(store.db, { username: "py-admin" });
      await store.close();
      const config = path.join(dir, "llmux.toml");
      await writeFile(
        config,
        `database = "${database}"\nhealth_check_interval = 0\n[provider.mock]\nkind = "mock"\n` +
          `[[backend]]\nmodel = "mock:mock-small"\nalias = "fast"\n[[backend]]\nmodel = "mock:mock-vision"\nvision = true\n` +
          `[tokens]\npython = "${TOKEN}"\n`,
      );
      gateway = await startLlmux(["--port", "0", "--config", config], {}, { adminPort: true });
    }, 60_000);
    afterAll(async () => {
      await gateway?.stop();
      await stopAll();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it("generates importable stubs for every service", async () => {
      const { stdout } = await run(python!, [
        "-c",
        "import sys; sys.path.insert(0, sys.argv[1]); " +
          "from llmux.admin.v1 import admin_service_pb2_grpc as a; from llmux.discovery.v1 import discovery_service_pb2_grpc as d; " +
          "from llmux.route.v1 import route_service_pb2_grpc as r; print(a.AdminServiceStub.__name__, d.DiscoveryServiceStub.__name__, r.RouteServiceStub.__name__)",
        generated,
      ]);
      expect(stdout).toBe("AdminServiceStub DiscoveryServiceStub RouteServiceStub\n");
    });

    it("routes, logs in, creates a key and lists backends over gRPC h2c", async () => {
      const target = new URL(gateway.adminUrl!).host;
      const { stdout, stderr } = await run(python!, [path.join(ROOT, "test/python/admin_client.py"), "--target", target, "--generated", generated], {
        env: { PATH: process.env.PATH ?? "", LLMUX_TOKEN: TOKEN, LLMUX_USERNAME: admin.username, LLMUX_PASSWORD: admin.password },
        timeout: 30_000,
      });
      expect(stderr).toBe("");
      expect(JSON.parse(stdout)).toEqual({
        select: { mode: "ROUTE_MODE_MODEL_NAME", candidates: ["mock:mock-small"] },
        status: [
          { name: "mock:mock-small", state: "BACKEND_STATE_AVAILABLE" },
          { name: "mock:mock-vision", state: "BACKEND_STATE_AVAILABLE" },
        ],
        anonymous: { code: "UNAUTHENTICATED", details: "missing credentials: send 'Authorization: Bearer <token>'" },
        login: { username: "py-admin", role: "ROLE_SUPER_ADMIN" },
        key: { name: "python", allowed_models: ["mock-*"], requests_per_minute: 10, secret_has_prefix: true, last_four_match: true },
        backends: [
          { name: "mock:mock-small", provider: "mock", model: "mock-small", source: "SOURCE_FILE" },
          { name: "mock:mock-vision", provider: "mock", model: "mock-vision", source: "SOURCE_FILE" },
        ],
        select_with_key: ["mock:mock-small"],
      });
    });
  });
});

/** Every .proto file under `dir`, sorted. */
async function protoFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir, { recursive: true });
  return names.filter((name) => name.endsWith(".proto")).map((name) => path.join(dir, name)).sort();
}
