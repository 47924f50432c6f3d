// Test helper: power cuts, simulated. An ImageFile that keeps what was flushed apart from what
// was written since, and at a "crash" keeps a random subset of the unflushed writes (in any
// order); the cut can be asked for at the n-th write or flush.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <random>
#include <span>
#include <vector>

#include "devices/blk/qcow2/image_file.h"

namespace bulwark::qcow2::test {

class PowerCutFile final : public ImageFile {
 public:
  explicit PowerCutFile(std::vector<uint8_t> bytes) : durable_(bytes), current_(std::move(bytes)) {}
  uint64_t size() const override { return current_.size(); }
  Status read_at(uint64_t offset, std::span<uint8_t> data) override {
    if (offset + data.size() > current_.size()) return Error("read past the end");
    std::copy_n(current_.begin() + offset, data.size(), data.begin());
    return ok_status();
  }
  Status write_at(uint64_t offset, std::span<const uint8_t> data) override {
    event();
    apply(current_, offset, data);
    pending_.push_back({offset, std::vector<uint8_t>(data.begin(), data.end())});
    return ok_status();
  }
  Status flush() override {
    event();
    durable_ = current_;
    pending_.clear();
    ++flushes_;
    return ok_status();
  }
  // The file after a power cut: what was flushed, and some of the writes since, in any order.
  std::vector<uint8_t> crash(std::mt19937& rng) const {
    std::vector<uint8_t> out = durable_;
    std::vector<size_t> order(pending_.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), rng);
    for (size_t i : order)
      if (rng() % 2) apply(out, pending_[i].offset, pending_[i].bytes);
    return out;
  }
  size_t flushes() const { return flushes_; }
  // At the `at`-th write or flush (before it happens) the power goes: crash() is taken then
  // and `on_cut` runs. The file goes on working (what happens after is never looked at).
  void cut_power_at(uint64_t at, std::mt19937* rng, std::function<void()> on_cut) {
    cut_at_ = at;
    rng_ = rng;
    on_cut_ = std::move(on_cut);
  }
  bool cut() const { return cut_; }
  const std::vector<uint8_t>& after_cut() const { return after_cut_; }
  uint64_t events() const { return events_; }

 private:
  struct Pending {
    uint64_t offset;
    std::vector<uint8_t> bytes;
  };
  static void apply(std::vector<uint8_t>& v, uint64_t offset, std::span<const uint8_t> data) {
    if (offset + data.size() > v.size()) v.resize(offset + data.size(), 0);
    std::copy(data.begin(), data.end(), v.begin() + offset);
  }
  void event() {
    if (++events_ != cut_at_ || cut_) return;
    cut_ = true;
    after_cut_ = crash(*rng_);
    on_cut_();
  }
  std::vector<uint8_t> durable_, current_;
  std::vector<Pending> pending_;
  size_t flushes_ = 0;
  uint64_t events_ = 0, cut_at_ = UINT64_MAX;
  std::mt19937* rng_ = nullptr;
  std::function<void()> on_cut_;
  bool cut_ = false;
  std::vector<uint8_t> after_cut_;
};

}  // namespace bulwark::qcow2::test
