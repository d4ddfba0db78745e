import type { Insertable, Selectable } from "kysely";

/** A user's role, as stored. Ordered: `super_admin` includes `admin`, which includes `user`. */
export type UserRole = "user" | "admin" | "super_admin";

/**
 * An account of the control plane. The password is stored only as a self-describing scrypt hash; the
 * `token_version` is copied into every JWT issued to the user and compared on every call, so bumping it (on
 * disable, role change, password change) revokes every token already issued.
 */
export interface UserTable {
  /** Application-generated id (`usr_…`). */
  id: string;
  /** Unique login name, lowercase. */
  username: string;
  /** Contact address; may be empty. */
  email: string;
  role: UserRole;
  /** `$scrypt$…` string from server/auth/passwords.ts; never leaves the server. */
  password_hash: string;
  /** 1 when the user may neither log in nor use their keys. */
  disabled: 0 | 1;
  token_version: number;
  /** Epoch milliseconds. */
  created_at: number;
  /** Epoch milliseconds. */
  updated_at: number;
}

/** A user as read from the database. */
export type UserRow = Selectable<UserTable>;

/** A user to insert. */
export type NewUserRow = Insertable<UserTable>;
