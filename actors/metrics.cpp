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

uint64_t metrics::requests_total() const noexcept {
  uint64_t n = 0;
  for (auto& m : by_method_)
    for (auto& c : m.count)
      n += c.load(std::memory_order_relaxed);
  return n;
}

void prometheus_text::family(std::string_view name, std::string_view type,
                             std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  out_ += help;
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void prometheus_text::start(std::string_view name, std::string_view labels) {
  out_ += name;
  if (!labels.empty()) {
    out_ += '{';
    out_ += labels;
    out_ += '}';
  }
  out_ += ' ';
}

void prometheus_text::sample(std::string_view name, std::string_view labels,
                             uint64_t value) {
  start(name, labels);
  out_ += std::to_string(value);
  out_ += '\n';
}

void prometheus_text::sample(std::string_view name, std::string_view labels,
                             double value) {
  start(name, labels);
  append_number(out_, value);
  out_ += '\n';
}

void metrics::render(std::string& out) const {
  prometheus_text p{out};
  auto method = [](size_t i) { return "method=\"" + std::string{methods[i]} + '"'; };
  p.family("mcpvisor_requests_total", "counter",
           "MCP requests answered, by method and outcome.");
  for (size_t i = 0; i < methods.size(); ++i)
    for (size_t o = 0; o < outcomes; ++o)
      if (auto n = by_method_[i].count[o].load(std::memory_order_relaxed))
        p.sample("mcpvisor_requests_total",
                 method(i) + ",outcome=\"" + std::string{outcome_names[o]} + '"', n);
  p.family("mcpvisor_request_duration_seconds", "histogram",
           "Time from a request's arrival to its answer.");
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
      std::string le;
      if (b < bounds.size())
        append_number(le, bounds[b]);
      else
        le = "+Inf";
      p.sample("mcpvisor_request_duration_seconds_bucket",
               method(i) + ",le=\"" + le + '"', cumulative);
    }
    p.sample("mcpvisor_request_duration_seconds_sum", method(i),
             static_cast<double>(m.sum_ns.load(std::memory_order_relaxed)) * 1e-9);
    p.sample("mcpvisor_request_duration_seconds_count", method(i), cumulative);
  }
  p.family("mcpvisor_restarts_total", "counter",
           "Actors restarted by their supervisor, by tree level.");
  for (size_t l = 0; l < levels; ++l)
    p.sample("mcpvisor_restarts_total", "level=\"" + std::string{level_names[l]} + '"',
             restarts_[l].load(std::memory_order_relaxed));
  p.family("mcpvisor_connections_total", "counter",
           "Connections accepted, and those closed at once (over the limit or "
           "while the andon cord is pulled).");
  p.sample("mcpvisor_connections_total", "result=\"accepted\"",
           connections_accepted.load(std::memory_order_relaxed));
  p.sample("mcpvisor_connections_total", "result=\"refused\"",
           connections_refused.load(std::memory_order_relaxed));
  p.single("mcpvisor_tasks_run_again_total", "counter",
           "Tasks run again from their request after the actor running them "
           "crashed.",
           tasks_run_again.load(std::memory_order_relaxed));
  p.single("mcpvisor_stateless_run_again_total", "counter",
           "Read-only or idempotent 2026-07-28 requests served again after "
           "the actor serving them crashed.",
           stateless_run_again.load(std::memory_order_relaxed));
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
