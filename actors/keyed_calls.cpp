#include "actors/keyed_calls.hpp"

#include "protocol/tasks.hpp"

namespace mcpvisor::actors {

keyed_start start_keyed(runtime& rt, const call_ptr& call, reply& answer) {
  using verdict = protocol::idempotency_table::verdict;
  auto& store = rt.idempotency();
  protocol::idempotency_table::seen seen;
  {
    std::lock_guard<std::mutex> guard{store.mtx};
    seen = store.table.begin(call->idempotency_key(), call->idempotency_digest(),
                             protocol::unix_ms());
  }
  switch (seen.v) {
    case verdict::run:
      if (!call->as_task())
        call->on_round_end([&rt, srv = rt.server()](protocol::pending_call& c) {
          auto a = protocol::round_answer(*srv, c);
          auto& st = rt.idempotency();
          std::lock_guard<std::mutex> guard{st.mtx};
          if (a)
            st.table.finish(c.idempotency_key(), std::move(*a), protocol::unix_ms());
          else if (c.stateless() || c.crashed())
            // a 2026-07-28 round that asks for input ends the request (the
            // retry that brings the answers runs under the same key); a
            // crashed handler gave no answer
            st.table.forget(c.idempotency_key());
        });
      return keyed_start::run;
    case verdict::wait:
      return keyed_start::wait;
    case verdict::replay:
      answer.json = protocol::answer_again(seen.answer, call->id().to_json());
      answer.kind = answer.json.find(R"("error":)") == std::string::npos
                      ? protocol::message_kind::result
                      : protocol::message_kind::error;
      return keyed_start::answered;
    case verdict::conflict:
      answer = reply::error(call->id(), protocol::errc::invalid_params,
                            "this idempotency key was used for a different call "
                            "(another tool or other arguments)");
      return keyed_start::answered;
    case verdict::full:
      break;
  }
  answer = reply::error(call->id(), protocol::errc::internal_error,
                        "too many idempotency keys are in use; retry later");
  return keyed_start::answered;
}

bool may_wait(inbound& in, const call_ptr& call, reply& answer) {
  if (!in.keyed_wait_until)
    in.keyed_wait_until = call->deadline();
  if (std::chrono::steady_clock::now() < *in.keyed_wait_until)
    return true;
  answer = reply::error(call->id(), protocol::errc::internal_error,
                        "the run with this idempotency key is still in "
                        "progress; retry later");
  return false;
}

void finish_keyed(runtime& rt, const call_ptr& call, std::string answer) {
  auto& store = rt.idempotency();
  std::lock_guard<std::mutex> guard{store.mtx};
  store.table.finish(call->idempotency_key(), std::move(answer), protocol::unix_ms());
}

void forget_keyed(runtime& rt, const std::string& key) {
  auto& store = rt.idempotency();
  std::lock_guard<std::mutex> guard{store.mtx};
  store.table.forget(key);
}

} // namespace mcpvisor::actors
