// The browser client's channels and where each one resumes. A channel remembers the last
// sequence number it showed; after a lost connection it is subscribed again with
// `SUB <channel> <last + 1>`, so the server replays what was missed (or says GAP).

/**
 * @typedef {object} Channel
 * @property {string} name
 * @property {"waiting" | "subscribing" | "resuming" | "subscribed" | "refused"} state
 * @property {number | undefined} lastSeq   the last MSG shown
 * @property {number | undefined} floor     nothing below this is owed: OK SUB's <next> on a first
 *                                          subscription, or the end of a GAP
 * @property {number} messages              MSGs shown
 * @property {number} gaps                  GAPs seen
 * @property {string} note                  the server's last word on it (an ERR text)
 */

/** Every channel the page subscribes to, in the order they were added. */
export class Subscriptions {
  /** @type {Map<string, Channel>} */
  #channels = new Map();

  /** The channels, in order. */
  list() {
    return [...this.#channels.values()];
  }

  /** Their names, in order. */
  names() {
    return [...this.#channels.keys()];
  }

  /** The channel called `name`, if subscribed. */
  get(name) {
    return this.#channels.get(name);
  }

  /** Adds a channel (waiting for a connection); false when it is there already. */
  add(name) {
    if (this.#channels.has(name)) return false;
    this.#channels.set(name, {
      name,
      state: "waiting",
      lastSeq: undefined,
      floor: undefined,
      messages: 0,
      gaps: 0,
      note: "",
    });
    return true;
  }

  /** Forgets a channel; a later `add` starts it afresh (no replay). */
  remove(name) {
    return this.#channels.delete(name);
  }

  /** The first number the channel still wants: after its last MSG, or its floor. */
  resumeFrom(name) {
    const channel = this.#channels.get(name);
    if (!channel) return undefined;
    const afterLast = channel.lastSeq === undefined ? undefined : channel.lastSeq + 1;
    if (afterLast === undefined) return channel.floor;
    return channel.floor === undefined ? afterLast : Math.max(afterLast, channel.floor);
  }

  /** The SUB is on its way: returns the number it resumes from (undefined: just new ones). */
  subscribing(name) {
    const channel = this.#channels.get(name);
    if (!channel) return undefined;
    const from = this.resumeFrom(name);
    channel.state = from === undefined ? "subscribing" : "resuming";
    channel.note = "";
    return from;
  }

  /** `OK SUB <channel> <next>`. */
  subscribed(name, next) {
    const channel = this.#channels.get(name);
    if (!channel) return;
    channel.state = "subscribed";
    // A first subscription is owed everything from <next> on. A resumed one keeps its own
    // number: replayed MSGs follow this reply and move it on.
    if (channel.lastSeq === undefined && channel.floor === undefined) channel.floor = next;
  }

  /** The server refused the SUB (`ERR`). */
  refused(name, text) {
    const channel = this.#channels.get(name);
    if (!channel) return;
    channel.state = "refused";
    channel.note = text;
  }

  /** A `MSG` was shown. */
  received(name, seq) {
    const channel = this.#channels.get(name);
    if (!channel) return;
    channel.messages++;
    if (channel.lastSeq === undefined || seq > channel.lastSeq) channel.lastSeq = seq;
  }

  /** `GAP <channel> <from> <to>`: what is below `to` is gone; do not ask for it again. */
  gap(name, to) {
    const channel = this.#channels.get(name);
    if (!channel) return;
    channel.gaps++;
    if (channel.floor === undefined || to > channel.floor) channel.floor = to;
  }

  /** The connection is gone: every channel waits to be subscribed again (refused ones too). */
  disconnected() {
    for (const channel of this.#channels.values()) channel.state = "waiting";
  }
}
