import { isIPv4, isIPv6 } from "node:net";

// The SSRF rules for every URL llmux fetches on an operator's behalf (provider base URLs, discovery servers):
// http(s) only, no userinfo, and never a cloud metadata service. Private and loopback addresses are allowed on
// purpose: a vLLM on localhost or on the LAN is the main use of discovery and of database providers.

/**
 * Host names of cloud metadata services (lowercase, without a trailing dot). They resolve to link-local
 * addresses inside the cloud, which the address rules refuse too; the names are refused before any lookup.
 */
const METADATA_HOSTS: ReadonlySet<string> = new Set([
  "metadata.google.internal",
  "metadata.goog",
  "instance-data",
  "instance-data.ec2.internal",
]);

/** The verdict on a URL: the parsed URL, or why it is refused (never echoing the URL, which may hold secrets). */
export type UrlCheck = { ok: true; url: URL } | { ok: false; error: string };

/** The message for a metadata address, shared so every caller refuses it in the same words. */
export const METADATA_REFUSED = "points at a cloud metadata address, which is always refused";

/**
 * True for an IPv4 address (dotted decimal) of a metadata service: the whole link-local range 169.254.0.0/16
 * (AWS, GCP, Azure and Oracle at 169.254.169.254, ECS at 169.254.170.2) and Alibaba's 100.100.100.200.
 */
function metadataIPv4(bytes: readonly number[]): boolean {
  const [a, b, c, d] = bytes as [number, number, number, number];
  return (a === 169 && b === 254) || (a === 100 && b === 100 && c === 100 && d === 200);
}

function parseIPv4(text: string): number[] {
  return text.split(".").map(Number);
}

/** The 16 bytes of a valid IPv6 address (zone id removed), including forms with a dotted IPv4 tail. */
function parseIPv6(text: string): number[] {
  let head = text.split("%", 1)[0]!;
  let tail: number[] = [];
  const lastColon = head.lastIndexOf(":");
  if (head.slice(lastColon + 1).includes(".")) {
    tail = parseIPv4(head.slice(lastColon + 1));
    head = head.slice(0, lastColon + 1) + "0:0";
  }
  const [left, right] = head.includes("::") ? head.split("::") : [head, undefined];
  const groups = (part: string | undefined) => (part === undefined || part === "" ? [] : part.split(":").map((g) => parseInt(g, 16)));
  const l = groups(left);
  const r = groups(right);
  const words = right === undefined ? l : [...l, ...new Array<number>(8 - l.length - r.length).fill(0), ...r];
  const bytes = words.flatMap((w) => [w >> 8, w & 0xff]);
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes;
}

function startsWith(bytes: readonly number[], prefix: readonly number[]): boolean {
  return prefix.every((b, i) => bytes[i] === b);
}

/**
 * True for an IPv6 address of a metadata service: AWS's fd00:ec2::254, the link-local range fe80::/10, and any
 * IPv4 metadata address embedded in an IPv6 form (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`,
 * NAT64 `64:ff9b::/96` and `64:ff9b:1::/48`, 6to4 `2002:AABB:CCDD::`), which reach the IPv4 address by another
 * name.
 */
function metadataIPv6(bytes: readonly number[]): boolean {
  const awsImds = [0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54];
  if (awsImds.every((b, i) => bytes[i] === b)) return true;
  if (bytes[0] === 0xfe && (bytes[1]! & 0xc0) === 0x80) return true;
  const last4 = bytes.slice(12, 16);
  const zeros10 = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  if (startsWith(bytes, [...zeros10, 0xff, 0xff]) || startsWith(bytes, [...zeros10, 0, 0])) return metadataIPv4(last4);
  if (startsWith(bytes, [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0]) || startsWith(bytes, [0x00, 0x64, 0xff, 0x9b, 0x00, 0x01])) {
    return metadataIPv4(last4);
  }
  if (startsWith(bytes, [0x20, 0x02])) return metadataIPv4(bytes.slice(2, 6));
  return false;
}

/**
 * True when `address` (an IP address as DNS or a socket reports it; IPv6 with or without brackets) belongs to a
 * cloud metadata service. False for anything that is not an IP address.
 */
export function isMetadataAddress(address: string): boolean {
  const text = address.startsWith("[") && address.endsWith("]") ? address.slice(1, -1) : address;
  if (isIPv4(text)) return metadataIPv4(parseIPv4(text));
  if (isIPv6(text.split("%", 1)[0]!)) return metadataIPv6(parseIPv6(text));
  return false;
}

/**
 * True when a URL's host names a metadata service, by name or by address. Expects the host as the WHATWG URL
 * parser leaves it: IPv4 in any numeric form (`0xa9fea9fe`, `2852039166`, `169.254.43518`) is already normalised
 * to dotted decimal, IPv6 is bracketed.
 */
export function isMetadataHost(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.+$/, "");
  return METADATA_HOSTS.has(name) || isMetadataAddress(name);
}

/**
 * Checks a URL that llmux will fetch: http or https, no userinfo, not a metadata host. The WHATWG parser
 * normalises numeric IPv4 forms first, so `http://0xa9fea9fe/` is refused like `http://169.254.169.254/`.
 * Names that only resolve to a metadata address are caught where the connection is made (see the lookup guard
 * in discovery) or by resolving before a URL is stored. Error messages never contain the URL.
 */
export function checkOutboundUrl(text: string): UrlCheck {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, error: "not a valid URL" };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return { ok: false, error: `must be an http or https URL, got ${url.protocol}` };
  if (url.username !== "" || url.password !== "") return { ok: false, error: "must not contain credentials; use api_key" };
  if (isMetadataHost(url.hostname)) return { ok: false, error: METADATA_REFUSED };
  return { ok: true, url };
}
