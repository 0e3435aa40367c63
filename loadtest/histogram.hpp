#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace mcpvisor::load {

/// Latencies in nanoseconds in log-linear buckets (about 0.2% precision, up
/// to ~18 minutes), so that percentiles need no sample list and histograms
/// from many threads merge by adding counts.
class histogram {
public:
  histogram() : counts_(buckets, 0) {
    // nop
  }

  void record(uint64_t ns) {
    ++counts_[index(ns)];
    ++total_;
    max_ = std::max(max_, ns);
  }

  void merge(const histogram& other) {
    for (size_t i = 0; i < buckets; ++i)
      counts_[i] += other.counts_[i];
    total_ += other.total_;
    max_ = std::max(max_, other.max_);
  }

  uint64_t count() const noexcept {
    return total_;
  }

  uint64_t max() const noexcept {
    return max_;
  }

  /// The value at quantile `q` (0..1), in ns (the bucket's upper edge).
  uint64_t quantile(double q) const {
    if (total_ == 0)
      return 0;
    auto target = static_cast<uint64_t>(q * static_cast<double>(total_ - 1)) + 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < buckets; ++i) {
      seen += counts_[i];
      if (seen >= target)
        return std::min(upper(i), max_);
    }
    return max_;
  }

private:
  static constexpr size_t sub = 512;
  static constexpr size_t buckets = 2 * sub + 40 * sub;

  static size_t index(uint64_t v) {
    if (v < 2 * sub)
      return static_cast<size_t>(v);
    int e = 63 - __builtin_clzll(v) - 9; // v >> e is in [512, 1024)
    auto i = 2 * sub + static_cast<size_t>(e - 1) * sub
             + static_cast<size_t>((v >> e) - sub);
    return std::min(i, buckets - 1);
  }

  static uint64_t upper(size_t i) {
    if (i < 2 * sub)
      return i;
    auto e = (i - 2 * sub) / sub + 1;
    auto m = (i - 2 * sub) % sub + sub;
    return ((m + 1) << e) - 1;
  }

  std::vector<uint64_t> counts_;
  uint64_t total_ = 0;
  uint64_t max_ = 0;
};

} // namespace mcpvisor::load
