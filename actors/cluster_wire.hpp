#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>

/// What crosses the cluster port between mcpvisor nodes (see cluster.hpp).
/// Every type is registered on both ends (add_cluster_types); a field added
/// here changes the wire, so the application identifier in node.cpp
/// changes with it.
namespace mcpvisor::actors::wire {

/// A member as it introduces itself.
struct member_card {
  std::string name;
  std::string address;
  uint64_t incarnation = 0;
  /// cluster_member::state_t
  uint8_t state = 0;
  uint64_t sessions = 0;
  bool andon_pulled = false;
  /// It sees at least half of the members it knows (cluster_members::quorum).
  bool quorum = true;
  caf::actor membership;
  caf::actor router;
  caf::actor replicator;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_card& x) {
  return f(caf::meta::type_name("mcpvisor_member_card"), x.name, x.address,
           x.incarnation, x.state, x.sessions, x.andon_pulled, x.quorum, x.membership,
           x.router, x.replicator);
}

/// What a forwarded exchange carries.
enum class fwd_kind : uint8_t {
  /// An initialize the receiving node creates the session for.
  initialize,
  /// A JSON-RPC message for a session.
  message,
  /// A GET stream of a session.
  stream,
  /// DELETE of a session.
  close,
  /// A stateless 2026-07-28 request about a task the receiving node holds.
  stateless,
};

/// A client's message for a session that another node owns.
struct fwd_request {
  /// Names the exchange at the node that sent it.
  uint64_t key = 0;
  /// Nodes it passed so far: a message that keeps moving is refused.
  uint8_t hops = 0;
  uint8_t kind = 0;
  /// It was sent to a node that died before it answered: a request runs
  /// again only if it is read-only or idempotent.
  bool orphan = false;
  std::string session;
  /// The JSON-RPC message as sent.
  std::string body;
  std::string last_event_id;
  /// The access token's subject, scopes and client, when the endpoint
  /// checks tokens (the token itself stays on the node that checked it).
  std::string subject;
  std::string scopes;
  std::string client;
  /// Where answers go: the router of the node that sent it.
  caf::actor reply_to;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fwd_request& x) {
  return f(caf::meta::type_name("mcpvisor_fwd_request"), x.key, x.hops, x.kind,
           x.orphan, x.session, x.body, x.last_event_id, x.subject, x.scopes, x.client,
           x.reply_to);
}

/// What a channel does, as one message back to the node that holds the
/// client's connection.
enum class fwd_op : uint8_t { send, open, event, close };

struct fwd_reply {
  uint64_t key = 0;
  uint8_t op = 0;
  /// protocol::message_kind
  uint8_t kind = 0;
  int32_t status = 200;
  int32_t retry_ms = 0;
  /// send, event: the JSON.
  std::string text;
  /// send: the session id to announce; open: the priming event id; event:
  /// the event id.
  std::string id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fwd_reply& x) {
  return f(caf::meta::type_name("mcpvisor_fwd_reply"), x.key, x.op, x.kind,
           x.status, x.retry_ms, x.text, x.id);
}

/// A session id as three words (session_id::from_parts).
struct session_ref {
  uint64_t hi = 0;
  uint64_t lo = 0;
  uint64_t origin = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_ref& x) {
  return f(caf::meta::type_name("mcpvisor_session_ref"), x.hi, x.lo, x.origin);
}

/// A session's checkpoint, or (empty with `erase`) its end.
struct replica {
  session_ref id;
  std::string checkpoint;
  bool erase = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, replica& x) {
  return f(caf::meta::type_name("mcpvisor_replica"), x.id, x.checkpoint, x.erase);
}

/// Replicas for one buddy; answered with (replica_ack_atom, seq).
struct replica_batch {
  uint64_t seq = 0;
  std::vector<replica> entries;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, replica_batch& x) {
  return f(caf::meta::type_name("mcpvisor_replica_batch"), x.seq, x.entries);
}

using join_atom = caf::atom_constant<caf::atom("cljoin")>;
using stats_atom = caf::atom_constant<caf::atom("clstats")>;
using leave_atom = caf::atom_constant<caf::atom("clleave")>;
using gone_atom = caf::atom_constant<caf::atom("clgone")>;
using move_atom = caf::atom_constant<caf::atom("clmove")>;
using replica_ack_atom = caf::atom_constant<caf::atom("clrepack")>;
using tree_atom = caf::atom_constant<caf::atom("cltree")>;
/// To a member that comes back as an incarnation the cluster saw go down.
using fence_atom = caf::atom_constant<caf::atom("clfence")>;
/// Local: a member is down (to the router).
using member_down_atom = caf::atom_constant<caf::atom("cldown")>;

} // namespace mcpvisor::actors::wire
