#pragma once

#include <cstddef>
#include <string>

namespace mcpvisor::transports {

/// Cuts a byte stream into newline-delimited JSON-RPC messages (stdio, both
/// as a server and towards upstream processes). Empty lines and a lone
/// "\r" are skipped. A line longer than `max` bytes is not kept: the caller
/// hears of it once, as soon as it is over the limit, and the rest of it,
/// up to its newline, is dropped.
class line_splitter {
public:
  explicit line_splitter(size_t max) : max_(max) {
    // nop
  }

  /// Feeds `n` bytes: `on_line(std::string)` for each complete line,
  /// `on_too_long()` for each line over the limit.
  template <class OnLine, class OnTooLong>
  void feed(const char* buf, size_t n, OnLine&& on_line, OnTooLong&& on_too_long) {
    size_t start = 0;
    for (size_t i = 0; i < n; ++i) {
      if (buf[i] != '\n')
        continue;
      if (!skipping_) {
        pending_.append(buf + start, i - start);
        if (pending_.size() > max_)
          on_too_long();
        else if (!pending_.empty() && pending_ != "\r")
          on_line(std::move(pending_));
      }
      pending_.clear();
      skipping_ = false;
      start = i + 1;
    }
    if (skipping_)
      return;
    pending_.append(buf + start, n - start);
    if (pending_.size() > max_) {
      pending_.clear();
      skipping_ = true;
      on_too_long();
    }
  }

  /// What is left after the last newline (a last line without one).
  std::string rest() {
    if (skipping_ || pending_ == "\r")
      return {};
    return std::move(pending_);
  }

private:
  size_t max_;
  std::string pending_;
  bool skipping_ = false;
};

} // namespace mcpvisor::transports
