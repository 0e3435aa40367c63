// mcpvisor-load: a load generator for any MCP server over Streamable HTTP
// (Boost.Beast, C++20 coroutines), so that the client is not the bottleneck
// and every server is measured with the same tool. Scenarios:
//
//   calls        tools/call in a closed loop (--concurrency) or an open loop
//                at a fixed --rate (latency from the scheduled send time, so
//                queueing is not hidden), with JSON answers (--mode json), SSE
//                answers (--mode sse: a progress token asks for a stream) or
//                stateless 2026-07-28 requests (--mode stateless)
//   sessions     opens --sessions 2025-11-25 sessions over --connections
//                connections, holds them, reports the rate and RSS per session
//   connections  holds --connections open connections, spread over --procs
//                processes and 127.0.0.x source addresses
//   websocket    tools/call over WebSocket (subprotocol mcp): --concurrency
//                connections, each with one 2025-11-25 session and
//                --pipeline requests in flight; a message is a request or its
//                answer, so messages/s is twice the calls answered per second
//   soak         a mixed workload for --duration (nine tools/call to one
//                tools/list; each connection ends its session and opens a
//                new one every 500 requests), sampling latency and RSS every
//                --sample-every seconds
//
// --mix (calls and soak, against mcpvisor's drill set) cycles through a
// read-only inline tool, a read-only tool on a worker and a tool that is
// neither read-only nor idempotent, and checks every answer as a chaos drill
// expects: results for the read-only tools; a result or the
// restarted-session error for the other. Every request has a --timeout;
// an answer with the wrong id, a lost connection or a timeout is an error.
// 503 refusals (the andon cord) are counted apart, with their latency.
//
// With --server-pid it samples the server's CPU time and RSS from /proc, so
// reports state the server's CPU per call independent of the client's own.
// Prints a table, and JSON with --json FILE. Everything it measures stays on
// the URLs given (127.0.0.1 in this project) and stops by itself.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "loadtest/histogram.hpp"
#include "transports/coalescing_stream.hpp"

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using net::awaitable;
using net::use_awaitable;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace mcpvisor::load {

// -- options ------------------------------------------------------------------

struct endpoint {
  std::string host;
  uint16_t port = 80;
  std::string path = "/";
  std::string text;
};

struct options {
  std::vector<endpoint> urls;
  std::string scenario = "calls";
  std::string mode = "json";
  std::string tool = "echo";
  std::string args = R"({"text":"hello"})";
  size_t concurrency = 16;
  /// websocket: requests in flight on each connection.
  size_t pipeline = 16;
  double rate = 0;
  double duration = 10;
  double warmup = 1;
  size_t sessions = 1000;
  size_t connections = 16;
  size_t procs = 1;
  double hold = 2;
  double sample_every = 5;
  /// Servers whose CPU and RSS are sampled (summed over all of them).
  std::vector<pid_t> server_pids;
  /// Where sessions are opened, if not where the calls go (a cluster:
  /// calls forwarded to the node that owns their session).
  std::optional<endpoint> session_url;
  /// calls: each connection opens its session on another --url than the
  /// one it calls through, chosen at random (a cluster: calls land on
  /// random nodes).
  bool session_elsewhere = false;
  /// sessions: write the ids opened here; resume: the ids to ask for.
  std::string ids_file;
  std::string json_out;
  size_t threads = 1;
  bool keep = false;
  bool mix = false;
  double timeout = 30;
  bool one_session = false;
  /// Errors described one by one on stderr, at most.
  size_t show_errors = 0;
};

std::optional<endpoint> parse_url(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0)
    return std::nullopt;
  endpoint e;
  e.text = url;
  auto rest = url.substr(scheme.size());
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  e.path = slash == std::string::npos ? "/" : rest.substr(slash);
  auto colon = authority.rfind(':');
  e.host = authority.substr(0, colon);
  if (colon != std::string::npos)
    e.port = static_cast<uint16_t>(std::stoi(authority.substr(colon + 1)));
  return e;
}

void usage() {
  std::fputs(
    "usage: mcpvisor-load --url http://127.0.0.1:8080/mcp [--url ...]\n"
    "  --scenario calls|sessions|connections|soak|resume|websocket   (calls)\n"
    "    resume: ask every session in --ids once (ping) through --url, again\n"
    "    after a refusal, until all answered or --duration: a node's failover\n"
    "  --mode json|sse|stateless   answers for calls (json)\n"
    "  --tool NAME --args JSON     tool to call (echo, {\"text\":\"hello\"})\n"
    "  --concurrency N             connections making calls (16)\n"
    "  --pipeline N                websocket: requests in flight per connection (16)\n"
    "  --rate R                    open loop: R calls/s in total (0: closed loop)\n"
    "  --duration S --warmup S     measured time and unmeasured warm-up (10, 1)\n"
    "  --sessions N --connections N  sessions scenario sizes (1000, 16)\n"
    "  --procs N --hold S          connections scenario: processes, hold time\n"
    "  --sample-every S            soak sampling period (5)\n"
    "  --server-pid PID[,PID...]   sample the servers' CPU and RSS (summed)\n"
    "  --session-url URL           calls: open sessions here, call through --url\n"
    "  --session-elsewhere         calls: open each session on another --url, at random\n"
    "  --ids FILE                  sessions: write the ids (with --keep); resume: read them\n"
    "  --threads N                 client I/O threads (1)\n"
    "  --keep                      sessions scenario: do not DELETE at the end\n"
    "  --mix                       calls/soak: cycle echo, sleep and bump (drill set)\n"
    "  --timeout S                 longest wait for one answer (30)\n"
    "  --one-session               calls/soak: every connection uses one session\n"
    "  --show-errors N             describe the first N errors on stderr\n"
    "  --json FILE                 write the report as JSON too\n",
    stderr);
}

std::optional<options> parse_args(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "missing value for %s\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--url") {
      auto e = parse_url(next());
      if (!e) {
        std::fprintf(stderr, "only http:// URLs are supported\n");
        return std::nullopt;
      }
      o.urls.push_back(*e);
    } else if (a == "--scenario") o.scenario = next();
    else if (a == "--mode") o.mode = next();
    else if (a == "--tool") o.tool = next();
    else if (a == "--args") o.args = next();
    else if (a == "--concurrency") o.concurrency = std::stoul(next());
    else if (a == "--pipeline") o.pipeline = std::stoul(next());
    else if (a == "--rate") o.rate = std::stod(next());
    else if (a == "--duration") o.duration = std::stod(next());
    else if (a == "--warmup") o.warmup = std::stod(next());
    else if (a == "--sessions") o.sessions = std::stoul(next());
    else if (a == "--connections") o.connections = std::stoul(next());
    else if (a == "--procs") o.procs = std::stoul(next());
    else if (a == "--hold") o.hold = std::stod(next());
    else if (a == "--sample-every") o.sample_every = std::stod(next());
    else if (a == "--server-pid") {
      std::stringstream list{next()};
      for (std::string pid; std::getline(list, pid, ',');)
        o.server_pids.push_back(std::stoi(pid));
    } else if (a == "--session-url") {
      o.session_url = parse_url(next());
      if (!o.session_url) {
        std::fprintf(stderr, "only http:// URLs are supported\n");
        return std::nullopt;
      }
    }
    else if (a == "--json") o.json_out = next();
    else if (a == "--threads") o.threads = std::stoul(next());
    else if (a == "--keep") o.keep = true;
    else if (a == "--mix") o.mix = true;
    else if (a == "--timeout") o.timeout = std::stod(next());
    else if (a == "--one-session") o.one_session = true;
    else if (a == "--session-elsewhere") o.session_elsewhere = true;
    else if (a == "--ids") o.ids_file = next();
    else if (a == "--show-errors") o.show_errors = std::stoul(next());
    else {
      usage();
      return std::nullopt;
    }
  }
  if (o.urls.empty()) {
    usage();
    return std::nullopt;
  }
  return o;
}

// -- server sampling ----------------------------------------------------------

struct proc_sample {
  double cpu_s = 0;  // user + system
  long rss_kb = 0;
  long fds = 0;
};

proc_sample sample(pid_t pid);

proc_sample sample(const std::vector<pid_t>& pids) {
  proc_sample sum;
  for (auto pid : pids) {
    auto s = sample(pid);
    sum.cpu_s += s.cpu_s;
    sum.rss_kb += s.rss_kb;
    sum.fds += s.fds;
  }
  return sum;
}

proc_sample sample(pid_t pid) {
  proc_sample s;
  if (pid <= 0)
    return s;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content((std::istreambuf_iterator<char>(stat)), {});
  auto close = content.rfind(')');
  if (close != std::string::npos) {
    std::istringstream rest(content.substr(close + 2));
    std::string field;
    std::vector<std::string> f;
    while (rest >> field)
      f.push_back(field);
    // fields after ")" start at 3 (state); utime=14, stime=15
    if (f.size() > 13) {
      double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
      s.cpu_s = (std::stod(f[11]) + std::stod(f[12])) / tick;
    }
  }
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0)
      s.rss_kb = std::stol(line.substr(6));
  std::error_code ec;
  (void) ec;
  return s;
}

// -- HTTP ---------------------------------------------------------------------

struct reply {
  int status = 0;
  std::string session_id;
  std::string body;
};

/// How one request ended. `refused` (503, the andon cord) and `restarted`
/// (the restarted-session error of a call that may not run twice) are
/// answers, counted apart; every other kind but `ok` is an error.
enum class outcome {
  ok,
  refused,
  conn_refused,
  restarted,
  http_error,
  rpc_error,
  tool_error,
  wrong_answer,
  io_error,
  timeout
};

const char* name(outcome o) {
  switch (o) {
    case outcome::ok: return "ok";
    case outcome::refused: return "refused";
    case outcome::conn_refused: return "connection_refused";
    case outcome::restarted: return "restarted";
    case outcome::http_error: return "http_status";
    case outcome::rpc_error: return "jsonrpc_error";
    case outcome::tool_error: return "tool_error";
    case outcome::wrong_answer: return "wrong_answer";
    case outcome::io_error: return "connection";
    case outcome::timeout: return "timeout";
  }
  return "?";
}


/// What a request expects back.
struct expectation {
  /// The JSON-RPC id as it appears in the answer ("id":N, followed by
  /// "," or "}" depending on the server's member order).
  std::string id_field;
  /// The call may be answered with the restarted-session error.
  bool may_restart = false;
  /// The tool called, for error reports.
  std::string tool;
};

bool has_id(const std::string& body, const std::string& id_field) {
  for (auto at = body.find(id_field); at != std::string::npos;
       at = body.find(id_field, at + 1)) {
    auto next = at + id_field.size();
    if (next < body.size() && (body[next] == ',' || body[next] == '}'))
      return true;
  }
  return false;
}

outcome classify(const reply& r, const expectation& want) {
  if (r.status == 503)
    return outcome::refused;
  if (r.status != 200)
    return outcome::http_error;
  // an SSE body holds the answer in its last event
  if (!has_id(r.body, want.id_field))
    return outcome::wrong_answer;
  if (r.body.find("\"sessionRestarted\":true") != std::string::npos)
    return want.may_restart ? outcome::restarted : outcome::rpc_error;
  if (r.body.find("\"error\":{") != std::string::npos)
    return outcome::rpc_error;
  if (r.body.find("\"isError\":true") != std::string::npos)
    return outcome::tool_error;
  if (r.body.find("\"result\"") == std::string::npos)
    return outcome::rpc_error;
  return outcome::ok;
}

class connection {
public:
  connection(net::any_io_executor ex, std::chrono::nanoseconds timeout)
    : stream_(ex), timeout_(timeout) {
    // nop
  }

  awaitable<bool> connect(const endpoint& e, const std::string& source = {}) {
    beast::error_code ec;
    tcp::endpoint ep{net::ip::make_address(e.host == "localhost" ? "127.0.0.1" : e.host, ec),
                     e.port};
    if (ec)
      co_return false;
    auto& sock = stream_.socket();
    sock.open(tcp::v4(), ec);
    if (!source.empty()) {
      // the port is chosen at connect time, for the whole address pair:
      // otherwise bind() keeps one port per source address for every
      // server, and ports in TIME_WAIT from an earlier run block it
      int one = 1;
      ::setsockopt(sock.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT,
                   &one, sizeof(one));
      sock.bind(tcp::endpoint{net::ip::make_address(source, ec), 0}, ec);
      if (ec)
        co_return false;
    }
    sock.set_option(tcp::no_delay(true), ec);
    stream_.expires_after(timeout_);
    co_await stream_.async_connect(ep, net::redirect_error(use_awaitable, ec));
    co_return !ec;
  }

  /// Writes `raw` and reads one response (JSON or a whole SSE stream);
  /// nullopt if the connection failed, with `timed_out` set if it was the
  /// time limit.
  awaitable<std::optional<reply>> exchange(const std::string& raw) {
    beast::error_code ec;
    timed_out = false;
    stream_.expires_after(timeout_);
    co_await net::async_write(stream_, net::buffer(raw),
                              net::redirect_error(use_awaitable, ec));
    if (!ec) {
      http::response_parser<http::string_body> parser;
      parser.body_limit(64 * 1024 * 1024);
      co_await http::async_read(stream_, buf_, parser,
                                net::redirect_error(use_awaitable, ec));
      if (!ec) {
        auto& res = parser.get();
        reply r;
        r.status = static_cast<int>(res.result_int());
        if (auto it = res.find("Mcp-Session-Id"); it != res.end())
          r.session_id = std::string{it->value()};
        r.body = std::move(res.body());
        co_return r;
      }
    }
    timed_out = ec == beast::error::timeout;
    co_return std::nullopt;
  }

  void close() {
    beast::error_code ec;
    stream_.socket().close(ec);
  }

  bool timed_out = false;

private:
  beast::tcp_stream stream_;
  beast::flat_buffer buf_;
  std::chrono::nanoseconds timeout_;
};

std::string post(const endpoint& e, const std::string& body,
                 const std::string& extra = {}) {
  std::string r;
  r.reserve(256 + body.size());
  r += "POST ";
  r += e.path;
  r += " HTTP/1.1\r\nHost: ";
  r += e.host;
  r += ':';
  r += std::to_string(e.port);
  r += "\r\nContent-Type: application/json\r\nAccept: application/json, "
       "text/event-stream\r\n";
  r += extra;
  r += "Content-Length: ";
  r += std::to_string(body.size());
  r += "\r\n\r\n";
  r += body;
  return r;
}

std::string del(const endpoint& e, const std::string& sid) {
  return "DELETE " + e.path + " HTTP/1.1\r\nHost: " + e.host + ":"
         + std::to_string(e.port) + "\r\nMcp-Session-Id: " + sid
         + "\r\nMCP-Protocol-Version: 2025-11-25\r\nContent-Length: 0\r\n\r\n";
}

const std::string stateless_meta
  = R"("_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"mcpvisor-load","version":"1"}})";

std::chrono::nanoseconds limit(const options& o) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
    std::chrono::duration<double>(o.timeout));
}

awaitable<std::string> open_session(connection& c, const endpoint& e);

/// Opens a session for calls through `e` on connection `c`: on `e`
/// itself, or at --session-url over a connection of its own.
awaitable<std::string> open_session_for(const options& o, connection& c, const endpoint& e) {
  const endpoint* at = o.session_url ? &*o.session_url : nullptr;
  if (o.session_elsewhere && o.urls.size() > 1) {
    thread_local std::minstd_rand pick{std::random_device{}()};
    do
      at = &o.urls[pick() % o.urls.size()];
    while (at->text == e.text);
  }
  if (at == nullptr)
    co_return co_await open_session(c, e);
  connection other{co_await net::this_coro::executor, limit(o)};
  if (!co_await other.connect(*at))
    co_return std::string{};
  co_return co_await open_session(other, *at);
}

/// Opens a 2025-11-25 session on `c`; returns its id (empty on failure).
awaitable<std::string> open_session(connection& c, const endpoint& e) {
  auto r = co_await c.exchange(post(
    e, R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"roots":{"listChanged":true},"sampling":{},"elicitation":{}},"clientInfo":{"name":"mcpvisor-load","version":"1"}}})",
    "MCP-Protocol-Version: 2025-11-25\r\n"));
  if (!r || r->status != 200 || r->session_id.empty())
    co_return std::string{};
  auto sid = r->session_id;
  auto n = co_await c.exchange(post(e, R"({"jsonrpc":"2.0","method":"notifications/initialized"})",
                                    "Mcp-Session-Id: " + sid
                                      + "\r\nMCP-Protocol-Version: 2025-11-25\r\n"));
  if (!n || n->status / 100 != 2)
    co_return std::string{};
  co_return sid;
}

/// The bytes of one tools/call in the configured mode, and what it
/// expects back.
class call_builder {
public:
  call_builder(const options& o, const endpoint& e, std::string sid)
    : o_(o), e_(e), sid_(std::move(sid)) {
    // nop
  }

  std::string next(expectation& want) {
    auto id = std::to_string(++n_);
    std::string tool = o_.tool;
    std::string args = o_.args;
    want.may_restart = false;
    want.id_field = "\"id\":" + id;
    if (o_.scenario == "soak" && n_ % 10 == 0) {
      // the soak's mix: one request in ten lists the tools
      want.tool = "(tools/list)";
      return request(id, R"("method":"tools/list","params":{)", "tools/list", "");
    }
    if (o_.mix) {
      // read-only inline, read-only on a worker, neither (drill set)
      switch (n_ % 3) {
        case 0:
          tool = "echo";
          args = R"({"text":"hello"})";
          break;
        case 1:
          tool = "sleep";
          args = R"({"ms":20})";
          break;
        default:
          tool = "bump";
          args = R"({"ms":20})";
          want.may_restart = true;
      }
    }
    want.tool = tool;
    return request(id,
                   R"("method":"tools/call","params":{"name":")" + tool
                     + R"(","arguments":)" + args + ",",
                   "tools/call", tool);
  }

  /// The session later requests belong to (the soak's session churn).
  void set_session(std::string sid) {
    sid_ = std::move(sid);
  }

private:
  /// A request whose params begin with `params_start` (and end with a
  /// comma if they are not empty), in the configured mode.
  std::string request(const std::string& id, std::string params_start,
                      const char* method, const std::string& name) {
    std::string body = R"({"jsonrpc":"2.0","id":)" + id + "," + params_start;
    std::string headers;
    if (o_.mode == "stateless") {
      body += stateless_meta;
      headers = std::string{"MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: "}
                + method + "\r\n";
      if (!name.empty())
        headers += "Mcp-Name: " + name + "\r\n";
    } else {
      if (o_.mode == "sse")
        body += R"("_meta":{"progressToken":)" + id + "}";
      else if (body.back() == ',')
        body.pop_back();
      headers = "Mcp-Session-Id: " + sid_ + "\r\nMCP-Protocol-Version: 2025-11-25\r\n";
    }
    body += "}}";
    return post(e_, body, headers);
  }

  const options& o_;
  const endpoint& e_;
  std::string sid_;
  uint64_t n_ = 0;
};

// -- results ------------------------------------------------------------------

struct tally {
  histogram lat;
  /// Latency of 503 refusals.
  histogram refused_lat;
  std::map<std::string, uint64_t> errors;
  uint64_t ok = 0;
  uint64_t refused = 0;
  uint64_t conn_refused = 0;
  uint64_t restarted = 0;

  void add(outcome o, uint64_t ns) {
    switch (o) {
      case outcome::ok:
        ++ok;
        lat.record(ns);
        break;
      case outcome::refused:
        ++refused;
        refused_lat.record(ns);
        break;
      case outcome::conn_refused:
        ++conn_refused;
        break;
      case outcome::restarted:
        ++restarted;
        break;
      default:
        ++errors[name(o)];
    }
  }

  void merge(const tally& t) {
    lat.merge(t.lat);
    refused_lat.merge(t.refused_lat);
    ok += t.ok;
    refused += t.refused;
    conn_refused += t.conn_refused;
    restarted += t.restarted;
    for (auto& [k, v] : t.errors)
      errors[k] += v;
  }
};

std::string us(uint64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", static_cast<double>(ns) / 1000.0);
  return buf;
}

// -- scenarios ----------------------------------------------------------------

/// Runs `workers` coroutines on `threads` threads and waits for them.
template <class F>
void run_workers(size_t threads, size_t workers, F make) {
  net::io_context ioc{static_cast<int>(threads)};
  for (size_t i = 0; i < workers; ++i)
    net::co_spawn(net::make_strand(ioc), make(i), net::detached);
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t)
    pool.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& t : pool)
    t.join();
}

struct calls_report {
  tally all;
  double seconds = 0;
  proc_sample before;
  proc_sample after;
  size_t failed_setup = 0;
};

/// The calls loop shared by `calls` and `soak`: each worker has its own
/// connection (and session); in an open loop workers take tickets of a
/// common schedule.
calls_report run_calls(const options& o, double duration,
                       const std::function<void(double, const tally&, const proc_sample&)>& on_window = {}) {
  calls_report rep;
  std::vector<tally> per(o.concurrency);
  std::atomic<size_t> ready{0};
  std::atomic<size_t> setup_failed{0};
  std::atomic<uint64_t> ticket{0};
  std::atomic<bool> measuring{false};
  std::atomic<bool> finished{false};
  std::atomic<size_t> shown{0};
  clock_type::time_point start;
  clock_type::time_point end;
  std::mutex window_mtx;
  tally window;
  double interval_ns = o.rate > 0 ? 1e9 / o.rate : 0;
  std::string shared_sid;
  if (o.one_session && o.mode != "stateless") {
    run_workers(1, 1, [&](size_t) -> awaitable<void> {
      connection c{co_await net::this_coro::executor, limit(o)};
      if (co_await c.connect(o.urls.front()))
        shared_sid = co_await open_session(c, o.urls.front());
    });
    if (shared_sid.empty()) {
      rep.failed_setup = o.concurrency;
      return rep;
    }
  }
  run_workers(o.threads, o.concurrency + 1, [&](size_t i) -> awaitable<void> {
    auto ex = co_await net::this_coro::executor;
    if (i == o.concurrency) {
      // the clock: warm-up, then the measured window, with soak samples
      net::steady_timer t{ex};
      while (ready.load() + setup_failed.load() < o.concurrency) {
        t.expires_after(10ms);
        co_await t.async_wait(use_awaitable);
      }
      t.expires_after(std::chrono::duration_cast<clock_type::duration>(
        std::chrono::duration<double>(o.warmup)));
      co_await t.async_wait(use_awaitable);
      rep.before = sample(o.server_pids);
      start = clock_type::now();
      end = start + std::chrono::duration_cast<clock_type::duration>(
                      std::chrono::duration<double>(duration));
      ticket.store(0);
      measuring.store(true);
      double period = o.sample_every > 0 && on_window ? o.sample_every : duration;
      auto next = start;
      while (clock_type::now() < end) {
        next += std::chrono::duration_cast<clock_type::duration>(
          std::chrono::duration<double>(period));
        t.expires_at(std::min(next, end));
        co_await t.async_wait(use_awaitable);
        if (on_window) {
          tally w;
          {
            std::lock_guard<std::mutex> g{window_mtx};
            std::swap(w, window);
          }
          on_window(std::chrono::duration<double>(clock_type::now() - start).count(),
                    w, sample(o.server_pids));
        }
      }
      measuring.store(false);
      finished.store(true);
      rep.after = sample(o.server_pids);
      rep.seconds = std::chrono::duration<double>(clock_type::now() - start).count();
      co_return;
    }
    const auto& e = o.urls[i % o.urls.size()];
    std::unique_ptr<connection> c;
    std::string sid = shared_sid;
    net::steady_timer t{ex};
    // a server that refuses new work for now (503, or a connection closed
    // at once) is asked again after 100 ms, as Retry-After asks
    bool set_up = false;
    for (int tries = 0; tries < 50 && !set_up; ++tries) {
      if (tries > 0) {
        t.expires_after(100ms);
        co_await t.async_wait(use_awaitable);
      }
      c = std::make_unique<connection>(ex, limit(o));
      if (!co_await c->connect(e))
        continue;
      set_up = o.mode == "stateless" || !sid.empty()
               || !(sid = co_await open_session_for(o, *c, e)).empty();
    }
    if (!set_up) {
      setup_failed.fetch_add(1);
      co_return;
    }
    call_builder calls{o, e, sid};
    ready.fetch_add(1);
    // everyone starts together, so that early connections do not load the
    // server while the others are still setting up
    while (ready.load() + setup_failed.load() < o.concurrency) {
      t.expires_after(5ms);
      co_await t.async_wait(use_awaitable);
    }
    auto& mine = per[i];
    bool started = false;
    bool fresh_conn = false;
    bool churn = o.scenario == "soak" && o.mode != "stateless" && shared_sid.empty();
    int since_churn = 0;
    for (;;) {
      bool in_window = measuring.load();
      if (finished.load())
        break; // the window closed
      started = started || in_window;
      auto scheduled = clock_type::now();
      if (interval_ns > 0 && in_window) {
        auto k = ticket.fetch_add(1);
        scheduled = start + std::chrono::nanoseconds(
                              static_cast<int64_t>(static_cast<double>(k) * interval_ns));
        if (scheduled >= end)
          break;
        if (scheduled > clock_type::now()) {
          t.expires_at(scheduled);
          co_await t.async_wait(use_awaitable);
        }
      }
      expectation want;
      auto r = co_await c->exchange(calls.next(want));
      auto done = clock_type::now();
      auto o2 = r ? classify(*r, want)
                  : (c->timed_out ? outcome::timeout : outcome::io_error);
      // a new connection closed before its first answer was refused (the
      // andon cord closes new connections at once); nothing was lost
      if (o2 == outcome::io_error && fresh_conn)
        o2 = outcome::conn_refused;
      fresh_conn = false;
      if (o2 != outcome::ok && o2 != outcome::refused && o2 != outcome::restarted
          && o2 != outcome::conn_refused && shown.fetch_add(1) < o.show_errors)
        std::fprintf(stderr, "error %s: session %s, tool %s, %s, status %d: %.300s\n",
                     name(o2), sid.c_str(), want.tool.c_str(),
                     want.id_field.c_str(), r ? r->status : 0,
                     r ? r->body.c_str() : "");
      if (measuring.load() || started) {
        auto ns = static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(done - scheduled).count());
        mine.add(o2, ns);
        if (on_window) {
          std::lock_guard<std::mutex> g{window_mtx};
          window.add(o2, ns);
        }
      }
      if (churn && ++since_churn >= 500 && o2 == outcome::ok) {
        // the soak's mix: sessions end and new ones begin all the time
        since_churn = 0;
        auto d = co_await c->exchange(del(e, sid));
        if (!d || d->status / 100 != 2)
          ++mine.errors["session_end"];
        sid = co_await open_session(*c, e);
        if (sid.empty()) {
          ++mine.errors["session_setup"];
          break;
        }
        calls.set_session(sid);
      }
      if (o2 == outcome::io_error || o2 == outcome::timeout
          || o2 == outcome::conn_refused) {
        c->close();
        if (o2 == outcome::conn_refused) {
          // back off as Retry-After asks before connecting again
          t.expires_after(100ms);
          co_await t.async_wait(use_awaitable);
        }
        c = std::make_unique<connection>(ex, limit(o));
        if (!co_await c->connect(e))
          break;
        fresh_conn = true;
      }
    }
    if (!sid.empty() && shared_sid.empty()) {
      // a session that is not there any more at the end was lost
      auto r = co_await c->exchange(del(e, sid));
      if (r && r->status == 404)
        ++mine.errors["session_lost"];
    }
  });
  for (auto& t : per)
    rep.all.merge(t);
  rep.failed_setup = setup_failed.load();
  return rep;
}

struct report {
  std::vector<std::pair<std::string, std::string>> rows;
  void add(std::string k, std::string v) {
    rows.emplace_back(std::move(k), std::move(v));
  }
};

void print(const options& o, const report& r) {
  for (auto& [k, v] : r.rows)
    std::printf("%-28s %s\n", k.c_str(), v.c_str());
  if (o.json_out.empty())
    return;
  std::ofstream f{o.json_out};
  f << "{";
  for (size_t i = 0; i < r.rows.size(); ++i) {
    const auto& v = r.rows[i].second;
    f << (i ? "," : "") << "\"" << r.rows[i].first << "\":";
    char* end = nullptr;
    std::strtod(v.c_str(), &end);
    if (!v.empty() && end == v.c_str() + v.size()) {
      f << v; // numbers stay numbers for scripts
      continue;
    }
    f << "\"";
    for (char c : v)
      f << (c == '"' ? std::string{"\\\""} : std::string{c});
    f << "\"";
  }
  f << "}\n";
}

void add_latency(report& r, const tally& t) {
  r.add("p50_us", us(t.lat.quantile(0.50)));
  r.add("p90_us", us(t.lat.quantile(0.90)));
  r.add("p99_us", us(t.lat.quantile(0.99)));
  r.add("p99.9_us", us(t.lat.quantile(0.999)));
  r.add("max_us", us(t.lat.max()));
  std::string errs;
  for (auto& [k, v] : t.errors)
    errs += (errs.empty() ? "" : ", ") + k + "=" + std::to_string(v);
  r.add("errors", errs.empty() ? "none" : errs);
  r.add("refused_503", std::to_string(t.refused));
  r.add("connections_refused", std::to_string(t.conn_refused));
  if (t.refused > 0) {
    r.add("refused_p50_us", us(t.refused_lat.quantile(0.50)));
    r.add("refused_p99_us", us(t.refused_lat.quantile(0.99)));
  }
  if (t.restarted > 0)
    r.add("restarted_session_errors", std::to_string(t.restarted));
}

int scenario_calls(const options& o) {
  auto rep = run_calls(o, o.duration);
  report r;
  r.add("scenario", "calls (" + o.mode + ", " + (o.rate > 0 ? "open loop" : "closed loop") + ")");
  r.add("url", o.urls.front().text);
  r.add("tool", o.tool);
  r.add("concurrency", std::to_string(o.concurrency));
  if (o.rate > 0)
    r.add("target_rate", std::to_string(static_cast<long>(o.rate)));
  r.add("duration_s", std::to_string(rep.seconds));
  r.add("calls_ok", std::to_string(rep.all.ok));
  r.add("calls_per_s", std::to_string(static_cast<long>(static_cast<double>(rep.all.ok) / rep.seconds)));
  add_latency(r, rep.all);
  if (!o.server_pids.empty() && rep.all.ok > 0) {
    double cpu = rep.after.cpu_s - rep.before.cpu_s;
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.2f", cpu * 1e6 / static_cast<double>(rep.all.ok));
    r.add("server_cpu_us_per_call", buf);
    r.add("server_rss_before_kb", std::to_string(rep.before.rss_kb));
    r.add("server_rss_kb", std::to_string(rep.after.rss_kb));
  }
  if (rep.failed_setup > 0)
    r.add("failed_setup", std::to_string(rep.failed_setup));
  print(o, r);
  return rep.all.errors.empty() && rep.failed_setup == 0 && rep.all.ok > 0 ? 0 : 1;
}

/// Calls over WebSocket connections, each keeping --pipeline requests in
/// flight: every answer read sends the next request. Answers may come in
/// any order; each is matched to its request by id.
int scenario_websocket(const options& o) {
  namespace ws = beast::websocket;
  std::vector<tally> per(o.concurrency);
  std::atomic<size_t> ready{0};
  std::atomic<size_t> setup_failed{0};
  std::atomic<bool> measuring{false};
  std::atomic<bool> finished{false};
  clock_type::time_point start;
  proc_sample before;
  proc_sample after;
  double seconds = 0;
  auto timeout = std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o.timeout));
  run_workers(o.threads, o.concurrency + 1, [&](size_t i) -> awaitable<void> {
    auto ex = co_await net::this_coro::executor;
    net::steady_timer t{ex};
    if (i == o.concurrency) {
      while (ready.load() + setup_failed.load() < o.concurrency) {
        t.expires_after(10ms);
        co_await t.async_wait(use_awaitable);
      }
      t.expires_after(std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o.warmup)));
      co_await t.async_wait(use_awaitable);
      before = sample(o.server_pids);
      start = clock_type::now();
      measuring.store(true);
      t.expires_after(std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o.duration)));
      co_await t.async_wait(use_awaitable);
      measuring.store(false);
      after = sample(o.server_pids);
      seconds = std::chrono::duration<double>(clock_type::now() - start).count();
      finished.store(true);
      co_return;
    }
    const auto& e = o.urls[i % o.urls.size()];
    auto& mine = per[i];
    // writes gathered as the server's are (transports/coalescing_stream.hpp),
    // so that the client is not the bottleneck
    using ws_stream = ws::stream<transports::coalescing_stream<beast::tcp_stream>>;
    auto owned = std::make_shared<ws_stream>(transports::coalescing_stream<beast::tcp_stream>{
      beast::tcp_stream{ex}});
    owned->next_layer().set_owner(owned, {});
    auto& sock = *owned;
    beast::flat_buffer in;
    try {
      tcp::resolver resolver{ex};
      auto where = co_await resolver.async_resolve(e.host, std::to_string(e.port), use_awaitable);
      beast::get_lowest_layer(sock).expires_after(timeout);
      co_await beast::get_lowest_layer(sock).async_connect(where, use_awaitable);
      beast::get_lowest_layer(sock).socket().set_option(tcp::no_delay{true});
      beast::get_lowest_layer(sock).expires_never();
      sock.set_option(ws::stream_base::timeout::suggested(beast::role_type::client));
      sock.set_option(ws::stream_base::decorator([](ws::request_type& req) {
        req.set(http::field::sec_websocket_protocol, "mcp");
      }));
      co_await sock.async_handshake(e.host + ":" + std::to_string(e.port), e.path, use_awaitable);
      sock.text(true);
      co_await sock.async_write(net::buffer(std::string_view{
        R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"mcpvisor-load","version":"1"}}})"}), use_awaitable);
      co_await sock.async_read(in, use_awaitable);
      in.consume(in.size());
      co_await sock.async_write(net::buffer(std::string_view{R"({"jsonrpc":"2.0","method":"notifications/initialized"})"}),
                                use_awaitable);
    } catch (const std::exception&) {
      setup_failed.fetch_add(1);
      co_return;
    }
    ready.fetch_add(1);
    while (ready.load() + setup_failed.load() < o.concurrency) {
      t.expires_after(5ms);
      co_await t.async_wait(use_awaitable);
    }
    std::unordered_map<uint64_t, clock_type::time_point> sent;
    uint64_t next_id = 1;
    auto send_one = [&]() -> awaitable<void> {
      auto id = next_id++;
      auto body = R"({"jsonrpc":"2.0","id":)" + std::to_string(id)
                  + R"(,"method":"tools/call","params":{"name":")" + o.tool + R"(","arguments":)" + o.args + "}}";
      sent.emplace(id, clock_type::now());
      co_await sock.async_write(net::buffer(body), use_awaitable);
    };
    try {
      for (size_t k = 0; k < o.pipeline; ++k)
        co_await send_one();
      while (!finished.load()) {
        co_await sock.async_read(in, use_awaitable);
        auto now = clock_type::now();
        std::string_view msg{static_cast<const char*>(in.data().data()), in.size()};
        auto at = msg.find(R"("id":)");
        auto found = at == std::string_view::npos
                       ? sent.end() : sent.find(std::strtoull(msg.data() + at + 5, nullptr, 10));
        auto ok = found != sent.end() && msg.find(R"("result")") != std::string_view::npos
                  && msg.find(R"("isError":true)") == std::string_view::npos;
        if (measuring.load())
          mine.add(ok ? outcome::ok : (found == sent.end() ? outcome::wrong_answer : outcome::rpc_error),
                   static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                     now - (found != sent.end() ? found->second : now)).count()));
        in.consume(in.size());
        if (found != sent.end()) {
          sent.erase(found);
          co_await send_one();
        }
      }
      co_await sock.async_close(ws::close_code::normal, use_awaitable);
    } catch (const std::exception&) {
      if (!finished.load())
        ++mine.errors["io_error"];
    }
  });
  tally all;
  for (auto& t : per)
    all.merge(t);
  report r;
  r.add("scenario", "websocket (pipelined tools/call)");
  r.add("url", o.urls.front().text);
  r.add("tool", o.tool);
  r.add("connections", std::to_string(o.concurrency));
  r.add("pipeline", std::to_string(o.pipeline));
  r.add("duration_s", std::to_string(seconds));
  r.add("calls_ok", std::to_string(all.ok));
  auto per_s = seconds > 0 ? static_cast<double>(all.ok) / seconds : 0;
  r.add("calls_per_s", std::to_string(static_cast<long>(per_s)));
  r.add("messages_per_s", std::to_string(static_cast<long>(2 * per_s)));
  add_latency(r, all);
  if (!o.server_pids.empty() && all.ok > 0) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.2f", (after.cpu_s - before.cpu_s) * 1e6 / static_cast<double>(all.ok));
    r.add("server_cpu_us_per_call", buf);
    r.add("server_rss_kb", std::to_string(after.rss_kb));
  }
  if (setup_failed.load() > 0)
    r.add("failed_setup", std::to_string(setup_failed.load()));
  print(o, r);
  return all.errors.empty() && setup_failed.load() == 0 && all.ok > 0 ? 0 : 1;
}

int scenario_sessions(const options& o) {
  auto before = sample(o.server_pids);
  std::vector<std::vector<std::string>> ids(o.connections);
  std::atomic<size_t> failed{0};
  auto t0 = clock_type::now();
  double established_s = 0;
  proc_sample held;
  run_workers(o.threads, o.connections, [&](size_t i) -> awaitable<void> {
    auto ex = co_await net::this_coro::executor;
    const auto& e = o.urls[i % o.urls.size()];
    connection c{ex, limit(o)};
    if (!co_await c.connect(e)) {
      failed.fetch_add(o.sessions / o.connections);
      co_return;
    }
    size_t mine = o.sessions / o.connections + (i < o.sessions % o.connections ? 1 : 0);
    for (size_t k = 0; k < mine; ++k) {
      auto sid = co_await open_session(c, e);
      if (sid.empty())
        failed.fetch_add(1);
      else
        ids[i].push_back(std::move(sid));
    }
  });
  established_s = std::chrono::duration<double>(clock_type::now() - t0).count();
  if (!o.ids_file.empty()) {
    std::ofstream out{o.ids_file};
    for (auto& v : ids)
      for (auto& sid : v)
        out << sid << '\n';
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(o.hold));
  held = sample(o.server_pids);
  size_t open = 0;
  for (auto& v : ids)
    open += v.size();
  if (!o.keep) {
    run_workers(o.threads, o.connections, [&](size_t i) -> awaitable<void> {
      auto ex = co_await net::this_coro::executor;
      const auto& e = o.urls[i % o.urls.size()];
      connection c{ex, limit(o)};
      if (!co_await c.connect(e))
        co_return;
      for (auto& sid : ids[i])
        co_await c.exchange(del(e, sid));
    });
  }
  report r;
  r.add("scenario", "sessions");
  r.add("sessions_open", std::to_string(open));
  r.add("failed", std::to_string(failed.load()));
  r.add("connections", std::to_string(o.connections));
  r.add("sessions_per_s", std::to_string(static_cast<long>(static_cast<double>(open) / established_s)));
  if (!o.server_pids.empty() && open > 0) {
    r.add("server_rss_before_kb", std::to_string(before.rss_kb));
    r.add("server_rss_held_kb", std::to_string(held.rss_kb));
    r.add("server_rss_per_session_b",
          std::to_string(static_cast<long>((held.rss_kb - before.rss_kb) * 1024.0
                                           / static_cast<double>(open))));
  }
  print(o, r);
  return failed.load() == 0 ? 0 : 1;
}

/// One process's share of the connections scenario: open, serve one
/// request each, hold, close. Returns {served, failed}.
std::pair<size_t, size_t> hold_connections(const options& o, size_t count,
                                           const std::string& source,
                                           size_t offset) {
  std::atomic<size_t> served{0};
  std::atomic<size_t> failed{0};
  std::atomic<size_t> done{0};
  run_workers(1, count, [&](size_t i) -> awaitable<void> {
    auto ex = co_await net::this_coro::executor;
    const auto& e = o.urls[(i + offset) % o.urls.size()];
    connection c{ex, limit(o)};
    bool ok = co_await c.connect(e, source);
    if (ok) {
      auto r = co_await c.exchange(post(
        e, R"({"jsonrpc":"2.0","id":1,"method":"server/discover","params":{)" + stateless_meta + "}}",
        "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: server/discover\r\n"));
      ok = r && r->status == 200;
    }
    (ok ? served : failed).fetch_add(1);
    done.fetch_add(1);
    // hold until every connection of this process is up, then for --hold
    net::steady_timer t{ex};
    while (done.load() < count) {
      t.expires_after(20ms);
      co_await t.async_wait(use_awaitable);
    }
    t.expires_after(std::chrono::duration_cast<clock_type::duration>(
      std::chrono::duration<double>(o.hold)));
    co_await t.async_wait(use_awaitable);
    c.close();
  });
  return {served.load(), failed.load()};
}

int scenario_connections(const options& o) {
  size_t procs = std::max<size_t>(1, o.procs);
  std::vector<pid_t> children;
  std::vector<int> pipes;
  auto t0 = clock_type::now();
  for (size_t p = 0; p < procs; ++p) {
    int fds[2];
    if (::pipe(fds) != 0)
      return 1;
    size_t count = o.connections / procs + (p < o.connections % procs ? 1 : 0);
    // each process its own 127.0.0.x source address: ephemeral ports are
    // per address, and a process may hold at most 20,000 files here
    std::string source = "127.0.0." + std::to_string(2 + p % 250);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      rlimit lim{};
      getrlimit(RLIMIT_NOFILE, &lim);
      lim.rlim_cur = lim.rlim_max;
      setrlimit(RLIMIT_NOFILE, &lim);
      auto [served, failed] = hold_connections(o, count, source, p);
      auto msg = std::to_string(served) + " " + std::to_string(failed) + "\n";
      auto written = ::write(fds[1], msg.data(), msg.size());
      (void) written;
      std::_Exit(0);
    }
    ::close(fds[1]);
    children.push_back(pid);
    pipes.push_back(fds[0]);
  }
  size_t served = 0;
  size_t failed = 0;
  for (size_t p = 0; p < procs; ++p) {
    char buf[64] = {0};
    auto n = ::read(pipes[p], buf, sizeof(buf) - 1);
    if (n > 0) {
      size_t s = 0;
      size_t f = 0;
      std::sscanf(buf, "%zu %zu", &s, &f);
      served += s;
      failed += f;
    }
    ::close(pipes[p]);
    int st = 0;
    ::waitpid(children[p], &st, 0);
  }
  report r;
  r.add("scenario", "connections");
  r.add("processes", std::to_string(procs));
  r.add("servers", std::to_string(o.urls.size()));
  r.add("connections_served", std::to_string(served));
  r.add("failed", std::to_string(failed));
  r.add("elapsed_s", std::to_string(std::chrono::duration<double>(clock_type::now() - t0).count()));
  print(o, r);
  // a process that did not report counts its connections as failed
  return failed == 0 && served == o.connections ? 0 : 1;
}

int scenario_soak(const options& o) {
  std::printf("%8s %10s %10s %10s %12s %8s\n", "t_s", "calls", "p50_us", "p99_us",
              "server_rss_kb", "errors");
  long first_rss = 0;
  long last_rss = 0;
  auto rep = run_calls(o, o.duration, [&](double t, const tally& w, const proc_sample& s) {
    uint64_t errs = 0;
    for (auto& [k, v] : w.errors)
      errs += v;
    if (first_rss == 0)
      first_rss = s.rss_kb;
    last_rss = s.rss_kb;
    std::printf("%8.0f %10lu %10s %10s %12ld %8lu\n", t,
                static_cast<unsigned long>(w.ok), us(w.lat.quantile(0.5)).c_str(),
                us(w.lat.quantile(0.99)).c_str(), s.rss_kb,
                static_cast<unsigned long>(errs));
    std::fflush(stdout);
  });
  report r;
  r.add("scenario", "soak (" + o.mode + ")");
  r.add("duration_s", std::to_string(rep.seconds));
  r.add("calls_ok", std::to_string(rep.all.ok));
  r.add("calls_per_s", std::to_string(static_cast<long>(static_cast<double>(rep.all.ok) / rep.seconds)));
  add_latency(r, rep.all);
  if (!o.server_pids.empty()) {
    r.add("server_rss_first_sample_kb", std::to_string(first_rss));
    r.add("server_rss_last_sample_kb", std::to_string(last_rss));
  }
  print(o, r);
  return rep.all.errors.empty() && rep.all.ok > 0 ? 0 : 1;
}

/// Every session in --ids is asked once (ping) through the --url list,
/// again 50 ms after a 503 or a failed connection, until each answered or
/// --duration passed: how long a dead node's sessions take to answer again
/// on their buddies. A 404 means a session was lost.
int scenario_resume(const options& o) {
  std::vector<std::string> ids;
  {
    std::ifstream in{o.ids_file};
    for (std::string line; std::getline(in, line);)
      if (!line.empty())
        ids.push_back(line);
  }
  if (ids.empty()) {
    std::fprintf(stderr, "resume: no session ids in --ids\n");
    return 2;
  }
  std::atomic<size_t> next{0};
  std::atomic<size_t> answered{0};
  std::atomic<size_t> lost{0};
  std::atomic<size_t> retries{0};
  std::mutex mtx;
  histogram first_answer; // time from the start to each session's answer
  auto t0 = clock_type::now();
  auto deadline = t0 + std::chrono::duration_cast<clock_type::duration>(
                         std::chrono::duration<double>(o.duration));
  run_workers(o.threads, o.concurrency, [&](size_t i) -> awaitable<void> {
    auto ex = co_await net::this_coro::executor;
    const auto& e = o.urls[i % o.urls.size()];
    std::unique_ptr<connection> c;
    net::steady_timer t{ex};
    for (size_t k; (k = next.fetch_add(1)) < ids.size();) {
      for (;;) {
        if (clock_type::now() > deadline)
          co_return;
        if (c == nullptr) {
          c = std::make_unique<connection>(ex, limit(o));
          if (!co_await c->connect(e)) {
            c.reset();
            retries.fetch_add(1);
            t.expires_after(50ms);
            co_await t.async_wait(use_awaitable);
            continue;
          }
        }
        auto r = co_await c->exchange(post(e, R"({"jsonrpc":"2.0","id":1,"method":"ping"})",
                                           "Mcp-Session-Id: " + ids[k]
                                             + "\r\nMCP-Protocol-Version: 2025-11-25\r\n"));
        if (r && r->status == 200) {
          answered.fetch_add(1);
          std::lock_guard<std::mutex> g{mtx};
          first_answer.record(static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - t0)
              .count()));
          break;
        }
        if (r && r->status == 404) {
          lost.fetch_add(1);
          break;
        }
        if (!r)
          c.reset();
        retries.fetch_add(1);
        t.expires_after(50ms);
        co_await t.async_wait(use_awaitable);
      }
    }
  });
  report r;
  r.add("scenario", "resume");
  r.add("sessions", std::to_string(ids.size()));
  r.add("answered", std::to_string(answered.load()));
  r.add("lost_404", std::to_string(lost.load()));
  r.add("retries", std::to_string(retries.load()));
  r.add("first_answer_p50_ms", us(first_answer.quantile(0.5) / 1000));
  r.add("all_answered_ms", us(first_answer.max() / 1000));
  print(o, r);
  return answered.load() == ids.size() ? 0 : 1;
}

} // namespace mcpvisor::load

int main(int argc, char** argv) {
  using namespace mcpvisor::load;
  auto o = parse_args(argc, argv);
  if (!o)
    return 2;
  if (o->scenario == "calls")
    return scenario_calls(*o);
  if (o->scenario == "sessions")
    return scenario_sessions(*o);
  if (o->scenario == "connections")
    return scenario_connections(*o);
  if (o->scenario == "soak")
    return scenario_soak(*o);
  if (o->scenario == "resume")
    return scenario_resume(*o);
  if (o->scenario == "websocket")
    return scenario_websocket(*o);
  usage();
  return 2;
}
