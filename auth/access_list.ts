/**
 * The ACL file (`--acl FILE`): what each client-certificate identity may subscribe to and
 * publish on. JSON, one entry per identity:
 *
 * ```json
 * {
 *   "sensor-7": { "pubs": ["metrics.sensor-7"] },
 *   "dashboard.example.com": { "subs": ["metrics.*", "alerts"], "pubs": [] }
 * }
 * ```
 *
 * `subs` and `pubs` are lists of channel patterns (exact names or a prefix ending in `*`);
 * a missing one is empty. Any other key is an error (a typo such as `sub` would otherwise grant
 * nothing, silently). {@link AccessList.reload} reads the file again and keeps the entries in
 * force when the new file is wrong; connections see the new entries at their next `SUB`/`PUB`.
 *
 * @example
 * ```ts
 * import { AccessList } from "./access_list.ts";
 * const acl = await AccessList.load("acl.json");
 * acl.lookup("sensor-7")?.mayPublish("metrics.sensor-7"); // true
 * acl.lookup("stranger"); // undefined: no entry, no access
 * ```
 * @module
 */
import { isValidChannelPattern } from "../protocol/channel_pattern.ts";
import { describeError } from "../util/errors.ts";
import { AccessListError } from "./auth_errors.ts";
import { IDENTITY_RULE, isValidIdentity } from "./identity.ts";
import { Permissions } from "./permissions.ts";

/** Largest ACL file read, in bytes. */
const MAX_FILE_BYTES = 16 * 1024 * 1024;
const FIELDS = new Set(["subs", "pubs"]);

/**
 * Parses the text of an ACL file into permissions by identity; throws {@link AccessListError}
 * naming the first problem (and `path`).
 *
 * @example
 * ```ts
 * import { parseAccessList } from "./access_list.ts";
 * const entries = parseAccessList('{"alice": {"subs": ["*"]}}', "acl.json");
 * entries.get("alice")?.maySubscribe("news"); // true
 * ```
 */
export function parseAccessList(text: string, path: string): Map<string, Permissions> {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new AccessListError(path, `not valid JSON (${describeError(error)})`);
  }
  if (typeof document !== "object" || document === null || Array.isArray(document)) {
    throw new AccessListError(path, 'expected an object of identities: {"NAME": {"subs": [...]}}');
  }
  const entries = new Map<string, Permissions>();
  for (const [identity, entry] of Object.entries(document)) {
    const where = `entry ${JSON.stringify(identity.slice(0, 80))}`;
    if (!isValidIdentity(identity)) {
      throw new AccessListError(path, `${where}: an identity is ${IDENTITY_RULE}`);
    }
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      throw new AccessListError(path, `${where}: expected {"subs": [...], "pubs": [...]}`);
    }
    for (const key of Object.keys(entry)) {
      if (!FIELDS.has(key)) {
        throw new AccessListError(
          path,
          `${where}: unknown field ${JSON.stringify(key)} (the fields are "subs" and "pubs")`,
        );
      }
    }
    const record = entry as Record<string, unknown>;
    entries.set(
      identity,
      new Permissions({
        identity,
        subs: patternList(record.subs, `${where}: "subs"`, path),
        pubs: patternList(record.pubs, `${where}: "pubs"`, path),
        source: "certificate",
      }),
    );
  }
  return entries;
}

function patternList(value: unknown, where: string, path: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new AccessListError(path, `${where} must be a list`);
  for (const pattern of value) {
    if (typeof pattern !== "string" || !isValidChannelPattern(pattern)) {
      throw new AccessListError(
        path,
        `${where}: ${
          JSON.stringify(String(pattern).slice(0, 80))
        } is not a channel name or a prefix ending in "*"`,
      );
    }
  }
  return value;
}

/** What a {@link AccessList.reload} did. */
export interface AccessListReload {
  /** Entries in force now. */
  readonly entries: number;
  /** Whether the file had changed (entries differ from before). */
  readonly changed: boolean;
}

/**
 * The ACL in force, reloadable.
 *
 * @example
 * ```ts
 * import { AccessList } from "./access_list.ts";
 * const acl = await AccessList.load("acl.json");
 * try {
 *   const { entries } = await acl.reload(); // on SIGHUP
 *   console.log(`ACL reloaded: ${entries} identities`);
 * } catch (error) {
 *   console.error(`ACL kept: ${(error as Error).message}`);
 * }
 * ```
 */
export class AccessList {
  /** The file. */
  readonly path: string;
  #entries: Map<string, Permissions>;
  #text: string;
  #generation = 0;

  private constructor(path: string, text: string, entries: Map<string, Permissions>) {
    this.path = path;
    this.#text = text;
    this.#entries = entries;
  }

  /**
   * Reads and checks `path`; throws {@link AccessListError}.
   *
   * @example
   * ```ts
   * import { AccessList } from "./access_list.ts";
   * const acl = await AccessList.load("/etc/tlspush/acl.json");
   * acl.size; // the identities it lists
   * ```
   */
  static async load(path: string): Promise<AccessList> {
    const text = await readAccessListFile(path);
    return new AccessList(path, text, parseAccessList(text, path));
  }

  /** Identities listed. */
  get size(): number {
    return this.#entries.size;
  }

  /** Grows by one at each reload that changed the entries: a cached lookup is stale once it differs. */
  get generation(): number {
    return this.#generation;
  }

  /** The permissions of `identity`, or undefined (not listed: no access). */
  lookup(identity: string): Permissions | undefined {
    return this.#entries.get(identity);
  }

  /**
   * Reads the file again; a file that cannot be read or is wrong throws
   * {@link AccessListError} and leaves the entries in force untouched.
   */
  async reload(): Promise<AccessListReload> {
    const text = await readAccessListFile(this.path);
    if (text === this.#text) return { entries: this.#entries.size, changed: false };
    const entries = parseAccessList(text, this.path);
    this.#text = text;
    this.#entries = entries;
    this.#generation++;
    return { entries: entries.size, changed: true };
  }
}

async function readAccessListFile(path: string): Promise<string> {
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) throw new AccessListError(path, "not a file");
    if (info.size > MAX_FILE_BYTES) {
      throw new AccessListError(path, `larger than ${MAX_FILE_BYTES} bytes`);
    }
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof AccessListError) throw error;
    throw new AccessListError(path, `cannot be read (${describeError(error)})`, { cause: error });
  }
}
