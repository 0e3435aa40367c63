#include "actors/session.hpp"

#include <stdexcept>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>

#include "actors/runtime.hpp"
#include "supervision/errors.hpp"

namespace mcpvisor::actors {

namespace {

class session_actor : public caf::event_based_actor {
public:
  session_actor(caf::actor_config& cfg, runtime& rt, session_id id,
                supervision::mailbox_gauge* gauge)
    : caf::event_based_actor(cfg), rt_(rt), id_(id), gauge_(gauge) {
    // nop
  }

  const char* name() const override {
    return "session";
  }

  caf::behavior make_behavior() override {
    supervision::keep_crash_text(this);
    return {
      [this](ping_atom) {
        observe();
        return pong_atom::value;
      },
      [this](crash_atom, const std::string& why) {
        observe();
        throw std::runtime_error(why);
      },
      [this](close_atom) {
        observe();
        quit();
      },
    };
  }

  bool cleanup(caf::error&& reason, caf::execution_unit* host) override {
    // A session that ended normally is gone for good; after a crash or a
    // kill its shard decides, and a restart replaces the routing entry.
    if (supervision::is_normal_exit(reason))
      rt_.registry().slot_of(id_).erase_if(id_, address());
    return caf::event_based_actor::cleanup(std::move(reason), host);
  }

private:
  void observe() {
    if (gauge_ != nullptr)
      gauge_->publish(mailbox().size());
  }

  runtime& rt_;
  session_id id_;
  supervision::mailbox_gauge* gauge_;
};

} // namespace

caf::expected<caf::actor> spawn_session(runtime& rt, const session_id& id,
                                        supervision::mailbox_gauge* gauge) {
  auto handle = rt.system().spawn<session_actor, caf::lazy_init>(rt, id, gauge);
  rt.registry().slot_of(id).put(id, handle);
  return handle;
}

} // namespace mcpvisor::actors
