import { describe, expect, it } from "vitest";
import { checkOutboundUrl, isMetadataAddress, isMetadataHost, METADATA_REFUSED } from "./url-guard.js";

describe("checkOutboundUrl", () => {
  it.each([
    // Every spelling of the metadata service the WHATWG parser turns into 169.254.169.254.
    ["http://169.254.169.254/latest/meta-data/", METADATA_REFUSED],
    ["http://0xa9fea9fe/", METADATA_REFUSED],
    ["http://2852039166/", METADATA_REFUSED],
    ["http://169.254.43518/", METADATA_REFUSED],
    ["http://0251.0376.0251.0376/", METADATA_REFUSED],
    ["http://169.254.170.2/v2/credentials", METADATA_REFUSED],
    ["http://100.100.100.200/latest/meta-data", METADATA_REFUSED],
    ["http://[fd00:ec2::254]/latest/meta-data/", METADATA_REFUSED],
    ["http://[::ffff:169.254.169.254]/", METADATA_REFUSED],
    ["http://[::ffff:a9fe:a9fe]/", METADATA_REFUSED],
    ["http://[64:ff9b::169.254.169.254]/", METADATA_REFUSED],
    ["http://[64:ff9b:1::a9fe:a9fe]/", METADATA_REFUSED],
    ["http://[2002:a9fe:a9fe::1]/", METADATA_REFUSED],
    ["http://[fe80::1]/", METADATA_REFUSED],
    ["http://metadata.google.internal/computeMetadata/v1/", METADATA_REFUSED],
    ["http://METADATA.Google.Internal./", METADATA_REFUSED],
    ["http://metadata.goog/", METADATA_REFUSED],
    ["https://instance-data.ec2.internal/", METADATA_REFUSED],
    ["file:///etc/passwd", "must be an http or https URL, got file:"],
    ["gopher://127.0.0.1:6379/_INFO", "must be an http or https URL, got gopher:"],
    ["ftp://files.example/v1", "must be an http or https URL, got ftp:"],
    ["http://user@vllm.internal:8000/v1", "must not contain credentials; use api_key"],
    ["http://user:secret@vllm.internal/v1", "must not contain credentials; use api_key"],
    ["vllm.internal:8000/v1", "must be an http or https URL, got vllm.internal:"],
    ["not a url", "not a valid URL"],
  ])("refuses %s", (text, error) => {
    expect(checkOutboundUrl(text)).toEqual({ ok: false, error });
  });

  it.each([
    // Private and loopback addresses are allowed: a local vLLM is the main use (documented trade-off).
    ["http://127.1:8000/v1", "127.0.0.1:8000"],
    ["http://0x7f000001:8000/v1", "127.0.0.1:8000"],
    ["http://localhost:8000/v1", "localhost:8000"],
    ["http://10.0.0.5:8000/v1", "10.0.0.5:8000"],
    ["http://[::1]:8000/v1", "[::1]:8000"],
    ["http://[fd00::1]:8000/v1", "[fd00::1]:8000"],
    ["https://api.openai.com/v1", "api.openai.com"],
    // A name that merely contains a metadata address is judged by what it resolves to, where it is resolved.
    ["http://169.254.169.254.nip.io/", "169.254.169.254.nip.io"],
  ])("accepts %s", (text, host) => {
    const result = checkOutboundUrl(text);
    expect(result.ok && result.url.host).toBe(host);
  });

  it("never repeats the URL in its error", () => {
    const result = checkOutboundUrl("http://user:hunter2@169.254.169.254/");
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).not.toContain("hunter2");
  });
});

describe("isMetadataAddress", () => {
  it.each([
    ["169.254.169.254", true],
    ["169.254.0.1", true],
    ["100.100.100.200", true],
    ["fd00:ec2::254", true],
    ["[fd00:ec2::254]", true],
    ["fe80::1%eth0", true],
    ["::ffff:169.254.169.254", true],
    ["0:0:0:0:0:ffff:a9fe:a9fe", true],
    ["127.0.0.1", false],
    ["10.0.0.1", false],
    ["100.100.100.201", false],
    ["fd00:ec2::253", false],
    ["::1", false],
    ["::ffff:127.0.0.1", false],
    ["2002:7f00:1::", false],
    ["metadata.google.internal", false],
    ["", false],
  ])("%s → %s", (address, expected) => {
    expect(isMetadataAddress(address)).toBe(expected);
  });
});

describe("isMetadataHost", () => {
  it.each([
    ["metadata.google.internal", true],
    ["metadata.google.internal..", true],
    ["[fd00:ec2::254]", true],
    ["169.254.169.254", true],
    ["metadata.example.com", false],
    ["vllm", false],
  ])("%s → %s", (host, expected) => {
    expect(isMetadataHost(host)).toBe(expected);
  });
});
