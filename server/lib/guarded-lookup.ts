import type { LookupAddress, LookupOptions } from "node:dns";
import { lookup as dnsLookup } from "node:dns/promises";
import { isMetadataAddress, METADATA_REFUSED } from "./url-guard.js";

/** Resolves a host name to every address; injected by tests (fake DNS). */
export type HostResolver = (hostname: string) => Promise<LookupAddress[]>;

/** The system resolver (`getaddrinfo`, as `net.connect` uses by default). */
export const systemResolver: HostResolver = (hostname) => dnsLookup(hostname, { all: true });

/** The `code` of the error a connection gets when its host name resolves to a cloud metadata address. */
export const METADATA_LOOKUP_CODE = "ERR_LLMUX_METADATA_ADDRESS";

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for `net.connect` (undici's `connect.lookup`) that refuses cloud metadata addresses. URLs are checked
 * when they are configured, but a name can resolve differently by the time a connection is made (DNS rebinding):
 * this checks the very addresses the socket is about to use. Fails with code {@link METADATA_LOOKUP_CODE}.
 */
export function guardedLookup(resolve: HostResolver = systemResolver) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    resolve(hostname).then(
      (addresses) => {
        if (addresses.length === 0 || addresses.some((a) => isMetadataAddress(a.address))) {
          const err: NodeJS.ErrnoException = new Error(addresses.length === 0 ? "no address" : METADATA_REFUSED);
          err.code = addresses.length === 0 ? "ENOTFOUND" : METADATA_LOOKUP_CODE;
          callback(err, "");
        } else if (options.all) callback(null, addresses);
        else callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, ""),
    );
  };
}
