import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";

/** scrypt cost parameters. Memory used is 128 × N × r bytes (32 MiB with the defaults). */
export interface ScryptParams {
  /** log2 of the CPU/memory cost N. */
  logN: number;
  /** Block size. */
  r: number;
  /** Parallelization. */
  p: number;
}

/**
 * The cost of new hashes: N = 2^15, r = 8, p = 1, i.e. 32 MiB and tens of milliseconds per hash, which keeps
 * logins cheap on small hosts. (OWASP's current scrypt recommendation is N = 2^17; stored hashes record their
 * cost, so it can be raised later without invalidating anyone.)
 */
export const DEFAULT_SCRYPT_PARAMS: Readonly<ScryptParams> = { logN: 15, r: 8, p: 1 };

const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** Stored costs are bounded so a tampered row cannot make one login allocate gigabytes. */
const MAX_LOG_N = 20;
const MAX_R = 32;
const MAX_P = 16;

/** Hashes and verifies passwords. Every method is asynchronous: scrypt runs on libuv's thread pool, not the event loop. */
export interface PasswordHasher {
  /** A self-describing hash: `$scrypt$ln=15,r=8,p=1$<salt base64>$<hash base64>`. A fresh random salt every time. */
  hash(password: string): Promise<string>;
  /**
   * True when `password` matches `stored`. The comparison is constant-time over equal-length digests; a stored
   * value that is not a well-formed hash of ours is false, never an exception.
   */
  verify(password: string, stored: string): Promise<boolean>;
  /**
   * Does the work of a verification against a hash of the same cost and returns false. Login calls it for an
   * unknown username, so answering "no such user" takes as long as "wrong password".
   */
  dummyVerify(password: string): Promise<false>;
}

function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const N = 2 ** params.logN;
  const options: ScryptOptions = { N, r: params.r, p: params.p, maxmem: 128 * N * params.r * params.p + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize("NFC"), salt, HASH_BYTES, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function format(params: ScryptParams, salt: Buffer, hash: Buffer): string {
  return `$scrypt$ln=${params.logN},r=${params.r},p=${params.p}$${salt.toString("base64")}$${hash.toString("base64")}`;
}

const FORMAT = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

/** The parts of a stored hash, or undefined when it is not one of ours (or asks for an unreasonable cost). */
function parse(stored: string): { params: ScryptParams; salt: Buffer; hash: Buffer } | undefined {
  const match = FORMAT.exec(stored);
  if (!match) return undefined;
  const params = { logN: Number(match[1]), r: Number(match[2]), p: Number(match[3]) };
  if (params.logN < 1 || params.logN > MAX_LOG_N || params.r < 1 || params.r > MAX_R || params.p < 1 || params.p > MAX_P) return undefined;
  const salt = Buffer.from(match[4]!, "base64");
  const hash = Buffer.from(match[5]!, "base64");
  if (salt.length < SALT_BYTES || hash.length !== HASH_BYTES) return undefined;
  return { params, salt, hash };
}

/**
 * Creates a hasher using scrypt from node:crypto (memory-hard, so a GPU farm gains little). `params` sets the
 * cost of new hashes; verification always uses the cost recorded in the stored hash, so raising the default
 * never locks anyone out. Tests pass a lower cost to stay fast.
 */
export function createPasswordHasher(params: ScryptParams = DEFAULT_SCRYPT_PARAMS): PasswordHasher {
  let dummy: Promise<string> | undefined;
  const hasher: PasswordHasher = {
    async hash(password) {
      const salt = randomBytes(SALT_BYTES);
      return format(params, salt, await derive(password, salt, params));
    },
    async verify(password, stored) {
      const parts = parse(stored);
      if (!parts) return false;
      const candidate = await derive(password, parts.salt, parts.params);
      return timingSafeEqual(candidate, parts.hash);
    },
    async dummyVerify(password) {
      // A hash of a random password at the current cost, made once; verifying against it costs what a real
      // verification costs and can never succeed.
      dummy ??= hasher.hash(randomBytes(32).toString("base64"));
      await hasher.verify(password, await dummy);
      return false;
    },
  };
  return hasher;
}
