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
//              flight; messages/s and MB/s over --duration after --warmup.
//   latency    ping-pong of one --size frame on one connection; --count RTTs
//              after --warm-count, percentiles in microseconds.
//   fanout     opens --conns clients (each proves its handshake with one
//              echo), prints {"event":"ready"}, waits for "go" on stdin, then
//              writes --rounds lines of --line-bytes to --fifo (the server's
//              stdin) and times each until every client has the frame.
//   handshake  --concurrency clients at a time doing a full handshake (no
//              resumption), one 64-byte echo and a clean close, for --duration.
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

// ------------------------------------------------------------------ options

struct Options {
  std::string mode, host = "127.0.0.1", servername = "localhost", ca, fifo;
  int port = 0, conns = 1, size = 64, window = 1, rounds = 20,
      line_bytes = 100, concurrency = 32, server_pid = 0;
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
static uint8_t rbuf[256 * 1024];

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
  State st = CONNECTING;
  uint64_t pending = 0;  // bytes queued but not yet accepted by SSL_write
  size_t pos = 0;        // offset within the current frame of the send stream
  long in_flight = 0;    // frames queued and not yet echoed
  long frames = 0;       // frames received
  double opened = 0;
  bool shut_sent = false;
  // Frame parser: a state machine over bytes, so frames may split anywhere.
  uint8_t hdr[4];
  int hdr_have = 0;
  int64_t remaining = -1;  // payload bytes still to come; -1 while in header
  int32_t cur_len = 0;

  void queue(long n) {
    pending += (uint64_t)n * pattern.frame;
    in_flight += n;
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

  void on_readable() {
    for (;;) {
      ERR_clear_error();
      int r = SSL_read(ssl, rbuf, sizeof rbuf);
      if (r > 0) {
        if (!parse(rbuf, r)) return;
        continue;
      }
      int e = SSL_get_error(ssl, r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) break;
      // After our goodbye, any end of stream (close_notify, FIN, even a
      // reset) completes the close.
      if (st == CLOSING) return finish(e == SSL_ERROR_ZERO_RETURN);
      if (e == SSL_ERROR_ZERO_RETURN) die("server closed the connection");
      else die("read failed: " + ssl_errors());
      return;
    }
    flush();
  }

  void handshake() {
    ERR_clear_error();
    int r = SSL_connect(ssl);
    if (r == 1) {
      st = OPEN;
      mode->on_open(this);
      if (st == OPEN) flush();
      if (st == OPEN) on_readable();  // edge-triggered: data may already wait
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
    on_readable();
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
    if (st == HANDSHAKING) return handshake();
    if (st == CLOSING && !shut_sent) return close_gracefully();
    if (st == OPEN && (ev & EPOLLOUT) && !flush()) return;
    if (st == OPEN || st == CLOSING) on_readable();
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

static Conn* open_conn() {
  auto* c = new Conn();
  c->opened = now_s();
  c->fd = socket(server_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) fail("socket: %s (raise ulimit -n?)", strerror(errno));
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(c->fd, (sockaddr*)&server_addr, server_addr_len) < 0 && errno != EINPROGRESS)
    fail("connect to %s:%d: %s", opt.host.c_str(), opt.port, strerror(errno));
  c->ssl = SSL_new(ctx);
  SSL_set_fd(c->ssl, c->fd);
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

// Runs the event loop until `done()` or the global timeout; `tick` runs every
// iteration (at least every 5 ms) for time-based steps.
template <class Done, class Tick>
static void run_loop(Done done, Tick tick, const char* what) {
  epoll_event evs[512];
  while (!done()) {
    if (now_s() > deadline) fail("timed out %s (%s)", what, last_error.c_str());
    int n = epoll_wait(epfd, evs, 512, 5);
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
  double t = 0, cpu = 0, server = 0, busy[2] = {}, total[2] = {};
  void snap() {
    t = now_s();
    cpu = cpu_s();
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
  char out[384];
  snprintf(out, sizeof out,
           "\"loadgen_cpu_pct\":%.1f,\"server_cpu_pct\":%.1f,\"window_s\":%.3f,"
           "\"loadgen_rusage_cpu_s\":%.3f,\"cpu0_busy_pct\":%.1f,\"cpu1_busy_pct\":%.1f",
           wall > 0 ? 100 * (b.cpu - a.cpu) / wall : 0,
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
  bool stopping = false;
  long open = 0, received = 0;
  void on_open(Conn* c) override {
    open++;
    c->queue(opt.window);
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
    if (!stopping) c->queue(1);
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
  for (int i = 0; i < opt.conns; i++) conns.push_back(open_conn());
  run_loop([&] { return m->open == opt.conns; }, [] {}, "connecting");
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
      in_window = true;
    } else if (in_window && t >= a.t + opt.duration) {
      b.snap();
      m->stopping = true;
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
         "\"msgs\":%ld,\"seconds\":%.3f,\"msgs_per_s\":%.1f,\"mb_per_s\":%.2f,%s,%s}\n",
         opt.conns, opt.size, opt.window, msgs, secs, msgs / secs,
         msgs * (double)opt.size / secs / 1e6, tls.c_str(), cpu_json(a, b).c_str());
}

// ------------------------------------------------------------------ latency

struct LatencyMode : Mode {
  double sent = 0;
  long rtts = 0;
  bool done = false, open = false;
  std::vector<double> samples;
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
    if (++rtts > opt.warm_count) samples.push_back((t - sent) * 1e6);
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
  std::sort(s.begin(), s.end());
  printf("{\"ok\":true,\"mode\":\"latency\",\"size\":%d,\"samples\":%zu,\"p50_us\":%.1f,"
         "\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f,\"mean_us\":%.1f,%s,%s}\n",
         opt.size, s.size(), percentile(s, 0.5), percentile(s, 0.99), percentile(s, 0.999),
         s.back(), mean, tls.c_str(), cpu_json(a, b).c_str());
}

// ------------------------------------------------------------------ fan-out

struct FanoutMode : Mode {
  long ready = 0, round = -1, got = 0;
  double last = 0;
  bool closing = false;
  std::string line;  // the current broadcast payload
  void on_open(Conn* c) override { c->queue(1); }  // one echo proves the handshake
  void on_payload(Conn* c, const uint8_t* p, size_t n, size_t off) override {
    const std::string& want =
        round < 0 ? std::string((const char*)pattern.payload.data(), pattern.payload.size())
                  : line;
    if (off + n > want.size() || memcmp(p, want.data() + off, n) != 0)
      c->die("received frame differs from what was expected");
  }
  void on_frame(Conn* c, int32_t) override {
    if (round < 0) {
      c->in_flight--;
      ready++;
      return;
    }
    if (c->frames == round + 2) {  // its echo, then one frame per round
      if (++got == (long)opt.conns) last = now_s();
    } else {
      c->die("received an unexpected extra frame");
    }
  }
  void on_closed(Conn*, bool) override {
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
  double cpu = 0, server = 0, wall = 0;
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
    double sent = now_s();
    if (write(fifo, out.data(), out.size()) != (ssize_t)out.size())
      fail("write to the server's stdin failed: %s", strerror(errno));
    run_loop([&] { return m->got == (long)opt.conns; }, [] {}, "waiting for a broadcast");
    b.snap();
    samples.push_back((m->last - sent) * 1e6);
    cpu += b.cpu - a.cpu;
    server += b.server - a.server;
    wall += b.t - a.t;
    double until = now_s() + opt.gap;
    run_loop([&] { return now_s() >= until; }, [] {}, "between broadcasts");
  }
  close(fifo);
  m->closing = true;
  close_all(conns);
  std::string all;
  for (double s : samples) all += (all.empty() ? "" : ",") + std::to_string((long)s);
  std::sort(samples.begin(), samples.end());
  printf("{\"ok\":true,\"mode\":\"fanout\",\"conns\":%d,\"connect_s\":%.3f,\"rounds\":%d,"
         "\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f,\"samples_us\":[%s],"
         "\"loadgen_cpu_pct\":%.1f,\"server_cpu_pct\":%.1f,\"window_s\":%.3f}\n",
         opt.conns, connect_s, opt.rounds, percentile(samples, 0.5), percentile(samples, 0.99),
         samples.back(), all.c_str(), 100 * cpu / wall,
         opt.server_pid > 0 ? 100 * server / wall : -1, wall);
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
