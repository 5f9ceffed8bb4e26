/**
 * `deno task token`: prints a JWT the server accepts (`--jwt-secret` / `TLSPUSH_JWT_SECRET`
 * for HS256, or `--private-key` for ES256 / RS256), for tests and small deployments. A backend
 * mints its own the same way (see the README).
 *
 * @example
 * ```sh
 * TLSPUSH_JWT_SECRET=$(cat secret) deno task token --sub alice --subs 'metrics.*' --ttl 1h
 * ```
 * @module
 */
import { mintToken, type SigningKey } from "../auth/token_minting.ts";
import { parseDuration } from "../cli/duration.ts";
import { runMain, UsageError } from "../cli/errors.ts";
import { parseFlags } from "../cli/flags.ts";
import { isValidChannelPattern } from "../protocol/channel_pattern.ts";
import { describeError } from "../util/errors.ts";

const USAGE = `Usage: deno task token --sub NAME [options]

Prints a JWT for a tlspush server started with --jwt-secret (or TLSPUSH_JWT_SECRET), or
with --jwt-public-key for the public half of --private-key.

Options:
  --sub NAME          the identity (the token's "sub" claim)
  --subs PATTERNS     channels it may subscribe to: names or prefixes ending in *,
                      comma-separated or repeated (e.g. 'metrics.*,alerts')
  --pubs PATTERNS     channels it may publish on (same form)
  --ttl DURATION      how long it is valid: 90s, 30m, 1h, 7d (default 1h)
  --not-before DURATION
                      valid only from this long from now ("nbf")
  --secret SECRET     HS256 secret (default: TLSPUSH_JWT_SECRET; the variable keeps it out
                      of ps and the shell history)
  --private-key FILE  PEM private key (PKCS#8) to sign ES256 (P-256) or RS256 (RSA) instead
  --help              show this help`;

const SECRET_ENV = "TLSPUSH_JWT_SECRET";

function patterns(values: string[] | undefined, flag: string): string[] {
  const list = (values ?? []).flatMap((value) => value.split(",")).map((p) => p.trim())
    .filter((p) => p !== "");
  for (const pattern of list) {
    if (!isValidChannelPattern(pattern)) {
      throw new UsageError(
        `${flag}: '${pattern}' is not a channel name (1 to 128 of A-Z a-z 0-9 _ - . : /) ` +
          `or a prefix ending in *`,
      );
    }
  }
  return list;
}

async function signingKey(
  secret: string | undefined,
  file: string | undefined,
): Promise<SigningKey> {
  if (secret !== undefined && file !== undefined) {
    throw new UsageError("--secret and --private-key exclude each other");
  }
  if (file !== undefined) {
    try {
      return { privateKeyPem: await Deno.readTextFile(file) };
    } catch (error) {
      throw new Error(`--private-key ${file}: cannot be read (${describeError(error)})`);
    }
  }
  const fromEnv = Deno.permissions.querySync({ name: "env", variable: SECRET_ENV }).state ===
      "granted"
    ? Deno.env.get(SECRET_ENV)
    : undefined;
  const key = secret ?? (fromEnv || undefined);
  if (key === undefined) {
    throw new UsageError(`give the key: set ${SECRET_ENV}, or --secret, or --private-key FILE`);
  }
  return { secret: key };
}

if (import.meta.main) {
  await runMain("token", async () => {
    const values = parseFlags(Deno.args, {
      sub: { type: "string" },
      subs: { type: "string", multiple: true },
      pubs: { type: "string", multiple: true },
      ttl: { type: "string" },
      "not-before": { type: "string" },
      secret: { type: "string" },
      "private-key": { type: "string" },
      help: { type: "boolean" },
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (values.sub === undefined || values.sub === "") {
      throw new UsageError("--sub NAME is required");
    }
    const subs = patterns(values.subs, "--subs");
    const pubs = patterns(values.pubs, "--pubs");
    const token = await mintToken({
      key: await signingKey(values.secret, values["private-key"]),
      sub: values.sub,
      subs,
      pubs,
      ttlSeconds: parseDuration(values.ttl ?? "1h", "--ttl"),
      notBeforeSeconds: values["not-before"] === undefined
        ? undefined
        : parseDuration(values["not-before"], "--not-before"),
    });
    console.log(token);
  });
}
