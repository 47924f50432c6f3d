// What the seed generators (fuzz/*_seeds.cc, run by hand to remake a corpus) share: writing one
// seed file and patching a field of a valid input to make a refused one.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace bulwark::fuzz_seeds {

inline bool write_seed(const std::string& dir, const std::string& name, const std::vector<uint8_t>& bytes) {
  std::ofstream out(dir + "/" + name, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

// `bytes` with `value` written over it at `offset` (host order: little-endian, as both formats).
template <typename T>
std::vector<uint8_t> patched(std::vector<uint8_t> bytes, size_t offset, T value) {
  std::memcpy(bytes.data() + offset, &value, sizeof(T));
  return bytes;
}

}  // namespace bulwark::fuzz_seeds
