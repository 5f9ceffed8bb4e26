// loadgen: the tlspush benchmark load generator (issue 4).
//
// One single-threaded epoll loop over non-blocking OpenSSL clients, used
// unchanged against tlspush and the Node reference server. It is written in
// C++ so that it is not the bottleneck: it reports its own CPU time (and the
// server's, from /proc) for the measured window, so bench/run.ts can show that
// the server core is the saturated one.
//
// Modes (all bounded by --timeout; results are one JSON line on stdout):
//   echo       N connections, each keeping --window frames of --size bytes in
//              flight; messages/s and MB/s over --duration after --warmup, and
//              the latency of every frame (sent to echoed) as percentiles and a
//              histogram.
//   latency    ping-pong of one --size frame on one connection; --count RTTs
//              after --warm-count, percentiles in microseconds.
//   fanout     opens --conns clients (each proves its handshake with one
//              echo), prints {"event":"ready"}, waits for "go" on stdin, then
//              writes --rounds lines of --line-bytes to --fifo (the server's
//              stdin) and times each until every client has the frame; with
//              --probe 1 a new client connects during each broadcast and its
//              handshake + echo is timed (is the server still responsive?).
//   handshake  --concurrency clients at a time doing a full handshake (no
//              resumption), one 64-byte echo and a clean close, for --duration.
//
// Spending less per message than the server (so that the server is what is
// measured): the socket is read with one recv() per 256 KiB and never again
// after a short read (edge-triggered epoll reports what arrives later), the
// ciphertext is decrypted from a memory BIO, every frame a read completes is
// answered with one SSL_write, and --busy-poll 1 spins on epoll_wait(0) on
// its own core instead of sleeping (no wake-up latency). Busy time, not CPU
// time, then says how loaded the load generator was: loadgen_busy_pct is the
// share of the window not spent in polls that found nothing.
//
// --sources N binds connection i to 127.0.0.(1 + i % N): one source address
// has ~28,000 ephemeral ports towards one server port, 50,000 clients need 2+.
//
// Build: g++ -O2 -std=c++17 loadgen.cc -o loadgen -lssl -lcrypto

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

// ---------------------------------------------------------------- utilities

static double now_s() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double cpu_s() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// Server CPU seconds, summed over all its threads. schedstat is in
// nanoseconds; /proc/PID/stat only has 10 ms ticks, too coarse for the short
// fan-out rounds.
static double server_cpu_s(int pid) {
  if (pid <= 0) return 0;
  char dir[64];
  snprintf(dir, sizeof dir, "/proc/%d/task", pid);
  DIR* d = opendir(dir);
  if (!d) return 0;
  double total = 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    char path[400];
    snprintf(path, sizeof path, "%s/%s/schedstat", dir, e->d_name);
    if (FILE* f = fopen(path, "r")) {
      unsigned long long ns = 0;
      if (fscanf(f, "%llu", &ns) == 1) total += ns * 1e-9;
      fclose(f);
    }
  }
  closedir(d);
  return total;
}

static std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if ((unsigned char)c < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

[[noreturn]] static void fail(const char* fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  printf("{\"ok\":false,\"error\":\"%s\"}\n", json_escape(msg).c_str());
  fflush(stdout);
  fprintf(stderr, "loadgen: %s\n", msg);
  exit(1);
}

static std::string ssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? std::string(strerror(errno)) : out;
}

// Nearest-rank percentile of sorted samples.
static double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  size_t rank = (size_t)std::ceil(q * sorted.size());
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

// Log-linear latency histogram in nanoseconds: 32 buckets per power of two
// (within ~3%), constant memory whatever the number of samples.
struct Histogram {
  static const int SUB = 32;
  std::vector<uint64_t> counts = std::vector<uint64_t>(61 * SUB, 0);
  uint64_t n = 0;
  double sum_ns = 0, max_ns = 0;

  static int index(uint64_t ns) {
    if (ns < (uint64_t)SUB) return (int)ns;
    int e = 63 - __builtin_clzll(ns);
    return (e - 4) * SUB + (int)((ns >> (e - 5)) & (SUB - 1));
  }
  static double lower(int i) {
    if (i < SUB) return i;
    int e = i / SUB + 4;
    return (double)((uint64_t)(SUB + i % SUB) << (e - 5));
  }
  void add(double seconds) {
    double ns = seconds > 0 ? seconds * 1e9 : 0;
    counts[std::min<int>(index((uint64_t)ns), (int)counts.size() - 1)]++;
    n++;
    sum_ns += ns;
    if (ns > max_ns) max_ns = ns;
  }
  // Nearest rank, reported as the middle of its bucket, in µs.
  double pct_us(double q) const {
    if (n == 0) return 0;
    uint64_t rank = std::max<uint64_t>(1, (uint64_t)std::ceil(q * n)), seen = 0;
    for (size_t i = 0; i < counts.size(); i++) {
      seen += counts[i];
      if (seen >= rank) return std::min(max_ns, (lower(i) + lower(i + 1)) / 2) / 1000;
    }
    return max_ns / 1000;
  }
  // {"samples":..,"p50_us":..,...,"hist":[[lower_us,count],...]}
  std::string json() const {
    char b[400];
    snprintf(b, sizeof b,
             "{\"samples\":%llu,\"mean_us\":%.2f,\"p50_us\":%.2f,\"p90_us\":%.2f,"
             "\"p99_us\":%.2f,\"p999_us\":%.2f,\"p9999_us\":%.2f,\"max_us\":%.2f,\"hist\":[",
             (unsigned long long)n, n ? sum_ns / n / 1000 : 0, pct_us(0.5), pct_us(0.9),
             pct_us(0.99), pct_us(0.999), pct_us(0.9999), max_ns / 1000);
    std::string out = b;
    bool first = true;
    for (size_t i = 0; i < counts.size(); i++) {
      if (!counts[i]) continue;
      snprintf(b, sizeof b, "%s[%.3f,%llu]", first ? "" : ",", lower(i) / 1000,
               (unsigned long long)counts[i]);
      out += b;
      first = false;
    }
    return out + "]}";
  }
};

// ------------------------------------------------------------------ options

struct Options {
  std::string mode, host = "127.0.0.1", servername = "localhost", ca, fifo;
  int port = 0, conns = 1, size = 64, window = 1, rounds = 20,
      line_bytes = 100, concurrency = 32, server_pid = 0, sources = 1, busy_poll = 0,
      probe = 0;
  long count = 20000, warm_count = 2000, max = 1000000;
  double warmup = 1, duration = 3, gap = 0.1, timeout = 120;
};

static Options opt;

static void parse_options(int argc, char** argv) {
  if (argc < 2) fail("usage: loadgen MODE --port N --ca FILE [options]");
  opt.mode = argv[1];
  for (int i = 2; i < argc; i++) {
    std::string k = argv[i];
    if (i + 1 >= argc) fail("flag %s needs a value", k.c_str());
    const char* v = argv[++i];
    if (k == "--host") opt.host = v;
    else if (k == "--servername") opt.servername = v;
    else if (k == "--ca") opt.ca = v;
    else if (k == "--fifo") opt.fifo = v;
    else if (k == "--port") opt.port = atoi(v);
    else if (k == "--conns") opt.conns = atoi(v);
    else if (k == "--size") opt.size = atoi(v);
    else if (k == "--window") opt.window = atoi(v);
    else if (k == "--rounds") opt.rounds = atoi(v);
    else if (k == "--line-bytes") opt.line_bytes = atoi(v);
    else if (k == "--concurrency") opt.concurrency = atoi(v);
    else if (k == "--server-pid") opt.server_pid = atoi(v);
    else if (k == "--sources") opt.sources = atoi(v);
    else if (k == "--busy-poll") opt.busy_poll = atoi(v);
    else if (k == "--probe") opt.probe = atoi(v);
    else if (k == "--count") opt.count = atol(v);
    else if (k == "--warm-count") opt.warm_count = atol(v);
    else if (k == "--max") opt.max = atol(v);
    else if (k == "--warmup") opt.warmup = atof(v);
    else if (k == "--duration") opt.duration = atof(v);
    else if (k == "--gap") opt.gap = atof(v);
    else if (k == "--timeout") opt.timeout = atof(v);
    else fail("unknown flag %s", k.c_str());
  }
  if (opt.port <= 0 || opt.ca.empty()) fail("--port and --ca are required");
  if (opt.size < 0 || opt.window < 1 || opt.conns < 1) fail("bad --size/--window/--conns");
  if (opt.sources < 1 || opt.sources > 250) fail("--sources must be 1..250");
}

// ------------------------------------------------------------------ the TLS side

static SSL_CTX* ctx;
static std::vector<uint8_t> verified_leaf;  // DER of the last fully verified leaf

// The handshake scenario measures the server, and a client pays two ECDSA
// verifications per handshake (chain and CertificateVerify) against the
// server's one signature. The chain verdict for a byte-identical leaf cannot
// change, so it is computed once and reused; CertificateVerify (proof that the
// server holds the key) still runs on every handshake.
static int verify_with_cache(X509_STORE_CTX* store, void*) {
  X509* leaf = X509_STORE_CTX_get0_cert(store);
  unsigned char* der = nullptr;
  int len = i2d_X509(leaf, &der);
  if (len <= 0) return 0;
  bool same = (size_t)len == verified_leaf.size() &&
              memcmp(der, verified_leaf.data(), len) == 0;
  int ok = 1;
  if (!same) {
    ok = X509_verify_cert(store);
    if (ok == 1) verified_leaf.assign(der, der + len);
  } else {
    X509_STORE_CTX_set_error(store, X509_V_OK);
  }
  OPENSSL_free(der);
  return ok;
}

static void init_tls() {
  ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) fail("SSL_CTX_new: %s", ssl_errors().c_str());
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // Only AES-128-GCM is offered: both servers then run the same cipher (Node
  // prefers its own order, AES-256 first; rustls follows the client's), and
  // bulk figures compare with the `openssl speed -evp aes-128-gcm` ceiling.
  SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256");
  SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256");
  if (SSL_CTX_load_verify_locations(ctx, opt.ca.c_str(), nullptr) != 1)
    fail("cannot load CA %s: %s", opt.ca.c_str(), ssl_errors().c_str());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_cert_verify_callback(ctx, verify_with_cache, nullptr);
  // Every handshake is a full one: no session is ever offered back.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  // A server may end the stream without close_notify (a TlsConn's close()
  // sends none); that is an ordinary end of stream here, not an error.
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

// The byte stream a connection sends: `batch` holds whole identical frames
// back to back, so any amount can be sent from any offset with one SSL_write.
struct Pattern {
  std::vector<uint8_t> batch;
  std::vector<uint8_t> payload;
  size_t frame = 0;

  void build(int size, int frames_per_batch) {
    payload.resize(size);
    for (int i = 0; i < size; i++) payload[i] = 'a' + i % 26;
    frame = 4 + size;
    batch.resize(frame * frames_per_batch);
    for (int f = 0; f < frames_per_batch; f++) {
      uint8_t* p = batch.data() + f * frame;
      int32_t len = size;
      memcpy(p, &len, 4);  // x86 is little-endian, as the protocol
      memcpy(p + 4, payload.data(), size);
    }
  }
};

static Pattern pattern;
static int epfd;
static uint8_t rbuf[256 * 1024];  // ciphertext, straight from recv()
static double io_now = 0;          // when the bytes being parsed were received
static uint8_t pbuf[256 * 1024];  // plaintext, from SSL_read

enum State { CONNECTING, HANDSHAKING, OPEN, CLOSING, DEAD };

struct Conn;

// What a scenario does with a connection's events.
struct Mode {
  virtual ~Mode() {}
  virtual void on_open(Conn*) = 0;
  virtual void on_payload(Conn*, const uint8_t*, size_t, size_t) {}
  virtual void on_frame(Conn*, int32_t len) = 0;
  virtual void on_closed(Conn*, bool clean) = 0;
};
static Mode* mode;

struct Conn {
  int fd = -1;
  SSL* ssl = nullptr;
  BIO* rbio = nullptr;   // memory BIO the ciphertext read from the socket goes into
  State st = CONNECTING;
  bool probe = false;    // fan-out: a client opened during a broadcast
  uint64_t pending = 0;  // bytes queued but not yet accepted by SSL_write
  size_t pos = 0;        // offset within the current frame of the send stream
  long in_flight = 0;    // frames queued and not yet echoed
  long frames = 0;       // frames received
  double opened = 0;
  bool shut_sent = false;
  // When each frame in flight was queued (a ring, oldest first), for latency.
  std::vector<double> sent_at;
  size_t sent_head = 0, sent_count = 0;
  // Frame parser: a state machine over bytes, so frames may split anywhere.
  uint8_t hdr[4];
  int hdr_have = 0;
  int64_t remaining = -1;  // payload bytes still to come; -1 while in header
  int32_t cur_len = 0;

  void queue(long n, double t = 0) {
    pending += (uint64_t)n * pattern.frame;
    in_flight += n;
    if (t == 0) return;
    if (sent_at.size() < (size_t)std::max<long>(opt.window, sent_count + n))
      grow_stamps(std::max<size_t>(opt.window, sent_count + n));
    for (long i = 0; i < n; i++) {
      sent_at[(sent_head + sent_count) % sent_at.size()] = t;
      sent_count++;
    }
  }
  void grow_stamps(size_t size) {
    std::vector<double> next(size);
    for (size_t i = 0; i < sent_count; i++) next[i] = sent_at[(sent_head + i) % sent_at.size()];
    sent_at.swap(next);
    sent_head = 0;
  }
  // When the oldest frame in flight was queued (0 if it was not stamped).
  double pop_stamp() {
    if (sent_count == 0) return 0;
    double t = sent_at[sent_head];
    sent_head = (sent_head + 1) % sent_at.size();
    sent_count--;
    return t;
  }

  // Sends what is queued; false if the connection failed.
  bool flush() {
    while (pending > 0 && st == OPEN) {
      size_t n = std::min<uint64_t>(pending, pattern.batch.size() - pos);
      int w = SSL_write(ssl, pattern.batch.data() + pos, (int)std::min<size_t>(n, 1 << 30));
      if (w > 0) {
        pending -= w;
        pos = (pos + w) % pattern.frame;
        continue;
      }
      int e = SSL_get_error(ssl, w);
      if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) return true;
      return die("write failed: " + ssl_errors());
    }
    return true;
  }

  bool parse(const uint8_t* p, size_t n) {
    while (n > 0) {
      if (remaining < 0) {
        size_t k = std::min<size_t>(4 - hdr_have, n);
        memcpy(hdr + hdr_have, p, k);
        hdr_have += k;
        p += k;
        n -= k;
        if (hdr_have < 4) return true;
        memcpy(&cur_len, hdr, 4);
        hdr_have = 0;
        if (cur_len < 0) return die("server sent a negative length");
        remaining = cur_len;
      }
      size_t k = std::min<uint64_t>(remaining, n);
      if (k) mode->on_payload(this, p, k, cur_len - remaining);
      if (st == DEAD) return false;
      remaining -= k;
      p += k;
      n -= k;
      if (remaining == 0) {
        remaining = -1;
        frames++;
        mode->on_frame(this, cur_len);
        if (st == DEAD) return false;
      }
    }
    return true;
  }

  // Decrypts and parses everything the memory BIO holds; false once the
  // connection has ended (closed or failed).
  bool decrypt() {
    for (;;) {
      ERR_clear_error();
      int r = SSL_read(ssl, pbuf, sizeof pbuf);
      if (r > 0) {
        if (!parse(pbuf, r)) return false;
        continue;
      }
      int e = SSL_get_error(ssl, r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return true;
      // After our goodbye, any end of stream (close_notify, FIN, even a
      // reset) completes the close.
      if (st == CLOSING) {
        finish(e == SSL_ERROR_ZERO_RETURN);
        return false;
      }
      if (e == SSL_ERROR_ZERO_RETURN) die("server closed the connection");
      else die("read failed: " + ssl_errors());
      return false;
    }
  }

  // Moves what the socket has into the memory BIO, 256 KiB per recv() and
  // none after a short one, handing each chunk to the handshake or the
  // decryptor; then answers with one write.
  void on_readable() {
    for (;;) {
      ssize_t n = recv(fd, rbuf, sizeof rbuf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n < 0) {
        if (st == CLOSING) return finish(false);
        die(std::string("read failed: ") + strerror(errno));
        return;
      }
      io_now = now_s();
      if (n == 0) BIO_set_mem_eof_return(rbio, 0);  // SSL_read then reports the end
      else BIO_write(rbio, rbuf, (int)n);
      if (st == HANDSHAKING) {
        handshake();
        if (st == DEAD) return;
      } else if (!decrypt()) {
        return;
      }
      if (n == 0 && st != DEAD) {
        if (st == CLOSING) return finish(false);
        die(st == HANDSHAKING ? "server closed the connection during the handshake"
                              : "server closed the connection");
        return;
      }
      if ((size_t)n < sizeof rbuf) break;
    }
    if (st == OPEN) flush();
  }

  void handshake() {
    ERR_clear_error();
    int r = SSL_connect(ssl);
    if (r == 1) {
      st = OPEN;
      mode->on_open(this);
      if (st == OPEN) flush();
      if (st == OPEN) decrypt();  // what came with the last handshake flight
      return;
    }
    int e = SSL_get_error(ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
    long v = SSL_get_verify_result(ssl);
    if (v != X509_V_OK) {
      die(std::string("certificate verification failed: ") + X509_verify_cert_error_string(v));
    } else {
      die("handshake failed: " + ssl_errors());
    }
  }

  // Clean close: close_notify, FIN, then wait for the server's end of stream.
  void close_gracefully() {
    if (st == DEAD) return;
    if (st != OPEN && st != CLOSING) return finish(false);
    st = CLOSING;
    if (!shut_sent) {
      int r = SSL_shutdown(ssl);
      if (r < 0) {
        int e = SSL_get_error(ssl, r);
        if (e == SSL_ERROR_WANT_WRITE) return;  // retried on EPOLLOUT
        return finish(false);
      }
      shut_sent = true;
      ::shutdown(fd, SHUT_WR);
    }
    if (decrypt()) on_readable();
  }

  void on_event(uint32_t ev) {
    if (st == CONNECTING) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err) {
        die(std::string("connect failed: ") + strerror(err));
        return;
      }
      if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
      st = HANDSHAKING;
    }
    if (st == HANDSHAKING && (ev & EPOLLOUT)) handshake();  // a flight the socket refused
    if (st == CLOSING && !shut_sent) return close_gracefully();
    if (st == OPEN && (ev & EPOLLOUT) && !flush()) return;
    if (st != DEAD && (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) on_readable();
  }

  bool die(const std::string& why);

  void finish(bool clean) {
    if (st == DEAD) return;
    st = DEAD;
    // Closing the fd also removes it from the epoll set. The object itself
    // lives on (events of the current batch may still point at it); only the
    // handshake scenario, which churns through connections, frees them.
    if (fd >= 0) close(fd);
    fd = -1;
    mode->on_closed(this, clean);
  }
};

static std::string last_error;
static long conn_errors = 0;

bool Conn::die(const std::string& why) {
  last_error = why;
  conn_errors++;
  finish(false);
  return false;
}

static sockaddr_storage server_addr;
static socklen_t server_addr_len;

static void resolve() {
  memset(&server_addr, 0, sizeof server_addr);
  auto* a4 = (sockaddr_in*)&server_addr;
  auto* a6 = (sockaddr_in6*)&server_addr;
  if (inet_pton(AF_INET, opt.host.c_str(), &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons(opt.port);
    server_addr_len = sizeof *a4;
  } else if (inet_pton(AF_INET6, opt.host.c_str(), &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(opt.port);
    server_addr_len = sizeof *a6;
  } else {
    fail("--host must be a numeric address (loopback only), got %s", opt.host.c_str());
  }
}

static long opened_total = 0;

static Conn* open_conn() {
  auto* c = new Conn();
  c->opened = now_s();
  c->fd = socket(server_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) fail("socket: %s (raise ulimit -n?)", strerror(errno));
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (opt.sources > 1 && server_addr.ss_family == AF_INET) {
    // 127.0.0.1, .2, ...: each source address has its own ephemeral ports.
    // The port is picked at connect() time, for the whole 4-tuple.
    setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(0x7f000001 + (uint32_t)(opened_total % opt.sources));
    if (bind(c->fd, (sockaddr*)&src, sizeof src) < 0)
      fail("bind to 127.0.0.%ld: %s", 1 + opened_total % opt.sources, strerror(errno));
  }
  opened_total++;
  if (connect(c->fd, (sockaddr*)&server_addr, server_addr_len) < 0 && errno != EINPROGRESS)
    fail("connect to %s:%d: %s", opt.host.c_str(), opt.port, strerror(errno));
  c->ssl = SSL_new(ctx);
  // Reads go through memory (see on_readable), writes straight to the socket.
  c->rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new_socket(c->fd, BIO_NOCLOSE);
  if (!c->rbio || !wbio) fail("BIO_new: %s", ssl_errors().c_str());
  SSL_set_bio(c->ssl, c->rbio, wbio);
  in6_addr ip;
  if (inet_pton(AF_INET, opt.servername.c_str(), &ip) == 1 ||
      inet_pton(AF_INET6, opt.servername.c_str(), &ip) == 1) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), opt.servername.c_str());
  } else {
    SSL_set_tlsext_host_name(c->ssl, opt.servername.c_str());
    SSL_set1_host(c->ssl, opt.servername.c_str());
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP;
  ev.data.ptr = c;
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) fail("epoll_ctl: %s", strerror(errno));
  return c;
}

// ------------------------------------------------------------------ the loop

static double deadline;
static bool stdin_watched = false;
static std::string stdin_buf;

// Seconds spent in polls that found nothing: with --busy-poll, the time the
// load generator was idle although it was on its CPU.
static double idle_poll_s = 0;

// Runs the event loop until `done()` or the global timeout; `tick` runs every
// iteration (at least every 5 ms) for time-based steps. With --busy-poll the
// loop never sleeps: epoll_wait(0) again and again.
template <class Done, class Tick>
static void run_loop(Done done, Tick tick, const char* what) {
  epoll_event evs[512];
  const int timeout_ms = opt.busy_poll ? 0 : 5;
  while (!done()) {
    double before = now_s();
    if (before > deadline) fail("timed out %s (%s)", what, last_error.c_str());
    int n = epoll_wait(epfd, evs, 512, timeout_ms);
    if (n <= 0) idle_poll_s += now_s() - before;
    if (n < 0 && errno != EINTR) fail("epoll_wait: %s", strerror(errno));
    for (int i = 0; i < n; i++) {
      if (evs[i].data.ptr == nullptr) {
        char b[256];
        ssize_t r = read(0, b, sizeof b);
        if (r == 0) fail("stdin closed before \"go\"");
        if (r > 0) stdin_buf.append(b, r);
        continue;
      }
      auto* c = (Conn*)evs[i].data.ptr;
      if (c->st != DEAD) c->on_event(evs[i].events);
    }
    tick();
  }
}

// Busy and total jiffies of CPUs 0 and 1 from /proc/stat: everything that ran
// there (other processes, interrupts, a hypervisor's steal), so a server
// below 100% of its core can be told apart from one that shared it.
static void cpu_jiffies(double busy[2], double total[2]) {
  busy[0] = busy[1] = total[0] = total[1] = 0;
  FILE* f = fopen("/proc/stat", "r");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    int cpu;
    unsigned long long v[8] = {};
    if (sscanf(line, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &v[0], &v[1], &v[2],
               &v[3], &v[4], &v[5], &v[6], &v[7]) == 9 && cpu >= 0 && cpu < 2) {
      double all = 0;
      for (auto x : v) all += x;
      total[cpu] = all;
      busy[cpu] = all - v[3] - v[4];  // everything but idle and iowait
    }
  }
  fclose(f);
}

struct Window {
  double t = 0, cpu = 0, server = 0, idle = 0, busy[2] = {}, total[2] = {};
  void snap() {
    t = now_s();
    cpu = cpu_s();
    idle = idle_poll_s;
    server = server_cpu_s(opt.server_pid);
    cpu_jiffies(busy, total);
  }
};

static std::string tls_info(SSL* ssl) {
  char b[160];
  snprintf(b, sizeof b, "\"protocol\":\"%s\",\"cipher\":\"%s\"", SSL_get_version(ssl),
           SSL_CIPHER_get_name(SSL_get_current_cipher(ssl)));
  return b;
}

// CPU of this process and of the server over a window, as % of one core.
static std::string cpu_json(const Window& a, const Window& b) {
  double wall = b.t - a.t;
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double total = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec +
                 ru.ru_stime.tv_usec * 1e-6;
  auto busy_pct = [&](int c) {
    double t = b.total[c] - a.total[c];
    return t > 0 ? 100 * (b.busy[c] - a.busy[c]) / t : -1;
  };
  // Busy: CPU time when the loop sleeps in epoll_wait; with --busy-poll (CPU
  // always ~100%) the time not spent in empty polls.
  double cpu_pct = wall > 0 ? 100 * (b.cpu - a.cpu) / wall : 0;
  double lg_busy = opt.busy_poll && wall > 0 ? 100 * (1 - (b.idle - a.idle) / wall) : cpu_pct;
  char out[448];
  snprintf(out, sizeof out,
           "\"loadgen_cpu_pct\":%.1f,\"loadgen_busy_pct\":%.1f,\"busy_poll\":%s,"
           "\"server_cpu_pct\":%.1f,\"window_s\":%.3f,"
           "\"loadgen_rusage_cpu_s\":%.3f,\"cpu0_busy_pct\":%.1f,\"cpu1_busy_pct\":%.1f",
           cpu_pct, lg_busy, opt.busy_poll ? "true" : "false",
           wall > 0 && opt.server_pid > 0 ? 100 * (b.server - a.server) / wall : -1, wall, total,
           busy_pct(0), busy_pct(1));
  return out;
}

static void close_all(std::vector<Conn*>& conns) {
  for (Conn* c : conns)
    if (c->st != DEAD) c->close_gracefully();
  // A server that never answers the goodbye must not hang the run.
  double until = std::min(deadline, now_s() + 3);
  run_loop([&] {
    return now_s() > until ||
           std::all_of(conns.begin(), conns.end(), [](Conn* c) { return c->st == DEAD; });
  }, [] {}, "closing");
  for (Conn* c : conns)
    if (c->st != DEAD) c->finish(false);
}

// ------------------------------------------------------------------ echo

struct EchoMode : Mode {
  bool stopping = false, recording = false;
  long open = 0, received = 0;
  Histogram latency;  // queued to echoed, every frame of the measured window
  void on_open(Conn* c) override {
    open++;
    c->queue(opt.window, now_s());
  }
  void on_payload(Conn* c, const uint8_t* p, size_t n, size_t off) override {
    if (off + n > pattern.payload.size() || memcmp(p, pattern.payload.data() + off, n) != 0)
      c->die("echoed payload differs from what was sent");
  }
  void on_frame(Conn* c, int32_t len) override {
    if ((size_t)len != pattern.payload.size()) {
      c->die("echoed frame has the wrong length");
      return;
    }
    received++;
    c->in_flight--;
    double sent = c->pop_stamp();
    if (recording && sent > 0) latency.add(io_now - sent);
    if (!stopping) c->queue(1, io_now);
  }
  void on_closed(Conn*, bool) override {
    if (!stopping) fail("connection lost: %s", last_error.c_str());
  }
};

static void run_echo() {
  // Batches of up to ~256 KiB let one SSL_write carry many frames.
  int per_batch = std::max(1, std::min(opt.window, (int)((256 * 1024) / (4 + opt.size))));
  pattern.build(opt.size, per_batch);
  auto* m = new EchoMode();
  mode = m;
  std::vector<Conn*> conns;
  // At most --concurrency handshakes at a time: an accept backlog (Node's is
  // 511) that overflows costs a 1 s SYN retransmit.
  run_loop([&] { return m->open == opt.conns; }, [&] {
    while ((long)conns.size() < opt.conns && (long)conns.size() - m->open < opt.concurrency)
      conns.push_back(open_conn());
  }, "connecting");
  std::string tls = tls_info(conns[0]->ssl);
  Window a, b;
  double start = now_s();
  long at_a = 0;
  bool in_window = false;
  run_loop([&] { return m->stopping; }, [&] {
    double t = now_s();
    if (!in_window && t >= start + opt.warmup) {
      a.snap();
      at_a = m->received;
      in_window = m->recording = true;
    } else if (in_window && t >= a.t + opt.duration) {
      b.snap();
      m->stopping = true;
      m->recording = false;
    }
  }, "echo");
  long msgs = m->received - at_a;
  // Let in-flight echoes drain so the server sees a clean end of stream.
  double until = now_s() + 3;
  run_loop([&] {
    return now_s() > until || std::all_of(conns.begin(), conns.end(), [](Conn* c) {
      return c->st != OPEN || c->in_flight == 0;
    });
  }, [] {}, "draining");
  close_all(conns);
  double secs = b.t - a.t;
  printf("{\"ok\":true,\"mode\":\"echo\",\"conns\":%d,\"size\":%d,\"window\":%d,"
         "\"msgs\":%ld,\"seconds\":%.3f,\"msgs_per_s\":%.1f,\"mb_per_s\":%.2f,%s,%s,"
         "\"latency\":%s,\"msgs_total\":%ld}\n",
         opt.conns, opt.size, opt.window, msgs, secs, msgs / secs,
         msgs * (double)opt.size / secs / 1e6, tls.c_str(), cpu_json(a, b).c_str(),
         m->latency.json().c_str(), m->received);
}

// ------------------------------------------------------------------ latency

struct LatencyMode : Mode {
  double sent = 0;
  long rtts = 0;
  bool done = false, open = false;
  std::vector<double> samples;
  std::vector<double> at;  // when each sample was taken, s since the first
  double at_start = 0;
  Histogram hist;
  void on_open(Conn* c) override {
    open = true;
    sent = now_s();
    c->queue(1);
  }
  void on_payload(Conn* c, const uint8_t* p, size_t n, size_t off) override {
    if (off + n > pattern.payload.size() || memcmp(p, pattern.payload.data() + off, n) != 0)
      c->die("echoed payload differs from what was sent");
  }
  void on_frame(Conn* c, int32_t) override {
    double t = now_s();
    c->in_flight--;
    if (++rtts > opt.warm_count) {
      samples.push_back((t - sent) * 1e6);
      hist.add(t - sent);
      if (at.empty()) at.push_back(0), at_start = t;
      else at.push_back(t - at_start);
    }
    if ((long)samples.size() >= opt.count) {
      done = true;
      return;
    }
    sent = now_s();
    c->queue(1);
  }
  void on_closed(Conn*, bool) override {
    if (!done) fail("connection lost: %s", last_error.c_str());
  }
};

static void run_latency() {
  pattern.build(opt.size, 1);
  auto* m = new LatencyMode();
  mode = m;
  std::vector<Conn*> conns{open_conn()};
  run_loop([&] { return m->open; }, [] {}, "connecting");
  std::string tls = tls_info(conns[0]->ssl);
  Window a, b;
  a.snap();
  run_loop([&] { return m->done; }, [] {}, "ping-pong");
  b.snap();
  close_all(conns);
  std::vector<double>& s = m->samples;
  double mean = 0;
  for (double x : s) mean += x;
  mean /= s.size();
  // The 20 slowest round trips and when they happened: a period in them
  // (a timer, GC) says what causes the tail.
  std::vector<size_t> idx(s.size());
  for (size_t i = 0; i < idx.size(); i++) idx[i] = i;
  size_t top = std::min<size_t>(20, idx.size());
  std::partial_sort(idx.begin(), idx.begin() + top, idx.end(),
                    [&](size_t x, size_t y) { return s[x] > s[y]; });
  std::sort(idx.begin(), idx.begin() + top);
  std::string slowest;
  for (size_t i = 0; i < top; i++) {
    char b[64];
    snprintf(b, sizeof b, "%s[%.1f,%.1f]", i ? "," : "", m->at[idx[i]] * 1000, s[idx[i]]);
    slowest += b;
  }
  std::sort(s.begin(), s.end());
  printf("{\"ok\":true,\"mode\":\"latency\",\"size\":%d,\"samples\":%zu,\"p50_us\":%.1f,"
         "\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f,\"mean_us\":%.1f,%s,%s,"
         "\"latency\":%s,\"slowest_ms_us\":[%s]}\n",
         opt.size, s.size(), percentile(s, 0.5), percentile(s, 0.99), percentile(s, 0.999),
         s.back(), mean, tls.c_str(), cpu_json(a, b).c_str(), m->hist.json().c_str(),
         slowest.c_str());
}

// ------------------------------------------------------------------ fan-out

struct FanoutMode : Mode {
  long ready = 0, round = -1, got = 0;
  double last = 0, sent = 0;
  bool closing = false;
  std::string line;  // the current broadcast payload
  Histogram clients;  // broadcast written to one client's having it, every client and round
  // The probe: a client that connects while a broadcast goes out.
  double probe_open = 0, probe_done = 0;
  bool probe_failed = false;
  void on_open(Conn* c) override {
    if (c->probe) probe_open = now_s();
    c->queue(1);  // one echo proves the handshake
  }
  void on_payload(Conn* c, const uint8_t* p, size_t n, size_t off) override {
    if (c->probe) return;  // its echo, or a broadcast it joined in time for
    const uint8_t* want = round < 0 ? pattern.payload.data() : (const uint8_t*)line.data();
    size_t size = round < 0 ? pattern.payload.size() : line.size();
    if (off + n > size || memcmp(p, want + off, n) != 0)
      c->die("received frame differs from what was expected");
  }
  void on_frame(Conn* c, int32_t len) override {
    if (c->probe) {
      if ((size_t)len == pattern.payload.size() && probe_done == 0) {
        probe_done = io_now;
        c->close_gracefully();
      }
      return;
    }
    if (round < 0) {
      c->in_flight--;
      ready++;
      return;
    }
    if (c->frames == round + 2) {  // its echo, then one frame per round
      clients.add(io_now - sent);
      if (++got == (long)opt.conns) last = now_s();
    } else {
      c->die("received an unexpected extra frame");
    }
  }
  void on_closed(Conn* c, bool) override {
    if (c->probe) {
      if (probe_done == 0) probe_failed = true;
      return;
    }
    if (!closing) fail("connection lost: %s", last_error.c_str());
  }
};

static void run_fanout() {
  if (opt.fifo.empty()) fail("fanout needs --fifo (the server's stdin)");
  pattern.build(64, 1);
  auto* m = new FanoutMode();
  mode = m;
  std::vector<Conn*> conns;
  double t0 = now_s();
  // Handshakes are started --concurrency at a time, so the server's accept
  // backlog never overflows (a dropped SYN costs a 1 s retransmit).
  run_loop([&] { return m->ready == opt.conns; }, [&] {
    while ((long)conns.size() < opt.conns && (long)conns.size() - m->ready < opt.concurrency)
      conns.push_back(open_conn());
  }, "connecting the fan-out clients");
  double connect_s = now_s() - t0;
  printf("{\"event\":\"ready\",\"conns\":%d,\"connect_s\":%.3f}\n", opt.conns, connect_s);
  fflush(stdout);

  // Wait for the runner's "go" (it samples the server's RSS meanwhile).
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &ev) < 0) fail("cannot watch stdin: %s", strerror(errno));
  stdin_watched = true;
  run_loop([&] { return stdin_buf.find('\n') != std::string::npos; }, [] {}, "waiting for go");
  epoll_ctl(epfd, EPOLL_CTL_DEL, 0, nullptr);

  int fifo = open(opt.fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fifo < 0) fail("cannot open %s: %s", opt.fifo.c_str(), strerror(errno));
  std::vector<double> samples;
  std::vector<Conn*> probes;
  Histogram probe_ms;  // broadcast written to the probe's echo back, per round
  long probes_first = 0;  // probes served before the broadcast reached every client
  double cpu = 0, idle = 0, server = 0, wall = 0;
  for (int r = 0; r < opt.rounds; r++) {
    char head[32];
    snprintf(head, sizeof head, "fanout-%04d-", r);
    m->line = head;
    m->line.resize(std::max<size_t>(opt.line_bytes, m->line.size()), 'x');
    std::string out = m->line + "\n";
    m->got = 0;
    m->round = r;
    Window a, b;
    a.snap();
    double sent = m->sent = now_s();
    if (write(fifo, out.data(), out.size()) != (ssize_t)out.size())
      fail("write to the server's stdin failed: %s", strerror(errno));
    if (opt.probe) {
      m->probe_open = m->probe_done = 0;
      m->probe_failed = false;
      Conn* p = open_conn();  // no event is handled before the loop below
      p->probe = true;
      probes.push_back(p);
    }
    run_loop([&] {
      return m->got == (long)opt.conns &&
             (!opt.probe || m->probe_done > 0 || m->probe_failed);
    }, [] {}, "waiting for a broadcast");
    b.snap();
    if (opt.probe) {
      if (m->probe_failed) fail("the probe client failed: %s", last_error.c_str());
      probe_ms.add(m->probe_done - sent);
      if (m->probe_done < m->last) probes_first++;
    }
    samples.push_back((m->last - sent) * 1e6);
    cpu += b.cpu - a.cpu;
    idle += b.idle - a.idle;
    server += b.server - a.server;
    wall += b.t - a.t;
    double until = now_s() + opt.gap;
    run_loop([&] { return now_s() >= until; }, [] {}, "between broadcasts");
  }
  close(fifo);
  m->closing = true;
  close_all(conns);
  close_all(probes);
  std::string all;
  for (double s : samples) all += (all.empty() ? "" : ",") + std::to_string((long)s);
  std::sort(samples.begin(), samples.end());
  std::string probe = opt.probe ? probe_ms.json() : "null";
  printf("{\"ok\":true,\"mode\":\"fanout\",\"conns\":%d,\"connect_s\":%.3f,\"rounds\":%d,"
         "\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f,\"samples_us\":[%s],"
         "\"loadgen_cpu_pct\":%.1f,\"loadgen_busy_pct\":%.1f,\"busy_poll\":%s,"
         "\"server_cpu_pct\":%.1f,\"window_s\":%.3f,\"clients\":%s,\"probe\":%s,"
         "\"probes_before_last_client\":%ld}\n",
         opt.conns, connect_s, opt.rounds, percentile(samples, 0.5), percentile(samples, 0.99),
         samples.back(), all.c_str(), 100 * cpu / wall,
         opt.busy_poll ? 100 * (1 - idle / wall) : 100 * cpu / wall,
         opt.busy_poll ? "true" : "false", opt.server_pid > 0 ? 100 * server / wall : -1, wall,
         m->clients.json().c_str(), probe.c_str(), probes_first);
}

// ------------------------------------------------------------------ handshakes

struct HandshakeMode : Mode {
  long active = 0, completed = 0;
  void on_open(Conn* c) override { c->queue(1); }
  void on_frame(Conn* c, int32_t len) override {
    if ((size_t)len != pattern.payload.size()) {
      c->die("echoed frame has the wrong length");
      return;
    }
    c->in_flight--;
    completed++;  // the server has finished its handshake and served a frame
    c->close_gracefully();
  }
  void on_closed(Conn*, bool) override { active--; }
};

static void run_handshake() {
  pattern.build(64, 1);
  auto* m = new HandshakeMode();
  mode = m;
  std::vector<Conn*> live;
  double start = now_s();
  Window a, b;
  long at_a = 0, started = 0;
  bool in_window = false, stopping = false;
  auto spawn = [&] {
    while (!stopping && m->active < opt.concurrency && started < opt.max) {
      live.push_back(open_conn());
      m->active++;
      started++;
    }
  };
  run_loop([&] { return stopping && m->active == 0; }, [&] {
    double t = now_s();
    if (!in_window && t >= start + opt.warmup) {
      a.snap();
      at_a = m->completed;
      in_window = true;
    } else if (in_window && !stopping && (t >= a.t + opt.duration || started >= opt.max)) {
      b.snap();
      stopping = true;
    }
    // A connection stuck for 5 s counts as an error, it does not hang the run.
    live.erase(std::remove_if(live.begin(), live.end(), [&](Conn* c) {
      if (c->st != DEAD && t - c->opened > 5) c->die("connection did not complete within 5 s");
      if (c->st != DEAD) return false;
      SSL_free(c->ssl);
      delete c;
      return true;
    }), live.end());
    spawn();
  }, "handshakes");
  if (!in_window) fail("handshake run ended before its warm-up (raise --max)");
  long n = m->completed - at_a;
  double secs = b.t - a.t;
  if (n <= 0) fail("no handshake completed: %s", last_error.c_str());
  printf("{\"ok\":true,\"mode\":\"handshake\",\"handshakes\":%ld,\"seconds\":%.3f,"
         "\"per_s\":%.1f,\"errors\":%ld,\"last_error\":\"%s\",%s}\n",
         n, secs, n / secs, conn_errors, json_escape(last_error).c_str(),
         cpu_json(a, b).c_str());
}

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  parse_options(argc, argv);
  deadline = now_s() + opt.timeout;
  resolve();
  init_tls();
  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (opt.mode == "echo") run_echo();
  else if (opt.mode == "latency") run_latency();
  else if (opt.mode == "fanout") run_fanout();
  else if (opt.mode == "handshake") run_handshake();
  else fail("unknown mode %s (echo, latency, fanout, handshake)", opt.mode.c_str());
  fflush(stdout);
  return 0;
}
