#pragma once

#include <cstdint>
#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/fwd.hpp>

namespace mcpvisor::supervision {

/// Category of every error the supervision runtime produces.
constexpr caf::atom_value error_category = caf::atom("supervisor");

/// What went wrong in a supervision operation. The error's context carries a
/// human-readable text that names the child or supervisor involved.
enum class sup_errc : uint8_t {
  /// Reached its restart intensity, or was asked to stop: the reason a
  /// supervisor exits with when it escalates a failure to its parent.
  shutdown = 1,
  /// A child could not be started while its supervisor was starting.
  start_failed,
  /// A child spec is missing an id, a start function or a sane shutdown.
  invalid_spec,
  /// A child with that id already exists.
  duplicate_id,
  /// No child with that id.
  unknown_child,
  /// The supervisor is stopping its children and accepts no new work.
  shutting_down,
  /// restart_child on a child that is running.
  already_running,
  /// delete_child on a child that is running.
  still_running,
  /// The operation is not defined for this strategy (OTP's `simple_one_for_one`
  /// rules: no restart_child or delete_child, start_child takes arguments).
  wrong_strategy,
  /// A worker threw an exception; the context holds its text.
  crashed,
};

/// Short stable name of a code, e.g. "unknown_child".
const char* to_name(sup_errc code) noexcept;

/// Makes an error of this library's category with a text naming the culprit.
caf::error make_error(sup_errc code, std::string text);

/// True if `err` belongs to this library's category and has code `code`.
bool is(const caf::error& err, sup_errc code) noexcept;

/// Renders any CAF error as "category:code: context text" without relying on
/// an actor system's renderers. Used for exit reasons in snapshots and logs.
std::string describe(const caf::error& err);

/// Installs an exception handler that turns an exception thrown in a message
/// handler into an exit reason carrying the exception's text, instead of
/// CAF's default handler which prints to the console (stdout may be the MCP
/// channel) and loses the text; and drops unexpected messages silently
/// instead of printing them.
void keep_crash_text(caf::scheduled_actor* self);

/// True for the exit reasons OTP calls normal for a transient child: an empty
/// error, `exit_reason::normal`, `exit_reason::user_shutdown` and this
/// library's `shutdown` code.
bool is_normal_exit(const caf::error& reason) noexcept;

} // namespace mcpvisor::supervision
