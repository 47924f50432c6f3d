// Test helpers: a scratch directory, qemu-img / qemu-io run with a time bound, files read into
// and written from memory.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "devices/blk/qcow2/qcow2_image.h"

namespace bulwark::qcow2::test {

struct RunResult {
  int status = -1;  // exit code, -1 when the command did not exit normally
  std::string output;  // stdout and stderr
};

// Runs `command` through /bin/sh with `timeout 60`, in `dir`.
RunResult run(const std::string& dir, const std::string& command);
bool have_qemu_tools();

class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::vector<uint8_t> read_file(const std::string& path);
void write_file(const std::string& path, const std::vector<uint8_t>& bytes);

// A BackingReader over bytes in memory (a raw base image).
class MemoryBacking final : public BackingReader {
 public:
  explicit MemoryBacking(std::vector<uint8_t> bytes) : bytes_(std::move(bytes)) {}
  uint64_t virtual_size() const override { return bytes_.size(); }
  Status read(uint64_t offset, std::span<uint8_t> data) override;

 private:
  std::vector<uint8_t> bytes_;
};

// Big-endian field edits on an image's bytes.
void put32(std::vector<uint8_t>& b, size_t off, uint32_t v);
void put64(std::vector<uint8_t>& b, size_t off, uint64_t v);
uint32_t get32(const std::vector<uint8_t>& b, size_t off);
uint64_t get64(const std::vector<uint8_t>& b, size_t off);

}  // namespace bulwark::qcow2::test

#define REQUIRE_QEMU_TOOLS() \
  do { if (!::bulwark::qcow2::test::have_qemu_tools()) GTEST_SKIP() << "qemu-img/qemu-io not installed"; } while (0)
