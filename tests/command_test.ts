import { assert, assertEquals, assertThrows } from "./assert.ts";
import {
  type ClientCommand,
  COMMAND_VERBS,
  encodeCommand,
  parseCommand,
  type ParsedCommand,
} from "../protocol/command.ts";
import { ERROR_CODES, isErrorCode } from "../protocol/error_code.ts";
import { InvalidFieldError } from "../protocol/field_error.ts";
import { encodeFrame } from "../protocol/framing.ts";
import { ALPN_V2, HELLO_V2, isHelloV2, WS_SUBPROTOCOL_V2 } from "../protocol/negotiation.ts";
import {
  encodeMsg,
  encodeReply,
  msgPayloadLength,
  parseReply,
  type ServerReply,
} from "../protocol/reply.ts";
import { isValidSequence, MAX_SEQUENCE, parseSequence } from "../protocol/sequence_number.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = (text: string) => encoder.encode(text);
const parse = (text: string): ParsedCommand => parseCommand(bytes(text));
const text = (payload: Uint8Array) => decoder.decode(payload);

const CH128 = "c".repeat(128);
const CH129 = "c".repeat(129);
const SEQ = 1754000000000000; // a clock-derived number (2025)

/** Asserts `input` parses to a refusal with `code`; returns its text. */
function refused(input: string | Uint8Array, code: string): string {
  const result = parseCommand(typeof input === "string" ? bytes(input) : input);
  assert(result.kind === "refused", `${JSON.stringify(input)} gave ${JSON.stringify(result)}`);
  assertEquals(result.code, code, JSON.stringify(input));
  assert(!/[\r\n]/.test(result.text), "refusal texts fit a line frame");
  return result.text;
}

// ---------------------------------------------------------------------------------------------
// Sequence numbers

Deno.test("sequence numbers: canonical decimals from 0 to 2^53 - 1", () => {
  const cases: [string, number | undefined][] = [
    ["0", 0],
    ["1", 1],
    ["42", 42],
    [String(SEQ), SEQ],
    ["9007199254740991", MAX_SEQUENCE],
    ["9007199254740992", undefined], // 2^53
    ["9007199254740993", undefined],
    ["9999999999999999", undefined],
    ["18446744073709551615", undefined], // 2^64 - 1
    ["99999999999999999999999999999", undefined],
    ["00", undefined],
    ["01", undefined],
    ["007", undefined],
    ["+1", undefined],
    ["-1", undefined],
    ["-0", undefined],
    ["1e3", undefined],
    ["1.0", undefined],
    ["0x10", undefined],
    [" 1", undefined],
    ["1 ", undefined],
    ["", undefined],
    ["١٢", undefined], // Arabic-Indic digits
    ["１", undefined], // fullwidth digit
  ];
  for (const [input, expected] of cases) assertEquals(parseSequence(bytes(input)), expected, input);
  assertEquals(parseSequence(bytes("SUB a 17"), 6), 17, "a range of a payload");
  assertEquals(parseSequence(bytes("123"), 1, 2), 2);
  assertEquals(parseSequence(bytes("123"), 0, 9), undefined, "a range past the end");
  assertEquals(MAX_SEQUENCE, 2 ** 53 - 1);
  assert(isValidSequence(0) && isValidSequence(MAX_SEQUENCE));
  for (const bad of [-1, 2 ** 53, 1.5, NaN, Infinity]) assert(!isValidSequence(bad), String(bad));
});

// ---------------------------------------------------------------------------------------------
// Negotiation

Deno.test("negotiation: the ALPN id, the subprotocol and the HELLO frame of the contract", () => {
  assertEquals(ALPN_V2, "tlspush/2");
  assertEquals(WS_SUBPROTOCOL_V2, "tlspush.v2");
  assertEquals(HELLO_V2, "HELLO tlspush/2");
  assert(isHelloV2(bytes("HELLO tlspush/2")));
  for (
    const other of [
      "HELLO tlspush/2 ",
      "HELLO tlspush/3",
      "hello tlspush/2",
      "HELLO",
      "",
      "HELLO  tlspush/2",
    ]
  ) {
    assert(!isHelloV2(bytes(other)), other);
  }
});

// ---------------------------------------------------------------------------------------------
// Commands: every verb

Deno.test("HELLO tlspush/2 parses; other versions and forms are refused", () => {
  assertEquals(parse("HELLO tlspush/2"), { kind: "hello" });
  assert(refused("HELLO", "bad-command").includes("HELLO tlspush/2"));
  assert(refused("HELLO ", "bad-command").includes("tlspush/2"));
  refused("HELLO tlspush/1", "bad-command");
  refused("HELLO tlspush/2 ", "bad-command");
  refused("HELLO tlspush/2 extra", "bad-command");
  refused("HELLO  tlspush/2", "bad-command");
});

Deno.test("SUB with and without a sequence number", () => {
  assertEquals(parse("SUB news"), { kind: "sub", channel: "news" });
  assertEquals(parse("SUB news 0"), { kind: "sub", channel: "news", from: 0 });
  assertEquals(parse(`SUB news ${SEQ}`), { kind: "sub", channel: "news", from: SEQ });
  assertEquals(parse(`SUB news ${MAX_SEQUENCE}`), {
    kind: "sub",
    channel: "news",
    from: MAX_SEQUENCE,
  });
  assertEquals(parse(`SUB ${CH128}`), { kind: "sub", channel: CH128 });
  assertEquals(parse("SUB a.b-c_d:e/f 5"), { kind: "sub", channel: "a.b-c_d:e/f", from: 5 });
  assertEquals(parse("SUB broadcast"), { kind: "sub", channel: "broadcast" });
  // "from" is absent, not undefined, when no number was given.
  assert(!("from" in (parse("SUB news") as object)));
});

Deno.test("SUB refusals: missing or bad channel, bad or extra number", () => {
  refused("SUB", "bad-command");
  refused("SUB ", "bad-channel"); // one (empty) argument
  refused("SUB  news", "bad-channel"); // two spaces: the channel is empty
  refused(`SUB ${CH129}`, "bad-channel");
  refused(`SUB ${CH129} 5`, "bad-channel");
  refused("SUB météo", "bad-channel");
  refused("SUB news\n", "bad-channel");
  refused("SUB metrics.*", "bad-channel");
  refused("SUB news ", "bad-command"); // an empty number
  refused("SUB news  5", "bad-command");
  refused("SUB news 5 ", "bad-command");
  refused("SUB news 5 6", "bad-command");
  refused("SUB news -1", "bad-command");
  refused("SUB news +1", "bad-command");
  refused("SUB news 007", "bad-command");
  refused("SUB news 9007199254740992", "bad-command");
  refused("SUB news 99999999999999999999999999", "bad-command");
  refused("SUB news 1.5", "bad-command");
  refused("SUB news x", "bad-command");
  assert(refused("SUB news 1e9", "bad-command").includes("9007199254740991"));
});

Deno.test("UNSUB", () => {
  assertEquals(parse("UNSUB news"), { kind: "unsub", channel: "news" });
  assertEquals(parse(`UNSUB ${CH128}`), { kind: "unsub", channel: CH128 });
  refused("UNSUB", "bad-command");
  refused("UNSUB ", "bad-channel");
  refused(`UNSUB ${CH129}`, "bad-channel");
  refused("UNSUB news 5", "bad-command");
  refused("UNSUB news ", "bad-command");
});

Deno.test("PUB: data is the rest of the payload, with spaces and newlines, possibly empty", () => {
  const pub = (input: string) => {
    const result = parse(input);
    assert(result.kind === "pub", `${input}: ${JSON.stringify(result)}`);
    return { channel: result.channel, data: text(result.data) };
  };
  assertEquals(pub("PUB news hello"), { channel: "news", data: "hello" });
  assertEquals(pub("PUB news cpu 93%  now\n\tand\r\nthen "), {
    channel: "news",
    data: "cpu 93%  now\n\tand\r\nthen ",
  });
  assertEquals(pub("PUB news "), { channel: "news", data: "" });
  assertEquals(pub("PUB news"), { channel: "news", data: "" }, "no space: empty data");
  assertEquals(pub("PUB news  "), { channel: "news", data: " " });
  assertEquals(pub("PUB news héllo 🚀"), { channel: "news", data: "héllo 🚀" });
  assertEquals(pub(`PUB ${CH128} x`), { channel: CH128, data: "x" });
  assertEquals(pub("PUB news PUB news x"), { channel: "news", data: "PUB news x" });
  refused("PUB", "bad-command");
  refused("PUB ", "bad-channel");
  refused("PUB  data", "bad-channel");
  refused(`PUB ${CH129} x`, "bad-channel");
  refused("PUB ç x", "bad-channel");
});

Deno.test("PUB data is a view into the payload, not a copy", () => {
  const payload = bytes("PUB news abc");
  const result = parseCommand(payload);
  assert(result.kind === "pub");
  assertEquals(result.data.buffer, payload.buffer);
  assertEquals(result.data.byteOffset, 9);
});

Deno.test("PING with no data, empty data and data", () => {
  assertEquals(parse("PING"), { kind: "ping" });
  const empty = parse("PING ");
  assert(empty.kind === "ping" && empty.data !== undefined);
  assertEquals(empty.data.length, 0);
  const some = parse("PING t=1 with spaces\n");
  assert(some.kind === "ping" && some.data !== undefined);
  assertEquals(text(some.data), "t=1 with spaces\n");
  refused("PINGx", "bad-command");
});

Deno.test("AUTH takes one token without spaces", () => {
  const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_";
  assertEquals(parse(`AUTH ${jwt}`), { kind: "auth", token: jwt });
  assertEquals(parse("AUTH jétön"), { kind: "auth", token: "jétön" });
  refused("AUTH", "bad-command");
  refused("AUTH ", "bad-command");
  refused("AUTH a b", "bad-command");
  refused("AUTH  a", "bad-command");
  refused("AUTH a ", "bad-command");
});

Deno.test("unknown, lowercase and empty commands are bad-command, with a hint for case", () => {
  assert(refused("", "bad-command").includes("empty"));
  for (const verb of COMMAND_VERBS) {
    for (const wrong of [verb.toLowerCase(), verb[0] + verb.slice(1).toLowerCase()]) {
      assert(
        refused(`${wrong} news`, "bad-command").includes(`uppercase: ${verb}`),
        `${wrong} gets the hint`,
      );
    }
  }
  for (
    const input of [
      "FOO",
      "FOO bar",
      "SUBSCRIBE news",
      "SUBX news",
      " SUB news",
      "\tSUB news",
      "SUB\tnews",
      "SUB\nnews",
      "MSG news 1 x", // a reply is not a command
      "OK",
      "PONG",
      "ÜB news",
      "𝐒UB news",
      "SUB\u0000news",
      "x".repeat(10_000),
      "constructor",
      "__proto__",
    ]
  ) {
    assert(refused(input, "bad-command").includes("unknown"), JSON.stringify(input));
  }
});

Deno.test("refusal texts never echo the peer's bytes", () => {
  const hostile = "\u001b[31m<script>";
  for (
    const input of [`${hostile}`, `SUB ${hostile}`, `SUB news ${hostile}`, `AUTH a ${hostile}`]
  ) {
    const result = parse(input);
    assert(result.kind === "refused");
    assert(!result.text.includes("script"), result.text);
  }
});

Deno.test("every refusal code the parser uses is a contract code", () => {
  assertEquals(ERROR_CODES, [
    "bad-command",
    "bad-channel",
    "too-large",
    "forbidden",
    "not-authenticated",
    "rate-limited",
    "unavailable",
  ]);
  for (const input of ["", "x", "SUB", "SUB é", "SUB a x", "HELLO x", "AUTH a b"]) {
    const result = parse(input);
    assert(result.kind === "refused" && isErrorCode(result.code), input);
  }
  assert(!isErrorCode("teapot"));
});

// ---------------------------------------------------------------------------------------------
// Command encoding

Deno.test("encodeCommand writes the contract's spelling and round-trips", () => {
  const data = bytes("cpu 93%\nnext line");
  const cases: [ClientCommand, string][] = [
    [{ kind: "hello" }, "HELLO tlspush/2"],
    [{ kind: "sub", channel: "news" }, "SUB news"],
    [{ kind: "sub", channel: "news", from: 0 }, "SUB news 0"],
    [{ kind: "sub", channel: CH128, from: MAX_SEQUENCE }, `SUB ${CH128} 9007199254740991`],
    [{ kind: "unsub", channel: "news" }, "UNSUB news"],
    [{ kind: "pub", channel: "news", data }, "PUB news cpu 93%\nnext line"],
    [{ kind: "pub", channel: "news", data: new Uint8Array() }, "PUB news "],
    [{ kind: "ping" }, "PING"],
    [{ kind: "ping", data: new Uint8Array() }, "PING "],
    [{ kind: "ping", data: bytes("x y") }, "PING x y"],
    [{ kind: "auth", token: "a.b.c" }, "AUTH a.b.c"],
  ];
  for (const [command, wire] of cases) {
    const payload = encodeCommand(command);
    assertEquals(text(payload), wire);
    assertEquals(parseCommand(payload), command, wire);
  }
});

Deno.test("encodeCommand refuses fields the grammar cannot carry", () => {
  const bad: [ClientCommand, string][] = [
    [{ kind: "sub", channel: "" }, "channel"],
    [{ kind: "sub", channel: CH129 }, "channel"],
    [{ kind: "sub", channel: "a b" }, "channel"],
    [{ kind: "sub", channel: "news", from: -1 }, "seq"],
    [{ kind: "sub", channel: "news", from: 2 ** 53 }, "seq"],
    [{ kind: "sub", channel: "news", from: 0.5 }, "seq"],
    [{ kind: "unsub", channel: "é" }, "channel"],
    [{ kind: "pub", channel: "*", data: new Uint8Array() }, "channel"],
    [{ kind: "auth", token: "" }, "token"],
    [{ kind: "auth", token: "a b" }, "token"],
  ];
  for (const [command, field] of bad) {
    const error = assertThrows(() => encodeCommand(command), InvalidFieldError);
    assertEquals(error.field, field, JSON.stringify(command));
    assertEquals(error.name, "InvalidFieldError");
  }
});

// ---------------------------------------------------------------------------------------------
// Replies

Deno.test("every reply is written exactly as the contract spells it", () => {
  const cases: [ServerReply, string][] = [
    [
      { kind: "msg", channel: "news", seq: SEQ, data: bytes("hi there") },
      `MSG news ${SEQ} hi there`,
    ],
    [{ kind: "msg", channel: "news", seq: 0, data: new Uint8Array() }, "MSG news 0 "],
    [{ kind: "msg", channel: "n", seq: 7, data: bytes("a\nb") }, "MSG n 7 a\nb"],
    [{ kind: "ok-sub", channel: "news", next: SEQ }, `OK SUB news ${SEQ}`],
    [{ kind: "ok-unsub", channel: "news" }, "OK UNSUB news"],
    [{ kind: "ok-pub", channel: "news", seq: SEQ }, `OK PUB news ${SEQ}`],
    [{ kind: "ok-auth", identity: "dashboard 7" }, "OK AUTH dashboard 7"],
    [{ kind: "ok-auth", identity: "" }, "OK AUTH "],
    [{ kind: "ok-hello" }, "OK HELLO"],
    [{ kind: "pong" }, "PONG"],
    [{ kind: "pong", data: new Uint8Array() }, "PONG "],
    [{ kind: "pong", data: bytes("t=1") }, "PONG t=1"],
    [{ kind: "gap", channel: "news", from: 0, to: SEQ }, `GAP news 0 ${SEQ}`],
    [
      { kind: "err", code: "bad-channel", text: "channel names are ..." },
      "ERR bad-channel channel names are ...",
    ],
    [{ kind: "err", code: "forbidden", text: "" }, "ERR forbidden "],
  ];
  for (const [reply, wire] of cases) {
    const payload = encodeReply(reply);
    assertEquals(text(payload), wire);
    assertEquals(parseReply(payload), reply, wire);
  }
});

Deno.test("PING is answered by mirroring its data part", () => {
  for (const ping of ["PING", "PING ", "PING abc", "PING a b\nc"]) {
    const command = parse(ping);
    assert(command.kind === "ping");
    assertEquals(text(encodeReply({ kind: "pong", data: command.data })), `PONG${ping.slice(4)}`);
  }
});

Deno.test("encodeMsg: prefix in ASCII, data copied byte for byte, length known beforehand", () => {
  const data = new Uint8Array([0xf0, 0x9f, 0x9a, 0x80, 0x20, 0x0a]); // "🚀 \n"
  const payload = encodeMsg("a:b", 12, data);
  assertEquals(Array.from(payload.subarray(0, 11)), Array.from(bytes("MSG a:b 12 ")));
  assertEquals(payload.subarray(11), data);
  assertEquals(payload.length, msgPayloadLength("a:b", 12, data.length));
  for (const seq of [0, 9, 10, 99, 100, SEQ, MAX_SEQUENCE]) {
    assertEquals(encodeMsg(CH128, seq, data).length, msgPayloadLength(CH128, seq, data.length));
  }
  assertEquals(msgPayloadLength(CH128, MAX_SEQUENCE, 0), 4 + 128 + 1 + 16 + 1);
  // The one MSG payload frames in every framing, without a newline in the prefix.
  assertEquals(encodeFrame(encodeMsg("n", 1, bytes("x")), "line"), bytes("MSG n 1 x\n"));
});

Deno.test("encodeReply refuses fields the grammar cannot carry", () => {
  const bad: [ServerReply, string][] = [
    [{ kind: "msg", channel: "a b", seq: 1, data: new Uint8Array() }, "channel"],
    [{ kind: "msg", channel: "news", seq: -1, data: new Uint8Array() }, "seq"],
    [{ kind: "ok-sub", channel: "news", next: 2 ** 53 }, "next"],
    [{ kind: "ok-unsub", channel: "" }, "channel"],
    [{ kind: "ok-pub", channel: "news", seq: 1.5 }, "seq"],
    [{ kind: "gap", channel: "news", from: 5, to: 5 }, "to"],
    [{ kind: "gap", channel: "news", from: 6, to: 5 }, "to"],
    [{ kind: "gap", channel: "news", from: -1, to: 5 }, "from"],
    [{ kind: "err", code: "Bad", text: "x" }, "code"],
    [{ kind: "err", code: "", text: "x" }, "code"],
    [{ kind: "err", code: "a b", text: "x" }, "code"],
  ];
  for (const [reply, field] of bad) {
    assertEquals(assertThrows(() => encodeReply(reply), InvalidFieldError).field, field);
  }
});

Deno.test("parseReply refuses what the server never writes", () => {
  for (
    const input of [
      "",
      "MSG",
      "MSG news",
      "MSG news 5", // no space before the data
      "MSG news x y",
      "MSG news 05 x",
      "MSG  5 x",
      "MSG né 5 x",
      "OK",
      "OK ",
      "OK FOO",
      "OK HELLO ",
      "OK HELLO x",
      "OK SUB news",
      "OK SUB news 5 ",
      "OK SUB news x",
      "OK UNSUB",
      "OK UNSUB news ",
      "OK PUB news",
      "OK AUTH",
      "ok HELLO",
      "PONGx",
      "GAP news 5",
      "GAP news 5 5",
      "GAP news 6 5",
      "GAP news 5 6 ",
      "ERR",
      "ERR forbidden",
      "ERR Forbidden x",
      "ERR bad_code x",
      `ERR ${"x".repeat(65)} x`,
      "SUB news",
      "HELLO tlspush/2",
    ]
  ) {
    const result = parseReply(bytes(input));
    assert(result.kind === "invalid", `${JSON.stringify(input)} gave ${JSON.stringify(result)}`);
    assert(result.reason.length > 0);
  }
});

Deno.test("parseReply: unknown ERR codes are kept, data is a view, texts may be UTF-8", () => {
  assertEquals(parseReply(bytes("ERR quota-2 over the quota")), {
    kind: "err",
    code: "quota-2",
    text: "over the quota",
  });
  assertEquals(parseReply(bytes("OK AUTH jürgen")), { kind: "ok-auth", identity: "jürgen" });
  const payload = bytes("MSG news 5 data");
  const msg = parseReply(payload);
  assert(msg.kind === "msg");
  assertEquals(msg.data.buffer, payload.buffer);
  assertEquals(text(msg.data), "data");
});
