import { generateJwtSecret, parseJwtSecret } from "../../auth/jwt.js";
import { getOrInsertSetting } from "../../store/repos/setting-repo.js";
import type { Queryable } from "../../store/tables/database.js";

/** The setting row holding the generated secret. */
export const JWT_SECRET_SETTING = "jwt_secret";

/**
 * The HS256 secret for access tokens. `JWT_SECRET` wins when set: hex or base64 of at least 32 bytes, otherwise
 * this throws and the server must not start. Without it, a random secret is generated on first start and kept
 * in the `setting` table, so tokens survive restarts and every replica on the same database verifies the
 * others' tokens (the first replica to store one wins). The trade-off: whoever can read the database can mint
 * tokens, which is no worse than being able to rewrite the `user` table; set `JWT_SECRET` to keep them apart.
 */
export async function loadJwtSecret(db: Queryable, fromEnvironment: string | undefined, now: () => number = Date.now): Promise<Uint8Array> {
  if (fromEnvironment !== undefined && fromEnvironment !== "") return parseJwtSecret(fromEnvironment);
  return parseJwtSecret(await getOrInsertSetting(db, JWT_SECRET_SETTING, generateJwtSecret(), now()));
}
