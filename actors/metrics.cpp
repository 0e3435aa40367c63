#include "actors/metrics.hpp"

#include <cstdio>
#include <utility>

namespace mcpvisor::actors {

namespace {

constexpr std::array<std::string_view, metrics::outcomes> outcome_names{
  "result", "error", "refused", "rejected"};

constexpr std::array<std::string_view, metrics::levels> level_names{
  "session", "shard", "meta_shard", "service"};

void append_number(std::string& out, double x) {
  char buf[32];
  auto n = std::snprintf(buf, sizeof(buf), "%g", x);
  out.append(buf, static_cast<size_t>(n));
}

} // namespace

std::string_view metrics::name(outcome o) noexcept {
  return outcome_names[static_cast<size_t>(o)];
}

size_t metrics::method_index(std::string_view method) noexcept {
  for (size_t i = 0; i + 1 < methods.size(); ++i)
    if (methods[i] == method)
      return i;
  return methods.size() - 1;
}

void metrics::request(size_t method, outcome o,
                      std::chrono::nanoseconds took) noexcept {
  auto& m = by_method_[method < methods.size() ? method : methods.size() - 1];
  m.count[static_cast<size_t>(o)].fetch_add(1, std::memory_order_relaxed);
  auto ns = took.count() < 0 ? 0 : static_cast<uint64_t>(took.count());
  m.sum_ns.fetch_add(ns, std::memory_order_relaxed);
  double s = static_cast<double>(ns) * 1e-9;
  size_t b = 0;
  while (b < bounds.size() && s > bounds[b])
    ++b;
  m.bucket[b].fetch_add(1, std::memory_order_relaxed);
}

uint64_t metrics::restarts_total() const noexcept {
  uint64_t n = 0;
  for (auto& r : restarts_)
    n += r.load(std::memory_order_relaxed);
  return n;
}

void metrics::render(std::string& out) const {
  auto label = [&](size_t i) {
    out += "method=\"";
    out += methods[i];
    out += '"';
  };
  out += "# HELP mcpvisor_requests_total MCP requests answered, by method "
         "and outcome.\n# TYPE mcpvisor_requests_total counter\n";
  for (size_t i = 0; i < methods.size(); ++i)
    for (size_t o = 0; o < outcomes; ++o) {
      auto n = by_method_[i].count[o].load(std::memory_order_relaxed);
      if (n == 0)
        continue;
      out += "mcpvisor_requests_total{";
      label(i);
      out += ",outcome=\"";
      out += outcome_names[o];
      out += "\"} ";
      out += std::to_string(n);
      out += '\n';
    }
  out += "# HELP mcpvisor_request_duration_seconds Time from a request's "
         "arrival to its answer.\n# TYPE mcpvisor_request_duration_seconds "
         "histogram\n";
  for (size_t i = 0; i < methods.size(); ++i) {
    auto& m = by_method_[i];
    uint64_t total = 0;
    for (auto& b : m.bucket)
      total += b.load(std::memory_order_relaxed);
    if (total == 0)
      continue;
    uint64_t cumulative = 0;
    for (size_t b = 0; b <= bounds.size(); ++b) {
      cumulative += m.bucket[b].load(std::memory_order_relaxed);
      out += "mcpvisor_request_duration_seconds_bucket{";
      label(i);
      out += ",le=\"";
      if (b < bounds.size())
        append_number(out, bounds[b]);
      else
        out += "+Inf";
      out += "\"} ";
      out += std::to_string(cumulative);
      out += '\n';
    }
    out += "mcpvisor_request_duration_seconds_sum{";
    label(i);
    out += "} ";
    append_number(out, static_cast<double>(m.sum_ns.load(std::memory_order_relaxed)) * 1e-9);
    out += "\nmcpvisor_request_duration_seconds_count{";
    label(i);
    out += "} ";
    out += std::to_string(cumulative);
    out += '\n';
  }
  out += "# HELP mcpvisor_restarts_total Actors restarted by their "
         "supervisor, by tree level.\n# TYPE mcpvisor_restarts_total counter\n";
  for (size_t l = 0; l < levels; ++l) {
    out += "mcpvisor_restarts_total{level=\"";
    out += level_names[l];
    out += "\"} ";
    out += std::to_string(restarts_[l].load(std::memory_order_relaxed));
    out += '\n';
  }
  out += "# HELP mcpvisor_connections_total Connections accepted, and those "
         "closed at once (over the limit or while the andon cord is "
         "pulled).\n# TYPE mcpvisor_connections_total counter\n"
         "mcpvisor_connections_total{result=\"accepted\"} ";
  out += std::to_string(connections_accepted.load(std::memory_order_relaxed));
  out += "\nmcpvisor_connections_total{result=\"refused\"} ";
  out += std::to_string(connections_refused.load(std::memory_order_relaxed));
  out += '\n';
}

flight::flight(metrics& m, session_load session, uint32_t share)
  : m_(&m), session_(std::move(session)), share_(share) {
  m_->requests_in_flight.fetch_add(1, std::memory_order_relaxed);
  // a session's count moves k -> k+1 here and k+1 -> k in end(); either
  // changes the load only for k < share, which keeps the load equal to the
  // sum of min(count, share) over sessions at all times
  if (session_ == nullptr
      || session_->fetch_add(1, std::memory_order_relaxed) < share_)
    m_->shared_load.fetch_add(1, std::memory_order_relaxed);
}

flight::~flight() {
  end();
}

flight::flight(flight&& other) noexcept
  : m_(std::exchange(other.m_, nullptr)),
    session_(std::move(other.session_)),
    share_(other.share_) {
  // nop
}

flight& flight::operator=(flight&& other) noexcept {
  if (this != &other) {
    end();
    m_ = std::exchange(other.m_, nullptr);
    session_ = std::move(other.session_);
    share_ = other.share_;
  }
  return *this;
}

void flight::end() noexcept {
  if (m_ == nullptr)
    return;
  m_->requests_in_flight.fetch_sub(1, std::memory_order_relaxed);
  bool counted = session_ == nullptr
                 || session_->fetch_sub(1, std::memory_order_relaxed) - 1 < share_;
  if (counted)
    m_->shared_load.fetch_sub(1, std::memory_order_relaxed);
  m_ = nullptr;
}

} // namespace mcpvisor::actors
