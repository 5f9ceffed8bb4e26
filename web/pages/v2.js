// Protocol v2 as the browser client speaks it (DESIGN.md §7): channel names, the commands it
// sends and the replies it reads. Over WebSocket each text message is one command or one reply.

/** The WebSocket subprotocol that selects v2 on /ws. */
export const SUBPROTOCOL = "tlspush.v2";

/** The channel every v1 client receives: operator broadcasts (stdin, dashboard, publish API). */
export const BROADCAST = "broadcast";

/** The rule in words, as the server says it. */
export const CHANNEL_RULE = "channel names are 1 to 128 bytes of A-Z a-z 0-9 _ - . : /";

const CHANNEL = /^[A-Za-z0-9_\-.:/]{1,128}$/;
const SEQ = /^(0|[1-9][0-9]{0,15})$/;

/** True when `name` is a valid channel name. */
export function isValidChannel(name) {
  return CHANNEL.test(name);
}

/** `SUB <channel>`, or `SUB <channel> <from>` to replay what is retained from `from` on. */
export function subCommand(channel, from) {
  return from === undefined ? `SUB ${channel}` : `SUB ${channel} ${from}`;
}

/** `UNSUB <channel>`. */
export function unsubCommand(channel) {
  return `UNSUB ${channel}`;
}

/** `PUB <channel> <data>`. */
export function pubCommand(channel, data) {
  return `PUB ${channel} ${data}`;
}

function seq(text) {
  if (!SEQ.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}

/**
 * Reads one reply: `{kind: "msg", channel, seq, data}`, `{kind: "ok", verb, channel, value}`
 * (`value`: `<next>` of OK SUB, `<seq>` of OK PUB), `{kind: "gap", channel, from, to}`,
 * `{kind: "err", code, text}`, `{kind: "pong", data}`, or `{kind: "invalid", text}` for
 * anything else (shown as it came, never guessed at).
 */
export function parseReply(text) {
  const invalid = { kind: "invalid", text };
  const space = text.indexOf(" ");
  const verb = space === -1 ? text : text.slice(0, space);
  const rest = space === -1 ? "" : text.slice(space + 1);
  if (verb === "MSG") {
    // The data is the rest, spaces and all: split off exactly two fields.
    const first = rest.indexOf(" ");
    const second = first === -1 ? -1 : rest.indexOf(" ", first + 1);
    const channel = first === -1 ? rest : rest.slice(0, first);
    const number = seq(second === -1 ? rest.slice(first + 1) : rest.slice(first + 1, second));
    if (first === -1 || !isValidChannel(channel) || number === undefined) return invalid;
    return { kind: "msg", channel, seq: number, data: second === -1 ? "" : rest.slice(second + 1) };
  }
  if (verb === "PONG") return { kind: "pong", data: rest };
  if (verb === "ERR") {
    const split = rest.indexOf(" ");
    const code = split === -1 ? rest : rest.slice(0, split);
    if (!/^[a-z0-9-]+$/.test(code)) return invalid;
    return { kind: "err", code, text: split === -1 ? "" : rest.slice(split + 1) };
  }
  const fields = rest.split(" ");
  if (verb === "GAP" && fields.length === 3 && isValidChannel(fields[0])) {
    const from = seq(fields[1]);
    const to = seq(fields[2]);
    if (from === undefined || to === undefined || from >= to) return invalid;
    return { kind: "gap", channel: fields[0], from, to };
  }
  if (verb === "OK") {
    const [what, channel, value] = fields;
    if (what === "HELLO" && fields.length === 1) return { kind: "ok", verb: "HELLO" };
    if (what === "AUTH" && fields.length >= 2) {
      return { kind: "ok", verb: "AUTH", value: rest.slice("AUTH ".length) };
    }
    if (!isValidChannel(channel ?? "")) return invalid;
    if (what === "UNSUB" && fields.length === 2) return { kind: "ok", verb: "UNSUB", channel };
    if ((what === "SUB" || what === "PUB") && fields.length === 3 && seq(value) !== undefined) {
      return { kind: "ok", verb: what, channel, value: seq(value) };
    }
  }
  return invalid;
}
