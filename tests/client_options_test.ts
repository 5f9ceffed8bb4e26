/** The client's command line (cli/client_options.ts): flags into a `ClientConfig`. */
import { assertEquals, assertThrows } from "./assert.ts";
import { CLIENT_USAGE, parseClientArgs } from "../cli/client_options.ts";
import { UsageError } from "../cli/errors.ts";
import { CLIENT_DEFAULTS } from "../client/config.ts";

Deno.test("--url takes tls://, tcp://, wss:// and ws:// targets and excludes --hostname/--port", () => {
  const parse = (...args: string[]) => parseClientArgs(args)!;
  assertEquals(
    [parse("--url", "tls://example.net:1234").hostname, parse("--url", "tls://example.net").port],
    ["example.net", 9002],
  );
  const tcp = parse("--url", "tcp://127.0.0.1:7");
  assertEquals([tcp.plain, tcp.port, tcp.webSocketUrl], [true, 7, undefined]);
  const wss = parse("--url", "wss://localhost:9003/ws");
  assertEquals([wss.hostname, wss.port, wss.plain], ["localhost", 9003, false]);
  assertEquals(wss.webSocketUrl, "wss://localhost:9003/ws");
  assertEquals(parse("--url", "wss://example.net/ws").port, 443);
  const ws = parse("--url", "ws://[::1]:9003/ws");
  assertEquals([ws.hostname, ws.plain, ws.webSocketUrl], ["::1", true, "ws://[::1]:9003/ws"]);
  assertEquals(parse("--port", "5").webSocketUrl, undefined);
  for (
    const args of [
      ["--url", "https://localhost/"],
      ["--url", "not a url"],
      ["--url", "tls://localhost:9002/path"],
      ["--url", "wss://localhost:9003/ws", "--port", "1"],
      ["--url", "wss://localhost:9003/ws", "--hostname", "x"],
      ["--url", "wss://localhost:9003/ws", "--plain"],
      ["--url", "wss://localhost:9003/ws", "--framing", "be32"],
    ]
  ) {
    assertThrows(() => parseClientArgs(args), UsageError, undefined, args.join(" "));
  }
});

Deno.test("no flags give the defaults of client/config.ts; --help gives null", () => {
  assertEquals(parseClientArgs([]), {
    ...CLIENT_DEFAULTS,
    ca: undefined,
    cert: undefined,
    key: undefined,
  });
  assertEquals(parseClientArgs(["--help"]), null);
  assertEquals(CLIENT_USAGE.startsWith("Usage: tlspush-client [options]"), true);
});

Deno.test("modes, framing, limits and the connect timeout", () => {
  const sent = parseClientArgs(["--send", "a", "--send", "-1", "--framing", "be32"])!;
  assertEquals([sent.mode, sent.messages, sent.framing], ["send", ["a", "-1"], "be32"]);
  assertEquals(parseClientArgs(["--listen"])!.mode, "listen");
  assertEquals(parseClientArgs(["--max-frame", "100"])!.maxFrame, 100);
  assertEquals(parseClientArgs(["--connect-timeout", "2.5"])!.connectTimeoutMs, 2500);
  assertEquals(parseClientArgs(["--reconnect", "--plain"])!.reconnect, true);
  assertEquals(parseClientArgs([])!.markReceived, false, "client.ts decides it from the terminal");
});

Deno.test("bad values are usage errors that say what is wrong", () => {
  const cases: [string[], RegExp][] = [
    [["--max-frame", "-1"], /--max-frame must be from 1 to 2147483647, got -1/],
    [["--max-frame", "0"], /--max-frame must be from 1/],
    [["--port", "-5"], /--port must be from 0 to 65535, got -5/],
    [["--connect-timeout", "0"], /--connect-timeout must be more than 0 seconds/],
    [["--connect-timeout", "-1"], /--connect-timeout must not be negative, got -1/],
    [["--framing", "line", "--send", "two\nlines"], /--framing line cannot carry .*newline/],
    [["--send", "a", "--listen"], /exclude each other/],
    [["--port"], /--port needs a value/],
    [["--port", "--listen"], /--port needs a value/],
  ];
  for (const [args, pattern] of cases) {
    const error = assertThrows(() => parseClientArgs(args), UsageError, undefined, args.join(" "));
    assertEquals(pattern.test(error.message), true, `${args.join(" ")}: ${error.message}`);
  }
});

Deno.test("--channel, --pub and --print-channel: v2, and the combinations that make no sense", () => {
  const listening = parseClientArgs(["--channel", "a", "--channel", "b", "--channel", "a"])!;
  assertEquals([listening.channels, listening.mode], [["a", "b"], "listen"]);
  const publishing = parseClientArgs(["--pub", "metrics", "--send", "cpu 93%"])!;
  assertEquals([publishing.publishTo, publishing.mode, publishing.channels], [
    "metrics",
    "send",
    [],
  ]);
  const typed = parseClientArgs(["--pub", "chat", "--channel", "chat", "--print-channel"])!;
  assertEquals([typed.mode, typed.printChannel], ["interactive", true]);
  for (
    const [args, message] of [
      [["--channel", "no spaces"], "invalid channel 'no spaces'"],
      [["--pub", ""], "invalid channel ''"],
      [["--channel", "a", "--send", "x"], "--send with --channel needs --pub NAME"],
      [["--print-channel"], "--print-channel needs --channel"],
      [["--pub", "a", "--listen"], "--pub and --listen exclude each other"],
    ] as const
  ) {
    assertThrows(() => parseClientArgs([...args]), UsageError, message, args.join(" "));
  }
});
