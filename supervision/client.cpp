#include "supervision/client.hpp"

#include <caf/scoped_actor.hpp>

#include "supervision/supervisor.hpp"

namespace mcpvisor::supervision::client {

namespace {

/// Sends a request and waits for an answer of type T (or an error).
template <class T, class... Ts>
caf::expected<T> ask(caf::scoped_actor& self, const caf::actor& sup,
                     milliseconds timeout, Ts&&... xs) {
  caf::expected<T> result{caf::sec::request_timeout};
  self->request(sup, timeout, std::forward<Ts>(xs)...)
    .receive([&](T& x) { result = std::move(x); },
             [&](caf::error& err) { result = std::move(err); });
  return result;
}

caf::error to_error(caf::expected<ok_atom> x) {
  return x ? caf::error{} : std::move(x.error());
}

} // namespace

caf::expected<caf::actor> start_child(caf::scoped_actor& self,
                                      const caf::actor& sup, child_spec spec,
                                      milliseconds timeout) {
  return ask<caf::actor>(self, sup, timeout, start_child_atom::value,
                         std::move(spec));
}

caf::expected<caf::actor> start_child(caf::scoped_actor& self,
                                      const caf::actor& sup, std::string id,
                                      caf::message args, milliseconds timeout) {
  return ask<caf::actor>(self, sup, timeout, start_child_atom::value,
                         std::move(id), std::move(args));
}

caf::error terminate_child(caf::scoped_actor& self, const caf::actor& sup,
                           std::string id, milliseconds timeout) {
  return to_error(ask<ok_atom>(self, sup, timeout,
                               terminate_child_atom::value, std::move(id)));
}

caf::expected<caf::actor> restart_child(caf::scoped_actor& self,
                                        const caf::actor& sup, std::string id,
                                        milliseconds timeout) {
  return ask<caf::actor>(self, sup, timeout, restart_child_atom::value,
                         std::move(id));
}

caf::error delete_child(caf::scoped_actor& self, const caf::actor& sup,
                        std::string id, milliseconds timeout) {
  return to_error(
    ask<ok_atom>(self, sup, timeout, delete_child_atom::value, std::move(id)));
}

caf::expected<std::vector<child_info>>
which_children(caf::scoped_actor& self, const caf::actor& sup,
               milliseconds timeout) {
  return ask<std::vector<child_info>>(self, sup, timeout,
                                      which_children_atom::value);
}

caf::expected<child_counts> count_children(caf::scoped_actor& self,
                                           const caf::actor& sup,
                                           milliseconds timeout) {
  return ask<child_counts>(self, sup, timeout, count_children_atom::value);
}

caf::expected<tree_node> snapshot(caf::scoped_actor& self,
                                  const caf::actor& sup, snapshot_options opts,
                                  milliseconds timeout) {
  return ask<tree_node>(self, sup, timeout, snapshot_atom::value, opts);
}

} // namespace mcpvisor::supervision::client
