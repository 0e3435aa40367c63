#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "supervision/client.hpp"
#include "supervision/errors.hpp"
#include "supervision/supervisor.hpp"

namespace mcpvisor::test {

namespace sup = mcpvisor::supervision;
using namespace std::chrono_literals;

using crash_atom = caf::atom_constant<caf::atom("crash")>;
using stop_me_atom = caf::atom_constant<caf::atom("stopme")>;
using ping_atom = caf::atom_constant<caf::atom("ping")>;
using pong_atom = caf::atom_constant<caf::atom("pong")>;
using stopped_atom = caf::atom_constant<caf::atom("stopped")>;
using asked_atom = caf::atom_constant<caf::atom("asked")>;
using go_atom = caf::atom_constant<caf::atom("go")>;

/// Bounded wait used by every test that waits for something to happen.
constexpr auto wait_limit = 5s;

/// How a test worker reacts to a request to stop.
enum class on_stop_request {
  comply,     // default CAF behaviour: exit at once
  ignore,     // trap it and keep running (needs a kill)
  wait_for_go // report "asked", exit only after a go message
};

/// Records the order in which things happened, from any thread.
class journal {
public:
  void add(std::string x) {
    std::lock_guard<std::mutex> g{mtx_};
    items_.push_back(std::move(x));
  }
  std::vector<std::string> items() const {
    std::lock_guard<std::mutex> g{mtx_};
    return items_;
  }

private:
  mutable std::mutex mtx_;
  std::vector<std::string> items_;
};

/// An actor system plus two scoped actors: `events` observes supervisors,
/// `self` makes requests. Kills every supervisor it started at the end.
struct actor_fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor events{sys};
  caf::scoped_actor reports{sys};
  caf::scoped_actor self{sys};
  std::vector<caf::actor> started;

  ~actor_fixture();

  /// A worker that answers ping, throws on crash, exits normally on stop_me
  /// and reports its termination to `reports`.
  sup::child_spec worker(std::string id,
                         sup::restart_type rt = sup::restart_type::permanent,
                         on_stop_request how = on_stop_request::comply,
                         sup::shutdown_policy sd
                         = sup::shutdown_policy::timeout(2s));

  /// Spec with observer set to `events`.
  sup::supervisor_spec spec(std::string id, sup::strategy how,
                            std::vector<sup::child_spec> children,
                            int intensity = 3,
                            std::chrono::milliseconds period = 5s);

  /// start_supervisor, remembered for teardown.
  caf::expected<caf::actor> start(sup::supervisor_spec s);

  /// Waits for the first event that matches; skips others.
  std::optional<sup::supervisor_event>
  wait_event(std::function<bool(const sup::supervisor_event&)> pred);

  /// Waits for an event of `kind` about child `child` of supervisor `sup_id`.
  bool saw(sup::event_kind kind, const std::string& sup_id,
           const std::string& child);

  /// Waits for the next (stopped_atom, id, reason text) report of a worker.
  std::optional<std::pair<std::string, std::string>> next_stop_report();

  /// Handle of child `id` of `sup`, null if not running or unknown.
  caf::actor child_handle(const caf::actor& sup, const std::string& id);

  /// Waits until `id` under `sup` runs with a handle other than `old`.
  caf::actor wait_replaced(const caf::actor& sup, const std::string& id,
                           const caf::actor& old);

  /// Makes `target` throw `what` in its handler.
  void crash(const caf::actor& target, const std::string& what = "boom");

  /// Waits for `target` to exit and returns its exit reason.
  caf::error wait_down(const caf::actor& target);
};

} // namespace mcpvisor::test
