#include "actors/cluster.hpp"

#include <charconv>
#include <map>
#include <set>
#include <stdexcept>

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/io/network/multiplexer.hpp>
#include <caf/openssl/manager.hpp>

#include "actors/log.hpp"
#include "actors/runtime.hpp"
#include "supervision/errors.hpp"

namespace {

/// Set on the thread of CAF's I/O multiplexer (see SSL_get_error below).
thread_local bool on_middleman_thread = false;

/// HOST:PORT of the other end of socket `fd`.
std::string peer_of(int fd) {
  sockaddr_storage sa{};
  socklen_t len = sizeof(sa);
  if (fd < 0 || ::getpeername(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0)
    return "unknown";
  char host[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (sa.ss_family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&sa);
    ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
    port = ntohs(in->sin_port);
  } else if (sa.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&sa);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
    port = ntohs(in6->sin6_port);
  }
  return std::string{host} + ":" + std::to_string(port);
}

} // namespace

// CAF 0.17's openssl module leaves the errors of a failed TLS session in
// the OpenSSL error queue of its I/O thread (libcaf_openssl session.cpp,
// handle_ssl_result). The next healthy session on that thread that only
// waits for more data then reads as failed, and its connection is dropped:
// one refused intruder cut a node off from all its peers. This definition,
// which the dynamic linker binds ahead of libssl's, clears the queue on
// that thread once a failure has been told apart, as the module should.
// It also says why a peer was refused (a certificate of another CA, none,
// not TLS at all), which the module does not.
extern "C" int SSL_get_error(const SSL* ssl, int ret) {
  using real_fn = int (*)(const SSL*, int);
  static const auto real = reinterpret_cast<real_fn>(dlsym(RTLD_NEXT, "SSL_get_error"));
  int err = real(ssl, ret);
  if (!on_middleman_thread || (err != SSL_ERROR_SSL && err != SSL_ERROR_SYSCALL))
    return err;
  // at most 20 lines a second: a flood of garbage does not flood the log
  thread_local auto window = std::chrono::steady_clock::now();
  thread_local int logged = 0;
  auto now = std::chrono::steady_clock::now();
  if (now - window >= std::chrono::seconds{1}) {
    window = now;
    logged = 0;
  }
  if (err == SSL_ERROR_SSL && logged++ < 20)
    if (auto code = ERR_peek_error()) {
      char why[256];
      ERR_error_string_n(code, why, sizeof(why));
      mcpvisor::log::warn("cluster TLS session refused",
                          {{"peer", peer_of(SSL_get_fd(ssl))}, {"reason", why}});
    }
  ERR_clear_error();
  return err;
}

namespace mcpvisor::actors {

bool split_host_port(const std::string& s, std::string& host, uint16_t& port) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size())
    return false;
  host = s.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  unsigned p = 0;
  auto tail = std::string_view{s}.substr(colon + 1);
  auto [end, ec] = std::from_chars(tail.data(), tail.data() + tail.size(), p);
  if (ec != std::errc{} || end != tail.data() + tail.size() || p > 65535)
    return false;
  port = static_cast<uint16_t>(p);
  return true;
}

namespace {

using join_atom = caf::atom_constant<caf::atom("cljoin")>;
using stats_atom = caf::atom_constant<caf::atom("clstats")>;
using tick_atom = caf::atom_constant<caf::atom("cltick")>;

/// Members are told every this often what this node holds, and seeds that
/// are not members are tried again.
constexpr auto tick_every = std::chrono::seconds{1};

class membership_actor : public caf::event_based_actor {
public:
  membership_actor(caf::actor_config& cfg, runtime& rt, cluster_config c,
                   cluster_view& view)
    : caf::event_based_actor(cfg), rt_(rt), cfg_(std::move(c)), view_(view),
      name_(cfg_.name()) {
    // nop
  }

  const char* name() const override {
    return "cluster";
  }

  caf::behavior make_behavior() override {
    supervision::keep_crash_text(this);
    system().middleman().backend().post([] { on_middleman_thread = true; });
    set_down_handler([this](caf::down_msg& dm) { on_down(dm); });
    std::string host;
    uint16_t port = 0;
    if (!split_host_port(cfg_.listen, host, port))
      throw std::runtime_error("--cluster-listen must be HOST:PORT, not " + cfg_.listen);
    auto& self_entry = members_[name_];
    self_entry.address = cfg_.listen;
    self_entry.up = true;
    self_entry.since = std::chrono::system_clock::now();
    publish_view();
    request(mm(), caf::infinite, caf::publish_atom::value, port,
            caf::actor_cast<caf::strong_actor_ptr>(this), std::set<std::string>{}, host, true)
      .then(
        [this](uint16_t bound) {
          log::info("cluster port open",
                    {{"node", name_}, {"port", std::to_string(bound)}});
          seek();
        },
        [this](caf::error& err) {
          // the root restarts it, and gives up (the process exits) if the
          // port stays closed
          quit(std::move(err));
        });
    delayed_send(this, tick_every, tick_atom::value);
    return {
      [this](join_atom, std::string& who, std::string& address, caf::actor& peer)
        -> caf::result<std::vector<std::string>, std::vector<std::string>> {
        if (who == name_)
          return caf::make_error(caf::sec::invalid_argument,
                                 "a node named " + who + " is already a member");
        add(who, address, peer);
        auto [names, addresses] = member_lists();
        return caf::result<std::vector<std::string>, std::vector<std::string>>{
          std::move(names), std::move(addresses)};
      },
      [this](stats_atom, std::string& who, uint64_t sessions, bool pulled) {
        auto it = members_.find(who);
        if (it == members_.end() || !it->second.up)
          return;
        it->second.sessions = sessions;
        it->second.andon_pulled = pulled;
      },
      [this](tick_atom) {
        tick();
        delayed_send(this, tick_every, tick_atom::value);
      },
    };
  }

private:
  struct entry {
    std::string address;
    caf::actor peer;
    bool up = false;
    uint64_t sessions = 0;
    bool andon_pulled = false;
    std::chrono::system_clock::time_point since;
  };

  const caf::io::middleman_actor& mm() {
    return system().openssl_manager().actor_handle();
  }

  /// Up members' names and addresses, this node first.
  std::pair<std::vector<std::string>, std::vector<std::string>> member_lists() const {
    std::vector<std::string> names{name_};
    std::vector<std::string> addresses{cfg_.listen};
    for (auto& [n, e] : members_)
      if (n != name_ && e.up) {
        names.push_back(n);
        addresses.push_back(e.address);
      }
    return {std::move(names), std::move(addresses)};
  }

  void add(const std::string& who, const std::string& address, const caf::actor& peer) {
    if (!peer)
      return;
    auto& e = members_[who];
    if (e.up && e.peer == peer)
      return;
    if (e.peer)
      demonitor(e.peer); // the node restarted before its old self was seen down
    e.peer = peer;
    e.address = address;
    e.up = true;
    e.since = std::chrono::system_clock::now();
    monitor(peer);
    failing_.erase(address);
    log::info("cluster member up", {{"node", name_}, {"member", who}, {"address", address}});
    publish_view();
  }

  void on_down(const caf::down_msg& dm) {
    for (auto& [who, e] : members_)
      if (e.peer && e.peer.address() == dm.source) {
        e.peer = caf::actor{};
        e.up = false;
        e.since = std::chrono::system_clock::now();
        log::warn("cluster member down",
                  {{"node", name_}, {"member", who}, {"reason", supervision::describe(dm.reason)}});
        publish_view();
        return;
      }
  }

  /// Connects to the seeds and members that are not up: the first time,
  /// and again after they went down (a node that restarted, or came back
  /// after its network was cut, is up again within a second).
  void seek() {
    auto up = [this](const std::string& address) {
      for (auto& [who, e] : members_)
        if (e.up && e.address == address)
          return true;
      return false;
    };
    for (auto& seed : cfg_.join)
      if (seed != cfg_.listen && !up(seed))
        connect(seed);
    for (auto& [who, e] : members_)
      if (who != name_ && !e.up && !up(e.address))
        connect(e.address);
  }

  /// Connects to the node at `address` and joins it; what it answers names
  /// the members this node connects to next.
  void connect(const std::string& address) {
    std::string host;
    uint16_t port = 0;
    if (!split_host_port(address, host, port) || !connecting_.insert(address).second)
      return;
    auto wait = cfg_.timeout * 2;
    request(mm(), wait, caf::connect_atom::value, host, port)
      .then(
        [this, address, wait](caf::node_id&, caf::strong_actor_ptr& ptr,
                              std::set<std::string>&) {
          auto peer = caf::actor_cast<caf::actor>(ptr);
          if (!peer) {
            connecting_.erase(address);
            refused(address, "nothing is published there");
            return;
          }
          request(peer, wait, join_atom::value, name_, cfg_.listen,
                  caf::actor_cast<caf::actor>(this))
            .then(
              [this, address, peer](std::vector<std::string>& names,
                                    std::vector<std::string>& addresses) {
                connecting_.erase(address);
                if (names.empty() || names.size() != addresses.size())
                  return;
                add(names[0], addresses[0], peer);
                for (size_t i = 1; i < names.size(); ++i) {
                  auto it = members_.find(names[i]);
                  if (names[i] != name_ && (it == members_.end() || !it->second.up))
                    connect(addresses[i]);
                }
              },
              [this, address](caf::error& err) {
                connecting_.erase(address);
                refused(address, to_string(err));
              });
        },
        [this, address](caf::error& err) {
          connecting_.erase(address);
          refused(address, to_string(err));
        });
  }

  /// Logs a node that cannot be joined, once until it can be.
  void refused(const std::string& address, const std::string& why) {
    if (failing_.insert(address).second)
      log::warn("cluster node not reachable",
                {{"node", name_}, {"address", address}, {"reason", why}});
  }

  void tick() {
    auto sessions = static_cast<uint64_t>(rt_.registry().size());
    bool pulled = rt_.andon().pulled();
    auto& me = members_[name_];
    me.sessions = sessions;
    me.andon_pulled = pulled;
    for (auto& [who, e] : members_)
      if (who != name_ && e.up)
        send(e.peer, stats_atom::value, name_, sessions, pulled);
    seek();
    publish_view();
  }

  void publish_view() {
    std::vector<cluster_member> out;
    for (auto& [who, e] : members_) {
      cluster_member m;
      m.name = who;
      m.address = e.address;
      m.state = e.up ? "up" : "down";
      m.self = who == name_;
      m.sessions = e.sessions;
      m.andon_pulled = e.andon_pulled;
      m.since = e.since;
      out.push_back(std::move(m));
    }
    view_.set(std::move(out));
  }

  runtime& rt_;
  cluster_config cfg_;
  cluster_view& view_;
  std::string name_;
  std::map<std::string, entry> members_;
  /// Addresses being connected to, and those whose failure was logged.
  std::set<std::string> connecting_;
  std::set<std::string> failing_;
};

} // namespace

supervision::child_spec cluster_child(runtime& rt, const cluster_config& cfg,
                                      cluster_view& view) {
  supervision::child_spec c;
  c.id = "cluster";
  c.start = [&rt, cfg, &view](const supervision::start_context& ctx)
    -> caf::expected<caf::actor> {
    return ctx.system.spawn<membership_actor>(rt, cfg, view);
  };
  return c;
}

} // namespace mcpvisor::actors
