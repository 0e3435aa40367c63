#include "supervision/errors.hpp"

#include <exception>
#include <stdexcept>

#include <caf/exit_reason.hpp>
#include <caf/make_message.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/sec.hpp>

namespace mcpvisor::supervision {

const char* to_name(sup_errc code) noexcept {
  switch (code) {
    case sup_errc::shutdown: return "shutdown";
    case sup_errc::start_failed: return "start_failed";
    case sup_errc::invalid_spec: return "invalid_spec";
    case sup_errc::duplicate_id: return "duplicate_id";
    case sup_errc::unknown_child: return "unknown_child";
    case sup_errc::shutting_down: return "shutting_down";
    case sup_errc::already_running: return "already_running";
    case sup_errc::still_running: return "still_running";
    case sup_errc::wrong_strategy: return "wrong_strategy";
    case sup_errc::crashed: return "crashed";
  }
  return "unknown";
}

caf::error make_error(sup_errc code, std::string text) {
  return caf::error{static_cast<uint8_t>(code), error_category,
                    caf::make_message(std::move(text))};
}

bool is(const caf::error& err, sup_errc code) noexcept {
  return err && err.category() == error_category
         && err.code() == static_cast<uint8_t>(code);
}

namespace {

std::string context_text(const caf::error& err) {
  std::string out;
  const auto& ctx = err.context();
  for (size_t i = 0; i < ctx.size(); ++i) {
    if (ctx.match_element<std::string>(i)) {
      if (!out.empty())
        out += ": ";
      out += ctx.get_as<std::string>(i);
    }
  }
  return out;
}

} // namespace

std::string describe(const caf::error& err) {
  if (!err)
    return "normal";
  std::string out;
  if (err.category() == error_category) {
    out = "supervisor:";
    out += to_name(static_cast<sup_errc>(err.code()));
  } else if (err.category() == caf::atom("exit")) {
    out = "exit:";
    out += caf::to_string(static_cast<caf::exit_reason>(err.code()));
  } else if (err.category() == caf::atom("system")) {
    out = "system:";
    out += caf::to_string(static_cast<caf::sec>(err.code()));
  } else {
    out = caf::to_string(err.category());
    out += ':';
    out += std::to_string(err.code());
  }
  if (auto text = context_text(err); !text.empty()) {
    out += ": ";
    out += text;
  }
  return out;
}

void keep_crash_text(caf::scheduled_actor* self) {
  self->set_exception_handler(
    [](caf::scheduled_actor*, std::exception_ptr& eptr) -> caf::error {
      try {
        std::rethrow_exception(eptr);
      } catch (const std::exception& e) {
        return make_error(sup_errc::crashed, e.what());
      } catch (...) {
        return make_error(sup_errc::crashed, "unknown exception");
      }
    });
  // CAF's default for a message nobody handles prints it to stdout, which
  // may be the MCP channel: drop it instead (the sender of a request gets
  // an error)
  self->set_default_handler(caf::drop);
}

bool is_normal_exit(const caf::error& reason) noexcept {
  return !reason || reason == caf::exit_reason::normal
         || reason == caf::exit_reason::user_shutdown
         || is(reason, sup_errc::shutdown);
}

} // namespace mcpvisor::supervision
